//! Counting a threshold rule's matches per bucket and group, in bounded memory per group: a
//! count, first and last time, a few sample locations, and at most as many distinct values of
//! the cardinality field as the rule asks for (or [`DISTINCT_KEPT`], whichever is larger).
//! Used on files (buckets by event time) and on cluster hits (the bucket being judged).

use crate::event::Event;
use crate::rule::group::GroupKey;
use crate::rule::threshold::{Crossing, Threshold, SAMPLES};
use crate::time::Window;
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};

/// Distinct values kept per group at least (the alert reports how many, up to this).
const DISTINCT_KEPT: u64 = 100;

/// What is known of one group in one bucket.
#[derive(Debug, Clone)]
struct Stats {
    count: u64,
    distinct: BTreeSet<String>,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    samples: Vec<String>,
}

/// Matches of one threshold rule, per bucket and group.
#[derive(Debug)]
pub struct Counter<'r> {
    threshold: &'r Threshold,
    /// Distinct values kept per group (0 without a distinct count).
    distinct_kept: usize,
    groups: HashMap<(Window, GroupKey), Stats>,
}

impl<'r> Counter<'r> {
    /// An empty counter for `threshold`.
    pub fn new(threshold: &'r Threshold) -> Counter<'r> {
        Counter {
            threshold,
            distinct_kept: threshold
                .cardinality
                .as_ref()
                .map_or(0, |c| c.min.max(DISTINCT_KEPT)) as usize,
            groups: HashMap::new(),
        }
    }

    /// Counts a matching event in the bucket of its own time (files). An event without a time
    /// cannot be placed: false.
    pub fn add(&mut self, event: &Event) -> bool {
        match event.time() {
            Some(t) => {
                self.add_in(self.threshold.bucket(t), event, t);
                true
            }
            None => false,
        }
    }

    /// Counts a matching event, at time `t`, in `bucket` (the bucket a cluster search covers).
    pub fn add_in(&mut self, bucket: Window, event: &Event, t: DateTime<Utc>) {
        let keep = self.distinct_kept;
        let distinct = self.threshold.distinct_values(event);
        for group in self.threshold.groups(event) {
            let stats = self.groups.entry((bucket, group)).or_insert_with(|| Stats {
                count: 0,
                distinct: BTreeSet::new(),
                first: t,
                last: t,
                samples: Vec::new(),
            });
            stats.count += 1;
            stats.first = stats.first.min(t);
            stats.last = stats.last.max(t);
            for value in &distinct {
                if stats.distinct.len() < keep {
                    stats.distinct.insert(value.clone());
                }
            }
            if stats.samples.len() < SAMPLES {
                stats.samples.push(event.origin().to_string());
            }
        }
    }

    /// The groups that reached the threshold, by bucket then group.
    pub fn crossings(self) -> Vec<Crossing> {
        let threshold = self.threshold;
        let mut out: Vec<Crossing> = self
            .groups
            .into_iter()
            .filter(|(_, s)| s.count >= threshold.count)
            .filter(|(_, s)| {
                threshold
                    .cardinality
                    .as_ref()
                    .is_none_or(|c| s.distinct.len() as u64 >= c.min)
            })
            .map(|((bucket, group), s)| Crossing {
                bucket,
                group,
                count: s.count,
                distinct: threshold
                    .cardinality
                    .as_ref()
                    .map(|_| s.distinct.len() as u64),
                first: s.first,
                last: s.last,
                samples: s.samples,
            })
            .collect();
        out.sort_by(|a, b| (a.bucket, &a.group).cmp(&(b.bucket, &b.group)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::path::FieldPath;
    use crate::event::Origin;
    use crate::rule::condition::Field;
    use crate::rule::threshold::Cardinality;
    use crate::time::Span;
    use serde_json::json;

    fn event(user: &str, ip: &str, time: &str) -> Event {
        Event::from_cloudtrail(
            json!({"userIdentity": {"arn": user}, "sourceIPAddress": ip, "eventTime": time}),
            Origin::Inline(format!("{user}@{time}").into()),
        )
    }

    fn field(path: &str) -> Field {
        Field::Path(FieldPath::parse(path).unwrap())
    }

    #[test]
    fn groups_reaching_count_and_cardinality_within_a_bucket_cross() {
        let threshold = Threshold {
            group_by: vec![field("userIdentity.arn")],
            count: 3,
            cardinality: Some(Cardinality {
                field: field("sourceIPAddress"),
                min: 2,
            }),
            window: Span::parse("1h").unwrap(),
        };
        let mut counter = Counter::new(&threshold);
        for (user, ip, time) in [
            ("a", "1.1.1.1", "2026-03-14T10:01:00Z"),
            ("a", "1.1.1.1", "2026-03-14T10:02:00Z"),
            ("a", "2.2.2.2", "2026-03-14T10:59:00Z"),
            ("a", "2.2.2.2", "2026-03-14T11:00:00Z"), // the next bucket
            ("b", "1.1.1.1", "2026-03-14T10:01:00Z"),
            ("b", "1.1.1.1", "2026-03-14T10:02:00Z"),
            ("b", "1.1.1.1", "2026-03-14T10:03:00Z"), // one address only
        ] {
            assert!(counter.add(&event(user, ip, time)));
        }
        let crossings = counter.crossings();
        assert_eq!(crossings.len(), 1, "{crossings:?}");
        let c = &crossings[0];
        assert_eq!(c.group, vec!["a"]);
        assert_eq!((c.count, c.distinct), (3, Some(2)));
        assert_eq!(
            c.first,
            crate::time::parse_timestamp("2026-03-14T10:01:00Z").unwrap()
        );
        assert_eq!(
            c.last,
            crate::time::parse_timestamp("2026-03-14T10:59:00Z").unwrap()
        );
        assert_eq!(c.samples.len(), 3);
    }
}
