//! Query DSL evaluation against documents, pinned to documented Elasticsearch behaviour.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use esquery::dsl::{DocMeta, DslError, Mapping, Query};
use serde_json::{json, Value};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 17, 13, 45, 10).unwrap()
}

fn mapping(props: Value) -> Mapping {
    Mapping::from_json(&json!({ "properties": props })).unwrap()
}

fn test_mapping() -> Mapping {
    mapping(json!({
        "kw": {"type": "keyword"},
        "short_kw": {"type": "keyword", "ignore_above": 5},
        "lc": {"type": "keyword", "normalizer": "lowercase"},
        "msg": {"type": "text"},
        "mot": {"type": "match_only_text"},
        "n": {"type": "long"},
        "i": {"type": "integer"},
        "b": {"type": "byte"},
        "f": {"type": "float"},
        "d": {"type": "double"},
        "price": {"type": "scaled_float", "scaling_factor": 100},
        "ts": {"type": "date"},
        "tsn": {"type": "date_nanos"},
        "day": {"type": "date", "format": "yyyy/MM/dd"},
        "flag": {"type": "boolean"},
        "addr": {"type": "ip"},
        "wc": {"type": "wildcard"},
        "ck": {"type": "constant_keyword", "value": "fixed"},
        "ck_unset": {"type": "constant_keyword"},
        "labels": {"type": "flattened"},
        "user": {"properties": {"name": {"type": "keyword", "fields": {"text": {"type": "text"}}}}},
        "items": {"type": "nested", "properties": {"k": {"type": "keyword"}, "v": {"type": "long"}}},
        "hidden": {"type": "keyword", "index": false, "doc_values": false},
        "dv_only": {"type": "keyword", "index": false},
        "closed": {"type": "object", "dynamic": false, "properties": {"known": {"type": "keyword"}}},
        "nv": {"type": "keyword", "null_value": "NULL"}
    }))
}

fn compile(dsl: Value, m: &Mapping) -> Query {
    Query::compile(&dsl, m).unwrap_or_else(|e| panic!("compile {dsl}: {e}"))
}

fn hit(dsl: Value, doc: Value) -> bool {
    compile(dsl, &test_mapping()).matches(&doc, now())
}

fn err(dsl: Value) -> DslError {
    match Query::compile(&dsl, &test_mapping()) {
        Ok(_) => panic!("expected an error for {dsl}"),
        Err(e) => e,
    }
}

const SEED_PREFILTER: &str = r#"{"bool":{"filter":[{"bool":{"should":[{"match":{"data_stream.dataset":"aws.cloudtrail"}}],"minimum_should_match":1}},{"bool":{"should":[{"match":{"event.provider":"lambda.amazonaws.com"}}],"minimum_should_match":1}},{"bool":{"should":[{"match":{"event.outcome":"success"}}],"minimum_should_match":1}},{"bool":{"should":[{"bool":{"should":[{"query_string":{"fields":["event.action"],"query":"PublishLayerVersion*"}}],"minimum_should_match":1}},{"bool":{"should":[{"query_string":{"fields":["event.action"],"query":"UpdateFunctionConfiguration*"}}],"minimum_should_match":1}}],"minimum_should_match":1}}]}}"#;

fn seed() -> Query {
    let dsl: Value = serde_json::from_str(SEED_PREFILTER).unwrap();
    Query::compile(&dsl, &common::cloudtrail()).unwrap()
}

fn ecs_doc(action: &str) -> Value {
    json!({
        "@timestamp": "2024-05-17T13:40:00.000Z",
        "data_stream": {"dataset": "aws.cloudtrail", "type": "logs", "namespace": "default"},
        "event": {"action": action, "provider": "lambda.amazonaws.com", "outcome": "success", "kind": "event"},
        "aws": {"cloudtrail": {"flattened": {"response_elements": {"layers": [{"arn": "arn:aws:lambda:us-east-1:1:layer:x:3", "codeSize": 123}]}}}}
    })
}

#[test]
fn seed_prefilter_matches_lambda_layer_events() {
    let q = seed();
    assert!(q.matches(&ecs_doc("UpdateFunctionConfiguration20150331v2"), now()));
    assert!(q.matches(&ecs_doc("PublishLayerVersion20181031"), now()));
    // event.action is a keyword: the wildcard is case-sensitive on the whole value.
    assert!(!q.matches(&ecs_doc("updatefunctionconfiguration20150331v2"), now()));
    assert!(!q.matches(&ecs_doc("CreateFunction20150331"), now()));
    assert!(!q.matches(&ecs_doc("XUpdateFunctionConfiguration"), now()));
}

#[test]
fn seed_prefilter_checks_provider_and_outcome_exactly() {
    let q = seed();
    let mut failed = ecs_doc("UpdateFunctionConfiguration20150331v2");
    failed["event"]["outcome"] = json!("failure");
    assert!(!q.matches(&failed, now()));
    let mut other = ecs_doc("UpdateFunctionConfiguration20150331v2");
    other["event"]["provider"] = json!("Lambda.amazonaws.com");
    assert!(!q.matches(&other, now()));
    let mut missing = ecs_doc("UpdateFunctionConfiguration20150331v2");
    missing["event"].as_object_mut().unwrap().remove("provider");
    assert!(!q.matches(&missing, now()));
}

#[test]
fn seed_prefilter_on_dotted_documents_and_constant_dataset() {
    let q = seed();
    let dotted = json!({
        "event.action": "UpdateFunctionConfiguration20150331v2",
        "event.provider": "lambda.amazonaws.com",
        "event.outcome": ["success"]
    });
    // data_stream.dataset is a constant_keyword with value aws.cloudtrail in the data stream's
    // mapping: every document of the index has it, whether or not _source carries it.
    assert!(q.matches(&dotted, now()));
    assert_eq!(
        q.fields(),
        [
            "data_stream.dataset",
            "event.action",
            "event.outcome",
            "event.provider"
        ]
    );
}

