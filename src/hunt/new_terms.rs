//! Finding a new terms rule's new terms among the events it matched: per term, its occurrences
//! are kept as *runs* — stretches where each occurrence follows the previous one within the
//! rule's history — and only the first event of each run (the earliest; equal times ordered by
//! alert identity) is remembered. The first event of a run is the one whose term was absent
//! from the history before it; every later occurrence had it in view.
//!
//! Memory is one run per term (more only where a term comes back after a whole history of
//! absence), whatever the order events arrive in. On files the runs span all the data; in a
//! cluster, one window's, and the first run of each term is then checked against the history
//! before the window ([`crate::source::history`]).

use crate::alert::{self, Alert};
use crate::event::{Event, Kept};
use crate::rule::group::GroupKey;
use crate::rule::new_terms::NewTerms;
use crate::rule::Rule;
use crate::source::history::{range_of, FirstOccurrence};
use crate::time::Window;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Occurrences of one term, each within `history` of the previous one.
#[derive(Debug, Clone)]
struct Run {
    /// Time of the first occurrence.
    first: DateTime<Utc>,
    /// Time of the last occurrence.
    last: DateTime<Utc>,
    /// The first occurrence's alert identity (orders events of equal time; empty for a run
    /// carried from an earlier scan, which wins ties).
    identity: String,
    /// The first occurrence (none for a run carried from an earlier scan: already judged).
    event: Option<Kept>,
}

/// The runs of every term a new terms rule has seen.
#[derive(Debug)]
pub struct Terms<'r> {
    new_terms: &'r NewTerms,
    /// Files: keep an event only where it can be new (a whole history of data before it).
    learning: bool,
    /// The earliest time of an event the rule matched.
    earliest: Option<DateTime<Utc>>,
    runs: HashMap<GroupKey, Vec<Run>>,
}

/// A new term: the event where it appeared.
#[derive(Debug, Clone)]
pub struct NewTerm {
    /// The term's values, in the order of the rule's fields.
    pub term: GroupKey,
    /// The event.
    pub event: Event,
}

