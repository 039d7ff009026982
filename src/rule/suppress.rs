//! Alert suppression: after an alert for a group of `by` values, further matches of the group
//! within the same `for` period create no alert; they are counted on the first one
//! (`eshunt.suppressed`) — Elastic's alert suppression, and Panther's dedup period.
//!
//! Periods are fixed and aligned to the Unix epoch, `[k·for, (k+1)·for)` on the event time
//! (`eventTime`, ECS `@timestamp`: the same in a file and in the cluster), so every run, retry
//! and backfill puts an event in the same period and gives the group's alert of that period the
//! same id.

use super::condition::Field;
use super::group::{combinations, names, GroupKey};
use crate::event::Event;
use crate::time::{Span, Window};
use chrono::{DateTime, Utc};

/// A rule's `[suppress]`.
#[derive(Debug, Clone)]
pub struct Suppression {
    /// The fields whose values make a group (none: one group per period).
    pub by: Vec<Field>,
    /// The period length.
    pub period: Span,
}

impl Suppression {
    /// The period holding `t`.
    pub fn period_of(&self, t: DateTime<Utc>) -> Window {
        Window::aligned(t, self.period)
    }

    /// The groups of an event (every combination of its `by` values); none when a field is
    /// absent: such an event is not suppressed, it gets its own alert.
    pub fn groups(&self, event: &Event) -> Vec<GroupKey> {
        combinations(&self.by, event)
    }

    /// The `by` fields' names, in order.
    pub fn field_names(&self) -> Vec<String> {
        names(&self.by)
    }
}

impl std::fmt::Display for Suppression {
    /// `one alert per userIdentity.arn per 1h`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "one alert")?;
        if !self.by.is_empty() {
            write!(f, " per {}", self.field_names().join(" + "))?;
        }
        write!(f, " per {}", self.period)
    }
}

/// What a run saw of one group's matches in one period: the alert of the group's first event
/// counts the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    /// The period.
    pub period: Window,
    /// The group's values, in `by` order.
    pub group: GroupKey,
    /// Matching events seen (the first one included).
    pub matches: u64,
    /// The time of the first of them.
    pub first: DateTime<Utc>,
    /// The time of the last of them.
    pub last: DateTime<Utc>,
}
