//! The literal needles of many rules: one pass of the [`NeedleIndex`] against one search per
//! rule, the engine's choice of candidates ([`Dispatch`]: `eventName` keys and needles), and the
//! whole engine, on generated CloudTrail (examples/gen_cloudtrail) with the shipped
//! rules plus 300 synthetic ones in the shapes of imported Elastic, Sigma and Panther rules
//! (examples/gen_rules).

#![recursion_limit = "256"]

#[allow(dead_code)]
#[path = "../examples/gen_cloudtrail/mod.rs"]
mod generator;
mod support;
#[path = "../examples/gen_rules/mod.rs"]
mod synthetic;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use eshunt::hunt::engine::{Engine, TimeRange};
use eshunt::rule::dispatch::Dispatch;
use eshunt::rule::needle_index::NeedleIndex;
use eshunt::rule::{load_dir, Rule};
use std::path::Path;
use support::scan_lines;

const RECORDS: u64 = 20_000;
const SYNTHETIC_RULES: usize = 300;

fn records() -> Vec<String> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("start")
        .to_utc();
    generator::Generator::new(generator::Config {
        count: RECORDS,
        seed: 7,
        lambda_rate: 0.001,
        start,
        span: chrono::Duration::days(1),
        error_rate: 0.07,
        large_rate: 0.0001,
    })
    .map(|g| g.record.to_string())
    .collect()
}

/// The shipped rules and the synthetic ones (written to a temporary folder and loaded).
fn rules() -> Vec<Rule> {
    let dir = tempfile::tempdir().expect("temporary folder");
    for rule in synthetic::rules(SYNTHETIC_RULES, 1) {
        std::fs::write(dir.path().join(rule.file_name), rule.toml).expect("rule file");
    }
    let synthetic = load_dir(dir.path());
    assert!(synthetic.errors.is_empty(), "{:?}", synthetic.errors);
    let shipped = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("queries"));
    shipped.rules.into_iter().chain(synthetic.rules).collect()
}

fn needles(c: &mut Criterion) {
    let lines = records();
    let rules = rules();
    let index = NeedleIndex::new(rules.iter().map(|r| &r.needles));
    let mut probe = index.probe();
    let mut group = c.benchmark_group("needles");
    group.sample_size(10);
    group.throughput(Throughput::Elements(lines.len() as u64));
    let name = |what: &str| format!("{what}_{}_rules_{}_records", rules.len(), lines.len());
    group.bench_function(name("index"), |b| {
        b.iter(|| {
            let mut candidates = 0;
            for line in &lines {
                candidates += index.candidates(line.as_bytes(), &mut probe).len();
            }
            candidates
        })
    });
    group.bench_function(name("per_rule"), |b| {
        b.iter(|| {
            let mut candidates = 0;
            for line in &lines {
                candidates += rules
                    .iter()
                    .filter(|r| r.needles.may_match(line.as_bytes()))
                    .count();
            }
            candidates
        })
    });
    let dispatch = Dispatch::for_rules(&rules);
    let mut dispatch_probe = dispatch.probe();
    group.bench_function(name("dispatch"), |b| {
        b.iter(|| {
            let mut candidates = 0;
            for line in &lines {
                candidates += dispatch
                    .candidates(line.as_bytes(), &mut dispatch_probe)
                    .len();
            }
            candidates
        })
    });
    let engine = Engine::new(&rules, TimeRange::ALL);
    let now = chrono::Utc::now();
    group.bench_function(name("engine"), |b| {
        b.iter(|| {
            let (found, tally) = scan_lines(&engine, &lines, now);
            (found, tally.parsed)
        })
    });
    group.finish();
}

criterion_group!(benches, needles);
criterion_main!(benches);
