package dev.eshunt.engine;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import org.elasticsearch.Build;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;

/**
 * One real Elasticsearch 8 node in this JVM, for eshunt's tests (see FINDINGS.md).
 *
 * <p>Usage: {@code EngineNode HOME HTTP_PORTS [OWNERS_DIR]}, as the OpenSearch launcher. The
 * modules Maven Central publishes (transport-netty4, x-pack-core, x-pack-security) are not on
 * the classpath: Maven copies their jars to {@code target/es-modules/}, and this launcher lays
 * each out as {@code HOME/modules/NAME/} (the jar and its plugin descriptor, without the Java
 * module name, so that Elasticsearch loads it in a plain class loader over the classpath rather
 * than as a module layer, which needs the server itself on the module path). Security stays off
 * unless the system property {@code eshunt.es.security} is {@code true}; then the file realm
 * knows the users {@code eshunt} (superuser) and {@code eshunt_reader} (see writeUsers).
 * {@code GET /} is answered by this class (see the constructor).
 */
public final class EngineNode extends Node {

    /** How long the node waits for a first owner, and then outlives its last one. */
    private static final long UNOWNED_GRACE_MILLIS = 60_000;

    private EngineNode(Environment environment, PluginsLoader plugins) {
        super(environment, plugins);
        // `GET /` lives in the rest-root module, which Maven Central does not publish: answer it
        // here, with the same fields, from this node's own build and cluster state.
        RestController rest = injector().getInstance(RestController.class);
        ClusterService cluster = injector().getInstance(ClusterService.class);
        rest.registerHandler(new RestHandler.Route(RestRequest.Method.GET, "/"),
                (request, channel, client) -> channel.sendResponse(new RestResponse(
                        RestStatus.OK, root(channel.newBuilder(), cluster))));
        rest.registerHandler(new RestHandler.Route(RestRequest.Method.HEAD, "/"),
                (request, channel, client) -> channel.sendResponse(
                        new RestResponse(RestStatus.OK, RestResponse.TEXT_CONTENT_TYPE, BytesArray.EMPTY)));
    }

