//! Behaviour of `eshunt::event::to_ecs` on hand-written records: field mapping, the
//! empty-value cleanup, the string/flattened copies, the two pipeline generations, and
//! robustness on odd input (a proptest and every record of the shared corpus).

use std::io::{BufRead, BufReader};

use chrono::{TimeZone, Utc};
use eshunt::event::to_ecs::{
    java_map_string, to_ecs, PipelineGeneration, Retain, ToEcsOptions, FLATTENED_MAX_CHARS,
};
use proptest::prelude::*;
use serde_json::{json, Value};

fn current() -> ToEcsOptions {
    ToEcsOptions::default()
}

fn legacy() -> ToEcsOptions {
    ToEcsOptions {
        generation: PipelineGeneration::Legacy,
        ..Default::default()
    }
}

fn at<'a>(doc: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(doc, |v, k| v.get(k))
}

fn sso_update_with_layers() -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEEXAMPLE01:jane.doe@example.com",
            "arn": "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_PowerUser_0123456789abcdef/jane.doe@example.com",
            "accountId": "111122223333",
            "accessKeyId": "ASIAEXAMPLEEXAMPLE01",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEEXAMPLE01",
                    "arn": "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_PowerUser_0123456789abcdef",
                    "accountId": "111122223333",
                    "userName": "AWSReservedSSO_PowerUser_0123456789abcdef"
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2026-03-14T09:00:00Z", "mfaAuthenticated": "false"}
            }
        },
        "eventTime": "2026-03-14T09:12:34Z",
        "eventSource": "lambda.amazonaws.com",
        "eventName": "UpdateFunctionConfiguration20150331v2",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
        "errorCode": "",
        "requestParameters": {
            "functionName": "orders-api",
            "layers": ["arn:aws:lambda:us-east-1:444455556666:layer:helper:3"],
            "environment": {}
        },
        "responseElements": {
            "functionName": "orders-api",
            "description": "",
            "layers": [{"arn": "arn:aws:lambda:us-east-1:444455556666:layer:helper:3", "codeSize": 2048}],
            "memorySize": 128
        },
        "requestID": "2f6c1f0e-1111-4222-8333-944455556666",
        "eventID": "7d0c4c3e-aaaa-4bbb-8ccc-ddddeeeeffff",
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": "lambda.us-east-1.amazonaws.com"
        }
    })
}

