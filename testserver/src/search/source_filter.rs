//! `_source` filtering: `true`/`false`, include and exclude patterns with `*`, in the body or as
//! `_source`, `_source_includes` and `_source_excludes` parameters.
//!
//! A pattern matches a full dotted path (`event.action`, whether written as nested objects or
//! dotted keys) and everything under it; objects left empty by the includes are dropped.
//! Without a filter the stored text is returned byte for byte, as ES does.

use crate::error::EsError;
use esquery::dsl::pattern::Glob;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// What part of `_source` a hit returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SourceFilter {
    /// `_source: false`.
    pub disabled: bool,
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
}

impl SourceFilter {
    /// Reads the body's `_source` value.
    pub fn from_body(v: &Value) -> Result<SourceFilter, EsError> {
        let list = |v: &Value| -> Vec<String> {
            match v {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            }
        };
        match v {
            Value::Bool(b) => Ok(SourceFilter {
                disabled: !b,
                ..SourceFilter::default()
            }),
            Value::String(_) | Value::Array(_) => Ok(SourceFilter {
                includes: list(v),
                ..SourceFilter::default()
            }),
            Value::Object(o) => {
                let mut f = SourceFilter::default();
                for (k, v) in o {
                    match k.as_str() {
                        "includes" | "include" => f.includes = list(v),
                        "excludes" | "exclude" => f.excludes = list(v),
                        other => {
                            return Err(EsError::parsing(format!(
                                "Unknown key for a {} in [{other}].",
                                token_name(v)
                            )))
                        }
                    }
                }
                Ok(f)
            }
            _ => Err(EsError::parsing(
                "Expected one of [VALUE_BOOLEAN, START_OBJECT] but found [VALUE_NUMBER]",
            )),
        }
    }

    /// Applies the URL parameters over the body's filter.
    pub fn with_params(
        mut self,
        source: Option<&str>,
        includes: Option<&str>,
        excludes: Option<&str>,
    ) -> SourceFilter {
        let split = |s: &str| {
            s.split(',')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        };
        match source {
            Some("false") => self.disabled = true,
            Some("true") | Some("") => self.disabled = false,
            Some(list) => self.includes = split(list),
            None => {}
        }
        if let Some(i) = includes {
            self.includes = split(i);
        }
        if let Some(e) = excludes {
            self.excludes = split(e);
        }
        self
    }

    /// Whether the stored text can be returned as is.
    pub fn is_identity(&self) -> bool {
        !self.disabled && self.includes.is_empty() && self.excludes.is_empty()
    }

    /// The patterns compiled, to filter many documents.
    pub fn compile(&self) -> CompiledFilter {
        let globs = |list: &[String]| list.iter().map(|p| Glob::new(p, false, false)).collect();
        CompiledFilter {
            includes: globs(&self.includes),
            excludes: globs(&self.excludes),
            literals: self
                .includes
                .iter()
                .map(|p| {
                    (
                        p.split('*').next().unwrap_or("").to_string(),
                        p.contains('*'),
                    )
                })
                .collect(),
        }
    }

    /// The filtered source (compiles the patterns: use [`SourceFilter::compile`] for many).
    pub fn apply(&self, source: &Value) -> Value {
        self.compile().apply(source)
    }
}

/// A [`SourceFilter`] with compiled patterns.
#[derive(Debug)]
pub(crate) struct CompiledFilter {
    includes: Vec<Glob>,
    excludes: Vec<Glob>,
    /// Per include: its text before the first `*`, and whether it has one.
    literals: Vec<(String, bool)>,
}

impl CompiledFilter {
    /// The filtered source.
    pub fn apply(&self, source: &Value) -> Value {
        match source {
            Value::Object(map) => {
                let mut path = String::new();
                Value::Object(self.filter_map(map, &mut path, self.includes.is_empty()))
            }
            other => other.clone(),
        }
    }

    fn filter_map(
        &self,
        map: &Map<String, Value>,
        path: &mut String,
        included: bool,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        let base = path.len();
        for (key, value) in map {
            path.truncate(base);
            if base > 0 {
                path.push('.');
            }
            path.push_str(key);
            if self.excludes.iter().any(|g| g.matches(path)) {
                continue;
            }
            let now_included = included || self.includes.iter().any(|g| g.matches(path));
            if let Some(kept) = self.filter_value(value, path, now_included) {
                out.insert(key.clone(), kept);
            }
        }
        path.truncate(base);
        out
    }

