//! `eshunt import sigma`: the upstream CloudTrail rules in `../shared/upstream-rules/sigma`
//! (read, never copied) all import, and small synthetic Sigma rules written here from the
//! Sigma specification give the verdicts the specification says — on raw CloudTrail records
//! and on the ECS documents Elastic's integration makes of them — with a prefilter that never
//! rejects a record the condition accepts.

use eshunt::event::to_ecs::{to_ecs, ToEcsOptions};
use eshunt::event::{Event, Origin};
use eshunt::import::{import, sigma, Catalogue, Conversion, Report};
use eshunt::rule::{load_file, PrefilterCheck, Rule};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn upstream() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/upstream-rules/sigma")
}

/// A Sigma rule around a detection (given as YAML lines, indented by four spaces here).
fn sigma_rule(detection: &str, modified: &str) -> String {
    let detection: String = detection.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "title: Synthetic {{rule}}\n\
         id: 5f0c2a43-0000-4000-8000-000000000001\n\
         status: test\n\
         description: A rule written for eshunt's tests.\n\
         author: Test Author, Second Author\n\
         date: 2024-01-02\n\
         modified: {modified}\n\
         tags:\n    - attack.persistence\n    - attack.t1098\n\
         logsource:\n    product: aws\n    service: cloudtrail\n\
         detection:\n{detection}\
         falsepositives:\n    - Admins\n\
         level: high\n"
    )
}

/// Imports one synthetic rule and loads the file written.
fn rule(detection: &str) -> Rule {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("synthetic.yml");
    std::fs::write(&file, sigma_rule(detection, "2024-02-03")).unwrap();
    let out = dir.path().join("out");
    let report = import(Catalogue::Sigma, &[file], &out).unwrap();
    assert!(
        report.errors.is_empty() && report.imported_total() == 1,
        "{}",
        report.render(&out)
    );
    load_file(&out.join("synthetic.toml")).unwrap()
}

/// A raw CloudTrail record: a base IAM call with `fields` set (a `null` value removes the key).
fn record(fields: Value) -> Value {
    let mut base = json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": "arn:aws:iam::123456789012:user/alice",
            "accountId": "123456789012",
            "userName": "alice"
        },
        "eventTime": "2024-03-01T10:00:00Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreateUser",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0 Python/3.11",
        "requestParameters": { "userName": "bob" },
        "responseElements": null,
        "requestID": "r-1",
        "eventID": "e-1",
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "123456789012",
        "eventCategory": "Management"
    });
    for (key, value) in fields.as_object().unwrap() {
        let object = base.as_object_mut().unwrap();
        match value {
            Value::String(s) if s == "<absent>" => {
                object.remove(key);
            }
            v => {
                object.insert(key.clone(), v.clone());
            }
        }
    }
    base
}

/// The rule's verdict on a raw record, checked to be the same on the record's ECS document,
/// and with the prefilter never rejecting what the condition accepts.
fn verdict(rule: &Rule, raw: Value) -> bool {
    let ecs = to_ecs(&raw, &ToEcsOptions::default());
    let on_raw = judge(rule, Event::from_cloudtrail(raw.clone(), origin()), &raw);
    let on_ecs = judge(rule, Event::from_ecs(ecs, origin()), &raw);
    assert_eq!(on_raw, on_ecs, "raw and ECS verdicts differ on {raw}");
    on_raw
}

fn judge(rule: &Rule, event: Event, raw: &Value) -> bool {
    let v = rule.evaluate(&event, PrefilterCheck::Local);
    assert_ne!(
        v.prefilter,
        Some(false),
        "the prefilter rejects a record the condition accepts: {raw}\nprefilter: {}",
        rule.prefilter.dsl
    );
    v.matched
}

fn origin() -> Origin {
    Origin::Inline("test".into())
}

fn convert(detection: &str) -> Conversion {
    sigma::convert(&sigma_rule(detection, "2024-02-03"), "synthetic.yml")
}

// ---- the upstream catalogue ----

fn import_upstream(out: &Path) -> Report {
    let report = import(Catalogue::Sigma, &[upstream()], out).unwrap();
    eprintln!("{}", report.render(out));
    report
}

