//! HTTP plumbing: the listener on its own thread and runtime, one hyper HTTP/1.1 connection
//! task per client, and the request path through fault injection, the backend (emulator or
//! proxy) and the recorder.
//!
//! The server runs on its own thread with its own tokio runtime, so it works the same from
//! synchronous tests, from `#[tokio::test]`s and beside a client that builds its own runtime;
//! dropping the [`TestServer`] stops it.

use crate::api::security::SecurityConfig;
use crate::emulator::Emulator;
use crate::faults::{self, Faults, Plan};
use crate::http::{Req, Resp};
use crate::node::Node;
use crate::pit::ContextPolicy;
use crate::proxy::{ProxyConfig, Upstream};
use crate::record::Requests;
use bytes::Bytes;
use eshunt::es::flavor::{ClusterInfo, Flavor, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};

/// Requests larger than this are refused with 413 (ES's `http.max_content_length`).
const MAX_BODY: usize = 100 * 1024 * 1024;

/// What answers the requests.
#[derive(Debug)]
enum Backend {
    Emulator(Arc<Emulator>),
    Proxy(Arc<Upstream>),
}

#[derive(Debug)]
struct Shared {
    backend: Backend,
    info: ClusterInfo,
    faults: Faults,
    requests: Requests,
}

/// Configures and starts a [`TestServer`].
#[derive(Debug, Clone)]
pub struct TestServerBuilder {
    flavor: Flavor,
    version: String,
    port: u16,
    /// `None`: the test run's real cluster, if any (see the `engine` module), asked only when
    /// the server starts; `Some(None)`: the emulator.
    proxy: Option<Option<ProxyConfig>>,
    policy: ContextPolicy,
    security: SecurityConfig,
    record_body_limit: usize,
    compat_mode: bool,
    clock_offset_ms: i64,
    oss: bool,
    exact_flavor: bool,
}

impl TestServerBuilder {
    /// A proxy to the test run's real cluster (see the `engine` module) on a random loopback
    /// port; an emulator of `flavor` `version` when there is none or with
    /// [`TestServerBuilder::emulator_only`].
    pub fn new(flavor: Flavor, version: &str) -> TestServerBuilder {
        TestServerBuilder {
            flavor,
            version: version.to_string(),
            port: 0,
            proxy: None,
            policy: ContextPolicy::default(),
            security: SecurityConfig::open(),
            record_body_limit: 1024 * 1024,
            compat_mode: false,
            clock_offset_ms: 0,
            oss: false,
            exact_flavor: false,
        }
    }

    /// Listens on this loopback port (0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Emulates even when a real cluster is available (emulator behaviour, flavours no real
    /// engine here gives, fault set-ups a real cluster cannot produce).
    pub fn emulator_only(mut self) -> Self {
        self.proxy = Some(None);
        self
    }

    /// Forwards to the real cluster only when it is of the requested flavour and major
    /// version; emulates otherwise (tests of one flavour's behaviour).
    pub fn exact_flavor(mut self) -> Self {
        self.exact_flavor = true;
        self
    }

    /// Forwards to this cluster instead of emulating one.
    pub fn proxy(mut self, config: ProxyConfig) -> Self {
        self.proxy = Some(Some(config));
        self
    }

