//! `eshunt scan`: hunt CloudTrail files and print alerts as JSON lines.

use super::summary::{count, rule_label, Summary};
use super::{exit, finish, load_rules, select_from, Fail, RuleFilter, RulesDir, RulesFrom};
use eshunt::hunt::carried::StateFile;
use eshunt::hunt::engine::{Engine, TimeRange};
use eshunt::hunt::files::{scan, ScanReport};
use eshunt::rule::Rule;
use eshunt::sink::ndjson::NdjsonSink;
use eshunt::tally::Tally;
use eshunt::time::parse_time_arg;
use serde_json::json;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

/// Arguments of `eshunt scan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or folders to hunt (folders are searched recursively); `-` is standard input.
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
    /// Carry what new terms rules learn from this scan to the next one: read FILE before the
    /// scan (if it exists) and replace it after. Daily scans of a trail then share one history
    /// instead of each learning it afresh.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
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
    let mut state = match &args.state {
        Some(path) => Some(StateFile::load(path)?),
        None => None,
    };
    let mut sink = NdjsonSink::new(BufWriter::new(writer));
    let result = scan(&args.paths, &engine, now, state.as_mut(), &mut |alert| {
        sink.write(&alert)
    });
    let scanned = result
        .and_then(|r| sink.finish().map(|_| r))
        .map_err(|e| Fail::writing("alerts", e))?;
    if let (Some(state), Some(path)) = (&mut state, &args.state) {
        state
            .save(path)
            .map_err(|e| format!("cannot write the state file {}: {e}", path.display()))?;
    }
    print_summary(&scanned, engine.rules());
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

/// Ignored files named in the summary, at most this many.
const IGNORED_NAMED: usize = 10;

/// The run summary, on stderr (or as a JSON log event): what was read, skipped and found, each
/// rule by name.
fn print_summary(report: &ScanReport, rules: &[&Rule]) {
    let mut summary = Summary::new("scan finished");
    read_part(&mut summary, report);
    skipped_part(&mut summary, &report.tally);
    alerts_part(&mut summary, report, rules);
    notes_part(&mut summary, &report.tally);
    summary.emit();
}

fn read_part(summary: &mut Summary, report: &ScanReport) {
    let t = &report.tally;
    let secs = report.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        t.events as f64 / secs
    } else {
        0.0
    };
    summary.line(format!(
        "scanned {} ({} ignored), {} in {secs:.2}s ({rate:.0} events/s); {} parsed, {} outside --from/--to",
        count(report.files as u64, "file"),
        report.ignored_files.len(),
        count(t.events, "event"),
        t.parsed,
        t.outside_range
    ));
    let ignored: Vec<String> = report
        .ignored_files
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if !ignored.is_empty() {
        summary.line(format!(
            "ignored {} (in folders, not JSON or compressed by name):",
            count(ignored.len() as u64, "file")
        ));
        for path in ignored.iter().take(IGNORED_NAMED) {
            summary.line(format!("  {path}"));
        }
        if ignored.len() > IGNORED_NAMED {
            summary.line(format!("  … and {} more", ignored.len() - IGNORED_NAMED));
        }
    }
    summary.field("files", report.files);
    summary.field("ignored_files", ignored);
    summary.field("events", t.events);
    summary.field("parsed", t.parsed);
    summary.field("outside_range", t.outside_range);
    summary.field("seconds", secs);
}

/// What a run skipped, by reason with examples (file and line), for the summary.
pub(super) fn skipped_part(summary: &mut Summary, t: &Tally) {
    let mut skipped = serde_json::Map::new();
    if t.skipped_total() > 0 {
        summary.line(format!("skipped {}:", t.skipped_total()));
        for (reason, occ) in &t.skipped {
            summary.line(format!("  {reason}: {}", occ.count));
            for example in &occ.examples {
                summary.line(format!("    {example}"));
            }
            skipped.insert(
                reason.to_string(),
                json!({"count": occ.count, "examples": occ.examples}),
            );
        }
    }
    summary.field("skipped", skipped);
}

fn alerts_part(summary: &mut Summary, report: &ScanReport, rules: &[&Rule]) {
    let label = |id: &str| {
        rules
            .iter()
            .find(|r| r.meta.id == id)
            .map_or_else(|| id.to_string(), |r| rule_label(&r.meta.name, id))
    };
    let written: u64 = report.outcome.written.values().sum();
    summary.line(format!("alerts {written}:"));
    let mut per_rule = serde_json::Map::new();
    for (rule, n) in &report.outcome.written {
        summary.line(format!("  {}: {n}", label(rule)));
        per_rule.insert(rule.clone(), json!(n));
    }
    summary.repeats(report.outcome.duplicates);
    summary.field("alerts", written);
    summary.field("alerts_per_rule", per_rule);
    summary.field("duplicates", report.outcome.duplicates);
}

fn notes_part(summary: &mut Summary, t: &Tally) {
    for (rule, reason) in &t.unchecked_prefilters {
        summary.line(format!("note: rule {rule}'s prefilter cannot be evaluated on files ({reason}); its verdicts rest on its condition alone (a rule without one does not fire on files)"));
    }
    for (rule, fields) in &t.ingest_only {
        summary.line(format!("note: rule {rule} reads {}, which Elastic's integration adds at ingest (GeoIP, user-agent parsing): it cannot be evaluated on raw CloudTrail records and was not run on them; it runs in the cluster and on ECS exports", fields.join(", ")));
    }
    let mut unavailable = serde_json::Map::new();
    for (rule, fields) in &t.unavailable {
        for (field, occ) in fields {
            summary.line(format!(
                "unavailable: rule {rule} needs {field}, which {} hold only as an unparseable string \
(no flattened copy and no event.original); their verdicts may be wrong. e.g. {}",
                count(occ.count, "document"),
                occ.examples.join(", ")
            ));
        }
        let counts: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .map(|(f, occ)| (f.clone(), json!(occ.count)))
            .collect();
        unavailable.insert(rule.clone(), counts.into());
    }
    summary.field("unchecked_prefilters", json!(t.unchecked_prefilters));
    summary.field("ingest_only", json!(t.ingest_only));
    summary.field("unavailable", unavailable);
}