#[test]
fn every_upstream_rule_imports_loads_and_tests() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sigma");
    let report = import_upstream(&out);
    assert_eq!(report.imported_total(), 57);
    assert!(report.errors.is_empty() && report.refused.is_empty());
    let warned = |file: &str, needle: &str| {
        report
            .warnings
            .iter()
            .any(|(f, w)| f.ends_with(file) && w.contains(needle))
    };
    assert!(warned("aws_delete_saml_provider.yml", "no field `status`"));
    assert!(warned(
        "aws_iam_backdoor_users_keys.yml",
        "`|fieldref`) was probably meant"
    ));
    assert!(warned("aws_update_login_profile.yml", "holds ARNs"));
    assert!(warned(
        "aws_cloudtrail_bucket_deleted.yml",
        "`errorCode` only when a call fails"
    ));

    let mut files: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 57);
    for file in &files {
        let rule = load_file(file).unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
        assert!(
            rule.prefilter.local.is_ok(),
            "{}: the prefilter does not compile locally",
            file.display()
        );
        assert_eq!(rule.meta.license.as_deref(), Some("DRL-1.1"));
        assert!(
            !rule.meta.author.is_empty(),
            "DRL 1.1: the author is credited"
        );
    }
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_eshunt"))
        .arg("test")
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
}

#[test]
fn re_import_is_idempotent_and_a_new_modified_date_updates_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sigma");
    import_upstream(&out);
    let again = import_upstream(&out);
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 57));

    let src = dir.path().join("rule.yml");
    std::fs::write(
        &src,
        sigma_rule("sel: {eventName: X}\ncondition: sel", "2024-02-03"),
    )
    .unwrap();
    let first = import(Catalogue::Sigma, std::slice::from_ref(&src), &out).unwrap();
    assert_eq!(first.created, 1);
    std::fs::write(
        &src,
        sigma_rule("sel: {eventName: X}\ncondition: sel", "2025-06-07"),
    )
    .unwrap();
    let second = import(Catalogue::Sigma, std::slice::from_ref(&src), &out).unwrap();
    assert_eq!((second.created, second.updated), (0, 1));
    let rule = load_file(&out.join("rule.toml")).unwrap();
    assert_eq!(rule.meta.version, 20250607);
    assert_eq!(
        rule.meta.origin.unwrap().version.as_deref(),
        Some("2025-06-07")
    );
}

// ---- metadata ----

#[test]
fn metadata_and_alerts_credit_the_author() {
    let rule = rule("sel: {eventName: CreateUser}\ncondition: sel");
    assert_eq!(rule.meta.name, "Synthetic {rule}");
    assert_eq!(rule.meta.id, "sigma.5f0c2a43-0000-4000-8000-000000000001");
    assert_eq!(rule.meta.severity.as_str(), "high");
    assert_eq!(rule.meta.threat[0].tactic.id, "TA0003");
    assert!(rule.meta.tags.contains(&"attack.t1098".to_string()));
    assert!(rule.meta.tags.contains(&"sigma-status:test".to_string()));
    let origin = rule.meta.origin.clone().unwrap();
    assert_eq!(origin.product, "Sigma");
    assert_eq!(
        origin.url.as_deref(),
        Some(
            "https://github.com/SigmaHQ/sigma/blob/master/rules/cloud/aws/cloudtrail/synthetic.yml"
        )
    );
    let event = Event::from_cloudtrail(record(json!({})), origin_label());
    assert!(rule.evaluate(&event, PrefilterCheck::Local).matched);
    let alert = eshunt::alert::build(&rule, &event, chrono::Utc::now());
    assert_eq!(
        alert.doc["rule"]["author"],
        json!(["Test Author, Second Author"])
    );
    assert_eq!(alert.doc["rule"]["license"], json!("DRL-1.1"));
    assert_eq!(
        eshunt::alert::title(&rule, &event),
        "Synthetic {rule}: CreateUser by arn:aws:iam::123456789012:user/alice"
    );
}

fn origin_label() -> Origin {
    origin()
}

