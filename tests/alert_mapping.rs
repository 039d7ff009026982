//! Every field eshunt writes into an alert is mapped by the templates `eshunt setup` installs
//! (the templates map with `dynamic: false`, so an unmapped field would be invisible to search).

use eshunt::alert::Alert;
use eshunt::es::flavor::{ClusterInfo, Flavor, Version};
use eshunt::es::setup::alert_mappings;
use eshunt::event::{Event, Origin};
use eshunt::hunt::engine::{Engine, TimeRange};
use eshunt::hunt::memory::Memory;
use eshunt::rule::{load_dir, PrefilterCheck, Rule, TestCase};
use serde_json::Value;
use std::path::Path;

fn leaves(prefix: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&path, v, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

fn mapped(mapping: &Value, path: &str) -> bool {
    let mut node = mapping;
    for key in path.split('.') {
        match node.get("properties").and_then(|p| p.get(key)) {
            Some(child) => node = child,
            None => return false,
        }
        if node
            .get("type")
            .is_some_and(|t| t == "flattened" || t == "flat_object")
        {
            return true;
        }
    }
    node.get("type").is_some()
}

/// The alerts of the shipped rules that count or remember, from their sequence tests.
fn sequence_alerts(rules: &[Rule]) -> Vec<Alert> {
    let mut out = Vec::new();
    for rule in rules {
        for test in &rule.tests {
            let (TestCase::Sequence { logs, .. }, Some(mut memory)) =
                (&test.case, Memory::for_rule(rule))
            else {
                continue;
            };
            for log in logs {
                let event = Event::from_document(log.clone(), Origin::Inline("test".into()));
                if rule.evaluate(&event, PrefilterCheck::Local).matched {
                    memory.add(&event);
                }
            }
            out.extend(
                memory
                    .finish(rule, chrono::Utc::now())
                    .into_iter()
                    .map(|r| r.alert),
            );
        }
    }
    out
}

#[test]
fn every_alert_field_is_mapped_on_both_flavors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = load_dir(&root.join("queries")).rules;
    let engine = Engine::new(&rules, TimeRange::ALL);
    let mut alerts = Vec::new();
    eshunt::hunt::files::scan(
        &[root.join("samples")],
        &engine,
        chrono::Utc::now(),
        None,
        &mut |a| {
            alerts.push(a);
            Ok(())
        },
    )
    .unwrap();
    assert!(alerts.len() >= 10);
    let remembered = sequence_alerts(&rules);
    assert!(
        remembered.len() >= 2,
        "the shipped threshold and new terms rules' sequence tests give alerts"
    );
    assert!(
        remembered
            .iter()
            .any(|a| !a.doc["eshunt"]["suppressed"].is_null()),
        "the shipped suppression rule's sequence tests give suppressed alerts"
    );
    alerts.extend(remembered);
    for (flavor, major, minor) in [(Flavor::Elasticsearch, 8, 15), (Flavor::OpenSearch, 2, 11)] {
        let info = ClusterInfo {
            flavor,
            version: Version {
                major,
                minor,
                patch: 0,
            },
            cluster_name: "t".into(),
            compat_mode: false,
            oss: false,
        };
        let mapping = alert_mappings(&info);
        for alert in &alerts {
            let mut fields = Vec::new();
            leaves("", &alert.doc, &mut fields);
            for field in fields {
                assert!(
                    mapped(&mapping, &field),
                    "{field} is not mapped ({flavor:?})"
                );
            }
        }
    }
}
