//! Reading query parameters, with Elasticsearch's error wording.

use crate::dsl::error::DslError;
use serde_json::{Map, Value};

/// Parameters every query accepts and eshunt ignores (they affect scoring or naming only).
const COMMON: [&str; 2] = ["boost", "_name"];

/// The body as an object.
pub(crate) fn expect_object<'v>(
    qt: &str,
    body: &'v Value,
) -> Result<&'v Map<String, Value>, DslError> {
    body.as_object().ok_or_else(|| {
        DslError::malformed(
            qt,
            format!("[{qt}] query malformed, no start_object after query name"),
        )
    })
}

/// Fails on any key outside `allowed` (and the common `boost`/`_name`).
pub(crate) fn check_keys(
    qt: &str,
    obj: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(), DslError> {
    match obj
        .keys()
        .find(|k| !allowed.contains(&k.as_str()) && !COMMON.contains(&k.as_str()))
    {
        Some(k) => Err(DslError::unknown_param(qt, k)),
        None => Ok(()),
    }
}

/// The single `field: value` entry of a field-level query such as `term` or `match`.
pub(crate) fn single_field<'v>(
    qt: &str,
    body: &'v Value,
) -> Result<(&'v str, &'v Value), DslError> {
    let obj = expect_object(qt, body)?;
    let mut found: Option<(&str, &Value)> = None;
    for (k, v) in obj {
        if COMMON.contains(&k.as_str()) && !v.is_object() {
            continue;
        }
        if let Some((first, _)) = found {
            return Err(DslError::malformed(
                qt,
                format!("[{qt}] query doesn't support multiple fields, found [{first}] and [{k}]"),
            ));
        }
        found = Some((k, v));
    }
    found.ok_or_else(|| DslError::malformed(qt, format!("[{qt}] query requires a field name")))
}

/// The main value of a field-level query and its parameter object, if written in full.
pub(crate) type FieldParams<'v> = (&'v Value, Option<&'v Map<String, Value>>);

/// The parameters of a field-level query: `{"f": value}` (shorthand) or
/// `{"f": {"<main_key>": value, ...}}`. Returns the main value and the parameter object.
pub(crate) fn field_params<'v>(
    qt: &str,
    value: &'v Value,
    main_keys: &[&str],
    allowed: &[&str],
) -> Result<FieldParams<'v>, DslError> {
    let Value::Object(params) = value else {
        return Ok((value, None));
    };
    let mut all: Vec<&str> = allowed.to_vec();
    all.extend_from_slice(main_keys);
    check_keys(qt, params, &all)?;
    let main = main_keys
        .iter()
        .find_map(|k| params.get(*k))
        .ok_or_else(|| DslError::malformed(qt, format!("[{qt}] requires query value")))?;
    Ok((main, Some(params)))
}

/// A boolean parameter (`true`, `false`, or their strings).
pub(crate) fn get_bool(
    qt: &str,
    params: Option<&Map<String, Value>>,
    key: &str,
) -> Result<Option<bool>, DslError> {
    match params.and_then(|p| p.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" => Ok(Some(true)),
        Some(Value::String(s)) if s == "false" => Ok(Some(false)),
        Some(other) => Err(DslError::malformed(
            qt,
            format!(
                "Failed to parse value [{other}] as only [true] or [false] are allowed for [{key}]"
            ),
        )),
    }
}

/// A string parameter (numbers are accepted as their text).
pub(crate) fn get_str(
    qt: &str,
    params: Option<&Map<String, Value>>,
    key: &str,
) -> Result<Option<String>, DslError> {
    match params.and_then(|p| p.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(DslError::malformed(
            qt,
            format!("[{key}] must be a string, found [{other}]"),
        )),
    }
}

/// A non-negative integer parameter.
pub(crate) fn get_usize(
    qt: &str,
    params: Option<&Map<String, Value>>,
    key: &str,
) -> Result<Option<usize>, DslError> {
    match params.and_then(|p| p.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => value_usize(v).map(Some).ok_or_else(|| {
            DslError::malformed(
                qt,
                format!("[{key}] must be a non-negative integer, found [{v}]"),
            )
        }),
    }
}

