//! Pinned KQL behaviour: Kibana's translation and error texts for the cases eshunt relies on.

use esquery::kql::{
    self, build_es_query, fields, parse, parse_literal, parse_with, to_dsl, to_dsl_opts,
    to_kuery_json, translate, DataView, DslOptions, ErrorKind, FieldSpec, Node, ParseOptions,
    Scalar, Term, MAX_DEPTH,
};
use serde_json::{json, Value};

/// `{"bool": {"should": [query], "minimum_should_match": 1}}`, Kibana's wrapping of a leaf.
fn one(query: Value) -> Value {
    json!({"bool": {"should": [query], "minimum_should_match": 1}})
}

fn dsl(query: &str) -> Value {
    translate(query).unwrap_or_else(|e| panic!("{query:?} should translate:\n{e}"))
}

fn error(query: &str) -> kql::KqlError {
    match parse(query) {
        Ok(node) => panic!("{query:?} should not parse, got {node:?}"),
        Err(e) => e,
    }
}

const SEED: &str = "data_stream.dataset: aws.cloudtrail
    and event.provider: lambda.amazonaws.com
    and event.outcome: success
    and event.action: (PublishLayerVersion* or UpdateFunctionConfiguration*)";

#[test]
fn seed_query_translates() {
    let wildcard = |p: &str| one(json!({"query_string": {"fields": ["event.action"], "query": p}}));
    let expected = json!({"bool": {"filter": [
        one(json!({"match": {"data_stream.dataset": "aws.cloudtrail"}})),
        one(json!({"match": {"event.provider": "lambda.amazonaws.com"}})),
        one(json!({"match": {"event.outcome": "success"}})),
        {"bool": {"should": [
            wildcard("PublishLayerVersion*"),
            wildcard("UpdateFunctionConfiguration*"),
        ], "minimum_should_match": 1}},
    ]}});
    let actual = dsl(SEED);
    assert_eq!(actual, expected);
    // Key order as Kibana emits it.
    assert_eq!(actual.to_string(), expected.to_string());
    assert_eq!(
        fields(&parse(SEED).unwrap()),
        [
            "data_stream.dataset",
            "event.provider",
            "event.outcome",
            "event.action"
        ]
    );
}

#[test]
fn second_seed_query_with_not_range_and_phrase() {
    let query = "event.dataset : \"aws.cloudtrail\" AND event.action : (\"CreateAccessKey\" OR \
                 \"CreateLoginProfile\") AND NOT user.name: root\n\tAND @timestamp >= \"now-1d\"";
    let expected = json!({"bool": {"filter": [
        one(json!({"match_phrase": {"event.dataset": "aws.cloudtrail"}})),
        {"bool": {"should": [
            one(json!({"match_phrase": {"event.action": "CreateAccessKey"}})),
            one(json!({"match_phrase": {"event.action": "CreateLoginProfile"}})),
        ], "minimum_should_match": 1}},
        {"bool": {"must_not": one(json!({"match": {"user.name": "root"}}))}},
        one(json!({"range": {"@timestamp": {"gte": "now-1d"}}})),
    ]}});
    assert_eq!(dsl(query), expected);
}

#[test]
fn field_value_and_phrase() {
    assert_eq!(dsl("a:b"), one(json!({"match": {"a": "b"}})));
    assert_eq!(dsl("a : b c"), one(json!({"match": {"a": "b c"}})));
    assert_eq!(dsl("a:\"b c\""), one(json!({"match_phrase": {"a": "b c"}})));
    // Numbers stay strings.
    assert_eq!(dsl("status:200"), one(json!({"match": {"status": "200"}})));
    // A quoted field name is a field name.
    assert_eq!(dsl("\"a b\":c"), one(json!({"match": {"a b": "c"}})));
}

#[test]
fn true_false_null_are_typed_only_when_bare() {
    assert_eq!(dsl("f:true"), one(json!({"match": {"f": true}})));
    assert_eq!(dsl("f:false"), one(json!({"match": {"f": false}})));
    assert_eq!(dsl("f:null"), one(json!({"match": {"f": null}})));
    assert_eq!(dsl("f:TRUE"), one(json!({"match": {"f": "TRUE"}})));
    assert_eq!(
        dsl("f:\"true\""),
        one(json!({"match_phrase": {"f": "true"}}))
    );
    assert_eq!(
        parse_literal("true").unwrap(),
        Term::Literal {
            value: Scalar::Bool(true),
            quoted: false
        }
    );
    // `null` as a field is "no field": free text.
    assert_eq!(
        dsl("null:x"),
        json!({"multi_match": {"type": "best_fields", "query": "x", "lenient": true}})
    );
}

