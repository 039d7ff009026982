//! The one client abstraction over Elasticsearch and OpenSearch.
//!
//! Requests go through the official `elasticsearch` crate's transport (connection pool, TLS,
//! authentication, Elastic Cloud ids). eshunt sends them as plain [`Request`] values rather than
//! through the crate's typed builders because a request must be resendable: every call is
//! retried with backoff on 429/502/503/504 and connection errors, and limited by a global
//! concurrency cap that protects the cluster. Flavour-specific paths (OpenSearch point in time)
//! are chosen from [`ClusterInfo`], detected once at connect.

pub mod clock;
pub mod failure;
pub mod flavor;
pub mod retry;
pub mod setup;

use crate::config::{Auth, Config, ConfigError, Env};
use crate::time::Span;
use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::headers::{HeaderMap, HeaderValue, CONTENT_TYPE};
use elasticsearch::http::transport::{
    CloudConnectionPool, MultiNodeConnectionPool, SingleNodeConnectionPool, TransportBuilder,
};
use elasticsearch::http::Method;
use elasticsearch::Elasticsearch;
use failure::Cause;
use flavor::ClusterInfo;
use retry::{is_retryable_status, Jitter, RetryPolicy};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use url::Url;

/// A request that can be sent (and resent).
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<String>,
    ndjson: bool,
    not_repeatable: bool,
    first_contact: bool,
}

impl Request {
    fn new(method: Method, path: impl Into<String>) -> Request {
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            ndjson: false,
            not_repeatable: false,
            first_contact: false,
        }
    }

    /// Marks a request that must not be sent twice (a scroll continuation moves the cursor
    /// even when its answer is lost): only a 429, which the cluster answers without doing
    /// anything, is retried; other failures are returned for the caller to start over.
    pub fn not_repeatable(mut self) -> Request {
        self.not_repeatable = true;
        self
    }

    /// Marks the first request of a connection to the cluster: a failure that shows a setup
    /// problem ([`Cause::is_setup_problem`]: refused, DNS, TLS, certificate) is not retried
    /// with backoff; each configured node is tried once, at once, and the last failure is
    /// returned. Before the cluster ever answered, such a failure means a wrong URL or a
    /// cluster that is not running, and backing off would only hold the error back for
    /// 10–20 s; once it has answered, a refused connection is a node restarting and is retried.
    pub fn first_contact(mut self) -> Request {
        self.first_contact = true;
        self
    }

    /// `GET path`.
    pub fn get(path: impl Into<String>) -> Request {
        Request::new(Method::Get, path)
    }

    /// `POST path`.
    pub fn post(path: impl Into<String>) -> Request {
        Request::new(Method::Post, path)
    }

    /// `PUT path`.
    pub fn put(path: impl Into<String>) -> Request {
        Request::new(Method::Put, path)
    }

    /// `DELETE path`.
    pub fn delete(path: impl Into<String>) -> Request {
        Request::new(Method::Delete, path)
    }

    /// Adds a query-string parameter.
    pub fn param(mut self, key: &str, value: impl ToString) -> Request {
        self.query.push((key.to_string(), value.to_string()));
        self
    }

    /// Sets a JSON body.
    pub fn json(mut self, body: &Value) -> Request {
        self.body = Some(body.to_string());
        self
    }

    /// Sets a newline-delimited JSON body (bulk).
    pub fn ndjson(mut self, body: String) -> Request {
        self.body = Some(body);
        self.ndjson = true;
        self
    }

    /// The path, for messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn method_name(&self) -> &'static str {
        match self.method {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
        }
    }
}

/// A response whose body is left as bytes, for callers that parse it their own way (search
/// pages, parsed without building a tree per hit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawReply {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl RawReply {
    /// The body parsed as JSON (`Value::Null` when empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A response: status and JSON body (`Value::Null` when the body is empty or not JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
}

impl Reply {
    /// The reply when the status is 2xx, else an [`EsError::Status`] describing the error.
    pub fn ok(self, what: &str) -> Result<Reply, EsError> {
        if (200..300).contains(&self.status) {
            Ok(self)
        } else {
            Err(EsError::status(what, self.status, &self.body))
        }
    }
}

