//! New terms rules: a rule that fires on an event whose combination of values of its `fields`
//! did not occur, in any event the rule matches, during the `history` before it — Elastic's new
//! terms rules (`new_terms_fields`, `history_window_start`).
//!
//! The history is anchored on each event, not on the run: an event at `t` is new when its
//! combination is absent from `[t − history, t)`. The verdict is then the same whichever window
//! or file holds the event, so live runs, retries and backfills agree, and a combination that
//! comes back after a whole history of absence is new again.

use super::condition::Field;
use super::group::{combinations, names, GroupKey};
use crate::event::Event;
use crate::time::Span;

/// Elastic's limit on the number of new terms fields.
pub const MAX_FIELDS: usize = 3;

/// A rule's `[new_terms]`.
#[derive(Debug, Clone)]
pub struct NewTerms {
    /// The fields whose combined values make a term (1 to [`MAX_FIELDS`]).
    pub fields: Vec<Field>,
    /// How far back a term must be absent for it to be new.
    pub history: Span,
}

impl NewTerms {
    /// The terms of an event: every combination of its fields' values (multi-valued fields fan
    /// out, as Elastic combines them); none when a field is absent.
    pub fn terms(&self, event: &Event) -> Vec<GroupKey> {
        combinations(&self.fields, event)
    }

    /// The fields' names, in order.
    pub fn field_names(&self) -> Vec<String> {
        names(&self.fields)
    }
}

impl std::fmt::Display for NewTerms {
    /// `new userIdentity.arn + sourceIPAddress, unseen for 10d`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "new {}, unseen for {}",
            self.field_names().join(" + "),
            self.history
        )
    }
}