#[test]
fn wildcards_in_values_use_query_string_with_kibana_escaping() {
    let qs = |q: &str| one(json!({"query_string": {"fields": ["f"], "query": q}}));
    assert_eq!(dsl("f:ab*"), qs("ab*"));
    assert_eq!(dsl("f:*ab?c"), qs("*ab\\?c"));
    assert_eq!(dsl("f:a-b/c+d=e*"), qs("a\\-b\\/c\\+d\\=e*"));
    assert_eq!(dsl("f: a/b\\:c*"), qs("a\\/b\\:c*"));
    // Whitespace is not escaped (as in Kibana).
    assert_eq!(dsl("f: foo bar*"), qs("foo bar*"));
    // An escaped star is a plain character: no wildcard, a match query.
    assert_eq!(dsl("f:a\\*b"), one(json!({"match": {"f": "a*b"}})));
    assert_eq!(dsl("f:a\\*b*"), qs("a\\*b*"));
    // `**` is not a lone wildcard (Kibana discounts one marker only).
    assert_eq!(dsl("f:**"), qs("**"));
}

#[test]
fn wildcards_in_field_names_without_data_view_are_kept() {
    assert_eq!(dsl("event.*:x"), one(json!({"match": {"event.*": "x"}})));
    assert_eq!(dsl("*:x"), one(json!({"match": {"*": "x"}})));
    assert_eq!(
        fields(&parse("event.*:x or a:b").unwrap()),
        ["event.*", "a"]
    );
}

#[test]
fn exists_match_all_and_empty() {
    assert_eq!(dsl("f:*"), one(json!({"exists": {"field": "f"}})));
    assert_eq!(dsl("f : *"), one(json!({"exists": {"field": "f"}})));
    assert_eq!(dsl("*:*"), json!({"match_all": {}}));
    assert_eq!(dsl(""), json!({"match_all": {}}));
    assert_eq!(dsl(" \n\t\u{a0}"), json!({"match_all": {}}));
}

#[test]
fn free_text() {
    assert_eq!(
        dsl("foo bar"),
        json!({"multi_match": {"type": "best_fields", "query": "foo bar", "lenient": true}})
    );
    assert_eq!(
        dsl("\"foo bar\""),
        json!({"multi_match": {"type": "phrase", "query": "foo bar", "lenient": true}})
    );
    assert_eq!(dsl("foo-*"), json!({"query_string": {"query": "foo\\-*"}}));
    assert!(fields(&parse("foo and bar").unwrap()).is_empty());
}

#[test]
fn precedence_and_grouping() {
    let is = |f: &str, v: &str| Node::Is {
        field: Term::string(f),
        value: Term::string(v),
    };
    assert_eq!(
        parse("a:1 or b:2 and c:3").unwrap(),
        Node::Or(vec![
            is("a", "1"),
            Node::And(vec![is("b", "2"), is("c", "3")])
        ])
    );
    assert_eq!(
        parse("(a:1 or b:2) and c:3").unwrap(),
        Node::And(vec![
            Node::Or(vec![is("a", "1"), is("b", "2")]),
            is("c", "3")
        ])
    );
    assert_eq!(
        parse("not a:1 and b:2").unwrap(),
        Node::And(vec![Node::Not(Box::new(is("a", "1"))), is("b", "2")])
    );
    // Keywords are case-insensitive; same-level operators are flattened.
    assert_eq!(
        parse("a:1 AND b:2 And c:3 Or NOT d:4").unwrap(),
        Node::Or(vec![
            Node::And(vec![is("a", "1"), is("b", "2"), is("c", "3")]),
            Node::Not(Box::new(is("d", "4")))
        ])
    );
    assert_eq!(
        dsl("a:1 or b:2"),
        json!({"bool": {"should": [
            one(json!({"match": {"a": "1"}})),
            one(json!({"match": {"b": "2"}})),
        ], "minimum_should_match": 1}})
    );
    assert_eq!(
        dsl("not a:1"),
        json!({"bool": {"must_not": one(json!({"match": {"a": "1"}}))}})
    );
}

