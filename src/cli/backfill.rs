//! `eshunt backfill`: the rules over a date range — of the cluster (chunked, concurrent,
//! progress in the state index, resumable) or of CloudTrail files (`--source`, resumable via a
//! progress file beside `--output`).

use super::cluster::{self, ConfigArg};
use super::summary::{count, Summary};
use super::{exit, finish, load_rules, select_from, Fail, RuleFilter, RulesFrom};
use eshunt::backfill::{files, latest_unfinished, BackfillSpec, Backfiller};
use eshunt::hunt::engine::{Engine, TimeRange};
use eshunt::source::files::STDIN;
use eshunt::state::StateStore;
use eshunt::time::Window;
use eshunt::time::{parse_time_arg, Span};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Arguments of `eshunt backfill`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    /// Range start (RFC 3339, a date, `now-30d`).
    #[arg(long, value_name = "TS", required_unless_present = "resume")]
    from: Option<String>,
    /// Range end (exclusive).
    #[arg(long, value_name = "TS", required_unless_present = "resume")]
    to: Option<String>,
    #[command(flatten)]
    rule: RuleFilter,
    /// Chunk length (cluster backfills).
    #[arg(long, value_name = "SPAN", default_value = "1h", value_parser = parse_span)]
    chunk: Span,
    /// Chunks searched at once (cluster backfills).
    #[arg(long, value_name = "N", default_value_t = 2)]
    concurrency: usize,
    /// Continue the most recent unfinished backfill (the same --from/--to/--rule/--chunk also
    /// resume automatically); with --source, the backfill into --output.
    #[arg(long)]
    resume: bool,
    /// Backfill CloudTrail files or folders instead of the cluster (no cluster needed).
    #[arg(long = "source", value_name = "PATH", num_args = 1.., requires = "output")]
    sources: Vec<PathBuf>,
    /// With --source: where alerts are appended (its `.progress` file makes reruns resume).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// With --source: folder of rule files [default: queries]. A cluster backfill reads the
    /// config's `[rules] dir`, as `hunt` and `run` do.
    #[arg(long = "rules", value_name = "DIR", requires = "sources")]
    rules_dir: Option<PathBuf>,
}

/// Runs `eshunt backfill`.
pub fn run(args: Args) -> u8 {
    let result = if args.sources.is_empty() {
        cluster_backfill(&args)
    } else {
        file_backfill(&args)
    };
    finish(result.map_err(Fail::from))
}

/// A span on the command line (`30m`, `6h`, `1d`): invalid or zero is a usage error.
fn parse_span(text: &str) -> Result<Span, String> {
    Span::parse(text).map_err(|e| e.to_string())
}

fn range(args: &Args) -> Result<Window, String> {
    let now = chrono::Utc::now();
    let (Some(from), Some(to)) = (&args.from, &args.to) else {
        return Err("give --from and --to".into());
    };
    let window = Window {
        start: parse_time_arg(from, now)?,
        end: parse_time_arg(to, now)?,
    };
    if window.start >= window.end {
        return Err("--from must be before --to".into());
    }
    Ok(window)
}

