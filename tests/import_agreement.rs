//! Imported rules agree with the real engine. Every rule imported from the Elastic
//! detection-rules and Sigma snapshots in `../shared/upstream-rules` is run two ways over the
//! same records: by eshunt on raw CloudTrail records, as `eshunt scan` reads them, and by the
//! test run's real cluster, as its prefilter query over the ECS documents Elastic's integration
//! makes of those records. Where the KQL is the whole rule (Elastic's query, new terms and
//! threshold rules) both must find exactly the same records; where eshunt translated the rule
//! into a condition (EQL, Sigma), the engine's prefilter must let through every record the
//! condition takes — case-insensitive `term`s included.
//!
//! The records are the public corpus in `../shared/corpus` plus, per rule, an attack record
//! built to satisfy the rule's prefilter (its required clauses, the first branch of each `or`),
//! so that most rules have something to match. Skipped with a notice when `../shared` is
//! absent; on the emulator (which evaluates queries with eshunt's own evaluator) the comparison
//! would prove nothing, so it only runs against a real engine.

mod support;

use eshunt::event::from_ecs::rebuild;
use eshunt::event::path::set_dotted;
use eshunt::event::to_ecs::{to_ecs, ToEcsOptions};
use eshunt::event::{Event, Origin};
use eshunt::import::{import, Catalogue};
use eshunt::rule::{load_dir, PrefilterCheck, Rule};
use eshunt_testserver::Flavor;
use flate2::read::GzDecoder;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use support::*;

fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    match dir.join("upstream-rules/elastic").is_dir() && dir.join("corpus").is_dir() {
        true => Some(dir),
        false => {
            eprintln!(
                "notice: {} is absent; agreement test skipped",
                dir.display()
            );
            None
        }
    }
}

/// Every rule imported from both catalogues' snapshots.
fn imported_rules(shared: &Path, out: &Path) -> Vec<Rule> {
    for (catalogue, folder) in [(Catalogue::Elastic, "elastic"), (Catalogue::Sigma, "sigma")] {
        let upstream = shared.join("upstream-rules").join(folder);
        let report = import(catalogue, &[upstream], &out.join(folder)).unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }
    let loaded = load_dir(out);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    loaded.rules
}

/// Whether the prefilter is the whole per-event logic (Elastic's KQL rules), rather than a
/// coarse filter derived from a translated condition (EQL, Sigma).
fn is_kql_rule(rule: &Rule) -> bool {
    rule.condition.is_none() && rule.prefilter.kql.is_some()
}

/// Every raw record of the corpus.
fn corpus(shared: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(shared.join("corpus/cloudtrail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".jsonl.gz"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|path| {
            let file = std::fs::File::open(path).unwrap();
            BufReader::new(GzDecoder::new(file))
                .lines()
                .map(Result::unwrap)
        })
        .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
        .filter(Value::is_object)
        .collect()
}

/// Sets in `doc` (dotted ECS fields) what makes `query` hold: every required clause, the first
/// branch of a disjunction; negations are left alone.
fn satisfy(query: &Value, doc: &mut Map<String, Value>) {
    let Some((kind, body)) = query.as_object().and_then(|o| o.iter().next()) else {
        return;
    };
    match kind.as_str() {
        "bool" => {
            let list = |key: &str| match &body[key] {
                Value::Array(items) => items.clone(),
                Value::Null => Vec::new(),
                one => vec![one.clone()],
            };
            for required in [list("filter"), list("must")].concat() {
                satisfy(&required, doc);
            }
            if let Some(first) = list("should").first() {
                satisfy(first, doc);
            }
        }
        "match" | "match_phrase" | "term" | "wildcard" | "prefix" => {
            if let Some((field, value)) = body.as_object().and_then(|o| o.iter().next()) {
                let value = value
                    .get("query")
                    .or_else(|| value.get("value"))
                    .unwrap_or(value);
                if let Some(text) = value.as_str() {
                    set(doc, field, &fill_wildcards(text));
                }
            }
        }
        "terms" => {
            if let Some((field, Value::Array(values))) =
                body.as_object().and_then(|o| o.iter().next())
            {
                if let Some(text) = values.first().and_then(Value::as_str) {
                    set(doc, field, text);
                }
            }
        }
        "query_string" => {
            if let (Some(field), Some(query)) = (body["fields"][0].as_str(), body["query"].as_str())
            {
                set(doc, field, &fill_wildcards(&unescape(query)));
            }
        }
        "exists" => {
            if let Some(field) = body["field"].as_str() {
                if !doc.contains_key(field) {
                    set(doc, field, "present");
                }
            }
        }
        _ => {}
    }
}

fn set(doc: &mut Map<String, Value>, field: &str, text: &str) {
    doc.insert(field.to_string(), Value::String(text.to_string()));
}

/// `*x*` → `x`, `a?c` → `abc`: a value the wildcard pattern matches.
fn fill_wildcards(pattern: &str) -> String {
    pattern.replace('*', "").replace('?', "b")
}

