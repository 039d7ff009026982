//! Alerts: ECS documents reviewable in Kibana and promotable by Elastic Security's External
//! Alerts rule (`event.kind: alert`, numeric `event.severity` / `event.risk_score`, `message`).
//!
//! An alert's `_id` is a deterministic hash of the rule id and the event's identity
//! ([`identity`]), so the same event gives the same alert from a file or from any index, and
//! re-running never duplicates; two different events never share one. An alert standing for
//! many events (a threshold group, a suppressed group) hashes what makes it one instead: the
//! rule, its bucket or period, and the group's values.

mod ecs;

pub use ecs::source_paths;

use crate::event::path::set_dotted;
use crate::event::{Event, Origin, Shape};
use crate::rule::suppress::Suppressed;
use crate::rule::template::resolve;
use crate::rule::threshold::Crossing;
use crate::rule::{Metadata, Rule, Threat};
use crate::time;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Panther cuts generated strings (title, dedup) longer than this many characters.
pub const MAX_GENERATED_CHARS: usize = 1000;

/// What Panther puts at the end of a string it cut.
const TRUNCATED_SUFFIX: &str = "... (truncated)";

/// One alert, ready to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Deterministic document id.
    pub id: String,
    /// The rule that fired.
    pub rule_id: String,
    /// The ECS document.
    pub doc: Value,
}

/// What makes an event the same event wherever it is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// CloudTrail's `eventID` (ECS `event.id`) with the event's time, name and account: an
    /// `eventID` alone is not unique in hand-made, replayed or test data (Panther's test records
    /// all use `"1"`), while these four travel together through files, indices and reindexing.
    Event {
        /// `eventID`.
        id: String,
        /// `eventTime` (ECS `@timestamp`), normalised; empty when absent.
        time: String,
        /// `eventName` (ECS `event.action`); empty when absent.
        name: String,
        /// `recipientAccountId`; empty when absent.
        account: String,
    },
    /// The Elasticsearch document, when the event has no `eventID`.
    Document {
        /// Index.
        index: String,
        /// `_id`.
        id: String,
    },
    /// A hash of the record's JSON, when neither exists.
    Content(String),
}

impl Identity {
    /// The identity as text: what alert ids hash, and what orders events of equal time.
    pub fn key(&self) -> String {
        match self {
            Identity::Event {
                id,
                time,
                name,
                account,
            } => format!("cloudtrail:{id}|{time}|{name}|{account}"),
            Identity::Document { index, id } => format!("es:{index}/{id}"),
            Identity::Content(hash) => format!("sha256:{hash}"),
        }
    }
}

/// The CloudTrail fields an event's [`identity`] is made of (besides where it is stored).
pub const IDENTITY_PATHS: [&str; 4] = ["eventID", "eventTime", "eventName", "recipientAccountId"];

/// The identity of an event: `eventID` with its time, name and account, else its
/// Elasticsearch document, else its content.
pub fn identity(event: &Event) -> Identity {
    if let Some(id) = event.event_id().filter(|id| !id.is_empty()) {
        let text = |value: Option<&str>| value.unwrap_or_default().to_string();
        return Identity::Event {
            id: id.to_string(),
            time: event.time().map(time::format).unwrap_or_default(),
            name: text(event.event_name()),
            account: text(event.account()),
        };
    }
    if let Origin::Document { index, id } = event.origin() {
        return Identity::Document {
            index: index.clone(),
            id: id.clone(),
        };
    }
    let text = serde_json::to_string(event.record()).unwrap_or_default();
    Identity::Content(hex(&Sha256::digest(text.as_bytes())))
}

/// The alert id for a rule and an event identity.
pub fn alert_id(rule_id: &str, identity: &Identity) -> String {
    hashed_id(rule_id, &identity.key())
}

