//! eshunt's CPU per search hit, without HTTP: parsing a page of hits, the event view of each
//! ECS document (through `event.original`, or rebuilt from the ECS fields), the rules. The
//! documents are the public corpus's records mapped by the integration's rules.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use eshunt::event::to_ecs::{to_ecs, ToEcsOptions};
use eshunt::event::{Event, Origin};
use eshunt::rule::{load_dir, PrefilterCheck};
use flate2::read::GzDecoder;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;

fn corpus() -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/cloudtrail");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let file = std::fs::File::open(entry.path()).expect("corpus file");
        for line in BufReader::new(GzDecoder::new(file))
            .lines()
            .map_while(Result::ok)
        {
            out.extend(serde_json::from_str::<Value>(&line).ok());
        }
    }
    out
}

/// Keeps only the `_source` fields a search with `includes` would return.
fn prune(doc: &Value, includes: &[String]) -> Value {
    fn walk(value: &Value, prefix: &str, includes: &[String]) -> Option<Value> {
        let Value::Object(map) = value else {
            return includes
                .iter()
                .any(|i| prefix == i || prefix.starts_with(&format!("{i}.")))
                .then(|| value.clone());
        };
        let kept: serde_json::Map<String, Value> = map
            .iter()
            .filter_map(|(k, v)| {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                let wanted = includes.iter().any(|i| {
                    i == &path
                        || i.starts_with(&format!("{path}."))
                        || path.starts_with(&format!("{i}."))
                });
                if !wanted {
                    return None;
                }
                walk(v, &path, includes).map(|v| (k.clone(), v))
            })
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    }
    walk(doc, "", includes).unwrap_or_else(|| json!({}))
}

fn page(docs: &[Value]) -> String {
    let hits: Vec<Value> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| json!({"_index": ".ds-logs-aws.cloudtrail-default-2026.01.01-000001", "_id": i.to_string(), "_score": null, "_source": d, "sort": [i]}))
        .collect();
    json!({"took": 1, "timed_out": false, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}, "hits": {"hits": hits}}).to_string()
}

fn hits(c: &mut Criterion) {
    let raw = corpus();
    if raw.is_empty() {
        eprintln!("notice: ../shared/corpus is absent; nothing to benchmark");
        return;
    }
    let rules = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("queries")).rules;
    let mut group = c.benchmark_group("hits");
    group.throughput(Throughput::Elements(raw.len() as u64));
    for (name, preserve_original) in [("rebuilt", false), ("original", true)] {
        let options = ToEcsOptions {
            preserve_original,
            ingested: Some(chrono::Utc::now()),
            ..ToEcsOptions::default()
        };
        let plan = eshunt::hunt::cluster::alert_plan(&rules[1]);
        let docs: Vec<Value> = raw
            .iter()
            .map(|r| prune(&to_ecs(r, &options), &plan.fields))
            .collect();
        let text = page(&docs);
        group.bench_function(format!("parse_page_{name}"), |b| {
            b.iter(|| serde_json::from_str::<Value>(&text).unwrap())
        });
        group.bench_function(format!("event_view_{name}"), |b| {
            b.iter(|| {
                docs.iter()
                    .map(|d| Event::from_ecs(d.clone(), Origin::Inline("b".into())))
                    .filter(|e| e.event_id().is_some())
                    .count()
            })
        });
        let events: Vec<Event> = docs
            .iter()
            .map(|d| Event::from_ecs(d.clone(), Origin::Inline("b".into())))
            .collect();
        group.bench_function(format!("rules_{name}"), |b| {
            b.iter(|| {
                events
                    .iter()
                    .map(|e| {
                        rules
                            .iter()
                            .filter(|r| r.evaluate(e, PrefilterCheck::DoneByCluster).matched)
                            .count()
                    })
                    .sum::<usize>()
            })
        });
        group.bench_function(format!("times_{name}"), |b| {
            b.iter(|| {
                events
                    .iter()
                    .filter(|e| e.ingested().is_some() && e.time().is_some())
                    .count()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, hits);
criterion_main!(benches);
