//! `eshunt scan`: hunt CloudTrail files and print alerts as JSON lines.

use super::{exit, finish, load_rules, select_from, Fail, RuleFilter, RulesDir, RulesFrom};
use eshunt::engine::{Engine, TimeRange};
use eshunt::scan::{scan, ScanReport};
use eshunt::sink::ndjson::NdjsonSink;
use eshunt::time::parse_time_arg;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

/// Arguments of `eshunt scan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or folders to hunt (folders are searched recursively).
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    rules: RulesDir,
    #[command(flatten)]
    rule: RuleFilter,
    /// Only events at or after this time (RFC 3339, a date, `now-7d`).
    #[arg(long, value_name = "TS")]
    from: Option<String>,
    /// Only events before this time.
    #[arg(long, value_name = "TS")]
    to: Option<String>,
    /// Write alerts to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Parse every record, so malformed lines that no rule could match are reported too
    /// (slower: by default such lines are skipped unparsed by the rules' literal needles).
    #[arg(long)]
    parse_all: bool,
}

/// Runs `eshunt scan`.
pub fn run(args: Args) -> u8 {
    finish(scan_files(args))
}

fn scan_files(args: Args) -> Result<u8, Fail> {
    let now = chrono::Utc::now();
    let range = time_range(&args, now).map_err(Fail::usage)?;
    let report = load_rules(&args.rules.dir);
    let selected = select_from(
        &report,
        &args.rule.ids,
        &args.rules.dir,
        RulesFrom::OptionOrEnv,
    )?;
    let engine = Engine::new(selected, range).parse_all(args.parse_all);
    let writer: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        ),
        None => Box::new(io::stdout().lock()),
    };
    let mut sink = NdjsonSink::new(BufWriter::new(writer));
    let result = scan(&args.paths, &engine, now, &mut |alert| sink.write(&alert));
    let scanned = result
        .and_then(|r| sink.finish().map(|_| r))
        .map_err(|e| format!("writing alerts: {e}"))?;
    print_summary(&scanned);
    let clean = report.errors.is_empty()
        && scanned.tally.skipped_total() == 0
        && scanned.tally.unavailable.is_empty();
    Ok(if clean { exit::OK } else { exit::PARTIAL })
}

fn time_range(args: &Args, now: chrono::DateTime<chrono::Utc>) -> Result<TimeRange, String> {
    let parse = |t: &Option<String>| t.as_deref().map(|t| parse_time_arg(t, now)).transpose();
    let range = TimeRange {
        from: parse(&args.from)?,
        to: parse(&args.to)?,
    };
    if let (Some(f), Some(t)) = (range.from, range.to) {
        if f >= t {
            return Err("--from must be before --to".into());
        }
    }
    Ok(range)
}

/// The run summary, on stderr.
fn print_summary(report: &ScanReport) {
    let t = &report.tally;
    let secs = report.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        t.events as f64 / secs
    } else {
        0.0
    };
    eprintln!(
        "scanned {} files ({} ignored), {} events in {secs:.2}s ({rate:.0} events/s); {} parsed, {} outside --from/--to",
        report.files, report.ignored_files, t.events, t.parsed, t.outside_range
    );
    if t.skipped_total() > 0 {
        eprintln!("skipped {}:", t.skipped_total());
        for (reason, occ) in &t.skipped {
            eprintln!("  {reason}: {}", occ.count);
            for example in &occ.examples {
                eprintln!("    {example}");
            }
        }
    }
    let written: u64 = report.written.values().sum();
    eprintln!("alerts {written}:");
    for (rule, n) in &report.written {
        eprintln!("  {rule}: {n}");
    }
    if report.duplicates > 0 {
        eprintln!(
            "  ({} more matched events already alerted on: the same events appear in several inputs)",
            report.duplicates
        );
    }
    for (rule, reason) in &t.unchecked_prefilters {
        eprintln!("note: rule {rule}'s prefilter cannot be evaluated on files ({reason}); its verdicts rest on its condition alone (a rule without one does not fire on files)");
    }
    for (rule, fields) in &t.unavailable {
        for (field, occ) in fields {
            eprintln!(
                "unavailable: rule {rule} needs {field}, which {} documents hold only as an unparseable string \
(no flattened copy and no event.original); their verdicts may be wrong. e.g. {}",
                occ.count,
                occ.examples.join(", ")
            );
        }
    }
}
