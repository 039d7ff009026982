//! `eshunt status`: per rule — checkpoint, lag behind now, last run, recent failures (and
//! those not yet retried to completion), gaps (and the backfills that filled them), lease
//! holder; per backfill — progress. Read from the state index.

use super::cluster::{self, ConfigArg};
use super::{exit, load_rules, with_stdout, Fail};
use chrono::{DateTime, SubsecRound, Utc};
use eshunt::es::EsError;
use eshunt::state::records::{Backfill, BackfillChunk, Checkpoint, Gap, Lease, RunRecord};
use eshunt::state::StateStore;
use eshunt::time::format;
use serde_json::{json, Value};
use std::io::{self, Write};

/// Arguments of `eshunt status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Run records looked at per rule for the failure count.
    #[arg(long, default_value_t = 50)]
    runs: usize,
}

/// Runs `eshunt status`.
pub fn run(args: Args) -> u8 {
    with_stdout(|out| status(args, out))
}

fn status(args: Args, out: &mut dyn Write) -> Result<u8, Fail> {
    let config = args.config.load()?;
    let rules = load_rules(&config.rules.dir).rules;
    cluster::runtime().block_on(async {
        let cluster = cluster::connect(&config).await?;
        let store = StateStore::new(cluster, &config.schedule.state_index);
        let now = Utc::now();
        let backfills: Vec<Backfill> = store
            .search(&[], "started_at", 1000)
            .await
            .map_err(|e| e.to_string())?;
        let mut statuses = Vec::new();
        for rule in rules.iter().filter(|r| r.meta.enabled) {
            statuses.push(
                rule_status(&store, &rule.meta.id, &backfills, now, args.runs)
                    .await
                    .map_err(|e| e.to_string())?,
            );
        }
        let report = json!({
            "rules": statuses,
            "backfills": backfill_progress(&store, &backfills).await.map_err(|e| e.to_string())?,
        });
        if args.json {
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            )?;
        } else {
            print_text(out, &report)?;
        }
        let troubled = report["rules"].as_array().into_iter().flatten().any(|r| {
            let open_gap = r["gaps"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|g| g["filled_by"].is_null());
            open_gap || r["unresolved_failures"].as_u64() > Some(0)
        });
        Ok(if troubled { exit::PARTIAL } else { exit::OK })
    })
}

async fn rule_status(
    store: &StateStore,
    rule_id: &str,
    backfills: &[Backfill],
    now: DateTime<Utc>,
    runs: usize,
) -> Result<Value, EsError> {
    let checkpoint = store.get::<Checkpoint>(&Checkpoint::id(rule_id)).await?;
    let reached = checkpoint.as_ref().map(|c| c.value.checkpoint);
    let lease = store.get::<Lease>(&Lease::id(rule_id)).await?;
    let records: Vec<RunRecord> = store
        .search(&[("rule_id", rule_id)], "finished_at", runs)
        .await?;
    let gaps: Vec<Gap> = store
        .search(&[("rule_id", rule_id)], "gap_start", 100)
        .await?;
    let last = records.iter().find(|r| r.status == "complete");
    let failed: Vec<&RunRecord> = records.iter().filter(|r| r.status == "failed").collect();
    // A failed window is retried until complete; only windows past the checkpoint are open.
    let unresolved = failed
        .iter()
        .filter(|r| reached.is_none_or(|cp| r.window_end > cp))
        .count();
    Ok(json!({
        "rule_id": rule_id,
        "checkpoint": reached.map(format),
        "lag_seconds": reached.map(|cp| (now - cp).num_seconds()),
        "last_run": last.map(|r| json!({
            "window": [format(r.window_start), format(r.window_end)],
            "finished_at": format(r.finished_at),
            "took_ms": r.took_ms,
            "hits": r.hits,
            "matched": r.matched,
            "alerts_created": r.alerts_created,
            "alerts_existing": r.alerts_existing,
            "lateness_max_ms": r.lateness_max_ms,
        })),
        "failures": failed.len(),
        "unresolved_failures": unresolved,
        "last_failure": failed.first().and_then(|r| r.error.clone()),
        "gaps": gaps.iter().map(|g| json!({
            "range": [format(g.gap_start), format(g.gap_end)],
            "filled_by": filled_by(g, backfills),
        })).collect::<Vec<_>>(),
        // A released or expired lease has no holder.
        "lease": lease.filter(|l| l.value.expires_at > now).map(|l| json!({
            "instance": l.value.instance,
            "expires_in_seconds": (l.value.expires_at - now).num_seconds(),
        })),
    }))
}