    fn filter_value(&self, value: &Value, path: &mut String, included: bool) -> Option<Value> {
        match value {
            Value::Object(map) => {
                if !included && !self.may_include_below(path) {
                    return None;
                }
                let kept = self.filter_map(map, path, included);
                (included || !kept.is_empty()).then_some(Value::Object(kept))
            }
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .iter()
                    .filter_map(|item| self.filter_value(item, path, included))
                    .collect();
                (included || !kept.is_empty()).then_some(Value::Array(kept))
            }
            scalar => included.then(|| scalar.clone()),
        }
    }

    /// Writes the filtered `source` JSON text to `out`, copying included parts as they were sent
    /// (objects are only split where the patterns need it).
    pub fn write_raw(&self, source: &str, out: &mut String) {
        let mut path = String::new();
        let top_included = self.includes.is_empty();
        if !self.write_object(source, &mut path, top_included, out) && !top_included {
            out.push_str("{}");
        }
    }

    /// Writes an object; false (and nothing written) when nothing of it is kept.
    fn write_object(&self, raw: &str, path: &mut String, included: bool, out: &mut String) -> bool {
        let Ok(Entries(entries)) = serde_json::from_str::<Entries<'_>>(raw) else {
            return false;
        };
        let start = out.len();
        let base = path.len();
        out.push('{');
        let mut empty = true;
        for (key, value) in entries {
            path.truncate(base);
            if base > 0 {
                path.push('.');
            }
            path.push_str(&key);
            if self.excludes.iter().any(|g| g.matches(path)) {
                continue;
            }
            let now_included = included || self.includes.iter().any(|g| g.matches(path));
            let mark = out.len();
            if !empty {
                out.push(',');
            }
            out.push_str(&Value::String(key).to_string());
            out.push(':');
            if self.write_value(value.get(), path, now_included, out) {
                empty = false;
            } else {
                out.truncate(mark);
            }
        }
        path.truncate(base);
        out.push('}');
        if empty && !included {
            out.truncate(start);
            return false;
        }
        true
    }

    fn write_value(&self, raw: &str, path: &mut String, included: bool, out: &mut String) -> bool {
        match raw.trim_start().as_bytes().first() {
            Some(b'{') if included && self.excludes.is_empty() => {
                out.push_str(raw);
                true
            }
            Some(b'{') => {
                (included || self.may_include_below(path))
                    && self.write_object(raw, path, included, out)
            }
            Some(b'[') => self.write_array(raw, path, included, out),
            _ if included => {
                out.push_str(raw);
                true
            }
            _ => false,
        }
    }

    fn write_array(&self, raw: &str, path: &mut String, included: bool, out: &mut String) -> bool {
        if included && self.excludes.is_empty() {
            out.push_str(raw);
            return true;
        }
        let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(raw) else {
            return false;
        };
        let start = out.len();
        out.push('[');
        let mut empty = true;
        for item in items {
            let mark = out.len();
            if !empty {
                out.push(',');
            }
            if self.write_value(item.get(), path, included, out) {
                empty = false;
            } else {
                out.truncate(mark);
            }
        }
        out.push(']');
        if empty && !included {
            out.truncate(start);
            return false;
        }
        true
    }

    /// Whether some include pattern can match a path below `path`.
    fn may_include_below(&self, path: &str) -> bool {
        let below = |s: &str| {
            s.len() > path.len() && s.starts_with(path) && s.as_bytes()[path.len()] == b'.'
        };
        self.literals.iter().any(|(literal, wildcard)| {
            below(literal)
                || (*wildcard
                    && (path.starts_with(literal.as_str())
                        || format!("{path}.").starts_with(literal.as_str())))
        })
    }
}

/// The entries of a JSON object in source order, values left as raw JSON text.
struct Entries<'de>(Vec<(String, &'de RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(Visit)
    }
}

fn token_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "START_OBJECT",
        Value::Array(_) => "START_ARRAY",
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Null => "VALUE_NULL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "@timestamp": "t",
            "event": {"action": "A", "provider": "P", "id": "1"},
            "user.name": "u",
            "aws": {"cloudtrail": {"flattened": {"x": 1}, "user_identity": {"type": "IAMUser"}}},
            "list": [{"a": 1, "b": 2}, {"a": 3}]
        })
    }

    fn filter(v: Value) -> SourceFilter {
        SourceFilter::from_body(&v).unwrap()
    }

    #[test]
    fn includes_paths_in_any_spelling() {
        let f = filter(json!(["event.action", "user.name", "list.a"]));
        assert_eq!(
            f.apply(&doc()),
            json!({"event": {"action": "A"}, "user.name": "u", "list": [{"a": 1}, {"a": 3}]})
        );
    }

    #[test]
    fn wildcards_and_excludes() {
        let f = filter(
            json!({"includes": ["aws.*", "event"], "excludes": ["*.flattened", "event.id"]}),
        );
        assert_eq!(
            f.apply(&doc()),
            json!({"event": {"action": "A", "provider": "P"}, "aws": {"cloudtrail": {"user_identity": {"type": "IAMUser"}}}})
        );
    }

    #[test]
    fn raw_filtering_agrees_with_value_filtering() {
        let filters = [
            json!(["event.action", "user.name", "list.a"]),
            json!({"includes": ["aws.*", "event"], "excludes": ["*.flattened", "event.id"]}),
            json!("nothing.here"),
            json!({"excludes": ["list"]}),
            json!(["aws"]),
        ];
        let text = doc().to_string();
        for f in filters {
            let f = filter(f);
            let mut out = String::new();
            f.compile().write_raw(&text, &mut out);
            let raw: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
            assert_eq!(raw, f.apply(&doc()), "{f:?}");
        }
    }

    #[test]
    fn unmatched_objects_disappear() {
        let f = filter(json!("nothing.here"));
        assert_eq!(f.apply(&doc()), json!({}));
        assert!(filter(json!(false)).disabled);
        assert!(filter(json!(true)).is_identity());
        let p = SourceFilter::default().with_params(Some("event.action"), None, Some("x"));
        assert_eq!(p.includes, vec!["event.action"]);
    }
}
