//! The event view: one CloudTrail record, however it arrived — a raw record from a trail file, or
//! an ECS document made by Elastic's AWS integration — looked up by CloudTrail's own field names.
//!
//! An ECS document is read through its `event.original` when that holds the raw record; otherwise
//! the record is rebuilt from the ECS fields ([`from_ecs`]), and subtrees that only survive as
//! Java-map strings are flagged *unavailable* so a run can say so instead of silently missing.

pub mod arn;
pub mod direct;
pub mod from_ecs;
pub mod mapping;
pub mod nested;
pub mod path;
pub mod to_ecs;
pub mod udm;

use crate::time;
use chrono::{DateTime, Utc};
use path::FieldPath;
use serde_json::Value;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Where an event came from, for messages and for the alert's link back to its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Line `line` (1-based) of a JSON-lines file.
    Line {
        /// The file.
        file: Arc<str>,
        /// 1-based line number.
        line: u64,
    },
    /// Record `index` (0-based) of the `Records` array of a CloudTrail delivery file, or of a
    /// JSON array (an export), that starts at `line` of `file`.
    Record {
        /// The file.
        file: Arc<str>,
        /// 1-based line where the array starts (1 for a whole-file document).
        line: u64,
        /// 0-based position in the array.
        index: u64,
        /// Whether the array is a delivery file's `Records` (else a bare JSON array).
        in_records: bool,
    },
    /// A document in Elasticsearch/OpenSearch.
    Document {
        /// The concrete index (`.ds-logs-aws.cloudtrail-default-…`).
        index: String,
        /// The document `_id`.
        id: String,
    },
    /// A value given inline (a rule test), labelled for messages.
    Inline(Arc<str>),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Line { file, line } => write!(f, "{file}:{line}"),
            Origin::Record {
                file,
                line,
                index,
                in_records,
            } => {
                let array = if *in_records { "Records" } else { "" };
                write!(f, "{file}:{line}: {array}[{index}]")
            }
            Origin::Document { index, id } => write!(f, "{index}/{id}"),
            Origin::Inline(label) => f.write_str(label),
        }
    }
}

/// How the CloudTrail record behind an event was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A raw CloudTrail record.
    CloudTrail,
    /// An ECS document whose `event.original` holds the raw record.
    EcsOriginal,
    /// An ECS document without a usable `event.original`: the record was rebuilt from ECS fields.
    EcsRebuilt,
}

/// An event kept for long (see [`Event::keep`]).
#[derive(Debug, Clone)]
pub struct Kept {
    text: Box<str>,
    ecs: bool,
    unavailable: Vec<&'static str>,
    origin: Origin,
}

impl Kept {
    /// The event again, as it was kept.
    pub fn event(&self) -> Event {
        let doc: Value = serde_json::from_str(&self.text).unwrap_or(Value::Null);
        let mut event = match self.ecs {
            true => Event::from_ecs(doc, self.origin.clone()),
            false => Event::from_cloudtrail(doc, self.origin.clone()),
        };
        event.mark_unavailable(self.unavailable.iter().copied());
        event
    }
}

/// One event, ready for rules.
#[derive(Debug, Clone)]
pub struct Event {
    record: Value,
    ecs: Option<Value>,
    mapped: OnceLock<Value>,
    direct: OnceLock<Option<Value>>,
    shape: Shape,
    unavailable: Vec<&'static str>,
    origin: Origin,
}

impl Event {
    /// Wraps a document, deciding whether it is a raw CloudTrail record or an ECS document.
    pub fn from_document(doc: Value, origin: Origin) -> Event {
        if is_ecs_document(&doc) {
            Event::from_ecs(doc, origin)
        } else {
            Event::from_cloudtrail(doc, origin)
        }
    }

    /// Wraps a raw CloudTrail record.
    pub fn from_cloudtrail(record: Value, origin: Origin) -> Event {
        Event {
            record,
            ecs: None,
            mapped: OnceLock::new(),
            direct: OnceLock::new(),
            shape: Shape::CloudTrail,
            unavailable: Vec::new(),
            origin,
        }
    }