// ---- detection semantics, from the Sigma specification ----

#[test]
fn values_match_case_insensitively_unless_cased() {
    let plain = rule("sel: {eventName: createuser}\ncondition: sel");
    assert!(verdict(
        &plain,
        record(json!({ "eventName": "CreateUser" }))
    ));
    assert!(!verdict(
        &plain,
        record(json!({ "eventName": "CreateUsers" }))
    ));
    let cased = rule("sel: {eventName|cased: createuser}\ncondition: sel");
    assert!(!verdict(
        &cased,
        record(json!({ "eventName": "CreateUser" }))
    ));
    assert!(verdict(
        &cased,
        record(json!({ "eventName": "createuser" }))
    ));
}

#[test]
fn contains_startswith_endswith() {
    let r = rule(
        "sel:\n  userAgent|contains: CLI/2\n  eventName|startswith: create\n  eventSource|endswith: .AMAZONAWS.com\ncondition: sel",
    );
    assert!(verdict(&r, record(json!({}))));
    assert!(!verdict(&r, record(json!({ "userAgent": "Boto3/1.0" }))));
    assert!(!verdict(&r, record(json!({ "eventName": "DeleteUser" }))));
    assert!(!verdict(
        &r,
        record(json!({ "eventSource": "iam.amazonaws.com.evil" }))
    ));
}

#[test]
fn wildcards_and_their_escapes() {
    let star = rule("sel: {userAgent: 'AWS-cli/*python*'}\ncondition: sel");
    assert!(verdict(&star, record(json!({}))));
    assert!(!verdict(
        &star,
        record(json!({ "userAgent": "x aws-cli/2 Python" }))
    ));
    let one = rule("sel: {eventName: 'Create?ser'}\ncondition: sel");
    assert!(verdict(&one, record(json!({}))));
    assert!(!verdict(
        &one,
        record(json!({ "eventName": "CreateUUser" }))
    ));
    // `\*` is a star, `\?` a question mark; a backslash before anything else is itself.
    let escaped = rule("sel: {userAgent: 'a\\*b\\?c\\d'}\ncondition: sel");
    assert!(verdict(
        &escaped,
        record(json!({ "userAgent": "A*B?C\\D" }))
    ));
    assert!(!verdict(
        &escaped,
        record(json!({ "userAgent": "axb?c\\d" }))
    ));
    // `contains: '*'`: any string value.
    let any = rule("sel: {errorCode|contains: '*'}\ncondition: sel");
    assert!(verdict(
        &any,
        record(json!({ "errorCode": "AccessDenied" }))
    ));
    assert!(!verdict(&any, record(json!({}))));
}

#[test]
fn regular_expressions_are_case_sensitive_unless_i() {
    let r = rule("sel: {userIdentity.arn|re: ':user/al.ce$'}\ncondition: sel");
    assert!(verdict(&r, record(json!({}))));
    let arn = json!({ "type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/ALICE" });
    assert!(!verdict(&r, record(json!({ "userIdentity": arn.clone() }))));
    let i = rule("sel: {userIdentity.arn|re|i: ':user/al.ce$'}\ncondition: sel");
    assert!(verdict(&i, record(json!({ "userIdentity": arn }))));
}

#[test]
fn cidr_all_exists_and_comparisons() {
    let cidr = rule("sel: {sourceIPAddress|cidr: 203.0.113.0/24}\ncondition: sel");
    assert!(verdict(&cidr, record(json!({}))));
    assert!(!verdict(
        &cidr,
        record(json!({ "sourceIPAddress": "198.51.100.1" }))
    ));

    let all = rule("sel:\n  userAgent|contains|all: [aws-cli, python]\ncondition: sel");
    assert!(verdict(&all, record(json!({}))));
    assert!(!verdict(
        &all,
        record(json!({ "userAgent": "aws-cli/2 Linux" }))
    ));

    let exists = rule("sel: {errorCode|exists: true}\ncondition: sel");
    assert!(verdict(
        &exists,
        record(json!({ "errorCode": "AccessDenied" }))
    ));
    assert!(!verdict(&exists, record(json!({}))));
    let missing = rule("sel: {errorCode|exists: false}\ncondition: sel");
    assert!(verdict(&missing, record(json!({}))));

    let gt = rule("sel: {requestParameters.maxItems|gt: 100}\ncondition: sel");
    let params = |n: Value| record(json!({ "requestParameters": { "maxItems": n } }));
    assert!(verdict(&gt, params(json!(500))));
    assert!(verdict(&gt, params(json!("500"))));
    assert!(!verdict(&gt, params(json!(5))));
}

