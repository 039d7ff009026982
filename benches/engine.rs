//! Engine throughput on uncompressed JSON lines with the shipped rules: the per-core rate of
//! `eshunt scan`'s inner loop (needles, parse of candidates, evaluation, alert building).
//! Lines come from the public corpus in `../shared/corpus` (absent: the bench says so and stops).
//! For end-to-end figures on generated data see `scripts/bench-scan`.

mod support;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use eshunt::hunt::engine::{Engine, TimeRange};
use eshunt::rule::load_dir;
use flate2::read::GzDecoder;
use std::io::{BufRead, BufReader};
use std::path::Path;
use support::scan_lines;

fn corpus_lines() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/cloudtrail");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for entry in entries.flatten() {
        let file = std::fs::File::open(entry.path()).expect("corpus file");
        lines.extend(
            BufReader::new(GzDecoder::new(file))
                .lines()
                .map_while(Result::ok),
        );
    }
    lines
}

fn engine(c: &mut Criterion) {
    let lines = corpus_lines();
    if lines.is_empty() {
        eprintln!("notice: ../shared/corpus is absent; nothing to benchmark");
        return;
    }
    let rules = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("queries")).rules;
    let now = chrono::Utc::now();
    let bytes: usize = lines.iter().map(String::len).sum();
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(lines.len() as u64));
    for (name, parse_all) in [("needles", false), ("parse_all", true)] {
        let engine = Engine::new(&rules, TimeRange::ALL).parse_all(parse_all);
        group.bench_function(format!("corpus_{}_lines_{name}", lines.len()), |b| {
            b.iter(|| scan_lines(&engine, &lines, now).0)
        });
    }
    group.finish();
    eprintln!(
        "corpus: {} lines, {:.0} bytes/line on average",
        lines.len(),
        bytes as f64 / lines.len() as f64
    );
}

criterion_group!(benches, engine);
criterion_main!(benches);