#[test]
fn keywords_need_whitespace_around_them() {
    // `and` at the end, or glued to a word, is part of the value.
    assert_eq!(dsl("a:b and"), one(json!({"match": {"a": "b and"}})));
    assert_eq!(dsl("a:band"), one(json!({"match": {"a": "band"}})));
    // An escaped keyword is a word.
    assert_eq!(dsl("a:b \\and c"), one(json!({"match": {"a": "b and c"}})));
}

#[test]
fn value_lists() {
    let m = |v: &str| one(json!({"match": {"f": v}}));
    assert_eq!(
        dsl("f:(a or b)"),
        json!({"bool": {"should": [m("a"), m("b")], "minimum_should_match": 1}})
    );
    assert_eq!(
        dsl("f:(a and not b)"),
        json!({"bool": {"filter": [m("a"), {"bool": {"must_not": m("b")}}]}})
    );
    assert_eq!(dsl("f:(a)"), m("a"));
    assert_eq!(dsl("f:( a b )"), m("a b"));
}

#[test]
fn ranges() {
    let range = |f: &str, op: &str, v: &str| one(json!({"range": {f: {op: v}}}));
    assert_eq!(dsl("bytes > 1000"), range("bytes", "gt", "1000"));
    assert_eq!(dsl("bytes>=1000"), range("bytes", "gte", "1000"));
    assert_eq!(dsl("bytes < 10"), range("bytes", "lt", "10"));
    assert_eq!(dsl("bytes <= 10"), range("bytes", "lte", "10"));
    assert_eq!(
        dsl("@timestamp < \"2024-01-01T00:00:00Z\""),
        range("@timestamp", "lt", "2024-01-01T00:00:00Z")
    );
    assert_eq!(dsl("user.name >= m"), range("user.name", "gte", "m"));
}

#[test]
fn nested_queries() {
    assert_eq!(
        dsl("p:{ a:b }"),
        json!({"nested": {
            "path": "p",
            "query": one(json!({"match": {"p.a": "b"}})),
            "score_mode": "none",
        }})
    );
    assert_eq!(
        dsl("p:{ q:{ a > 1 } }"),
        json!({"nested": {"path": "p", "query": {"nested": {
            "path": "p.q",
            "query": one(json!({"range": {"p.q.a": {"gt": "1"}}})),
            "score_mode": "none",
        }}, "score_mode": "none"}})
    );
    assert_eq!(
        fields(&parse("p:{ a:b and q:{ c:d } } or p:{ a:x }").unwrap()),
        ["p.a", "p.q.c"]
    );
}

#[test]
fn escapes() {
    let m = |v: &str| one(json!({"match": {"f": v}}));
    assert_eq!(dsl("f:a\\:b"), m("a:b"));
    assert_eq!(dsl("f:\\(x\\)"), m("(x)"));
    assert_eq!(dsl("f:\\\\"), m("\\"));
    assert_eq!(dsl("f:\\<\\>\\{\\}\\\""), m("<>{}\""));
    assert_eq!(dsl("f:a\\tb\\nc"), m("a\tb\nc"));
    assert_eq!(dsl("f:caf\\u00e9"), m("café"));
    assert_eq!(dsl("f:\\uD83D\\uDE00"), m("😀"));
    // In quotes only \" and \\ are escapes; other backslashes stay.
    assert_eq!(
        dsl("f:\"a \\\"q\\\" \\\\ \\* b\""),
        one(json!({"match_phrase": {"f": "a \"q\" \\ \\* b"}}))
    );
    // An escaped field name.
    assert_eq!(dsl("a\\:b:c"), one(json!({"match": {"a:b": "c"}})));
}