impl<'r> Terms<'r> {
    /// No terms seen yet, in a cluster window: the first event of every run is kept (the
    /// history before the window decides).
    pub fn new(new_terms: &'r NewTerms) -> Terms<'r> {
        Terms {
            new_terms,
            learning: false,
            earliest: None,
            runs: HashMap::new(),
        }
    }

    /// No terms seen yet, on files: the data is its own history, and a run's first event is
    /// kept only when a whole history of data lies before it (it can be new) — so a rule
    /// learning millions of terms holds their times, not their events.
    pub fn learning(new_terms: &'r NewTerms) -> Terms<'r> {
        Terms {
            learning: true,
            ..Terms::new(new_terms)
        }
    }

    /// Remembers a matching event at its own time (files); false when it has none.
    pub fn add(&mut self, event: &Event) -> bool {
        match event.time() {
            Some(t) => {
                self.add_at(event, t);
                true
            }
            None => false,
        }
    }

    /// Remembers a matching event at time `t` (in a cluster: its time on the rule's time field).
    pub fn add_at(&mut self, event: &Event, t: DateTime<Utc>) {
        self.earliest = Some(self.earliest.map_or(t, |e| e.min(t)));
        let terms = self.new_terms.terms(event);
        if terms.is_empty() {
            return;
        }
        let identity = alert::identity(event).key();
        let history = self.new_terms.history.delta();
        let keep = !self.learning || self.earliest.is_some_and(|e| t - history >= e);
        let occurrence = Occurrence {
            t,
            identity: &identity,
            event: keep.then_some(event),
        };
        for term in terms {
            let runs = self.runs.entry(term).or_default();
            insert(runs, history, &occurrence);
        }
    }

    /// Each term with the start of its first run: what the history before a cluster window is
    /// asked about.
    pub fn first_occurrences(&self) -> Vec<(GroupKey, DateTime<Utc>)> {
        self.runs
            .iter()
            .filter_map(|(term, runs)| Some((term.clone(), runs.first()?.first)))
            .collect()
    }

    /// The new terms: the first event of every run but a term's first one, and of the first
    /// one when `first_is_new(term, its start)` says so. Sorted by time, then term.
    pub fn new_terms(
        self,
        mut first_is_new: impl FnMut(&GroupKey, DateTime<Utc>) -> bool,
    ) -> Vec<NewTerm> {
        let mut out: Vec<(DateTime<Utc>, NewTerm)> = Vec::new();
        for (term, runs) in self.runs {
            for (i, run) in runs.into_iter().enumerate() {
                let Some(event) = run.event else {
                    continue;
                };
                if i > 0 || first_is_new(&term, run.first) {
                    let new = NewTerm {
                        term: term.clone(),
                        event: event.event(),
                    };
                    out.push((run.first, new));
                }
            }
        }
        out.sort_by(|(a, x), (b, y)| (a, &x.term).cmp(&(b, &y.term)));
        out.into_iter().map(|(_, n)| n).collect()
    }

    /// The alerts of a run over files: a term is new only once a whole history of data lies
    /// before it (the data's first `history` teaches the rule what is known), each with its
    /// term.
    pub fn file_alerts(self, rule: &Rule, now: DateTime<Utc>) -> Vec<(GroupKey, Alert)> {
        let history = self.new_terms.history.delta();
        let Some(earliest) = self.earliest else {
            return Vec::new();
        };
        self.warn_unkept(rule, earliest);
        self.new_terms(|_, first| first - history >= earliest)
            .into_iter()
            .map(|n| {
                let alert = alert::new_term(rule, &n.event, &n.term, now);
                (n.term, alert)
            })
            .collect()
    }
}

impl Terms<'_> {
    /// Warns about the new terms whose event was not kept because it arrived before data a
    /// whole history older than it (input out of time order by more than the history).
    fn warn_unkept(&self, rule: &Rule, earliest: DateTime<Utc>) {
        let history = self.new_terms.history.delta();
        let unkept = self
            .runs
            .values()
            .flatten()
            .filter(|r| r.event.is_none() && !r.identity.is_empty())
            .filter(|r| r.first - history >= earliest)
            .count();
        if unkept > 0 {
            tracing::warn!(
                rule = %rule.meta.id,
                "{unkept} new terms not alerted on: their events came before older data (the input is out of time order by more than the history); scan files in time order"
            );
        }
    }
}

/// What a new terms rule carries from one scan of files to the next (`scan --state`): per term,
/// the times of its runs — no events: they were judged by the scan that saw them. Runs that
/// ended more than two histories before the latest one are dropped, so the state holds the
/// terms of the last two histories at most.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Carried {
    /// The rule's new terms fields, in order (a rule whose fields changed starts afresh).
    pub fields: Vec<String>,
    /// The rule's history (likewise).
    pub history: String,
    /// The earliest event time seen: where the data, and so the learning, began.
    pub earliest: Option<DateTime<Utc>>,
    /// Per term, its runs as `[first, last]`.
    pub terms: Vec<(GroupKey, Vec<[DateTime<Utc>; 2]>)>,
}

impl Terms<'_> {
    /// What to carry to the next scan.
    pub fn carry(&self) -> Carried {
        let history = self.new_terms.history.delta();
        let latest = self.runs.values().flatten().map(|r| r.last).max();
        let keep = |r: &&Run| latest.is_none_or(|l| r.last + history + history >= l);
        let mut terms: Vec<(GroupKey, Vec<[DateTime<Utc>; 2]>)> = self
            .runs
            .iter()
            .map(|(term, runs)| {
                let kept = runs.iter().filter(keep).map(|r| [r.first, r.last]);
                (term.clone(), kept.collect::<Vec<_>>())
            })
            .filter(|(_, runs)| !runs.is_empty())
            .collect();
        terms.sort();
        Carried {
            fields: self.new_terms.field_names(),
            history: self.new_terms.history.to_string(),
            earliest: self.earliest,
            terms,
        }
    }

    /// Starts from what an earlier scan carried: its terms are known, its runs judged. Refused
    /// when the rule's fields or history changed since.
    pub fn resume(&mut self, carried: Carried) -> Result<(), String> {
        if carried.fields != self.new_terms.field_names()
            || carried.history != self.new_terms.history.to_string()
        {
            return Err(format!(
                "it was saved for new terms {} over {}, the rule now has {}",
                carried.fields.join(" + "),
                carried.history,
                self.new_terms
            ));
        }
        self.earliest = match (self.earliest, carried.earliest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        for (term, runs) in carried.terms {
            let known = runs.into_iter().map(|[first, last]| Run {
                first,
                last,
                identity: String::new(),
                event: None,
            });
            self.runs.entry(term).or_default().extend(known);
        }
        Ok(())
    }
}

