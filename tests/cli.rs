//! The `eshunt` binary end to end: `scan` over the bundled samples and over broken input,
//! `test` and `rules` with good and bad rule files, exit codes.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eshunt"));
    command
        .args(args)
        .current_dir(root())
        .env_remove("ESHUNT_RULES");
    command
}

fn eshunt(args: &[&str]) -> Output {
    command(args).output().expect("run eshunt")
}

/// Runs eshunt with `input` on its standard input.
fn eshunt_with_stdin(args: &[&str], input: Vec<u8>) -> Output {
    let mut child = command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run eshunt");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let out = child.wait_with_output().expect("run eshunt");
    writer.join().unwrap().expect("write stdin");
    out
}

/// Runs eshunt with its stdout closed before it writes anything, as `eshunt … | head` once
/// `head` has exited: every write to stdout fails with a broken pipe.
fn eshunt_into_closed_pipe(args: &[&str]) -> Output {
    let mut child = command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run eshunt");
    drop(child.stdout.take());
    child.wait_with_output().expect("run eshunt")
}

fn alerts(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("alert lines are JSON"))
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn scan_samples_finds_exactly_the_expected_alerts() {
    let out = eshunt(&["scan", "samples/"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected: Value =
        serde_json::from_slice(&std::fs::read(root().join("samples/expected.json")).unwrap())
            .unwrap();
    let alerts = alerts(&out);
    for key in ["panther", "elastic"] {
        let rule = expected[key]["rule"].as_str().unwrap();
        let want: BTreeSet<&str> = expected[key]["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let got: BTreeSet<&str> = alerts
            .iter()
            .filter(|a| a["rule"]["id"] == rule)
            .map(|a| a["eshunt"]["source"]["event_id"].as_str().unwrap())
            .collect();
        assert_eq!(got, want, "alerts of {rule}");
    }
    let ids: BTreeSet<&str> = alerts
        .iter()
        .map(|a| a["eshunt"]["alert_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        alerts.len(),
        "an event seen twice (trail file and export) is alerted once"
    );
    // The 12 alerts of the two seed rules, and 8 building-block signals of Panther's
    // AWS.CloudTrail.UserAccessKeyAuth (calls made with long-term AKIA keys in the samples).
    let signals: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["event"]["kind"] == "signal")
        .collect();
    assert_eq!(signals.len(), 8);
    assert!(signals
        .iter()
        .all(|a| a["rule"]["id"] == "AWS.CloudTrail.UserAccessKeyAuth"));
    // And one alert of Panther's AWS.Root.Activity (high): the samples' root user changing a
    // Lambda function's configuration.
    let root: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["rule"]["id"] == "AWS.Root.Activity")
        .collect();
    assert_eq!(root.len(), 1);
    assert_eq!(
        root[0]["message"],
        "AWS root user activity [UpdateFunctionConfiguration20150331v2] in account [111122223333]"
    );
    let err = stderr(&out);
    assert!(err.contains("alerts 21:"), "{err}");
}

#[test]
fn alert_documents_carry_what_kibana_needs() {
    let out = eshunt(&[
        "scan",
        "samples/cloudtrail",
        "--rule",
        "AWS.Lambda.UpdateFunctionConfiguration",
    ]);
    let alerts = alerts(&out);
    assert!(!alerts.is_empty());
    for a in &alerts {
        assert_eq!(a["event"]["kind"], "alert");
        assert_eq!(a["event"]["severity"], 73);
        assert_eq!(a["event"]["risk_score"], 73);
        assert!(a["message"]
            .as_str()
            .unwrap()
            .starts_with("[AWS.CloudTrail] User ["));
        assert!(a["@timestamp"].as_str().unwrap().starts_with("2026-03-14T"));
        assert!(a["event"]["ingested"].is_string());
        assert_eq!(
            a["rule"]["name"],
            "Lambda Configuration Updated with Layers by User"
        );
        assert_eq!(a["threat"]["technique"]["id"][0], "T1078");
        assert!(a["eshunt"]["context"]["layer_arns"].is_array());
        assert!(a["eshunt"]["source"]["file"]
            .as_str()
            .unwrap()
            .ends_with(".json.gz"));
        assert!(a["user"]["name"].is_string() && a["cloud"]["account"]["id"] == "111122223333");
    }
}

#[test]
fn same_event_from_a_file_and_an_export_gets_the_same_alert_id() {
    let from_files = alerts(&eshunt(&[
        "scan",
        "samples/cloudtrail",
        "samples/cloudtrail-extra.jsonl",
    ]));
    let from_export = alerts(&eshunt(&["scan", "samples/elastic-export.ndjson"]));
    assert!(!from_export.is_empty());
    for exported in &from_export {
        let twin = from_files
            .iter()
            .find(|a| {
                a["eshunt"]["source"]["event_id"] == exported["eshunt"]["source"]["event_id"]
                    && a["rule"]["id"] == exported["rule"]["id"]
            })
            .expect("every exported event is also in the trail files");
        assert_eq!(twin["eshunt"]["alert_id"], exported["eshunt"]["alert_id"]);
        assert_eq!(twin["message"], exported["message"]);
        assert!(exported["eshunt"]["source"]["index"]
            .as_str()
            .unwrap()
            .starts_with(".ds-logs-aws.cloudtrail"));
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn malformed_input_is_reported_with_its_location_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(root().join("samples/cloudtrail-extra.jsonl")).unwrap();
    let broken = format!("{{\"eventSource\":\"lambda.amazonaws.com\",\"eventName\":\"UpdateFunctionConfiguration20150331v2\",\n[\"lambda.amazonaws.com UpdateFunctionConfiguration20150331v2\"]\n{good}");
    let file = write(dir.path(), "mixed.jsonl", &broken);
    std::fs::write(
        dir.path().join("truncated.json.gz"),
        b"\x1f\x8b\x08\x00garbage",
    )
    .unwrap();
    let out = eshunt(&[
        "scan",
        file.to_str().unwrap(),
        dir.path().join("truncated.json.gz").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "partial input gives exit 3");
    let err = stderr(&out);
    assert!(err.contains("invalid JSON: 1"), "{err}");
    assert!(err.contains("mixed.jsonl:1:"), "{err}");
    assert!(err.contains("not a JSON object: 1"), "{err}");
    assert!(err.contains("mixed.jsonl:2: [0]"), "{err}");
    assert!(err.contains("unreadable file: 1"), "{err}");
    assert!(
        !alerts(&out).is_empty(),
        "the good records after the bad ones are still hunted"
    );
}

#[test]
fn time_range_filters_on_event_time() {
    let all = alerts(&eshunt(&["scan", "samples/cloudtrail"]));
    let early = alerts(&eshunt(&[
        "scan",
        "samples/cloudtrail",
        "--to",
        "2026-03-14T09:10:00Z",
    ]));
    let late = alerts(&eshunt(&[
        "scan",
        "samples/cloudtrail",
        "--from",
        "2026-03-14T09:10:00Z",
    ]));
    assert_eq!(early.len() + late.len(), all.len());
    assert!(!early.is_empty() && !late.is_empty());
    let bad = eshunt(&["scan", "samples/", "--from", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn test_command_passes_on_shipped_rules_and_fails_on_a_wrong_expectation() {
    let out = eshunt(&["test", "queries"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("test result: ok."), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    let rule = std::fs::read_to_string(root().join("queries/aws/lambda_layers_added_by_user.toml"))
        .unwrap();
    let flipped = rule.replacen("expect = false", "expect = true", 1);
    write(dir.path(), "rule.toml", &flipped);
    let out = eshunt(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("expected an alert, got no alert"),
        "{stdout}"
    );
    assert!(stdout.contains("test result: FAILED. "), "{stdout}");
}

#[test]
fn rule_errors_name_file_line_and_column_and_other_rules_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let rule = std::fs::read_to_string(root().join("queries/aws/lambda_layers_added_by_user.toml"))
        .unwrap();
    write(dir.path(), "good.toml", &rule);
    let bad = rule
        .replace(
            "id = \"AWS.Lambda.UpdateFunctionConfiguration\"",
            "id = \"Broken\"",
        )
        .replace(
            "eventSource eq \"lambda.amazonaws.com\"",
            "eventSource eqq \"lambda.amazonaws.com\"",
        );
    let bad_path = write(dir.path(), "bad.toml", &bad);
    let line = bad
        .lines()
        .position(|l| l.starts_with("eventSource eqq"))
        .unwrap()
        + 1;
    let out = eshunt(&["scan", "samples/", "--rules", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    let location = format!("{}:{line}:13: unknown operator `eqq`", bad_path.display());
    assert!(err.contains(&location), "expected {location} in:\n{err}");
    assert!(
        err.contains("(AWS.Lambda.UpdateFunctionConfiguration): 3"),
        "{err}"
    );

    let out = eshunt(&["rules", "--rules", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("AWS.Lambda.UpdateFunctionConfiguration  high"));
}

#[test]
fn rule_problems_are_all_reported_with_their_position() {
    let dir = tempfile::tempdir().unwrap();
    let rule = |id: &str, severity: &str, risk: u32| {
        format!(
            "id = \"{id}\"\nname = \"n\"\nversion = 1\nseverity = \"{severity}\"\nrisk_score = {risk}\ndescription = \"d\"\n\n[detection]\nkql = 'event.action: X'\n\n[alert]\ntitle = \"t\"\n"
        )
    };
    write(dir.path(), "a.toml", &rule("same", "low", 21));
    write(dir.path(), "b.toml", &rule("same", "low", 21));
    write(dir.path(), "c.toml", &rule("bad", "nope", 200));
    let out = eshunt(&["rules", "--rules", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains("b.toml:1:6: rule id `same` is already used"),
        "{err}"
    );
    assert!(err.contains("c.toml:4:12:"), "severity: {err}");
    assert!(
        err.contains("c.toml:5:14: risk_score must be between 0 and 100"),
        "{err}"
    );
}

/// Panther's alert context names every key it computes: a missing field is `null` in the alert,
/// not left out.
#[test]
fn alert_context_keeps_keys_whose_value_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let record = r#"{"eventVersion":"1.08","eventSource":"lambda.amazonaws.com","eventName":"UpdateFunctionConfiguration20150331v2","eventTime":"2026-03-14T10:00:00Z","eventID":"ctx-null-1","awsRegion":"us-east-1","userIdentity":{"type":"IAMUser","userName":"dana"},"responseElements":{"functionName":"f","layers":[{"arn":"arn:aws:lambda:us-east-1:1:layer:x:1"}]}}"#;
    let file = write(dir.path(), "one.jsonl", record);
    let out = eshunt(&[
        "scan",
        file.to_str().unwrap(),
        "--rule",
        "AWS.Lambda.UpdateFunctionConfiguration",
    ]);
    let alerts = alerts(&out);
    assert_eq!(alerts.len(), 1, "{}", stderr(&out));
    let context = &alerts[0]["eshunt"]["context"];
    assert_eq!(context["identity_type"], "IAMUser");
    assert!(
        context.as_object().unwrap().contains_key("user_arn"),
        "{context}"
    );
    assert!(context["user_arn"].is_null(), "{context}");
}

#[test]
fn a_missing_rules_folder_is_a_failure_not_a_partial_run() {
    let out = eshunt(&["rules", "--rules", "/nonexistent/eshunt-rules"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(eshunt(&["scan"]).status.code(), Some(2));
    assert_eq!(eshunt(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(eshunt(&["--help"]).status.code(), Some(0));
}

#[test]
fn a_rule_that_is_all_cluster_side_prefilter_does_not_fire_on_files() {
    let dir = tempfile::tempdir().unwrap();
    let rule = r#"
id = "script-only"
name = "Script prefilter only"
version = 1
severity = "low"
description = "A prefilter eshunt cannot evaluate on files, and no condition."

[detection]
dsl = '''{ "script": { "script": "doc['event.action'].size() > 0" } }'''

[alert]
title = "anything"
"#;
    write(dir.path(), "script.toml", rule);
    let out = eshunt(&["scan", "samples/", "--rules", dir.path().to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(alerts(&out).is_empty(), "{err}");
    assert!(
        err.contains("Script prefilter only (script-only): 0"),
        "{err}"
    );
    assert!(
        err.contains("rule script-only's prefilter cannot be evaluated on files"),
        "{err}"
    );
}

/// A rule that leaves out `[source]` and `[schedule]` gets the defaults the README shows.
#[test]
fn rule_defaults_are_the_documented_ones() {
    let dir = tempfile::tempdir().unwrap();
    let rule = r#"
id = "minimal"
name = "Minimal"
version = 1
severity = "low"
description = "Only what is required."

[detection]
kql = 'event.action: X'

[alert]
title = "t"
"#;
    write(dir.path(), "minimal.toml", rule);
    let out = eshunt(&["rules", "-v", "--rules", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("every 5m, look-back 6m"), "{text}");
    assert!(text.contains("indices:    logs-aws.cloudtrail-*"), "{text}");
    assert!(
        text.contains("time field: event.ingested (else @timestamp)"),
        "{text}"
    );
}

#[test]
fn with_json_logs_errors_are_json_log_events() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let out = eshunt(&[
        "--log-format",
        "json",
        "status",
        "--config",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let events: Vec<Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        events.iter().any(|e| e["level"] == "ERROR"
            && e["fields"]["error"]
                .as_str()
                .is_some_and(|m| m.contains("missing.toml"))),
        "{err}"
    );
}

fn alert_ids_in(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("alert lines are JSON");
            v["eshunt"]["alert_id"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn file_backfill_writes_each_alert_once_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("alerts.ndjson");
    let progress = dir.path().join("alerts.ndjson.progress");
    let backfill = |from: &str| {
        eshunt(&[
            "backfill",
            "--source",
            "samples/",
            "--from",
            from,
            "--to",
            "2026-03-15",
            "--output",
            output.to_str().unwrap(),
        ])
    };
    let mut scanned: Vec<String> = alerts(&eshunt(&["scan", "samples/"]))
        .iter()
        .map(|a| a["eshunt"]["alert_id"].as_str().unwrap().to_string())
        .collect();
    scanned.sort();

    let first = backfill("2026-03-14");
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    // The samples hold some events twice (trail files and an export): a first run says so,
    // and does not call them written by an earlier run.
    assert!(
        stderr(&first).contains("the same events appear more than once in the input")
            && !stderr(&first).contains("from an earlier run"),
        "{}",
        stderr(&first)
    );
    let mut written = alert_ids_in(&output);
    written.sort();
    assert_eq!(written, scanned, "the same alerts as a scan, each once");

    // A rerun finds every file done and writes nothing.
    let again = backfill("2026-03-14");
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already done"),
        "{}",
        stderr(&again)
    );
    assert_eq!(alert_ids_in(&output).len(), scanned.len());

    // Interrupted after writing alerts but before recording any file, in the middle of the
    // last alert: every file is redone (here with --resume, which reads the range back), the
    // torn line is cut off, and no alert is written twice.
    let out_text = std::fs::read_to_string(&output).unwrap();
    let last_start = out_text.trim_end().rfind('\n').unwrap() + 1;
    let torn = last_start + (out_text.len() - last_start) / 2;
    std::fs::write(&output, &out_text[..torn]).unwrap();
    let text = std::fs::read_to_string(&progress).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() > 2,
        "a settings line and one line per file: {text}"
    );
    std::fs::write(&progress, format!("{}\n", lines[0])).unwrap();
    let resumed = eshunt(&[
        "backfill",
        "--source",
        "samples/",
        "--resume",
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    assert!(
        stderr(&resumed).contains("(0 already done)")
            && stderr(&resumed).contains("; 1 alert written to")
            && stderr(&resumed).contains("already in")
            && stderr(&resumed).contains("from an earlier run, not written again")
            && stderr(&resumed).contains("torn last line"),
        "{}",
        stderr(&resumed)
    );
    let mut after = alert_ids_in(&output);
    after.sort();
    assert_eq!(after, scanned);
    assert_eq!(
        std::fs::read_to_string(&progress).unwrap().lines().count(),
        lines.len(),
        "every redone file is recorded again"
    );

    // The progress file belongs to its range: another range is refused, not mixed in.
    let other = backfill("2026-03-13");
    assert_eq!(other.status.code(), Some(1));
    assert!(
        stderr(&other).contains("other settings"),
        "{}",
        stderr(&other)
    );
    assert_eq!(alert_ids_in(&output).len(), scanned.len());
}

#[test]
fn file_backfill_takes_several_sources_after_one_flag() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("alerts.ndjson");
    let paths = ["samples/cloudtrail", "samples/cloudtrail-extra.jsonl"];
    let mut args = vec!["backfill", "--source"];
    args.extend(paths);
    args.extend(["--from", "2026-03-14", "--to", "2026-03-15"]);
    args.extend(["--output", output.to_str().unwrap()]);
    let out = eshunt(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut scan = vec!["scan"];
    scan.extend(paths);
    let scanned = alerts(&eshunt(&scan)).len();
    assert!(scanned > 0);
    assert_eq!(alert_ids_in(&output).len(), scanned);
}

#[test]
fn file_backfill_keeps_to_its_range() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("alerts.ndjson");
    let out = eshunt(&[
        "backfill",
        "--source",
        "samples/",
        "--from",
        "2020-01-01",
        "--to",
        "2020-01-02",
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(alert_ids_in(&output).is_empty());
    assert!(
        stderr(&out).contains("outside the range"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_cluster_backfill_into_the_future_is_refused() {
    let out = eshunt(&["backfill", "--from", "now-1h", "--to", "now+1h"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is in the future"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_kql_query_may_start_with_a_hyphen() {
    let out = eshunt(&["kql", "--compact", "-event.action: Foo"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dsl: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(dsl.to_string().contains("event.action"), "{dsl}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        1,
        "--compact still read as the flag"
    );
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let record = r#"{"eventSource":"lambda.amazonaws.com","eventName":"UpdateFunctionConfiguration20150331v2","eventTime":"2026-03-14T10:00:00Z","eventID":"pipe-1","userIdentity":{"type":"IAMUser","userName":"dana"},"responseElements":{"functionName":"f","layers":[{"arn":"arn:aws:lambda:us-east-1:1:layer:x:1"}]}}"#;
    let file = write(dir.path(), "one.json", record);
    let rule = "AWS.Lambda.UpdateFunctionConfiguration";
    let commands: [&[&str]; 6] = [
        &["test", "queries"],
        &["test", "queries", "--rule", rule],
        &["explain", "--rule", rule, "--file", file.to_str().unwrap()],
        &["scan", "samples/"],
        &["rules", "-v"],
        &["kql", "event.action: X"],
    ];
    for args in commands {
        let out = eshunt_into_closed_pipe(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?} is quiet: {err}");
    }
}

fn alert_ids(output: &Output) -> BTreeSet<String> {
    alerts(output)
        .iter()
        .map(|a| a["eshunt"]["alert_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn scan_dash_reads_standard_input_in_every_format() {
    let trail = root().join("samples/cloudtrail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/14/111122223333_CloudTrail_us-east-1_20260314T0910Z_Hs7DfJ2aWq9ZrT4e.json.gz");
    for file in [
        trail.to_str().unwrap(),
        "samples/cloudtrail-extra.jsonl",
        "samples/elastic-export.ndjson",
    ] {
        let from_file = eshunt(&["scan", file]);
        assert!(!alerts(&from_file).is_empty(), "{file}");
        let input = std::fs::read(root().join(file)).unwrap();
        let from_stdin = eshunt_with_stdin(&["scan", "-"], input);
        let err = stderr(&from_stdin);
        assert_eq!(from_stdin.status.code(), Some(0), "{file}: {err}");
        assert_eq!(alert_ids(&from_stdin), alert_ids(&from_file), "{file}");
        assert!(err.contains("scanned 1 file "), "{err}");
    }
    let broken = eshunt_with_stdin(
        &["scan", "--parse-all", "-"],
        b"{\"a\":1}\n{\"b\":\n".to_vec(),
    );
    assert_eq!(broken.status.code(), Some(3));
    assert!(stderr(&broken).contains("<stdin>:2"), "{}", stderr(&broken));
    let backfill = eshunt(&[
        "backfill",
        "--source",
        "-",
        "--from",
        "2026-03-14",
        "--to",
        "2026-03-15",
        "--output",
        "/nonexistent/alerts.ndjson",
    ]);
    assert_eq!(backfill.status.code(), Some(1));
    assert!(
        stderr(&backfill).contains("eshunt scan -"),
        "{}",
        stderr(&backfill)
    );
}

const TRAIL_0910: &str = "samples/cloudtrail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/14/111122223333_CloudTrail_us-east-1_20260314T0910Z_Hs7DfJ2aWq9ZrT4e.json.gz";

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `explain --file` reads what `scan` reads, and its verdicts are scan's: every document of the
/// file is explained, those scan alerts on say ALERT, and `--line`/`--index` name one of them.
#[test]
fn explain_reads_a_file_as_scan_does_with_the_same_verdicts() {
    let rule = "AWS.Lambda.UpdateFunctionConfiguration";
    for (file, documents) in [(TRAIL_0910, 6), ("samples/cloudtrail-extra.jsonl", 5)] {
        let out = eshunt(&["explain", "--rule", rule, "--file", file]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{file}: {}", stderr(&out));
        assert_eq!(text.matches("\ndocument  ").count(), documents, "{file}");
        assert_eq!(
            text.matches("rule      ").count(),
            1,
            "the rule is shown once"
        );
        let scanned = alerts(&eshunt(&["scan", file, "--rule", rule]));
        assert!(!scanned.is_empty(), "{file}");
        assert_eq!(
            text.matches("verdict: ALERT").count(),
            scanned.len(),
            "{file}: {text}"
        );
        assert!(text.contains(&format!("\n{documents} documents: {} ALERT", scanned.len())));
        for alert in &scanned {
            let source = &alert["eshunt"]["source"];
            let line = source["line"].to_string();
            let mut args = vec!["explain", "--rule", rule, "--file", file, "--line", &line];
            let index = source["record"].as_u64().map(|i| i.to_string());
            if let Some(index) = &index {
                args.extend(["--index", index]);
            }
            let one = eshunt(&args);
            let text = stdout(&one);
            assert_eq!(one.status.code(), Some(0), "{args:?}: {}", stderr(&one));
            assert_eq!(text.matches("\ndocument  ").count(), 1, "{args:?}: {text}");
            assert!(text.contains("verdict: ALERT"), "{args:?}: {text}");
            let origin = match &index {
                Some(index) => format!("document  {file}:{line}: Records[{index}] ("),
                None => format!("document  {file}:{line} ("),
            };
            assert!(text.contains(&origin), "{args:?}: {text}");
        }
    }
}

#[test]
fn explain_reads_delivery_files_json_lines_and_reports_what_it_skips() {
    let dir = tempfile::tempdir().unwrap();
    let lines = std::fs::read_to_string(root().join("samples/cloudtrail-extra.jsonl")).unwrap();
    let records: Vec<&str> = lines.lines().collect();
    let delivery = write(
        dir.path(),
        "delivery.json",
        &format!("{{\"Records\":[{}]}}", records.join(",")),
    );
    let rule = "AWS.Lambda.UpdateFunctionConfiguration";
    let out = eshunt(&[
        "explain",
        "--rule",
        rule,
        "--file",
        delivery.to_str().unwrap(),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        text.matches("\ndocument  ").count(),
        records.len(),
        "{text}"
    );
    assert!(
        text.contains("delivery.json:1: Records[4] (raw CloudTrail record)"),
        "{text}"
    );
    assert!(text.contains("verdict: ALERT"), "{text}");

    let out = eshunt(&[
        "explain",
        "--rule",
        rule,
        "--file",
        delivery.to_str().unwrap(),
        "--index",
        "9",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no document to explain in"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("at index 9"), "{}", stderr(&out));
    let out = eshunt(&[
        "explain",
        "--rule",
        rule,
        "--file",
        delivery.to_str().unwrap(),
        "--index",
        "last",
    ]);
    assert_eq!(out.status.code(), Some(2));

    let broken = write(
        dir.path(),
        "broken.jsonl",
        &format!("{}\n{{\"eventName\":\n{}\n", records[0], records[1]),
    );
    let out = eshunt(&[
        "explain",
        "--rule",
        rule,
        "--file",
        broken.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "a skipped record makes a partial run"
    );
    assert_eq!(stdout(&out).matches("\ndocument  ").count(), 2);
    assert!(
        stderr(&out).contains("broken.jsonl:2: invalid JSON"),
        "{}",
        stderr(&out)
    );

    let input = std::fs::read(root().join(TRAIL_0910)).unwrap();
    let out = eshunt_with_stdin(
        &["explain", "--rule", rule, "--file", "-", "--index", "4"],
        input,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("document  <stdin>:1: Records[4]"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("verdict: ALERT"), "{}", stdout(&out));
}

#[test]
fn ignored_files_are_named_and_unreadable_compressions_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(root().join("samples/cloudtrail-extra.jsonl")).unwrap();
    write(dir.path(), "trail/good.jsonl", &good);
    for i in 0..12 {
        write(
            dir.path(),
            &format!("trail/notes-{i:02}.txt"),
            "not CloudTrail",
        );
    }
    let compressed: [(&str, &[u8]); 3] = [
        ("trail/a.json.bz2", b"BZh91AY&SY\x00\x01"),
        ("trail/b.json.xz", b"\xfd7zXZ\x00\x00\x04"),
        ("trail/c.json.zst", b"\x28\xb5\x2f\xfd\x04\x00"),
    ];
    for (name, bytes) in compressed {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let zip = dir.path().join("export.zip");
    std::fs::write(&zip, b"PK\x03\x04\x14\x00").unwrap();
    let out = eshunt(&[
        "scan",
        dir.path().join("trail").to_str().unwrap(),
        zip.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("scanned 5 files (12 ignored)"), "{err}");
    assert!(
        err.contains("ignored 12 files (in folders, not JSON or compressed by name):"),
        "{err}"
    );
    for i in 0..10 {
        assert!(err.contains(&format!("trail/notes-{i:02}.txt\n")), "{err}");
    }
    assert!(err.contains("  … and 2 more"), "{err}");
    assert!(err.contains("unsupported compression: 4"), "{err}");
    assert!(
        err.contains("a.json.bz2: bzip2-compressed, which eshunt cannot read (bunzip2 it first)"),
        "{err}"
    );
    assert!(err.contains("b.json.xz: xz-compressed"), "{err}");
    assert!(err.contains("c.json.zst: zstd-compressed"), "{err}");
    assert!(err.contains("export.zip: zip-compressed"), "{err}");
    assert!(!err.contains("invalid JSON"), "{err}");
    assert!(
        !alerts(&out).is_empty(),
        "the readable file is still hunted"
    );

    let bz2 = dir.path().join("trail/a.json.bz2");
    let rule = "AWS.Lambda.UpdateFunctionConfiguration";
    let out = eshunt(&[
        "explain",
        "--rule",
        rule,
        "--file",
        bz2.to_str().unwrap(),
        "--line",
        "1",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("a.json.bz2: unsupported compression: bzip2-compressed"),
        "{err}"
    );
}

/// A record the Panther seed rule fires on, with CloudTrail's `eventID` "1" as in Panther's own
/// test data, at `time`.
fn layer_update_with_event_id_1(time: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.05", "eventID": "1", "eventTime": time,
        "eventSource": "lambda.amazonaws.com", "eventName": "UpdateFunctionConfiguration20150331v2",
        "awsRegion": "us-west-2", "recipientAccountId": "123456789012",
        "sourceIPAddress": "203.0.113.50", "userAgent": "aws-cli/2.13.5",
        "userIdentity": {"type": "IAMUser", "userName": "dev", "accountId": "123456789012",
                         "arn": "arn:aws:iam::123456789012:user/dev"},
        "requestParameters": {"functionName": "api"},
        "responseElements": {"functionName": "api",
            "layers": [{"arn": "arn:aws:lambda:us-west-2:123456789012:layer:l:1"}]}
    })
    .to_string()
}

#[test]
fn distinct_events_sharing_an_event_id_get_distinct_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let times = [
        "2019-01-01T00:00:00Z",
        "2019-01-01T00:05:00Z",
        "2019-01-02T00:00:00Z",
    ];
    let lines: Vec<String> = times
        .iter()
        .map(|t| layer_update_with_event_id_1(t))
        .collect();
    let file = write(dir.path(), "panther-like.jsonl", &(lines.join("\n") + "\n"));
    let out = eshunt(&[
        "scan",
        file.to_str().unwrap(),
        "--rule",
        "AWS.Lambda.UpdateFunctionConfiguration",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ids: BTreeSet<String> = alerts(&out)
        .iter()
        .map(|a| a["eshunt"]["alert_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3, "one alert per event");
    assert!(
        !stderr(&out).contains("already alerted on"),
        "{}",
        stderr(&out)
    );

    // The same record twice is still one event, and says so.
    let twice = write(
        dir.path(),
        "twice.jsonl",
        &format!("{}\n{}\n", lines[0], lines[0]),
    );
    let out = eshunt(&[
        "scan",
        twice.to_str().unwrap(),
        "--rule",
        "AWS.Lambda.UpdateFunctionConfiguration",
    ]);
    assert_eq!(alerts(&out).len(), 1);
    assert!(
        stderr(&out).contains("1 more matched events already alerted on"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn summaries_name_rules_count_in_the_singular_and_log_as_json() {
    let out = eshunt(&["scan", "samples/cloudtrail-extra.jsonl"]);
    let err = stderr(&out);
    assert!(err.contains("scanned 1 file (0 ignored)"), "{err}");
    assert!(
        err.contains("Lambda Configuration Updated with Layers by User (AWS.Lambda.UpdateFunctionConfiguration): "),
        "rules by name, with their id: {err}"
    );

    let json = eshunt(&[
        "--log-format",
        "json",
        "scan",
        "samples/cloudtrail-extra.jsonl",
    ]);
    let lines: Vec<Value> = stderr(&json)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stderr line is a JSON log event"))
        .collect();
    let summary = lines
        .iter()
        .find(|l| l["fields"]["message"] == "scan finished")
        .expect("the summary is a log event");
    let figures: Value =
        serde_json::from_str(summary["fields"]["summary"].as_str().unwrap()).unwrap();
    assert_eq!(figures["files"], 1);
    assert_eq!(
        figures["alerts_per_rule"]["AWS.Lambda.UpdateFunctionConfiguration"],
        1
    );
}

#[test]
fn a_zero_chunk_is_a_usage_error_and_an_empty_rules_folder_fails_its_tests() {
    let out = eshunt(&[
        "backfill",
        "--from",
        "2026-03-14",
        "--to",
        "2026-03-15",
        "--chunk",
        "0m",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("it must be longer than zero"),
        "{}",
        stderr(&out)
    );

    let empty = tempfile::tempdir().unwrap();
    let out = eshunt(&["test", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no rule files"), "{}", stderr(&out));
}

/// Runs `eshunt status` against a cluster at `url` (config extras in `settings`), with nothing
/// from the environment overriding the config. Returns the output and how long it took.
fn status_against(url: &str, settings: &str) -> (Output, std::time::Duration) {
    let dir = tempfile::tempdir().unwrap();
    let rules = root().join("queries");
    let config = write(
        dir.path(),
        "config.toml",
        &format!(
            "[elasticsearch]\nurls = [\"{url}\"]\n{settings}\n[rules]\ndir = {:?}\n",
            rules.to_str().unwrap()
        ),
    );
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_eshunt"))
        .args(["status", "--config", config.to_str().unwrap()])
        .env_remove("ESHUNT_ES_URL")
        .env_remove("ESHUNT_ES_USERNAME")
        .env_remove("ESHUNT_ES_PASSWORD")
        .env_remove("ESHUNT_ES_API_KEY")
        .output()
        .expect("run eshunt");
    (out, started.elapsed())
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn assert_names_the_url_setting(err: &str) {
    assert!(err.contains("[elasticsearch] urls"), "{err}");
    assert!(err.contains("ESHUNT_ES_URL"), "{err}");
    assert!(!err.contains("error sending request"), "{err}");
}

#[test]
fn a_refused_first_connection_says_so_at_once() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let (out, took) = status_against(&url, "");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("connection refused"), "{err}");
    assert!(err.contains(&format!("{url}/")), "{err}");
    assert_names_the_url_setting(&err);
    assert!(
        !err.contains("retrying request"),
        "a refused first request is not retried: {err}"
    );
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
}

#[test]
fn https_to_a_plain_http_port_is_a_tls_handshake_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // A plain-http server: whatever it is sent, it answers 400 in clear text.
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = listener.accept().unwrap();
        let _ = stream.read(&mut [0u8; 1024]);
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    let url = format!("https://127.0.0.1:{port}");
    let (out, _) = status_against(&url, "");
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("TLS handshake"), "{err}");
    assert!(err.contains("http://"), "the hint names plain http: {err}");
    assert!(err.contains(&format!("{url}/")), "{err}");
    assert_names_the_url_setting(&err);
    assert!(!err.contains("retrying request"), "{err}");
}

#[test]
fn an_unresolvable_host_is_a_dns_failure() {
    // `.invalid` never resolves (RFC 6761): the lookup fails without reaching a cluster.
    let (out, _) = status_against("http://nonexistent.invalid:9200", "");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("cannot resolve the host name"), "{err}");
    assert!(err.contains("http://nonexistent.invalid:9200/"), "{err}");
    assert_names_the_url_setting(&err);
    assert!(!err.contains("retrying request"), "{err}");
}

#[test]
fn a_silent_cluster_is_a_timeout_naming_the_setting() {
    // Connections complete in the kernel's backlog; nothing ever answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (out, _) = status_against(&url, "request_timeout = \"500ms\"\nmax_retries = 0");
    drop(listener);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("no answer from"), "{err}");
    assert!(err.contains("within 500ms"), "{err}");
    assert!(err.contains("[elasticsearch] request_timeout"), "{err}");
}

/// Runs eshunt in `dir`, as an installed binary run outside the repository.
fn eshunt_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eshunt"))
        .args(args)
        .current_dir(dir)
        .env_remove("ESHUNT_RULES")
        .env_remove("ESHUNT_CONFIG")
        .output()
        .expect("run eshunt")
}

#[test]
fn outside_the_repository_errors_say_where_rules_were_looked_for_and_how_to_point_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let looked = std::path::absolute(dir.path().join("queries")).unwrap();
    let looked = looked.to_str().unwrap();
    let sample = root().join("samples/cloudtrail-extra.jsonl");
    let scan = eshunt_in(dir.path(), &["scan", sample.to_str().unwrap()]);
    assert_eq!(scan.status.code(), Some(1));
    let err = stderr(&scan);
    assert!(err.contains("no rules to run: no rule files"), "{err}");
    assert!(err.contains(looked), "{err}");
    assert!(err.contains("--rules DIR or ESHUNT_RULES"), "{err}");

    let rules = eshunt_in(dir.path(), &["rules"]);
    assert_eq!(rules.status.code(), Some(1));
    assert!(stderr(&rules).contains(looked), "{}", stderr(&rules));

    let test = eshunt_in(dir.path(), &["test"]);
    assert_eq!(test.status.code(), Some(1));
    assert!(
        stderr(&test).contains("eshunt test DIR"),
        "{}",
        stderr(&test)
    );

    // A cluster command reads `[rules] dir` of its config, relative to the config file.
    let config = write(
        dir.path(),
        "etc/config.toml",
        "[elasticsearch]\nurls = [\"http://127.0.0.1:9\"]\n",
    );
    let hunt = eshunt_in(
        dir.path(),
        &["hunt", "--config", config.to_str().unwrap(), "--last", "1h"],
    );
    assert_eq!(hunt.status.code(), Some(1));
    let err = stderr(&hunt);
    let beside_config = std::path::absolute(dir.path().join("etc/queries")).unwrap();
    assert!(err.contains(beside_config.to_str().unwrap()), "{err}");
    assert!(err.contains("`[rules] dir`"), "{err}");

    // Pointed at the rules, the same run works.
    let rules_dir = root().join("queries");
    let pointed = Command::new(env!("CARGO_BIN_EXE_eshunt"))
        .args(["scan", sample.to_str().unwrap()])
        .current_dir(dir.path())
        .env("ESHUNT_RULES", &rules_dir)
        .output()
        .unwrap();
    assert_eq!(pointed.status.code(), Some(0), "{}", stderr(&pointed));
}

#[test]
fn alerts_prints_one_short_line_per_alert_and_filters_by_rule_and_severity() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alerts.ndjson");
    let scan = eshunt(&["scan", "samples/", "--output", file.to_str().unwrap()]);
    assert_eq!(scan.status.code(), Some(0), "{}", stderr(&scan));
    let documents = alert_ids_in(&file).len();
    let expected: Value =
        serde_json::from_slice(&std::fs::read(root().join("samples/expected.json")).unwrap())
            .unwrap();
    let panther = expected["panther"]["alerts"].as_array().unwrap().len();

    let all = eshunt(&["alerts", file.to_str().unwrap()]);
    assert_eq!(all.status.code(), Some(0), "{}", stderr(&all));
    let text = String::from_utf8_lossy(&all.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), documents);
    let panther_line = lines
        .iter()
        .find(|l| l.contains("Lambda Configuration Updated with Layers by User"))
        .unwrap();
    assert!(
        panther_line.starts_with("2026-03-14T") && panther_line.contains("  high  "),
        "{panther_line}"
    );
    assert!(
        panther_line.contains("| [AWS.CloudTrail] User ["),
        "the title: {panther_line}"
    );
    assert!(
        panther_line.contains("| event ") && panther_line.contains(" at samples/"),
        "the source event: {panther_line}"
    );
    // The documents are 5–9 KB each.
    assert!(lines.iter().all(|l| l.len() < 1000), "{text}");

    let count = |args: &[&str]| {
        let mut all = vec!["alerts", file.to_str().unwrap()];
        all.extend(args);
        let out = eshunt(&all);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    assert_eq!(
        count(&["--rule", "AWS.Lambda.UpdateFunctionConfiguration"]),
        panther
    );
    // The seed's alerts and Panther's AWS.Root.Activity on the samples' root user call.
    assert_eq!(count(&["--min-severity", "high"]), panther + 1);
    assert_eq!(count(&["--min-severity", "low"]), documents);
    assert_eq!(count(&["--min-severity", "critical"]), 0);
    assert_eq!(
        eshunt(&["alerts", "x", "--min-severity", "severe"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn alerts_skips_what_is_not_an_alert_with_its_location_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.ndjson");
    eshunt(&[
        "scan",
        "samples/cloudtrail-extra.jsonl",
        "--output",
        good.to_str().unwrap(),
    ]);
    let mut text = std::fs::read_to_string(&good).unwrap();
    let count = text.lines().count();
    text.push_str(
        "{\"eventName\": \"UpdateFunctionConfiguration20150331v2\"}\n{\"event\": {\"kind\": \"al",
    );
    let mixed = write(dir.path(), "mixed.ndjson", &text);
    let missing = dir.path().join("missing.ndjson");
    let out = eshunt(&["alerts", mixed.to_str().unwrap(), missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "something was skipped");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), count);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("mixed.ndjson:{}: not an eshunt alert", count + 1)),
        "{err}"
    );
    assert!(
        err.contains(&format!("mixed.ndjson:{}: invalid JSON", count + 2)),
        "{err}"
    );
    assert!(err.contains("missing.ndjson: cannot read"), "{err}");
    assert!(err.contains("2 lines skipped; 1 files unreadable"), "{err}");
}

#[test]
fn rules_verbose_describes_a_threshold() {
    let out = eshunt(&["rules", "-v"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "threshold:  6 events (4 distinct eventName) per userIdentity.arn, in 10m buckets"
        ),
        "{text}"
    );
}

#[test]
fn rules_verbose_describes_a_suppression() {
    let out = eshunt(&["rules", "-v"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("suppress:   one alert per userIdentity.arn per 1h"),
        "{text}"
    );
}
