//! `eshunt explain`: why a rule does or does not fire on one document — the prefilter DSL and
//! whether the document matches it, each condition predicate with its values and verdict, and
//! the alert it would make.

use super::cluster::{self, ConfigArg};
use super::{exit, finish, load_rules, rules_help, Fail, RulesFrom};
use eshunt::alert;
use eshunt::es::{Cluster, Request};
use eshunt::event::{Event, Origin, Shape};
use eshunt::rule::{PrefilterCheck, Rule};
use serde_json::{json, Value};
use std::path::PathBuf;

/// Arguments of `eshunt explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The rule's id.
    #[arg(long)]
    rule: String,
    /// A JSON file holding the document: a raw CloudTrail record, an ECS document or a search
    /// hit (offline: no cluster needed).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["index", "id"], required_unless_present = "id")]
    file: Option<PathBuf>,
    /// The index (or data stream, or pattern) holding the document, with --id.
    #[arg(long, requires = "id")]
    index: Option<String>,
    /// The document's `_id`, with --index: the document is fetched from the cluster and the
    /// cluster itself is asked whether it matches the prefilter.
    #[arg(long, requires = "index")]
    id: Option<String>,
    #[command(flatten)]
    config: ConfigArg,
    /// Folder of rule files (offline; default: the config's, else ./queries).
    #[arg(long = "rules", value_name = "DIR")]
    rules_dir: Option<PathBuf>,
}

/// Runs `eshunt explain`.
pub fn run(args: Args) -> u8 {
    finish(explain(&args).map_err(Fail::from))
}

fn explain(args: &Args) -> Result<u8, String> {
    let from_cluster = args.index.is_some();
    let config = if from_cluster || args.config.config.exists() {
        Some(args.config.load()?)
    } else {
        None
    };
    let (dir, from) = match (&args.rules_dir, &config) {
        (Some(d), _) => (d.clone(), RulesFrom::Option),
        (None, Some(c)) => (c.rules.dir.clone(), RulesFrom::Config),
        (None, None) => (PathBuf::from("queries"), RulesFrom::Option),
    };
    let report = load_rules(&dir);
    let rule = report
        .rules
        .iter()
        .find(|r| r.meta.id == args.rule)
        .ok_or_else(|| {
            format!(
                "no rule with id `{}` — {}",
                args.rule,
                rules_help(&dir, from)
            )
        })?;
    match (&args.file, &args.index, &args.id, config) {
        (Some(file), _, _, _) => {
            let event = read_file(file)?;
            print_explanation(rule, &event, None);
            Ok(exit::OK)
        }
        (None, Some(index), Some(id), Some(config)) => cluster::runtime().block_on(async {
            let cluster = cluster::connect(&config).await?;
            let event = fetch(&cluster, index, id).await?;
            let verdict = cluster_prefilter(&cluster, rule, index, id).await?;
            print_explanation(rule, &event, Some(verdict));
            Ok(exit::OK)
        }),
        _ => Err("give --file, or --index and --id".into()),
    }
}

fn read_file(path: &PathBuf) -> Result<Event, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: invalid JSON: {e}", path.display()))?;
    Ok(match value.get("_source") {
        Some(source) => Event::from_document(
            source.clone(),
            Origin::Document {
                index: value["_index"].as_str().unwrap_or("?").to_string(),
                id: value["_id"].as_str().unwrap_or("?").to_string(),
            },
        ),
        None => Event::from_document(value, Origin::Inline(path.display().to_string().into())),
    })
}

async fn fetch(cluster: &Cluster, index: &str, id: &str) -> Result<Event, String> {
    let body = json!({"size": 1, "query": {"ids": {"values": [id]}}});
    let reply = cluster
        .execute(&Request::post(format!("/{}/_search", eshunt::es::index_path(index))).json(&body))
        .await
        .and_then(|r| r.ok("fetching the document"))
        .map_err(|e| e.to_string())?;
    let hit = reply.body["hits"]["hits"]
        .get(0)
        .ok_or_else(|| format!("no document `{id}` in {index}"))?;
    let origin = Origin::Document {
        index: hit["_index"].as_str().unwrap_or(index).to_string(),
        id: id.to_string(),
    };
    Ok(Event::from_ecs(hit["_source"].clone(), origin))
}

/// Asks the cluster whether the document matches the rule's prefilter.
async fn cluster_prefilter(
    cluster: &Cluster,
    rule: &Rule,
    index: &str,
    id: &str,
) -> Result<bool, String> {
    let body = json!({
        "size": 0,
        "track_total_hits": true,
        "query": {"bool": {"filter": [rule.prefilter.dsl.clone(), {"ids": {"values": [id]}}]}},
    });
    let reply = cluster
        .execute(&Request::post(format!("/{}/_search", eshunt::es::index_path(index))).json(&body))
        .await
        .and_then(|r| r.ok("evaluating the prefilter"))
        .map_err(|e| e.to_string())?;
    Ok(reply.body["hits"]["total"]["value"].as_u64().unwrap_or(0) > 0)
}

fn print_explanation(rule: &Rule, event: &Event, cluster_verdict: Option<bool>) {
    println!("rule      {} — {}", rule.meta.id, rule.meta.name);
    let shape = match event.shape() {
        Shape::CloudTrail => "raw CloudTrail record",
        Shape::EcsOriginal => "ECS document, read through event.original",
        Shape::EcsRebuilt => "ECS document without event.original (record rebuilt from ECS fields)",
    };
    println!("document  {} ({shape})", event.origin());
    if let Some(kql) = &rule.prefilter.kql {
        println!("\nprefilter (KQL):\n  {}", kql.trim().replace('\n', "\n  "));
    }
    let dsl = serde_json::to_string_pretty(&rule.prefilter.dsl).unwrap_or_default();
    println!("prefilter (query DSL):\n  {}", dsl.replace('\n', "\n  "));
    let local = match &rule.prefilter.local {
        Ok(query) => yes_no(query.matches(event.ecs_view(), chrono::Utc::now())).to_string(),
        Err(reason) => format!("cannot be evaluated locally: {reason}"),
    };
    println!("prefilter matches the document (eshunt, locally): {local}");
    if let Some(verdict) = cluster_verdict {
        println!(
            "prefilter matches the document (the cluster):      {}",
            yes_no(verdict)
        );
    }
    match &rule.condition {
        Some(condition) => {
            println!(
                "\ncondition:\n  {}",
                condition.text().trim().replace('\n', "\n  ")
            );
            println!("each predicate on this document:");
            for t in condition.explain(event) {
                let values = serde_json::to_string(&t.values).unwrap_or_default();
                println!(
                    "  {:5}  {} {} {}   values: {values}",
                    if t.verdict { "true" } else { "false" },
                    t.field,
                    t.op,
                    t.operand
                );
            }
        }
        None => println!("\ncondition: none (the rule fires on every prefilter match)"),
    }
    let check = if cluster_verdict.is_some() {
        PrefilterCheck::DoneByCluster
    } else {
        PrefilterCheck::Local
    };
    let verdict = rule.evaluate(event, check);
    let fires = verdict.matched && cluster_verdict != Some(false);
    for field in &verdict.unavailable {
        println!("unavailable: {field} is held only as an unparseable string in this document");
    }
    println!("\nverdict: {}", if fires { "ALERT" } else { "no alert" });
    if fires {
        println!("  title:   {}", alert::title(rule, event));
        let context =
            serde_json::to_string_pretty(&alert::context(rule, event)).unwrap_or_default();
        println!("  context: {}", context.replace('\n', "\n  "));
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