/// `sha256(rule id, 0, key)` in hex: what every alert id is.
fn hashed_id(rule_id: &str, key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(rule_id.as_bytes());
    hasher.update([0u8]);
    hasher.update(key.as_bytes());
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The title of an alert: the rendered template, or the rule id when rendering fails (as
/// Panther does), cut as Panther cuts it.
pub fn title(rule: &Rule, event: &Event) -> String {
    title_and_dedup(rule, event).0
}

/// The title and dedup key of an alert (both after `[[alert.titles]]`): the dedup key is the
/// rendered dedup template, or the title when there is none or it fails.
pub fn title_and_dedup(rule: &Rule, event: &Event) -> (String, String) {
    let (title_template, dedup_template) = rule.alert.templates_for(event);
    let title = truncate_generated(
        title_template
            .render(event)
            .unwrap_or_else(|_| rule.meta.id.clone()),
    );
    let dedup = match dedup_template {
        Some(t) => t
            .render(event)
            .map_or_else(|_| title.clone(), truncate_generated),
        None => title.clone(),
    };
    (title, dedup)
}

/// A string longer than [`MAX_GENERATED_CHARS`] keeps its first characters and ends with
/// `... (truncated)`, [`MAX_GENERATED_CHARS`] characters in all, as Panther does.
fn truncate_generated(mut text: String) -> String {
    if text.chars().count() <= MAX_GENERATED_CHARS {
        return text;
    }
    let keep = MAX_GENERATED_CHARS - TRUNCATED_SUFFIX.chars().count();
    if let Some((cut, _)) = text.char_indices().nth(keep) {
        text.truncate(cut);
    }
    text.push_str(TRUNCATED_SUFFIX);
    text
}

/// The rule's alert context for an event, keys in the rule's order.
pub fn context(rule: &Rule, event: &Event) -> Map<String, Value> {
    rule.alert
        .context
        .iter()
        .map(|c| {
            let value = match &c.template {
                Some(t) => t.render(event).map(Value::String).map_err(|_| ()),
                None => resolve(&c.field, event).map_err(|_| ()),
            }
            .unwrap_or_else(|_| c.default.clone());
            (c.name.clone(), value)
        })
        .collect()
}

/// Builds the alert of `rule` for `event`, written at `now`.
pub fn build(rule: &Rule, event: &Event, now: DateTime<Utc>) -> Alert {
    let identity = identity(event);
    let id = alert_id(&rule.meta.id, &identity);
    build_as(rule, event, &identity, id, now)
}

/// Builds the alert of a new terms rule for an event whose `term` (the values of the rule's
/// new terms fields, in order) is new. Its id names the term as well as the event, so an event
/// with two new terms gives two alerts.
pub fn new_term(rule: &Rule, event: &Event, term: &[String], now: DateTime<Utc>) -> Alert {
    let identity = identity(event);
    let key = json!(["new_terms", term, identity.key()]);
    let id = hashed_id(&rule.meta.id, &key.to_string());
    let mut alert = build_as(rule, event, &identity, id, now);
    let names = rule
        .new_terms
        .as_ref()
        .map(|n| n.field_names())
        .unwrap_or_default();
    let fields: Map<String, Value> = names
        .into_iter()
        .zip(term.iter().map(|v| json!(v)))
        .collect();
    alert.doc["eshunt"]["new_terms"] = json!({ "fields": fields });
    alert
}

/// The alert of `rule` for `event` under the id `id`.
fn build_as(
    rule: &Rule,
    event: &Event,
    identity: &Identity,
    id: String,
    now: DateTime<Utc>,
) -> Alert {
    let mut doc = ecs::source_fields(event.record());
    merge(
        &mut doc,
        rule_fields(rule, &id, event, event.time().unwrap_or(now), now),
    );
    doc["eshunt"]["source"] = source_link(event, identity);
    finish(rule, id, doc, event)
}

/// Builds the alert of a threshold rule for a group that reached its threshold, written at
/// `now`. Its title, dedup and context are rendered on the group's values (a record holding
/// only the group fields); `eshunt.threshold` says which bucket, group and counts.
pub fn threshold(rule: &Rule, crossing: &Crossing, now: DateTime<Utc>) -> Alert {
    let names = rule
        .threshold
        .as_ref()
        .map(|t| t.group_names())
        .unwrap_or_default();
    let group = group_fields(&names, &crossing.group);
    let id = threshold_id(&rule.meta.id, crossing);
    let event = group_event(&group);
    let mut doc = rule_fields(rule, &id, &event, crossing.last, now);
    doc["eshunt"]["threshold"] = json!({
        "window": [time::format(crossing.bucket.start), time::format(crossing.bucket.end)],
        "group": group,
        "count": crossing.count,
        "cardinality": crossing.distinct,
        "first": time::format(crossing.first),
        "last": time::format(crossing.last),
        "samples": crossing.samples,
    });
    finish(rule, id, doc, &event)
}

/// A threshold alert's id: the rule, the bucket and the group's values.
fn threshold_id(rule_id: &str, crossing: &Crossing) -> String {
    let key = json!([
        "threshold",
        crossing.bucket.start.timestamp_millis(),
        crossing.group
    ]);
    hashed_id(rule_id, &key.to_string())
}

/// Builds the alert of a suppressed group in a period, written at `now`: the alert of the
/// group's first event (`first`), under the group's id, with `eshunt.suppressed` counting the
/// other matches (`count`), giving the first and last times, the id the first event's own alert
/// has (`first_id`, what breaks ties between events of the same time), the period and the group.
pub fn suppressed(rule: &Rule, first: &Event, seen: &Suppressed, now: DateTime<Utc>) -> Alert {
    let names = rule
        .suppress
        .as_ref()
        .map(|s| s.field_names())
        .unwrap_or_default();
    let mut alert = build(rule, first, now);
    let id = suppressed_id(&rule.meta.id, seen.period.start, &seen.group);
    alert.doc["eshunt"]["alert_id"] = json!(id);
    alert.doc["eshunt"]["suppressed"] = json!({
        "count": seen.matches.saturating_sub(1),
        "first": time::format(seen.first),
        "first_id": alert.id,
        "last": time::format(seen.last),
        "period": [time::format(seen.period.start), time::format(seen.period.end)],
        "group": group_fields(&names, &seen.group),
    });
    alert.id = id;
    alert
}

/// A suppressed group's alert id: the rule, the period's start and the group's values.
pub fn suppressed_id(rule_id: &str, period_start: DateTime<Utc>, group: &[String]) -> String {
    let key = json!(["suppress", period_start.timestamp_millis(), group]);
    hashed_id(rule_id, &key.to_string())
}

/// A group's values by field name (`{"userIdentity.arn": …}`).
fn group_fields(names: &[String], values: &[String]) -> Map<String, Value> {
    names
        .iter()
        .cloned()
        .zip(values.iter().map(|v| json!(v)))
        .collect()
}

/// A record holding only a group's values at their CloudTrail paths (`userIdentity.arn` →
/// `{"userIdentity": {"arn": …}}`), so templates and context render on them.
fn group_event(group: &Map<String, Value>) -> Event {
    let mut record = Map::new();
    for (path, value) in group {
        set_dotted(&mut record, path, value.clone());
    }
    Event::from_cloudtrail(
        Value::Object(record),
        Origin::Inline("threshold group".into()),
    )
}

/// The fields every alert of `rule` has: message, ECS `event.*` and `rule.*`, and eshunt's
/// own (id, severity, dedup, rule details), with `@timestamp` at `at`.
fn rule_fields(
    rule: &Rule,
    id: &str,
    event: &Event,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Value {
    let (title, dedup) = title_and_dedup(rule, event);
    let meta = &rule.meta;
    let (severity, risk_score) = rule.severity_for(event);
    let mut doc = json!({
        "@timestamp": time::format(at),
        "message": title,
        "event": {
            "kind": kind(meta),
            "module": "eshunt",
            "dataset": "eshunt.alerts",
            "severity": severity.number(),
            "risk_score": risk_score,
            "created": time::format(now),
            "ingested": time::format(now),
        },
        "rule": {
            "id": meta.id,
            "name": meta.name,
            "description": meta.description,
            "version": meta.version.to_string(),
            "ruleset": "eshunt",
            "author": meta.author,
            "license": meta.license,
            "reference": meta.references.first(),
            "category": meta.threat.iter().map(|t| t.tactic.name.clone()).collect::<Vec<_>>(),
        },
        "tags": meta.tags,
        "eshunt": {
            "alert_id": id,
            "severity": severity.as_str(),
            "dedup": dedup,
            "rule": {
                "id": meta.id,
                "version": meta.version,
                "file": rule.file.display().to_string(),
                "origin": meta.origin.as_ref().map(|o| json!({
                    "product": o.product, "rule_id": o.rule_id, "version": o.version,
                    "file": o.file, "license": o.license, "url": o.url,
                })),
                "references": meta.references,
                "false_positives": meta.false_positives,
                "investigation_fields": meta.investigation_fields,
                "runbook": meta.runbook,
            },
        },
    });
    if meta.building_block {
        doc["eshunt"]["building_block"] = json!(true);
        doc["kibana"] = json!({"alert": {"building_block_type": "default"}});
    }
    doc
}

/// `event.kind`: `alert` for what reviewers triage (and Kibana's External Alerts rule
/// promotes); `signal` for a building block's matches, which both skip.
fn kind(meta: &Metadata) -> &'static str {
    if meta.building_block {
        "signal"
    } else {
        "alert"
    }
}

/// Adds the ATT&CK mapping and the context, drops nulls, and wraps the document.
fn finish(rule: &Rule, id: String, mut doc: Value, event: &Event) -> Alert {
    if let Some(threat) = threat(&rule.meta.threat) {
        doc["threat"] = threat;
    }
    strip_nulls(&mut doc);
    // The context keeps its null values: Panther's alert context names every key it computes.
    doc["eshunt"]["context"] = Value::Object(context(rule, event));
    Alert {
        id,
        rule_id: rule.meta.id.clone(),
        doc,
    }
}

/// `eshunt.source`: how to get back to the event the alert is about.
fn source_link(event: &Event, identity: &Identity) -> Value {
    let mut link = json!({
        "event_id": event.event_id(),
        "identity": identity.key(),
        "timestamp": event.time().map(time::format),
        "ingested": event.ingested().map(time::format),
        "shape": match event.shape() {
            Shape::CloudTrail => "cloudtrail",
            Shape::EcsOriginal => "ecs_original",
            Shape::EcsRebuilt => "ecs_rebuilt",
        },
    });
    match event.origin() {
        Origin::Document { index, id } => {
            link["index"] = json!(index);
            link["id"] = json!(id);
        }
        Origin::Line { file, line } => {
            link["file"] = json!(&**file);
            link["line"] = json!(line);
        }
        Origin::Record {
            file, line, index, ..
        } => {
            link["file"] = json!(&**file);
            link["line"] = json!(line);
            link["record"] = json!(index);
        }
        Origin::Inline(label) => link["file"] = json!(&**label),
    }
    link
}

/// ECS `threat.*`: parallel arrays of tactic and technique ids, names and references.
fn threat(threats: &[Threat]) -> Option<Value> {
    if threats.is_empty() {
        return None;
    }
    let tactics: Vec<_> = threats.iter().map(|t| &t.tactic).collect();
    let techniques: Vec<_> = threats
        .iter()
        .flat_map(|t| &t.techniques)
        .map(|t| &t.technique)
        .collect();
    let subtechniques: Vec<_> = threats
        .iter()
        .flat_map(|t| &t.techniques)
        .flat_map(|t| &t.subtechniques)
        .collect();
    let column = |refs: &[&crate::rule::AttackRef]| {
        let mut ids: Vec<&str> = Vec::new();
        let mut names = Vec::new();
        let mut urls = Vec::new();
        for r in refs {
            if !ids.contains(&r.id.as_str()) {
                ids.push(&r.id);
                names.push(r.name.clone());
                urls.push(r.reference.clone());
            }
        }
        json!({"id": ids, "name": names, "reference": urls})
    };
    let mut technique = column(&techniques);
    if !subtechniques.is_empty() {
        technique["subtechnique"] = column(&subtechniques);
    }
    Some(json!({
        "framework": threats[0].framework,
        "tactic": column(&tactics),
        "technique": technique,
    }))
}

/// Deep-merges `from` into `into` (objects merge, other values overwrite).
fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Removes `null` members so documents carry only fields with values.
fn strip_nulls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|_, v| !v.is_null());
        map.values_mut().for_each(strip_nulls);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(doc: Value, origin: Origin) -> Event {
        Event::from_document(doc, origin)
    }

    #[test]
    fn long_generated_strings_are_cut_as_panther_cuts_them() {
        let exact = "é".repeat(MAX_GENERATED_CHARS);
        assert_eq!(truncate_generated(exact.clone()), exact);
        let cut = truncate_generated("é".repeat(1200));
        assert_eq!(cut.chars().count(), MAX_GENERATED_CHARS);
        assert!(cut.starts_with(&"é".repeat(985)));
        assert!(cut.ends_with("é... (truncated)"));
    }

    fn event_identity(id: &str, time: &str, name: &str, account: &str) -> Identity {
        Identity::Event {
            id: id.into(),
            time: time.into(),
            name: name.into(),
            account: account.into(),
        }
    }

    #[test]
    fn identity_prefers_event_id_then_document_then_content() {
        let by_id = event(
            json!({"eventID": "abc", "eventName": "X", "eventTime": "2026-03-14T10:00:00Z",
                   "recipientAccountId": "123456789012"}),
            Origin::Inline("t".into()),
        );
        let expected = event_identity("abc", "2026-03-14T10:00:00.000Z", "X", "123456789012");
        assert_eq!(identity(&by_id), expected);
        let ecs = event(
            json!({"@timestamp": "2026-03-14T10:00:00.000Z",
                   "event": {"id": "abc", "action": "X"},
                   "aws": {"cloudtrail": {"recipient_account_id": "123456789012"}}}),
            Origin::Document {
                index: "i".into(),
                id: "d".into(),
            },
        );
        assert_eq!(identity(&ecs), expected, "the ECS copy is the same event");
        let doc = event(
            json!({"event": {"action": "X"}}),
            Origin::Document {
                index: "i".into(),
                id: "d".into(),
            },
        );
        assert_eq!(
            identity(&doc),
            Identity::Document {
                index: "i".into(),
                id: "d".into()
            }
        );
        let a = event(json!({"eventName": "X"}), Origin::Inline("a".into()));
        let b = event(json!({"eventName": "X"}), Origin::Inline("b".into()));
        assert_eq!(identity(&a), identity(&b));
        assert!(matches!(identity(&a), Identity::Content(_)));
    }

    #[test]
    fn events_sharing_an_event_id_keep_their_own_identity() {
        let record = |name: &str, time: &str, account: &str| {
            event(
                json!({"eventID": "1", "eventName": name, "eventTime": time,
                       "recipientAccountId": account}),
                Origin::Inline("t".into()),
            )
        };
        let base = identity(&record("A", "2026-03-14T10:00:00Z", "111111111111"));
        for other in [
            record("B", "2026-03-14T10:00:00Z", "111111111111"),
            record("A", "2026-03-14T10:00:01Z", "111111111111"),
            record("A", "2026-03-14T10:00:00Z", "222222222222"),
        ] {
            assert_ne!(identity(&other), base);
        }
    }

    #[test]
    fn alert_ids_depend_on_rule_and_identity_only() {
        let i = event_identity("e1", "t", "n", "a");
        assert_eq!(alert_id("r", &i), alert_id("r", &i));
        assert_ne!(alert_id("r", &i), alert_id("s", &i));
        assert_ne!(
            alert_id("r", &i),
            alert_id("r", &event_identity("e2", "t", "n", "a"))
        );
        assert_eq!(alert_id("r", &i).len(), 64);
    }

    #[test]
    fn suppressed_ids_depend_on_rule_period_and_group_only() {
        let at = |t: &str| time::parse_timestamp(t).unwrap();
        let ten = at("2026-03-14T10:00:00Z");
        let group = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let id = suppressed_id("r", ten, &group(&["alice"]));
        assert_eq!(id, suppressed_id("r", ten, &group(&["alice"])));
        assert_eq!(id.len(), 64);
        for other in [
            suppressed_id("s", ten, &group(&["alice"])),
            suppressed_id("r", at("2026-03-14T11:00:00Z"), &group(&["alice"])),
            suppressed_id("r", ten, &group(&["bob"])),
            suppressed_id("r", ten, &group(&["alice", "x"])),
            suppressed_id("r", ten, &group(&["alice,x"])),
        ] {
            assert_ne!(id, other);
        }
        // Not the id of a threshold bucket with the same start and group.
        let crossing = Crossing {
            bucket: crate::time::Window {
                start: ten,
                end: at("2026-03-14T11:00:00Z"),
            },
            group: group(&["alice"]),
            count: 1,
            distinct: None,
            first: ten,
            last: ten,
            samples: Vec::new(),
        };
        assert_ne!(id, threshold_id("r", &crossing));
    }

    #[test]
    fn merge_and_strip() {
        let mut a = json!({"event": {"id": "1", "x": null}, "k": 1});
        merge(&mut a, json!({"event": {"kind": "alert"}, "k": null}));
        strip_nulls(&mut a);
        assert_eq!(a, json!({"event": {"id": "1", "kind": "alert"}}));
    }
}