#[test]
fn maps_core_fields() {
    let doc = to_ecs(&sso_update_with_layers(), &current());
    let s = |p: &str| at(&doc, p).and_then(Value::as_str).map(str::to_string);
    assert_eq!(s("@timestamp").as_deref(), Some("2026-03-14T09:12:34.000Z"));
    assert_eq!(s("event.provider").as_deref(), Some("lambda.amazonaws.com"));
    assert_eq!(
        s("event.action").as_deref(),
        Some("UpdateFunctionConfiguration20150331v2")
    );
    assert_eq!(
        s("event.id").as_deref(),
        Some("7d0c4c3e-aaaa-4bbb-8ccc-ddddeeeeffff")
    );
    assert_eq!(s("event.kind").as_deref(), Some("event"));
    assert_eq!(at(&doc, "event.type"), Some(&json!(["info"])));
    assert_eq!(at(&doc, "event.category"), None);
    // errorCode "" is removed by the cleanup, so the call counts as a success.
    assert_eq!(s("event.outcome").as_deref(), Some("success"));
    assert_eq!(at(&doc, "aws.cloudtrail.error_code"), None);
    assert_eq!(s("cloud.region").as_deref(), Some("us-east-1"));
    assert_eq!(s("cloud.account.id").as_deref(), Some("111122223333"));
    assert_eq!(s("cloud.provider").as_deref(), Some("aws"));
    assert_eq!(s("cloud.service.name").as_deref(), Some("lambda"));
    assert_eq!(s("source.address").as_deref(), Some("203.0.113.10"));
    assert_eq!(s("source.ip").as_deref(), Some("203.0.113.10"));
    assert_eq!(at(&doc, "related.ip"), Some(&json!(["203.0.113.10"])));
    assert_eq!(
        s("user.name").as_deref(),
        Some("AWSReservedSSO_PowerUser_0123456789abcdef")
    );
    assert_eq!(
        s("user.id").as_deref(),
        Some("AROAEXAMPLEEXAMPLE01:jane.doe@example.com")
    );
    assert_eq!(s("user.email").as_deref(), Some("jane.doe@example.com"));
    assert_eq!(
        at(&doc, "related.user"),
        Some(&json!([
            "jane.doe@example.com",
            "jane.doe",
            "AROAEXAMPLEEXAMPLE01:jane.doe@example.com",
            "AWSReservedSSO_PowerUser_0123456789abcdef"
        ]))
    );
    let ui = "aws.cloudtrail.user_identity";
    assert_eq!(s(&format!("{ui}.type")).as_deref(), Some("AssumedRole"));
    assert_eq!(
        s(&format!("{ui}.access_key_id")).as_deref(),
        Some("ASIAEXAMPLEEXAMPLE01")
    );
    assert_eq!(
        s(&format!("{ui}.session_context.creation_date")).as_deref(),
        Some("2026-03-14T09:00:00.000Z")
    );
    assert_eq!(
        s(&format!("{ui}.session_context.mfa_authenticated")).as_deref(),
        Some("false")
    );
    assert_eq!(
        s(&format!("{ui}.session_context.session_issuer.type")).as_deref(),
        Some("Role")
    );
    assert_eq!(
        at(
            &doc,
            &format!("{ui}.session_context.session_issuer.user_name")
        ),
        None
    );
    assert_eq!(at(&doc, "aws.cloudtrail.read_only"), Some(&json!(false)));
    assert_eq!(
        s("aws.cloudtrail.management_event").as_deref(),
        Some("true")
    );
    assert_eq!(
        s("aws.cloudtrail.event_category").as_deref(),
        Some("Management")
    );
    assert_eq!(
        s("aws.cloudtrail.recipient_account_id").as_deref(),
        Some("111122223333")
    );
    assert_eq!(s("tls.version_protocol").as_deref(), Some("tls"));
    assert_eq!(s("tls.version").as_deref(), Some("1.3"));
    assert_eq!(s("tls.cipher").as_deref(), Some("TLS_AES_128_GCM_SHA256"));
    assert_eq!(
        s("tls.client.server_name").as_deref(),
        Some("lambda.us-east-1.amazonaws.com")
    );
    assert_eq!(
        s("user_agent.original").as_deref(),
        Some("aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64")
    );
    assert_eq!(s("data_stream.dataset").as_deref(), Some("aws.cloudtrail"));
    assert_eq!(s("data_stream.type").as_deref(), Some("logs"));
    assert_eq!(s("data_stream.namespace").as_deref(), Some("default"));
    assert_eq!(s("event.dataset").as_deref(), Some("aws.cloudtrail"));
    assert_eq!(s("event.module").as_deref(), Some("aws"));
    assert_eq!(s("ecs.version").as_deref(), Some("8.11.0"));
    // Defaults: no event.original, no event.ingested.
    assert_eq!(at(&doc, "event.original"), None);
    assert_eq!(at(&doc, "event.ingested"), None);
}

#[test]
fn large_objects_have_string_and_flattened_forms_after_cleanup() {
    let doc = to_ecs(&sso_update_with_layers(), &current());
    let flat = at(&doc, "aws.cloudtrail.flattened.response_elements").unwrap();
    assert_eq!(
        flat,
        &json!({
            "functionName": "orders-api",
            "layers": [{"arn": "arn:aws:lambda:us-east-1:444455556666:layer:helper:3", "codeSize": 2048}],
            "memorySize": 128
        })
    );
    let req = at(&doc, "aws.cloudtrail.flattened.request_parameters").unwrap();
    assert!(req.get("environment").is_none());
    let text = at(&doc, "aws.cloudtrail.response_elements")
        .and_then(Value::as_str)
        .unwrap();
    assert!(text.starts_with('{') && text.ends_with('}'));
    assert!(text.contains(
        "layers=[{arn=arn:aws:lambda:us-east-1:444455556666:layer:helper:3, codeSize=2048}]"
    ));
    assert!(text.contains("memorySize=128"));
    assert!(!text.contains("description"));
}

