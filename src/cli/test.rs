//! `eshunt test`: run every rule's tests.

use super::summary::count;
use super::{exit, load_rules, rules_help, with_stdout, Fail, RulesFrom};
use eshunt::testing;
use std::io::Write;
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
    with_stdout(|out| run_tests(&args, out))
}

fn run_tests(args: &Args, out: &mut dyn Write) -> Result<u8, Fail> {
    if !args.dir.is_dir() {
        return Err(format!(
            "the rules directory does not exist — {}",
            rules_help(&args.dir, RulesFrom::Argument)
        )
        .into());
    }
    let report = load_rules(&args.dir);
    if report.files == 0 && report.errors.is_empty() {
        return Err(format!(
            "no rule files (*.toml, searched recursively): nothing was tested — {}",
            rules_help(&args.dir, RulesFrom::Argument)
        )
        .into());
    }
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
        return Err(format!(
            "no rule with id `{missing}` — {}",
            rules_help(&args.dir, RulesFrom::Argument)
        )
        .into());
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
            writeln!(
                out,
                "test {} :: {} ... {status}",
                outcome.rule_id, outcome.name
            )?;
            if outcome.passed() {
                passed += 1;
            } else {
                failed += 1;
                failures.push(outcome);
            }
        }
    }
    if !failures.is_empty() {
        writeln!(out, "\nfailures:")?;
        for f in &failures {
            writeln!(
                out,
                "\n---- {} :: {} ({}) ----",
                f.rule_id, f.name, f.location
            )?;
            for reason in &f.failures {
                writeln!(out, "  {reason}")?;
            }
        }
    }
    let verdict = if failed == 0 && report.errors.is_empty() {
        "ok"
    } else {
        "FAILED"
    };
    writeln!(
        out,
        "\ntest result: {verdict}. {passed} passed; {failed} failed; {}; {} with errors",
        count(selected.len() as u64, "rule"),
        count(
            report
                .errors
                .iter()
                .map(|e| &e.file)
                .collect::<std::collections::BTreeSet<_>>()
                .len() as u64,
            "rule file"
        ),
    )?;
    Ok(if verdict == "ok" {
        exit::OK
    } else {
        exit::FAILURE
    })
}