fn file_backfill(args: &Args) -> Result<u8, String> {
    let output = args.output.as_ref().ok_or("--source needs --output")?;
    if args.sources.iter().any(|p| p == Path::new(STDIN)) {
        return Err("--source -: a file backfill records its progress file by file, which standard input has not; use `eshunt scan -`".into());
    }
    let (window, rule_ids) = if args.resume && args.from.is_none() {
        files::recorded(output)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "nothing to resume: {} has no progress file",
                    output.display()
                )
            })?
    } else {
        (range(args)?, args.rule.ids.clone())
    };
    let dir = args
        .rules_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("queries"));
    let report = load_rules(&dir);
    let rules = select_from(&report, &rule_ids, &dir, RulesFrom::Option)?;
    let engine = Engine::new(
        rules,
        TimeRange {
            from: Some(window.start),
            to: Some(window.end),
        },
    );
    let done = files::run(&args.sources, &engine, output, chrono::Utc::now())
        .map_err(|e| e.to_string())?;
    let t = &done.scan.tally;
    let written = done.scan.outcome.written.values().sum::<u64>();
    let mut summary = Summary::new("file backfill finished");
    summary.line(format!(
        "backfill {window} of files: {} ({} already done), {}, {} outside the range, {} skipped; {} written to {}",
        count((done.scan.files + done.resumed) as u64, "file"),
        done.resumed,
        count(t.events, "event"),
        t.outside_range,
        t.skipped_total(),
        count(written, "alert"),
        output.display(),
    ));
    if done.scan.reread > 0 {
        summary.line(format!(
            "  (read again for the rules that count or remember: {} already done)",
            count(done.scan.reread as u64, "file"),
        ));
    }
    if done.scan.outcome.already_written > 0 {
        summary.line(format!(
            "  ({} already in {} from an earlier run, not written again)",
            count(done.scan.outcome.already_written, "alert"),
            output.display()
        ));
    }
    summary.repeats(done.scan.outcome.duplicates);
    super::scan::skipped_part(&mut summary, t);
    for (rule, fields) in &t.unavailable {
        for (field, occ) in fields {
            summary.line(format!(
                "unavailable: rule {rule} needs {field}, held only as an unparseable string in {}",
                count(occ.count, "event")
            ));
        }
    }
    summary.field("range", window.to_string());
    summary.field("files", done.scan.files + done.resumed);
    summary.field("resumed_files", done.resumed);
    summary.field("reread_files", done.scan.reread);
    summary.field("events", t.events);
    summary.field("outside_range", t.outside_range);
    summary.field("alerts", written);
    summary.field("already_written", done.scan.outcome.already_written);
    summary.field("duplicates", done.scan.outcome.duplicates);
    summary.emit();
    let clean = report.errors.is_empty() && t.skipped_total() == 0 && t.unavailable.is_empty();
    Ok(if clean { exit::OK } else { exit::PARTIAL })
}

fn cluster_backfill(args: &Args) -> Result<u8, String> {
    if args.from.is_some() {
        // A chunk of the future would be searched empty and then recorded as done.
        let window = range(args)?;
        if window.end > chrono::Utc::now() {
            return Err(format!(
                "--to {} is in the future: a cluster backfill covers time that has passed (live runs cover the rest)",
                eshunt::time::format(window.end)
            ));
        }
    }
    let config = args.config.load()?;
    let chunk = args.chunk;
    let loaded = load_rules(&config.rules.dir);
    cluster::runtime().block_on(async {
        let cluster = cluster::connect(&config).await?;
        let store = StateStore::new(cluster.clone(), &config.schedule.state_index);
        store.install().await.map_err(|e| e.to_string())?;
        let spec = if args.resume && args.from.is_none() {
            let previous = latest_unfinished(&store)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("no unfinished backfill to resume")?;
            let rules =
                select_from(&loaded, &previous.rule_ids, &config.rules.dir, RulesFrom::Config)?;
            BackfillSpec {
                rules: rules.into_iter().cloned().map(Arc::new).collect(),
                range: Window { start: previous.range_start, end: previous.range_end },
                chunk: Span::parse(&previous.chunk).map_err(|e| e.to_string())?,
                concurrency: args.concurrency,
            }
        } else {
            let rules =
                select_from(&loaded, &args.rule.ids, &config.rules.dir, RulesFrom::Config)?;
            BackfillSpec {
                rules: rules.into_iter().cloned().map(Arc::new).collect(),
                range: range(args)?,
                chunk,
                concurrency: args.concurrency,
            }
        };
        let backfiller = Backfiller {
            writer: Arc::new(cluster::writer(&config, &cluster)?),
            cluster,
            store,
            pages: cluster::page_settings(&config),
            retry: cluster::retry_policy(&config),
        };
        eprintln!(
            "backfill {}: {} over {}, chunks of {}",
            spec.id(),
            count(spec.rules.len() as u64, "rule"),
            spec.range,
            spec.chunk
        );
        let report = backfiller.run(&spec).await.map_err(|e| e.to_string())?;
        eprintln!(
            "backfill {}: {}/{} chunks done ({} by earlier runs), {} hits, alerts {} written, {} already present",
            report.id,
            report.done + report.resumed,
            report.total,
            report.resumed,
            report.hits,
            report.alerts_created,
            report.alerts_existing
        );
        for failure in &report.failed {
            eprintln!("  failed: {failure}");
        }
        if report.unreliable > 0 {
            eprintln!(
                "  {} hits could not be evaluated reliably (fields held only as strings, or no _source): see the logs",
                report.unreliable
            );
        }
        Ok(if !report.failed.is_empty() {
            exit::FAILURE
        } else if report.unreliable > 0 || !loaded.errors.is_empty() {
            exit::PARTIAL
        } else {
            exit::OK
        })
    })
}
