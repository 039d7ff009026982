//! What a rule that counts or remembers keeps across the events of a run over files (and of a
//! rule test's sequence): a threshold rule's counts, a new terms rule's terms, a suppressed
//! rule's groups. Events are added as they match; the alerts come out at the end, when every
//! event has been seen.

use crate::alert::{self, Alert};
use crate::event::Event;
use crate::hunt::new_terms::{Carried, Terms};
use crate::hunt::threshold::Counter;
use crate::rule::group::GroupKey;
use crate::rule::Rule;
use chrono::{DateTime, Utc};

/// The state of one rule over one run.
pub enum Memory<'r> {
    /// A threshold rule's counts per bucket and group.
    Threshold(Counter<'r>),
    /// A new terms rule's terms.
    NewTerms(Terms<'r>),
}

/// An alert of a rule that counts or remembers, with what a sequence test compares.
pub struct Remembered {
    /// The group's values (threshold `group_by`, new terms `fields`, suppression `by`).
    pub group: GroupKey,
    /// How many events the alert stands for.
    pub count: u64,
    /// The alert.
    pub alert: Alert,
}

impl<'r> Memory<'r> {
    /// The memory `rule` needs, if it counts or remembers.
    pub fn for_rule(rule: &'r Rule) -> Option<Memory<'r>> {
        if let Some(threshold) = &rule.threshold {
            return Some(Memory::Threshold(Counter::new(threshold)));
        }
        if let Some(new_terms) = &rule.new_terms {
            return Some(Memory::NewTerms(Terms::learning(new_terms)));
        }
        None
    }

    /// Remembers a matching event, placed by its own time; false when it has none (it cannot be
    /// placed, and is left out).
    pub fn add(&mut self, event: &Event) -> bool {
        match self {
            Memory::Threshold(counter) => counter.add(event),
            Memory::NewTerms(terms) => terms.add(event),
        }
    }

    /// What the rule carries to a later scan of files (`scan --state`): a new terms rule's known
    /// terms. Threshold rules carry nothing (their buckets are judged within one run).
    pub fn carry(&self) -> Option<Carried> {
        match self {
            Memory::NewTerms(terms) => Some(terms.carry()),
            _ => None,
        }
    }

    /// Starts from what an earlier scan carried (see [`Memory::carry`]).
    pub fn resume(&mut self, carried: Carried) -> Result<(), String> {
        match self {
            Memory::NewTerms(terms) => terms.resume(carried),
            _ => Err("the rule does not remember terms".into()),
        }
    }

    /// The alerts of the run, in a stable order.
    pub fn finish(self, rule: &Rule, now: DateTime<Utc>) -> Vec<Remembered> {
        match self {
            Memory::Threshold(counter) => counter
                .crossings()
                .into_iter()
                .map(|c| Remembered {
                    alert: alert::threshold(rule, &c, now),
                    group: c.group,
                    count: c.count,
                })
                .collect(),
            Memory::NewTerms(terms) => terms
                .file_alerts(rule, now)
                .into_iter()
                .map(|(term, alert)| Remembered {
                    group: term,
                    count: 1,
                    alert,
                })
                .collect(),
        }
    }
}