#[test]
fn bool_minimum_should_match_defaults() {
    let doc = json!({"kw": "a"});
    // should alone: at least one must match.
    assert!(!hit(
        json!({"bool": {"should": [{"term": {"kw": "x"}}]}}),
        doc.clone()
    ));
    // with a filter, should clauses are optional.
    assert!(hit(
        json!({"bool": {"filter": [{"term": {"kw": "a"}}], "should": [{"term": {"kw": "x"}}]}}),
        doc.clone()
    ));
    // ...unless minimum_should_match says otherwise.
    assert!(!hit(
        json!({"bool": {"filter": {"term": {"kw": "a"}}, "should": [{"term": {"kw": "x"}}], "minimum_should_match": 1}}),
        doc.clone()
    ));
    // should with must_not only: still one should clause needed.
    assert!(!hit(
        json!({"bool": {"must_not": [{"term": {"kw": "z"}}], "should": [{"term": {"kw": "x"}}]}}),
        doc.clone()
    ));
    assert!(hit(
        json!({"bool": {"must_not": [{"term": {"kw": "z"}}]}}),
        doc.clone()
    ));
    assert!(hit(json!({"bool": {}}), doc.clone()));
    assert!(hit(
        json!({"bool": {"must": [], "filter": [], "should": [], "must_not": []}}),
        doc.clone()
    ));
    // a minimum above the number of should clauses matches nothing.
    assert!(!hit(
        json!({"bool": {"must": [{"term": {"kw": "a"}}], "minimum_should_match": 1}}),
        doc.clone()
    ));
}

#[test]
fn bool_minimum_should_match_forms() {
    let doc = json!({"kw": ["a", "b", "c"]});
    let shoulds = |msm: Value| {
        json!({"bool": {"should": [
            {"term": {"kw": "a"}}, {"term": {"kw": "b"}}, {"term": {"kw": "x"}}, {"term": {"kw": "y"}}
        ], "minimum_should_match": msm}})
    };
    assert!(hit(shoulds(json!(2)), doc.clone()));
    assert!(!hit(shoulds(json!(3)), doc.clone()));
    assert!(hit(shoulds(json!("50%")), doc.clone()));
    assert!(!hit(shoulds(json!("75%")), doc.clone()));
    assert!(hit(shoulds(json!("-2")), doc.clone()));
    assert!(!hit(shoulds(json!("-25%")), doc.clone()));
    assert!(hit(shoulds(json!("3<50%")), doc.clone()));
}

#[test]
fn match_on_keyword_is_whole_value_and_on_text_is_analysed() {
    assert!(hit(
        json!({"match": {"kw": "Hello World"}}),
        json!({"kw": "Hello World"})
    ));
    assert!(!hit(
        json!({"match": {"kw": "hello world"}}),
        json!({"kw": "Hello World"})
    ));
    assert!(!hit(
        json!({"match": {"kw": "Hello"}}),
        json!({"kw": "Hello World"})
    ));
    assert!(hit(
        json!({"match": {"msg": "HELLO"}}),
        json!({"msg": "Hello, world!"})
    ));
    assert!(hit(
        json!({"match": {"msg": "goodbye world"}}),
        json!({"msg": "Hello, world!"})
    ));
    assert!(!hit(
        json!({"match": {"msg": {"query": "goodbye world", "operator": "and"}}}),
        json!({"msg": "Hello, world!"})
    ));
    assert!(hit(
        json!({"match": {"msg": {"query": "hello world", "operator": "AND"}}}),
        json!({"msg": ["hello there", "big world"]})
    ));
    assert!(hit(
        json!({"match": {"mot": "world"}}),
        json!({"mot": "Hello World"})
    ));
    assert!(hit(
        json!({"match": {"msg": {"query": "a b c d", "minimum_should_match": "50%"}}}),
        json!({"msg": "a x c"})
    ));
    assert!(!hit(
        json!({"match": {"msg": {"query": "a b c d", "minimum_should_match": 3}}}),
        json!({"msg": "a x c"})
    ));
    // the normalizer applies to query and values
    assert!(hit(
        json!({"match": {"lc": "MiXeD"}}),
        json!({"lc": "mixed"})
    ));
}

#[test]
fn match_zero_terms_query() {
    assert!(!hit(json!({"match": {"msg": "!!!"}}), json!({"msg": "x"})));
    assert!(hit(
        json!({"match": {"msg": {"query": "!!!", "zero_terms_query": "all"}}}),
        json!({"other": 1})
    ));
}

#[test]
fn match_on_typed_fields_parses_the_query() {
    assert!(hit(json!({"match": {"n": "42"}}), json!({"n": 42})));
    assert!(hit(json!({"match": {"n": 42}}), json!({"n": "42"})));
    assert!(hit(
        json!({"match": {"flag": "true"}}),
        json!({"flag": true})
    ));
    assert!(hit(
        json!({"match": {"flag": true}}),
        json!({"flag": "true"})
    ));
    assert!(!hit(
        json!({"match": {"flag": false}}),
        json!({"flag": "true"})
    ));
    assert!(hit(
        json!({"match": {"addr": "10.0.0.0/8"}}),
        json!({"addr": "10.1.2.3"})
    ));
    assert!(hit(
        json!({"match": {"ts": "2024-05-17"}}),
        json!({"ts": "2024-05-17T23:59:59.999Z"})
    ));
    assert!(!hit(
        json!({"match": {"ts": "2024-05-17"}}),
        json!({"ts": "2024-05-18T00:00:00Z"})
    ));
    assert!(!hit(
        json!({"match": {"n": {"query": "abc", "lenient": true}}}),
        json!({"n": 1})
    ));
    assert!(matches!(
        err(json!({"match": {"n": "abc"}})),
        DslError::InvalidValue { .. }
    ));
}

#[test]
fn match_phrase_needs_consecutive_tokens() {
    let doc = json!({"msg": "The quick brown fox"});
    assert!(hit(
        json!({"match_phrase": {"msg": "quick brown"}}),
        doc.clone()
    ));
    assert!(hit(
        json!({"match_phrase": {"msg": "QUICK, brown!"}}),
        doc.clone()
    ));
    assert!(!hit(
        json!({"match_phrase": {"msg": "brown quick"}}),
        doc.clone()
    ));
    assert!(!hit(
        json!({"match_phrase": {"msg": "quick fox"}}),
        doc.clone()
    ));
    assert!(hit(
        json!({"match_phrase": {"msg": {"query": "quick fox", "slop": 1}}}),
        doc.clone()
    ));
    // phrases do not cross values of an array
    assert!(!hit(
        json!({"match_phrase": {"msg": "brown fox"}}),
        json!({"msg": ["quick brown", "fox"]})
    ));
    assert!(hit(
        json!({"match_phrase": {"kw": "a b"}}),
        json!({"kw": "a b"})
    ));
    assert!(!hit(
        json!({"match_phrase": {"kw": "a"}}),
        json!({"kw": "a b"})
    ));
    assert!(hit(
        json!({"match_phrase_prefix": {"msg": "quick bro"}}),
        doc.clone()
    ));
    assert!(hit(
        json!({"match_phrase_prefix": {"kw": "Upd"}}),
        json!({"kw": "Update"})
    ));
    assert!(hit(json!({"match_bool_prefix": {"msg": "fox qui"}}), doc));
}