#[test]
fn kibana_syntax_error_texts() {
    // Kibana's kuery_syntax_error.test.ts, verbatim.
    let cases = [
        (
            "response:",
            "Expected \"(\", \"{\", value, whitespace but end of input found.",
            9,
        ),
        (
            "response:200 or ",
            "Expected \"(\", NOT, field name, value but end of input found.",
            16,
        ),
        (
            "response:(200 or )",
            "Expected \"(\", NOT, value but \")\" found.",
            17,
        ),
        (
            "response:200 and not ",
            "Expected \"(\", field name, value but end of input found.",
            21,
        ),
        (
            "response:(200 and not )",
            "Expected \"(\", value but \")\" found.",
            22,
        ),
        (
            "foo:\"ba ",
            "Expected \"(\", \"{\", value, whitespace but \"\"\" found.",
            4,
        ),
        (
            "foo:\"ba \"r\"",
            "Expected AND, OR, end of input but \"r\" found.",
            9,
        ),
        (
            "foo:ba:r",
            "Expected AND, OR, end of input but \":\" found.",
            6,
        ),
        (
            "foo > ",
            "Expected literal, whitespace but end of input found.",
            6,
        ),
        (
            "< 1000",
            "Expected \"(\", NOT, end of input, field name, value, whitespace but \"<\" found.",
            0,
        ),
    ];
    for (query, short, offset) in cases {
        let e = error(query);
        assert_eq!(e.kind(), ErrorKind::Syntax, "{query}");
        assert_eq!(e.short(), short, "{query}");
        assert_eq!(e.offset(), offset, "{query}");
        let caret = format!("{}^", "-".repeat(offset));
        assert_eq!(e.to_string(), format!("{short}\n{query}\n{caret}"));
    }
}

#[test]
fn syntax_errors_reported_from_kibana_deployments() {
    // Texts quoted in elastic/kibana issues #277605, PR #266783 and issue #106206.
    let query = "((threat.enrichments: { matched.atomic: https://example.com/ } and \
                 threat.enrichments: { matched.type: indicator_match_rule } and \
                 threat.enrichments: { matched.field: url.original })  )";
    let e = error(query);
    assert_eq!(e.short(), "Expected \"}\", AND, OR but \":\" found.");
    assert_eq!(
        e.to_string().lines().last(),
        Some(&*format!("{}^", "-".repeat(45)))
    );
    let e = error("NOT message : foo: bar");
    assert_eq!(e.short(), "Expected AND, OR, end of input but \":\" found.");
    assert_eq!(e.offset(), 17);
    assert_eq!(
        error("local_metadata.host.hostname.keyword : ").short(),
        "Expected \"(\", \"{\", value, whitespace but end of input found."
    );
}

#[test]
fn more_syntax_errors() {
    assert_eq!(
        error("(a").short(),
        "Expected \")\", \":\", \"<\", \"<=\", \">\", \">=\", AND, OR but end of input found."
    );
    assert_eq!(
        error("a:{b:c").short(),
        "Expected \"}\", AND, OR but end of input found."
    );
    assert_eq!(
        error("foo:bar)").short(),
        "Expected AND, OR, end of input but \")\" found."
    );
    // Unknown escapes are errors outside quotes.
    assert_eq!(
        error("f:\\a").short(),
        "Expected \"(\", \"{\", value, whitespace but \"\\\" found."
    );
    // Kibana's grammar has no double negation: `not` must be followed by a sub-query.
    let e = error("not not a");
    assert_eq!(
        e.short(),
        "Expected \"(\", field name, value but \"n\" found."
    );
    assert_eq!(e.offset(), 4);
    // The caret counts UTF-16 units, as Kibana does; the offset counts chars.
    let e = error("😀:");
    assert_eq!(e.offset(), 2);
    assert_eq!(e.to_string().lines().last(), Some("---^"));
}

#[test]
fn leading_wildcards_can_be_disabled() {
    let off = ParseOptions {
        allow_leading_wildcards: false,
    };
    let e = parse_with("f: *abc", &off).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LeadingWildcard);
    assert_eq!(
        e.to_string(),
        "Leading wildcards are disabled. See query:allowLeadingWildcards in Advanced Settings.\n\
         f: *abc\n---^"
    );
    assert_eq!(e.offset(), 3);
    // A lone `*` and wildcard field names stay allowed.
    assert!(parse_with("f:* and *abc:x", &off).is_ok());
    assert!(parse("f: *abc").is_ok());
}