#[test]
fn empty_layers_disappear_from_both_copies() {
    let mut rec = sso_update_with_layers();
    rec["responseElements"]["layers"] = json!([]);
    rec["requestParameters"]["layers"] = json!([]);
    let doc = to_ecs(&rec, &current());
    let flat = at(&doc, "aws.cloudtrail.flattened.response_elements").unwrap();
    assert!(flat.get("layers").is_none());
    let text = at(&doc, "aws.cloudtrail.response_elements")
        .unwrap()
        .as_str()
        .unwrap();
    assert!(!text.contains("layers"));
}

#[test]
fn outcome_failure_iff_error_code_or_message() {
    let mut rec = sso_update_with_layers();
    rec["errorCode"] = json!("AccessDeniedException");
    assert_eq!(
        at(&to_ecs(&rec, &current()), "event.outcome"),
        Some(&json!("failure"))
    );
    rec["errorCode"] = json!(null);
    rec["errorMessage"] = json!("denied");
    assert_eq!(
        at(&to_ecs(&rec, &current()), "event.outcome"),
        Some(&json!("failure"))
    );
    rec["errorMessage"] = json!("");
    assert_eq!(
        at(&to_ecs(&rec, &current()), "event.outcome"),
        Some(&json!("success"))
    );
    // The newest pipeline also treats "-" as empty; the legacy one does not.
    rec["errorCode"] = json!("-");
    assert_eq!(
        at(&to_ecs(&rec, &current()), "event.outcome"),
        Some(&json!("success"))
    );
    assert_eq!(
        at(&to_ecs(&rec, &legacy()), "event.outcome"),
        Some(&json!("failure"))
    );
}

#[test]
fn console_login_outcome_and_categories() {
    let rec = json!({
        "eventName": "ConsoleLogin", "eventSource": "signin.amazonaws.com",
        "responseElements": {"ConsoleLogin": "Failure"},
        "additionalEventData": {"MobileVersion": "No", "MFAUsed": "Yes", "LoginTo": "https://console.aws.amazon.com/"},
        "errorMessage": "Failed authentication"
    });
    let doc = to_ecs(&rec, &current());
    assert_eq!(at(&doc, "event.outcome"), Some(&json!("failure")));
    assert_eq!(at(&doc, "event.category"), Some(&json!(["authentication"])));
    assert_eq!(
        at(&doc, "aws.cloudtrail.console_login.additional_eventdata"),
        Some(
            &json!({"login_to": "https://console.aws.amazon.com/", "mfa_used": true, "mobile_version": false})
        )
    );
    let doc = to_ecs(
        &json!({"eventName": "CreateUser", "requestParameters": {"userName": "bob"}}),
        &current(),
    );
    assert_eq!(at(&doc, "event.category"), Some(&json!(["iam"])));
    assert_eq!(at(&doc, "event.type"), Some(&json!(["user", "creation"])));
    assert_eq!(at(&doc, "user.target.name"), Some(&json!("bob")));
    assert_eq!(at(&doc, "related.user"), Some(&json!(["bob"])));
}