#[test]
fn multi_match_defaults_to_all_fields_and_is_lenient() {
    let doc = json!({"n": 200, "kw": "x", "msg": "hello"});
    assert!(hit(
        json!({"multi_match": {"query": 200, "type": "best_fields", "lenient": true}}),
        doc.clone()
    ));
    assert!(hit(json!({"multi_match": {"query": "200"}}), doc.clone()));
    assert!(hit(json!({"multi_match": {"query": "HELLO"}}), doc.clone()));
    assert!(!hit(
        json!({"multi_match": {"query": "nothing"}}),
        doc.clone()
    ));
    assert!(hit(
        json!({"multi_match": {"query": "hello", "fields": ["kw", "msg^2"]}}),
        doc.clone()
    ));
    assert!(!hit(
        json!({"multi_match": {"query": "hello", "fields": ["kw"]}}),
        doc.clone()
    ));
    assert!(hit(
        json!({"multi_match": {"query": "x", "fields": ["k*"]}}),
        doc.clone()
    ));
    assert!(hit(
        json!({"multi_match": {"query": "hello x", "fields": ["kw", "msg"], "type": "cross_fields", "operator": "and"}}),
        doc.clone()
    ));
    // an unmapped field found through `*` is typed dynamically
    assert!(hit(
        json!({"multi_match": {"query": "dynamic"}}),
        json!({"extra": "Dynamic value"})
    ));
    assert!(matches!(
        err(json!({"multi_match": {"query": "abc", "fields": ["n"]}})),
        DslError::InvalidValue { .. }
    ));
}

#[test]
fn query_string_as_kibana_emits_it() {
    let on = |query: &str, doc: Value| {
        hit(
            json!({"query_string": {"fields": ["kw"], "query": query}}),
            doc,
        )
    };
    assert!(on("Publish*", json!({"kw": "PublishLayerVersion"})));
    assert!(!on("publish*", json!({"kw": "PublishLayerVersion"})));
    assert!(on("*Layer*", json!({"kw": "PublishLayerVersion"})));
    assert!(on("Pub?ish*", json!({"kw": "PublishLayerVersion"})));
    // Kibana escapes reserved characters: lambda\.amazonaws... keeps the dot literal.
    assert!(on(
        "lambda\\.amazonaws\\.com*",
        json!({"kw": "lambda.amazonaws.com"})
    ));
    assert!(on(
        "arn\\:aws\\:lambda*",
        json!({"kw": "arn:aws:lambda:us-east-1"})
    ));
    assert!(on("a\\-b\\/c*", json!({"kw": "a-b/c-d"})));
    assert!(on("star\\*", json!({"kw": "star*"})));
    assert!(!on("star\\*", json!({"kw": "stars"})));
    // on text, wildcards apply per token after lower-casing
    let text = |query: &str, doc: Value| {
        hit(
            json!({"query_string": {"fields": ["msg"], "query": query}}),
            doc,
        )
    };
    assert!(text("Quic*", json!({"msg": "The Quick fox"})));
    assert!(text("f?x", json!({"msg": "The Quick fox"})));
    assert!(!text("quick*fox", json!({"msg": "The Quick fox"})));
    assert!(text("QUICK", json!({"msg": "The Quick fox"})));
}

#[test]
fn query_string_boolean_syntax_and_fields() {
    let doc = json!({"kw": "a", "n": 5, "msg": "hello world", "user": {"name": "Alice"}});
    let qs = |query: &str| hit(json!({"query_string": {"query": query}}), doc.clone());
    assert!(qs("kw:a AND n:5"));
    assert!(!qs("kw:a AND n:6"));
    assert!(qs("kw:b OR n:5"));
    assert!(qs("kw:a AND NOT n:6"));
    assert!(!qs("kw:a AND -n:5"));
    assert!(qs("+kw:a -kw:b"));
    assert!(qs("kw:(x OR a)"));
    assert!(qs("n:[1 TO 5]"));
    assert!(!qs("n:{1 TO 5}"));
    assert!(qs("n:>=5"));
    assert!(!qs("n:>5"));
    assert!(qs("msg:\"hello world\""));
    assert!(!qs("msg:\"world hello\""));
    assert!(qs("_exists_:kw"));
    assert!(!qs("_exists_:nope"));
    assert!(qs("kw:*"));
    assert!(qs("*:*"));
    assert!(qs("*"));
    assert!(qs("hello"));
    assert!(qs("user.name.text:alice"));
    assert!(!qs("user.name:alice"));
    assert!(qs("user.\\*:Alice") || qs("user.name:Alice"));
    assert!(qs("user.*:Alice"));
    assert!(qs("msg:/hel+o/"));
    assert!(qs("msg:helo~1"));
    assert!(!qs(""));
    assert!(!hit(
        json!({"query_string": {"query": "hello nothing", "default_field": "msg", "default_operator": "AND"}}),
        doc.clone()
    ));
    assert!(hit(
        json!({"query_string": {"query": "hello nothing", "default_field": "msg"}}),
        doc.clone()
    ));
    assert!(!hit(
        json!({"query_string": {"query": "hello nothing", "default_field": "msg", "minimum_should_match": 2}}),
        doc.clone()
    ));
    assert!(matches!(
        err(json!({"query_string": {"query": "kw:(a"}})),
        DslError::Malformed { .. }
    ));
}

