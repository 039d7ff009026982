//! The real public CloudTrail corpus in `../shared/corpus` (read, never copied): every record is
//! read without a crash, and the seed rules' verdicts match an independent reference
//! implementation of each source rule (Panther's Python, Elastic's pipeline + KQL). Skipped with
//! a notice when the corpus is absent.

use eshunt::event::direct::{direct_fields, direct_view};
use eshunt::event::to_ecs::{to_ecs, ToEcsOptions};
use eshunt::event::{Event, Origin};
use eshunt::hunt::engine::{Engine, TimeRange};
use eshunt::rule::{load_dir, PrefilterCheck, Rule};
use flate2::read::GzDecoder;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

const PANTHER: &str = "AWS.Lambda.UpdateFunctionConfiguration";
const ELASTIC: &str = "7d091a76-0737-11ef-8469-f661ea17fbcc";

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("notice: {} is absent; corpus tests skipped", dir.display());
        None
    }
}

fn rules() -> Vec<Rule> {
    let report = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("queries"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    report.rules
}

fn rule<'a>(rules: &'a [Rule], id: &str) -> &'a Rule {
    rules.iter().find(|r| r.meta.id == id).expect("seed rule")
}

fn lines(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap();
    BufReader::new(GzDecoder::new(file))
        .lines()
        .map(Result::unwrap)
        .collect()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".jsonl.gz"))
        .collect();
    out.sort();
    out
}

/// Python-style lookup on a Panther event: exact key, else the first key equal ignoring case;
/// `null` is missing.
fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let map = v.as_object()?;
    map.get(key)
        .or_else(|| {
            map.iter()
                .find(|(k, _)| k.to_lowercase() == key.to_lowercase())
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

fn deep<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| get(v, k))
}

/// Python truthiness.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// Panther's `rule(event)` for AWS.Lambda.UpdateFunctionConfiguration, transcribed.
fn panther_reference(r: &Value) -> bool {
    let str_of = |path: &[&str]| deep(r, path).and_then(Value::as_str);
    let success = !truthy(get(r, "errorCode")) && !truthy(get(r, "errorMessage"));
    if !(success
        && str_of(&["eventSource"]) == Some("lambda.amazonaws.com")
        && str_of(&["eventName"]) == Some("UpdateFunctionConfiguration20150331v2")
        && truthy(deep(r, &["responseElements", "layers"])))
    {
        return false;
    }
    match str_of(&["userIdentity", "type"]).unwrap_or("") {
        "IAMUser" | "FederatedUser" => true,
        "AssumedRole" => str_of(&[
            "userIdentity",
            "sessionContext",
            "sessionIssuer",
            "userName",
        ])
        .unwrap_or("")
        .starts_with("AWSReservedSSO_"),
        _ => false,
    }
}

/// Elastic's rule as the cluster evaluates it on the integration's document: provider, outcome
/// (failure iff errorCode/errorMessage survive the pipeline's removal of empty values), action
/// prefix on the keyword field.
fn elastic_reference(r: &Value) -> bool {
    let present = |k: &str| {
        r.get(k)
            .is_some_and(|v| truthy(Some(v)) || v.is_number() || v.is_boolean())
    };
    let action = r.get("eventName").and_then(Value::as_str).unwrap_or("");
    r.get("eventSource").and_then(Value::as_str) == Some("lambda.amazonaws.com")
        && !present("errorCode")
        && !present("errorMessage")
        && (action.starts_with("PublishLayerVersion")
            || action.starts_with("UpdateFunctionConfiguration"))
}

#[test]
fn every_raw_record_is_read_and_verdicts_match_the_reference_rules() {
    let Some(corpus) = corpus() else { return };
    let rules = rules();
    let (panther, elastic) = (rule(&rules, PANTHER), rule(&rules, ELASTIC));
    let (mut records, mut panther_hits, mut elastic_hits, mut lambda) = (0, 0, 0, 0);
    for file in files(&corpus.join("cloudtrail")) {
        for (i, line) in lines(&file).iter().enumerate() {
            let record: Value = serde_json::from_str(line).unwrap();
            records += 1;
            if record.get("eventSource").and_then(Value::as_str) == Some("lambda.amazonaws.com") {
                lambda += 1;
            }
            let event = Event::from_document(
                record.clone(),
                Origin::Inline(format!("{}:{}", file.display(), i + 1).into()),
            );
            let here = format!("{}:{}", file.display(), i + 1);
            let expected = panther_reference(&record);
            assert_eq!(
                panther.evaluate(&event, PrefilterCheck::Local).matched,
                expected,
                "Panther rule verdict at {here}"
            );
            panther_hits += expected as usize;
            let expected = elastic_reference(&record);
            assert_eq!(
                elastic.evaluate(&event, PrefilterCheck::Local).matched,
                expected,
                "Elastic rule verdict at {here}"
            );
            elastic_hits += expected as usize;
        }
    }
    assert_eq!(records, 3849, "the corpus README counts 3,849 raw records");
    assert_eq!(lambda, 51, "the corpus README counts 51 Lambda records");
    assert!(
        panther_hits >= 4 && elastic_hits >= panther_hits,
        "{panther_hits} / {elastic_hits}"
    );
}

