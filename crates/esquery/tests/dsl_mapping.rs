//! Mapping parsing, merging, serialisation and the mapping features that change matching.

mod common;

use chrono::{TimeZone, Utc};
use esquery::dsl::{FieldType, Mapping, Query};
use serde_json::{json, Value};

fn matches(m: &Mapping, dsl: Value, doc: Value) -> bool {
    let now = Utc.with_ymd_and_hms(2024, 5, 17, 0, 0, 0).unwrap();
    Query::compile(&dsl, m).unwrap().matches(&doc, now)
}

#[test]
fn accepts_every_wrapper_shape() {
    let props = json!({"properties": {"a": {"type": "keyword"}}});
    for body in [
        props.clone(),
        json!({ "mappings": props.clone() }),
        json!({"index_patterns": ["x-*"], "template": {"settings": {}, "mappings": props.clone()}}),
        json!({"my-index": {"mappings": props.clone()}}),
    ] {
        let m = Mapping::from_json(&body).unwrap();
        assert_eq!(m.field("a").unwrap().ty, FieldType::Keyword, "{body}");
    }
}

#[test]
fn rejects_broken_mappings() {
    assert!(Mapping::from_json(&json!("x")).is_err());
    assert!(Mapping::from_json(&json!({"properties": {"p": {"type": "scaled_float"}}})).is_err());
    assert!(Mapping::from_json(
        &json!({"properties": {"d": {"type": "date", "format": "no_such_format"}}})
    )
    .is_err());
    assert!(Mapping::from_json(&json!({"properties": {"": {"type": "keyword"}}})).is_err());
    assert!(Mapping::from_json(&json!({"dynamic_templates": [{"t": {"match": "*"}}]})).is_err());
    assert!(Mapping::from_json(&json!({"dynamic": "sometimes"})).is_err());
}

#[test]
fn cloudtrail_mapping_round_trips_and_is_an_es_mapping() {
    let m = common::cloudtrail();
    let v = m.to_json();
    assert_eq!(Mapping::from_json(&v).unwrap(), m);
    // What Elasticsearch needs to accept it as `mappings` in an index template.
    let obj = v.as_object().unwrap();
    assert!(obj.contains_key("properties"));
    assert!(obj["dynamic_templates"].is_array());
    let text = serde_json::to_string(&v).unwrap();
    assert!(
        !text.contains("default_field"),
        "default_field is a Fleet field-definition key, not a mapping parameter"
    );
    let ev = &v["properties"]["event"]["properties"];
    assert_eq!(
        ev["original"],
        json!({"type": "keyword", "index": false, "doc_values": false})
    );
    assert_eq!(ev["ingested"]["type"], "date");
    let ct = &v["properties"]["aws"]["properties"]["cloudtrail"]["properties"];
    assert_eq!(ct["request_parameters"]["ignore_above"], 8191);
    assert_eq!(ct["request_parameters"]["fields"]["text"]["type"], "text");
    assert_eq!(ct["read_only"]["type"], "boolean");
    assert_eq!(
        ct["flattened"]["properties"]["response_elements"]["type"],
        "flattened"
    );
    assert_eq!(
        v["properties"]["user_agent"]["properties"]["original"]["fields"]["text"]["type"],
        "match_only_text"
    );
}

