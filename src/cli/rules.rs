//! `eshunt rules`: list the rules.

use super::summary::count;
use super::{exit, load_rules, rules_help, with_stdout, Fail, RulesDir, RulesFrom};
use std::io::Write;

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
    with_stdout(|out| list(&args, out))
}

fn list(args: &Args, out: &mut dyn Write) -> Result<u8, Fail> {
    if !args.rules.dir.is_dir() {
        return Err(format!(
            "the rules directory does not exist — {}",
            rules_help(&args.rules.dir, RulesFrom::OptionOrEnv)
        )
        .into());
    }
    let report = load_rules(&args.rules.dir);
    let width = report
        .rules
        .iter()
        .map(|r| r.meta.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    writeln!(
        out,
        "{:width$}  {:8}  {:7}  {:28}  NAME",
        "ID", "SEVERITY", "ENABLED", "SCHEDULE"
    )?;
    for rule in &report.rules {
        let enabled = if rule.meta.enabled { "yes" } else { "no" };
        writeln!(
            out,
            "{:width$}  {:8}  {:7}  {:28}  {}",
            rule.meta.id,
            rule.meta.severity,
            enabled,
            rule.schedule.to_string(),
            rule.meta.name
        )?;
        if args.verbose {
            writeln!(out, "    file:       {}", rule.file.display())?;
            writeln!(out, "    indices:    {}", rule.source.index.join(", "))?;
            let fallback = rule
                .source
                .timestamp_fallback
                .as_deref()
                .map(|f| format!(" (else {f})"))
                .unwrap_or_default();
            writeln!(
                out,
                "    time field: {}{fallback}",
                rule.source.timestamp_field
            )?;
            if let Some(kql) = &rule.prefilter.kql {
                writeln!(
                    out,
                    "    prefilter:  {}",
                    kql.split_whitespace().collect::<Vec<_>>().join(" ")
                )?;
            }
            if let Some(threshold) = &rule.threshold {
                writeln!(out, "    threshold:  {threshold}")?;
            }
            if let Some(suppression) = &rule.suppress {
                writeln!(out, "    suppress:   {suppression}")?;
            }
            writeln!(out, "    needles:    {:?}", rule.needles.describe())?;
            writeln!(out, "    tests:      {}", rule.tests.len())?;
        }
    }
    eprintln!(
        "{} from {}",
        count(report.rules.len() as u64, "rule"),
        count(report.files as u64, "file")
    );
    Ok(if report.errors.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL
    })
}
