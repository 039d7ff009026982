//! The needle pass alone: how fast `scan` chooses the candidate rules of each record (field-keyed
//! dispatch and the one-pass needle index, as [`Engine`](eshunt::hunt::engine::Engine) does), and
//! which rules make records candidates most often — the ones that cost parsing.
//!
//! `cargo run --release --example needle_pass -- RULES_DIR FILE.jsonl` (used by
//! `scripts/bench-scan`).

use eshunt::rule::dispatch::Dispatch;
use eshunt::rule::load_dir;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [rules_dir, file] = args.as_slice() else {
        eprintln!("usage: needle_pass RULES_DIR FILE.jsonl");
        return ExitCode::FAILURE;
    };
    let rules = load_dir(Path::new(rules_dir)).rules;
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let lines: Vec<&[u8]> = text.lines().map(str::as_bytes).collect();
    let index = Dispatch::for_rules(&rules);
    let mut probe = index.probe();
    let mut per_rule = vec![0u64; rules.len()];
    let mut with_candidates = 0u64;
    let start = Instant::now();
    for line in &lines {
        let candidates = index.candidates(line, &mut probe);
        with_candidates += u64::from(!candidates.is_empty());
        candidates.iter().for_each(|&i| per_rule[i] += 1);
    }
    let secs = start.elapsed().as_secs_f64();
    let n = lines.len() as f64;
    println!(
        "needle pass: {} rules ({} keyed on eventName), {} records: {:.0} records/s on one core; {:.1} % of records have candidate rules",
        rules.len(),
        index.keyed(),
        lines.len(),
        n / secs,
        100.0 * with_candidates as f64 / n.max(1.0),
    );
    let mut busiest: Vec<(u64, &str)> = per_rule
        .iter()
        .zip(&rules)
        .filter(|(&count, _)| count > 0)
        .map(|(&count, rule)| (count, rule.meta.id.as_str()))
        .collect();
    busiest.sort_by(|a, b| b.cmp(a));
    for (count, id) in busiest.iter().take(5) {
        println!(
            "  candidate in {:5.1} % of records: {id}",
            100.0 * *count as f64 / n
        );
    }
    ExitCode::SUCCESS
}
