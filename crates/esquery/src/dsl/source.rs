//! Reading field values out of a `_source` document, the way Elasticsearch flattens it.
//!
//! - A path may be written with nested objects or dotted keys, in any mix:
//!   `{"user": {"name": x}}`, `{"user.name": x}` and `{"user": {"name": [x]}}` all give
//!   `user.name = x`; when both spellings are present, the values of both count.
//! - Arrays anywhere along the path flatten into multiple values.
//! - `null` and `[]` give no value (a mapped `null_value` is applied by the field type, which is
//!   why `null` is still passed to the callback).
//!
//! Nothing here allocates: paths are walked as string slices.

use serde_json::Value;

/// Objects with at most this many keys are scanned key by key (cheaper than hashing every
/// dotted prefix of the path); larger ones are probed by hash.
const SCAN_LIMIT: usize = 12;

/// Calls `f` with each value at dotted `path` below `root` (arrays flattened, `null` included).
/// Stops and returns true as soon as `f` returns true. An empty `path` visits `root` itself.
pub fn visit_values(root: &Value, path: &str, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    if path.is_empty() {
        return visit_leaf(root, f);
    }
    match root {
        Value::Array(items) => items.iter().any(|item| visit_values(item, path, f)),
        Value::Object(map) if map.len() <= SCAN_LIMIT => {
            map.iter()
                .any(|(k, child)| match path.strip_prefix(k.as_str()) {
                    Some("") => visit_leaf(child, f),
                    Some(rest) => rest
                        .strip_prefix('.')
                        .is_some_and(|rest| visit_values(child, rest, f)),
                    None => false,
                })
        }
        Value::Object(map) => {
            if let Some(v) = map.get(path) {
                if visit_leaf(v, f) {
                    return true;
                }
            }
            for (i, _) in path.match_indices('.') {
                if let Some(child) = map.get(&path[..i]) {
                    if visit_values(child, &path[i + 1..], f) {
                        return true;
                    }
                }
            }
            false
        }
        _ => false,
    }
}

/// Flattens arrays at the end of a path.
fn visit_leaf(v: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|item| visit_leaf(item, f)),
        other => f(other),
    }
}

/// Calls `f` with every scalar (or `null`) leaf at any depth below `v`; used for a query on a
/// `flattened` field itself, which searches all its leaf values.
pub fn visit_all_leaves(v: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|item| visit_all_leaves(item, f)),
        Value::Object(map) => map.values().any(|item| visit_all_leaves(item, f)),
        other => f(other),
    }
}

/// Calls `f(path, leaf)` for every scalar leaf of a document, with its full dotted path
/// (arrays flattened). Used to expand field patterns such as `*` over fields that are not
/// mapped. Allocates the path strings.
pub fn visit_paths(root: &Value, f: &mut dyn FnMut(&str, &Value) -> bool) -> bool {
    let mut path = String::new();
    walk_paths(root, &mut path, f)
}

fn walk_paths(v: &Value, path: &mut String, f: &mut dyn FnMut(&str, &Value) -> bool) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|item| walk_paths(item, path, f)),
        Value::Object(map) => {
            for (k, child) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                let stop = walk_paths(child, path, f);
                path.truncate(len);
                if stop {
                    return true;
                }
            }
            false
        }
        Value::Null => false,
        other => !path.is_empty() && f(path, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(doc: &Value, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        visit_values(doc, path, &mut |v| {
            out.push(v.clone());
            false
        });
        out
    }

    #[test]
    fn nested_and_dotted_keys_are_equivalent() {
        assert_eq!(
            values(&json!({"user": {"name": "a"}}), "user.name"),
            [json!("a")]
        );
        assert_eq!(
            values(&json!({"user.name": "a"}), "user.name"),
            [json!("a")]
        );
        assert_eq!(values(&json!({"a": {"b.c": 1}}), "a.b.c"), [json!(1)]);
        assert_eq!(values(&json!({"a.b": {"c": 1}}), "a.b.c"), [json!(1)]);
    }

    #[test]
    fn arrays_flatten() {
        let doc = json!({"a": [{"b": 1}, {"b": [2, [3]]}, {"c": 4}]});
        assert_eq!(values(&doc, "a.b"), [json!(1), json!(2), json!(3)]);
        assert!(values(&json!({"a": []}), "a").is_empty());
        assert_eq!(values(&json!({"a": null}), "a"), [json!(null)]);
        assert!(values(&json!({"a": "x"}), "a.b").is_empty());
    }

    #[test]
    fn paths_of_a_document() {
        let mut seen = Vec::new();
        visit_paths(
            &json!({"a": {"b": [1, 2]}, "c": null, "d.e": "x"}),
            &mut |p, v| {
                seen.push((p.to_string(), v.clone()));
                false
            },
        );
        assert_eq!(
            seen,
            [
                ("a.b".to_string(), json!(1)),
                ("a.b".to_string(), json!(2)),
                ("d.e".to_string(), json!("x"))
            ]
        );
    }
}