#[test]
fn null_means_absent_or_without_a_value() {
    let r = rule("sel: {eventName: CreateUser}\nok: {errorCode: null}\ncondition: sel and ok");
    assert!(verdict(&r, record(json!({}))));
    assert!(verdict(&r, record(json!({ "errorCode": null }))));
    assert!(!verdict(&r, record(json!({ "errorCode": "AccessDenied" }))));
}

#[test]
fn lists_of_values_and_of_maps() {
    let values = rule("sel:\n  eventName: [DeleteUser, createuser]\ncondition: sel");
    assert!(verdict(&values, record(json!({}))));
    assert!(!verdict(&values, record(json!({ "eventName": "GetUser" }))));
    let maps = rule(
        "sel:\n  - eventName: GetUser\n  - userAgent|contains: boto\n    eventSource: iam.amazonaws.com\ncondition: sel",
    );
    assert!(verdict(&maps, record(json!({ "eventName": "GetUser" }))));
    assert!(verdict(&maps, record(json!({ "userAgent": "Boto3" }))));
    assert!(!verdict(&maps, record(json!({}))));
}

#[test]
fn quantifiers_not_and_parentheses() {
    let one_of = rule(
        "sel_a: {eventName: DeleteUser}\nsel_b: {eventName: CreateUser}\nfilter: {userIdentity.type: Root}\ncondition: 1 of sel_* and not filter",
    );
    assert!(verdict(&one_of, record(json!({}))));
    assert!(verdict(
        &one_of,
        record(json!({ "eventName": "DeleteUser" }))
    ));
    assert!(!verdict(&one_of, record(json!({ "eventName": "GetUser" }))));
    let root = json!({ "type": "Root", "arn": "arn:aws:iam::123456789012:root" });
    assert!(!verdict(&one_of, record(json!({ "userIdentity": root }))));

    let all = rule(
        "a: {eventName: CreateUser}\nb: {eventSource: iam.amazonaws.com}\n_skipped: {eventName: Never}\ncondition: all of them",
    );
    assert!(verdict(&all, record(json!({}))));
    assert!(!verdict(
        &all,
        record(json!({ "eventSource": "s3.amazonaws.com" }))
    ));

    let grouped = rule(
        "a: {eventName: GetUser}\nb: {eventName: CreateUser}\nc: {userAgent|contains: boto}\ncondition: not (a or b) or c",
    );
    assert!(!verdict(&grouped, record(json!({}))));
    assert!(verdict(
        &grouped,
        record(json!({ "eventName": "ListUsers" }))
    ));
    assert!(verdict(&grouped, record(json!({ "userAgent": "boto3" }))));
}

#[test]
fn numbers_and_booleans_compare_as_strings_and_as_json_values() {
    let boolean = rule("sel: {responseElements.publiclyAccessible: 'true'}\ncondition: sel");
    let response = |v: Value| record(json!({ "responseElements": { "publiclyAccessible": v } }));
    assert!(verdict(&boolean, response(json!(true))));
    assert!(verdict(&boolean, response(json!("TRUE"))));
    assert!(!verdict(&boolean, response(json!(false))));
    let number = rule("sel: {requestParameters.maxItems: 50}\ncondition: sel");
    let params = |n: Value| record(json!({ "requestParameters": { "maxItems": n } }));
    assert!(verdict(&number, params(json!(50))));
    assert!(verdict(&number, params(json!("50"))));
    assert!(!verdict(&number, params(json!(500))));
}