fn value_usize(v: &Value) -> Option<usize> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|u| usize::try_from(u).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `operator`: `or` (default) or `and`, case-insensitive. Returns true for `and`.
pub(crate) fn operator_is_and(
    qt: &str,
    params: Option<&Map<String, Value>>,
    key: &str,
) -> Result<bool, DslError> {
    match get_str(qt, params, key)? {
        None => Ok(false),
        Some(s) if s.eq_ignore_ascii_case("or") => Ok(false),
        Some(s) if s.eq_ignore_ascii_case("and") => Ok(true),
        Some(s) => Err(DslError::malformed(
            qt,
            format!("Unknown operator [{s}], expected [or] or [and]"),
        )),
    }
}

/// The text of a scalar query value (`"x"`, `12`, `true`).
pub(crate) fn scalar_query_text(qt: &str, v: &Value) -> Result<String, DslError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err(DslError::malformed(
            qt,
            format!("[{qt}] value cannot be null"),
        )),
        _ => Err(DslError::malformed(
            qt,
            format!("[{qt}] unexpected value [{v}]"),
        )),
    }
}

/// Evaluates a `minimum_should_match` specification for `optional` optional clauses, with
/// Elasticsearch's rules (`Queries.calculateMinShouldMatch`): an integer (`3`), a negative
/// integer (`-2`: all but two), a percentage (`75%`, rounded down), a negative percentage
/// (`-25%`), a conditional `n<spec` (all clauses up to n, then spec), or several conditionals
/// separated by spaces (`2<-25% 9<-3`). The result is never negative; it may exceed `optional`
/// (then nothing matches).
pub(crate) fn min_should_match(qt: &str, spec: &Value, optional: usize) -> Result<usize, DslError> {
    let text = match spec {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        other => {
            return Err(DslError::malformed(
                qt,
                format!("[minimum_should_match] unexpected value [{other}]"),
            ));
        }
    };
    let bad = || DslError::malformed(qt, format!("failed to parse minimum_should_match [{text}]"));
    let n = i64::try_from(optional).map_err(|_| bad())?;
    let result = if text.contains('<') {
        let mut result = n;
        for part in text.split_whitespace() {
            let (upper, spec) = part.split_once('<').ok_or_else(bad)?;
            let upper: i64 = upper.trim().parse().map_err(|_| bad())?;
            if n > upper {
                result = simple_msm(spec, n).ok_or_else(bad)?;
            }
        }
        result
    } else {
        simple_msm(&text, n).ok_or_else(bad)?
    };
    Ok(usize::try_from(result.max(0)).unwrap_or(0))
}

fn simple_msm(spec: &str, n: i64) -> Option<i64> {
    if let Some(pct) = spec.strip_suffix('%') {
        let p: i64 = pct.trim().parse().ok()?;
        let calc = (n * p) / 100;
        return Some(if p < 0 { n + calc } else { calc });
    }
    let c: i64 = spec.trim().parse().ok()?;
    Some(if c < 0 { n + c } else { c })
}

/// Strips a `^boost` suffix from a field name in `fields` lists.
pub(crate) fn strip_boost(field: &str) -> &str {
    match field.rsplit_once('^') {
        Some((name, boost)) if boost.parse::<f64>().is_ok() => name,
        _ => field,
    }
}

/// A list of field names (`"fields": ["a", "b^2"]`), boosts stripped.
pub(crate) fn field_list(qt: &str, v: Option<&Value>) -> Result<Option<Vec<String>>, DslError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(|s| strip_boost(s).to_string())
                    .ok_or_else(|| {
                        DslError::malformed(
                            qt,
                            format!("[fields] must contain strings, found [{x}]"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(Value::String(s)) => Ok(Some(vec![strip_boost(s).to_string()])),
        Some(other) => Err(DslError::malformed(
            qt,
            format!("[fields] must be an array, found [{other}]"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn minimum_should_match_forms() {
        let m = |s: Value, n| min_should_match("bool", &s, n).unwrap();
        assert_eq!(m(json!(2), 5), 2);
        assert_eq!(m(json!("-2"), 5), 3);
        assert_eq!(m(json!("75%"), 3), 2);
        assert_eq!(m(json!("-25%"), 3), 3);
        assert_eq!(m(json!("3<90%"), 3), 3);
        assert_eq!(m(json!("3<90%"), 10), 9);
        assert_eq!(m(json!("2<-25% 9<-3"), 10), 7);
        assert_eq!(m(json!("2<-25% 9<-3"), 4), 3);
        assert_eq!(m(json!("-7"), 3), 0);
        assert!(min_should_match("bool", &json!("abc"), 3).is_err());
    }

    #[test]
    fn boosts_are_stripped() {
        assert_eq!(strip_boost("title^2"), "title");
        assert_eq!(strip_boost("a^b"), "a^b");
    }
}
