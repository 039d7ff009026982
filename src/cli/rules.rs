//! `eshunt rules`: list the rules.

use super::{exit, load_rules, rules_help, RulesDir, RulesFrom};

/// Arguments of `eshunt rules`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    rules: RulesDir,
    /// Also show each rule's file, indices, time field, prefilter and literal needles.
    #[arg(short, long)]
    verbose: bool,
}

/// Runs `eshunt rules`.
pub fn run(args: Args) -> u8 {
    if !args.rules.dir.is_dir() {
        eprintln!(
            "error: the rules directory does not exist — {}",
            rules_help(&args.rules.dir, RulesFrom::OptionOrEnv)
        );
        return exit::FAILURE;
    }
    let report = load_rules(&args.rules.dir);
    let width = report
        .rules
        .iter()
        .map(|r| r.meta.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    println!(
        "{:width$}  {:8}  {:7}  {:28}  NAME",
        "ID", "SEVERITY", "ENABLED", "SCHEDULE"
    );
    for rule in &report.rules {
        let enabled = if rule.meta.enabled { "yes" } else { "no" };
        println!(
            "{:width$}  {:8}  {:7}  {:28}  {}",
            rule.meta.id,
            rule.meta.severity,
            enabled,
            rule.schedule.to_string(),
            rule.meta.name
        );
        if args.verbose {
            println!("    file:       {}", rule.file.display());
            println!("    indices:    {}", rule.source.index.join(", "));
            let fallback = rule
                .source
                .timestamp_fallback
                .as_deref()
                .map(|f| format!(" (else {f})"))
                .unwrap_or_default();
            println!("    time field: {}{fallback}", rule.source.timestamp_field);
            if let Some(kql) = &rule.prefilter.kql {
                println!(
                    "    prefilter:  {}",
                    kql.split_whitespace().collect::<Vec<_>>().join(" ")
                );
            }
            println!("    needles:    {:?}", rule.needles.describe());
            println!("    tests:      {}", rule.tests.len());
        }
    }
    eprintln!("{} rules from {} files", report.rules.len(), report.files);
    if report.errors.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL
    }
}
