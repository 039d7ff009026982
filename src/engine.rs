//! The engine of file hunting: runs loaded rules over records and counts what happened.
//!
//! Per record: literal needles decide which rules could match (most records: none, and they are
//! never parsed); candidates are parsed, unwrapped (search hits), turned into an [`Event`],
//! filtered by time, and evaluated — condition, then the prefilter on the event's ECS view;
//! matches become [`Alert`]s.

use crate::alert::{self, Alert};
use crate::event::{Event, Origin};
use crate::rule::{PrefilterCheck, Rule};
use crate::source::files::{invalid_json, RawRecord, Skipped};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

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

/// A half-open time range `[from, to)` on event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive end.
    pub to: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// No bounds.
    pub const ALL: TimeRange = TimeRange {
        from: None,
        to: None,
    };

    fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t < e)
    }

    fn is_bounded(&self) -> bool {
        self.from.is_some() || self.to.is_some()
    }
}

/// Runs a set of rules over events.
pub struct Engine<'r> {
    rules: Vec<&'r Rule>,
    range: TimeRange,
    parse_all: bool,
}

impl<'r> Engine<'r> {
    /// An engine for `rules`, keeping events inside `range`.
    pub fn new(rules: impl IntoIterator<Item = &'r Rule>, range: TimeRange) -> Engine<'r> {
        Engine {
            rules: rules.into_iter().collect(),
            range,
            parse_all: false,
        }
    }

    /// Parse every record, even those no rule can match, so malformed input is always reported
    /// (slower: the literal needles no longer skip parsing).
    pub fn parse_all(mut self, yes: bool) -> Self {
        self.parse_all = yes;
        self
    }

    /// The rules.
    pub fn rules(&self) -> &[&'r Rule] {
        &self.rules
    }

    /// The time range events are kept in.
    pub fn range(&self) -> TimeRange {
        self.range
    }

    /// A tally listing every rule with zero alerts, and the rules whose prefilter files cannot
    /// check.
    pub fn new_tally(&self) -> Tally {
        Tally {
            alerts: self.rules.iter().map(|r| (r.meta.id.clone(), 0)).collect(),
            unchecked_prefilters: self
                .rules
                .iter()
                .filter_map(|r| Some((r.meta.id.clone(), r.prefilter.local.clone().err()?)))
                .collect(),
            ..Tally::default()
        }
    }

    /// Processes one raw record: needles, parse, event view, time range, rules.
    pub fn process(
        &self,
        record: RawRecord<'_>,
        now: DateTime<Utc>,
        tally: &mut Tally,
        out: &mut dyn FnMut(Alert),
    ) {
        tally.events += 1;
        let candidates = self.rules.iter().any(|r| r.needles.may_match(record.text));
        if !candidates && !self.parse_all {
            return;
        }
        tally.parsed += 1;
        let text = record.text;
        let (doc, origin) = match parse_record(record) {
            Ok(document) => document,
            Err(skipped) => return tally.skip(skipped),
        };
        if !candidates {
            return;
        }
        let event = Event::from_document(doc, origin);
        self.evaluate(&event, |rule| rule.needles.may_match(text), now, tally, out);
    }

    fn evaluate(
        &self,
        event: &Event,
        candidate: impl Fn(&Rule) -> bool,
        now: DateTime<Utc>,
        tally: &mut Tally,
        out: &mut dyn FnMut(Alert),
    ) {
        if self.range.is_bounded() {
            match event.time() {
                Some(t) if self.range.contains(t) => {}
                Some(_) => {
                    tally.outside_range += 1;
                    return;
                }
                None => {
                    return tally.skip(Skipped {
                        origin: event.origin().clone(),
                        reason: "no event time (with --from/--to)",
                        detail: "neither eventTime nor @timestamp is a timestamp".into(),
                    })
                }
            }
        }
        for rule in self.rules.iter().filter(|r| candidate(r)) {
            let verdict = rule.evaluate(event, PrefilterCheck::Local);
            for field in &verdict.unavailable {
                tally.unavailable(&rule.meta.id, field.as_str(), event);
            }
            if verdict.matched {
                *tally.alerts.entry(rule.meta.id.clone()).or_default() += 1;
                out(alert::build(rule, event, now));
            }
        }
    }
}

/// The document a record read from a file holds, and where it is: the parsed JSON object (a
/// record or ECS document), or a search hit's `_source` (located by `_index`/`_id`). Invalid
/// JSON, non-objects and digest files are skipped. `scan` and `explain --file` read records
/// through this.
pub fn parse_record(record: RawRecord<'_>) -> Result<(Value, Origin), Skipped> {
    let origin = record.origin;
    let value =
        serde_json::from_slice(record.text).map_err(|e| invalid_json(origin.clone(), &e))?;
    let Value::Object(mut map) = value else {
        return Err(Skipped {
            origin,
            reason: "not a JSON object",
            detail: "a record must be a JSON object".into(),
        });
    };
    if map.contains_key("digestStartTime") && map.contains_key("logFiles") {
        return Err(Skipped {
            origin,
            reason: "CloudTrail digest file",
            detail: "digest files hold hashes, not events".into(),
        });
    }
    if let Some(Value::Object(source)) = map.remove("_source") {
        let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_string);
        let origin = match (text("_index"), text("_id")) {
            (Some(index), Some(id)) => Origin::Document { index, id },
            _ => origin,
        };
        return Ok((Value::Object(source), origin));
    }
    Ok((Value::Object(map), origin))
}
