//! The documents in the state index. Every document carries `type` (its kind) and `rule_id`
//! where it concerns one rule; ids are derived from their content so a document is found by
//! key without searching.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A kind of state document.
pub trait Record {
    /// The value of its `type` field.
    const KIND: &'static str;
}

/// Where a rule's gap-free hunting has reached: the end of its last complete window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Always [`Checkpoint::KIND`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The rule.
    pub rule_id: String,
    /// End of the last complete window.
    pub checkpoint: DateTime<Utc>,
    /// When it was written.
    pub updated_at: DateTime<Utc>,
    /// The process that wrote it.
    pub instance: String,
}

impl Record for Checkpoint {
    const KIND: &'static str = "checkpoint";
}

impl Checkpoint {
    /// The document id of a rule's checkpoint.
    pub fn id(rule_id: &str) -> String {
        format!("checkpoint:{rule_id}")
    }
}

/// Who runs a rule: a lease that expires unless renewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Always [`Lease::KIND`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The rule.
    pub rule_id: String,
    /// The holding process.
    pub instance: String,
    /// When the lease lapses without renewal.
    pub expires_at: DateTime<Utc>,
    /// Last renewal.
    pub renewed_at: DateTime<Utc>,
}

impl Record for Lease {
    const KIND: &'static str = "lease";
}

impl Lease {
    /// The document id of a rule's lease.
    pub fn id(rule_id: &str) -> String {
        format!("lease:{rule_id}")
    }
}

/// One window of one rule, done or failed: for `eshunt status` and for charts in Kibana.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Always [`RunRecord::KIND`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The rule.
    pub rule_id: String,
    /// Window start.
    pub window_start: DateTime<Utc>,
    /// Window end.
    pub window_end: DateTime<Utc>,
    /// When the run finished.
    pub finished_at: DateTime<Utc>,
    /// `complete` or `failed`.
    pub status: String,
    /// The error, for failed runs.
    pub error: Option<String>,
    /// Wall time, milliseconds.
    pub took_ms: u64,
    /// Hits returned by the prefilter.
    pub hits: u64,
    /// Hits the condition matched.
    pub matched: u64,
    /// Alerts created.
    pub alerts_created: u64,
    /// Alerts already present.
    pub alerts_existing: u64,
    /// Alerts dead-lettered.
    pub alerts_dead_lettered: u64,
    /// Attempts the window needed.
    pub attempts: u32,
    /// Mean ingest delay of the hits (`event.ingested − @timestamp`), milliseconds.
    pub lateness_mean_ms: i64,
    /// Largest ingest delay, milliseconds.
    pub lateness_max_ms: i64,
    /// Fields some hits held only unreadably (their verdicts may be wrong).
    #[serde(default)]
    pub unavailable: Vec<String>,
    /// Hits with an unavailable field.
    #[serde(default)]
    pub unavailable_hits: u64,
    /// Hits that could not be evaluated (no `_source`, or not JSON).
    #[serde(default)]
    pub skipped: u64,
    /// The process.
    pub instance: String,
}

impl Record for RunRecord {
    const KIND: &'static str = "run";
}

impl RunRecord {
    /// A run's id: rule, window and outcome, plus the attempt for failures (so each failed
    /// attempt keeps its record and a window completes once).
    pub fn id(&self) -> String {
        let attempt = match self.status.as_str() {
            "complete" => String::new(),
            _ => format!(":{}", self.attempts),
        };
        format!(
            "run:{}:{}:{}:{}{attempt}",
            self.rule_id,
            self.window_start.timestamp_millis(),
            self.window_end.timestamp_millis(),
            self.status
        )
    }
}

/// Time a rule did not hunt (downtime beyond the catch-up limit), kept visible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// Always [`Gap::KIND`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The rule.
    pub rule_id: String,
    /// Gap start.
    pub gap_start: DateTime<Utc>,
    /// Gap end.
    pub gap_end: DateTime<Utc>,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Why.
    pub reason: String,
    /// The process.
    pub instance: String,
}

impl Record for Gap {
    const KIND: &'static str = "gap";
}

impl Gap {
    /// A gap's id: rule and start.
    pub fn id(&self) -> String {
        format!("gap:{}:{}", self.rule_id, self.gap_start.timestamp_millis())
    }
}