#[test]
fn cloudtrail_field_types() {
    let m = common::cloudtrail();
    let ty = |p: &str| m.field(p).map(|f| f.ty);
    assert_eq!(ty("@timestamp"), Some(FieldType::Date));
    assert_eq!(ty("event.ingested"), Some(FieldType::Date));
    assert_eq!(ty("event.dataset"), Some(FieldType::ConstantKeyword));
    assert_eq!(ty("event.module"), Some(FieldType::ConstantKeyword));
    assert_eq!(
        ty("data_stream.namespace"),
        Some(FieldType::ConstantKeyword)
    );
    assert_eq!(ty("source.address"), Some(FieldType::Keyword));
    assert_eq!(
        ty("aws.cloudtrail.user_identity.session_context.creation_date"),
        Some(FieldType::Date)
    );
    assert_eq!(
        ty("aws.cloudtrail.user_identity.session_context.mfa_authenticated"),
        Some(FieldType::Keyword)
    );
    assert_eq!(
        ty("aws.cloudtrail.management_event"),
        Some(FieldType::Keyword)
    );
    assert_eq!(ty("aws.cloudtrail.resources.arn"), Some(FieldType::Keyword));
    assert_eq!(
        ty("aws.cloudtrail.console_login.additional_eventdata.mfa_used"),
        Some(FieldType::Boolean)
    );
    assert_eq!(ty("related.user"), Some(FieldType::Keyword));
    assert_eq!(ty("tags"), Some(FieldType::Keyword));
    assert_eq!(
        ty("user_agent.original.text"),
        Some(FieldType::MatchOnlyText)
    );
    assert_eq!(
        ty("aws.cloudtrail.flattened.request_parameters"),
        Some(FieldType::Flattened)
    );
}

#[test]
fn cloudtrail_typed_queries() {
    let m = common::cloudtrail();
    let doc = json!({
        "source": {"ip": "81.2.69.144", "address": "81.2.69.144"},
        "aws": {"cloudtrail": {"read_only": "false", "request_parameters": "{functionName=f, layers=[arn:aws:lambda:us-east-1:1:layer:x:3]}",
                "user_identity": {"session_context": {"creation_date": "2019-10-02T21:50:54.000Z"}}}},
        "user_agent": {"original": "aws-cli/1.16.248 Python/3.4.7"}
    });
    assert!(matches(
        &m,
        json!({"term": {"source.ip": "81.2.0.0/16"}}),
        doc.clone()
    ));
    assert!(matches(
        &m,
        json!({"term": {"aws.cloudtrail.read_only": false}}),
        doc.clone()
    ));
    assert!(matches(
        &m,
        json!({"match": {"aws.cloudtrail.request_parameters.text": "layers"}}),
        doc.clone()
    ));
    assert!(matches(
        &m,
        json!({"query_string": {"fields": ["aws.cloudtrail.request_parameters"], "query": "*layers=\\[*"}}),
        doc.clone()
    ));
    assert!(matches(
        &m,
        json!({"range": {"aws.cloudtrail.user_identity.session_context.creation_date": {"gte": "2019-10-02||/d", "lt": "2019-10-03"}}}),
        doc.clone()
    ));
    assert!(matches(
        &m,
        json!({"match": {"user_agent.original.text": "aws"}}),
        doc.clone()
    ));
    assert!(matches(
        &m,
        json!({"term": {"event.module": "aws"}}),
        json!({})
    ));
    // request_parameters longer than ignore_above (8191) are not indexed as keywords, but the
    // `.text` multi-field still indexes them.
    let long = format!("{{functionName=f, description={}}}", "x ".repeat(5000));
    let big = json!({"aws": {"cloudtrail": {"request_parameters": long}}});
    assert!(!matches(
        &m,
        json!({"exists": {"field": "aws.cloudtrail.request_parameters"}}),
        big.clone()
    ));
    assert!(matches(
        &m,
        json!({"match": {"aws.cloudtrail.request_parameters.text": "functionname"}}),
        big
    ));
}

#[test]
fn merge_lets_later_definitions_win() {
    let mut base = Mapping::from_json(&json!({"properties": {"a": {"type": "keyword"}, "o": {"properties": {"x": {"type": "long"}}}}})).unwrap();
    let over = Mapping::from_json(&json!({
        "dynamic_templates": [{"s": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}],
        "properties": {"a": {"type": "text"}, "o.y": {"type": "ip"}}
    }))
    .unwrap();
    base.merge(&over);
    assert_eq!(base.field("a").unwrap().ty, FieldType::Text);
    assert_eq!(base.field("o.x").unwrap().ty, FieldType::Long);
    assert_eq!(base.field("o.y").unwrap().ty, FieldType::Ip);
    assert_eq!(
        base.dynamic_mapping("new", &json!("v")).unwrap().ty,
        FieldType::Keyword
    );
}