#[test]
fn term_level_queries_are_not_analysed() {
    assert!(hit(json!({"term": {"kw": "Foo"}}), json!({"kw": "Foo"})));
    assert!(!hit(json!({"term": {"kw": "foo"}}), json!({"kw": "Foo"})));
    assert!(hit(
        json!({"term": {"kw": {"value": "foo", "case_insensitive": true}}}),
        json!({"kw": "Foo"})
    ));
    // on text, a term compares with the (lower-cased) tokens
    assert!(!hit(
        json!({"term": {"msg": "Quick"}}),
        json!({"msg": "Quick fox"})
    ));
    assert!(hit(
        json!({"term": {"msg": "quick"}}),
        json!({"msg": "Quick fox"})
    ));
    assert!(!hit(
        json!({"term": {"msg": "quick fox"}}),
        json!({"msg": "Quick fox"})
    ));
    assert!(hit(
        json!({"terms": {"kw": ["x", "Foo"]}}),
        json!({"kw": "Foo"})
    ));
    assert!(hit(json!({"term": {"kw": 12}}), json!({"kw": "12"})));
    assert!(hit(json!({"term": {"kw": "12"}}), json!({"kw": 12})));
    assert!(hit(json!({"term": {"n": "7"}}), json!({"n": 7})));
    assert!(!hit(json!({"term": {"n": 7.5}}), json!({"n": 7})));
    assert!(hit(json!({"term": {"i": 7}}), json!({"i": 7.9})));
    assert!(hit(json!({"term": {"f": 0.1}}), json!({"f": 0.1})));
    assert!(hit(
        json!({"term": {"price": 10.5}}),
        json!({"price": "10.50"})
    ));
    assert!(hit(
        json!({"term": {"flag": false}}),
        json!({"flag": "false"})
    ));
    assert!(hit(
        json!({"term": {"addr": "192.168.0.0/16"}}),
        json!({"addr": "192.168.3.4"})
    ));
    assert!(!hit(
        json!({"term": {"addr": "192.168.0.0/16"}}),
        json!({"addr": "192.169.3.4"})
    ));
    assert!(hit(
        json!({"term": {"addr": "::ffff:1.2.3.4"}}),
        json!({"addr": "1.2.3.4"})
    ));
    assert!(hit(json!({"term": {"wc": "a*b"}}), json!({"wc": "a*b"})));
    assert!(matches!(
        err(json!({"term": {"b": 300}})),
        DslError::InvalidValue { .. }
    ));
    assert!(matches!(
        err(json!({"term": {"addr": "nope"}})),
        DslError::InvalidValue { .. }
    ));
    assert!(matches!(
        err(json!({"term": {"kw": null}})),
        DslError::Malformed { .. }
    ));
}

#[test]
fn prefix_wildcard_regexp_fuzzy() {
    assert!(hit(
        json!({"prefix": {"kw": "Upd"}}),
        json!({"kw": "Update"})
    ));
    assert!(!hit(
        json!({"prefix": {"kw": "upd"}}),
        json!({"kw": "Update"})
    ));
    assert!(hit(
        json!({"prefix": {"kw": {"value": "upd", "case_insensitive": true}}}),
        json!({"kw": "Update"})
    ));
    assert!(hit(
        json!({"prefix": {"msg": "qui"}}),
        json!({"msg": "The Quick"})
    ));
    assert!(!hit(
        json!({"prefix": {"msg": "Qui"}}),
        json!({"msg": "The Quick"})
    ));
    assert!(hit(
        json!({"wildcard": {"kw": {"value": "*Layer*"}}}),
        json!({"kw": "PublishLayerVersion"})
    ));
    assert!(hit(
        json!({"wildcard": {"kw": {"wildcard": "*layer*", "case_insensitive": true}}}),
        json!({"kw": "PublishLayerVersion"})
    ));
    assert!(hit(
        json!({"wildcard": {"msg": "qu?ck"}}),
        json!({"msg": "The Quick"})
    ));
    assert!(hit(
        json!({"regexp": {"kw": "Pub.*[0-9]+"}}),
        json!({"kw": "PublishLayerVersion20181031"})
    ));
    assert!(!hit(
        json!({"regexp": {"kw": "Pub"}}),
        json!({"kw": "PublishLayerVersion20181031"})
    ));
    assert!(hit(
        json!({"regexp": {"kw": {"value": "pub.*", "case_insensitive": true}}}),
        json!({"kw": "PublishLayer"})
    ));
    assert!(hit(
        json!({"fuzzy": {"kw": "Updte"}}),
        json!({"kw": "Update"})
    ));
    assert!(matches!(
        err(json!({"prefix": {"n": "1"}})),
        DslError::InvalidValue { .. }
    ));
    assert!(matches!(
        err(json!({"wildcard": {"ts": "2*"}})),
        DslError::InvalidValue { .. }
    ));
    assert!(matches!(
        err(json!({"regexp": {"kw": "a~b"}})),
        DslError::UnsupportedFeature { .. }
    ));
}

