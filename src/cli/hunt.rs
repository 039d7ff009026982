//! `eshunt hunt`: one pass of every selected rule over a window of the cluster.

use super::cluster::{self, ConfigArg};
use super::{exit, finish, Fail, RuleFilter};
use eshunt::hunt::cluster::{hunt_window_with_retries, WindowReport};
use eshunt::sink::ndjson::Printer;
use eshunt::sink::Delivery;
use eshunt::source::elasticsearch::WindowError;
use eshunt::time::Window;
use eshunt::time::{parse_time_arg, Span};
use std::io;
use std::sync::Mutex;

/// Arguments of `eshunt hunt`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    rule: RuleFilter,
    /// Window start (RFC 3339, a date, `now-1h`); needs --to.
    #[arg(long, value_name = "TS", requires = "to", conflicts_with = "last")]
    from: Option<String>,
    /// Window end (exclusive); needs --from.
    #[arg(long, value_name = "TS", requires = "from")]
    to: Option<String>,
    /// Window of this length ending now (e.g. `6m`, `24h`). Default: each rule's look-back.
    #[arg(long, value_name = "SPAN")]
    last: Option<String>,
    /// Print alerts as JSON lines instead of writing them.
    #[arg(long)]
    dry_run: bool,
}

/// Runs `eshunt hunt`.
pub fn run(args: Args) -> u8 {
    finish(hunt(args))
}

fn hunt(args: Args) -> Result<u8, Fail> {
    let config = args.config.load()?;
    let now = chrono::Utc::now();
    let fixed = fixed_window(&args, now).map_err(Fail::usage)?;
    let (rules, rule_errors) = cluster::select_rules(&config, &args.rule.ids)?;
    cluster::runtime().block_on(async {
        let cluster = cluster::connect(&config).await?;
        let stdout = Mutex::new(Printer::new(Box::new(std::io::stdout())));
        let writer = if args.dry_run {
            None // a dry run writes nothing, so it needs no writable dead-letter file
        } else {
            Some(cluster::writer(&config, &cluster)?)
        };
        let delivery = match &writer {
            Some(writer) => Delivery::Bulk(writer),
            None => Delivery::Print(&stdout),
        };
        let settings = cluster::page_settings(&config);
        let retry = cluster::retry_policy(&config);
        let (mut failed, mut unavailable) = (false, false);
        for rule in &rules {
            let window = fixed.unwrap_or(Window {
                start: now - rule.schedule.lookback.delta(),
                end: now,
            });
            match hunt_window_with_retries(&cluster, rule, window, settings, &delivery, retry).await
            {
                Ok(report) => {
                    unavailable |= !report.unavailable.is_empty();
                    print_report(&report, args.dry_run);
                }
                Err(WindowError::Output(e)) => {
                    // stdout (a dry run's) is closed or broken: no later window can print either
                    return Err(Fail::writing(
                        "alerts",
                        io::Error::new(e.kind(), e.to_string()),
                    ));
                }
                Err(e) => {
                    failed = true;
                    eprintln!("{} {window}: FAILED: {e}", rule.meta.id);
                }
            }
        }
        Ok(if failed {
            exit::FAILURE
        } else if unavailable || rule_errors {
            exit::PARTIAL
        } else {
            exit::OK
        })
    })
}

fn fixed_window(args: &Args, now: chrono::DateTime<chrono::Utc>) -> Result<Option<Window>, String> {
    let window = match (&args.from, &args.to, &args.last) {
        (Some(from), Some(to), _) => Window {
            start: parse_time_arg(from, now)?,
            end: parse_time_arg(to, now)?,
        },
        (_, _, Some(last)) => Window {
            start: now - Span::parse(last).map_err(|e| e.to_string())?.delta(),
            end: now,
        },
        _ => return Ok(None),
    };
    if window.start >= window.end {
        return Err("the window must start before it ends".into());
    }
    Ok(Some(window))
}

fn print_report(r: &WindowReport, dry_run: bool) {
    let alerts = if dry_run {
        format!(
            "alerts {} printed (dry run: nothing written)",
            r.written.created
        )
    } else {
        let updated = match r.written.updated {
            0 => String::new(),
            n => format!(" ({n} suppressed ones updated)"),
        };
        format!(
            "alerts {} written, {} already present{updated}, {} dead-lettered",
            r.written.created, r.written.existing, r.written.dead_lettered
        )
    };
    eprintln!(
        "{} {}: {} hits in {} pages (took {} ms, shards {}/{} ok, {} skipped, {} failed{}), {} matched; {alerts}",
        r.rule_id,
        r.window,
        r.hits,
        r.pages,
        r.took_ms,
        r.shards.successful,
        r.shards.total,
        r.shards.skipped,
        r.shards.failed,
        if r.attempts > 1 { format!(", {} attempts", r.attempts) } else { String::new() },
        r.matched,
    );
    for (field, count) in &r.unavailable {
        eprintln!(
            "  unavailable: {field} in {count} hits (no flattened copy and no event.original); their verdicts may be wrong"
        );
    }
    if r.lateness.count > 0 {
        eprintln!(
            "  lateness (event.ingested - @timestamp): mean {} ms, max {} ms over {} hits",
            r.lateness.mean_ms(),
            r.lateness.max_ms,
            r.lateness.count
        );
    }
}
