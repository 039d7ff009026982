//! Every field eshunt writes into an alert is mapped by the templates `eshunt setup` installs
//! (the templates map with `dynamic: false`, so an unmapped field would be invisible to search).

use eshunt::es::flavor::{ClusterInfo, Flavor, Version};
use eshunt::es::setup::alert_mappings;
use eshunt::hunt::engine::{Engine, TimeRange};
use eshunt::rule::load_dir;
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
        &mut |a| {
            alerts.push(a);
            Ok(())
        },
    )
    .unwrap();
    assert!(alerts.len() >= 10);
    alerts.extend(suppressed_alerts(&rules));
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

/// The alerts of the shipped suppressing rules on their sequence tests' logs (the samples hold
/// no event they suppress).
fn suppressed_alerts(rules: &[eshunt::rule::Rule]) -> Vec<eshunt::alert::Alert> {
    let mut out = Vec::new();
    for rule in rules.iter().filter(|r| r.suppress.is_some()) {
        let mut memory = eshunt::hunt::memory::Memory::for_rule(rule).unwrap();
        for test in &rule.tests {
            if let eshunt::rule::TestCase::Sequence { logs, .. } = &test.case {
                for log in logs {
                    let origin = eshunt::event::Origin::Inline("test".into());
                    let event = eshunt::event::Event::from_document(log.clone(), origin);
                    if rule
                        .evaluate(&event, eshunt::rule::PrefilterCheck::Local)
                        .matched
                    {
                        memory.add(&event);
                    }
                }
            }
        }
        let alerts = memory.finish(rule, chrono::Utc::now());
        assert!(alerts
            .iter()
            .any(|r| !r.alert.doc["eshunt"]["suppressed"].is_null()));
        out.extend(alerts.into_iter().map(|r| r.alert));
    }
    out
}
