//! Maps the raw input of each Elastic pipeline test fixture in the shared corpus
//! (`ecs/elastic-integrations-pipeline-expected.jsonl.gz`, read in place, never copied) and
//! compares the result field by field with the pipeline's expected document.
//!
//! Fields that need GeoIP or user-agent databases, the agent's `event.created`, the input's
//! `tags`, and the optional `actor_target_mapping` entity fields are not compared. Every other
//! difference must be one of the known, explained ones listed in `KNOWN`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use eshunt::event::to_ecs::{to_ecs, PipelineGeneration, ToEcsOptions};
use serde_json::Value;

const EXPECTED: &str = "/work/shared/corpus/ecs/elastic-integrations-pipeline-expected.jsonl.gz";

/// Prefixes of dotted paths that are not compared.
const IGNORED: &[&str] = &[
    "source.geo",
    "source.as",
    "user_agent.name",
    "user_agent.os",
    "user_agent.device",
    "user_agent.version",
    "event.created",
    "tags",
    "actor.",
    "target.",
    "entity.",
    "related.entity",
    "user.entity",
    "user.target.entity",
    // Constants the agent adds; the test harness documents do not carry them.
    "data_stream.",
    "event.dataset",
    "event.module",
];

/// Differences explained by the fixture coming from another pipeline version than the one
/// emulated: (event.action, path, reason).
const KNOWN: &[(&str, &str, &str)] = &[
    (
        "AddPermission20150331v2",
        "cloud.provider",
        "fixture @0f775e78 predates cloud.provider (added by #20403)",
    ),
    (
        "AddPermission20150331v2",
        "cloud.service.name",
        "fixture @0f775e78 predates cloud.service.name (added by #20403)",
    ),
    (
        "AddPermission20150331v2",
        "related.ip",
        "fixture @0f775e78 predates related.ip (added by #20403)",
    ),
    (
        "UserAuthentication",
        "cloud.provider",
        "fixture @18ca47af predates cloud.provider (added by #20403)",
    ),
    (
        "UserAuthentication",
        "cloud.service.name",
        "fixture @18ca47af predates cloud.service.name (added by #20403)",
    ),
];

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

fn ignored(path: &str) -> bool {
    IGNORED.iter().any(|p| path.starts_with(p))
}

/// (path, mine, expected) for every compared path that differs.
fn diff(mine: &Value, expected: &Value) -> Vec<(String, Option<Value>, Option<Value>)> {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    flatten("", mine, &mut a);
    flatten("", expected, &mut b);
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !ignored(k))
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| (k.clone(), a.get(k).cloned(), b.get(k).cloned()))
        .collect()
}

#[test]
fn matches_elastic_pipeline_fixtures() {
    if !Path::new(EXPECTED).exists() {
        println!("NOTICE: {EXPECTED} is absent; skipping the fixture comparison");
        return;
    }
    let file = std::fs::File::open(EXPECTED).unwrap();
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    let mut count = 0;
    for line in reader.lines() {
        let line = line.unwrap();
        let expected: Value = serde_json::from_str(&line).unwrap();
        let original = expected["event"]["original"].as_str().unwrap();
        let raw: Value = serde_json::from_str(original).unwrap();
        let action = expected["event"]["action"].as_str().unwrap().to_string();

        // The fixtures come from different pipeline versions: create-lambda (@0bd62628) from
        // an older one than the rest.
        let generation = if action == "CreateFunction20150331" {
            PipelineGeneration::Legacy
        } else {
            PipelineGeneration::Current
        };
        let opts = ToEcsOptions {
            preserve_original: true,
            generation,
            ..Default::default()
        };
        let diffs = diff(&to_ecs(&raw, &opts), &expected);
        println!(
            "{action}: generation {generation:?}, {} differences",
            diffs.len()
        );
        for (path, mine, exp) in &diffs {
            let known = KNOWN.iter().find(|(a, p, _)| *a == action && p == path);
            println!(
                "  {path}: mine={} expected={} {}",
                mine.as_ref().map_or("-".into(), Value::to_string),
                exp.as_ref().map_or("-".into(), Value::to_string),
                known.map_or("UNEXPECTED".to_string(), |k| format!("(known: {})", k.2)),
            );
        }
        let unexpected: Vec<_> = diffs
            .iter()
            .filter(|(p, _, _)| !KNOWN.iter().any(|(a, kp, _)| *a == action && kp == p))
            .collect();
        assert!(
            unexpected.is_empty(),
            "{action}: unexpected differences {unexpected:?}"
        );
        count += 1;
    }
    assert_eq!(count, 4);
}
