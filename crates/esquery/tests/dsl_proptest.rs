//! Property tests: no query, document or mapping makes the evaluator panic.

mod common;

use chrono::{TimeZone, Utc};
use esquery::dsl::{datemath, Mapping, Query};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const FIELDS: [&str; 16] = [
    "kw",
    "msg",
    "n",
    "f",
    "ts",
    "flag",
    "addr",
    "labels",
    "labels.a",
    "items",
    "items.k",
    "user.name",
    "user.name.text",
    "unmapped",
    "unmapped.keyword",
    "*",
];

const QUERY_TYPES: [&str; 24] = [
    "term",
    "terms",
    "match",
    "match_phrase",
    "match_phrase_prefix",
    "match_bool_prefix",
    "multi_match",
    "query_string",
    "simple_query_string",
    "prefix",
    "wildcard",
    "regexp",
    "fuzzy",
    "range",
    "exists",
    "ids",
    "nested",
    "bool",
    "constant_score",
    "dis_max",
    "match_all",
    "match_none",
    "boosting",
    "no_such_query",
];

fn mapping() -> Mapping {
    Mapping::from_json(&json!({"properties": {
        "kw": {"type": "keyword", "ignore_above": 8},
        "msg": {"type": "text"},
        "n": {"type": "long"},
        "f": {"type": "half_float"},
        "ts": {"type": "date"},
        "flag": {"type": "boolean"},
        "addr": {"type": "ip"},
        "labels": {"type": "flattened"},
        "items": {"type": "nested", "properties": {"k": {"type": "keyword"}}},
        "user": {"properties": {"name": {"type": "keyword", "fields": {"text": {"type": "match_only_text"}}}}}
    }}))
    .unwrap()
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 *?:._/\\\\\\-+!(){}\\[\\]\"~^<>=|&@#]{0,24}",
        Just("now-1d/d".to_string()),
        Just("2024-01-01||+1M/d".to_string()),
        Just("10.0.0.0/8".to_string()),
        Just("a AND (b OR c:*)".to_string()),
        Just("[1 TO *]".to_string()),
        ".{0,12}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::String),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(FIELDS.to_vec()).prop_map(str::to_string),
        prop::sample::select(vec![
            "query",
            "value",
            "fields",
            "gte",
            "lt",
            "gt",
            "lte",
            "operator",
            "minimum_should_match",
            "path",
            "must",
            "should",
            "filter",
            "must_not",
            "field",
            "format",
            "time_zone",
            "slop",
            "fuzziness",
            "case_insensitive",
            "lenient",
            "zero_terms_query",
            "default_field",
            "analyze_wildcard",
            "flags",
            "type",
        ])
        .prop_map(str::to_string),
        "[a-z.]{1,6}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Structured queries: a known query type over a known field, with random parameters.
fn query() -> impl Strategy<Value = Value> {
    let leaf_query = (
        prop::sample::select(QUERY_TYPES.to_vec()),
        prop::sample::select(FIELDS.to_vec()),
        json_value(),
    )
        .prop_map(|(qt, field, v)| match qt {
            "query_string" | "simple_query_string" | "multi_match" => {
                json!({ qt: {"query": v, "fields": [field]} })
            }
            "exists" => json!({ qt: {"field": field} }),
            "ids" => json!({ qt: {"values": [v]} }),
            "nested" => json!({ qt: {"path": field, "query": {"term": {field: v}}} }),
            _ => json!({ qt: { field: v } }),
        });
    leaf_query.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..3), prop::collection::vec(inner.clone(), 0..3), leaf())
                .prop_map(|(must, should, msm)| json!({"bool": {"must": must, "should": should, "minimum_should_match": msm}})),
            inner.clone().prop_map(|q| json!({"constant_score": {"filter": q}})),
            inner.prop_map(|q| json!({"nested": {"path": "items", "query": q}})),
        ]
    })
}

fn doc() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(FIELDS.to_vec()), json_value()), 0..8)
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

proptest! {
    // Failures are turned into explicit regression tests in dsl_eval.rs rather than persisted.
    #![proptest_config(ProptestConfig { cases: 384, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn structured_queries_never_panic(q in query(), docs in prop::collection::vec(doc(), 1..4)) {
        let now = Utc.with_ymd_and_hms(2024, 5, 17, 0, 0, 0).unwrap();
        for m in [mapping(), common::cloudtrail(), Mapping::new()] {
            if let Ok(compiled) = Query::compile(&q, &m) {
                for d in &docs {
                    let _ = compiled.matches(d, now);
                }
                let _ = compiled.fields();
            }
        }
    }

    #[test]
    fn arbitrary_json_never_panics(q in json_value(), d in json_value()) {
        let now = Utc::now();
        if let Ok(compiled) = Query::compile(&q, &mapping()) {
            let _ = compiled.matches(&d, now);
        }
        let _ = Mapping::from_json(&q);
    }

    #[test]
    fn query_strings_never_panic(s in text(), d in doc()) {
        let now = Utc::now();
        for body in [
            json!({"query_string": {"query": s.clone()}}),
            json!({"query_string": {"query": s.clone(), "fields": ["kw", "msg"], "analyze_wildcard": true}}),
            json!({"simple_query_string": {"query": s.clone()}}),
            json!({"range": {"ts": {"gte": s.clone()}}}),
            json!({"regexp": {"kw": s.clone()}}),
        ] {
            if let Ok(q) = Query::compile(&body, &mapping()) {
                let _ = q.matches(&d, now);
            }
        }
        let _ = datemath::parse(&s, now, true);
    }

    #[test]
    fn mappings_learned_from_documents_never_panic(d in doc()) {
        let mut m = Mapping::new();
        m.update_dynamic(&d);
        let again = Mapping::from_json(&m.to_json());
        prop_assert!(again.is_ok());
    }
}
