//! `eshunt scan --state`: a new terms rule's history carried from one scan of files to the next,
//! so a later day's scan knows what the earlier days saw.

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

const RULE: &str = "queries/aws/ec2_resources_in_new_region_for_identity.toml";

fn launch(user: &str, region: &str, at: &str) -> Value {
    json!({
        "eventVersion": "1.08", "eventID": format!("{user}-{region}-{at}"), "eventTime": at,
        "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances", "awsRegion": region,
        "sourceIPAddress": "198.51.100.20", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/{user}"),
                         "accountId": "111122223333", "userName": user},
        "eventType": "AwsApiCall", "readOnly": false,
    })
}

fn write_day(path: &Path, records: &[Value]) {
    let lines: Vec<String> = records.iter().map(Value::to_string).collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Scans `file` with the shipped new terms rule; returns the new (user, region) pairs.
fn scan(rules: &Path, file: &Path, state: Option<&Path>) -> Vec<(String, String)> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eshunt"));
    command.args(["scan", "--rules"]).arg(rules).arg(file);
    if let Some(state) = state {
        command.arg("--state").arg(state);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut found: Vec<(String, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let alert: Value = serde_json::from_str(l).unwrap();
            let fields = &alert["eshunt"]["new_terms"]["fields"];
            let arn = fields["userIdentity.arn"].as_str().unwrap();
            let user = arn.rsplit('/').next().unwrap().to_string();
            (user, fields["awsRegion"].as_str().unwrap().to_string())
        })
        .collect();
    found.sort();
    found
}

#[test]
fn a_later_scan_knows_what_earlier_scans_saw() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join(RULE);
    std::fs::copy(&shipped, rules.join("rule.toml")).unwrap();
    let (day1, day16) = (
        dir.path().join("day1.jsonl"),
        dir.path().join("day16.jsonl"),
    );
    write_day(
        &day1,
        &[
            launch("alice", "us-east-1", "2026-03-01T09:00:00Z"),
            launch("bob", "us-east-1", "2026-03-01T10:00:00Z"),
        ],
    );
    write_day(
        &day16,
        &[
            launch("alice", "us-east-1", "2026-03-14T09:00:00Z"),
            launch("alice", "eu-west-1", "2026-03-16T09:00:00Z"),
            launch("bob", "us-east-1", "2026-03-16T10:00:00Z"),
        ],
    );
    let state = dir.path().join("terms.json");

    assert!(
        scan(&rules, &day1, Some(&state)).is_empty(),
        "the first day is learnt"
    );
    assert!(state.exists());
    // Alone, the later file is its own (short) history: nothing is new yet.
    assert!(scan(&rules, &day16, None).is_empty());
    // With the state, the first day is its history: bob's region is known (seen 15 days ago,
    // more than the 14-day history: new again), alice's us-east-1 too (seen 2 days before).
    assert_eq!(
        scan(&rules, &day16, Some(&state)),
        [
            ("alice".to_string(), "eu-west-1".to_string()),
            ("bob".to_string(), "us-east-1".to_string())
        ]
    );
    // Scanning the same day again with the state it left: those alerts are not new any more.
    assert!(scan(&rules, &day16, Some(&state)).is_empty());

    std::fs::write(&state, "{not json").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_eshunt"))
        .args(["scan", "--rules"])
        .arg(&rules)
        .arg(&day16)
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not an eshunt state file"), "{stderr}");
}
