//! Kibana's own KQL unit-test expectations (transcribed in the shared vector file) must all hold.
//!
//! The file is read at test time from `../shared/docs/kibana-kql-vectors.json`; when it is absent
//! the test prints a notice and passes.

use esquery::kql::{self, DataView, DslOptions, ParseOptions};
use serde_json::Value;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/docs/kibana-kql-vectors.json"
);

fn load() -> Option<Value> {
    match std::fs::read_to_string(VECTORS) {
        Ok(text) => Some(serde_json::from_str(&text).expect("the vector file is JSON")),
        Err(error) => {
            eprintln!("notice: {VECTORS} is not readable ({error}); KQL vectors skipped");
            None
        }
    }
}

/// What a vector's run gave: the value to compare, or why it could not run.
enum Outcome {
    Ran(Value),
    Skipped(String),
}

struct Setup {
    view: Option<DataView>,
    options: DslOptions,
    parse: ParseOptions,
}

fn setup(vector: &Value, views: &Value) -> Result<Setup, String> {
    let view = match vector.get("data_view").and_then(Value::as_str) {
        Some(name) => {
            let fields = views.get(name).ok_or(format!("unknown data view {name}"))?;
            Some(DataView::from_kibana_fields(fields).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let mut options = DslOptions::default();
    let mut parse = ParseOptions::default();
    if let Some(config) = vector.get("config").and_then(Value::as_object) {
        for (key, value) in config {
            match (key.as_str(), value) {
                ("caseInsensitive", Value::Bool(b)) => options.case_insensitive = Some(*b),
                ("nestedIgnoreUnmapped", Value::Bool(b)) => {
                    options.nested_ignore_unmapped = Some(*b)
                }
                ("filtersInMustClause", Value::Bool(b)) => options.filters_in_must_clause = *b,
                ("dateFormatTZ", Value::String(s)) => options.date_format_tz = Some(s.clone()),
                ("allowLeadingWildcards", Value::Bool(b)) => parse.allow_leading_wildcards = *b,
                _ => return Err(format!("unsupported config {key}={value}")),
            }
        }
    }
    if let Some(context) = vector.get("context") {
        let path = context.pointer("/nested/path").and_then(Value::as_str);
        options.nested_context = Some(path.ok_or(format!("unsupported context {context}"))?.into());
    }
    Ok(Setup {
        view,
        options,
        parse,
    })
}

fn tree(vector: &Value, setup: &Setup) -> Result<kql::Node, String> {
    match (vector.get("kql").and_then(Value::as_str), vector.get("ast")) {
        (Some(text), _) => kql::parse_with(text, &setup.parse).map_err(|e| e.to_string()),
        (None, Some(ast)) => kql::from_kuery_json(ast).map_err(|e| e.to_string()),
        (None, None) => Err("vector has neither kql nor ast".into()),
    }
}

fn run(vector: &Value, views: &Value) -> Result<Outcome, String> {
    let setup = match setup(vector, views) {
        Ok(setup) => setup,
        Err(reason) => return Ok(Outcome::Skipped(reason)),
    };
    let kind = vector["kind"].as_str().unwrap_or_default();
    let text = vector.get("kql").and_then(Value::as_str);
    let value = match (kind, text) {
        ("dsl", _) => {
            let node = tree(vector, &setup)?;
            kql::to_dsl_opts(&node, setup.view.as_ref(), &setup.options)
                .map_err(|e| e.to_string())?
        }
        ("ast", _) => kql::to_kuery_json(&tree(vector, &setup)?),
        ("literal", Some(text)) => kql::parse_literal(text)
            .map_err(|e| e.to_string())?
            .to_kuery_json(),
        ("build_es_query", Some(text)) => {
            kql::build_es_query(text, setup.view.as_ref(), &setup.parse, &setup.options)
                .map_err(|e| e.to_string())?
        }
        _ => return Ok(Outcome::Skipped(format!("unsupported kind {kind}"))),
    };
    Ok(Outcome::Ran(value))
}

/// The part of `value` the vector compares (`expect_path`).
fn at_path<'v>(value: &'v Value, vector: &Value) -> Option<&'v Value> {
    let Some(path) = vector.get("expect_path").and_then(Value::as_array) else {
        return Some(value);
    };
    path.iter().try_fold(value, |v, step| match step {
        Value::String(key) => v.get(key),
        Value::Number(i) => v.get(usize::try_from(i.as_u64()?).ok()?),
        _ => None,
    })
}

/// The plain entry points (no data view, no options) must agree with the general one.
fn check_plain_api(vector: &Value) -> Result<(), String> {
    let plain = vector.get("data_view").is_none()
        && vector.get("config").is_none()
        && vector.get("context").is_none()
        && vector["kind"] == "dsl";
    if !plain {
        return Ok(());
    }
    let expected = &vector["expected"];
    let actual = match vector.get("kql").and_then(Value::as_str) {
        Some(text) => kql::translate(text).map_err(|e| e.to_string())?,
        None => kql::to_dsl(&kql::from_kuery_json(&vector["ast"]).map_err(|e| e.to_string())?),
    };
    if &actual == expected {
        Ok(())
    } else {
        Err(format!("translate/to_dsl gave {actual}"))
    }
}

#[test]
fn kibana_vectors_pass() {
    let Some(file) = load() else { return };
    let views = &file["data_views"];
    let vectors = file["vectors"].as_array().expect("vectors is an array");
    let (mut passed, mut passed_with_view) = (0, 0);
    let mut skipped = Vec::new();
    let mut failed = Vec::new();
    for vector in vectors {
        let id = vector["id"].as_str().unwrap_or("?");
        let outcome = run(vector, views).and_then(|outcome| {
            check_plain_api(vector)?;
            Ok(outcome)
        });
        match outcome {
            Ok(Outcome::Ran(actual)) => {
                let expected = &vector["expected"];
                if at_path(&actual, vector) == Some(expected) {
                    passed += 1;
                    if vector.get("data_view").is_some() {
                        passed_with_view += 1;
                    }
                } else {
                    failed.push(format!("{id}: expected {expected}\n   actual {actual}"));
                }
            }
            Ok(Outcome::Skipped(reason)) => skipped.push(format!("{id}: {reason}")),
            Err(error) => failed.push(format!("{id}: error {error}")),
        }
    }
    println!(
        "KQL vectors: {} total, {passed} passed ({passed_with_view} with a data view), {} skipped, \
         {} failed",
        vectors.len(),
        skipped.len(),
        failed.len()
    );
    for line in &skipped {
        println!("  skipped {line}");
    }
    assert!(failed.is_empty(), "failed vectors:\n{}", failed.join("\n"));
}