    /** The root endpoint's answer, field for field as Elasticsearch's RestMainAction writes it. */
    private static XContentBuilder root(XContentBuilder builder, ClusterService cluster) throws IOException {
        Build build = Build.current();
        builder.startObject();
        builder.field("name", cluster.localNode().getName());
        builder.field("cluster_name", cluster.getClusterName().value());
        builder.field("cluster_uuid", cluster.state().metadata().clusterUUID());
        builder.startObject("version")
                .field("number", build.qualifiedVersion())
                .field("build_flavor", build.flavor())
                .field("build_type", build.type().displayName())
                .field("build_hash", build.hash())
                .field("build_date", build.date())
                .field("build_snapshot", build.isSnapshot())
                .field("lucene_version", org.apache.lucene.util.Version.LATEST.toString())
                .field("minimum_wire_compatibility_version", build.minWireCompatVersion())
                .field("minimum_index_compatibility_version", build.minIndexCompatVersion())
                .endObject();
        builder.field("tagline", "You Know, for Search");
        return builder.endObject();
    }

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable e) {
            // The node's own threads would keep the JVM alive: a node that cannot start exits.
            e.printStackTrace();
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        if (args.length < 2 || args.length > 3) {
            System.err.println("usage: EngineNode HOME HTTP_PORTS [OWNERS_DIR]");
            System.exit(2);
        }
        Path home = Paths.get(args[0]).toAbsolutePath();
        Path config = home.resolve("config");
        Files.createDirectories(home.resolve("logs"));
        Files.createDirectories(config);
        boolean security = Boolean.getBoolean("eshunt.es.security");
        Settings settings = Settings.builder()
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("cluster.name", "eshunt-engine")
                .put("node.name", "eshunt-engine")
                .put("discovery.type", "single-node")
                .put("network.host", "127.0.0.1")
                .put("http.port", args[1])
                .put("transport.port", System.getProperty("eshunt.transport.ports", "9300-9399"))
                .put("node.portsfile", true)
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .put("xpack.security.enabled", security)
                .put("xpack.security.http.ssl.enabled", false)
                .put("xpack.security.transport.ssl.enabled", false)
                .put("xpack.security.autoconfiguration.enabled", false)
                .build();
        if (security) {
            writeUsers(config);
        }
        LogConfigurator.configureWithoutConfig(settings);
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
                settings, Map.of(), config, () -> "eshunt-engine");
        layOutModules(environment.modulesDir());
        PluginsLoader plugins = PluginsLoader.createPluginsLoader(
                PluginsLoader.loadModulesBundles(environment.modulesDir()), Set.of(), Map.of(), false);
        EngineNode node = new EngineNode(environment, plugins);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> close(node), "eshunt-engine-stop"));
        long started = System.nanoTime();
        node.start();
        System.out.printf("eshunt-engine: node started in %d ms%n",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        if (args.length == 3) {
            watchOwners(Paths.get(args[2]));
        } else {
            new CountDownLatch(1).await();
        }
    }

    /**
     * The file realm's users, with the password of the system property `eshunt.es.password`
     * (default `eshunt-password`): `eshunt` (role superuser) and `eshunt_reader` (role
     * `eshunt_reader`: cluster monitor, read on logs-*), for tests of missing privileges. The
     * native realm cannot serve: its .security index needs analysis-common, not on Maven Central.
     */
    private static void writeUsers(Path config) throws Exception {
        String password = System.getProperty("eshunt.es.password", "eshunt-password");
        Files.writeString(config.resolve("users"),
                "eshunt:" + pbkdf2(password) + "\n" + "eshunt_reader:" + pbkdf2(password) + "\n");
        Files.writeString(config.resolve("users_roles"), "superuser:eshunt\neshunt_reader:eshunt_reader\n");
        Files.writeString(config.resolve("roles.yml"), String.join("\n",
                "eshunt_reader:",
                "  cluster: [monitor]",
                "  indices:",
                "    - names: ['logs-*']",
                "      privileges: [read, view_index_metadata]",
                ""));
    }

    /** `{PBKDF2}COST$base64(salt)$base64(key)`, as Elasticsearch's own PBKDF2 hasher writes. */
    private static String pbkdf2(String password) throws Exception {
        byte[] salt = new byte[32];
        new SecureRandom().nextBytes(salt);
        int cost = 10_000;
        byte[] key = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA512")
                .generateSecret(new PBEKeySpec(password.toCharArray(), salt, cost, 256))
                .getEncoded();
        return "{PBKDF2}" + cost + "$" + Base64.getEncoder().encodeToString(salt) + "$"
                + Base64.getEncoder().encodeToString(key);
    }

    /** HOME/modules/NAME/{jar, plugin-descriptor.properties} for each jar of target/es-modules. */
    private static void layOutModules(Path modules) throws IOException, URISyntaxException {
        Path source = Paths.get(System.getProperty("eshunt.es.modules", defaultModulesDir().toString()));
        List<Path> jars;
        try (Stream<Path> files = Files.list(source)) {
            jars = files.filter(f -> f.toString().endsWith(".jar")).sorted().collect(Collectors.toList());
        }
        if (jars.isEmpty()) {
            throw new IllegalStateException("no module jars in " + source);
        }
        for (Path jar : jars) {
            try (ZipFile zip = new ZipFile(jar.toFile())) {
                ZipEntry descriptor = zip.stream()
                        .filter(e -> e.getName().startsWith("META-INF/es-plugins/")
                                && e.getName().endsWith("/plugin-descriptor.properties"))
                        .findFirst()
                        .orElseThrow(() -> new IllegalStateException("no plugin descriptor in " + jar));
                String name = descriptor.getName().split("/")[2];
                Path dir = modules.resolve(name);
                Files.createDirectories(dir);
                Files.copy(jar, dir.resolve(jar.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                List<String> lines = new ArrayList<>();
                try (InputStream in = zip.getInputStream(descriptor)) {
                    for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                        // Without a module name the module loads in a plain URLClassLoader.
                        if (!line.startsWith("modulename=")) {
                            lines.add(line);
                        }
                    }
                }
                Files.write(dir.resolve("plugin-descriptor.properties"), lines, StandardCharsets.UTF_8);
            }
        }
        // x-pack-core bundles transport-netty4 (x-pack-security, which extends it, subclasses the
        // netty transports), as the distribution's modules/x-pack-core/ folder does.
        for (Path jar : jars) {
            if (jar.getFileName().toString().startsWith("transport-netty4-")) {
                Files.copy(jar, modules.resolve("x-pack-core").resolve(jar.getFileName()),
                        StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** target/es-modules beside target/classes, where this class was loaded from. */
    private static Path defaultModulesDir() throws URISyntaxException {
        Path classes = Paths.get(EngineNode.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        return classes.getParent().resolve("es-modules");
    }

    private static void close(Node node) {
        try {
            node.close();
            node.awaitClose(30, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            System.err.println("eshunt-engine: closing the node: " + e);
        }
    }

    /** Exits (closing the node) once OWNERS_DIR has named no live process for the grace time. */
    private static void watchOwners(Path owners) throws InterruptedException {
        long lastOwned = System.currentTimeMillis();
        while (true) {
            Thread.sleep(1_000);
            if (anyOwnerAlive(owners)) {
                lastOwned = System.currentTimeMillis();
            } else if (System.currentTimeMillis() - lastOwned > UNOWNED_GRACE_MILLIS) {
                System.out.println("eshunt-engine: no owner left, stopping");
                System.exit(0);
            }
        }
    }

    /** Whether a file in `owners` pins the node or names a running process; removes the rest. */
    private static boolean anyOwnerAlive(Path owners) {
        boolean alive = false;
        try (Stream<Path> files = Files.list(owners)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                String name = file.getFileName().toString();
                if (name.equals("pinned") || Files.exists(Paths.get("/proc", name))) {
                    alive = true;
                } else {
                    Files.deleteIfExists(file);
                }
            }
        } catch (IOException e) {
            return alive;
        }
        return alive;
    }
}
