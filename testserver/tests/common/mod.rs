//! Helpers shared by the integration tests: a small JSON client and CloudTrail ECS documents.

#![allow(dead_code)]

use eshunt_testserver::TestServer;
use serde_json::{json, Value};

/// A JSON client for one server.
pub struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    pub fn new(server: &TestServer) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: server.url().to_string(),
        }
    }

    /// Sends `body` (JSON) and returns the status and JSON answer (`Null` when none).
    pub async fn req(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.text(
            method,
            path,
            body.map(|b| b.to_string()),
            "application/json",
        )
        .await
    }

    /// Sends a raw body.
    pub async fn text(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        content_type: &str,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Content-Type", content_type);
        if let Some(b) = body {
            r = r.body(b);
        }
        let resp = r.send().await.expect("the server answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sends a bulk body built from (action, optional source) pairs.
    pub async fn bulk(&self, path: &str, lines: &[Value]) -> (u16, Value) {
        let mut body = String::new();
        for l in lines {
            body.push_str(&l.to_string());
            body.push('\n');
        }
        self.text("POST", path, Some(body), "application/x-ndjson")
            .await
    }
}

/// An ECS CloudTrail document as Elastic's integration writes it.
pub fn cloudtrail(n: usize, action: &str, outcome: &str, provider: &str) -> Value {
    json!({
        "@timestamp": format!("2024-05-01T10:{:02}:{:02}.000Z", (n / 60) % 60, n % 60),
        "data_stream": {"type": "logs", "dataset": "aws.cloudtrail", "namespace": "default"},
        "event": {
            "action": action,
            "provider": provider,
            "outcome": outcome,
            "id": format!("evt-{n:06}"),
            "kind": "event",
            "dataset": "aws.cloudtrail",
            "module": "aws",
            "ingested": format!("2024-05-01T11:{:02}:{:02}Z", (n / 60) % 60, n % 60),
        },
        "cloud": {"region": "us-east-1", "account": {"id": "111111111111"}},
        "user": {"name": format!("user{}", n % 7)},
        "aws": {"cloudtrail": {
            "user_identity": {"type": "IAMUser"},
            "flattened": {"request_parameters": {"functionName": format!("fn-{n}"), "layers": ["arn:aws:lambda:us-east-1:111111111111:layer:x:1"]}},
            "request_parameters": format!("{{functionName=fn-{n}}}"),
        }},
    })
}

/// The seed rule's prefilter, as Kibana translates its KQL.
pub fn seed_prefilter() -> Value {
    json!({"bool":{"filter":[{"bool":{"should":[{"match":{"data_stream.dataset":"aws.cloudtrail"}}],"minimum_should_match":1}},{"bool":{"should":[{"match":{"event.provider":"lambda.amazonaws.com"}}],"minimum_should_match":1}},{"bool":{"should":[{"match":{"event.outcome":"success"}}],"minimum_should_match":1}},{"bool":{"should":[{"bool":{"should":[{"query_string":{"fields":["event.action"],"query":"PublishLayerVersion*"}}],"minimum_should_match":1}},{"bool":{"should":[{"query_string":{"fields":["event.action"],"query":"UpdateFunctionConfiguration*"}}],"minimum_should_match":1}}],"minimum_should_match":1}}]}})
}
