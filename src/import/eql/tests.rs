//! The EQL parser and translation, checked on ECS documents where EQL semantics matter: case,
//! wildcards, missing fields, arrays.

use super::*;
use crate::event::mapping::cloudtrail_mapping;
use crate::event::{Event, Origin};
use crate::rule::condition::Condition;
use esquery::dsl::Query as Dsl;

/// Whether the translated `where` clause holds on the document, checked by the condition and,
/// when derived, by the prefilter (which must never reject a match).
fn holds(clause: &str, doc: Value) -> bool {
    let t = translate(&format!("any where {clause}"), "event.category")
        .unwrap_or_else(|e| panic!("{clause}: {e}"));
    let condition =
        Condition::parse(&t.condition).unwrap_or_else(|e| panic!("{}: {e}", t.condition));
    let event = Event::from_ecs(doc.clone(), Origin::Inline("test".into()));
    let matched = condition.evaluate(&event).matched;
    let prefilter =
        Dsl::compile(&t.prefilter, cloudtrail_mapping()).expect("the prefilter compiles");
    if matched {
        assert!(
            prefilter.matches(&doc, chrono::Utc::now()),
            "the prefilter {} rejects a match of {clause}: {doc}",
            t.prefilter
        );
    }
    matched
}

fn ua(value: Value) -> Value {
    json!({ "user_agent": { "original": value }, "data_stream": { "dataset": "aws.cloudtrail" } })
}

#[test]
fn double_equals_is_case_sensitive_and_colon_is_not() {
    assert!(holds(
        r#"user_agent.original == "Boto3""#,
        ua(json!("Boto3"))
    ));
    assert!(!holds(
        r#"user_agent.original == "Boto3""#,
        ua(json!("boto3"))
    ));
    assert!(holds(
        r#"user_agent.original : "Boto3""#,
        ua(json!("BOTO3"))
    ));
    assert!(holds(
        r#"user_agent.original : ("x", "boto3")"#,
        ua(json!("Boto3"))
    ));
}

