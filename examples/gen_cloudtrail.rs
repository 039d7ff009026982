//! Synthetic CloudTrail for benchmarks and scale tests.
//!
//! ```text
//! cargo run --release --example gen_cloudtrail -- --count 1000000 --seed 7 --format jsonl --out ct.jsonl \
//!     [--lambda-rate 0.001] [--start 2026-01-01T00:00:00Z] [--span 1d] [--truth truth.jsonl]
//! ```
//!
//! Formats: `jsonl` (one raw record per line), `records` (the AWS delivery layout under the
//! directory `--out`), `ecs` (one ECS `_source` per line, made with
//! `eshunt::event::to_ecs`), `ecs-hits` (one search hit per line). `--out -` writes to standard
//! output. The output depends only on the arguments; memory stays bounded for any count.
//! `--truth` writes one line per injected Lambda event with each seed rule's verdict.

#![recursion_limit = "256"]

#[path = "gen_cloudtrail/mod.rs"]
mod generator;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use generator::output::{Format, OutputConfig, TruthWriter, Writer};
use generator::timeline::{parse_span, parse_start};
use generator::{verdict, Config, Generator};

/// Generate synthetic AWS CloudTrail records (raw, trail files, or ECS documents).
#[derive(Parser, Debug)]
#[command(name = "gen_cloudtrail")]
struct Args {
    /// Number of records.
    #[arg(long)]
    count: u64,
    /// Seed; the same seed and arguments give the same output.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// jsonl, records, ecs or ecs-hits.
    #[arg(long, default_value = "jsonl")]
    format: Format,
    /// Output file (`-` for standard output), or directory for `records`.
    #[arg(long)]
    out: String,
    /// Share of records that are injected Lambda events.
    #[arg(long, default_value_t = 0.001)]
    lambda_rate: f64,
    /// First event time (RFC 3339).
    #[arg(long, default_value = "2026-01-01T00:00:00Z")]
    start: String,
    /// Time range: 30m, 12h, 1d, 1w, …
    #[arg(long, default_value = "1d")]
    span: String,
    /// Write the ground truth of the injected Lambda events here (JSON lines).
    #[arg(long)]
    truth: Option<String>,
    /// Share of background calls that fail with an errorCode.
    #[arg(long, default_value_t = 0.07)]
    error_rate: f64,
    /// Share of very large records (RunInstances of 40–400 instances).
    #[arg(long, default_value_t = 0.0001)]
    large_rate: f64,
    /// Share of ECS documents that keep event.original (ecs, ecs-hits).
    #[arg(long, default_value_t = 0.3)]
    preserve_rate: f64,
    /// Data stream namespace of ECS documents.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Check every injected event's truth against the rules evaluated on the record.
    #[arg(long)]
    verify: bool,
}

fn run(args: Args) -> Result<(), String> {
    let start = parse_start(&args.start)?;
    let span = parse_span(&args.span)?;
    for (name, rate) in [
        ("--lambda-rate", args.lambda_rate),
        ("--error-rate", args.error_rate),
        ("--large-rate", args.large_rate),
        ("--preserve-rate", args.preserve_rate),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!("{name} must be between 0 and 1"));
        }
    }
    let cfg = Config {
        count: args.count,
        seed: args.seed,
        lambda_rate: args.lambda_rate,
        start,
        span,
        error_rate: args.error_rate,
        large_rate: args.large_rate,
    };
    let out_cfg = OutputConfig {
        format: args.format,
        out: args.out.clone(),
        seed: args.seed,
        preserve_rate: args.preserve_rate,
        namespace: args.namespace.clone(),
        start,
    };
    let err = |e: std::io::Error| format!("writing {}: {e}", args.out);
    let mut writer = Writer::new(out_cfg).map_err(err)?;
    let mut truth = match &args.truth {
        Some(p) => Some(TruthWriter::create(p).map_err(|e| format!("creating {p}: {e}"))?),
        None => None,
    };
    let began = Instant::now();
    let (mut injected, mut mismatches) = (0u64, 0u64);
    for g in Generator::new(cfg) {
        if let Some(t) = &g.truth {
            injected += 1;
            if args.verify
                && (verdict::panther(&g.record) != t.panther
                    || verdict::elastic(&g.record) != t.elastic)
            {
                mismatches += 1;
                eprintln!("verdict mismatch for {}", t.event_id);
            }
            if let Some(tw) = truth.as_mut() {
                tw.write(t).map_err(|e| format!("writing truth: {e}"))?;
            }
        }
        writer.write(&g).map_err(err)?;
    }
    let stats = writer.finish().map_err(err)?;
    if let Some(tw) = truth {
        tw.finish().map_err(|e| format!("writing truth: {e}"))?;
    }
    let secs = began.elapsed().as_secs_f64();
    eprintln!(
        "gen_cloudtrail: {} records ({} injected Lambda), {:.1} MB JSON{}, {:.2} s, {:.0} records/s",
        stats.records,
        injected,
        stats.bytes as f64 / 1e6,
        if stats.files > 0 { format!(" in {} files", stats.files) } else { String::new() },
        secs,
        stats.records as f64 / secs.max(1e-9)
    );
    if mismatches > 0 {
        return Err(format!(
            "{mismatches} injected events disagree with the rule evaluation"
        ));
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_cloudtrail: {e}");
            ExitCode::FAILURE
        }
    }
}