/// Kibana's query_string escapes removed.
fn unescape(query: &str) -> String {
    let mut out = String::new();
    let mut chars = query.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// A raw CloudTrail record meant to match `rule`: its query's requirements as an ECS document,
/// turned back into a record.
fn attack_record(rule: &Rule, n: usize) -> Value {
    let mut fields = Map::new();
    satisfy(&rule.prefilter.dsl, &mut fields);
    let mut doc = Map::new();
    for (field, value) in fields {
        set_dotted(&mut doc, &field, value);
    }
    let failed = doc
        .get("event")
        .and_then(|e| e.get("outcome"))
        .is_some_and(|o| o == "failure");
    let mut record = rebuild(&Value::Object(doc)).record;
    let extra = json!({
        "eventVersion": "1.08",
        "eventTime": "2026-03-14T10:00:00Z",
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    });
    for (key, value) in extra.as_object().unwrap() {
        record
            .as_object_mut()
            .unwrap()
            .entry(key.clone())
            .or_insert(value.clone());
    }
    if failed {
        record["errorCode"] = json!("AccessDenied");
    }
    record["eventID"] = json!(format!("attack-{n}"));
    record
}

/// The records, each with a unique `eventID` (the corpus repeats some).
fn records(shared: &Path, rules: &[Rule]) -> Vec<Value> {
    let mut records = corpus(shared);
    for (i, record) in records.iter_mut().enumerate() {
        record["eventID"] = json!(format!("corpus-{i}"));
        if record["eventTime"].as_str().is_none() {
            record["eventTime"] = json!("2026-03-14T10:00:00Z");
        }
    }
    records.extend(rules.iter().enumerate().map(|(n, r)| attack_record(r, n)));
    records
}

/// eshunt's matches per rule: each raw record as `scan` reads it, or — for a rule reading
/// fields only the ingest pipeline adds — its ECS document.
fn local_matches(
    rules: &[Rule],
    records: &[Value],
    docs: &[Value],
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = rules
        .iter()
        .map(|r| (r.meta.id.clone(), BTreeSet::new()))
        .collect();
    for (record, doc) in records.iter().zip(docs) {
        let raw = Event::from_cloudtrail(record.clone(), Origin::Inline("raw".into()));
        let ecs = Event::from_ecs(doc.clone(), Origin::Inline("ecs".into()));
        for rule in rules {
            let event = if rule.can_judge(&raw) { &raw } else { &ecs };
            if rule.evaluate(event, PrefilterCheck::Local).matched {
                let id = record["eventID"].as_str().unwrap().to_string();
                out.get_mut(&rule.meta.id).unwrap().insert(id);
            }
        }
    }
    out
}

/// Loads the documents; keeps the records the engine accepted (the corpus holds a few whose
/// documents the data stream's mapping refuses, as it would from the integration).
async fn indexed(env: &Env, records: Vec<Value>, docs: Vec<Value>) -> (Vec<Value>, Vec<Value>) {
    let outcomes = env.cluster.bulk_try(&env.source, &docs).await.unwrap();
    let mut kept = (Vec::new(), Vec::new());
    let mut refused = Vec::new();
    for ((record, doc), outcome) in records.into_iter().zip(docs).zip(outcomes) {
        match outcome {
            Ok(_) => {
                kept.0.push(record);
                kept.1.push(doc);
            }
            Err(reason) => refused.push(reason),
        }
    }
    eprintln!(
        "{} documents indexed, {} refused by the mapping",
        kept.0.len(),
        refused.len()
    );
    assert!(
        refused.len() * 50 <= kept.0.len(),
        "too many documents refused: {:?}",
        &refused[..refused.len().min(3)]
    );
    kept
}

/// The engine's matches: the rule's query over the indexed documents.
async fn engine_matches(env: &Env, rule: &Rule) -> BTreeSet<String> {
    let body = json!({
        "query": {"bool": {"filter": [rule.prefilter.dsl]}},
        "_source": ["event.id"],
        "size": 10000,
    });
    let (status, answer) = env
        .cluster
        .request("POST", &format!("/{}/_search", env.source), Some(&body))
        .await
        .unwrap();
    assert_eq!(status, 200, "{}: {answer}", rule.meta.id);
    answer["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["_source"]["event"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn imported_rules_agree_with_the_engine() {
    let Some(shared) = shared() else { return };
    let env = Env::start(Flavor::OpenSearch, "2.19.0").await;
    if !env.cluster.server().is_proxy() {
        eprintln!("notice: no real engine; the agreement test needs one and was skipped");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let rules = imported_rules(&shared, out.path());
    let kql_rules = rules.iter().filter(|r| is_kql_rule(r)).count();
    assert!(kql_rules >= 100, "only {kql_rules} KQL rules imported");
    let records = records(&shared, &rules);
    let docs: Vec<Value> = records
        .iter()
        .map(|r| {
            let at = r["eventTime"]
                .as_str()
                .and_then(eshunt::time::parse_timestamp);
            to_ecs(
                r,
                &ToEcsOptions {
                    ingested: at,
                    ..ToEcsOptions::default()
                },
            )
        })
        .collect();
    let (records, docs) = indexed(&env, records, docs).await;
    let local = local_matches(&rules, &records, &docs);
    let mut disagreements = Vec::new();
    let mut matching_rules = 0;
    for rule in &rules {
        let engine = engine_matches(&env, rule).await;
        let ours = &local[&rule.meta.id];
        matching_rules += usize::from(!ours.is_empty());
        let wrong = match is_kql_rule(rule) {
            // The query is the rule: both must find the same records.
            true => &engine != ours,
            // The prefilter is coarse: it must let through every record the condition takes.
            false => !ours.is_subset(&engine),
        };
        if wrong {
            disagreements.push(format!(
                "{} ({}): only the engine {:?}, only eshunt {:?}",
                rule.meta.name,
                rule.file.display(),
                engine.difference(ours).take(5).collect::<Vec<_>>(),
                ours.difference(&engine).take(5).collect::<Vec<_>>(),
            ));
        }
    }
    eprintln!(
        "{} rules ({kql_rules} KQL) over {} records: {matching_rules} rules match something",
        rules.len(),
        records.len()
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    assert!(
        matching_rules * 10 >= rules.len() * 8,
        "only {matching_rules} of {} rules matched any record: the attack records miss",
        rules.len()
    );
}