    /// Point-in-time id rotation, stale-id refusal and keep-alive limits.
    pub fn context_policy(mut self, policy: ContextPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Authentication and privileges of the emulator.
    pub fn security(mut self, security: SecurityConfig) -> Self {
        self.security = security;
        self
    }

    /// OpenSearch in Elasticsearch compatibility mode
    /// (`compatibility.override_main_response_version`): `GET /` says 7.10.2, without a
    /// distribution; `GET /_nodes/_local` tells the real version.
    pub fn compatibility_mode(mut self) -> Self {
        self.compat_mode = true;
        self
    }

    /// An Elasticsearch OSS build (`build_flavor: "oss"`, as AWS Elasticsearch Service 7.10):
    /// no point in time, no `flattened`, no `_security` APIs.
    pub fn oss(mut self) -> Self {
        self.oss = true;
        self
    }

    /// The emulated node's clock runs this many milliseconds ahead of the host's (negative:
    /// behind), as `GET /_nodes/_local/stats` tells.
    pub fn clock_offset_ms(mut self, offset: i64) -> Self {
        self.clock_offset_ms = offset;
        self
    }

    /// Recorded request bodies are cut at this many bytes (default 1 MiB).
    pub fn record_body_limit(mut self, bytes: usize) -> Self {
        self.record_body_limit = bytes;
        self
    }

    /// Starts the server; it stops when the returned value is dropped.
    pub fn start(self) -> std::io::Result<TestServer> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("eshunt-testserver".into())
            .spawn(move || run(self, ready_tx, stop_rx))?;
        match ready_rx.recv() {
            Ok(Ok((addr, shared))) => Ok(TestServer {
                url: format!("http://{addr}"),
                addr,
                shared,
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(message)) => {
                let _ = thread.join();
                Err(std::io::Error::other(message))
            }
            Err(_) => Err(std::io::Error::other(
                "the server thread died while starting",
            )),
        }
    }

    async fn backend(&self) -> Result<(Backend, ClusterInfo), String> {
        let proxy = self.proxy.clone().unwrap_or_else(crate::engine::shared);
        if let Some(config) = &proxy {
            let upstream = Upstream::new(config)?;
            let info = upstream.info().await?;
            if !self.exact_flavor || self.is_served_by(&info) {
                return Ok((Backend::Proxy(Arc::new(upstream)), info));
            }
        }
        let version = Version::parse(&self.version)
            .ok_or_else(|| format!("unreadable version `{}`", self.version))?;
        let mut node = Node::new(self.flavor, version);
        node.compat_mode = self.compat_mode && self.flavor == Flavor::OpenSearch;
        node.clock_offset_ms = self.clock_offset_ms;
        node.oss = self.oss && self.flavor == Flavor::Elasticsearch;
        let info = ClusterInfo {
            flavor: self.flavor,
            version,
            cluster_name: node.cluster_name.clone(),
            compat_mode: node.compat_mode,
            oss: node.oss,
        };
        let em = Emulator::new(node, self.policy, self.security.clone());
        Ok((Backend::Emulator(Arc::new(em)), info))
    }
}

impl TestServerBuilder {
    /// Whether the real cluster `info` is the requested flavour and major version.
    fn is_served_by(&self, info: &ClusterInfo) -> bool {
        let wanted = Version::parse(&self.version).map(|v| v.major);
        info.flavor == self.flavor && wanted == Some(info.version.major) && !self.oss
    }
}

type Ready = Result<(SocketAddr, Arc<Shared>), String>;

/// The server thread: a runtime, the listener, and a task per connection until told to stop.
fn run(
    builder: TestServerBuilder,
    ready: std::sync::mpsc::Sender<Ready>,
    stop: oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("eshunt-testserver-io")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(format!("cannot start a runtime: {e}")));
            return;
        }
    };
    runtime.block_on(async move {
        let setup = async {
            let (backend, info) = builder.backend().await?;
            let listener = TcpListener::bind(("127.0.0.1", builder.port))
                .await
                .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", builder.port))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            let shared = Arc::new(Shared {
                backend,
                info,
                faults: Faults::default(),
                requests: Requests::new(builder.record_body_limit),
            });
            Ok::<_, String>((listener, addr, shared))
        };
        let (listener, addr, shared) = match setup.await {
            Ok(x) => x,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        if ready.send(Ok((addr, shared.clone()))).is_err() {
            return;
        }
        accept_loop(listener, shared, stop).await;
    });
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve_connection(stream, shared.clone()));
                }
            }
        }
    }
}