/// Errors talking to the cluster.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EsError {
    /// The configuration cannot make a client.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The request never got an HTTP answer (after retries).
    #[error("{what}: {message}")]
    Transport {
        /// What was being done.
        what: String,
        /// Why: the cause, the URL and what to check.
        message: String,
        /// The cause.
        cause: Cause,
    },
    /// The cluster answered with an error status (after retries, for retryable ones).
    #[error("{what}: HTTP {status} {error_type}: {reason}")]
    Status {
        /// What was being done.
        what: String,
        /// HTTP status.
        status: u16,
        /// Elasticsearch's `error.type`.
        error_type: String,
        /// Elasticsearch's `error.reason`.
        reason: String,
    },
    /// The cluster answered something eshunt cannot use.
    #[error("{what}: unexpected answer: {message}")]
    Protocol {
        /// What was being done.
        what: String,
        /// What is wrong.
        message: String,
    },
}

impl EsError {
    /// An error from a non-success reply body (`{"error":{"type","reason"}}` or a string).
    pub fn status(what: &str, status: u16, body: &Value) -> EsError {
        let error = &body["error"];
        let (error_type, reason) = match error {
            Value::String(s) => (String::new(), s.clone()),
            Value::Object(_) => (
                error["type"].as_str().unwrap_or("").to_string(),
                error["reason"].as_str().unwrap_or("").to_string(),
            ),
            _ => (String::new(), body.to_string()),
        };
        EsError::Status {
            what: what.to_string(),
            status,
            error_type,
            reason,
        }
    }

    /// A protocol error.
    pub fn protocol(what: &str, message: impl Into<String>) -> EsError {
        EsError::Protocol {
            what: what.to_string(),
            message: message.into(),
        }
    }
}

/// A connected cluster.
#[derive(Clone)]
pub struct Cluster {
    sender: Sender,
    info: ClusterInfo,
}

/// Sends requests with retries under the concurrency cap.
#[derive(Clone)]
struct Sender {
    client: Elasticsearch,
    retry: RetryPolicy,
    permits: Arc<Semaphore>,
    /// `[elasticsearch] request_timeout`, named when a request times out.
    timeout: Span,
    /// Nodes the requests go round (1 for a cloud id).
    nodes: usize,
}

impl Cluster {
    /// Builds the client from the configuration (with `ESHUNT_ES_*` applied), asks `GET /`
    /// which flavour and version the cluster is, and logs it.
    pub async fn connect(config: &Config, env: &dyn Env) -> Result<Cluster, EsError> {
        let es = &config.elasticsearch;
        let sender = Sender {
            client: client(config, env)?,
            retry: RetryPolicy {
                max_retries: es.max_retries,
                initial: es.retry_backoff.std(),
                ..RetryPolicy::default()
            },
            permits: Arc::new(Semaphore::new(es.max_concurrent_requests)),
            timeout: es.request_timeout,
            nodes: if es.cloud_id.is_some() {
                1
            } else {
                es.urls.len()
            },
        };
        let root = sender.execute(&Request::get("/").first_contact()).await?;
        let root = Reply {
            status: root.status,
            body: root.json(),
        }
        .ok("GET /")?;
        let mut info =
            ClusterInfo::from_root(&root.body).map_err(|m| EsError::protocol("GET /", m))?;
        if info.compat_mode {
            real_opensearch_version(&sender, &mut info).await;
        }
        if info.is_supported() {
            tracing::info!(cluster = %info, paging = ?info.paging(), "connected");
        } else {
            tracing::warn!(cluster = %info, "unsupported version: eshunt supports Elasticsearch 7.10+ and OpenSearch 1+");
        }
        Ok(Cluster { sender, info })
    }

    /// What the cluster is.
    pub fn info(&self) -> &ClusterInfo {
        &self.info
    }

    /// Sends a request, retrying retryable failures with backoff. Any HTTP answer that is not
    /// retryable (or the last one) is returned as a [`Reply`], whatever its status.
    pub async fn execute(&self, request: &Request) -> Result<Reply, EsError> {
        let raw = self.sender.execute(request).await?;
        Ok(Reply {
            status: raw.status,
            body: raw.json(),
        })
    }

    /// Like [`Cluster::execute`], leaving the body unparsed.
    pub async fn execute_raw(&self, request: &Request) -> Result<RawReply, EsError> {
        self.sender.execute(request).await
    }
}

/// Reads the real version of an OpenSearch cluster in compatibility mode from the node info;
/// without it (the user may not read node info) eshunt keeps to what works on every
/// OpenSearch version (scroll), and says so.
async fn real_opensearch_version(sender: &Sender, info: &mut ClusterInfo) {
    let request = Request::get("/_nodes/_local").param("filter_path", "nodes.*.version");
    let found = match sender.execute(&request).await {
        Ok(reply) if reply.status < 300 => info.set_node_version(&reply.json()),
        _ => false,
    };
    if !found {
        tracing::warn!("OpenSearch in Elasticsearch compatibility mode hides its version and the node info is not readable (cluster:monitor/nodes/info): paging with scroll");
    }
}