/// Which of a batch of a window's terms occurred in the history documents a cluster search
/// pages through (judged in Rust), each within its own history range.
#[derive(Debug)]
pub struct History<'r> {
    new_terms: &'r NewTerms,
    ranges: HashMap<GroupKey, Window>,
    seen: HashSet<GroupKey>,
}

impl<'r> History<'r> {
    /// Watches for `batch`'s terms, each in its `range` before `before`.
    pub fn new(rule: &'r Rule, batch: &[FirstOccurrence], before: DateTime<Utc>) -> Option<Self> {
        Some(History {
            new_terms: rule.new_terms.as_ref()?,
            ranges: batch
                .iter()
                .map(|(term, first)| (term.clone(), range_of(rule, *first, before)))
                .collect(),
            seen: HashSet::new(),
        })
    }

    /// Notes the terms of a matching history document at time `t`.
    pub fn observe(&mut self, event: &Event, t: DateTime<Utc>) {
        for term in self.new_terms.terms(event) {
            let within = self
                .ranges
                .get(&term)
                .is_some_and(|r| r.start <= t && t < r.end);
            if within {
                self.seen.insert(term);
            }
        }
    }

    /// The terms seen.
    pub fn seen(self) -> HashSet<GroupKey> {
        self.seen
    }
}

/// One occurrence of a term: its time, its event's alert identity, and the event when it is to
/// be kept.
struct Occurrence<'e> {
    t: DateTime<Utc>,
    identity: &'e str,
    event: Option<&'e Event>,
}

