//! Group keys: the values of a list of fields in one event, as the rules that count and remember
//! (threshold `group_by`, new terms `fields`, suppression `by`) key their state.
//!
//! A multi-valued field fans out as Elasticsearch's terms aggregations do: an event whose
//! `resources.ARN` holds two values belongs to two groups, and with several fields it belongs to
//! every combination of their values.

use super::condition::Field;
use super::template::resolve;
use crate::event::Event;
use serde_json::Value;

/// How many combinations one event may produce; the rest are dropped.
const MAX_COMBINATIONS: usize = 64;

/// One group's values, in the order of the rule's fields.
pub type GroupKey = Vec<String>;

/// Every combination of the fields' values in `event` (as strings), in field order; none when a
/// field is absent or null, as a terms aggregation skips such events. No fields: one empty key.
pub fn combinations(fields: &[Field], event: &Event) -> Vec<GroupKey> {
    let mut keys: Vec<GroupKey> = vec![Vec::new()];
    for field in fields {
        let values = values(field, event);
        if values.is_empty() {
            return Vec::new();
        }
        keys = keys
            .into_iter()
            .flat_map(|key| {
                values.iter().map(move |v| {
                    let mut next = key.clone();
                    next.push(v.clone());
                    next
                })
            })
            .take(MAX_COMBINATIONS)
            .collect();
    }
    keys
}

/// The scalar values a field holds in an event, as strings (arrays fan out; null and absent
/// give none; an object gives its JSON text).
pub fn values(field: &Field, event: &Event) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(value) = resolve(field, event) {
        push_scalars(&value, &mut out);
    }
    out
}

fn push_scalars(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Null => {}
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| push_scalars(v, out)),
        Value::Object(_) => out.push(value.to_string()),
        other => out.push(other.to_string()),
    }
}

/// The fields' names, in order.
pub fn names(fields: &[Field]) -> Vec<String> {
    fields.iter().map(Field::name).collect()
}
