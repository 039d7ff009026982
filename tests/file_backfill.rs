//! File backfills with a rule that counts (threshold) beside a per-event rule, through the
//! binary: the same alerts as `eshunt scan --from --to`, written once, however the backfill is
//! interrupted and resumed — a resumed run reads the finished files again for the threshold
//! rule, whose group here spans two files.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{raw_event, t};

const FROM: &str = "2026-03-14";
const TO: &str = "2026-03-15";
const THRESHOLD: &str = "test.refused_three_times";
const PER_EVENT: &str = "test.layer_published";

/// Three refusals of one identity within an hour cross the threshold.
const THRESHOLD_RULE: &str = r#"
id = "test.refused_three_times"
name = "Refused three times"
description = "Three refused calls of one identity within an hour."
severity = "low"

[detection]
kql = "aws.cloudtrail.error_code: AccessDeniedException"

[threshold]
group_by = ["userIdentity.arn"]
count = 3
window = "1h"

[alert]
title = "{userIdentity.arn} refused three times"
"#;

const PER_EVENT_RULE: &str = r#"
id = "test.layer_published"
name = "Layer published"
description = "Every layer published."
severity = "low"

[detection]
kql = "event.action: PublishLayerVersion20181031"

[alert]
title = "layer published by {userIdentity.arn}"
"#;