/// Adds an occurrence to a term's runs (sorted by time): runs it falls within `history` of
/// merge with it into one, whose first event is the earliest (then the smaller identity). The
/// event is copied only when it becomes a run's first.
fn insert(runs: &mut Vec<Run>, history: TimeDelta, occurrence: &Occurrence<'_>) {
    let t = occurrence.t;
    let touches = |r: &Run| r.first - history <= t && t <= r.last + history;
    let (mut touched, mut kept): (Vec<Run>, Vec<Run>) = runs.drain(..).partition(touches);
    touched.sort_by(|a, b| (a.first, &a.identity).cmp(&(b.first, &b.identity)));
    let last = touched.iter().map(|r| r.last).fold(t, DateTime::max);
    let merged = match touched.into_iter().next() {
        Some(earliest)
            if (earliest.first, earliest.identity.as_str()) <= (t, occurrence.identity) =>
        {
            Run { last, ..earliest }
        }
        _ => Run {
            first: t,
            last,
            identity: occurrence.identity.to_string(),
            event: occurrence.event.map(Event::keep),
        },
    };
    let at = kept.partition_point(|r| r.first < merged.first);
    kept.insert(at, merged);
    *runs = kept;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::path::FieldPath;
    use crate::event::Origin;
    use crate::rule::condition::Field;
    use crate::time::Span;
    use serde_json::json;

    fn new_terms(history: &str) -> NewTerms {
        NewTerms {
            fields: vec![Field::Path(FieldPath::parse("sourceIPAddress").unwrap())],
            history: Span::parse(history).unwrap(),
        }
    }

    fn event(id: &str, ip: &str, time: &str) -> Event {
        Event::from_cloudtrail(
            json!({"eventID": id, "sourceIPAddress": ip, "eventTime": time}),
            Origin::Inline(id.to_string().into()),
        )
    }

    fn found(terms: Terms<'_>, known_before: &[&str]) -> Vec<(String, String)> {
        terms
            .new_terms(|term, _| !known_before.contains(&term[0].as_str()))
            .into_iter()
            .map(|n| (n.term[0].clone(), n.event.event_id().unwrap().to_string()))
            .collect()
    }

    #[test]
    fn a_term_is_new_again_after_a_whole_history_of_absence_whatever_the_order() {
        let nt = new_terms("1d");
        let events = [
            event("a1", "1.1.1.1", "2026-03-01T00:00:00Z"),
            event("a2", "1.1.1.1", "2026-03-01T20:00:00Z"),
            event("a3", "1.1.1.1", "2026-03-02T19:00:00Z"), // within a day of a2
            event("a4", "1.1.1.1", "2026-03-04T00:00:00Z"), // more than a day after a3: new
            event("b1", "2.2.2.2", "2026-03-02T00:00:00Z"),
        ];
        let expected = vec![
            ("1.1.1.1".to_string(), "a1".to_string()),
            ("2.2.2.2".to_string(), "b1".to_string()),
            ("1.1.1.1".to_string(), "a4".to_string()),
        ];
        for order in [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 3, 1]] {
            let mut terms = Terms::new(&nt);
            for i in order {
                assert!(terms.add(&events[i]));
            }
            assert_eq!(found(terms, &[]), expected, "order {order:?}");
        }
    }

    #[test]
    fn the_first_run_asks_the_history_and_equal_times_pick_one_event() {
        let nt = new_terms("1h");
        let mut terms = Terms::new(&nt);
        for e in [
            event("z", "1.1.1.1", "2026-03-01T10:00:00Z"),
            event("y", "1.1.1.1", "2026-03-01T10:00:00Z"),
            event("c", "3.3.3.3", "2026-03-01T10:30:00Z"),
        ] {
            terms.add(&e);
        }
        let got = found(terms, &["3.3.3.3"]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "1.1.1.1");
        // The smaller identity of the two events at 10:00 is the same whichever came first.
        let mut reversed = Terms::new(&nt);
        reversed.add(&event("y", "1.1.1.1", "2026-03-01T10:00:00Z"));
        reversed.add(&event("z", "1.1.1.1", "2026-03-01T10:00:00Z"));
        assert_eq!(found(reversed, &[]), got);
    }

    #[test]
    fn a_later_scan_resumes_what_an_earlier_one_carried() {
        let nt = new_terms("1d");
        let mut first = Terms::new(&nt);
        first.add(&event("a1", "1.1.1.1", "2026-03-01T00:00:00Z"));
        first.add(&event("b1", "2.2.2.2", "2026-03-02T06:00:00Z"));
        let carried = first.carry();
        // Through JSON, as the state file holds it.
        let carried: Carried =
            serde_json::from_str(&serde_json::to_string(&carried).unwrap()).unwrap();
        let mut second = Terms::new(&nt);
        second.resume(carried.clone()).unwrap();
        second.add(&event("a2", "1.1.1.1", "2026-03-01T20:00:00Z")); // within a day of a1
        second.add(&event("b2", "2.2.2.2", "2026-03-02T07:00:00Z")); // b1's run: judged before
        second.add(&event("c1", "3.3.3.3", "2026-03-02T08:00:00Z"));
        assert_eq!(
            found(second, &[]),
            [("3.3.3.3".to_string(), "c1".to_string())]
        );

        let other = new_terms("2d");
        let error = Terms::new(&other).resume(carried).unwrap_err();
        assert!(error.contains("over 1d"), "{error}");
    }

    #[test]
    fn files_learn_during_the_first_history() {
        let nt = new_terms("1d");
        let mut terms = Terms::learning(&nt);
        for e in [
            event("a1", "1.1.1.1", "2026-03-01T00:00:00Z"),
            event("b1", "2.2.2.2", "2026-03-01T12:00:00Z"), // within the first day: learnt
            event("c1", "3.3.3.3", "2026-03-02T00:00:00Z"), // a whole day of data before it
            event("a2", "1.1.1.1", "2026-03-02T00:00:00Z"), // seen exactly a day before: known
        ] {
            terms.add(&e);
        }
        let kept = terms.runs.values().flatten().filter(|r| r.event.is_some());
        assert_eq!(kept.count(), 1, "only the event that can be new is kept");
        let rule_dir = tempfile::tempdir().unwrap();
        let path = rule_dir.path().join("r.toml");
        std::fs::write(
            &path,
            "id = \"r\"\nname = \"n\"\nseverity = \"low\"\ndescription = \"d\"\n\n\
             [detection]\nkql = 'event.action: X'\n\n[alert]\ntitle = \"t\"\n\n\
             [new_terms]\nfields = [\"sourceIPAddress\"]\nhistory_window_start = \"now-1d\"\n",
        )
        .unwrap();
        let rule = crate::rule::load_file(&path).unwrap();
        let alerts = terms.file_alerts(&rule, Utc::now());
        let got: Vec<&str> = alerts.iter().map(|(t, _)| t[0].as_str()).collect();
        assert_eq!(got, ["3.3.3.3"]);
        assert_eq!(
            alerts[0].1.doc["eshunt"]["new_terms"]["fields"]["sourceIPAddress"],
            "3.3.3.3"
        );
    }
}