    /// Wraps an ECS document: through `event.original` when it parses to a JSON object, else by
    /// rebuilding the record from the ECS fields.
    pub fn from_ecs(doc: Value, origin: Origin) -> Event {
        let original = from_ecs::lookup(&doc, "event.original")
            .and_then(Value::as_str)
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .filter(Value::is_object);
        let (record, shape, unavailable) = match original {
            Some(record) => (record, Shape::EcsOriginal, Vec::new()),
            None => {
                let rebuilt = from_ecs::rebuild(&doc);
                (rebuilt.record, Shape::EcsRebuilt, rebuilt.unavailable)
            }
        };
        Event {
            record,
            ecs: Some(doc),
            mapped: OnceLock::new(),
            direct: OnceLock::new(),
            shape,
            unavailable,
            origin,
        }
    }

    /// The CloudTrail record (raw, from `event.original`, or rebuilt).
    pub fn record(&self) -> &Value {
        &self.record
    }

    /// The event as an ECS document: the document itself, or — for a raw record — the document
    /// Elastic's AWS integration would index (mapped once, on first use).
    pub fn ecs_view(&self) -> &Value {
        match &self.ecs {
            Some(doc) => doc,
            None => self
                .mapped
                .get_or_init(|| to_ecs::to_ecs(&self.record, &to_ecs::ToEcsOptions::default())),
        }
    }

    /// The ECS view for a query that reads only direct fields
    /// ([`direct::is_direct_field`]): for a raw record, just those fields (built once, far
    /// cheaper than the whole view); otherwise [`Event::ecs_view`].
    pub fn direct_view(&self) -> &Value {
        if self.ecs.is_some() {
            return self.ecs_view();
        }
        match self
            .direct
            .get_or_init(|| direct::direct_view(&self.record))
        {
            Some(view) => view,
            None => self.ecs_view(),
        }
    }

    /// The view to read the ECS field `path` in: [`Event::direct_view`] for a direct field,
    /// else [`Event::ecs_view`].
    pub fn ecs_view_for(&self, path: &from_ecs::EcsPath) -> &Value {
        match path.is_direct() {
            true => self.direct_view(),
            false => self.ecs_view(),
        }
    }

    /// How the record was obtained.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The event kept in little memory, for long: its document as JSON text (a parsed document
    /// takes about ten times its text), read again by [`Kept::event`].
    pub fn keep(&self) -> Kept {
        let (doc, ecs) = match &self.ecs {
            Some(doc) => (doc, true),
            None => (&self.record, false),
        };
        Kept {
            text: doc.to_string().into_boxed_str(),
            ecs,
            unavailable: self.unavailable.clone(),
            origin: self.origin.clone(),
        }
    }

    /// Where the event came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// True when `path` lies in a subtree the document holds only as an unparseable string, so
    /// "absent" cannot be told from "not readable".
    pub fn is_unavailable(&self, path: &FieldPath) -> bool {
        !self.unavailable.is_empty()
            && self
                .unavailable
                .iter()
                .any(|root| root.eq_ignore_ascii_case(path.root()))
    }