#[test]
fn range_on_numbers_and_keywords() {
    assert!(hit(
        json!({"range": {"n": {"gte": 5, "lt": 10}}}),
        json!({"n": 5})
    ));
    assert!(!hit(json!({"range": {"n": {"gt": 5}}}), json!({"n": 5})));
    assert!(hit(json!({"range": {"n": {"gt": 4.5}}}), json!({"n": 5})));
    assert!(!hit(json!({"range": {"n": {"lt": 4.5}}}), json!({"n": 5})));
    assert!(hit(
        json!({"range": {"n": {"gt": "4"}}}),
        json!({"n": [1, 9]})
    ));
    assert!(hit(
        json!({"range": {"n": {"from": 5, "to": 5, "include_upper": true}}}),
        json!({"n": 5})
    ));
    assert!(hit(
        json!({"range": {"d": {"gte": 0.5, "lte": 0.5}}}),
        json!({"d": 0.5})
    ));
    assert!(hit(
        json!({"range": {"kw": {"gte": "b", "lt": "c"}}}),
        json!({"kw": "bzz"})
    ));
    assert!(!hit(
        json!({"range": {"kw": {"gte": "b", "lt": "c"}}}),
        json!({"kw": "c"})
    ));
    assert!(hit(
        json!({"range": {"addr": {"gte": "10.0.0.0", "lte": "10.255.255.255"}}}),
        json!({"addr": "10.2.3.4"})
    ));
    assert!(hit(
        json!({"range": {"flag": {"gt": false}}}),
        json!({"flag": true})
    ));
    match err(json!({"range": {"n": {"foo": 1}}})) {
        e @ DslError::Malformed { .. } => {
            assert_eq!(e.to_string(), "[range] query does not support [foo]")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn range_on_dates_with_date_math_and_rounding() {
    let doc = |t: &str| json!({ "ts": t });
    // now = 2024-05-17T13:45:10Z
    assert!(hit(
        json!({"range": {"ts": {"gte": "now-6m"}}}),
        doc("2024-05-17T13:39:10Z")
    ));
    assert!(!hit(
        json!({"range": {"ts": {"gte": "now-6m"}}}),
        doc("2024-05-17T13:39:09.999Z")
    ));
    // gt rounds up: excludes the whole day
    assert!(!hit(
        json!({"range": {"ts": {"gt": "now/d"}}}),
        doc("2024-05-17T20:00:00Z")
    ));
    assert!(hit(
        json!({"range": {"ts": {"gt": "now/d"}}}),
        doc("2024-05-18T00:00:00Z")
    ));
    // gte rounds down: includes the whole day
    assert!(hit(
        json!({"range": {"ts": {"gte": "now/d"}}}),
        doc("2024-05-17T00:00:00Z")
    ));
    // lte rounds up, lt rounds down
    assert!(hit(
        json!({"range": {"ts": {"lte": "now/d"}}}),
        doc("2024-05-17T23:59:59.999Z")
    ));
    assert!(!hit(
        json!({"range": {"ts": {"lt": "now/d"}}}),
        doc("2024-05-17T00:00:00Z")
    ));
    assert!(hit(
        json!({"range": {"ts": {"gte": "2024-05-01||/M", "lt": "2024-05-01||+1M/M"}}}),
        doc("2024-05-31T10:00:00Z")
    ));
    // lte with a date and no time covers the whole day
    assert!(hit(
        json!({"range": {"ts": {"lte": "2024-05-17"}}}),
        doc("2024-05-17T12:00:00Z")
    ));
    // Kibana's `@timestamp:"…"` translation: gte/lte on the same second covers its milliseconds
    assert!(hit(
        json!({"range": {"ts": {"gte": "2024-05-17T13:04:17", "lte": "2024-05-17T13:04:17"}}}),
        doc("2024-05-17T13:04:17.500Z")
    ));
    assert!(hit(
        json!({"range": {"ts": {"gt": 1715900000000_i64}}}),
        doc("2024-05-17T13:45:10Z")
    ));
    assert!(hit(
        json!({"range": {"ts": {"gte": "1715953510000"}}}),
        json!({"ts": 1715953510000_i64})
    ));
    assert!(hit(
        json!({"range": {"ts": {"gte": "17/05/2024", "format": "dd/MM/yyyy"}}}),
        doc("2024-05-17T00:00:00Z")
    ));
    assert!(hit(
        json!({"range": {"ts": {"gte": "2024-05-17T15:00:00", "time_zone": "+02:00"}}}),
        doc("2024-05-17T13:00:00Z")
    ));
    assert!(!hit(
        json!({"range": {"ts": {"gte": "2024-05-17T15:00:00", "time_zone": "+02:00"}}}),
        doc("2024-05-17T12:59:59Z")
    ));
    assert!(hit(
        json!({"range": {"day": {"gte": "2024/05/17"}}}),
        json!({"day": "2024/05/17"})
    ));
    assert!(hit(
        json!({"range": {"tsn": {"gt": "2024-05-17T13:00:00.000000001Z"}}}),
        json!({"tsn": "2024-05-17T13:00:00.000000002Z"})
    ));
    assert!(!hit(
        json!({"range": {"tsn": {"gt": "2024-05-17T13:00:00.000000001Z"}}}),
        json!({"tsn": "2024-05-17T13:00:00.000000001Z"})
    ));
    assert!(matches!(
        err(json!({"range": {"ts": {"gte": "2024-05-17", "time_zone": "America/Phoenix"}}})),
        DslError::UnsupportedFeature { .. }
    ));
    assert!(matches!(
        err(json!({"range": {"ts": {"gte": "yesterday"}}})),
        DslError::DateParse { .. }
    ));
}

#[test]
fn exists_follows_indexing() {
    let e = |field: &str, doc: Value| hit(json!({"exists": {"field": field}}), doc);
    assert!(e("kw", json!({"kw": "x"})));
    assert!(e("kw", json!({"kw": ""})));
    assert!(e("kw", json!({"kw": [null, "x"]})));
    assert!(!e("kw", json!({"kw": null})));
    assert!(!e("kw", json!({"kw": []})));
    assert!(!e("kw", json!({"other": 1})));
    assert!(!e("short_kw", json!({"short_kw": "too long"})));
    assert!(e("short_kw", json!({"short_kw": "short"})));
    assert!(e("nv", json!({"nv": null})));
    assert!(e("user", json!({"user": {"name": "a"}})));
    assert!(!e("user", json!({"user": {"name": null}})));
    assert!(!e("n", json!({"n": "not a number"})));
    assert!(e("user.*", json!({"user": {"name": "a"}})));
    assert!(!e("hidden", json!({"hidden": "x"})));
}

#[test]
fn ignore_above_values_do_not_match() {
    assert!(!hit(
        json!({"term": {"short_kw": "too long"}}),
        json!({"short_kw": "too long"})
    ));
    assert!(hit(
        json!({"term": {"short_kw": "ok"}}),
        json!({"short_kw": ["too long", "ok"]})
    ));
    assert!(hit(json!({"term": {"nv": "NULL"}}), json!({"nv": null})));
}

#[test]
fn nested_objects_match_as_a_whole() {
    let doc = json!({"items": [{"k": "a", "v": 1}, {"k": "b", "v": 2}]});
    let both = |k: &str, v: i64| {
        json!({"nested": {"path": "items", "query": {"bool": {"must": [
            {"term": {"items.k": k}}, {"term": {"items.v": v}}
        ]}}, "score_mode": "none"}})
    };
    assert!(hit(both("a", 1), doc.clone()));
    assert!(hit(both("b", 2), doc.clone()));
    assert!(!hit(both("a", 2), doc.clone()));
    // nested fields are not visible without a nested query
    assert!(!hit(json!({"term": {"items.k": "a"}}), doc.clone()));
    assert!(!hit(
        json!({"nested": {"path": "nope", "query": {"match_all": {}}, "ignore_unmapped": true}}),
        doc.clone()
    ));
    assert!(matches!(
        err(json!({"nested": {"path": "nope", "query": {"match_all": {}}}})),
        DslError::Malformed { .. }
    ));
    assert!(matches!(
        err(json!({"nested": {"path": "user", "query": {"match_all": {}}}})),
        DslError::Malformed { .. }
    ));
    assert!(!hit(
        json!({"nested": {"path": "items", "query": {"match_all": {}}}}),
        json!({"items": []})
    ));
}

#[test]
fn flattened_fields() {
    let doc = json!({"labels": {"release": ["v1", "v2"], "priority": 3, "deep": {"key": "x"}, "a.b": "dotted"}});
    assert!(hit(json!({"term": {"labels.release": "v2"}}), doc.clone()));
    assert!(hit(json!({"term": {"labels.priority": "3"}}), doc.clone()));
    assert!(hit(json!({"term": {"labels.deep.key": "x"}}), doc.clone()));
    assert!(hit(json!({"term": {"labels.a.b": "dotted"}}), doc.clone()));
    assert!(!hit(json!({"term": {"labels.deep": "x"}}), doc.clone()));
    assert!(hit(json!({"term": {"labels": "x"}}), doc.clone()));
    assert!(hit(json!({"term": {"labels": "3"}}), doc.clone()));
    assert!(!hit(json!({"term": {"labels": "V1"}}), doc.clone()));
    assert!(hit(
        json!({"exists": {"field": "labels.deep.key"}}),
        doc.clone()
    ));
    assert!(!hit(
        json!({"exists": {"field": "labels.deep"}}),
        doc.clone()
    ));
    assert!(!hit(
        json!({"exists": {"field": "labels.nope"}}),
        doc.clone()
    ));
    // ranges on flattened values are lexicographic: "3" > "10"
    assert!(hit(
        json!({"range": {"labels.priority": {"gt": "10"}}}),
        doc.clone()
    ));
    assert!(hit(
        json!({"query_string": {"fields": ["labels.release"], "query": "v*"}}),
        doc.clone()
    ));
    assert!(hit(json!({"match": {"labels.release": "v1"}}), doc));
}

#[test]
fn cloudtrail_flattened_layers() {
    let q = Query::compile(
        &json!({"exists": {"field": "aws.cloudtrail.flattened.response_elements.layers.arn"}}),
        &common::cloudtrail(),
    )
    .unwrap();
    assert!(q.matches(&ecs_doc("UpdateFunctionConfiguration20150331v2"), now()));
    let no_layers =
        json!({"aws": {"cloudtrail": {"flattened": {"response_elements": {"functionName": "f"}}}}});
    assert!(!q.matches(&no_layers, now()));
    let code_size = Query::compile(
        &json!({"term": {"aws.cloudtrail.flattened.response_elements.layers.codeSize": "123"}}),
        &common::cloudtrail(),
    )
    .unwrap();
    assert!(code_size.matches(&ecs_doc("x"), now()));
}

#[test]
fn multi_fields_read_the_parent_value() {
    let doc = json!({"user": {"name": "Alice Smith"}});
    assert!(hit(
        json!({"match": {"user.name.text": "alice"}}),
        doc.clone()
    ));
    assert!(!hit(json!({"match": {"user.name": "alice"}}), doc.clone()));
    assert!(hit(json!({"term": {"user.name": "Alice Smith"}}), doc));
    let ct = common::cloudtrail();
    let q = Query::compile(&json!({"match": {"user.name.text": "AWSReservedSSO"}}), &ct).unwrap();
    assert!(!q.matches(
        &json!({"user": {"name": "AWSReservedSSO_SecurityAudit_8df5ccd37b"}}),
        now()
    ));
    let q = Query::compile(
        &json!({"match": {"user.name.text": "AWSReservedSSO_SecurityAudit_8df5ccd37b"}}),
        &ct,
    )
    .unwrap();
    assert!(q.matches(
        &json!({"user": {"name": "AWSReservedSSO_SecurityAudit_8df5ccd37b"}}),
        now()
    ));
}

#[test]
fn unmapped_fields_use_dynamic_mapping() {
    let m = Mapping::new();
    let q = |dsl: Value, doc: Value| compile(dsl, &m).matches(&doc, now());
    // strings are text with a keyword sub-field
    assert!(q(
        json!({"match": {"message": "error"}}),
        json!({"message": "An ERROR occurred"})
    ));
    assert!(!q(
        json!({"term": {"message": "An ERROR occurred"}}),
        json!({"message": "An ERROR occurred"})
    ));
    assert!(q(
        json!({"term": {"message.keyword": "An ERROR occurred"}}),
        json!({"message": "An ERROR occurred"})
    ));
    let long = "x".repeat(300);
    assert!(!q(
        json!({"term": {"message.keyword": long.clone()}}),
        json!({ "message": long })
    ));
    // numbers, booleans and detected dates
    assert!(q(
        json!({"range": {"count": {"gte": 10}}}),
        json!({"count": 12})
    ));
    assert!(q(json!({"term": {"ok": true}}), json!({"ok": true})));
    assert!(q(
        json!({"range": {"when": {"gte": "2024-01-01"}}}),
        json!({"when": "2024-02-01T00:00:00Z"})
    ));
    // absent and unmapped: nothing
    assert!(!q(
        json!({"match": {"nothing": "x"}}),
        json!({"message": "x"})
    ));
    assert!(!q(
        json!({"exists": {"field": "nothing"}}),
        json!({"message": "x"})
    ));
    // under `dynamic: false`, unmapped fields are not indexed
    assert!(!hit(
        json!({"term": {"closed.extra": "x"}}),
        json!({"closed": {"extra": "x"}})
    ));
    assert!(hit(
        json!({"term": {"closed.known": "x"}}),
        json!({"closed": {"known": "x"}})
    ));
    // a sub-field of a mapped leaf is not a field
    assert!(!hit(
        json!({"term": {"kw.keyword": "x"}}),
        json!({"kw": "x"})
    ));
}

#[test]
fn cloudtrail_unmapped_strings_are_keywords() {
    // The data stream's dynamic templates map unmapped strings to keyword (not text).
    let q = Query::compile(
        &json!({"match": {"aws.cloudtrail.some_new_field": "Hello World"}}),
        &common::cloudtrail(),
    )
    .unwrap();
    assert!(q.matches(
        &json!({"aws": {"cloudtrail": {"some_new_field": "Hello World"}}}),
        now()
    ));
    assert!(!q.matches(
        &json!({"aws": {"cloudtrail": {"some_new_field": "hello world"}}}),
        now()
    ));
}

#[test]
fn constant_keyword_fields() {
    assert!(hit(json!({"term": {"ck": "fixed"}}), json!({})));
    assert!(!hit(
        json!({"term": {"ck": "other"}}),
        json!({"ck": "other"})
    ));
    assert!(hit(json!({"prefix": {"ck": "fix"}}), json!({})));
    assert!(hit(
        json!({"term": {"ck_unset": "v"}}),
        json!({"ck_unset": "v"})
    ));
    assert!(!hit(json!({"term": {"ck_unset": "v"}}), json!({})));
}

#[test]
fn dotted_and_nested_sources_are_equivalent() {
    assert!(hit(
        json!({"term": {"user.name": "a"}}),
        json!({"user.name": "a"})
    ));
    assert!(hit(
        json!({"term": {"user.name": "a"}}),
        json!({"user": [{"name": "b"}, {"name": "a"}]})
    ));
    assert!(!hit(
        json!({"term": {"kw": "a"}}),
        json!({"kw": {"nested": "a"}})
    ));
}

#[test]
fn ids_and_metadata() {
    let m = test_mapping();
    let q = compile(json!({"ids": {"values": ["1", "2"]}}), &m);
    let meta = DocMeta {
        id: Some("2"),
        index: Some("logs-aws.cloudtrail-default"),
    };
    assert!(q.matches_with_meta(&json!({}), &meta, now()));
    assert!(!q.matches(&json!({}), now()));
    let q = compile(json!({"wildcard": {"_index": "logs-aws.*"}}), &m);
    assert!(q.matches_with_meta(&json!({}), &meta, now()));
    assert!(Query::compile(&json!({"term": {"_source": "x"}}), &m).is_err());
}

#[test]
fn compound_queries() {
    let doc = json!({"kw": "a"});
    assert!(hit(
        json!({"constant_score": {"filter": {"term": {"kw": "a"}}, "boost": 1.2}}),
        doc.clone()
    ));
    assert!(hit(
        json!({"dis_max": {"queries": [{"term": {"kw": "x"}}, {"term": {"kw": "a"}}]}}),
        doc.clone()
    ));
    assert!(hit(
        json!({"boosting": {"positive": {"term": {"kw": "a"}}, "negative": {"term": {"kw": "a"}}, "negative_boost": 0.5}}),
        doc.clone()
    ));
    assert!(hit(
        json!({"function_score": {"query": {"term": {"kw": "a"}}, "functions": []}}),
        doc.clone()
    ));
    assert!(hit(json!({"match_all": {}}), doc.clone()));
    assert!(!hit(json!({"match_none": {}}), doc.clone()));
    assert!(hit(json!({}), doc));
}

#[test]
fn unknown_queries_and_unsearchable_fields_are_errors() {
    match err(json!({"geo_shape": {"x": {}}})) {
        e @ DslError::Unsupported { .. } => assert_eq!(e.to_string(), "unknown query [geo_shape]"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        err(json!({"term": {"hidden": "x"}})),
        DslError::InvalidValue { .. }
    ));
    assert!(hit(
        json!({"term": {"dv_only": "x"}}),
        json!({"dv_only": "x"})
    ));
    assert!(matches!(
        err(json!({"term": {"kw": "a", "kw2": "b"}})),
        DslError::Malformed { .. }
    ));
    assert!(matches!(
        err(json!({"bool": {"must": [], "nope": []}})),
        DslError::Malformed { .. }
    ));
    assert!(matches!(
        err(json!({"terms": {"kw": {"index": "i", "id": "1", "path": "p"}}})),
        DslError::UnsupportedFeature { .. }
    ));
    assert!(matches!(
        err(json!("not an object")),
        DslError::Malformed { .. }
    ));
    let ct = common::cloudtrail();
    assert!(Query::compile(&json!({"match": {"event.original": "x"}}), &ct).is_err());
}

#[test]
fn simple_query_string_basics() {
    let doc = json!({"msg": "quick brown fox", "kw": "a"});
    let sqs = |q: &str| {
        hit(
            json!({"simple_query_string": {"query": q, "fields": ["msg"]}}),
            doc.clone(),
        )
    };
    assert!(sqs("quick"));
    assert!(sqs("slow | fox"));
    assert!(!sqs("slow + fox"));
    assert!(sqs("\"brown fox\""));
    assert!(sqs("bro*"));
    assert!(!sqs("fox + -quick"));
    // Lucene's simple syntax: `fox -quick` with OR is `fox OR (NOT quick)`.
    assert!(sqs("fox -quick"));
    assert!(!sqs("-quick"));
    assert!(sqs("(slow | quick) + fox"));
}

#[test]
fn many_documents_sanity() {
    // No timing: only that a compiled query evaluates a batch of documents consistently.
    let q = seed();
    let docs: Vec<Value> = (0..5000)
        .map(|i| {
            ecs_doc(if i % 3 == 0 {
                "UpdateFunctionConfiguration20150331v2"
            } else {
                "Invoke"
            })
        })
        .collect();
    let hits = docs.iter().filter(|d| q.matches(d, now())).count();
    assert_eq!(hits, 1667);
}

#[test]
fn kibana_kql_translations_compile_and_match() {
    // Shapes from Kibana's own KQL unit tests (kbn-es-query), on a mapping like their stub
    // data view.
    let m = mapping(json!({
        "bytes": {"type": "long"},
        "ssl": {"type": "boolean"},
        "@timestamp": {"type": "date"},
        "extension": {"type": "text"},
        "machine": {"properties": {"os": {"type": "text", "fields": {"raw": {"type": "keyword"}, "keyword": {"type": "keyword"}}}}},
        "nestedField": {"type": "nested", "properties": {
            "child": {"type": "keyword"},
            "nestedChild": {"type": "nested", "properties": {"doublyNestedChild": {"type": "keyword"}}}
        }}
    }));
    let doc = json!({
        "bytes": 2000, "ssl": true, "@timestamp": "2018-04-03T19:04:17.250Z", "extension": "jpg",
        "machine": {"os": "Win 7"},
        "nestedField": [{"child": "foo", "nestedChild": [{"doublyNestedChild": "foo"}]}]
    });
    let cases = [
        (json!({"match_all": {}}), true),
        (
            json!({"multi_match": {"query": 200, "type": "best_fields", "lenient": true}}),
            false,
        ),
        (json!({"query_string": {"query": "jpg*"}}), true),
        (
            json!({"bool": {"should": [{"exists": {"field": "extension"}}], "minimum_should_match": 1}}),
            true,
        ),
        (
            json!({"bool": {"should": [{"match": {"extension": "jpg"}}], "minimum_should_match": 1}}),
            true,
        ),
        (
            json!({"bool": {"should": [{"match_phrase": {"extension": "jpg"}}], "minimum_should_match": 1}}),
            true,
        ),
        (
            json!({"bool": {"should": [{"query_string": {"fields": ["extension"], "query": "jpg*"}}], "minimum_should_match": 1}}),
            true,
        ),
        (
            json!({"bool": {"should": [{"wildcard": {"machine.os.keyword": {"value": "win*"}}}], "minimum_should_match": 1}}),
            false,
        ),
        (
            json!({"bool": {"should": [{"wildcard": {"machine.os.keyword": {"value": "win*", "case_insensitive": true}}}], "minimum_should_match": 1}}),
            true,
        ),
        (
            json!({"bool": {"should": [{"term": {"machine.os.keyword": {"value": "Win 7"}}}], "minimum_should_match": 1}}),
            true,
        ),
        (
            json!({"bool": {"should": [{"range": {"@timestamp": {"gte": "2018-04-03T19:04:17", "lte": "2018-04-03T19:04:17"}}}], "minimum_should_match": 1}}),
            true,
        ),
        (
            json!({"bool": {"should": [{"range": {"bytes": {"gt": 1000}}}], "minimum_should_match": 1}}),
            true,
        ),
        (
            json!({"bool": {"should": [{"range": {"@timestamp": {"gt": "1776338120239"}}}], "minimum_should_match": 1}}),
            false,
        ),
        (
            json!({"bool": {"should": [{"nested": {"path": "nestedField.nestedChild", "query": {"match": {"nestedField.nestedChild.doublyNestedChild": "foo"}}, "score_mode": "none", "ignore_unmapped": true}}], "minimum_should_match": 1}}),
            true,
        ),
        (
            json!({"nested": {"path": "nestedField", "query": {"bool": {"should": [{"match": {"nestedField.child": "foo"}}], "minimum_should_match": 1}}, "score_mode": "none"}}),
            true,
        ),
        (
            json!({"nested": {"path": "nestedField", "query": {"nested": {"path": "nestedField.nestedChild", "query": {"match": {"nestedField.nestedChild.doublyNestedChild": "foo"}}}}}}),
            true,
        ),
        (
            json!({"bool": {"must_not": {"bool": {"should": [{"match": {"extension": "jpg"}}], "minimum_should_match": 1}}}}),
            false,
        ),
        (
            json!({"bool": {"must": [], "filter": [], "should": [], "must_not": []}}),
            true,
        ),
    ];
    for (dsl, expected) in cases {
        let q = compile(dsl.clone(), &m);
        assert_eq!(q.matches(&doc, now()), expected, "{dsl}");
    }
}

#[test]
fn deeply_nested_query_strings_are_refused_not_overflowed() {
    let deep = format!("{}a{}", "(".repeat(5000), ")".repeat(5000));
    assert!(Query::compile(&json!({"query_string": {"query": deep}}), &test_mapping()).is_err());
    let sqs = format!("{}a{}", "(".repeat(5000), ")".repeat(5000));
    assert!(Query::compile(
        &json!({"simple_query_string": {"query": sqs}}),
        &test_mapping()
    )
    .is_ok());
}

#[test]
fn refuses_what_it_cannot_evaluate_faithfully() {
    let m = mapping(json!({
        "english": {"type": "text", "analyzer": "english"},
        "custom_norm": {"type": "keyword", "normalizer": "my_normalizer"},
        "plain": {"type": "text"}
    }));
    let e = |dsl: Value| Query::compile(&dsl, &m).unwrap_err();
    assert!(matches!(
        e(json!({"match": {"english": "running"}})),
        DslError::UnsupportedFeature { .. }
    ));
    assert!(matches!(
        e(json!({"term": {"custom_norm": "x"}})),
        DslError::UnsupportedFeature { .. }
    ));
    assert!(matches!(
        e(json!({"match": {"plain": {"query": "x", "analyzer": "french"}}})),
        DslError::UnsupportedFeature { .. }
    ));
    // even when lenient: an analyzer problem is not a value problem
    assert!(matches!(
        e(json!({"multi_match": {"query": "x"}})),
        DslError::UnsupportedFeature { .. }
    ));
    assert!(matches!(
        e(json!({"query_string": {"query": "x", "type": "phrase"}})),
        DslError::UnsupportedFeature { .. }
    ));
    assert!(matches!(
        e(json!({"match": {"plain": {"query": "x", "cutoff_frequency": 0.1}}})),
        DslError::Malformed { .. }
    ));
    // built-in analyzers are fine
    assert!(Query::compile(
        &json!({"match": {"plain": {"query": "x", "analyzer": "whitespace"}}}),
        &m
    )
    .is_ok());
}

#[test]
fn pure_negative_bool_and_quote_field_suffix() {
    assert!(hit(
        json!({"bool": {"must_not": {"term": {"kw": "x"}}}}),
        json!({"kw": "a"})
    ));
    assert!(!hit(
        json!({"bool": {"must_not": {"term": {"kw": "x"}}, "adjust_pure_negative": false}}),
        json!({"kw": "a"})
    ));
    let doc = json!({"user": {"name": "Alice Smith"}});
    assert!(hit(
        json!({"query_string": {"query": "\"Alice Smith\"", "fields": ["user.name"], "quote_field_suffix": ".text"}}),
        doc.clone()
    ));
    assert!(hit(
        json!({"query_string": {"query": "\"alice smith\"", "fields": ["user.name"], "quote_field_suffix": ".text"}}),
        doc.clone()
    ));
    assert!(!hit(
        json!({"query_string": {"query": "\"alice smith\"", "fields": ["user.name"]}}),
        doc
    ));
}

#[test]
fn compiled_queries_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Query>();
    assert_send_sync::<Mapping>();
}

#[test]
fn error_messages_read_like_elasticsearch() {
    assert_eq!(
        err(json!({"term": {"kw": "a", "n": 1}})).to_string(),
        "[term] query doesn't support multiple fields, found [kw] and [n]"
    );
    assert_eq!(
        err(json!({"exists": {}})).to_string(),
        "[exists] must be provided with a [field]"
    );
    assert_eq!(
        err(json!({"term": {"n": "abc"}})).to_string(),
        "failed to create query: For input string: \"abc\""
    );
    assert_eq!(
        err(json!({"match": {"hidden": "x"}})).to_string(),
        "failed to create query: Cannot search on field [hidden] since it is not indexed nor has doc values."
    );
}

#[test]
fn regressions_found_by_proptest() {
    // A wildcard term ending in a multi-byte character (once sliced mid-character).
    assert!(hit(
        json!({"query_string": {"fields": ["kw"], "query": "a*é"}}),
        json!({"kw": "abcé"})
    ));
    assert!(hit(
        json!({"query_string": {"fields": ["kw"], "query": "é*"}}),
        json!({"kw": "éa"})
    ));
    // Documents with field names Elasticsearch rejects (empty parts) do not break mapping learning.
    let mut m = Mapping::new();
    m.update_dynamic(&json!({"kw": {".": false}, "ok": 1}));
    assert!(Mapping::from_json(&m.to_json()).is_ok());
    assert!(m.field("ok").is_some());
}