#[test]
fn dynamic_template_placeholders_and_runtime_fields() {
    let m = Mapping::from_json(&json!({
        "dynamic_templates": [
            {"named": {"match": "*_count", "mapping": {"type": "{dynamic_type}", "meta": {"source": "{name}"}}}},
            {"rx": {"match_pattern": "regex", "match": "^ip_.*$", "mapping": {"type": "ip"}}}
        ],
        "runtime": {"rt": {"type": "keyword"}, "scripted": {"type": "long", "script": {"source": "emit(1)"}}},
        "properties": {}
    }))
    .unwrap();
    let f = m.dynamic_mapping("errors_count", &json!(3)).unwrap();
    assert_eq!(f.ty, FieldType::Long);
    assert_eq!(f.params["meta"]["source"], "errors_count");
    assert_eq!(
        m.dynamic_mapping("ip_src", &json!("1.2.3.4")).unwrap().ty,
        FieldType::Ip
    );
    assert!(matches(
        &m,
        json!({"term": {"rt": "v"}}),
        json!({"rt": "v"})
    ));
    assert!(Query::compile(&json!({"term": {"scripted": 1}}), &m).is_err());
    assert!(Mapping::from_json(&m.to_json())
        .unwrap()
        .field("rt")
        .is_some());
}

#[test]
fn aliases_copy_to_and_nested_include_in_root() {
    let m = Mapping::from_json(&json!({"properties": {
        "first": {"type": "text", "copy_to": "full"},
        "last": {"type": "text", "copy_to": "full"},
        "full": {"type": "text"},
        "who": {"type": "alias", "path": "first"},
        "items": {"type": "nested", "include_in_root": true, "properties": {"k": {"type": "keyword"}}}
    }}))
    .unwrap();
    let doc = json!({"first": "John", "last": "Smith", "items": [{"k": "a"}, {"k": "b"}]});
    assert!(matches(
        &m,
        json!({"match": {"full": "smith"}}),
        doc.clone()
    ));
    assert!(matches(&m, json!({"match": {"who": "john"}}), doc.clone()));
    assert!(matches(&m, json!({"term": {"items.k": "b"}}), doc.clone()));
}

#[test]
fn dynamic_mapping_respects_settings() {
    let m = Mapping::from_json(
        &json!({"date_detection": false, "numeric_detection": true, "properties": {}}),
    )
    .unwrap();
    assert_eq!(
        m.dynamic_mapping("d", &json!("2024-01-01")).unwrap().ty,
        FieldType::Text
    );
    assert_eq!(
        m.dynamic_mapping("n", &json!("12")).unwrap().ty,
        FieldType::Long
    );
    assert_eq!(
        m.dynamic_mapping("x", &json!("1.5")).unwrap().ty,
        FieldType::Float
    );
    let strict = Mapping::from_json(&json!({"dynamic": "strict", "properties": {}})).unwrap();
    assert!(strict.dynamic_mapping("a", &json!("v")).is_none());
    let rt = Mapping::from_json(&json!({"dynamic": "runtime", "properties": {}})).unwrap();
    assert_eq!(
        rt.dynamic_mapping("a", &json!("v")).unwrap().ty,
        FieldType::Keyword
    );
    assert!(matches(&rt, json!({"term": {"a": "v"}}), json!({"a": "v"})));
}

#[test]
fn learned_mapping_matches_like_dynamic_evaluation() {
    let doc =
        json!({"msg": "Hello World", "n": 3, "when": "2024-01-01T00:00:00Z", "tags": ["a", "b"]});
    let mut learned = Mapping::new();
    learned.update_dynamic(&doc);
    assert_eq!(learned.field("when").unwrap().ty, FieldType::Date);
    for dsl in [
        json!({"match": {"msg": "hello"}}),
        json!({"term": {"msg.keyword": "Hello World"}}),
        json!({"range": {"n": {"gt": 2}}}),
        json!({"range": {"when": {"lt": "2024-02-01"}}}),
        json!({"term": {"tags": "b"}}),
    ] {
        assert!(matches(&learned, dsl.clone(), doc.clone()), "{dsl}");
        assert!(matches(&Mapping::new(), dsl.clone(), doc.clone()), "{dsl}");
    }
}
