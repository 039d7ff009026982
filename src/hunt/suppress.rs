//! Tracking a suppressing rule's matches per period and group, in memory bounded by the groups
//! and periods seen: the group's first event (kept whole, for its alert), how many events
//! matched, the last time — and, over a cluster window, how many matched in each slice of the
//! window (what keeps the stored alert's count exact whichever windows count it, see
//! [`crate::sink::merge`]). Used on files (the whole run) and over one cluster window.
//!
//! The first event is the earliest by event time; between events of the same time, the one
//! whose own alert id is smaller — so every run picks the same one, whatever order it reads
//! events in.

use crate::alert::{alert_id, identity};
use crate::event::Event;
use crate::rule::group::GroupKey;
use crate::rule::suppress::{Suppressed, Suppression};
use crate::rule::Rule;
use crate::source::elasticsearch::Hit;
use crate::time::{Span, Window};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{BTreeMap, HashMap};

/// The width of the slices a cluster window's matches are counted in, aligned to the epoch on
/// the rule's time field: two runs whose windows overlap by at least this much count the
/// overlap once (their slices there are equal or one holds the other).
pub const SLICE: TimeDelta = TimeDelta::minutes(1);

/// What is known of one group in one period.
struct Entry {
    first: Event,
    /// The first event's own alert id.
    first_id: String,
    first_at: DateTime<Utc>,
    matches: u64,
    last: DateTime<Utc>,
    slices: BTreeMap<Window, u64>,
}

/// One group's matches in one period, as tracked.
pub struct Group {
    /// Period, group, matches, first and last times.
    pub seen: Suppressed,
    /// The first event.
    pub first: Event,
    /// Matches per slice of the cluster window (none on files).
    pub slices: BTreeMap<Window, u64>,
}

/// The matches of one suppressing rule, per period and group.
pub struct Tracker<'r> {
    suppression: &'r Suppression,
    rule_id: &'r str,
    groups: HashMap<(Window, GroupKey), Entry>,
}

impl<'r> Tracker<'r> {
    /// An empty tracker for `rule_id`'s `suppression`.
    pub fn new(rule_id: &'r str, suppression: &'r Suppression) -> Tracker<'r> {
        Tracker {
            suppression,
            rule_id,
            groups: HashMap::new(),
        }
    }

    /// Counts a matching event in the period of its time, in each of its groups, and in
    /// `slice` of the cluster window when given. False when it cannot be suppressed — no event
    /// time, or a `by` field absent — and then it is not counted: it gets its own alert.
    pub fn add(&mut self, event: &Event, slice: Option<Window>) -> bool {
        let Some(at) = event.time() else {
            return false;
        };
        let groups = self.suppression.groups(event);
        if groups.is_empty() {
            return false;
        }
        let period = self.suppression.period_of(at);
        for group in groups {
            match self.groups.get_mut(&(period, group.clone())) {
                Some(entry) => entry.add(self.rule_id, event, at, slice),
                None => {
                    let entry = Entry::new(self.rule_id, event, at, slice);
                    self.groups.insert((period, group), entry);
                }
            }
        }
        true
    }

    /// The groups seen, by period then group values.
    pub fn finish(self) -> Vec<Group> {
        let mut out: Vec<Group> = self
            .groups
            .into_iter()
            .map(|((period, group), e)| Group {
                seen: Suppressed {
                    period,
                    group,
                    matches: e.matches,
                    first: e.first_at,
                    last: e.last,
                },
                first: e.first,
                slices: e.slices,
            })
            .collect();
        out.sort_by(|a, b| (a.seen.period, &a.seen.group).cmp(&(b.seen.period, &b.seen.group)));
        out
    }
}

impl Entry {
    fn new(rule_id: &str, event: &Event, at: DateTime<Utc>, slice: Option<Window>) -> Entry {
        let mut entry = Entry {
            first: event.clone(),
            first_id: alert_id(rule_id, &identity(event)),
            first_at: at,
            matches: 0,
            last: at,
            slices: BTreeMap::new(),
        };
        entry.count(at, slice);
        entry
    }

    fn add(&mut self, rule_id: &str, event: &Event, at: DateTime<Utc>, slice: Option<Window>) {
        if at <= self.first_at {
            let id = alert_id(rule_id, &identity(event));
            if at < self.first_at || id < self.first_id {
                self.first = event.clone();
                self.first_id = id;
                self.first_at = at;
            }
        }
        self.count(at, slice);
    }