#[test]
fn session_issuer_user_name_per_generation() {
    // A service identity with a session issuer: the legacy pipeline still moves the name.
    let rec = json!({
        "eventName": "Decrypt",
        "userIdentity": {
            "type": "AWSService", "invokedBy": "lambda.amazonaws.com",
            "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "svc-role"}}
        }
    });
    assert_eq!(
        at(&to_ecs(&rec, &legacy()), "user.name"),
        Some(&json!("svc-role"))
    );
    assert_eq!(at(&to_ecs(&rec, &current()), "user.name"), None);
    assert_eq!(
        at(
            &to_ecs(&rec, &current()),
            "aws.cloudtrail.user_identity.invoked_by"
        ),
        Some(&json!("lambda.amazonaws.com"))
    );
    // Federated user: issuer name in both generations.
    let fed = json!({"userIdentity": {"type": "FederatedUser", "principalId": "111122223333:carol",
        "arn": "arn:aws:sts::111122223333:federated-user/carol",
        "sessionContext": {"sessionIssuer": {"type": "IAMUser", "userName": "broker"}}}});
    for opts in [legacy(), current()] {
        assert_eq!(
            at(&to_ecs(&fed, &opts), "user.name"),
            Some(&json!("broker"))
        );
    }
    assert_eq!(
        at(&to_ecs(&fed, &current()), "related.user"),
        Some(&json!(["carol", "111122223333:carol", "broker"]))
    );
    assert_eq!(at(&to_ecs(&fed, &legacy()), "related.user"), None);
    // An existing user.name is never overwritten.
    let both = json!({"userIdentity": {"type": "AssumedRole", "userName": "direct",
        "sessionContext": {"sessionIssuer": {"userName": "issuer"}}}});
    assert_eq!(
        at(&to_ecs(&both, &current()), "user.name"),
        Some(&json!("direct"))
    );
}

#[test]
fn legacy_generation_omits_newer_fields() {
    let doc = to_ecs(&sso_update_with_layers(), &legacy());
    for p in [
        "cloud.provider",
        "cloud.service.name",
        "user.email",
        "related.ip",
        "related.user",
    ] {
        assert_eq!(at(&doc, p), None, "{p}");
    }
    assert_eq!(
        at(&doc, "user.name"),
        Some(&json!("AWSReservedSSO_PowerUser_0123456789abcdef"))
    );
    assert_eq!(
        at(&doc, "aws.cloudtrail.management_event"),
        Some(&json!(true))
    );
}

#[test]
fn retain_option_selects_copies() {
    let rec = json!({
        "eventName": "GetParameter",
        "requestParameters": {"name": "/app/db", "withDecryption": true},
        "responseElements": {"x": 1},
        "serviceEventDetails": {"k": "v"}
    });
    let with = |retain| {
        to_ecs(
            &rec,
            &ToEcsOptions {
                retain,
                ..Default::default()
            },
        )
    };
    let all = with(Retain::All);
    assert!(at(&all, "aws.cloudtrail.request_parameters").is_some());
    assert!(at(&all, "aws.cloudtrail.flattened.request_parameters").is_some());
    let kw = with(Retain::Keyword);
    assert!(at(&kw, "aws.cloudtrail.request_parameters").is_some());
    assert!(at(&kw, "aws.cloudtrail.flattened").is_none());
    let fl = with(Retain::Flattened);
    assert!(at(&fl, "aws.cloudtrail.request_parameters").is_none());
    assert!(at(&fl, "aws.cloudtrail.response_elements").is_none());
    assert!(at(&fl, "aws.cloudtrail.service_event_details").is_some());
    assert_eq!(
        at(&fl, "aws.cloudtrail.flattened.response_elements"),
        Some(&json!({"x": 1}))
    );
    let min = with(Retain::Minimal);
    assert!(at(&min, "aws.cloudtrail.request_parameters").is_some());
    assert_eq!(
        at(&min, "aws.cloudtrail.flattened"),
        Some(&json!({"request_parameters": {"withDecryption": true}}))
    );
}

