//! [`TestCluster`]: a test server plus what a test needs around it — a unique name prefix (so
//! tests run in parallel, also on one shared real cluster), the CloudTrail source mapping as a
//! data stream template, bulk loading, and cleanup of everything with the prefix when dropped.
//!
//! Against a real cluster (the test run's engine or `ESHUNT_TEST_ES_URL`), the credentials must
//! allow creating and deleting index templates, data streams and indices whose names start with
//! `eshunt-`.

use crate::server::TestServer;
use crate::{Faults, Flavor, Requests};
use eshunt::es::flavor::ClusterInfo;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// A server and a per-test namespace on it.
#[derive(Debug)]
pub struct TestCluster {
    server: TestServer,
    prefix: String,
    http: reqwest::Client,
}

/// The HTTP answer of [`TestCluster::request`].
pub type Answer = (u16, Value);

impl TestCluster {
    /// Starts a server (a proxy to the test run's real cluster when there is one) with a fresh
    /// prefix.
    pub fn start(flavor: Flavor, version: &str) -> TestCluster {
        TestCluster::with_server(TestServer::start(flavor, version))
    }

    /// Starts a server of exactly this flavour and major version: a proxy when the real cluster
    /// is one, the emulator otherwise (see [`crate::TestServerBuilder::exact_flavor`]).
    pub fn of_flavor(flavor: Flavor, version: &str) -> TestCluster {
        let server = TestServer::builder(flavor, version)
            .exact_flavor()
            .start()
            .expect("the test server starts");
        TestCluster::with_server(server)
    }

    /// Wraps an already started server.
    pub fn with_server(server: TestServer) -> TestCluster {
        TestCluster {
            server,
            prefix: unique_prefix(),
            http: reqwest::Client::new(),
        }
    }

    /// This test's prefix, e.g. `eshunt-1a2b3c-7-`: every name the test creates starts with it.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `base` with the prefix.
    pub fn name(&self, base: &str) -> String {
        format!("{}{base}", self.prefix)
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// The server.
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    /// The server's faults.
    pub fn faults(&self) -> &Faults {
        self.server.faults()
    }

    /// The server's recorded requests.
    pub fn requests(&self) -> &Requests {
        self.server.requests()
    }

    /// Flavour and version.
    pub fn info(&self) -> &ClusterInfo {
        self.server.info()
    }

    /// Sends a JSON request; the status and the body (`Null` when not JSON).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        send(
            &self.http,
            self.url(),
            method,
            path,
            body.map(Value::to_string),
            "application/json",
        )
        .await
    }

    /// Installs the CloudTrail source mapping (`eshunt::event::mapping::cloudtrail_mapping()`) as the
    /// data stream template of `{prefix}logs-aws.cloudtrail-*`, adapted to OpenSearch when the
    /// cluster is one. Returns the data stream name `{prefix}logs-aws.cloudtrail-default`.
    pub async fn install_cloudtrail_template(&self) -> Result<String, String> {
        let body = cloudtrail_template(&self.name("logs-aws.cloudtrail-*"), self.info());
        let path = format!("/_index_template/{}", self.name("cloudtrail"));
        let (status, answer) = self.request("PUT", &path, Some(&body)).await?;
        if status != 200 {
            return Err(format!(
                "installing the CloudTrail template answered {status}: {answer}"
            ));
        }
        Ok(self.name("logs-aws.cloudtrail-default"))
    }

    /// Bulk-creates `docs` (ECS `_source`s) in `target` with `refresh=wait_for`; their `_id`s.
    /// Any document refused is an error.
    pub async fn bulk_load(&self, target: &str, docs: &[Value]) -> Result<Vec<String>, String> {
        self.bulk_try(target, docs)
            .await?
            .into_iter()
            .map(|item| {
                item.map_err(|e| format!("bulk load into {target} refused a document: {e}"))
            })
            .collect()
    }

    /// Bulk-creates `docs` in `target` with `refresh=wait_for`: per document, its `_id` or the
    /// engine's reason for refusing it (a mapping conflict, say). `Err` when a request fails.
    pub async fn bulk_try(
        &self,
        target: &str,
        docs: &[Value],
    ) -> Result<Vec<Result<String, String>>, String> {
        let mut items = Vec::with_capacity(docs.len());
        for chunk in docs.chunks(1000) {
            let mut body = String::new();
            for doc in chunk {
                body.push_str(&json!({"create": {"_index": target}}).to_string());
                body.push('\n');
                body.push_str(&doc.to_string());
                body.push('\n');
            }
            let (status, answer) = send(
                &self.http,
                self.url(),
                "POST",
                "/_bulk?refresh=wait_for",
                Some(body),
                "application/x-ndjson",
            )
            .await?;
            if status != 200 {
                return Err(format!(
                    "bulk load into {target} answered {status}: {answer}"
                ));
            }
            for item in answer["items"].as_array().into_iter().flatten() {
                let created = &item["create"];
                items.push(match created["_id"].as_str() {
                    Some(id) if created["error"].is_null() => Ok(id.to_string()),
                    _ => Err(created["error"].to_string()),
                });
            }
        }
        Ok(items)
    }

    /// Deletes this test's data streams, indices and templates (done on drop in proxy mode).
    pub async fn cleanup(&self) -> Result<(), String> {
        cleanup(&self.http, self.url(), &self.prefix).await
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if !self.server.is_proxy() {
            return;
        }
        let url = self.server.url().to_string();
        let prefix = self.prefix.clone();
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                if let Err(e) = rt.block_on(cleanup(&reqwest::Client::new(), &url, &prefix)) {
                    crate::log::warn(&format!("cleanup of {prefix}*: {e}"));
                }
            }
        });
        let _ = done.join();
    }
}

