//! Run summaries on stderr: lines for people, or — with `--log-format json` — one JSON log
//! event carrying the same figures, so a log pipeline parses every line a run writes.

use serde_json::{Map, Value};

/// `n` and a noun, in the singular for 1: `1 file`, `3 files`, `0 rules`.
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    match n.into() {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// A rule as people know it: its name, with its id when that differs (an Elastic rule's id is
/// a UUID).
pub fn rule_label(name: &str, id: &str) -> String {
    if name == id || name.is_empty() {
        id.to_string()
    } else {
        format!("{name} ({id})")
    }
}

/// A run summary being assembled: the lines to print, and the figures behind them.
pub struct Summary {
    message: &'static str,
    lines: Vec<String>,
    fields: Map<String, Value>,
}

impl Summary {
    /// A summary whose JSON log event has this message (e.g. `scan finished`).
    pub fn new(message: &'static str) -> Summary {
        Summary {
            message,
            lines: Vec::new(),
            fields: Map::new(),
        }
    }

    /// Adds a line for people.
    pub fn line(&mut self, text: impl Into<String>) {
        self.lines.push(text.into());
    }

    /// Adds a figure for the JSON log event.
    pub fn field(&mut self, key: &str, value: impl Into<Value>) {
        self.fields.insert(key.to_string(), value.into());
    }

    /// Says how many matches were not written again because their events appeared earlier in
    /// the same input (nothing when none).
    pub fn repeats(&mut self, duplicates: u64) {
        if duplicates > 0 {
            self.line(format!(
                "  ({duplicates} more matched events already alerted on: the same events appear more than once in the input)"
            ));
        }
    }

    /// Prints the lines, or logs the figures as one event when logs are JSON (the figures under
    /// `summary`, as a JSON text).
    pub fn emit(self) {
        if super::JSON_LOGS.get().is_some() {
            let summary = Value::Object(self.fields).to_string();
            tracing::info!(target: "eshunt::summary", summary = %summary, "{}", self.message);
        } else {
            for line in &self.lines {
                eprintln!("{line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(count(1u64, "file"), "1 file");
        assert_eq!(count(0u64, "rule"), "0 rules");
        assert_eq!(count(12u64, "event"), "12 events");
    }

    #[test]
    fn rules_are_named_with_their_id_when_it_differs() {
        assert_eq!(
            rule_label("AWS Lambda Layer Added", "2d1f1e1c-uuid"),
            "AWS Lambda Layer Added (2d1f1e1c-uuid)"
        );
        assert_eq!(rule_label("X", "X"), "X");
    }
}