    fn count(&mut self, at: DateTime<Utc>, slice: Option<Window>) {
        self.matches += 1;
        self.last = self.last.max(at);
        if let Some(slice) = slice {
            *self.slices.entry(slice).or_default() += 1;
        }
    }
}

/// When a hit was seen on its rule's time field (its window is searched on it): `event.ingested`
/// or `@timestamp`, from the doc values every search asks for, with the rule's fallback for
/// documents without the field. None for other time fields.
pub fn seen_at(rule: &Rule, hit: &Hit) -> Option<DateTime<Utc>> {
    let value = |field: &str| match field {
        "event.ingested" => hit.ingested_ms,
        "@timestamp" => hit.timestamp_ms,
        _ => None,
    };
    let source = &rule.source;
    let ms = match source.timestamp_field.as_str() {
        "event.ingested" | "@timestamp" => value(&source.timestamp_field)
            .or_else(|| source.timestamp_fallback.as_deref().and_then(value)),
        _ => None,
    }?;
    DateTime::from_timestamp_millis(ms)
}

/// The slice of `window` a hit seen at `at` on the rule's time field is counted in: the
/// epoch-aligned [`SLICE`] holding it, cut to the window — or the whole window when its time is
/// unknown.
pub fn slice_of(window: Window, at: Option<DateTime<Utc>>) -> Window {
    let Some(at) = at.filter(|t| *t >= window.start && *t < window.end) else {
        return window;
    };
    let aligned = Window::aligned(at, Span::from_delta(SLICE));
    Window {
        start: aligned.start.max(window.start),
        end: aligned.end.min(window.end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::path::FieldPath;
    use crate::event::Origin;
    use crate::rule::condition::Field;
    use crate::time::parse_timestamp;
    use serde_json::{json, Value};

    fn t(text: &str) -> DateTime<Utc> {
        parse_timestamp(text).unwrap()
    }

    fn event(id: &str, user: Value, time: &str) -> Event {
        Event::from_cloudtrail(
            json!({"eventID": id, "eventName": "ConsoleLogin", "eventTime": time,
                   "userIdentity": {"arn": user}}),
            Origin::Inline(id.to_string().into()),
        )
    }

    fn by_user() -> Suppression {
        Suppression {
            by: vec![Field::Path(FieldPath::parse("userIdentity.arn").unwrap())],
            period: Span::parse("1h").unwrap(),
        }
    }

    fn seen(tracker: Tracker<'_>) -> Vec<(String, Vec<String>, u64, String, String, String)> {
        tracker
            .finish()
            .into_iter()
            .map(|g| {
                let s = g.seen;
                let first = g.first.event_id().unwrap_or_default().to_string();
                let start = crate::time::format(s.period.start);
                (
                    start,
                    s.group,
                    s.matches,
                    first,
                    crate::time::format(s.first),
                    crate::time::format(s.last),
                )
            })
            .collect()
    }

    #[test]
    fn a_group_keeps_its_first_event_its_count_and_its_last_time_per_period() {
        let events = [
            event("b", json!("alice"), "2026-03-14T10:20:00Z"),
            event("a", json!("alice"), "2026-03-14T10:05:00Z"),
            event("c", json!("alice"), "2026-03-14T10:59:59Z"),
            event("d", json!("alice"), "2026-03-14T11:00:00Z"), // the next period
            event("e", json!("bob"), "2026-03-14T10:30:00Z"),
        ];
        let suppression = by_user();
        let mut forward = Tracker::new("r", &suppression);
        let mut backward = Tracker::new("r", &suppression);
        for e in &events {
            assert!(forward.add(e, None));
        }
        for e in events.iter().rev() {
            assert!(backward.add(e, None));
        }
        let expected = vec![
            (
                "2026-03-14T10:00:00.000Z".into(),
                vec!["alice".into()],
                3,
                "a".into(),
                "2026-03-14T10:05:00.000Z".into(),
                "2026-03-14T10:59:59.000Z".into(),
            ),
            (
                "2026-03-14T10:00:00.000Z".into(),
                vec!["bob".into()],
                1,
                "e".into(),
                "2026-03-14T10:30:00.000Z".into(),
                "2026-03-14T10:30:00.000Z".into(),
            ),
            (
                "2026-03-14T11:00:00.000Z".into(),
                vec!["alice".into()],
                1,
                "d".into(),
                "2026-03-14T11:00:00.000Z".into(),
                "2026-03-14T11:00:00.000Z".into(),
            ),
        ];
        assert_eq!(seen(forward), expected);
        assert_eq!(seen(backward), expected, "the same whatever the order");
    }

    #[test]
    fn between_events_of_the_same_time_the_smaller_alert_id_comes_first() {
        let suppression = by_user();
        let same_time: Vec<Event> = ["x", "y", "z"]
            .iter()
            .map(|id| event(id, json!("alice"), "2026-03-14T10:00:00Z"))
            .collect();
        let smallest = same_time
            .iter()
            .min_by_key(|e| alert_id("r", &identity(e)))
            .and_then(|e| e.event_id())
            .unwrap()
            .to_string();
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
            let mut tracker = Tracker::new("r", &suppression);
            for i in order {
                tracker.add(&same_time[i], None);
            }
            assert_eq!(seen(tracker)[0].3, smallest, "order {order:?}");
        }
    }

    #[test]
    fn events_without_the_by_field_or_a_time_are_not_suppressed() {
        let suppression = by_user();
        let mut tracker = Tracker::new("r", &suppression);
        let no_user = Event::from_cloudtrail(
            json!({"eventID": "n", "eventTime": "2026-03-14T10:00:00Z"}),
            Origin::Inline("n".into()),
        );
        let no_time = Event::from_cloudtrail(
            json!({"eventID": "m", "userIdentity": {"arn": "alice"}}),
            Origin::Inline("m".into()),
        );
        assert!(!tracker.add(&no_user, None));
        assert!(!tracker.add(&event("o", Value::Null, "2026-03-14T10:00:00Z"), None));
        assert!(!tracker.add(&no_time, None));
        assert!(tracker.finish().is_empty());
    }

    #[test]
    fn a_multi_valued_field_counts_the_event_in_each_of_its_groups() {
        let suppression = by_user();
        let mut tracker = Tracker::new("r", &suppression);
        tracker.add(
            &event("a", json!(["alice", "bob"]), "2026-03-14T10:00:00Z"),
            None,
        );
        tracker.add(&event("b", json!("bob"), "2026-03-14T10:01:00Z"), None);
        let groups: Vec<(Vec<String>, u64)> =
            seen(tracker).into_iter().map(|s| (s.1, s.2)).collect();
        assert_eq!(
            groups,
            vec![(vec!["alice".to_string()], 1), (vec!["bob".to_string()], 2)]
        );
    }

    #[test]
    fn matches_are_counted_per_slice_of_the_window() {
        let window = Window {
            start: t("2026-03-14T10:04:30Z"),
            end: t("2026-03-14T10:09:30Z"),
        };
        let head = slice_of(window, Some(t("2026-03-14T10:04:45Z")));
        assert_eq!(
            (head.start, head.end),
            (window.start, t("2026-03-14T10:05:00Z"))
        );
        let middle = slice_of(window, Some(t("2026-03-14T10:06:59.999Z")));
        assert_eq!(
            (middle.start, middle.end),
            (t("2026-03-14T10:06:00Z"), t("2026-03-14T10:07:00Z"))
        );
        let tail = slice_of(window, Some(t("2026-03-14T10:09:00Z")));
        assert_eq!(
            (tail.start, tail.end),
            (t("2026-03-14T10:09:00Z"), window.end)
        );
        assert_eq!(slice_of(window, None), window);
        assert_eq!(slice_of(window, Some(t("2026-03-14T11:00:00Z"))), window);

        let suppression = by_user();
        let mut tracker = Tracker::new("r", &suppression);
        tracker.add(
            &event("a", json!("alice"), "2026-03-14T10:00:00Z"),
            Some(head),
        );
        tracker.add(
            &event("b", json!("alice"), "2026-03-14T10:01:00Z"),
            Some(head),
        );
        tracker.add(
            &event("c", json!("alice"), "2026-03-14T10:02:00Z"),
            Some(tail),
        );
        let group = tracker.finish().remove(0);
        assert_eq!(group.seen.matches, 3);
        assert_eq!(group.slices, BTreeMap::from([(head, 2), (tail, 1)]));
    }
}
