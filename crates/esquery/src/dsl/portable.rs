//! Query DSL rewritten to mean the same on Elasticsearch and OpenSearch.
//!
//! Kibana translates a KQL wildcard (`f: */id_rsa`) into a one-field `query_string`. On an
//! Elasticsearch `flattened` field that is a wildcard query on the key's keyword, but
//! OpenSearch's `flat_object` (what the `flattened` fields of a mapping become there) answers a
//! `query_string` with a leading wildcard on a sub-field with nothing at all, while it answers
//! the equivalent `wildcard` query correctly. [`portable`] rewrites exactly those
//! `query_string`s — one field under a flattened root, one term with wildcards, no other
//! option — into that `wildcard` query, which both engines (and [`super::Query`]) evaluate as
//! the `query_string` means on Elasticsearch.

use super::Mapping;
use serde_json::{json, Value};

/// `dsl` with every rewritable `query_string` on a flattened sub-field made a `wildcard` query.
pub fn portable(dsl: &Value, mapping: &Mapping) -> Value {
    match dsl {
        Value::Object(map) => {
            if let Some(wildcard) = as_wildcard(map, mapping) {
                return wildcard;
            }
            let rewritten = map
                .iter()
                .map(|(k, v)| (k.clone(), portable(v, mapping)))
                .collect();
            Value::Object(rewritten)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| portable(v, mapping)).collect()),
        other => other.clone(),
    }
}

/// `{"query_string": {"fields": [f], "query": q}}` as a `wildcard` query, when `f` lies under
/// a flattened field and `q` is a single term holding a wildcard.
fn as_wildcard(map: &serde_json::Map<String, Value>, mapping: &Mapping) -> Option<Value> {
    let body = match map.iter().next() {
        Some((kind, body)) if map.len() == 1 && kind == "query_string" => body.as_object()?,
        _ => return None,
    };
    if body.keys().any(|k| k != "fields" && k != "query") {
        return None;
    }
    let [field] = body.get("fields")?.as_array()?.as_slice() else {
        return None;
    };
    let field = field.as_str()?;
    mapping
        .flattened_root(field)
        .filter(|(_, key)| !key.is_empty())?;
    let pattern = wildcard_pattern(body.get("query")?.as_str()?)?;
    Some(json!({"wildcard": {field: {"value": pattern}}}))
}

/// A `query_string` term in `wildcard` query syntax: escapes removed except those of `*`, `?`
/// and `\`, which keep their meaning there. `None` when the text is not one term with a
/// wildcard (unescaped whitespace or query syntax would make it something else).
fn wildcard_pattern(query: &str) -> Option<String> {
    let mut out = String::with_capacity(query.len());
    let mut has_wildcard = false;
    let mut chars = query.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                e @ ('*' | '?' | '\\') => {
                    out.push('\\');
                    out.push(e);
                }
                e => out.push(e),
            },
            '*' | '?' => {
                has_wildcard = true;
                out.push(c);
            }
            c if c.is_whitespace() || "+-=&|><!(){}[]^\"~:/".contains(c) => return None,
            c => out.push(c),
        }
    }
    has_wildcard.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsl::Query;
    use chrono::Utc;

    fn mapping() -> Mapping {
        Mapping::from_json(&json!({"properties": {
            "rp": {"type": "flattened"},
            "action": {"type": "keyword"},
        }}))
        .unwrap()
    }

    #[test]
    fn wildcard_query_strings_on_flattened_keys_become_wildcard_queries() {
        let kql = crate::kql::translate("rp.key: (*/.aws/credentials or *.pem) and action: Get*")
            .unwrap();
        let rewritten = portable(&kql, &mapping());
        let text = rewritten.to_string();
        assert!(
            text.contains(r#"{"wildcard":{"rp.key":{"value":"*/.aws/credentials"}}}"#),
            "{text}"
        );
        assert!(
            text.contains(r#"{"wildcard":{"rp.key":{"value":"*.pem"}}}"#),
            "{text}"
        );
        assert!(
            text.contains("query_string"),
            "a keyword field keeps Kibana's query: {text}"
        );
        let (original, portable) = (
            Query::compile(&kql, &mapping()).unwrap(),
            Query::compile(&rewritten, &mapping()).unwrap(),
        );
        for doc in [
            json!({"rp": {"key": "home/.aws/credentials"}, "action": "GetObject"}),
            json!({"rp": {"key": "/.aws/credentials"}, "action": "GetObject"}),
            json!({"rp": {"key": "a.pem"}, "action": "GetObject"}),
            json!({"rp": {"key": "a.PEM"}, "action": "GetObject"}),
            json!({"rp": {"key": "a.pem.txt"}, "action": "GetObject"}),
            json!({"rp": {"other": "a.pem"}, "action": "GetObject"}),
        ] {
            assert_eq!(
                original.matches(&doc, Utc::now()),
                portable.matches(&doc, Utc::now()),
                "{doc}"
            );
        }
    }

    #[test]
    fn escapes_keep_their_meaning_and_other_queries_stay() {
        assert_eq!(wildcard_pattern(r"a\*b*"), Some(r"a\*b*".into()));
        assert_eq!(wildcard_pattern(r"\/x\-y*"), Some("/x-y*".into()));
        assert_eq!(wildcard_pattern("plain"), None, "no wildcard");
        assert_eq!(wildcard_pattern("*S3 Browser*"), None, "two terms");
        assert_eq!(wildcard_pattern("a:*"), None, "query syntax");
        let with_option = json!({"query_string": {"fields": ["rp.key"], "query": "*x", "default_operator": "AND"}});
        assert_eq!(portable(&with_option, &mapping()), with_option);
        let root = json!({"query_string": {"fields": ["rp"], "query": "*x"}});
        assert_eq!(
            portable(&root, &mapping()),
            root,
            "the flattened field itself"
        );
    }
}