#[test]
fn flattened_only_below_size_limit() {
    let big: Vec<Value> = (0..3000)
        .map(|i| json!({"instanceId": format!("i-{i:017x}")}))
        .collect();
    let rec =
        json!({"eventName": "RunInstances", "responseElements": {"instancesSet": {"items": big}}});
    let doc = to_ecs(&rec, &current());
    let text = at(&doc, "aws.cloudtrail.response_elements")
        .unwrap()
        .as_str()
        .unwrap();
    assert!(text.len() >= FLATTENED_MAX_CHARS);
    assert!(at(&doc, "aws.cloudtrail.flattened.response_elements").is_none());
}

#[test]
fn resources_are_renamed_and_deduplicated() {
    let rec = json!({"resources": [
        {"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": "arn:aws:kms:us-east-1:111122223333:key/k1"},
        {"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": "arn:aws:kms:us-east-1:111122223333:key/k1"},
        {"ARN": "arn:aws:s3:::bucket-a"},
        "not-an-object"
    ]});
    let doc = to_ecs(&rec, &current());
    let res = at(&doc, "aws.cloudtrail.resources")
        .unwrap()
        .as_array()
        .unwrap();
    assert_eq!(res.len(), 2);
    assert!(res.contains(&json!({"account_id": "111122223333", "type": "AWS::KMS::Key", "arn": "arn:aws:kms:us-east-1:111122223333:key/k1"})));
    assert!(res.contains(&json!({"arn": "arn:aws:s3:::bucket-a"})));
}

#[test]
fn timestamps_in_several_formats() {
    let cases = [
        ("2026-01-05T18:46:26Z", Some("2026-01-05T18:46:26.000Z")),
        ("2020-09-14T00:44:23.000Z", Some("2020-09-14T00:44:23.000Z")),
        (
            "2025-03-26 16:43:57.000000000",
            Some("2025-03-26T16:43:57.000Z"),
        ),
        ("2024-01-01 00:00:00", Some("2024-01-01T00:00:00.000Z")),
        ("2024-01-01 00:00:00.123", Some("2024-01-01T00:00:00.123Z")),
        ("2024-01-01 00:00:00Z", Some("2024-01-01T00:00:00.000Z")),
        (
            "2024-01-01T02:00:00+02:00",
            Some("2024-01-01T00:00:00.000Z"),
        ),
        (
            "2024-01-01T00:00:00.987654321-0130",
            Some("2024-01-01T01:30:00.987Z"),
        ),
        ("20131102T010628Z", Some("2013-11-02T01:06:28.000Z")),
        ("2024-02-03", Some("2024-02-03T00:00:00.000Z")),
        ("redacted", None),
        ("...", None),
        ("eventTime", None),
        ("2024-13-01T00:00:00Z", None),
        ("", None),
    ];
    for (input, want) in cases {
        let doc = to_ecs(&json!({ "eventTime": input }), &current());
        assert_eq!(
            at(&doc, "@timestamp").and_then(Value::as_str),
            want,
            "{input}"
        );
    }
    assert_eq!(
        at(&to_ecs(&json!({"eventTime": 5}), &current()), "@timestamp"),
        None
    );
}

#[test]
fn preserve_original_and_ingested() {
    let rec = sso_update_with_layers();
    let opts = ToEcsOptions {
        preserve_original: true,
        ingested: Some(
            Utc.with_ymd_and_hms(2026, 3, 14, 9, 20, 1).unwrap()
                + chrono::Duration::milliseconds(999),
        ),
        namespace: "prod".into(),
        ..Default::default()
    };
    let doc = to_ecs(&rec, &opts);
    let original = at(&doc, "event.original").unwrap().as_str().unwrap();
    assert_eq!(original, serde_json::to_string(&rec).unwrap());
    assert!(!original.contains('\n'));
    assert_eq!(
        at(&doc, "event.ingested"),
        Some(&json!("2026-03-14T09:20:01Z"))
    );
    assert_eq!(at(&doc, "data_stream.namespace"), Some(&json!("prod")));
    assert_eq!(at(&doc, "tags"), Some(&json!(["preserve_original_event"])));
}