/// A folder of rules and one of trail files: the identity's refusals of 10:00–11:00 are split
/// across the first two files (2 + 1), so only both together cross the threshold; the third
/// file has a lone refusal at noon and one outside the range.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules");
        std::fs::create_dir_all(&rules).unwrap();
        std::fs::write(rules.join("threshold.toml"), THRESHOLD_RULE).unwrap();
        std::fs::write(rules.join("per_event.toml"), PER_EVENT_RULE).unwrap();
        let setup = Setup { dir };
        std::fs::create_dir_all(setup.trails()).unwrap();
        setup.trail(
            "a.json",
            &[
                ("a1", "failed", "2026-03-14T10:01:00Z"),
                ("a2", "failed", "2026-03-14T10:02:00Z"),
                ("a3", "publish", "2026-03-14T10:03:00Z"),
                ("a4", "noise", "2026-03-14T10:04:00Z"),
            ],
        );
        setup.trail(
            "b.json",
            &[
                ("b1", "failed", "2026-03-14T10:20:00Z"),
                ("b2", "publish", "2026-03-14T10:21:00Z"),
                ("b3", "noise", "2026-03-14T10:22:00Z"),
            ],
        );
        setup.trail(
            "c.json",
            &[
                ("c1", "failed", "2026-03-14T12:00:00Z"),
                ("c2", "publish", "2026-03-14T12:01:00Z"),
                ("c3", "failed", "2026-03-16T10:30:00Z"),
            ],
        );
        setup
    }

    fn trails(&self) -> PathBuf {
        self.dir.path().join("trails")
    }

    /// Writes a CloudTrail delivery file of `(event id, kind, time)` records.
    fn trail(&self, name: &str, events: &[(&str, &str, &str)]) {
        let records: Vec<Value> = events
            .iter()
            .map(|(id, kind, time)| raw_event(id, kind, t(time)))
            .collect();
        let text = serde_json::json!({ "Records": records }).to_string();
        std::fs::write(self.trails().join(name), text).unwrap();
    }

    fn output(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn eshunt(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_eshunt"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("ESHUNT_RULES")
            .output()
            .expect("run eshunt")
    }

    /// `eshunt scan` of `source` (relative to the test folder, as the backfills name their
    /// files) over the range: its alert lines.
    fn scan(&self, source: &str, rule: Option<&str>) -> Vec<String> {
        let mut args = vec!["scan", source, "--rules", "rules"];
        args.extend(["--from", FROM, "--to", TO]);
        args.extend(rule.map(|r| ["--rule", r]).into_iter().flatten());
        let out = self.eshunt(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    /// A backfill of the trail files into `output` over the range (or `--resume`d); its stderr.
    fn backfill(&self, output: &Path, resume: bool) -> String {
        let mut args = vec!["backfill", "--source", "trails", "--rules", "rules"];
        match resume {
            true => args.push("--resume"),
            false => args.extend(["--from", FROM, "--to", TO]),
        }
        args.extend(["--output", output.to_str().unwrap()]);
        let out = self.eshunt(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stderr(&out)
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn progress(output: &Path) -> PathBuf {
    PathBuf::from(format!("{}.progress", output.display()))
}

fn json(line: &str) -> Value {
    serde_json::from_str(line).expect("alert lines are JSON")
}

fn rule_of(line: &str) -> String {
    json(line)["rule"]["id"].as_str().unwrap().to_string()
}

fn ids(lines: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = lines
        .iter()
        .map(|l| json(l)["eshunt"]["alert_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// An alert line without the times it was written at, which differ from run to run.
fn unstamped(line: &str) -> Value {
    let mut alert = json(line);
    let event = alert["event"].as_object_mut().unwrap();
    event.remove("created");
    event.remove("ingested");
    alert
}

fn unstamped_all(lines: &[String]) -> Vec<Value> {
    lines.iter().map(|l| unstamped(l)).collect()
}

#[test]
fn a_file_backfill_gives_the_alerts_a_scan_of_the_range_gives() {
    let setup = Setup::new();
    let output = setup.output("alerts.ndjson");
    let err = setup.backfill(&output, false);
    assert!(err.contains("4 alerts written to"), "{err}");
    let written = lines(&output);
    assert_eq!(ids(&written), ids(&setup.scan("trails", None)));
    let threshold: Vec<Value> = written
        .iter()
        .filter(|l| rule_of(l) == THRESHOLD)
        .map(|l| json(l))
        .collect();
    assert_eq!(threshold.len(), 1, "{written:?}");
    assert_eq!(threshold[0]["eshunt"]["threshold"]["count"], 3);
    assert_eq!(
        written.last().map(|l| rule_of(l)).as_deref(),
        Some(THRESHOLD),
        "the threshold alert comes after the last file"
    );
    // Its group spans two files: neither of them crosses the threshold alone.
    for file in ["trails/a.json", "trails/b.json"] {
        let alone = setup.scan(file, Some(THRESHOLD));
        assert!(alone.is_empty(), "{file}: {alone:?}");
    }
}

#[test]
fn a_backfill_interrupted_after_its_first_file_resumes_to_the_same_lines() {
    let setup = Setup::new();
    let whole = setup.output("whole.ndjson");
    setup.backfill(&whole, false);
    let recorded = lines(&progress(&whole));
    assert_eq!(recorded.len(), 5, "settings, 3 files, end: {recorded:?}");

    // Killed after the first file: its per-event alerts written, it alone recorded.
    let output = setup.output("alerts.ndjson");
    let first = setup.scan("trails/a.json", Some(PER_EVENT));
    assert_eq!(first.len(), 1);
    std::fs::write(&output, first.join("\n") + "\n").unwrap();
    std::fs::write(progress(&output), recorded[..2].join("\n") + "\n").unwrap();

    let err = setup.backfill(&output, true);
    assert!(
        err.contains("(1 already done)")
            && err.contains("read again for the rules that count or remember: 1 file already done")
            && err.contains("; 3 alerts written to"),
        "{err}"
    );
    let resumed = lines(&output);
    assert_eq!(unstamped_all(&resumed), unstamped_all(&lines(&whole)));
    assert_eq!(
        ids(&resumed).into_iter().collect::<BTreeSet<_>>().len(),
        resumed.len(),
        "no alert twice"
    );
    assert_eq!(lines(&progress(&output)), recorded);
}

#[test]
fn a_backfill_interrupted_before_its_end_alerts_writes_them_on_resume() {
    let setup = Setup::new();
    let output = setup.output("alerts.ndjson");
    setup.backfill(&output, false);
    let (whole, recorded) = (lines(&output), lines(&progress(&output)));

    // Killed after the last file, before the threshold alert: every file is read again for
    // the threshold rule alone, and only its alert is written.
    let per_event: Vec<String> = whole
        .iter()
        .filter(|l| rule_of(l) == PER_EVENT)
        .cloned()
        .collect();
    std::fs::write(&output, per_event.join("\n") + "\n").unwrap();
    std::fs::write(progress(&output), recorded[..4].join("\n") + "\n").unwrap();
    let err = setup.backfill(&output, true);
    assert!(
        err.contains("(3 already done)")
            && err.contains("read again for the rules that count or remember: 3 files already")
            && err.contains("; 1 alert written to"),
        "{err}"
    );
    assert_eq!(unstamped_all(&lines(&output)), unstamped_all(&whole));
    assert_eq!(lines(&progress(&output)), recorded);
}

#[test]
fn a_finished_backfill_resumed_again_writes_nothing_and_reads_nothing() {
    let setup = Setup::new();
    let output = setup.output("alerts.ndjson");
    setup.backfill(&output, false);
    let written = std::fs::read(&output).unwrap();
    let recorded = std::fs::read(progress(&output)).unwrap();
    for resume in [true, false] {
        let err = setup.backfill(&output, resume);
        assert!(
            err.contains("(3 already done)")
                && err.contains("; 0 alerts written to")
                && !err.contains("read again"),
            "{err}"
        );
        assert_eq!(std::fs::read(&output).unwrap(), written);
        assert_eq!(std::fs::read(progress(&output)).unwrap(), recorded);
    }
}
