//! The engine of file hunting: runs loaded rules over records and counts what happened.
//!
//! Per record: the top-level `eventName` read from the text selects the rules keyed on it, and one
//! pass for the literal needles of the other rules ([`Dispatch`]) decides which rules could match
//! (most records: none, and they are never parsed); candidates are parsed, unwrapped (search hits), turned into an [`Event`],
//! filtered by time, and evaluated — condition, then the prefilter on the event's ECS view;
//! matches become [`Alert`]s.

use crate::alert::{self, Alert};
use crate::event::Event;
use crate::rule::dispatch::{Dispatch, DispatchProbe};
use crate::rule::{PrefilterCheck, Rule};
use crate::source::files::{parse_record, RawRecord};
use crate::tally::{Skipped, Tally};
use chrono::{DateTime, Utc};
use std::cell::RefCell;

/// What a match gives.
pub enum Found<'a> {
    /// An alert of a rule that judges events one at a time.
    Alert(Alert),
    /// A matching event of a rule that counts or remembers ([`Rule::remembers`]).
    Remember(&'a Rule, &'a Event),
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
    needles: Dispatch,
    probe: RefCell<DispatchProbe>,
    range: TimeRange,
    parse_all: bool,
}

impl<'r> Engine<'r> {
    /// An engine for `rules`, keeping events inside `range`.
    pub fn new(rules: impl IntoIterator<Item = &'r Rule>, range: TimeRange) -> Engine<'r> {
        let rules: Vec<&Rule> = rules.into_iter().collect();
        let needles = Dispatch::for_rules(rules.iter().copied());
        Engine {
            probe: RefCell::new(needles.probe()),
            needles,
            rules,
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
            ingest_only: self
                .rules
                .iter()
                .filter(|r| !r.ingest_only.is_empty())
                .map(|r| (r.meta.id.clone(), r.ingest_only.clone()))
                .collect(),
            ..Tally::default()
        }
    }

    /// Processes one raw record: needles, parse, event view, time range, rules. Each match is
    /// handed to `out`: an alert, or for a rule that counts or remembers the event.
    pub fn process(
        &self,
        record: RawRecord<'_>,
        now: DateTime<Utc>,
        tally: &mut Tally,
        out: &mut dyn FnMut(Found<'_>),
    ) {
        tally.events += 1;
        let mut probe = self.probe.borrow_mut();
        let candidates = self.needles.candidates(record.text, &mut probe);
        if candidates.is_empty() && !self.parse_all {
            return;
        }
        tally.parsed += 1;
        let (doc, origin) = match parse_record(record) {
            Ok(document) => document,
            Err(skipped) => return tally.skip(skipped),
        };
        if candidates.is_empty() {
            return;
        }
        let event = Event::from_document(doc, origin);
        self.evaluate(&event, candidates, now, tally, out);
    }

    /// Evaluates the rules at `candidates` (indexes into the rules) on `event`.
    fn evaluate(
        &self,
        event: &Event,
        candidates: &[usize],
        now: DateTime<Utc>,
        tally: &mut Tally,
        out: &mut dyn FnMut(Found<'_>),
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
        let judged = candidates.iter().map(|&i| self.rules[i]);
        for rule in judged.filter(|r| r.can_judge(event)) {
            let verdict = rule.evaluate(event, PrefilterCheck::Local);
            for field in &verdict.unavailable {
                tally.unavailable(&rule.meta.id, field.as_str(), event);
            }
            if !verdict.matched {
                continue;
            }
            *tally.alerts.entry(rule.meta.id.clone()).or_default() += 1;
            match rule.remembers() {
                true => out(Found::Remember(rule, event)),
                false => out(Found::Alert(alert::build(rule, event, now))),
            }
        }
    }
}