    /// Records that the document holds these CloudTrail subtrees (by root name, e.g.
    /// `responseElements`) only as unparseable strings — as the cluster reported for a search
    /// hit whose strings were not fetched.
    pub fn mark_unavailable<'a>(&mut self, roots: impl IntoIterator<Item = &'a str>) {
        for root in roots {
            let known = from_ecs::FIELDS.iter().find(|f| f.cloudtrail == root);
            if let Some(row) = known {
                if !self.unavailable.contains(&row.cloudtrail) {
                    self.unavailable.push(row.cloudtrail);
                }
            }
        }
    }

    /// CloudTrail's `eventID` (ECS `event.id`), the event's identity across copies.
    pub fn event_id(&self) -> Option<&str> {
        self.record_str("eventID").or_else(|| {
            self.ecs
                .as_ref()
                .and_then(|d| from_ecs::lookup(d, "event.id"))
                .and_then(Value::as_str)
        })
    }

    /// CloudTrail's `eventName` (ECS `event.action`).
    pub fn event_name(&self) -> Option<&str> {
        self.record_str("eventName")
    }

    /// The account the event was delivered to: `recipientAccountId`.
    pub fn account(&self) -> Option<&str> {
        self.record_str("recipientAccountId")
    }

    /// When the event happened: `eventTime`, else the ECS `@timestamp`.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        let ecs_time = || {
            self.ecs
                .as_ref()
                .and_then(|d| from_ecs::lookup(d, "@timestamp"))
                .and_then(Value::as_str)
        };
        self.record_str("eventTime")
            .and_then(time::parse_timestamp)
            .or_else(|| ecs_time().and_then(time::parse_timestamp))
            .or_else(|| {
                self.record_str("@timestamp")
                    .and_then(time::parse_timestamp)
            })
    }

    /// When the event reached Elasticsearch (`event.ingested`), for ECS documents.
    pub fn ingested(&self) -> Option<DateTime<Utc>> {
        self.ecs
            .as_ref()
            .and_then(|d| from_ecs::lookup(d, "event.ingested"))
            .and_then(Value::as_str)
            .and_then(time::parse_timestamp)
    }

    fn record_str(&self, key: &str) -> Option<&str> {
        let map = self.record.as_object()?;
        map.get(key)
            .or_else(|| {
                map.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .and_then(Value::as_str)
    }
}

/// Raw CloudTrail keys: a record with any of them is CloudTrail, not ECS.
const CLOUDTRAIL_KEYS: [&str; 5] = [
    "eventName",
    "eventSource",
    "eventVersion",
    "userIdentity",
    "eventTime",
];

/// True for an ECS document (`event.*`, `aws.cloudtrail.*` …) and false for a raw CloudTrail
/// record. Records shaped by Logstash (raw keys plus `@timestamp`) count as raw.
pub fn is_ecs_document(doc: &Value) -> bool {
    let Some(map) = doc.as_object() else {
        return false;
    };
    let has_raw_key = map
        .keys()
        .any(|k| CLOUDTRAIL_KEYS.iter().any(|c| c.eq_ignore_ascii_case(k)));
    if has_raw_key {
        return false;
    }
    map.keys().any(|k| {
        matches!(
            k.as_str(),
            "event" | "aws" | "@timestamp" | "data_stream" | "cloud"
        ) || k.starts_with("event.")
            || k.starts_with("aws.")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inline() -> Origin {
        Origin::Inline("test".into())
    }

    #[test]
    fn detects_raw_and_ecs() {
        assert!(!is_ecs_document(
            &json!({"eventName": "X", "@timestamp": "t"})
        ));
        assert!(is_ecs_document(&json!({"event": {"action": "X"}})));
        assert!(is_ecs_document(&json!({"event.action": "X"})));
        assert!(!is_ecs_document(&json!([1])));
    }

    #[test]
    fn ecs_with_original_reads_the_original() {
        let original =
            json!({"eventName": "Orig", "eventID": "id-1", "eventTime": "2026-01-02T03:04:05Z"});
        let doc = json!({"event": {"action": "Other", "original": original.to_string()}});
        let event = Event::from_document(doc, inline());
        assert_eq!(event.shape(), Shape::EcsOriginal);
        assert_eq!(event.record()["eventName"], "Orig");
        assert_eq!(event.event_id(), Some("id-1"));
        assert_eq!(
            event.time().unwrap().to_rfc3339(),
            "2026-01-02T03:04:05+00:00"
        );
    }

    #[test]
    fn ecs_without_original_is_rebuilt_and_flags_unavailable() {
        let doc = json!({"@timestamp": "2026-01-02T03:04:05.000Z", "event": {"id": "e"},
            "aws": {"cloudtrail": {"response_elements": "{x=y}"}}});
        let event = Event::from_document(doc, inline());
        assert_eq!(event.shape(), Shape::EcsRebuilt);
        assert_eq!(event.event_id(), Some("e"));
        assert!(event.is_unavailable(&FieldPath::parse("responseElements.layers").unwrap()));
        assert!(!event.is_unavailable(&FieldPath::parse("eventName").unwrap()));
        assert!(event.time().is_some());
    }

    #[test]
    fn unparseable_original_falls_back_to_rebuilding() {
        let doc = json!({"event": {"action": "A", "original": "not json"}});
        let event = Event::from_document(doc, inline());
        assert_eq!(event.shape(), Shape::EcsRebuilt);
        assert_eq!(event.record()["eventName"], "A");
    }
}
