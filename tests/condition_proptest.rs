//! Property tests for the condition language and the event view: no input crashes them, and
//! the language's laws hold on generated documents.

use eshunt::event::arn::ArnPart;
use eshunt::event::{Event, Origin};
use eshunt::rule::condition::Condition;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn event(doc: Value) -> Event {
    Event::from_document(doc, Origin::Inline("prop".into()))
}

fn holds(condition: &str, doc: &Value) -> bool {
    Condition::parse(condition)
        .unwrap_or_else(|e| panic!("{condition}: {e}"))
        .evaluate(&event(doc.clone()))
        .matched
}

/// Arbitrary JSON, a few levels deep, with keys from a small alphabet so paths hit.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        "[a-cA-C0-9 ]{0,4}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[abAB]{1,2}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// JSON shaped like ECS documents: ECS and CloudTrail key names at any depth, odd values.
fn ecs_like() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("event"),
        Just("action"),
        Just("original"),
        Just("id"),
        Just("aws"),
        Just("cloudtrail"),
        Just("flattened"),
        Just("response_elements"),
        Just("user_identity"),
        Just("type"),
        Just("user"),
        Just("name"),
        Just("session_context"),
        Just("session_issuer"),
        Just("arn"),
        Just("@timestamp"),
        Just("resources"),
        Just("event.original"),
        Just("eventName"),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        Just(json!("{\"eventID\":\"x\"}")),
        Just(json!("2026-01-01T00:00:00Z")),
        Just(json!("arn:aws:iam::1:role/a/B")),
        any::<i64>().prop_map(|n| json!(n)),
    ];
    leaf.prop_recursive(5, 48, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(|kv| Value::Object(
                kv.into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect::<Map<_, _>>()
            )),
        ]
    })
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec("[abAB]{1,2}", 1..4).prop_map(|p| p.join("."))
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-c0-9 ]{0,3}".prop_map(|s| format!("{s:?}")),
        any::<i16>().prop_map(|n| n.to_string()),
        Just("true".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsing_never_panics(text in "\\PC{0,80}") {
        let _ = Condition::parse(&text);
    }

    #[test]
    fn parsing_token_soup_never_panics(words in prop::collection::vec(prop_oneof![
        Just("and"), Just("or"), Just("not"), Just("("), Just(")"), Just("["), Just("]"), Just(","),
        Just("a.b"), Just("eq"), Just("in"), Just("\"x\""), Just("1"), Just("is_null"), Just("is_truthy"), Just("\n"),
        Just("matches"), Just("\"[\""), Just("cidr"), Just("\"10.0.0.0/8\""), Just("gt"),
        Just("field"), Just("arn_account"), Just("ne"), Just("field("), Just("arn_resource_name("),
    ], 0..16)) {
        let _ = Condition::parse(&words.join(" "));
    }

    #[test]
    fn evaluation_and_alerting_never_panic(doc in json_value(), p in path(), q in path(), lit in literal()) {
        for op in ["eq", "ne", "ieq", "starts_with", "contains", "gt", "in"] {
            let operand = if op == "in" { format!("[{lit}]") } else { lit.clone() };
            if let Ok(c) = Condition::parse(&format!("{p} {op} {operand}")) {
                let _ = c.evaluate(&event(doc.clone()));
            }
            for other in [format!("field({q})"), format!("arn_account({q})")] {
                let c = Condition::parse(&format!("arn_resource_name({p}) {op} {other}"));
                let c = c.unwrap_or_else(|e| panic!("{op} {other}: {e}"));
                let _ = (c.evaluate(&event(doc.clone())), c.explain(&event(doc.clone())));
            }
        }
        let _ = holds(&format!("{p} is_null"), &doc);
    }

    #[test]
    fn field_comparison_laws(doc in json_value(), p in path(), q in path()) {
        let h = |c: String| holds(&c, &doc);
        // Negated operators are exact negations, a missing side included.
        prop_assert_ne!(h(format!("{p} eq field({q})")), h(format!("{p} ne field({q})")));
        prop_assert_ne!(h(format!("{p} ieq field({q})")), h(format!("{p} ine field({q})")));
        prop_assert_eq!(h(format!("{p} eq field({q})")), h(format!("{p} in field({q})")));
        prop_assert_eq!(h(format!("{p} ne field({q})")), h(format!("{p} not_in field({q})")));
        // Some value on each side: symmetric where the test is.
        prop_assert_eq!(h(format!("{p} eq field({q})")), h(format!("{q} eq field({p})")));
        prop_assert_eq!(h(format!("{p} ieq field({q})")), h(format!("{q} ieq field({p})")));
        prop_assert_eq!(h(format!("{p} gt field({q})")), h(format!("{q} lt field({p})")));
        prop_assert_eq!(h(format!("{p} gte field({q})")), h(format!("{q} lte field({p})")));
        // Case-sensitive matches imply case-insensitive ones; a positive comparison needs both
        // sides.
        let implies = |a: &str, b: &str| {
            !h(format!("{p} {a} field({q})")) || h(format!("{p} {b} field({q})"))
        };
        prop_assert!(implies("contains", "icontains"));
        prop_assert!(implies("starts_with", "contains"));
        // (A side has a comparable value when it equals itself: `""` does, though `is_null`
        // calls it empty.)
        let comparable = |x: &str| h(format!("{x} eq field({x})"));
        let equal = h(format!("{p} eq field({q})"));
        prop_assert!(!equal || (comparable(&p) && comparable(&q)));
    }

    #[test]
    fn arn_parts_are_substrings_and_round_trip(
        text in "\\PC{0,40}",
        partition in "aws(-[a-z]{2,5})?",
        service in "[a-z0-9-]{1,12}",
        region in "([a-z]{2}-[a-z]{4,7}-[1-3])?",
        account in "([0-9]{12})?",
        kind in "[a-z-]{1,12}",
        name in "[A-Za-z0-9_+=,.@-]{1,20}",
        separator in prop_oneof![Just('/'), Just(':')],
    ) {
        for (_, part) in ArnPart::ALL {
            if let Some(value) = part.of(&text) {
                let within = !value.is_empty() && text.contains(value);
                prop_assert!(within, "{:?} of {:?}: {:?}", part, text, value);
            }
        }
        let arn = format!("arn:{partition}:{service}:{region}:{account}:{kind}{separator}{name}");
        prop_assert_eq!(ArnPart::Partition.of(&arn), Some(partition.as_str()));
        prop_assert_eq!(ArnPart::Service.of(&arn), Some(service.as_str()));
        prop_assert_eq!(ArnPart::Region.of(&arn), Some(region.as_str()).filter(|r| !r.is_empty()));
        prop_assert_eq!(ArnPart::Account.of(&arn), Some(account.as_str()).filter(|a| !a.is_empty()));
        let resource = format!("{kind}{separator}{name}");
        prop_assert_eq!(ArnPart::Resource.of(&arn), Some(resource.as_str()));
        let untyped = ["sns", "sqs"].contains(&service.as_str()) || (service == "s3" && account.is_empty());
        if !untyped {
            prop_assert_eq!(ArnPart::ResourceType.of(&arn), Some(kind.as_str()));
        }
    }

    #[test]
    fn null_and_truthiness_checks_are_complementary(doc in json_value(), p in path()) {
        prop_assert_ne!(holds(&format!("{p} is_null"), &doc), holds(&format!("{p} is_not_null"), &doc));
        prop_assert_ne!(holds(&format!("{p} is_falsy"), &doc), holds(&format!("{p} is_truthy"), &doc));
        // Python's falsy values include every null value: is_truthy implies is_not_null.
        let (truthy, not_null) = (format!("{p} is_truthy"), format!("{p} is_not_null"));
        prop_assert!(!holds(&truthy, &doc) || holds(&not_null, &doc));
    }

    #[test]
    fn ne_is_not_eq_and_not_in_is_not_in(doc in json_value(), p in path(), lit in literal()) {
        prop_assert_ne!(holds(&format!("{p} eq {lit}"), &doc), holds(&format!("{p} ne {lit}"), &doc));
        prop_assert_ne!(holds(&format!("{p} in [{lit}]"), &doc), holds(&format!("{p} not_in [{lit}]"), &doc));
        prop_assert_eq!(holds(&format!("{p} eq {lit}"), &doc), holds(&format!("{p} in [{lit}]"), &doc));
    }

    #[test]
    fn boolean_laws(doc in json_value(), p in path(), q in path()) {
        let (a, b) = (format!("{p} is_null"), format!("{q} is_not_null"));
        let both = holds(&a, &doc) && holds(&b, &doc);
        prop_assert_eq!(holds(&format!("{a} and {b}"), &doc), both);
        prop_assert_eq!(holds(&format!("{a}\n{b}"), &doc), both);
        prop_assert_eq!(holds(&format!("{a} or {b}"), &doc), holds(&a, &doc) || holds(&b, &doc));
        prop_assert_eq!(holds(&format!("not ({a} or {b})"), &doc), holds(&format!("not {a} and not {b}"), &doc));
    }

    #[test]
    fn case_insensitive_equality_agrees_with_lowercasing(s in "[a-zA-Z]{1,6}", t in "[a-zA-Z]{1,6}") {
        let doc = json!({ "f": s });
        prop_assert_eq!(holds(&format!("f ieq {t:?}"), &doc), s.to_lowercase() == t.to_lowercase());
        prop_assert_eq!(holds(&format!("f istarts_with {t:?}"), &doc), s.to_lowercase().starts_with(&t.to_lowercase()));
    }

    #[test]
    fn the_event_view_accepts_any_ecs_like_document(doc in ecs_like()) {
        let event = event(doc);
        let _ = (event.event_id(), event.time(), event.ingested(), event.record());
    }

    #[test]
    fn the_event_view_accepts_any_document(doc in json_value()) {
        let event = event(doc);
        let _ = (event.event_id(), event.time(), event.record());
    }
}

/// Found by the laws above: `""` is a value to compare (it equals itself) though `is_null`
/// calls it empty, and keys are read case-insensitively on both sides.
#[test]
fn an_empty_string_equals_itself_through_a_differently_cased_key() {
    let doc = serde_json::json!({"a": ""});
    assert!(holds("a eq field(A)", &doc));
    assert!(holds("a is_null", &doc));
}
