//! Reading a search request: the body and the URL parameters that ES accepts for `_search`,
//! with ES's refusals for unknown keys and the combinations it forbids.

use super::sort::{parse_sort, parse_sort_param, SortSpec};
use super::source_filter::SourceFilter;
use crate::error::EsError;
use crate::http::{parse_time_value, Req};
use serde_json::{json, Value};
use std::time::Duration;

/// How many hits to count exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrackTotal {
    /// Count up to this many, then say `gte`.
    UpTo(usize),
    /// Count all.
    Accurate,
    /// No `hits.total`.
    Off,
}

/// The `pit` of a search body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PitRef {
    pub id: String,
    pub keep_alive: Option<Duration>,
}

/// A parsed search request.
#[derive(Debug, Clone)]
pub(crate) struct SearchRequest {
    pub query: Value,
    pub post_filter: Option<Value>,
    pub size: usize,
    pub from: usize,
    pub sort: Vec<SortSpec>,
    pub search_after: Option<Vec<Value>>,
    pub source: SourceFilter,
    pub track_total: TrackTotal,
    /// Whether `track_total_hits` was given (a scroll refuses it unless accurate).
    pub track_total_given: bool,
    pub pit: Option<PitRef>,
    pub scroll: Option<Duration>,
    pub seq_no_primary_term: bool,
    pub version: bool,
    pub total_as_int: bool,
    /// `docvalue_fields`: `(field, format)`.
    pub docvalue_fields: Vec<(String, Option<String>)>,
}

/// Body keys ES knows that this server does not evaluate: refused with a clear error.
const UNSUPPORTED: [&str; 15] = [
    "aggs",
    "aggregations",
    "highlight",
    "suggest",
    "collapse",
    "rescore",
    "script_fields",
    "knn",
    "runtime_mappings",
    "min_score",
    "slice",
    "indices_boost",
    "fields",
    "stored_fields",
    "retriever",
];

/// Body keys accepted without effect on which hits come back.
const IGNORED: [&str; 7] = [
    "timeout",
    "track_scores",
    "explain",
    "profile",
    "stats",
    "terminate_after",
    "ext",
];

impl SearchRequest {
    /// Reads `req` (body and parameters).
    pub fn parse(req: &Req) -> Result<SearchRequest, EsError> {
        let body = req.json_object()?;
        let mut r = SearchRequest {
            query: json!({"match_all": {}}),
            post_filter: None,
            size: 10,
            from: 0,
            sort: Vec::new(),
            search_after: None,
            source: SourceFilter::default(),
            track_total: TrackTotal::UpTo(10_000),
            track_total_given: false,
            pit: None,
            scroll: None,
            seq_no_primary_term: false,
            version: false,
            total_as_int: req.flag("rest_total_hits_as_int") == Some(true),
            docvalue_fields: Vec::new(),
        };
        for (key, value) in &body {
            r.read_key(key, value)?;
        }
        r.read_params(req)?;
        r.validate()?;
        Ok(r)
    }

    fn read_key(&mut self, key: &str, value: &Value) -> Result<(), EsError> {
        match key {
            "query" => self.query = value.clone(),
            "post_filter" => self.post_filter = Some(value.clone()),
            "size" => self.size = non_negative(value, "size")?,
            "from" => self.from = non_negative(value, "from")?,
            "sort" => self.sort = parse_sort(value)?,
            "search_after" => {
                self.search_after = Some(match value {
                    Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                })
            }
            "_source" => self.source = SourceFilter::from_body(value)?,
            "track_total_hits" => {
                self.track_total = track_total(value)?;
                self.track_total_given = true;
            }
            "pit" => self.pit = Some(pit_ref(value)?),
            "seq_no_primary_term" => self.seq_no_primary_term = value.as_bool() == Some(true),
            "version" => self.version = value.as_bool() == Some(true),
            "docvalue_fields" => self.docvalue_fields = docvalue_fields(value)?,
            k if IGNORED.contains(&k) => {}
            k if UNSUPPORTED.contains(&k) => {
                return Err(EsError::illegal_argument(format!(
                    "[{k}] is not supported by eshunt-testserver"
                )))
            }
            k => {
                return Err(EsError::parsing(format!(
                    "Unknown key for a {} in [{k}].",
                    token_name(value)
                )))
            }
        }
        Ok(())
    }

    fn read_params(&mut self, req: &Req) -> Result<(), EsError> {
        if let Some(s) = req.param("size") {
            self.size = parse_usize(s, "size")?;
        }
        if let Some(s) = req.param("from") {
            self.from = parse_usize(s, "from")?;
        }
        if let Some(s) = req.param("sort") {
            self.sort = parse_sort_param(s)?;
        }
        if let Some(q) = req.param("q") {
            self.query = json!({"query_string": {"query": q}});
        }
        if let Some(t) = req.param("track_total_hits") {
            self.track_total = track_total(&match t {
                "true" | "" => json!(true),
                "false" => json!(false),
                n => json!(parse_usize(n, "track_total_hits")?),
            })?;
            self.track_total_given = true;
        }
        if let Some(s) = req.param("scroll") {
            self.scroll = Some(parse_time_value(s, "scroll")?);
        }
        if req.flag("seq_no_primary_term") == Some(true) {
            self.seq_no_primary_term = true;
        }
        if req.flag("version") == Some(true) {
            self.version = true;
        }
        self.source = std::mem::take(&mut self.source).with_params(
            req.param("_source"),
            req.param("_source_includes"),
            req.param("_source_excludes"),
        );
        Ok(())
    }