impl Sender {
    async fn execute(&self, request: &Request) -> Result<RawReply, EsError> {
        let mut jitter = Jitter::new();
        let mut attempt = 0;
        loop {
            let outcome = self.send_once(request).await;
            let Some(delay) = self.retry_delay(request, &outcome, attempt, &mut jitter) else {
                return outcome;
            };
            attempt += 1;
            let cause = match &outcome {
                Ok(reply) => format!("HTTP {}", reply.status),
                Err(e) => e.to_string(),
            };
            tracing::warn!(path = request.path(), %cause, attempt, ?delay, "retrying request");
            tokio::time::sleep(delay).await;
        }
    }

    /// How long to wait before retrying `outcome`, after `attempt` retries; `None` when it is
    /// final.
    fn retry_delay(
        &self,
        request: &Request,
        outcome: &Result<RawReply, EsError>,
        attempt: u32,
        jitter: &mut Jitter,
    ) -> Option<Duration> {
        let retryable = match outcome {
            Ok(reply) if request.not_repeatable => reply.status == 429,
            Ok(reply) => is_retryable_status(reply.status),
            Err(EsError::Transport { cause, .. })
                if request.first_contact && cause.is_setup_problem() =>
            {
                // The node pool goes round: the next attempt asks the next node.
                let untried = usize::try_from(attempt + 1).is_ok_and(|tried| tried < self.nodes);
                return untried.then_some(Duration::ZERO);
            }
            Err(_) => !request.not_repeatable,
        };
        (retryable && attempt < self.retry.max_retries)
            .then(|| self.retry.delay(attempt + 1, jitter))
    }

    async fn send_once(&self, request: &Request) -> Result<RawReply, EsError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| EsError::Transport {
                what: request.path.clone(),
                message: e.to_string(),
                cause: Cause::Other,
            })?;
        let mut headers = HeaderMap::new();
        if request.ndjson {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            );
        }
        let query = (!request.query.is_empty()).then_some(&request.query);
        let what = || format!("{} {}", request.method_name(), request.path);
        let response = self
            .client
            .send(
                request.method,
                &request.path,
                headers,
                query,
                request.body.clone(),
                None,
            )
            .await
            .map_err(|e| self.transport_error(what(), &e))?;
        let status = response.status_code().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(what(), &e))?;
        Ok(RawReply {
            status,
            body: body.into(),
        })
    }

    /// A request that got no (complete) answer, described by its cause.
    fn transport_error(&self, what: String, error: &elasticsearch::Error) -> EsError {
        let failure = failure::describe(error, self.timeout);
        EsError::Transport {
            what,
            message: failure.message,
            cause: failure.cause,
        }
    }
}