async fn send(
    http: &reqwest::Client,
    url: &str,
    method: &str,
    path: &str,
    body: Option<String>,
    content_type: &str,
) -> Result<Answer, String> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let mut req = http
        .request(method, format!("{url}{path}"))
        .header("Content-Type", content_type);
    if let Some(b) = body {
        req = req.body(b);
    }
    let resp = req.send().await.map_err(|e| format!("{path}: {e}"))?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// Deletes everything named `{prefix}*`, by explicit names (ES 8 refuses wildcard deletes).
async fn cleanup(http: &reqwest::Client, url: &str, prefix: &str) -> Result<(), String> {
    let get =
        |path: String| async move { send(http, url, "GET", &path, None, "application/json").await };
    let delete = |path: String| async move {
        send(http, url, "DELETE", &path, None, "application/json").await
    };
    let (_, streams) = get(format!("/_data_stream/{prefix}*")).await?;
    for ds in streams["data_streams"].as_array().into_iter().flatten() {
        if let Some(name) = ds["name"].as_str() {
            delete(format!("/_data_stream/{name}")).await?;
        }
    }
    let (status, indices) = get(format!("/{prefix}*?expand_wildcards=all")).await?;
    if status == 200 {
        for name in indices.as_object().into_iter().flat_map(|o| o.keys()) {
            delete(format!("/{name}")).await?;
        }
    }
    for kind in ["_index_template", "_component_template"] {
        let (_, found) = get(format!("/{kind}/{prefix}*")).await?;
        let list = if kind == "_index_template" {
            "index_templates"
        } else {
            "component_templates"
        };
        for t in found[list].as_array().into_iter().flatten() {
            if let Some(name) = t["name"].as_str() {
                delete(format!("/{kind}/{name}")).await?;
            }
        }
    }
    Ok(())
}

fn unique_prefix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "eshunt-{:x}{:05x}-{n}-",
        std::process::id(),
        nanos & 0xfffff
    )
}

/// An index template body putting `eshunt::event::mapping::cloudtrail_mapping()` on data streams
/// matching `pattern` (priority 200, above Elasticsearch's built-in `logs` template), adapted
/// to OpenSearch when `info` says so.
pub fn cloudtrail_template(pattern: &str, info: &ClusterInfo) -> Value {
    let mapping = adapt_mapping(eshunt::event::mapping::cloudtrail_mapping().to_json(), info);
    json!({
        "index_patterns": [pattern],
        "priority": 200,
        "data_stream": {},
        "template": {"mappings": mapping},
        "_meta": {"created_by": "eshunt-testserver"},
    })
}

/// The mapping as OpenSearch (or an Elasticsearch OSS build) accepts it: no `flattened`
/// (→ `flat_object` from OpenSearch 2.7, else a disabled object), `constant_keyword` and
/// `match_only_text` as `keyword` and `text`.
pub(crate) fn adapt_mapping(mut mapping: Value, info: &ClusterInfo) -> Value {
    if info.flavor == Flavor::OpenSearch || info.oss {
        let flat_object =
            info.flavor == Flavor::OpenSearch && (info.version.major, info.version.minor) >= (2, 7);
        adapt(&mut mapping, flat_object);
    }
    mapping
}

fn adapt(v: &mut Value, flat_object: bool) {
    match v {
        Value::Object(o) => {
            match o.get("type").and_then(Value::as_str) {
                Some("flattened") if flat_object => {
                    o.clear();
                    o.insert("type".into(), json!("flat_object"));
                }
                Some("flattened") => {
                    o.clear();
                    o.insert("type".into(), json!("object"));
                    o.insert("enabled".into(), json!(false));
                }
                Some("constant_keyword") => {
                    o.insert("type".into(), json!("keyword"));
                    o.remove("value");
                }
                Some("match_only_text") => {
                    o.insert("type".into(), json!("text"));
                }
                _ => {}
            }
            for child in o.values_mut() {
                adapt(child, flat_object);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| adapt(c, flat_object)),
        _ => {}
    }
}
