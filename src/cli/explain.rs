//! `eshunt explain`: why a rule does or does not fire on a document — the prefilter DSL and
//! whether the document matches it, each condition predicate with its values and verdict, and
//! the alert it would make. The documents of a file (read as `scan` reads it) are explained one
//! after the other.

use super::cluster::{self, ConfigArg};
use super::{exit, load_rules, rules_help, with_stdout, Fail, RulesFrom};
use eshunt::alert;
use eshunt::es::Cluster;
use eshunt::event::{Event, Origin, Shape};
use eshunt::rule::{PrefilterCheck, Rule};
use eshunt::source::elasticsearch::judge_document;
use eshunt::source::files::{self, parse_record, Item};
use eshunt::tally::Skipped;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Arguments of `eshunt explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The rule's id.
    #[arg(long)]
    rule: String,
    /// A file of documents, read as `scan` reads it (`-`: standard input): a delivery file
    /// `{"Records":[…]}`, JSON lines or an array of raw CloudTrail records, ECS documents or
    /// search hits, optionally gzip. Each is explained, or those --line and --index name
    /// (offline: no cluster needed).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "id",
        required_unless_present = "id"
    )]
    file: Option<PathBuf>,
    /// With --file: only the document on this line (as `scan` reports it: `FILE:LINE`).
    #[arg(long, value_name = "N", requires = "file", conflicts_with = "id")]
    line: Option<u64>,
    /// With --id: the index (or data stream, or pattern) holding the document. With --file:
    /// only the document at this position of its array (as `scan` reports it: `Records[N]`).
    #[arg(long)]
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
    with_stdout(|out| explain(&args, out))
}

fn explain(args: &Args, out: &mut dyn Write) -> Result<u8, Fail> {
    let from_cluster = args.id.is_some();
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
        (Some(file), _, _, _) => explain_file(out, rule, file, &Selection::of(args)?),
        (None, Some(index), Some(id), Some(config)) => cluster::runtime().block_on(async {
            let cluster = cluster::connect(&config).await?;
            let (event, verdict) = fetch(&cluster, rule, index, id).await?;
            print_rule(out, rule)?;
            print_document(out, rule, &event, Some(verdict))?;
            Ok(exit::OK)
        }),
        _ => Err("give --file, or --index and --id".to_string().into()),
    }
}

/// The documents of a file to explain: every one, or those on a line and at a position.
#[derive(Debug, Default)]
struct Selection {
    line: Option<u64>,
    index: Option<u64>,
}

impl Selection {
    fn of(args: &Args) -> Result<Selection, Fail> {
        let index = args.index.as_deref().map(str::parse).transpose().map_err(|_| {
            Fail::usage("--index with --file is a position in the file's array, a number (as scan reports Records[N])")
        })?;
        Ok(Selection {
            line: args.line,
            index,
        })
    }

    /// Whether what was read at `origin` is selected; the whole file (skipped, e.g. as an
    /// unsupported compression) always is.
    fn contains(&self, origin: &Origin) -> bool {
        let (line, index) = match origin {
            Origin::Line { line, .. } => (Some(*line), None),
            Origin::Record { line, index, .. } => (Some(*line), Some(*index)),
            Origin::Document { .. } | Origin::Inline(_) => return true,
        };
        self.line.is_none_or(|l| line == Some(l)) && self.index.is_none_or(|i| index == Some(i))
    }

    /// The selection for messages: ` at line N, index K`, or nothing.
    fn describe(&self) -> String {
        let line = self.line.map(|l| format!(" at line {l}"));
        let index = self.index.map(|i| format!(" at index {i}"));
        [line, index]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// What explaining a file's documents came to.
#[derive(Debug, Default)]
struct FileCounts {
    explained: u64,
    alerts: u64,
    skipped: u64,
}

/// Explains the selected documents of a file, one after the other, as it is read; records that
/// are not documents are reported on stderr, like `scan` does (exit 3).
fn explain_file(
    out: &mut dyn Write,
    rule: &Rule,
    path: &Path,
    selection: &Selection,
) -> Result<u8, Fail> {
    let mut counts = FileCounts::default();
    let mut printed = Ok(());
    let read = files::read_file(path, &mut |item| {
        if printed.is_ok() {
            printed = explain_item(out, rule, item, selection, &mut counts);
        }
    });
    printed?;
    read.map_err(|e| format!("{}: {e}", path.display()))?;
    if counts.explained == 0 {
        return Err(format!(
            "no document to explain in {}{}",
            path.display(),
            selection.describe()
        )
        .into());
    }
    if counts.explained > 1 {
        writeln!(
            out,
            "\n{} documents: {} ALERT, {} no alert",
            counts.explained,
            counts.alerts,
            counts.explained - counts.alerts
        )?;
    }
    Ok(if counts.skipped == 0 {
        exit::OK
    } else {
        exit::PARTIAL
    })
}

/// Explains one item of a file if it is selected (the rule first, before the first document).
fn explain_item(
    out: &mut dyn Write,
    rule: &Rule,
    item: Item<'_>,
    selection: &Selection,
    counts: &mut FileCounts,
) -> io::Result<()> {
    let parsed = match item {
        Item::Record(record) if selection.contains(&record.origin) => parse_record(record),
        Item::Skipped(skipped) if selection.contains(&skipped.origin) => Err(skipped),
        _ => return Ok(()),
    };
    match parsed {
        Ok((doc, origin)) => {
            if counts.explained == 0 {
                print_rule(out, rule)?;
            }
            counts.explained += 1;
            let event = Event::from_document(doc, origin);
            counts.alerts += u64::from(print_document(out, rule, &event, None)?);
        }
        Err(Skipped {
            origin,
            reason,
            detail,
        }) => {
            counts.skipped += 1;
            eprintln!("skipped {origin}: {reason}: {detail}");
        }
    }
    Ok(())
}

/// The document and the cluster's prefilter verdict on it.
async fn fetch(
    cluster: &Cluster,
    rule: &Rule,
    index: &str,
    id: &str,
) -> Result<(Event, bool), String> {
    let judged = judge_document(cluster, rule, index, id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no document `{id}` in {index}"))?;
    let origin = Origin::Document {
        index: judged.index,
        id: id.to_string(),
    };
    Ok((
        Event::from_ecs(judged.source, origin),
        judged.matches_prefilter,
    ))
}

/// The rule's part of an explanation: its prefilter and its condition.
fn print_rule(out: &mut dyn Write, rule: &Rule) -> io::Result<()> {
    writeln!(out, "rule      {} — {}", rule.meta.id, rule.meta.name)?;
    if let Some(kql) = &rule.prefilter.kql {
        writeln!(
            out,
            "\nprefilter (KQL):\n  {}",
            kql.trim().replace('\n', "\n  ")
        )?;
    }
    let dsl = serde_json::to_string_pretty(&rule.prefilter.dsl).unwrap_or_default();
    writeln!(
        out,
        "prefilter (query DSL):\n  {}",
        dsl.replace('\n', "\n  ")
    )?;
    match &rule.condition {
        Some(condition) => writeln!(
            out,
            "\ncondition:\n  {}",
            condition.text().trim().replace('\n', "\n  ")
        ),
        None => writeln!(
            out,
            "\ncondition: none (the rule fires on every prefilter match)"
        ),
    }
}

/// One document's part of an explanation: whether it matches the prefilter (locally, and by
/// the cluster's own verdict when there is one), each condition predicate, and the verdict with
/// the alert. Returns whether the rule fires on it.
fn print_document(
    out: &mut dyn Write,
    rule: &Rule,
    event: &Event,
    cluster_verdict: Option<bool>,
) -> io::Result<bool> {
    let shape = match event.shape() {
        Shape::CloudTrail => "raw CloudTrail record",
        Shape::EcsOriginal => "ECS document, read through event.original",
        Shape::EcsRebuilt => "ECS document without event.original (record rebuilt from ECS fields)",
    };
    writeln!(out, "\ndocument  {} ({shape})", event.origin())?;
    let local = match &rule.prefilter.local {
        Ok(query) => yes_no(query.matches(event.ecs_view(), chrono::Utc::now())).to_string(),
        Err(reason) => format!("cannot be evaluated locally: {reason}"),
    };
    writeln!(
        out,
        "prefilter matches the document (eshunt, locally): {local}"
    )?;
    if let Some(verdict) = cluster_verdict {
        writeln!(
            out,
            "prefilter matches the document (the cluster):      {}",
            yes_no(verdict)
        )?;
    }
    if let Some(condition) = &rule.condition {
        writeln!(out, "each predicate on this document:")?;
        for t in condition.explain(event) {
            let values = serde_json::to_string(&t.values).unwrap_or_default();
            let operand_values = t.operand_values.map_or(String::new(), |v| {
                format!(
                    "   {}: {}",
                    t.operand,
                    serde_json::to_string(&v).unwrap_or_default()
                )
            });
            writeln!(
                out,
                "  {:5}  {} {} {}   values: {values}{operand_values}",
                if t.verdict { "true" } else { "false" },
                t.field,
                t.op,
                t.operand
            )?;
        }
    }
    let check = if cluster_verdict.is_some() {
        PrefilterCheck::DoneByCluster
    } else {
        PrefilterCheck::Local
    };
    let verdict = rule.evaluate(event, check);
    let fires = verdict.matched && cluster_verdict != Some(false);
    for field in &verdict.unavailable {
        writeln!(
            out,
            "unavailable: {field} is held only as an unparseable string in this document"
        )?;
    }
    writeln!(out, "verdict: {}", if fires { "ALERT" } else { "no alert" })?;
    if fires {
        writeln!(out, "  title:   {}", alert::title(rule, event))?;
        let context =
            serde_json::to_string_pretty(&alert::context(rule, event)).unwrap_or_default();
        writeln!(out, "  context: {}", context.replace('\n', "\n  "))?;
    }
    Ok(fires)
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