/// An index expression (`logs-*,remote:logs-*`, `<logs-{now/d}>`) as a URL path segment: each
/// comma-separated name percent-encoded, wildcards kept, and `:` encoded too — a first segment
/// like `remote:logs-*` would otherwise read as a URL scheme and never reach the cluster.
pub fn index_path(expression: &str) -> String {
    expression
        .split(',')
        .map(|name| {
            name.split('*')
                .map(|part| path_segment(part).replace(':', "%3A"))
                .collect::<Vec<_>>()
                .join("*")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Percent-encodes one URL path segment (a document id may hold `/`, `:` or spaces).
pub fn path_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds the `elasticsearch` client: node pool, credentials, TLS and timeout from the config.
fn client(config: &Config, env: &dyn Env) -> Result<Elasticsearch, EsError> {
    let es = &config.elasticsearch;
    let build_error = |message: String| {
        EsError::Config(ConfigError {
            file: "[elasticsearch]".into(),
            message,
        })
    };
    let credentials = match config.auth(env)? {
        Auth::None => None,
        Auth::Basic { username, password } => {
            Some(Credentials::Basic(username, password.expose().to_string()))
        }
        Auth::ApiKey(key) => Some(match key.expose().split_once(':') {
            Some((id, secret)) => Credentials::ApiKey(id.to_string(), secret.to_string()),
            None => Credentials::EncodedApiKey(key.expose().to_string()),
        }),
    };
    let builder = match (&es.cloud_id, es.urls.as_slice()) {
        (Some(cloud), _) => TransportBuilder::new(
            CloudConnectionPool::new(cloud).map_err(|e| build_error(format!("cloud_id: {e}")))?,
        ),
        (None, [one]) => TransportBuilder::new(SingleNodeConnectionPool::new(parse_url(one)?)),
        (None, many) => {
            let urls = many
                .iter()
                .map(|u| parse_url(u))
                .collect::<Result<Vec<_>, _>>()?;
            TransportBuilder::new(MultiNodeConnectionPool::round_robin(urls, None))
        }
    };
    let mut builder = builder
        .timeout(es.request_timeout.std())
        .cert_validation(tls_validation(config)?);
    if credentials.is_some()
        && es.cloud_id.is_none()
        && es.urls.iter().any(|u| u.starts_with("http://"))
    {
        tracing::warn!(
            "credentials are sent over plain http: use https for a cluster that needs them"
        );
    }
    if let Some(credentials) = credentials {
        builder = builder.auth(credentials);
    }
    let transport = builder
        .build()
        .map_err(|e| build_error(format!("cannot build the client: {e}")))?;
    Ok(Elasticsearch::new(transport))
}

fn parse_url(text: &str) -> Result<Url, EsError> {
    Url::parse(text).map_err(|e| {
        EsError::Config(ConfigError {
            file: "[elasticsearch]".into(),
            message: format!("invalid url `{text}`: {e}"),
        })
    })
}

/// TLS: verified by default (system roots, plus `ca_file`); `verify_tls = false` turns it off,
/// loudly.
fn tls_validation(config: &Config) -> Result<CertificateValidation, EsError> {
    let es = &config.elasticsearch;
    if !es.verify_tls {
        tracing::warn!(
            "TLS certificate verification is OFF ([elasticsearch] verify_tls = false): \
             anyone on the network path can impersonate the cluster and read credentials"
        );
        return Ok(CertificateValidation::None);
    }
    let Some(path) = &es.ca_file else {
        return Ok(CertificateValidation::Default);
    };
    let config_error = |message: String| {
        EsError::Config(ConfigError {
            file: path.display().to_string(),
            message,
        })
    };
    let pem =
        std::fs::read(path).map_err(|e| config_error(format!("cannot read the CA file: {e}")))?;
    let certificate = Certificate::from_pem(&pem)
        .map_err(|e| config_error(format!("not a PEM certificate: {e}")))?;
    Ok(CertificateValidation::Full(certificate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    /// The environment of a test: no variables.
    struct NoEnv;

    impl Env for NoEnv {
        fn var(&self, _: &str) -> Option<String> {
            None
        }
    }

    /// A loopback node answering one `GET /` as Elasticsearch 8 does.
    fn node_answering_once() -> (String, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let node = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = r#"{"version":{"number":"8.15.0","build_flavor":"default"},"tagline":"You Know, for Search"}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            (&stream).write_all(reply.as_bytes()).unwrap();
        });
        (url, node)
    }

    #[tokio::test]
    async fn at_first_contact_a_refused_node_hands_over_to_the_next_at_once() {
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let (answering, node) = node_answering_once();
        let mut config = Config::default();
        config.elasticsearch.urls = vec![format!("http://{closed}"), answering];
        // A backoff before trying the second node would show.
        config.elasticsearch.retry_backoff = Span::parse("20s").unwrap();
        let started = std::time::Instant::now();
        let cluster = Cluster::connect(&config, &NoEnv)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        node.join().unwrap();
        assert_eq!(cluster.info().flavor, flavor::Flavor::Elasticsearch);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(
            path_segment("checkpoint:AWS.Lambda.X"),
            "checkpoint:AWS.Lambda.X"
        );
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn index_expressions_stay_paths_even_with_remote_clusters() {
        assert_eq!(index_path("logs-aws.cloudtrail-*"), "logs-aws.cloudtrail-*");
        assert_eq!(index_path("c1:logs-*,logs-*"), "c1%3Alogs-*,logs-*");
        assert_eq!(index_path("<logs-{now/d}>"), "%3Clogs-%7Bnow%2Fd%7D%3E");
        // What the `elasticsearch` crate does with a path: join it to the node URL.
        let node = Url::parse("https://es.example:9200/").unwrap();
        let url = node
            .join(&format!("{}/_pit", index_path("c1:logs-*")))
            .unwrap();
        assert_eq!(url.as_str(), "https://es.example:9200/c1%3Alogs-*/_pit");
        assert!(
            node.join("c1:logs-*/_pit").unwrap().host_str().is_none(),
            "unencoded, it is a scheme"
        );
    }
}
