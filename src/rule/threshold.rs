//! Threshold rules: a rule that fires once per group of events, when the events that pass its
//! prefilter and condition within one time bucket reach a count (and, optionally, a number of
//! distinct values of a field) — Elastic's threshold rules, and Panther's `Threshold` (N
//! matches of one dedup key within the dedup period).
//!
//! Buckets are fixed and aligned to the Unix epoch: `[k·window, (k+1)·window)` on the rule's
//! time field. A bucket is judged once, whole, by the run whose window holds its end — so live
//! runs, retries, overlapping look-backs and backfills all judge the same buckets over the same
//! events, and alert ids (rule, bucket, group) never repeat.

use super::condition::Field;
use super::group::{combinations, names, values, GroupKey};
use crate::event::Event;
use crate::time::{Span, Window};
use chrono::{DateTime, Utc};

/// A rule's `[threshold]`.
#[derive(Debug, Clone)]
pub struct Threshold {
    /// Fields whose values make a group (none: one group per bucket).
    pub group_by: Vec<Field>,
    /// Events a group needs in one bucket.
    pub count: u64,
    /// Distinct values of a field a group also needs, when given.
    pub cardinality: Option<Cardinality>,
    /// The bucket length.
    pub window: Span,
}

/// A distinct-count requirement: at least `min` different values of `field`.
#[derive(Debug, Clone)]
pub struct Cardinality {
    /// The field counted.
    pub field: Field,
    /// Distinct values needed.
    pub min: u64,
}

/// Sample event locations an alert names per group.
pub const SAMPLES: usize = 5;

impl Threshold {
    /// The bucket holding `t`.
    pub fn bucket(&self, t: DateTime<Utc>) -> Window {
        Window::aligned(t, self.window)
    }

    /// The buckets whose end lies in `(window.start, window.end]`: those a run over `window`
    /// judges. Consecutive windows judge every bucket exactly once.
    pub fn buckets_ending_in(&self, window: Window) -> Vec<Window> {
        let width = self.window.delta();
        let mut bucket = self.bucket(window.start);
        let mut out = Vec::new();
        while bucket.end <= window.end {
            if bucket.end > window.start {
                out.push(bucket);
            }
            bucket = Window {
                start: bucket.end,
                end: bucket.end + width,
            };
        }
        out
    }

    /// The groups an event belongs to (see [`combinations`]).
    pub fn groups(&self, event: &Event) -> Vec<GroupKey> {
        combinations(&self.group_by, event)
    }

    /// The values of the distinct-count field in an event.
    pub fn distinct_values(&self, event: &Event) -> Vec<String> {
        self.cardinality
            .as_ref()
            .map(|c| values(&c.field, event))
            .unwrap_or_default()
    }

    /// The group fields' names, in order.
    pub fn group_names(&self) -> Vec<String> {
        names(&self.group_by)
    }
}

impl std::fmt::Display for Threshold {
    /// `6 events (4 distinct eventName) per userIdentity.arn, in 10m buckets`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} events", self.count)?;
        if let Some(c) = &self.cardinality {
            write!(f, " ({} distinct {})", c.min, c.field.name())?;
        }
        if !self.group_by.is_empty() {
            write!(f, " per {}", self.group_names().join(" + "))?;
        }
        write!(f, ", in {} buckets", self.window)
    }
}

/// A group that reached the threshold in a bucket: what its alert says.
#[derive(Debug, Clone, PartialEq)]
pub struct Crossing {
    /// The bucket.
    pub bucket: Window,
    /// The group's values, in `group_by` order.
    pub group: GroupKey,
    /// Events of the group in the bucket.
    pub count: u64,
    /// Distinct values of the cardinality field (when the rule has one).
    pub distinct: Option<u64>,
    /// Time of the first and last event.
    pub first: DateTime<Utc>,
    /// Time of the last event.
    pub last: DateTime<Utc>,
    /// Where a few of the events are (ids or file locations).
    pub samples: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::path::FieldPath;
    use crate::event::Origin;
    use chrono::TimeDelta;
    use serde_json::json;

    fn threshold(group_by: &[&str], window: &str) -> Threshold {
        Threshold {
            group_by: group_by
                .iter()
                .map(|p| Field::Path(FieldPath::parse(p).unwrap()))
                .collect(),
            count: 2,
            cardinality: None,
            window: Span::parse(window).unwrap(),
        }
    }

    fn t(text: &str) -> DateTime<Utc> {
        crate::time::parse_timestamp(text).unwrap()
    }

    #[test]
    fn buckets_are_epoch_aligned_and_judged_once_by_consecutive_windows() {
        let th = threshold(&[], "1h");
        let b = th.bucket(t("2026-03-14T10:59:59Z"));
        assert_eq!(
            (b.start, b.end),
            (t("2026-03-14T10:00:00Z"), t("2026-03-14T11:00:00Z"))
        );
        // Windows of 5 minutes tile time: each hour is judged by exactly one of them.
        let mut judged = Vec::new();
        let mut start = t("2026-03-14T09:57:00Z");
        while start < t("2026-03-14T12:03:00Z") {
            let w = Window {
                start,
                end: start + TimeDelta::minutes(5),
            };
            judged.extend(th.buckets_ending_in(w));
            start = w.end;
        }
        let starts: Vec<_> = judged.iter().map(|b| b.start).collect();
        assert_eq!(
            starts,
            vec![
                t("2026-03-14T09:00:00Z"),
                t("2026-03-14T10:00:00Z"),
                t("2026-03-14T11:00:00Z")
            ]
        );
    }

    #[test]
    fn groups_fan_out_over_arrays_and_skip_events_missing_a_field() {
        let th = threshold(&["userIdentity.arn", "resources.ARN"], "1h");
        let event = Event::from_cloudtrail(
            json!({"userIdentity": {"arn": "u"}, "resources": [{"ARN": "a"}, {"ARN": "b"}]}),
            Origin::Inline("t".into()),
        );
        assert_eq!(th.groups(&event), vec![vec!["u", "a"], vec!["u", "b"]]);
        let without = Event::from_cloudtrail(
            json!({"userIdentity": {"arn": "u"}}),
            Origin::Inline("t".into()),
        );
        assert!(th.groups(&without).is_empty());
        assert_eq!(
            threshold(&[], "1h").groups(&without),
            vec![Vec::<String>::new()]
        );
    }
}
