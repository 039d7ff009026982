//! What a rule that counts or remembers keeps across the events of a run over files (and of a
//! rule test's sequence): a threshold rule's counts, a new terms rule's terms, a suppressed
//! rule's groups. Events are added as they match; the alerts come out at the end, when every
//! event has been seen.

use crate::alert::{self, Alert};
use crate::event::{Event, Kept};
use crate::hunt::new_terms::{Carried, Terms};
use crate::hunt::suppress::Tracker;
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
    /// A suppressing rule's groups per period, and the events that cannot be suppressed (no
    /// `by` value, no time), kept as text for their own alerts.
    Suppression(Tracker<'r>, Vec<Kept>),
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
        if let Some(suppression) = &rule.suppress {
            let tracker = Tracker::new(&rule.meta.id, suppression);
            return Some(Memory::Suppression(tracker, Vec::new()));
        }
        None
    }

    /// Remembers a matching event, placed by its own time; false when it has none (it cannot be
    /// placed, and is left out). A suppressing rule keeps such an event, and one without a
    /// group, for its own alert.
    pub fn add(&mut self, event: &Event) -> bool {
        match self {
            Memory::Threshold(counter) => counter.add(event),
            Memory::NewTerms(terms) => terms.add(event),
            Memory::Suppression(tracker, unsuppressed) => {
                if !tracker.add(event, None) {
                    unsuppressed.push(event.keep());
                }
                true
            }
        }
    }

    /// What the rule carries to a later scan of files (`scan --state`): a new terms rule's known
    /// terms. Other rules carry nothing (their buckets and periods are judged within one run).
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

    /// The alerts of the run, in a stable order (a suppressing rule's own alerts of the events
    /// it could not suppress come last, with no group values and a count of 1).
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
            Memory::Suppression(tracker, unsuppressed) => {
                let groups = tracker.finish().into_iter().map(|g| Remembered {
                    alert: alert::suppressed(rule, &g.first, &g.seen, now),
                    group: g.seen.group,
                    count: g.seen.matches,
                });
                let own = unsuppressed.iter().map(|kept| Remembered {
                    alert: alert::build(rule, &kept.event(), now),
                    group: GroupKey::new(),
                    count: 1,
                });
                groups.chain(own).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule() -> Rule {
        let text = r#"
id = "t.suppress"
name = "t"
version = 1
severity = "low"
description = "t"
[detection]
kql = "event.action: ConsoleLogin"
[suppress]
by = ["userIdentity.arn"]
for = "1h"
[alert]
title = "{eventName}"
"#;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, text).unwrap();
        crate::rule::load_file(&path).unwrap()
    }

    fn login(id: &str, user: Option<&str>, time: &str) -> Event {
        let mut record = json!({"eventID": id, "eventName": "ConsoleLogin", "eventTime": time});
        if let Some(user) = user {
            record["userIdentity"] = json!({"arn": user});
        }
        Event::from_cloudtrail(record, crate::event::Origin::Inline(id.to_string().into()))
    }

    #[test]
    fn a_suppressing_rule_reads_what_identifies_an_event() {
        // A cluster search fetches only these: ties between first events are broken by alert
        // ids, which must be those of the whole documents.
        let paths = rule().condition_paths();
        for path in alert::IDENTITY_PATHS {
            assert!(paths.iter().any(|p| p == path), "{path} in {paths:?}");
        }
    }

    #[test]
    fn a_group_alerts_once_per_period_and_the_others_alone() {
        let rule = rule();
        let mut memory = Memory::for_rule(&rule).unwrap();
        for event in [
            login("a2", Some("alice"), "2026-03-14T10:40:00Z"),
            login("a1", Some("alice"), "2026-03-14T10:10:00Z"),
            login("a3", Some("alice"), "2026-03-14T10:50:00Z"),
            login("a4", Some("alice"), "2026-03-14T11:05:00Z"),
            login("x1", None, "2026-03-14T10:20:00Z"),
            login("x2", None, "2026-03-14T10:21:00Z"),
        ] {
            assert!(memory.add(&event));
        }
        let now = crate::time::parse_timestamp("2026-03-15T00:00:00Z").unwrap();
        let out = memory.finish(&rule, now);
        let got: Vec<(Vec<String>, u64)> = out.iter().map(|r| (r.group.clone(), r.count)).collect();
        let alice = || vec!["alice".to_string()];
        assert_eq!(
            got,
            vec![(alice(), 3), (alice(), 1), (vec![], 1), (vec![], 1)]
        );

        let first = &out[0].alert;
        let suppressed = &first.doc["eshunt"]["suppressed"];
        assert_eq!(first.doc["event"]["id"], "a1", "the first event's alert");
        assert_eq!(suppressed["count"], 2);
        assert_eq!(suppressed["first"], "2026-03-14T10:10:00.000Z");
        assert_eq!(suppressed["last"], "2026-03-14T10:50:00.000Z");
        assert_eq!(
            suppressed["period"],
            json!(["2026-03-14T10:00:00.000Z", "2026-03-14T11:00:00.000Z"])
        );
        assert_eq!(suppressed["group"], json!({"userIdentity.arn": "alice"}));
        let own = alert::build(
            &rule,
            &login("a1", Some("alice"), "2026-03-14T10:10:00Z"),
            now,
        );
        assert_eq!(suppressed["first_id"], own.id.as_str());
        assert_eq!(first.doc["eshunt"]["alert_id"], first.id.as_str());
        assert_ne!(first.id, own.id);
        assert_eq!(out[1].alert.doc["eshunt"]["suppressed"]["count"], 0);
        for unsuppressed in &out[2..] {
            assert!(unsuppressed.alert.doc["eshunt"]["suppressed"].is_null());
        }
        let x1 = alert::build(&rule, &login("x1", None, "2026-03-14T10:20:00Z"), now);
        assert_eq!(out[2].alert.id, x1.id, "its ordinary alert");
    }
}