/// The id of a finished backfill of the gap's rule that covers the whole gap (to the
/// millisecond, as printed) and started after it (a backfill run earlier searched data the
/// gap's time had not yet produced).
fn filled_by<'b>(gap: &Gap, backfills: &'b [Backfill]) -> Option<&'b str> {
    backfills
        .iter()
        .find(|b| {
            b.finished_at.is_some()
                && b.started_at >= gap.gap_end
                && b.rule_ids.contains(&gap.rule_id)
                && b.range_start <= gap.gap_start
                && b.range_end >= gap.gap_end.trunc_subsecs(3)
        })
        .map(|b| b.backfill_id.as_str())
}

/// Chunks listed per backfill to sum hits and alerts (the done count is exact).
const CHUNKS_SUMMED: usize = 10_000;

async fn backfill_progress(store: &StateStore, backfills: &[Backfill]) -> Result<Value, EsError> {
    let mut out = Vec::new();
    for b in backfills.iter().take(20) {
        let filter = [("backfill_id", b.backfill_id.as_str())];
        let done = store.count::<BackfillChunk>(&filter).await?;
        let chunks: Vec<BackfillChunk> =
            store.search(&filter, "finished_at", CHUNKS_SUMMED).await?;
        out.push(json!({
            "id": b.backfill_id,
            "rules": b.rule_ids,
            "range": [format(b.range_start), format(b.range_end)],
            "chunk": b.chunk,
            "done": done,
            "total": b.chunks_total,
            "hits": chunks.iter().map(|c| c.hits).sum::<u64>(),
            "alerts_created": chunks.iter().map(|c| c.alerts_created).sum::<u64>(),
            "alerts_existing": chunks.iter().map(|c| c.alerts_existing).sum::<u64>(),
            "sums_cover_chunks": chunks.len(),
            "finished_at": b.finished_at.map(format),
        }));
    }
    Ok(Value::Array(out))
}

fn print_text(out: &mut dyn Write, report: &Value) -> io::Result<()> {
    for r in report["rules"].as_array().into_iter().flatten() {
        writeln!(out, "{}", r["rule_id"].as_str().unwrap_or("?"))?;
        match r["checkpoint"].as_str() {
            Some(cp) => writeln!(out, "  checkpoint  {cp} (lag {}s)", r["lag_seconds"])?,
            None => writeln!(out, "  checkpoint  none yet (never completed a window)")?,
        }
        match &r["last_run"] {
            Value::Null => writeln!(out, "  last run    none")?,
            l => writeln!(out, "  last run    [{}, {}) took {} ms: {} hits, {} matched, {} alerts written, {} already present, max lateness {} ms",
                l["window"][0].as_str().unwrap_or(""),
                l["window"][1].as_str().unwrap_or(""),
                l["took_ms"],
                l["hits"],
                l["matched"],
                l["alerts_created"],
                l["alerts_existing"],
                l["lateness_max_ms"]
            )?,
        }
        writeln!(
            out,
            "  failures    {} in the recent runs, {} not yet retried to completion{}",
            r["failures"],
            r["unresolved_failures"],
            r["last_failure"]
                .as_str()
                .map(|e| format!(" (last: {e})"))
                .unwrap_or_default()
        )?;
        let gaps = r["gaps"].as_array().cloned().unwrap_or_default();
        if gaps.is_empty() {
            writeln!(out, "  gaps        none")?;
        }
        for g in gaps {
            let range = &g["range"];
            let (start, end) = (
                range[0].as_str().unwrap_or(""),
                range[1].as_str().unwrap_or(""),
            );
            match g["filled_by"].as_str() {
                Some(backfill) => {
                    writeln!(out, "  gap         [{start}, {end}) — filled by backfill {backfill}")?
                }
                None => writeln!(out, "  gap         [{start}, {end}) — fill it with: eshunt backfill --from {start} --to {end} --rule {}",
                    r["rule_id"].as_str().unwrap_or("")
                )?,
            }
        }
        match &r["lease"] {
            Value::Null => writeln!(out, "  lease       none")?,
            l => writeln!(
                out,
                "  lease       {} (expires in {}s)",
                l["instance"].as_str().unwrap_or("?"),
                l["expires_in_seconds"]
            )?,
        }
    }
    for b in report["backfills"].as_array().into_iter().flatten() {
        let partial = if b["sums_cover_chunks"] == b["done"] {
            String::new()
        } else {
            format!(
                " (hits and alerts of the latest {} chunks)",
                b["sums_cover_chunks"]
            )
        };
        writeln!(
            out,
            "backfill {}: {}/{} chunks, {} hits, {} alerts created, {} found already written{partial}, range [{}, {}){}",
            b["id"].as_str().unwrap_or("?"),
            b["done"],
            b["total"],
            b["hits"],
            b["alerts_created"],
            b["alerts_existing"],
            b["range"][0].as_str().unwrap_or(""),
            b["range"][1].as_str().unwrap_or(""),
            if b["finished_at"].is_null() {
                " — unfinished (eshunt backfill --resume)"
            } else {
                " — finished"
            }
        )?;
    }
    Ok(())
}
