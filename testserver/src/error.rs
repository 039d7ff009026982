//! Elasticsearch-shaped errors: `{"error": {"root_cause": […], "type", "reason", …}, "status"}`.
//!
//! Every failure the server answers goes through [`EsError`], so the bodies look like the ones a
//! real cluster sends (the type names and reasons follow Elasticsearch's wording).

use serde_json::{json, Map, Value};

/// An error answer: HTTP status, `type`, `reason`, extra fields, and an optional cause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EsError {
    pub status: u16,
    pub kind: String,
    pub reason: String,
    /// Kept out of line so results carrying an error stay small.
    more: Box<Details>,
}

/// The less common parts of an error.
#[derive(Debug, Clone, PartialEq, Default)]
struct Details {
    extra: Map<String, Value>,
    caused_by: Option<EsError>,
    /// Overrides the computed `root_cause` list (search phase failures list their shards').
    root_causes: Option<Vec<Value>>,
}

impl EsError {
    /// An error of `kind` with `reason`, answered with `status`.
    pub fn new(status: u16, kind: &str, reason: impl Into<String>) -> EsError {
        EsError {
            status,
            kind: kind.to_string(),
            reason: reason.into(),
            more: Box::default(),
        }
    }

    /// Adds a field beside `type` and `reason` (e.g. `index`, `resource.id`).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> EsError {
        self.more.extra.insert(key.to_string(), value.into());
        self
    }

    /// Sets the cause.
    pub fn caused_by(mut self, cause: EsError) -> EsError {
        self.more.caused_by = Some(cause);
        self
    }

    /// 400 `illegal_argument_exception`.
    pub fn illegal_argument(reason: impl Into<String>) -> EsError {
        EsError::new(400, "illegal_argument_exception", reason)
    }

    /// 400 `parsing_exception`.
    pub fn parsing(reason: impl Into<String>) -> EsError {
        EsError::new(400, "parsing_exception", reason)
    }

    /// 400 `action_request_validation_exception` with ES's numbered list of problems.
    pub fn validation(problems: &[&str]) -> EsError {
        let mut reason = "Validation Failed: ".to_string();
        for (i, p) in problems.iter().enumerate() {
            reason.push_str(&format!("{}: {p};", i + 1));
        }
        EsError::new(400, "action_request_validation_exception", reason)
    }

    /// 400 `x_content_parse_exception` for a body that is not valid JSON.
    pub fn bad_json(error: &serde_json::Error) -> EsError {
        EsError::new(
            400,
            "x_content_parse_exception",
            format!("[{}:{}] {error}", error.line(), error.column()),
        )
    }

    /// 404 `index_not_found_exception`.
    pub fn index_not_found(name: &str) -> EsError {
        EsError::new(
            404,
            "index_not_found_exception",
            format!("no such index [{name}]"),
        )
        .with("resource.type", "index_or_alias")
        .with("resource.id", name)
        .with("index_uuid", "_na_")
        .with("index", name)
    }

    /// 409 `version_conflict_engine_exception`.
    pub fn version_conflict(index: &str, uuid: &str, reason: String) -> EsError {
        EsError::new(409, "version_conflict_engine_exception", reason)
            .with("index_uuid", uuid)
            .with("shard", "0")
            .with("index", index)
    }

    /// 404 `search_context_missing_exception` inside a failed search phase.
    pub fn search_context_missing(id: &str) -> EsError {
        let inner = EsError::new(
            404,
            "search_context_missing_exception",
            format!("No search context found for id [{id}]"),
        );
        EsError::search_phase(inner, None)
    }

    /// A failure of every shard of a search (`search_phase_execution_exception`, "all shards
    /// failed"), with `inner` as the shards' reason; the status is `inner`'s.
    pub fn search_phase(inner: EsError, index: Option<&str>) -> EsError {
        let shard = json!({
            "shard": if index.is_some() { 0 } else { -1 },
            "index": index,
            "reason": inner.cause_json(),
        });
        let mut e = EsError::new(
            inner.status,
            "search_phase_execution_exception",
            "all shards failed",
        )
        .with("phase", "query")
        .with("grouped", true)
        .with("failed_shards", json!([shard]));
        e.more.root_causes = Some(vec![inner.cause_json()]);
        e.more.caused_by = Some(inner);
        e
    }

    /// The error without `root_cause`, as it appears inside `caused_by`, bulk items and shard
    /// failures.
    pub fn cause_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("type".into(), json!(self.kind));
        obj.insert("reason".into(), json!(self.reason));
        for (k, v) in &self.more.extra {
            obj.insert(k.clone(), v.clone());
        }
        if let Some(cause) = &self.more.caused_by {
            obj.insert("caused_by".into(), cause.cause_json());
        }
        Value::Object(obj)
    }

    fn root_cause_list(&self) -> Vec<Value> {
        if let Some(list) = &self.more.root_causes {
            return list.clone();
        }
        let mut deepest = self;
        while let Some(cause) = &deepest.more.caused_by {
            deepest = cause;
        }
        let mut root = deepest.cause_json();
        if let Value::Object(o) = &mut root {
            o.remove("caused_by");
        }
        vec![root]
    }

    /// The whole answer body: `{"error": {...}, "status": N}`.
    pub fn to_json(&self) -> Value {
        let mut error = Map::new();
        error.insert("root_cause".into(), Value::Array(self.root_cause_list()));
        if let Value::Object(o) = self.cause_json() {
            error.extend(o);
        }
        json!({"error": error, "status": self.status})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_not_found_has_es_shape() {
        let v = EsError::index_not_found("x").to_json();
        assert_eq!(v["status"], 404);
        assert_eq!(v["error"]["type"], "index_not_found_exception");
        assert_eq!(v["error"]["root_cause"][0]["index"], "x");
        assert_eq!(v["error"]["resource.id"], "x");
    }

    #[test]
    fn search_phase_wraps_the_shard_reason() {
        let v = EsError::search_context_missing("7").to_json();
        assert_eq!(v["status"], 404);
        assert_eq!(v["error"]["type"], "search_phase_execution_exception");
        assert_eq!(
            v["error"]["root_cause"][0]["type"],
            "search_context_missing_exception"
        );
        assert_eq!(
            v["error"]["failed_shards"][0]["reason"]["reason"],
            "No search context found for id [7]"
        );
    }

    #[test]
    fn validation_numbers_problems() {
        let e = EsError::validation(&["a", "b"]);
        assert_eq!(e.reason, "Validation Failed: 1: a;2: b;");
    }
}
