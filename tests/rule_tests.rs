//! `cargo test` runs every rule's own tests, as `eshunt test queries/` does.

use eshunt::rule::load_dir;
use eshunt::testing;
use std::path::Path;

#[test]
fn every_shipped_rule_loads_and_passes_its_tests() {
    let report = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("queries"));
    for error in &report.errors {
        eprintln!("{error}");
    }
    assert!(report.errors.is_empty(), "rule files have errors");
    assert!(report.rules.len() >= 2, "the seed rules are missing");
    let mut failed = Vec::new();
    for rule in &report.rules {
        for outcome in testing::run(rule) {
            if !outcome.passed() {
                failed.push(format!(
                    "{} [{}] {}: {:?}",
                    outcome.location, outcome.rule_id, outcome.name, outcome.failures
                ));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "failing rule tests:\n{}",
        failed.join("\n")
    );
}