#[test]
fn nesting_depth_is_bounded() {
    let ok = format!(
        "{}a:b{}",
        "(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    assert_eq!(dsl(&ok), one(json!({"match": {"a": "b"}})));
    let deep = format!("{}a:b{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(error(&deep).kind(), ErrorKind::TooDeep);
    let list = format!(
        "f:{}a{}",
        "(".repeat(MAX_DEPTH + 5),
        ")".repeat(MAX_DEPTH + 5)
    );
    assert_eq!(error(&list).kind(), ErrorKind::TooDeep);
    let braces = format!(
        "{}a:b{}",
        "p:{".repeat(MAX_DEPTH + 5),
        "}".repeat(MAX_DEPTH + 5)
    );
    assert_eq!(error(&braces).kind(), ErrorKind::TooDeep);
    // Unbalanced deep groups fail fast (no exponential backtracking).
    let unbalanced = format!(
        "{}a:b{}",
        "(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 2)
    );
    assert_eq!(error(&unbalanced).kind(), ErrorKind::Syntax);
}

#[test]
fn kuery_json_round_trip() {
    let node = parse(SEED).unwrap();
    let json = to_kuery_json(&node);
    assert_eq!(
        json["arguments"][3]["arguments"][0]["arguments"][1],
        json!({"type": "wildcard", "value": "PublishLayerVersion@kuery-wildcard@"})
    );
    assert_eq!(kql::from_kuery_json(&json).unwrap(), node);
}

fn view() -> DataView {
    let field = |name: &str, kind: &str, es: &str, nested: Option<&str>| FieldSpec {
        name: name.into(),
        field_type: kind.into(),
        es_types: vec![es.into()],
        nested_path: nested.map(Into::into),
    };
    DataView {
        fields: vec![
            field("event.action", "string", "keyword", None),
            field("message", "string", "text", None),
            field("@timestamp", "date", "date", None),
            field("tags.key", "string", "keyword", Some("tags")),
        ],
    }
}

#[test]
fn data_view_field_types() {
    let options = DslOptions {
        date_format_tz: Some("UTC".into()),
        case_insensitive: Some(true),
        ..DslOptions::default()
    };
    let run = |q: &str| to_dsl_opts(&parse(q).unwrap(), Some(&view()), &options).unwrap();
    assert_eq!(
        run("event.action: Create*"),
        one(json!({"wildcard": {"event.action": {"value": "Create*", "case_insensitive": true}}}))
    );
    assert_eq!(
        run("event.action: CreateUser"),
        one(json!({"term": {"event.action": {"value": "CreateUser", "case_insensitive": true}}}))
    );
    assert_eq!(
        run("@timestamp: \"2024-01-01\""),
        one(json!({"range": {"@timestamp": {
            "gte": "2024-01-01", "lte": "2024-01-01", "time_zone": "UTC"
        }}}))
    );
    assert_eq!(
        run("@timestamp > 1700000000000"),
        one(json!({"range": {"@timestamp": {"gt": "1700000000000"}}}))
    );
    assert_eq!(
        run("*.key: x"),
        one(json!({"nested": {
            "path": "tags",
            "query": {"term": {"tags.key": {"value": "x", "case_insensitive": true}}},
            "score_mode": "none",
        }}))
    );
    assert_eq!(
        run("tags:{ key: x }")["nested"]["query"],
        one(json!({"term": {"tags.key": {"value": "x", "case_insensitive": true}}}))
    );
}

#[test]
fn data_view_nesting_errors() {
    let error = |q: &str| kql::to_dsl_with(&parse(q).unwrap(), &view()).unwrap_err();
    let e = error("tags.key: x");
    assert_eq!(e.kind(), ErrorKind::DataView);
    assert_eq!(
        e.to_string(),
        "tags.key is a nested field, but is not in a nested group in the KQL expression."
    );
    assert_eq!(
        error("event:{ action: x }").to_string(),
        "event.action is not a nested field but is in nested group \"event\" in the KQL \
         expression."
    );
    // Without a data view nothing is checked.
    assert_eq!(
        to_dsl(&parse("tags.key: x").unwrap()),
        one(json!({"match": {"tags.key": "x"}}))
    );
}

#[test]
fn build_es_query_wraps_like_kibana() {
    let off = ParseOptions {
        allow_leading_wildcards: false,
    };
    assert_eq!(
        build_es_query("a:b", None, &off, &DslOptions::default()).unwrap(),
        json!({"bool": {
            "must": [],
            "filter": [one(json!({"match": {"a": "b"}}))],
            "should": [],
            "must_not": [],
        }})
    );
    assert_eq!(
        build_es_query("f: *x", None, &off, &DslOptions::default())
            .unwrap_err()
            .kind(),
        ErrorKind::LeadingWildcard
    );
}
