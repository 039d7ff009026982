//! The bundled sample data (`samples/`): every file parses, the expected alerts written in
//! `samples/README.md` and `samples/expected.json` are exactly what the seed rules (as
//! evaluated by the generator's `verdict` module) give, and the Elasticsearch export is what
//! `to_ecs` makes of the same records.
//!
//! `ESHUNT_WRITE_SAMPLES=1 cargo test --test gen_samples` rewrites
//! `samples/elastic-export.ndjson` from the raw samples.
#![recursion_limit = "256"]

#[path = "../examples/gen_cloudtrail/verdict.rs"]
mod verdict;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use eshunt::event::to_ecs::{to_ecs, ToEcsOptions};
use serde_json::{json, Value};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples");
const INDEX: &str = ".ds-logs-aws.cloudtrail-default-2026.03.14-000001";

/// The exported documents: eventID, keep event.original, ingest delay (s), document _id.
const EXPORT: &[(&str, bool, i64, &str)] = &[
    (
        "4798de35-02d5-4773-adda-0606205caf91",
        false,
        312,
        "aXc2EXAMPLEdoc000001",
    ),
    (
        "7014f6e3-8ea8-4b15-9719-046164928ef8",
        false,
        371,
        "aXc2EXAMPLEdoc000002",
    ),
    (
        "63206cce-5dc5-4072-bb64-e7dfe2a623bc",
        true,
        355,
        "aXc2EXAMPLEdoc000003",
    ),
    (
        "9c55de5e-9609-4a91-ac95-88adeab1998b",
        false,
        340,
        "aXc2EXAMPLEdoc000004",
    ),
    (
        "de3aeb82-73fc-4b5a-aa69-53d8f76128d8",
        true,
        318,
        "aXc2EXAMPLEdoc000005",
    ),
    (
        "62bc3455-f032-4157-9977-53a1cc329290",
        false,
        297,
        "aXc2EXAMPLEdoc000006",
    ),
    (
        "3a1f67a7-2462-411c-a933-b225f89997c9",
        false,
        433,
        "aXc2EXAMPLEdoc000007",
    ),
];

fn raw_records() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(Path::new(SAMPLES).join("cloudtrail"))
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .collect();
    files.sort();
    assert!((2..=3).contains(&files.len()), "2–3 trail files");
    for f in files {
        let rel = f
            .strip_prefix(SAMPLES)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        assert!(rel.starts_with("cloudtrail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/14/111122223333_CloudTrail_us-east-1_20260314T"), "{rel}");
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&f).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        for r in v["Records"].as_array().unwrap() {
            out.push((rel.clone(), r.clone()));
        }
    }
    let extra = std::fs::read_to_string(Path::new(SAMPLES).join("cloudtrail-extra.jsonl")).unwrap();
    for line in extra.lines().filter(|l| !l.trim().is_empty()) {
        out.push((
            "cloudtrail-extra.jsonl".into(),
            serde_json::from_str(line).unwrap(),
        ));
    }
    out
}

fn id(r: &Value) -> String {
    r["eventID"].as_str().unwrap().to_string()
}

/// The rows of the README's alert table: eventID → (Panther, Elastic).
fn readme_table() -> BTreeMap<String, (bool, bool)> {
    let text = std::fs::read_to_string(Path::new(SAMPLES).join("README.md")).unwrap();
    let uuid = regex::Regex::new(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        .unwrap();
    let mut rows = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().trim_matches('`'))
            .collect();
        if cells.len() < 3 || !uuid.is_match(cells[0]) {
            continue;
        }
        let yes = |c: &str| match c.trim_matches('*').to_lowercase().as_str() {
            s if s.starts_with("yes") => true,
            s if s.starts_with("no") => false,
            other => panic!("cell {other:?} in row {line}"),
        };
        let n = cells.len();
        rows.insert(cells[0].to_string(), (yes(cells[n - 2]), yes(cells[n - 1])));
    }
    rows
}