/// Serves one connection until the client closes it or a fault drops it.
async fn serve_connection(stream: tokio::net::TcpStream, shared: Arc<Shared>) {
    let kill = Arc::new(Notify::new());
    let service_kill = kill.clone();
    let service = service_fn(move |req| {
        let shared = shared.clone();
        let kill = service_kill.clone();
        async move { Ok::<_, Infallible>(answer(&shared, req, &kill).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
    }
}

/// One request: read it, apply the faults, serve it, record it.
async fn answer(
    shared: &Shared,
    req: hyper::Request<Incoming>,
    kill: &Notify,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let header = |name: hyper::header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let mut req = Req::new(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        body,
    );
    req.authorization = header(hyper::header::AUTHORIZATION);
    req.content_type = header(hyper::header::CONTENT_TYPE);
    let plan = shared.faults.plan(&req);
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    if plan.drop {
        record(shared, &req, 0, true);
        kill.notify_one();
        std::future::pending::<()>().await;
    }
    let lose_answer = plan.lose_answer;
    let resp = serve(shared, &req, plan).await;
    if lose_answer {
        kill.notify_one();
        std::future::pending::<()>().await;
    }
    to_hyper(shared, resp)
}

async fn serve(shared: &Shared, req: &Req, plan: Plan) -> Resp {
    if let Some(resp) = plan.respond {
        record(shared, req, resp.status, true);
        return resp;
    }
    if req.body.len() > MAX_BODY {
        let resp = Resp::raw_json(413, String::new());
        record(shared, req, 413, plan.applied);
        return resp;
    }
    if plan.expire {
        if let Some(id) = faults::context_id_of(req) {
            expire(shared, &id).await;
        }
    }
    let mut resp = if plan.items.is_empty() {
        backend(shared, req.clone()).await
    } else {
        serve_bulk_with_failures(shared, req, &plan).await
    };
    if plan.shard_failure || plan.timed_out {
        resp = faults::degrade_search(resp, plan.shard_failure, plan.timed_out);
    }
    if plan.without_source {
        resp = faults::strip_source(resp);
    }
    record(shared, req, resp.status, plan.applied);
    resp
}

async fn serve_bulk_with_failures(shared: &Shared, req: &Req, plan: &Plan) -> Resp {
    let Some((kept, injected)) = faults::split_bulk(&req.body, &plan.items) else {
        return backend(shared, req.clone()).await;
    };
    let served = if injected.remaining > 0 {
        let mut reduced = req.clone();
        reduced.body = kept;
        Some(backend(shared, reduced).await)
    } else {
        None
    };
    faults::merge_bulk(served, injected)
}

async fn backend(shared: &Shared, req: Req) -> Resp {
    match &shared.backend {
        Backend::Emulator(em) => {
            let em = em.clone();
            tokio::task::spawn_blocking(move || em.handle(&req))
                .await
                .unwrap_or_else(|e| {
                    crate::log::warn(&format!("a handler failed: {e}"));
                    Resp::error(&crate::error::EsError::new(
                        500,
                        "exception",
                        "internal error in eshunt-testserver",
                    ))
                })
        }
        Backend::Proxy(up) => up.forward(&req).await,
    }
}

async fn expire(shared: &Shared, id: &str) {
    match &shared.backend {
        Backend::Emulator(em) => em.contexts.expire(id),
        Backend::Proxy(up) => up.close_context(id, shared.info.flavor).await,
    }
}

fn record(shared: &Shared, req: &Req, status: u16, faulted: bool) {
    shared.requests.record(
        &req.method,
        &req.path,
        &req.query,
        &req.body,
        status,
        faulted,
    );
}

fn to_hyper(shared: &Shared, resp: Resp) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder()
        .status(resp.status)
        .header("content-type", resp.content_type.as_str());
    if shared.info.flavor == Flavor::Elasticsearch {
        builder = builder.header("X-Elastic-Product", "Elasticsearch");
    }
    for (k, v) in &resp.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    builder
        .body(Full::new(resp.body))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::from_static(b"{}"))))
}

/// A running server; stopped when dropped.
#[derive(Debug)]
pub struct TestServer {
    url: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server of `flavor` and `version` (e.g. `"8.15.0"`, `"2.11.0"`) on a random
    /// loopback port — a proxy to the test run's real cluster when there is one (see
    /// [`TestServerBuilder::new`]), whose flavour and version then win. Panics when it cannot start (a test setup failure).
    pub fn start(flavor: Flavor, version: &str) -> TestServer {
        TestServer::builder(flavor, version)
            .start()
            .unwrap_or_else(|e| panic!("cannot start eshunt-testserver: {e}"))
    }

    /// A builder for more options.
    pub fn builder(flavor: Flavor, version: &str) -> TestServerBuilder {
        TestServerBuilder::new(flavor, version)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The flavour and version served (the real cluster's in proxy mode).
    pub fn info(&self) -> &ClusterInfo {
        &self.shared.info
    }

    /// Whether requests go to a real cluster.
    pub fn is_proxy(&self) -> bool {
        matches!(self.shared.backend, Backend::Proxy(_))
    }

    /// The fault rules.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// The requests received.
    pub fn requests(&self) -> &Requests {
        &self.shared.requests
    }

    /// Loads documents straight into the emulator, without HTTP (benchmarks, the binary):
    /// each is `(optional _id, _source JSON text)`, written with `create` to `target` (an
    /// index or data stream, created as a write would), then refreshed. Returns how many were created; fails
    /// in proxy mode or at the first refused document.
    pub fn load<I>(&self, target: &str, docs: I) -> Result<usize, String>
    where
        I: IntoIterator<Item = (Option<String>, String)>,
    {
        let Backend::Emulator(em) = &self.shared.backend else {
            return Err(
                "load() works only in emulator mode; use bulk requests against a real cluster"
                    .into(),
            );
        };
        let mut created = 0;
        for (id, source) in docs {
            em.load_one(target, id, source).map_err(|e| e.reason)?;
            created += 1;
        }
        em.store.refresh_all();
        Ok(created)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
