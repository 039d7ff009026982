//! Planning a rule's next windows from its checkpoint — pure functions, so contiguity,
//! catch-up and gap handling are tested without a cluster or a clock.
//!
//! Windows are driven by the checkpoint (the end of the last complete window), not by "now
//! minus look-back": a run covers `[checkpoint − overlap, now − settle)`, split into windows of
//! at most `max_window`. The overlap re-reads late documents; deterministic alert ids make the
//! re-reads harmless. After downtime longer than `max_catch_up`, the time before
//! `now − settle − max_catch_up` is recorded as a gap and skipped (visibly), and hunting resumes
//! from there.

use crate::time::Window;
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

/// The knobs of planning, per rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanSettings {
    /// How far back the first run looks (the rule's look-back).
    pub lookback: TimeDelta,
    /// How far each window reaches back before the checkpoint.
    pub overlap: TimeDelta,
    /// Windows end this long before now.
    pub settle: TimeDelta,
    /// Longest single window.
    pub max_window: TimeDelta,
    /// Longest catch-up; older unprocessed time becomes a gap.
    pub max_catch_up: TimeDelta,
}

/// What to do next for a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Time that will not be hunted (downtime beyond `max_catch_up`), to record as a gap.
    pub gap: Option<Window>,
    /// Windows to run, in order; contiguous, each at most `max_window` long.
    pub windows: Vec<Window>,
}

/// Plans the windows for a rule whose last complete window ended at `checkpoint` (`None` on
/// the first run), at time `now`. Window bounds are whole milliseconds, as precise as the range
/// queries and the times printed (e.g. in the backfill command `status` suggests for a gap).
pub fn plan(checkpoint: Option<DateTime<Utc>>, now: DateTime<Utc>, s: &PlanSettings) -> Plan {
    let end = (now - s.settle).trunc_subsecs(3);
    let (mut start, mut gap) = match checkpoint {
        None => (end - s.lookback, None),
        Some(cp) => (cp - s.overlap, None),
    };
    let oldest = end - s.max_catch_up;
    if let Some(cp) = checkpoint {
        if cp < oldest {
            gap = Some(Window {
                start: cp,
                end: oldest,
            });
            start = oldest - s.overlap;
        }
    }
    Plan {
        gap,
        windows: split(start, end, s.max_window),
    }
}

/// Splits `[start, end)` into contiguous windows of at most `size` (empty when `start ≥ end`).
pub fn split(start: DateTime<Utc>, end: DateTime<Utc>, size: TimeDelta) -> Vec<Window> {
    let mut windows = Vec::new();
    let mut at = start;
    while at < end {
        let next = (at + size).min(end);
        windows.push(Window {
            start: at,
            end: next,
        });
        at = next;
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_773_480_000 + minutes * 60, 0).unwrap()
    }

    fn settings() -> PlanSettings {
        PlanSettings {
            lookback: TimeDelta::minutes(6),
            overlap: TimeDelta::minutes(1),
            settle: TimeDelta::seconds(30),
            max_window: TimeDelta::hours(1),
            max_catch_up: TimeDelta::days(1),
        }
    }

    #[test]
    fn first_run_looks_back_the_rule_look_back() {
        let p = plan(None, t(100), &settings());
        assert_eq!(p.gap, None);
        assert_eq!(
            p.windows,
            vec![Window {
                start: t(94) - TimeDelta::seconds(30),
                end: t(100) - TimeDelta::seconds(30)
            }]
        );
    }

    #[test]
    fn window_bounds_and_gaps_are_whole_milliseconds() {
        let now = t(3000) + TimeDelta::nanoseconds(123_456_789);
        let p = plan(Some(t(0)), now, &settings());
        let gap = p.gap.unwrap();
        assert_eq!(gap.end.timestamp_subsec_nanos(), 123_000_000);
        let last = p.windows.last().unwrap();
        assert_eq!(last.end, now.trunc_subsecs(3) - TimeDelta::seconds(30));
        assert!(p
            .windows
            .iter()
            .all(|w| w.start.timestamp_subsec_nanos() % 1_000_000 == 0));
    }

    #[test]
    fn consecutive_runs_are_contiguous_with_overlap() {
        let s = settings();
        let mut checkpoint = None;
        let mut covered_until = None;
        for now in (100..200).step_by(5).map(t) {
            let p = plan(checkpoint, now, &s);
            let first = p.windows.first().unwrap();
            if let Some(until) = covered_until {
                assert!(first.start <= until, "gap between runs at {now}");
                assert_eq!(until - first.start, s.overlap);
            }
            for pair in p.windows.windows(2) {
                assert_eq!(pair[0].end, pair[1].start);
            }
            let last = p.windows.last().unwrap().end;
            checkpoint = Some(last);
            covered_until = Some(last);
        }
    }

    #[test]
    fn catch_up_after_downtime_is_split() {
        let p = plan(Some(t(0)), t(300), &settings());
        assert_eq!(p.gap, None);
        assert_eq!(
            p.windows.len(),
            6,
            "5h of downtime in windows of at most 1h"
        );
        assert_eq!(p.windows[0].start, t(-1));
        assert!(p
            .windows
            .iter()
            .all(|w| w.end - w.start <= TimeDelta::hours(1)));
        assert_eq!(
            p.windows.last().unwrap().end,
            t(300) - TimeDelta::seconds(30)
        );
    }

    #[test]
    fn downtime_beyond_max_catch_up_is_a_gap() {
        let s = settings();
        let now = t(3 * 24 * 60);
        let p = plan(Some(t(0)), now, &s);
        let end = now - s.settle;
        assert_eq!(
            p.gap,
            Some(Window {
                start: t(0),
                end: end - s.max_catch_up
            })
        );
        assert_eq!(
            p.windows.first().unwrap().start,
            end - s.max_catch_up - s.overlap
        );
        assert_eq!(p.windows.last().unwrap().end, end);
        assert_eq!(p.windows.len(), 25);
    }

    #[test]
    fn nothing_to_do_when_the_checkpoint_is_recent() {
        let s = PlanSettings {
            overlap: TimeDelta::zero(),
            ..settings()
        };
        let now = t(10);
        let p = plan(Some(now - s.settle), now, &s);
        assert!(p.windows.is_empty());
    }

    #[test]
    fn split_is_exact() {
        assert!(split(t(5), t(5), TimeDelta::minutes(1)).is_empty());
        let w = split(t(0), t(150), TimeDelta::hours(1));
        assert_eq!(w.len(), 3);
        assert_eq!(
            w[2],
            Window {
                start: t(120),
                end: t(150)
            }
        );
    }
}
