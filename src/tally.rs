//! What a run counts: records read and parsed, parts skipped (with where and why), alerts per
//! rule, fields a rule could not read. The file engine, the cluster hunt and backfills all tally
//! in these terms, so their summaries and exit codes agree.

use crate::event::{Event, Origin};
use std::collections::BTreeMap;

/// Something in the input that is not a usable record or document, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Where.
    pub origin: Origin,
    /// Why (short, stable: used to group counts).
    pub reason: &'static str,
    /// Details (e.g. the JSON parser's message).
    pub detail: String,
}

impl Skipped {
    /// A skipped part for a JSON syntax error.
    pub fn invalid_json(origin: Origin, error: &serde_json::Error) -> Skipped {
        Skipped {
            origin,
            reason: "invalid JSON",
            detail: error.to_string(),
        }
    }
}

/// How many examples of each kind of problem a tally keeps.
const EXAMPLES: usize = 5;

/// Occurrences of one kind of problem, with the first few locations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Occurrences {
    /// How many times it happened.
    pub count: u64,
    /// The first few: where, and details.
    pub examples: Vec<String>,
}

impl Occurrences {
    fn add(&mut self, example: impl FnOnce() -> String) {
        self.count += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(example());
        }
    }
}

/// What a run saw: events, parses, skips, alerts, unreadable fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records read.
    pub events: u64,
    /// Records parsed (the rest could not match any rule and were not parsed).
    pub parsed: u64,
    /// Records outside the requested time range.
    pub outside_range: u64,
    /// Skipped records and file parts, by reason.
    pub skipped: BTreeMap<&'static str, Occurrences>,
    /// Alerts per rule id (every rule is listed, with 0 when it did not fire).
    pub alerts: BTreeMap<String, u64>,
    /// `rule id → field → events` where a field the rule needed was unreadable.
    pub unavailable: BTreeMap<String, BTreeMap<String, Occurrences>>,
    /// `rule id → reason` for rules whose prefilter cannot be evaluated locally (their verdicts
    /// on files rest on the condition alone; without a condition they never fire on files).
    pub unchecked_prefilters: BTreeMap<String, String>,
    /// `rule id → fields` for rules reading fields only Elastic's ingest pipeline adds: not
    /// evaluated on raw CloudTrail records.
    pub ingest_only: BTreeMap<String, Vec<String>>,
}

impl Tally {
    /// Records a skipped part of the input.
    pub fn skip(&mut self, skipped: Skipped) {
        self.skipped
            .entry(skipped.reason)
            .or_default()
            .add(|| format!("{}: {}", skipped.origin, skipped.detail));
    }

    /// Records that `rule` needed `field` in an event holding it only unreadably.
    pub fn unavailable(&mut self, rule: &str, field: &str, event: &Event) {
        self.unavailable
            .entry(rule.to_string())
            .or_default()
            .entry(field.to_string())
            .or_default()
            .add(|| event.origin().to_string());
    }

    /// Total skipped records and parts.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().map(|o| o.count).sum()
    }
}
