//! Dotted field paths (`userIdentity.sessionContext.sessionIssuer.userName`) and how they walk a
//! JSON document.
//!
//! Semantics, shared by conditions, templates and alert context:
//! - keys are looked up **case-insensitively** at every level: an exact-case key wins, else the
//!   first key in document order whose lower-case form matches (Panther's behaviour);
//! - when a step lands on an array, the rest of the path is applied to every element
//!   ("a path through an array matches if any element matches");
//! - a JSON `null` counts as missing.

use serde_json::{Map, Value};
use std::fmt;
use std::ops::ControlFlow;

/// One key of a [`FieldPath`], with its lower-case form precomputed for case-insensitive lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    name: Box<str>,
    lower: Box<str>,
}

/// A parsed, validated dotted path, compiled once and walked many times without allocating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: Box<str>,
    segments: Box<[Segment]>,
}

/// Why a path is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid field path `{path}`: {reason}")]
pub struct PathError {
    /// The offending text.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FieldPath {
    /// Parses `a.b.c`. Segments must be non-empty; any character but `.` is allowed in a key.
    pub fn parse(text: &str) -> Result<FieldPath, PathError> {
        let error = |reason| PathError {
            path: text.to_string(),
            reason,
        };
        if text.is_empty() {
            return Err(error("it is empty"));
        }
        if text.chars().any(char::is_whitespace) {
            return Err(error("it contains whitespace"));
        }
        let segments = text
            .split('.')
            .map(|name| {
                if name.is_empty() {
                    Err(error(
                        "it has an empty segment (`..`, or a leading or trailing `.`)",
                    ))
                } else {
                    Ok(Segment {
                        name: name.into(),
                        lower: name.to_lowercase().into(),
                    })
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FieldPath {
            text: text.into(),
            segments: segments.into(),
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first key (e.g. `responseElements` for `responseElements.layers`).
    pub fn root(&self) -> &str {
        &self.segments[0].name
    }

    /// Calls `f` with every non-null value the path reaches in `doc`, fanning out through arrays
    /// met on the way. A value at the end of the path is passed as is (arrays included). Stops
    /// early when `f` breaks, and returns that.
    pub fn visit<'a, B>(
        &self,
        doc: &'a Value,
        f: &mut dyn FnMut(&'a Value) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        visit_segments(doc, &self.segments, f)
    }

    /// The first non-null value the path reaches in `doc`, through arrays.
    pub fn first<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        match self.visit(doc, &mut ControlFlow::Break) {
            ControlFlow::Break(v) => Some(v),
            ControlFlow::Continue(()) => None,
        }
    }

    /// The value the path reaches, keeping the shape of arrays met on the way: each array element
    /// yields its own result (null where the element lacks the rest of the path). `None` when the
    /// path reaches nothing at all. Used for alert context (`layers.arn` → `[arn1, arn2]`).
    pub fn project(&self, doc: &Value) -> Option<Value> {
        project_segments(doc, &self.segments)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn visit_segments<'a, B>(
    value: &'a Value,
    segments: &[Segment],
    f: &mut dyn FnMut(&'a Value) -> ControlFlow<B>,
) -> ControlFlow<B> {
    let Some((first, rest)) = segments.split_first() else {
        return if value.is_null() {
            ControlFlow::Continue(())
        } else {
            f(value)
        };
    };
    match value {
        Value::Object(map) => match get_key(map, first) {
            Some(child) => visit_segments(child, rest, f),
            None => ControlFlow::Continue(()),
        },
        Value::Array(items) => {
            for item in items {
                visit_segments(item, segments, f)?;
            }
            ControlFlow::Continue(())
        }
        _ => ControlFlow::Continue(()),
    }
}

fn project_segments(value: &Value, segments: &[Segment]) -> Option<Value> {
    let Some((first, rest)) = segments.split_first() else {
        return (!value.is_null()).then(|| value.clone());
    };
    match value {
        Value::Object(map) => project_segments(get_key(map, first)?, rest),
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .map(|item| project_segments(item, segments).unwrap_or(Value::Null))
                .collect(),
        )),
        _ => None,
    }
}

/// Looks `segment` up in `map`: exact key first, else the first key (in document order) whose
/// lower-case form equals the segment's lower-case form.
fn get_key<'a>(map: &'a Map<String, Value>, segment: &Segment) -> Option<&'a Value> {
    if let Some(value) = map.get(&*segment.name) {
        return Some(value);
    }
    map.iter()
        .find(|(key, _)| lower_eq(key, &segment.lower))
        .map(|(_, value)| value)
}

/// `key.to_lowercase() == lower`, without allocating for ASCII keys.
fn lower_eq(key: &str, lower: &str) -> bool {
    if key.is_ascii() {
        key.len() == lower.len()
            && key
                .bytes()
                .zip(lower.bytes())
                .all(|(a, b)| a.to_ascii_lowercase() == b)
    } else {
        key.chars().flat_map(char::to_lowercase).eq(lower.chars())
    }
}

/// Sets a dotted path, creating objects on the way (replacing any non-object in the way).
pub fn set_dotted(doc: &mut Map<String, Value>, dotted: &str, v: Value) {
    let mut cur = doc;
    let mut parts = dotted.split('.');
    let Some(mut part) = parts.next() else { return };
    for next in parts {
        if !cur.get(part).is_some_and(Value::is_object) {
            cur.insert(part.to_string(), Value::Object(Map::new()));
        }
        let Some(Value::Object(child)) = cur.get_mut(part) else {
            return;
        };
        cur = child;
        part = next;
    }
    cur.insert(part.to_string(), v);
}

/// "Is null" as the condition language defines it after Panther's empty values: absent, `null`,
/// `""`, `[]` and `{}` are null (`0` and `false`, falsy in Python, are values).
pub fn is_nullish(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Python's truthiness, for ports of Python rules (Panther's `if event.get("errorCode")`): a
/// value is falsy when it is nullish ([`is_nullish`]), `false`, or a number equal to zero
/// (`0`, `0.0`, `-0.0`). Everything else, `[0]` and `{"a": null}` included, is truthy.
pub fn is_falsy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        other => is_nullish(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn collect(path: &str, doc: &Value) -> Vec<Value> {
        let path = FieldPath::parse(path).unwrap();
        let mut out = Vec::new();
        let _ = path.visit(doc, &mut |v| {
            out.push(v.clone());
            ControlFlow::<()>::Continue(())
        });
        out
    }

    #[test]
    fn rejects_malformed_paths() {
        for bad in ["", "a..b", ".a", "a.", "a b"] {
            assert!(FieldPath::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn exact_case_wins_then_first_case_insensitive_match() {
        let doc = json!({"UserIdentity": {"Type": "A"}, "useridentity": {"type": "B"}});
        assert_eq!(collect("userIdentity.type", &doc), vec![json!("A")]);
        assert_eq!(collect("useridentity.type", &doc), vec![json!("B")]);
    }

    #[test]
    fn fans_out_through_arrays_and_skips_nulls() {
        let doc =
            json!({"r": {"layers": [{"arn": "a"}, {"other": 1}, {"arn": null}, {"arn": "b"}]}});
        assert_eq!(collect("r.layers.arn", &doc), vec![json!("a"), json!("b")]);
        assert_eq!(collect("r.missing", &doc), Vec::<Value>::new());
    }

    #[test]
    fn projection_keeps_array_shape() {
        let doc = json!({"r": {"layers": [{"arn": "a"}, {"x": 1}]}});
        let path = FieldPath::parse("r.layers.arn").unwrap();
        assert_eq!(path.project(&doc), Some(json!(["a", null])));
        assert_eq!(FieldPath::parse("r.nope").unwrap().project(&doc), None);
    }

    #[test]
    fn unicode_keys_compare_case_insensitively() {
        let doc = json!({"ÄBC": 1});
        assert_eq!(collect("äbc", &doc), vec![json!(1)]);
    }

    #[test]
    fn nullish_follows_panther_truthiness() {
        for v in [json!(null), json!(""), json!([]), json!({})] {
            assert!(is_nullish(&v));
        }
        for v in [
            json!(0),
            json!(false),
            json!(" "),
            json!([null]),
            json!({"a": null}),
        ] {
            assert!(!is_nullish(&v));
        }
    }

    #[test]
    fn falsy_follows_python_truthiness() {
        for v in [
            json!(null),
            json!(""),
            json!([]),
            json!({}),
            json!(0),
            json!(0.0),
            json!(-0.0),
            json!(false),
        ] {
            assert!(is_falsy(&v), "{v} should be falsy");
        }
        for v in [
            json!(1),
            json!(-1),
            json!(0.5),
            json!(true),
            json!(" "),
            json!("0"),
            json!("false"),
            json!([0]),
            json!({"a": null}),
        ] {
            assert!(!is_falsy(&v), "{v} should be truthy");
        }
    }
}
