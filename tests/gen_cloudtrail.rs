//! The synthetic generator (`examples/gen_cloudtrail`): determinism, realistic mix, ground
//! truth that agrees with the rules evaluated on the records, and the output layouts.
#![recursion_limit = "256"]

#[path = "../examples/gen_cloudtrail/mod.rs"]
#[allow(dead_code)]
mod generator;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};

use chrono::{DateTime, Duration, TimeZone, Utc};
use generator::output::{Format, OutputConfig, Writer};
use generator::{verdict, Config, Generator};
use serde_json::Value;

fn config(count: u64, seed: u64, lambda_rate: f64) -> Config {
    Config {
        count,
        seed,
        lambda_rate,
        start: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        span: Duration::days(1),
        error_rate: 0.07,
        large_rate: 0.0001,
    }
}

#[test]
fn same_seed_same_records() {
    let a: Vec<Value> = Generator::new(config(500, 42, 0.01))
        .map(|g| g.record)
        .collect();
    let b: Vec<Value> = Generator::new(config(500, 42, 0.01))
        .map(|g| g.record)
        .collect();
    let c: Vec<Value> = Generator::new(config(500, 43, 0.01))
        .map(|g| g.record)
        .collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn realistic_mix_in_time_order() {
    let cfg = config(20_000, 5, 0.001);
    let (start, end) = (cfg.start, cfg.start + cfg.span);
    let mut last: Option<DateTime<Utc>> = None;
    let (mut errors, mut read_only, mut bytes) = (0usize, 0usize, 0usize);
    let mut ids = HashSet::new();
    let mut kinds = HashSet::new();
    let mut sso = 0;
    for g in Generator::new(cfg) {
        let r = &g.record;
        let t: DateTime<Utc> = r["eventTime"].as_str().unwrap().parse().unwrap();
        assert_eq!(t, g.time);
        assert!(t >= start && t < end);
        assert!(last.is_none_or(|l| l <= t), "time order");
        last = Some(t);
        assert!(
            ids.insert(r["eventID"].as_str().unwrap().to_string()),
            "unique eventID"
        );
        let id = r["eventID"].as_str().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        if r.get("errorCode").is_some() {
            errors += 1;
        }
        if r["readOnly"] == Value::Bool(true) {
            read_only += 1;
        }
        bytes += serde_json::to_string(r).unwrap().len();
        if let Some(k) = r["userIdentity"].get("type").and_then(Value::as_str) {
            kinds.insert(k.to_string());
        }
        let issuer = r["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"]
            .as_str()
            .unwrap_or("");
        if issuer.starts_with("AWSReservedSSO_") {
            sso += 1;
            let pid = r["userIdentity"]["principalId"].as_str().unwrap();
            assert!(pid.starts_with("AROA") && pid.contains(":"), "{pid}");
            let suffix = issuer.rsplit('_').next().unwrap();
            assert!(suffix.len() == 16 && suffix.chars().all(|c| c.is_ascii_hexdigit()));
        }
        // Background traffic never fires a seed rule.
        if g.truth.is_none() {
            assert!(!verdict::panther(r) && !verdict::elastic(r), "{r}");
        }
    }
    let n = 20_000.0;
    assert!(
        (0.04..0.12).contains(&(errors as f64 / n)),
        "error share {errors}"
    );
    assert!(read_only as f64 / n > 0.75, "read-only share {read_only}");
    let avg = bytes as f64 / n;
    assert!((900.0..1800.0).contains(&avg), "average size {avg}");
    for k in [
        "IAMUser",
        "AssumedRole",
        "FederatedUser",
        "AWSService",
        "Root",
    ] {
        assert!(kinds.contains(k), "{k} missing");
    }
    assert!(sso > 100);
}

#[test]
fn truth_agrees_with_rule_evaluation() {
    let mut seen = (0, 0, 0, 0);
    let (mut empty_code, mut empty_layers, mut publish, mut update_code) =
        (false, false, false, false);
    for g in Generator::new(config(6_000, 9, 0.4)) {
        let Some(t) = g.truth else { continue };
        let r = &g.record;
        assert_eq!(r["eventID"].as_str(), Some(t.event_id.as_str()));
        assert_eq!(verdict::panther(r), t.panther, "panther {r}");
        assert_eq!(verdict::elastic(r), t.elastic, "elastic {r}");
        match (t.panther, t.elastic) {
            (true, true) => seen.0 += 1,
            (false, true) => seen.1 += 1,
            (false, false) => seen.2 += 1,
            (true, false) => seen.3 += 1,
        }
        empty_code |= r.get("errorCode").and_then(Value::as_str) == Some("");
        empty_layers |= r["responseElements"]
            .get("layers")
            .is_some_and(|l| l == &Value::Array(vec![]));
        publish |= r["eventName"] == "PublishLayerVersion20181031";
        update_code |= r["eventName"] == "UpdateFunctionCode20150331v2";
    }
    assert!(seen.0 > 50 && seen.1 > 50 && seen.2 > 50, "{seen:?}");
    assert_eq!(seen.3, 0, "Panther never fires where Elastic does not");
    assert!(empty_code && empty_layers && publish && update_code);
}

fn out_cfg(format: Format, out: String) -> OutputConfig {
    OutputConfig {
        format,
        out,
        seed: 1,
        preserve_rate: 0.3,
        namespace: "default".into(),
        start: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    }
}

#[test]
fn trail_file_layout() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_string_lossy().to_string();
    let mut w = Writer::new(out_cfg(Format::Records, root.clone())).unwrap();
    let mut cfg = config(3_000, 2, 0.01);
    cfg.span = Duration::hours(2);
    for g in Generator::new(cfg) {
        w.write(&g).unwrap();
    }
    let stats = w.finish().unwrap();
    let name_re = regex::Regex::new(
        r"AWSLogs/(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8})T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$",
    )
    .unwrap();
    let mut total = 0;
    let mut files = 0;
    for entry in walkdir::WalkDir::new(&root) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        files += 1;
        let rel = entry
            .path()
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let caps = name_re
            .captures(&rel)
            .unwrap_or_else(|| panic!("bad path {rel}"));
        assert_eq!(&caps[1], &caps[6]);
        assert_eq!(&caps[2], &caps[7]);
        assert_eq!(
            format!("{}{}{}", &caps[3], &caps[4], &caps[5]),
            caps[8].to_string()
        );
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(entry.path()).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let records = v["Records"].as_array().unwrap();
        assert!(records.len() <= 600);
        for r in records {
            assert_eq!(r["recipientAccountId"].as_str(), Some(&caps[1]));
            assert_eq!(r["awsRegion"].as_str(), Some(&caps[2]));
        }
        total += records.len();
    }
    assert_eq!(total, 3_000);
    assert_eq!(files as u64, stats.files);
}