    fn validate(&mut self) -> Result<(), EsError> {
        let mut problems = Vec::new();
        if self.scroll.is_some() {
            if self.track_total_given && self.track_total != TrackTotal::Accurate {
                problems.push("disabling [track_total_hits] is not allowed in a scroll context");
            }
            self.track_total = TrackTotal::Accurate;
            if self.from > 0 {
                problems.push("using [from] is not allowed in a scroll context");
            }
            if self.search_after.is_some() {
                problems.push("[search_after] cannot be used in a scroll context");
            }
            if self.pit.is_some() {
                problems.push("using [point in time] is not allowed in a scroll context");
            }
        }
        if self.search_after.is_some() && self.from > 0 {
            problems.push("[from] parameter must be set to 0 when [search_after] is used");
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(EsError::validation(&problems))
        }
    }
}

/// `["f", {"field": "g", "format": "epoch_millis"}]`.
fn docvalue_fields(value: &Value) -> Result<Vec<(String, Option<String>)>, EsError> {
    let items = value
        .as_array()
        .ok_or_else(|| EsError::parsing("[docvalue_fields] must be an array"))?;
    items
        .iter()
        .map(|item| match item {
            Value::String(field) => Ok((field.clone(), None)),
            Value::Object(o) => Ok((
                o.get("field")
                    .and_then(Value::as_str)
                    .ok_or_else(|| EsError::parsing("[docvalue_fields] entry needs [field]"))?
                    .to_string(),
                o.get("format").and_then(Value::as_str).map(str::to_string),
            )),
            _ => Err(EsError::parsing(
                "[docvalue_fields] entries are strings or objects",
            )),
        })
        .collect()
}

fn non_negative(v: &Value, what: &str) -> Result<usize, EsError> {
    match v.as_i64() {
        Some(n) if n >= 0 => Ok(n as usize),
        Some(-1) => Ok(0),
        _ => Err(EsError::illegal_argument(format!(
            "[{what}] parameter cannot be negative, found [{v}]"
        ))),
    }
}

fn parse_usize(s: &str, what: &str) -> Result<usize, EsError> {
    s.parse().map_err(|_| {
        EsError::illegal_argument(format!(
            "Failed to parse int parameter [{what}] with value [{s}]"
        ))
    })
}

fn track_total(v: &Value) -> Result<TrackTotal, EsError> {
    match v {
        Value::Bool(true) => Ok(TrackTotal::Accurate),
        Value::Bool(false) => Ok(TrackTotal::Off),
        Value::Number(n) => match n.as_i64() {
            Some(i64::MAX) => Ok(TrackTotal::Accurate),
            Some(n) if n >= 0 => Ok(TrackTotal::UpTo(n as usize)),
            Some(-1) => Ok(TrackTotal::Off),
            _ => Err(EsError::illegal_argument(format!(
                "[track_total_hits] parameter must be positive or equals to -1, got {n}"
            ))),
        },
        _ => Err(EsError::parsing(
            "[track_total_hits] must be a boolean or a number",
        )),
    }
}

fn pit_ref(v: &Value) -> Result<PitRef, EsError> {
    let id = v
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| EsError::parsing("[point_in_time] failed to parse field [id]"))?;
    let keep_alive = match v.get("keep_alive").and_then(Value::as_str) {
        Some(k) => Some(parse_time_value(k, "keep_alive")?),
        None => None,
    };
    Ok(PitRef {
        id: id.to_string(),
        keep_alive,
    })
}

fn token_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "START_OBJECT",
        Value::Array(_) => "START_ARRAY",
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Null => "VALUE_NULL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn parse(path: &str, query: &str, body: Value) -> Result<SearchRequest, EsError> {
        SearchRequest::parse(&Req::new(
            "POST",
            path,
            query,
            Bytes::from(body.to_string()),
        ))
    }

    #[test]
    fn reads_body_and_params() {
        let r = parse(
            "/_search",
            "size=5&_source_includes=a",
            json!({"query": {"match_all": {}}, "size": 100, "sort": ["_doc"], "track_total_hits": false,
                   "pit": {"id": "x", "keep_alive": "1m"}}),
        )
        .unwrap();
        assert_eq!(r.size, 5);
        assert_eq!(r.track_total, TrackTotal::Off);
        assert_eq!(r.source.includes, vec!["a"]);
        assert_eq!(r.pit.unwrap().keep_alive, Some(Duration::from_secs(60)));
    }

    #[test]
    fn refuses_what_es_refuses() {
        assert_eq!(
            parse("/_search", "", json!({"foo": {}}))
                .unwrap_err()
                .reason,
            "Unknown key for a START_OBJECT in [foo]."
        );
        assert!(parse("/_search", "", json!({"aggs": {}}))
            .unwrap_err()
            .reason
            .contains("not supported"));
        assert!(parse("/_search", "scroll=1m", json!({"from": 5})).is_err());
        assert_eq!(
            parse("/_search", "scroll=1m", json!({"track_total_hits": false}))
                .unwrap_err()
                .reason,
            "Validation Failed: 1: disabling [track_total_hits] is not allowed in a scroll context;"
        );
        assert!(parse("/_search", "scroll=1m", json!({"track_total_hits": true})).is_ok());
        assert!(parse("/_search", "", json!({"from": 5, "search_after": [1]})).is_err());
        assert!(parse("/_search", "", json!({"size": -5})).is_err());
    }
}