/// A backfill: the range, rules and chunking, so an interrupted one can be resumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    /// Always [`Backfill::KIND`].
    #[serde(rename = "type")]
    pub kind: String,
    /// Derived from rules (with versions), range and chunk size: the same command resumes the
    /// same backfill.
    pub backfill_id: String,
    /// Rules.
    pub rule_ids: Vec<String>,
    /// Range start.
    pub range_start: DateTime<Utc>,
    /// Range end.
    pub range_end: DateTime<Utc>,
    /// Chunk length, as written (`1h`).
    pub chunk: String,
    /// Chunks in all (rules × time chunks).
    pub chunks_total: u64,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished, if it did.
    pub finished_at: Option<DateTime<Utc>>,
}

impl Record for Backfill {
    const KIND: &'static str = "backfill";
}

/// One finished chunk of a backfill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillChunk {
    /// Always [`BackfillChunk::KIND`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The backfill.
    pub backfill_id: String,
    /// The rule.
    pub rule_id: String,
    /// Chunk start.
    pub window_start: DateTime<Utc>,
    /// Chunk end.
    pub window_end: DateTime<Utc>,
    /// Hits.
    pub hits: u64,
    /// Alerts created.
    pub alerts_created: u64,
    /// Alerts found already written: by live runs, an earlier backfill, or an attempt at this
    /// chunk killed before it was recorded (absent in records of older versions).
    #[serde(default)]
    pub alerts_existing: u64,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
}

impl Record for BackfillChunk {
    const KIND: &'static str = "backfill_chunk";
}

impl BackfillChunk {
    /// A chunk's id.
    pub fn id(backfill_id: &str, rule_id: &str, start: DateTime<Utc>) -> String {
        format!("chunk:{backfill_id}:{rule_id}:{}", start.timestamp_millis())
    }
}

/// Mappings of the state index.
pub fn mappings() -> Value {
    let keyword = json!({"type": "keyword"});
    let date = json!({"type": "date"});
    let long = json!({"type": "long"});
    let mut properties = serde_json::Map::new();
    for field in [
        "type",
        "rule_id",
        "rule_ids",
        "instance",
        "status",
        "backfill_id",
        "chunk",
        "reason",
        "unavailable",
    ] {
        properties.insert(field.into(), keyword.clone());
    }
    properties.insert("error".into(), json!({"type": "text"}));
    for field in [
        "checkpoint",
        "updated_at",
        "expires_at",
        "renewed_at",
        "window_start",
        "window_end",
        "finished_at",
        "gap_start",
        "gap_end",
        "recorded_at",
        "range_start",
        "range_end",
        "started_at",
    ] {
        properties.insert(field.into(), date.clone());
    }
    for field in [
        "took_ms",
        "hits",
        "matched",
        "alerts_created",
        "alerts_existing",
        "alerts_dead_lettered",
        "unavailable_hits",
        "skipped",
        "attempts",
        "lateness_mean_ms",
        "lateness_max_ms",
        "chunks_total",
    ] {
        properties.insert(field.into(), long.clone());
    }
    json!({"dynamic": false, "properties": properties})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_field_is_mapped() {
        let t = DateTime::UNIX_EPOCH;
        let samples = [
            serde_json::to_value(Checkpoint {
                kind: "checkpoint".into(),
                rule_id: "r".into(),
                checkpoint: t,
                updated_at: t,
                instance: "i".into(),
            }),
            serde_json::to_value(Lease {
                kind: "lease".into(),
                rule_id: "r".into(),
                instance: "i".into(),
                expires_at: t,
                renewed_at: t,
            }),
            serde_json::to_value(Gap {
                kind: "gap".into(),
                rule_id: "r".into(),
                gap_start: t,
                gap_end: t,
                recorded_at: t,
                reason: "x".into(),
                instance: "i".into(),
            }),
            serde_json::to_value(BackfillChunk {
                kind: "backfill_chunk".into(),
                backfill_id: "b".into(),
                rule_id: "r".into(),
                window_start: t,
                window_end: t,
                hits: 1,
                alerts_created: 1,
                alerts_existing: 1,
                finished_at: t,
            }),
        ];
        let mapped = mappings();
        for sample in samples {
            for key in sample.unwrap().as_object().unwrap().keys() {
                assert!(
                    mapped["properties"].get(key).is_some(),
                    "{key} is not mapped"
                );
            }
        }
    }
}