#[test]
fn scanning_the_corpus_reads_everything_and_needles_drop_no_alert() {
    let Some(corpus) = corpus() else { return };
    let rules = rules();
    let now = chrono::Utc::now();
    let mut counts = std::collections::BTreeMap::new();
    let engine = Engine::new(&rules, TimeRange::ALL).parse_all(true);
    let report = eshunt::hunt::files::scan(
        std::slice::from_ref(&corpus),
        &engine,
        now,
        None,
        &mut |a| {
            *counts.entry(a.rule_id).or_insert(0usize) += 1;
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(report.tally.events, 3849 + 4);
    // A threshold rule cannot bucket a match without a time: the few corpus records without
    // `eventTime` that such a rule (the Panther threshold ports) matches are counted as
    // skipped for it; nothing else is.
    let untimed = "no event time (rule that counts or remembers)";
    let others: Vec<_> = report
        .tally
        .skipped
        .iter()
        .filter(|(reason, _)| **reason != untimed)
        .collect();
    assert!(others.is_empty(), "{others:?}");
    let fast = Engine::new(&rules, TimeRange::ALL);
    let mut fast_counts = std::collections::BTreeMap::new();
    eshunt::hunt::files::scan(std::slice::from_ref(&corpus), &fast, now, None, &mut |a| {
        *fast_counts.entry(a.rule_id).or_insert(0usize) += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(counts, fast_counts, "literal needles must not drop alerts");
    // Rules that fire on a large share of the corpus (the building block marking every call
    // made with a long-term access key) need those records parsed; without them, needles
    // leave most records unparsed (the corpus is made largely of the very calls the rules
    // watch: Panther's and Stratus Red Team's attack records).
    let broad = |id: &str| {
        counts
            .get(id)
            .is_some_and(|&n| n * 5 > report.tally.events as usize)
    };
    let selective: Vec<&Rule> = rules.iter().filter(|r| !broad(&r.meta.id)).collect();
    assert!(selective.len() + 3 >= rules.len(), "few rules are broad");
    let skipping = Engine::new(selective, TimeRange::ALL);
    let report =
        eshunt::hunt::files::scan(&[corpus], &skipping, now, None, &mut |_| Ok(())).unwrap();
    assert!(
        report.tally.parsed < report.tally.events / 2,
        "needles should skip most records: {} of {} parsed",
        report.tally.parsed,
        report.tally.events
    );
}

#[test]
fn ecs_documents_give_the_same_verdict_with_and_without_event_original() {
    let Some(corpus) = corpus() else { return };
    let rules = rules();
    for file in files(&corpus.join("ecs")) {
        for line in lines(&file) {
            let doc: Value = serde_json::from_str(&line).unwrap();
            let mut stripped = doc.clone();
            stripped["event"]
                .as_object_mut()
                .unwrap()
                .remove("original");
            let with = Event::from_document(doc, Origin::Inline("with".into()));
            let without = Event::from_document(stripped, Origin::Inline("without".into()));
            for rule in &rules {
                assert_eq!(
                    rule.evaluate(&with, PrefilterCheck::Local).matched,
                    rule.evaluate(&without, PrefilterCheck::Local).matched,
                    "{} on {line}",
                    rule.meta.id
                );
            }
        }
    }
}

/// The values at a dotted ECS field, as a query reads them.
fn values_at(doc: &Value, field: &str) -> Vec<Value> {
    let mut out = Vec::new();
    esquery::dsl::source::visit_values(doc, field, &mut |v| {
        out.push(v.clone());
        false
    });
    out
}

#[test]
fn direct_views_equal_the_full_ecs_view_on_every_record() {
    let Some(dir) = corpus() else { return };
    let mut compared = 0;
    for path in files(&dir.join("cloudtrail")) {
        for (i, line) in lines(&path).iter().enumerate() {
            let Ok(record) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let Some(direct) = direct_view(&record) else {
                continue;
            };
            let full = to_ecs(&record, &ToEcsOptions::default());
            for field in direct_fields() {
                assert_eq!(
                    values_at(&direct, field),
                    values_at(&full, field),
                    "{field} of {}:{}",
                    path.display(),
                    i + 1
                );
            }
            compared += 1;
        }
    }
    assert!(compared > 3000, "only {compared} records compared");
}
