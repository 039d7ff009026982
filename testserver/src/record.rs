//! The record of every request the server received, so tests can check what the client sent
//! ("the newest point-in-time id was used", "the bulk had 3 items", "no search had `from` above
//! 10,000").

use bytes::Bytes;
use parking_lot::Mutex;
use regex::Regex;
use serde_json::Value;
use std::sync::Arc;

/// One request as received, with the status it was answered with.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path (percent-encoded as sent).
    pub path: String,
    /// The query string, without `?`.
    pub query: String,
    /// The body, cut at the server's record limit.
    pub body: Bytes,
    /// The body's full length.
    pub body_len: usize,
    /// The status answered; 0 when the connection was dropped.
    pub status: u16,
    /// Whether a fault applied to it.
    pub faulted: bool,
}

impl RecordedRequest {
    /// A query parameter (decoded).
    pub fn param(&self, name: &str) -> Option<String> {
        crate::http::parse_query(&self.query)
            .into_iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The body as JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The number of actions of a bulk body.
    pub fn bulk_actions(&self) -> usize {
        let text = self.body_text();
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let mut count = 0;
        while let Some(line) = lines.next() {
            let Ok(Value::Object(action)) = serde_json::from_str::<Value>(line) else {
                break;
            };
            count += 1;
            if !action.contains_key("delete") {
                lines.next();
            }
        }
        count
    }
}

/// The requests a server received; cheap to clone, shared with the server.
#[derive(Debug, Clone)]
pub struct Requests {
    list: Arc<Mutex<Vec<RecordedRequest>>>,
    body_limit: usize,
}

impl Requests {
    pub(crate) fn new(body_limit: usize) -> Requests {
        Requests {
            list: Arc::new(Mutex::new(Vec::new())),
            body_limit,
        }
    }

    pub(crate) fn record(
        &self,
        method: &str,
        path: &str,
        query: &str,
        body: &Bytes,
        status: u16,
        faulted: bool,
    ) {
        let kept = if body.len() <= self.body_limit {
            body.clone()
        } else {
            Bytes::copy_from_slice(&body[..self.body_limit])
        };
        self.list.lock().push(RecordedRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            body: kept,
            body_len: body.len(),
            status,
            faulted,
        });
    }

    /// Every request so far, in order of completion.
    pub fn all(&self) -> Vec<RecordedRequest> {
        self.list.lock().clone()
    }

    /// The requests with `method` (`*`: any) whose path matches `path_regex`.
    pub fn matching(&self, method: &str, path_regex: &str) -> Vec<RecordedRequest> {
        let re =
            Regex::new(path_regex).unwrap_or_else(|e| panic!("invalid regex `{path_regex}`: {e}"));
        self.list
            .lock()
            .iter()
            .filter(|r| {
                (method == "*" || r.method.eq_ignore_ascii_case(method)) && re.is_match(&r.path)
            })
            .cloned()
            .collect()
    }

    /// Forgets the requests so far.
    pub fn clear(&self) {
        self.list.lock().clear();
    }
}