#[test]
fn samples_use_fictitious_values() {
    let accounts =
        regex::Regex::new(r#"(?:arn:aws:[a-z0-9-]+:[a-z0-9-]*:|"accountId":")(\d+)"#).unwrap();
    let ip = regex::Regex::new(r"^(203\.0\.113|198\.51\.100)\.\d+$").unwrap();
    for (file, r) in raw_records() {
        assert_eq!(r["recipientAccountId"], "111122223333", "{file}");
        let addr = r["sourceIPAddress"].as_str().unwrap();
        assert!(
            ip.is_match(addr) || addr.ends_with(".amazonaws.com"),
            "{addr}"
        );
        let text = r.to_string();
        for c in accounts.captures_iter(&text) {
            assert!(
                ["111122223333", "444455556666"].contains(&&c[1]),
                "{}",
                &c[1]
            );
        }
    }
}

#[test]
fn expected_alerts_match_the_rules() {
    let records = raw_records();
    let ids: BTreeSet<String> = records.iter().map(|(_, r)| id(r)).collect();
    assert_eq!(ids.len(), records.len(), "eventIDs are unique");
    let panther: BTreeSet<String> = records
        .iter()
        .filter(|(_, r)| verdict::panther(r))
        .map(|(_, r)| id(r))
        .collect();
    let elastic: BTreeSet<String> = records
        .iter()
        .filter(|(_, r)| verdict::elastic(r))
        .map(|(_, r)| id(r))
        .collect();

    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(SAMPLES).join("expected.json")).unwrap(),
    )
    .unwrap();
    let set = |k: &str| -> BTreeSet<String> {
        expected[k]["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(panther, set("panther"), "expected.json panther alerts");
    assert_eq!(elastic, set("elastic"), "expected.json elastic alerts");

    let table = readme_table();
    for (event, (p, e)) in &table {
        assert!(ids.contains(event), "README lists unknown eventID {event}");
        assert_eq!(
            *p,
            panther.contains(event),
            "README Panther verdict of {event}"
        );
        assert_eq!(
            *e,
            elastic.contains(event),
            "README Elastic verdict of {event}"
        );
    }
    for event in panther.union(&elastic) {
        assert!(
            table.contains_key(event),
            "README table misses alerting event {event}"
        );
    }
    // The story the README tells: both rules on the IAM user and SSO attacks, Elastic alone
    // on CI/CD, PublishLayerVersion and `layers: []`, neither on the failed update.
    for (event, p, e) in [
        ("de3aeb82-73fc-4b5a-aa69-53d8f76128d8", true, true),
        ("3a1f67a7-2462-411c-a933-b225f89997c9", true, true),
        ("4798de35-02d5-4773-adda-0606205caf91", false, true),
        ("63206cce-5dc5-4072-bb64-e7dfe2a623bc", false, true),
        ("62bc3455-f032-4157-9977-53a1cc329290", false, true),
        ("9c55de5e-9609-4a91-ac95-88adeab1998b", false, false),
    ] {
        assert_eq!(
            (panther.contains(event), elastic.contains(event)),
            (p, e),
            "{event}"
        );
    }
}

fn export_lines(records: &[(String, Value)]) -> Vec<String> {
    EXPORT
        .iter()
        .map(|(event, preserve, delay, doc_id)| {
            let (_, r) = records.iter().find(|(_, r)| id(r) == *event).unwrap();
            let ts: DateTime<Utc> = r["eventTime"].as_str().unwrap().parse().unwrap();
            let opts = ToEcsOptions {
                preserve_original: *preserve,
                ingested: Some(ts + Duration::seconds(*delay)),
                ..Default::default()
            };
            let hit =
                json!({"_index": INDEX, "_id": doc_id, "_score": 1.0, "_source": to_ecs(r, &opts)});
            serde_json::to_string(&hit).unwrap()
        })
        .collect()
}

#[test]
fn elastic_export_is_to_ecs_of_the_samples() {
    let records = raw_records();
    let path = Path::new(SAMPLES).join("elastic-export.ndjson");
    let want = export_lines(&records);
    if std::env::var_os("ESHUNT_WRITE_SAMPLES").is_some() {
        std::fs::write(&path, want.join("\n") + "\n").unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let have: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        have, want,
        "samples/elastic-export.ndjson is stale: rerun with ESHUNT_WRITE_SAMPLES=1"
    );

    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(SAMPLES).join("expected.json")).unwrap(),
    )
    .unwrap();
    let elastic: BTreeSet<&str> = expected["elastic"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut flattened_without_original = false;
    for line in have {
        let hit: Value = serde_json::from_str(line).unwrap();
        let src = &hit["_source"];
        let event = src["event"]["id"].as_str().unwrap();
        assert_eq!(
            verdict::elastic_on_ecs(src),
            elastic.contains(event),
            "{event}"
        );
        if src["event"].get("original").is_none()
            && src["aws"]["cloudtrail"]["flattened"]["response_elements"]["layers"].is_array()
        {
            flattened_without_original = true;
        }
    }
    assert!(flattened_without_original);
}