#[test]
fn ecs_hits_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hits.ndjson").to_string_lossy().to_string();
    let mut w = Writer::new(out_cfg(Format::EcsHits, path.clone())).unwrap();
    for g in Generator::new(config(1_000, 4, 0.01)) {
        w.write(&g).unwrap();
    }
    w.finish().unwrap();
    let (mut with, mut without) = (0, 0);
    for line in BufReader::new(std::fs::File::open(&path).unwrap()).lines() {
        let hit: Value = serde_json::from_str(&line.unwrap()).unwrap();
        assert_eq!(
            hit["_index"],
            ".ds-logs-aws.cloudtrail-default-2026.01.01-000001"
        );
        assert_eq!(hit["_id"].as_str().unwrap().len(), 20);
        let src = &hit["_source"];
        assert_eq!(src["data_stream"]["dataset"], "aws.cloudtrail");
        let ts: DateTime<Utc> = src["@timestamp"].as_str().unwrap().parse().unwrap();
        let ingested: DateTime<Utc> = src["event"]["ingested"].as_str().unwrap().parse().unwrap();
        assert!(ingested >= ts && ingested <= ts + Duration::minutes(15));
        if src["event"].get("original").is_some() {
            with += 1;
        } else {
            without += 1;
        }
    }
    assert!(with > 100 && without > 100, "{with} {without}");
}