#[test]
fn source_ip_only_for_addresses() {
    for (addr, ip) in [
        ("198.51.100.7", true),
        ("2001:db8::1", true),
        ("lambda.amazonaws.com", false),
        ("AWS Internal", false),
        ("81.2.69.142, 192.168.10.10", false),
    ] {
        let doc = to_ecs(&json!({ "sourceIPAddress": addr }), &current());
        assert_eq!(at(&doc, "source.address"), Some(&json!(addr)));
        assert_eq!(at(&doc, "source.ip").is_some(), ip, "{addr}");
        assert_eq!(at(&doc, "related.ip").is_some(), ip, "{addr}");
    }
}

#[test]
fn account_id_falls_back_to_recipient() {
    let doc = to_ecs(
        &json!({"recipientAccountId": "111122223333", "userIdentity": {"type": "AWSService"}}),
        &current(),
    );
    assert_eq!(at(&doc, "cloud.account.id"), Some(&json!("111122223333")));
    let doc = to_ecs(
        &json!({"recipientAccountId": "111122223333", "userIdentity": {"accountId": "444455556666"}}),
        &current(),
    );
    assert_eq!(at(&doc, "cloud.account.id"), Some(&json!("444455556666")));
}

#[test]
fn java_rendering() {
    assert_eq!(java_map_string(&json!({})), "{}");
    assert_eq!(
        java_map_string(&json!({"a": [1, "x", true, null]})),
        "{a=[1, x, true, null]}"
    );
    assert_eq!(
        java_map_string(&json!({"n": {"k": "v=1, {}"}})),
        "{n={k=v=1, {}}}"
    );
    for (f, want) in [
        (1.0, "1.0"),
        (0.5, "0.5"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (123.456, "123.456"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (-2.5, "-2.5"),
        (9999999.0, "9999999.0"),
    ] {
        assert_eq!(java_map_string(&json!(f)), want, "{f}");
    }
    // HashMap order: bucket of the spread String.hashCode() in a 16-slot table.
    assert_eq!(
        java_map_string(&json!({"roleArn": "r", "roleSessionName": "s", "durationSeconds": 3600})),
        "{durationSeconds=3600, roleArn=r, roleSessionName=s}"
    );
}

#[test]
fn odd_input_never_panics() {
    let odd = [
        json!(null),
        json!("a string"),
        json!(42),
        json!([1, 2]),
        json!({"userIdentity": "…", "requestParameters": "functionName=x", "readOnly": "true"}),
        json!({"userIdentity": {"type": 5, "sessionContext": "x", "arn": ["a"]}, "eventName": 7, "eventSource": 3}),
        json!({"userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/r/", "sessionContext": {"sessionIssuer": {"userName": {"a": 1}}}}}),
        json!({"resources": {"ARN": "x"}, "tlsDetails": {"tlsVersion": 1.2}, "responseElements": {"ConsoleLogin": 5}, "eventName": "ConsoleLogin"}),
        json!({"eventTime": "9999-99-99T99:99:99Z", "sourceIPAddress": 12, "awsRegion": {"x": ""}}),
    ];
    for rec in &odd {
        for generation in [PipelineGeneration::Legacy, PipelineGeneration::Current] {
            let doc = to_ecs(
                rec,
                &ToEcsOptions {
                    generation,
                    preserve_original: true,
                    ..Default::default()
                },
            );
            assert!(doc.is_object());
            assert_eq!(
                at(&doc, "data_stream.dataset"),
                Some(&json!("aws.cloudtrail"))
            );
        }
    }
    let doc = to_ecs(&odd[4], &current());
    assert_eq!(
        at(&doc, "aws.cloudtrail.request_parameters"),
        Some(&json!("functionName=x"))
    );
    assert_eq!(at(&doc, "aws.cloudtrail.read_only"), Some(&json!(true)));
}

/// Raw CloudTrail keys, so that random records exercise the mapping rather than miss it.
const KEYS: &[&str] = &[
    "eventTime",
    "eventSource",
    "eventName",
    "eventID",
    "userIdentity",
    "type",
    "userName",
    "principalId",
    "arn",
    "accountId",
    "sessionContext",
    "sessionIssuer",
    "attributes",
    "creationDate",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
    "resources",
    "ARN",
    "tlsDetails",
    "tlsVersion",
    "errorCode",
    "errorMessage",
    "readOnly",
    "managementEvent",
    "sourceIPAddress",
    "layers",
    "ConsoleLogin",
    "recipientAccountId",
    "x",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![
            Just(String::new()),
            Just("-".to_string()),
            Just("AssumedRole".to_string()),
            Just("arn:aws:sts::1:assumed-role/r/s@x".to_string()),
            Just("2026-01-01T00:00:00Z".to_string()),
            ".{0,12}",
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kvs| {
                Value::Object(kvs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_json(v in arb_json(), legacy_gen in any::<bool>(), keep in any::<bool>()) {
        let generation = if legacy_gen { PipelineGeneration::Legacy } else { PipelineGeneration::Current };
        let opts = ToEcsOptions { generation, preserve_original: keep, retain: Retain::Minimal, ..Default::default() };
        let doc = to_ecs(&v, &opts);
        prop_assert!(doc.is_object());
        let outcome = at(&doc, "event.outcome").and_then(Value::as_str).unwrap_or("").to_string();
        prop_assert!(!outcome.is_empty());
        let _ = to_ecs(&v, &ToEcsOptions { generation, ..Default::default() });
        let _ = java_map_string(&v);
    }
}

#[test]
fn maps_every_corpus_record() {
    let dir = std::path::Path::new("/work/shared/corpus/cloudtrail");
    if !dir.is_dir() {
        println!(
            "NOTICE: {} is absent; skipping the corpus run",
            dir.display()
        );
        return;
    }
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".jsonl.gz"))
        .collect();
    files.sort();
    let mut count = 0;
    for path in files {
        let reader = BufReader::new(flate2::read::GzDecoder::new(
            std::fs::File::open(&path).unwrap(),
        ));
        for line in reader.lines() {
            let rec: Value = serde_json::from_str(&line.unwrap()).unwrap();
            for generation in [PipelineGeneration::Legacy, PipelineGeneration::Current] {
                for retain in [
                    Retain::All,
                    Retain::Flattened,
                    Retain::Keyword,
                    Retain::Minimal,
                ] {
                    let opts = ToEcsOptions {
                        generation,
                        retain,
                        preserve_original: true,
                        ..Default::default()
                    };
                    let doc = to_ecs(&rec, &opts);
                    if let Some(ts) = at(&doc, "@timestamp") {
                        let ts = ts.as_str().unwrap();
                        assert!(
                            chrono::DateTime::parse_from_rfc3339(ts).is_ok() && ts.len() == 24,
                            "{ts}"
                        );
                    }
                    let id = rec.get("eventID").filter(|v| v.as_str() != Some(""));
                    if generation == PipelineGeneration::Legacy {
                        assert_eq!(at(&doc, "event.id"), id);
                    }
                    let failed = ["errorCode", "errorMessage"].iter().any(|k| {
                        rec.get(*k)
                            .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
                    });
                    if rec.get("eventName").and_then(Value::as_str) != Some("ConsoleLogin")
                        && generation == PipelineGeneration::Legacy
                    {
                        assert_eq!(
                            at(&doc, "event.outcome"),
                            Some(&json!(if failed { "failure" } else { "success" }))
                        );
                    }
                    assert_eq!(
                        at(&doc, "event.original")
                            .and_then(Value::as_str)
                            .map(|s| serde_json::from_str::<Value>(s).unwrap()),
                        Some(rec.clone())
                    );
                }
            }
            count += 1;
        }
    }
    println!("mapped {count} corpus records");
    assert!(count > 3000);
}
