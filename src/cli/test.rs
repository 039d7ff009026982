//! `eshunt test`: run every rule's tests.

use super::{exit, load_rules, rules_help, RulesFrom};
use eshunt::rule::testing;
use std::path::PathBuf;

/// Arguments of `eshunt test`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder of rule files.
    #[arg(value_name = "DIR", default_value = "queries")]
    dir: PathBuf,
    /// Only the rule with this id (repeatable).
    #[arg(long = "rule", value_name = "ID")]
    rules: Vec<String>,
}

/// Runs `eshunt test`.
pub fn run(args: Args) -> u8 {
    if !args.dir.is_dir() {
        eprintln!(
            "error: the rules directory does not exist — {}",
            rules_help(&args.dir, RulesFrom::Argument)
        );
        return exit::FAILURE;
    }
    let report = load_rules(&args.dir);
    let selected: Vec<_> = report
        .rules
        .iter()
        .filter(|r| args.rules.is_empty() || args.rules.contains(&r.meta.id))
        .collect();
    if let Some(missing) = args
        .rules
        .iter()
        .find(|id| !report.rules.iter().any(|r| &&r.meta.id == id))
    {
        eprintln!(
            "error: no rule with id `{missing}` — {}",
            rules_help(&args.dir, RulesFrom::Argument)
        );
        return exit::FAILURE;
    }
    let (mut passed, mut failed) = (0, 0);
    let mut failures = Vec::new();
    for rule in &selected {
        if rule.tests.is_empty() {
            eprintln!(
                "warning: rule {} ({}) has no tests",
                rule.meta.id,
                rule.file.display()
            );
        }
        for outcome in testing::run(rule) {
            let status = if outcome.passed() { "ok" } else { "FAILED" };
            println!("test {} :: {} ... {status}", outcome.rule_id, outcome.name);
            if outcome.passed() {
                passed += 1;
            } else {
                failed += 1;
                failures.push(outcome);
            }
        }
    }
    if !failures.is_empty() {
        println!("\nfailures:");
        for f in &failures {
            println!("\n---- {} :: {} ({}) ----", f.rule_id, f.name, f.location);
            for reason in &f.failures {
                println!("  {reason}");
            }
        }
    }
    let verdict = if failed == 0 && report.errors.is_empty() {
        "ok"
    } else {
        "FAILED"
    };
    println!(
        "\ntest result: {verdict}. {passed} passed; {failed} failed; {} rules; {} rule files with errors",
        selected.len(),
        report.errors.iter().map(|e| &e.file).collect::<std::collections::BTreeSet<_>>().len()
    );
    if verdict == "ok" {
        exit::OK
    } else {
        exit::FAILURE
    }
}
