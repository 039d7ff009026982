package dev.eshunt.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.ingest.common.IngestCommonPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * One real OpenSearch node in this JVM, for eshunt's tests, benchmarks and demo.
 *
 * <p>Usage: {@code EngineNode HOME HTTP_PORTS [OWNERS_DIR]}. The node keeps its data and logs
 * under HOME, listens on 127.0.0.1 on the first free port of HTTP_PORTS (e.g. {@code
 * 9400-9499}) and writes the bound address to {@code HOME/logs/http.ports}. With OWNERS_DIR, it
 * stops by itself once no process named there (one empty file per process id) has been alive
 * for a while: the test suites register themselves so, and the node outlives no test run. A
 * file named {@code pinned} keeps the node up until it is stopped. SIGTERM closes the node
 * cleanly.
 */
public final class EngineNode extends Node {

    /** The modules eshunt needs, loaded from the classpath instead of a plugins folder. */
    private static final List<Class<? extends Plugin>> PLUGINS = List.of(
            Netty4Plugin.class,
            CommonAnalysisPlugin.class,
            PainlessPlugin.class,
            MapperExtrasPlugin.class,
            IngestCommonPlugin.class,
            ReindexPlugin.class);

    /** How long the node waits for a first owner, and then outlives its last one. */
    private static final long UNOWNED_GRACE_MILLIS = 60_000;

    private EngineNode(Environment environment) {
        super(environment, PLUGINS, true);
    }

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Exception e) {
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
        Files.createDirectories(home.resolve("logs"));
        Settings settings = Settings.builder()
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("cluster.name", "eshunt-engine")
                .put("node.name", "eshunt-engine")
                .put("discovery.type", "single-node")
                .put("network.host", "127.0.0.1")
                .put("http.port", args[1])
                .put("transport.port", "9300-9399")
                .put("node.portsfile", true)
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .build();
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
                settings, java.util.Map.of(), home.resolve("config"), () -> "eshunt-engine");
        EngineNode node = new EngineNode(environment);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> close(node), "eshunt-engine-stop"));
        long started = System.nanoTime();
        node.start();
        System.out.printf("eshunt-engine: node started in %d ms%n",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        // The node's threads are daemons: this thread keeps the JVM up until it is told to stop.
        if (args.length == 3) {
            watchOwners(Paths.get(args[2]));
        } else {
            new CountDownLatch(1).await();
        }
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
