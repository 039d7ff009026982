//! Proxy mode: every request is forwarded to a real cluster (with the configured credentials),
//! so the same tests and the same faults run against real Elasticsearch or OpenSearch.

use crate::error::EsError;
use crate::http::{Req, Resp};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use eshunt::es::flavor::{ClusterInfo, Flavor};
use serde_json::json;
use std::time::Duration;

/// Where and how to reach the real cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Base URL, e.g. `https://localhost:9200`.
    pub url: String,
    /// Basic-auth user.
    pub username: Option<String>,
    /// Basic-auth password.
    pub password: Option<String>,
    /// API key: `id:key` or the encoded form.
    pub api_key: Option<String>,
    /// Skip TLS verification (a self-signed test cluster).
    pub insecure: bool,
}

impl ProxyConfig {
    /// From `ESHUNT_TEST_ES_URL` (and `_USERNAME`, `_PASSWORD`, `_API_KEY`, `_INSECURE=1`);
    /// `None` when the URL is not set.
    pub fn from_env() -> Option<ProxyConfig> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Some(ProxyConfig {
            url: var("ESHUNT_TEST_ES_URL")?,
            username: var("ESHUNT_TEST_ES_USERNAME"),
            password: var("ESHUNT_TEST_ES_PASSWORD"),
            api_key: var("ESHUNT_TEST_ES_API_KEY"),
            insecure: var("ESHUNT_TEST_ES_INSECURE").is_some_and(|v| v == "1" || v == "true"),
        })
    }

    /// The `Authorization` header value for the configured credentials.
    pub fn authorization(&self) -> Option<String> {
        if let Some(key) = &self.api_key {
            let encoded = if key.contains(':') {
                STANDARD.encode(key)
            } else {
                key.clone()
            };
            return Some(format!("ApiKey {encoded}"));
        }
        let user = self.username.as_ref()?;
        let pass = self.password.clone().unwrap_or_default();
        Some(format!(
            "Basic {}",
            STANDARD.encode(format!("{user}:{pass}"))
        ))
    }
}

/// A connection to the real cluster.
#[derive(Debug)]
pub(crate) struct Upstream {
    client: reqwest::Client,
    base: String,
    auth: Option<String>,
}

impl Upstream {
    /// A client for `config`.
    pub fn new(config: &ProxyConfig) -> Result<Upstream, String> {
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(config.insecure)
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| format!("cannot build the proxy client: {e}"))?;
        Ok(Upstream {
            client,
            base: config.url.trim_end_matches('/').to_string(),
            auth: config.authorization(),
        })
    }

    /// What the real cluster is (`GET /`).
    pub async fn info(&self) -> Result<ClusterInfo, String> {
        let resp = self.forward(&Req::new("GET", "/", "", Bytes::new())).await;
        let body = resp.body_json().ok_or_else(|| {
            format!(
                "GET / on {} answered {} without JSON",
                self.base, resp.status
            )
        })?;
        if resp.status != 200 {
            return Err(format!(
                "GET / on {} answered {}: {body}",
                self.base, resp.status
            ));
        }
        ClusterInfo::from_root(&body)
    }

    /// Forwards a request; a transport failure answers 502.
    pub async fn forward(&self, req: &Req) -> Resp {
        let url = if req.query.is_empty() {
            format!("{}{}", self.base, req.path)
        } else {
            format!("{}{}?{}", self.base, req.path, req.query)
        };
        let method =
            reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut builder = self
            .client
            .request(method, &url)
            .header("Accept", "application/json")
            .header(
                "Content-Type",
                req.content_type.as_deref().unwrap_or("application/json"),
            );
        if let Some(auth) = self.auth.as_ref().or(req.authorization.as_ref()) {
            builder = builder.header("Authorization", auth);
        }
        if !req.body.is_empty() {
            builder = builder.body(req.body.clone());
        }
        match builder.send().await {
            Ok(r) => answer(r).await,
            Err(e) => {
                crate::log::warn(&format!("proxy: {} {url}: {e}", req.method));
                Resp::error(&EsError::new(
                    502,
                    "proxy_exception",
                    format!("cannot reach the cluster: {e}"),
                ))
            }
        }
    }

    /// Closes a point in time or scroll on the cluster (fault injection).
    pub async fn close_context(&self, id: &str, flavor: Flavor) {
        let requests = [
            match flavor {
                Flavor::Elasticsearch => ("/_pit", json!({"id": id})),
                Flavor::OpenSearch => ("/_search/point_in_time", json!({"pit_id": [id]})),
            },
            ("/_search/scroll", json!({"scroll_id": [id]})),
        ];
        for (path, body) in requests {
            let req = Req::new("DELETE", path, "", Bytes::from(body.to_string()));
            self.forward(&req).await;
        }
    }
}

async fn answer(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_else(|| "application/json".to_string());
    let passed: Vec<(String, String)> = ["warning", "www-authenticate"]
        .iter()
        .filter_map(|h| header(h).map(|v| (h.to_string(), v)))
        .collect();
    let body = r.bytes().await.unwrap_or_default();
    Resp {
        status,
        content_type,
        headers: passed,
        body,
    }
}