#[test]
fn not_equal_holds_when_the_field_is_missing() {
    assert!(holds(r#"user_agent.original != "a""#, ua(json!("b"))));
    assert!(!holds(r#"user_agent.original != "a""#, ua(json!("a"))));
    assert!(holds(
        r#"user_agent.original != "a""#,
        json!({ "data_stream": { "dataset": "aws.cloudtrail" } })
    ));
    assert!(holds(r#"not user_agent.original == "a""#, json!({})));
    assert!(!holds(r#"user_agent.original == "a""#, json!({})));
}

#[test]
fn null_comparisons_test_existence() {
    assert!(holds("user_agent.original != null", ua(json!(""))));
    assert!(holds("user_agent.original != null", ua(json!("x"))));
    assert!(!holds("user_agent.original != null", json!({})));
    assert!(holds("user_agent.original == null", json!({})));
    assert!(!holds("user_agent.original == null", ua(json!("x"))));
}

#[test]
fn wildcards_of_colon_like_and_wildcard() {
    assert!(holds(
        r#"user_agent.original : "*terraform*""#,
        ua(json!("HashiCorp Terraform/1.5"))
    ));
    assert!(holds(
        r#"user_agent.original : "aws-cli/*""#,
        ua(json!("AWS-CLI/2.0"))
    ));
    assert!(holds(
        r#"user_agent.original : "*/2.?""#,
        ua(json!("aws-cli/2.0"))
    ));
    assert!(holds(
        r#"user_agent.original : "a*c?e""#,
        ua(json!("ABxCdE"))
    ));
    assert!(!holds(
        r#"user_agent.original : "a*c?e""#,
        ua(json!("ABxCde!"))
    ));
    assert!(holds(
        r#"user_agent.original like "aws-cli/*""#,
        ua(json!("aws-cli/2"))
    ));
    assert!(!holds(
        r#"user_agent.original like "aws-cli/*""#,
        ua(json!("AWS-cli/2"))
    ));
    assert!(holds(
        r#"user_agent.original like~ "aws-cli/*""#,
        ua(json!("AWS-cli/2"))
    ));
    assert!(holds(
        r#"wildcard(user_agent.original, "x*", "*cli*")"#,
        ua(json!("aws-cli/2"))
    ));
    assert!(!holds(
        r#"wildcard(user_agent.original, "*CLI*")"#,
        ua(json!("aws-cli/2"))
    ));
    assert!(holds(
        r#"wildcard~(user_agent.original, "*CLI*")"#,
        ua(json!("aws-cli/2"))
    ));
}

#[test]
fn in_lists_by_case() {
    assert!(holds(
        r#"event.action in ("A", "B")"#,
        json!({ "event": { "action": "B" } })
    ));
    assert!(!holds(
        r#"event.action in ("A", "B")"#,
        json!({ "event": { "action": "b" } })
    ));
    assert!(holds(
        r#"event.action in~ ("A", "B")"#,
        json!({ "event": { "action": "b" } })
    ));
    assert!(holds(
        r#"event.action not in ("A", "B")"#,
        json!({ "event": { "action": "C" } })
    ));
    assert!(holds(r#"event.action not in ("A", "B")"#, json!({})));
}

#[test]
fn string_functions_by_case() {
    let doc = |s: &str| json!({ "aws": { "cloudtrail": { "request_parameters": s } } });
    let f = "aws.cloudtrail.request_parameters";
    assert!(holds(
        &format!(r#"stringContains({f}, "Effect=Allow")"#),
        doc("{Effect=Allow}")
    ));
    assert!(!holds(
        &format!(r#"stringContains({f}, "effect=allow")"#),
        doc("{Effect=Allow}")
    ));
    assert!(holds(
        &format!(r#"stringContains~({f}, "effect=allow")"#),
        doc("{Effect=Allow}")
    ));
    assert!(holds(
        &format!(r#"stringContains({f}, "Principal=\\*")"#),
        doc(r"{Principal=\*}")
    ));
    assert!(!holds(
        &format!(r#"stringContains({f}, "Principal=\\*")"#),
        doc("{Principal=x}")
    ));
    assert!(holds(
        &format!(r#"stringContains({f}, "valuesToAdd=[*]")"#),
        doc("{valuesToAdd=[*]}")
    ));
    assert!(!holds(
        &format!(r#"stringContains({f}, "valuesToAdd=[*]")"#),
        doc("{valuesToAdd=[1]}")
    ));
    assert!(holds(
        &format!(r#"startsWith({f}, "{{E")"#),
        doc("{Effect=Allow}")
    ));
    assert!(holds(
        &format!(r#"endsWith~({f}, "ALLOW}}")"#),
        doc("{Effect=Allow}")
    ));
    assert!(holds(
        &format!(r#"not stringContains({f}, "x")"#),
        json!({})
    ));
}

#[test]
fn a_field_as_the_needle() {
    let doc = |rp: &str, account: Option<&str>| {
        let mut d = json!({ "aws": { "cloudtrail": { "request_parameters": rp } } });
        if let Some(a) = account {
            d["aws"]["cloudtrail"]["recipient_account_id"] = json!(a);
        }
        d
    };
    let clause = "not stringContains(aws.cloudtrail.request_parameters, aws.cloudtrail.recipient_account_id)";
    assert!(holds(clause, doc("AWS=111122223333", Some("444455556666"))));
    assert!(!holds(
        clause,
        doc("AWS=111122223333", Some("111122223333"))
    ));
}

#[test]
fn regex_matches_whole_values() {
    let doc = |arn: Value| json!({ "aws": { "cloudtrail": { "resources": { "arn": arn } } } });
    let clause =
        r#"aws.cloudtrail.resources.arn regex~ "arn:aws:s3:::[^/]+/.*?(decrypt|ransom).*""#;
    assert!(holds(
        clause,
        doc(json!("arn:aws:s3:::bucket/HOW_TO_DECRYPT.txt"))
    ));
    assert!(!holds(clause, doc(json!("arn:aws:s3:::bucket"))));
    assert!(!holds(clause, doc(json!("xarn:aws:s3:::bucket/ransom"))));
    assert!(holds(
        clause,
        doc(json!(["arn:aws:s3:::bucket", "arn:aws:s3:::b/ransom.txt"]))
    ));
    assert!(!holds(
        r#"aws.cloudtrail.resources.arn regex "arn.*RANSOM""#,
        doc(json!("arn:x/ransom"))
    ));
}

#[test]
fn arrays_match_on_any_value() {
    let doc = json!({ "event": { "type": ["info", "change"] } });
    assert!(holds(r#"event.type == "change""#, doc.clone()));
    assert!(!holds(r#"event.type != "change""#, doc.clone()));
    assert!(holds(r#"event.type : "CH*""#, doc));
}

#[test]
fn numbers_and_booleans_match_their_text() {
    let doc =
        |v: Value| json!({ "aws": { "cloudtrail": { "session_credential_from_console": v } } });
    let clause = r#"aws.cloudtrail.session_credential_from_console == "true""#;
    assert!(holds(clause, doc(json!("true"))));
    assert!(holds(clause, doc(json!(true))));
    assert!(!holds(clause, doc(json!(false))));
    assert!(holds(
        "source.port == 443",
        json!({ "source": { "port": 443 } })
    ));
    assert!(holds(
        "source.port >= 443",
        json!({ "source": { "port": 8443 } })
    ));
    assert!(!holds(
        "source.port < 443",
        json!({ "source": { "port": 8443 } })
    ));
}

#[test]
fn cidr_match() {
    let doc = json!({ "source": { "ip": "10.1.2.3" } });
    assert!(holds(
        r#"cidrMatch(source.ip, "192.168.0.0/16", "10.0.0.0/8")"#,
        doc.clone()
    ));
    assert!(!holds(r#"cidrMatch(source.ip, "192.168.0.0/16")"#, doc));
}

#[test]
fn boolean_logic_and_precedence() {
    let doc = json!({ "event": { "action": "B", "outcome": "success" } });
    assert!(holds(
        r#"event.action == "A" or event.action == "B" and event.outcome == "success""#,
        doc.clone()
    ));
    assert!(!holds(
        r#"(event.action == "A" or event.action == "B") and event.outcome == "failure""#,
        doc.clone()
    ));
    assert!(holds(
        r#"not (event.action == "A" and event.outcome == "success")"#,
        doc.clone()
    ));
    assert!(!holds(r#"not not event.action == "A""#, doc));
}

#[test]
fn the_category_is_a_term_on_its_field() {
    let t = translate(
        r#"iam where event.action == "AttachUserPolicy" /* comment */"#,
        "event.category",
    )
    .unwrap();
    assert_eq!(t.category.as_deref(), Some("iam"));
    assert_eq!(
        t.condition,
        "ecs(event.category) eq \"iam\"\necs(event.action) eq \"AttachUserPolicy\""
    );
    assert_eq!(
        t.prefilter,
        json!({ "bool": { "filter": [
            { "term": { "event.category": "iam" } },
            { "term": { "event.action": "AttachUserPolicy" } }
        ] } })
    );
    let t = translate(r#"info where event.action == "X""#, "event.type").unwrap();
    assert!(t.condition.starts_with("ecs(event.type) eq \"info\""));
}

#[test]
fn the_prefilter_keeps_what_a_cluster_checks_exactly() {
    let t = translate(
        r#"any where event.provider == "s3.amazonaws.com" and (event.action : "Put*" or user.id == "x")
           and not event.outcome == "failure" and stringContains(aws.cloudtrail.request_parameters, "a*b")"#,
        "event.category",
    )
    .unwrap();
    assert!(t.prefilter_derived);
    assert_eq!(
        t.prefilter,
        json!({ "bool": { "filter": [
            { "term": { "event.provider": "s3.amazonaws.com" } },
            { "bool": { "should": [
                { "wildcard": { "event.action": { "value": "Put*", "case_insensitive": true } } },
                { "term": { "user.id": "x" } }
            ], "minimum_should_match": 1 } },
            { "wildcard": { "aws.cloudtrail.request_parameters": "*a\\*b*" } }
        ] } })
    );
    let broad = translate(r#"any where not event.action == "x""#, "event.category").unwrap();
    assert!(!broad.prefilter_derived);
    assert_eq!(broad.prefilter, broad_prefilter());
}

#[test]
fn refusals_say_why() {
    let refused = |q: &str| translate(q, "event.category").unwrap_err();
    assert!(refused("sequence by user.id [any where true] [any where true]").contains("correlate"));
    assert!(refused(r#"any where event.action == "x" | head 1"#).contains("pipes"));
    assert!(refused(r#"any where length(user.id) > 3"#).contains("`length`"));
    assert!(refused(r#"any where user.id"#).contains("boolean"));
    assert!(refused(r#"any where user.id = "x""#).contains("`==`"));
    assert!(refused(r#"any where user.id regex "a&b""#).contains("Lucene"));
    assert!(refused(r#"any where user.id == 'x'"#).contains("double quotes"));
    assert!(refused(r#"any where user.id : "a\\*""#).contains("backslash"));
}

#[test]
fn strings_are_quoted_for_the_condition_language() {
    let t = translate(r#"any where user.id == "a\"b\\c\nd""#, "event.category").unwrap();
    let condition = Condition::parse(&t.condition).unwrap();
    let event = Event::from_ecs(
        json!({ "user": { "id": "a\"b\\c\nd" } }),
        Origin::Inline("t".into()),
    );
    assert!(condition.evaluate(&event).matched, "{}", t.condition);
    assert_eq!(quote("\u{1}"), "\"\\u0001\"");
}