#[test]
fn a_whole_object_matches_as_its_java_map_text() {
    let r = rule("sel: {requestParameters|contains: suspended}\ncondition: sel");
    let versioning =
        json!({ "bucketName": "b", "VersioningConfiguration": { "Status": "Suspended" } });
    assert!(verdict(
        &r,
        record(json!({ "requestParameters": versioning }))
    ));
    assert!(!verdict(&r, record(json!({}))));
}

#[test]
fn fieldref_windash_and_neq() {
    let same =
        rule("sel: {userIdentity.userName|fieldref: requestParameters.userName}\ncondition: sel");
    assert!(verdict(
        &same,
        record(json!({ "requestParameters": { "userName": "ALICE" } }))
    ));
    assert!(!verdict(&same, record(json!({}))));
    let cased = rule(
        "sel: {userIdentity.userName|fieldref|cased: requestParameters.userName}\ncondition: sel",
    );
    assert!(!verdict(
        &cased,
        record(json!({ "requestParameters": { "userName": "ALICE" } }))
    ));

    let dash = rule("sel: {userAgent|windash|contains: ' -x'}\ncondition: sel");
    assert!(verdict(&dash, record(json!({ "userAgent": "tool /x" }))));
    assert!(verdict(&dash, record(json!({ "userAgent": "tool —x" }))));
    assert!(!verdict(&dash, record(json!({ "userAgent": "tool +x" }))));

    let neq = rule("sel: {eventName: CreateUser, userAgent|neq: [a, b]}\ncondition: sel");
    assert!(verdict(&neq, record(json!({}))));
    assert!(!verdict(&neq, record(json!({ "userAgent": "B" }))));
}

#[test]
fn prefilters_keep_the_structure_and_drop_negations() {
    let r = rule(
        "sel:\n  eventSource: iam.amazonaws.com\n  eventName|startswith: [Create, Delete]\nfilter: {userIdentity.type: Root}\ncondition: sel and not filter",
    );
    let dsl = r.prefilter.dsl.to_string();
    assert!(
        dsl.contains(r#""prefix":{"event.action":{"case_insensitive":true,"value":"Create"}}"#)
            || dsl.contains(
                r#""prefix":{"event.action":{"value":"Create","case_insensitive":true}}"#
            ),
        "{dsl}"
    );
    assert!(
        !dsl.contains("Root"),
        "negations never narrow the prefilter: {dsl}"
    );
    assert!(verdict(&r, record(json!({ "eventName": "deleteuser" }))));
    // A detection without a field the prefilter can use gets every CloudTrail document.
    let broad = rule("sel: {userIdentity.arn|re: 'alice'}\ncondition: sel");
    assert_eq!(
        broad.prefilter.dsl,
        json!({ "term": { "data_stream.dataset": "aws.cloudtrail" } })
    );
    assert!(broad
        .meta
        .origin
        .unwrap()
        .notes
        .unwrap()
        .contains("No prefilter"));
}

#[test]
fn refusals_and_other_log_sources() {
    let reason = |c: Conversion| match c {
        Conversion::Refused { reason, .. } => reason,
        other => panic!("{other:?}"),
    };
    assert!(
        reason(convert("sel: {eventName: X}\ncondition: sel | count() > 3"))
            .contains("aggregation")
    );
    assert!(reason(convert(
        "sel: {eventName: X}\ntimeframe: 1h\ncondition: sel"
    ))
    .contains("timeframe"));
    assert!(reason(convert("sel: [evil, bad]\ncondition: sel")).contains("keyword"));
    assert!(
        reason(convert("sel: {eventName|base64offset: X}\ncondition: sel"))
            .contains("base64offset")
    );
    let correlation = "title: C\nid: x\ncorrelation:\n  type: event_count\n  rules: [a]\nlogsource: {product: aws, service: cloudtrail}\n";
    assert!(reason(sigma::convert(correlation, "c.yml")).contains("correlation"));
    let windows = sigma_rule("sel: {EventID: 1}\ncondition: sel", "2024-01-01")
        .replace("product: aws", "product: windows");
    assert!(matches!(
        sigma::convert(&windows, "w.yml"),
        Conversion::NotApplicable(_)
    ));
}
