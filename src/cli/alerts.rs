//! `eshunt alerts`: alerts one line each — time, severity, rule name, title and source event —
//! instead of the 5–9 KB ECS document each alert is. Read from the JSON-lines files eshunt writes
//! (`scan --output`, `backfill --source`, a dry run's output; gzip and Elasticsearch exports of
//! alert hits too), or from the cluster's alerts (`[alerts] target`, or `--index`), filtered by
//! rule and severity.

use super::cluster::{self, ConfigArg};
use super::{exit, finish, Fail};
use eshunt::es::{index_path, Cluster, Request};
use eshunt::event::Origin;
use eshunt::rule::Severity;
use eshunt::source::files::{read_file, Item};
use serde_json::{json, Value};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

/// Arguments of `eshunt alerts`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Alert files (JSON lines as eshunt writes them, optionally gzip). Without files, the
    /// newest alerts are read from the cluster.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Only alerts of the rule with this id (repeatable).
    #[arg(long = "rule", value_name = "ID")]
    rules: Vec<String>,
    /// Only alerts of this severity or above: low, medium, high or critical.
    #[arg(long, value_name = "LEVEL", value_parser = parse_severity)]
    min_severity: Option<Severity>,
    /// The index or data stream of alerts in the cluster [default: the config's `[alerts]
    /// target`].
    #[arg(long, value_name = "INDEX", conflicts_with = "files")]
    index: Option<String>,
    /// From the cluster: how many of the newest alerts to show (oldest first).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100,
        conflicts_with = "files",
        value_parser = clap::value_parser!(u16).range(1..=10_000)
    )]
    limit: u16,
    #[command(flatten)]
    config: ConfigArg,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    Severity::parse(text).ok_or_else(|| format!("`{text}` is not low, medium, high or critical"))
}

/// Runs `eshunt alerts`.
pub fn run(args: Args) -> u8 {
    let filter = Filter {
        rules: args.rules.clone(),
        min_severity: args.min_severity,
    };
    finish(if args.files.is_empty() {
        from_cluster(&args, &filter)
    } else {
        from_files(&args.files, &filter)
    })
}

/// Which alerts are shown.
struct Filter {
    rules: Vec<String>,
    min_severity: Option<Severity>,
}

impl Filter {
    /// Whether an alert document passes, read as [`Filter::query`] reads it in the cluster.
    fn keeps(&self, alert: &Value) -> bool {
        let rule_ok = self.rules.is_empty()
            || alert["rule"]["id"]
                .as_str()
                .is_some_and(|id| self.rules.iter().any(|r| r == id));
        let severity_ok = self.min_severity.is_none_or(|min| {
            alert["event"]["severity"]
                .as_f64()
                .is_some_and(|n| n >= f64::from(min.number()))
        });
        rule_ok && severity_ok
    }

    /// The same filter as query DSL, on the alert template's fields.
    fn query(&self) -> Value {
        let mut filters = Vec::new();
        if !self.rules.is_empty() {
            filters.push(json!({"terms": {"rule.id": self.rules}}));
        }
        if let Some(min) = self.min_severity {
            filters.push(json!({"range": {"event.severity": {"gte": min.number()}}}));
        }
        json!({"bool": {"filter": filters}})
    }
}

/// The alert in one line of JSON text: an alert document, or a search hit holding one.
fn alert_of(text: &[u8]) -> Result<Value, String> {
    let mut doc: Value = serde_json::from_slice(text).map_err(|e| format!("invalid JSON: {e}"))?;
    if doc["_source"].is_object() {
        doc = doc["_source"].take();
    }
    let kind = &doc["event"]["kind"];
    let is_alert = (kind == "alert" || kind == "signal") && doc["eshunt"]["alert_id"].is_string();
    is_alert.then_some(doc).ok_or_else(|| {
        "not an eshunt alert (no event.kind alert or signal, and eshunt.alert_id)".into()
    })
}

/// `TIME  SEVERITY  RULE NAME | TITLE | SOURCE EVENT`.
fn line(alert: &Value) -> String {
    let text = |v: &Value| clean(v.as_str().unwrap_or("-"));
    let rule = match alert["rule"]["name"].as_str() {
        Some(name) => clean(name),
        None => text(&alert["rule"]["id"]),
    };
    format!(
        "{}  {:<8}  {rule} | {} | {}",
        text(&alert["@timestamp"]),
        text(&alert["eshunt"]["severity"]),
        text(&alert["message"]),
        clean(&source(&alert["eshunt"]["source"]))
    )
}

/// `event ID at PLACE`: CloudTrail's event id and the document or file line it was read from.
fn source(link: &Value) -> String {
    let place = match (link["index"].as_str(), link["id"].as_str()) {
        (Some(index), Some(id)) => format!("{index}/{id}"),
        _ => match (
            link["file"].as_str(),
            link["line"].as_u64(),
            link["record"].as_u64(),
        ) {
            (Some(file), Some(line), Some(record)) => format!("{file}:{line}[{record}]"),
            (Some(file), Some(line), None) => format!("{file}:{line}"),
            (Some(file), None, _) => file.to_string(),
            (None, ..) => String::new(),
        },
    };
    match (link["event_id"].as_str(), place.is_empty()) {
        (Some(id), false) => format!("event {id} at {place}"),
        (Some(id), true) => format!("event {id}"),
        (None, false) => place,
        (None, true) => "-".into(),
    }
}

/// Alert text comes from events, which anyone able to call AWS writes: control characters
/// (line breaks, terminal escapes) are shown escaped, never sent to the terminal.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// What reading files gave.
#[derive(Default)]
struct FileTally {
    read: u64,
    shown: u64,
    skipped: u64,
    unreadable_files: u64,
}

/// Skipped lines shown one by one before only being counted.
const SKIPPED_SHOWN: u64 = 10;

fn from_files(files: &[PathBuf], filter: &Filter) -> Result<u8, Fail> {
    let mut out = Output::new();
    let mut tally = FileTally::default();
    for path in files {
        let result = read_file(path, &mut |item| match item {
            Item::Record(record) => match alert_of(record.text) {
                Ok(alert) => {
                    tally.read += 1;
                    if filter.keeps(&alert) {
                        tally.shown += 1;
                        out.line(&line(&alert));
                    }
                }
                Err(reason) => skip(&mut tally, &record.origin, &reason),
            },
            Item::Skipped(skipped) => skip(
                &mut tally,
                &skipped.origin,
                &format!("{}: {}", skipped.reason, skipped.detail),
            ),
        });
        if let Err(e) = result {
            eprintln!("error: {}: cannot read: {e}", path.display());
            tally.unreadable_files += 1;
        }
    }
    out.finish()?;
    eprintln!(
        "{} alerts shown of {} read; {} lines skipped; {} files unreadable",
        tally.shown, tally.read, tally.skipped, tally.unreadable_files
    );
    Ok(if tally.skipped + tally.unreadable_files == 0 {
        exit::OK
    } else {
        exit::PARTIAL
    })
}

fn skip(tally: &mut FileTally, origin: &Origin, reason: &str) {
    tally.skipped += 1;
    if tally.skipped <= SKIPPED_SHOWN {
        eprintln!("skipped {origin}: {}", clean(reason));
    } else if tally.skipped == SKIPPED_SHOWN + 1 {
        eprintln!("(further skipped lines are only counted)");
    }
}

/// Lines to stdout; stops quietly when the reader goes away (`eshunt alerts … | head`).
struct Output {
    out: BufWriter<io::StdoutLock<'static>>,
    error: Option<io::Error>,
}

impl Output {
    fn new() -> Output {
        Output {
            out: BufWriter::new(io::stdout().lock()),
            error: None,
        }
    }

    fn line(&mut self, text: &str) {
        if self.error.is_none() {
            self.error = writeln!(self.out, "{text}").err();
        }
    }

    fn finish(mut self) -> Result<(), String> {
        let error = self.error.take().or_else(|| self.out.flush().err());
        match error {
            Some(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                Err(format!("writing to stdout: {e}"))
            }
            _ => Ok(()),
        }
    }
}

/// The fields a line shows.
const FIELDS: &[&str] = &[
    "@timestamp",
    "message",
    "rule.id",
    "rule.name",
    "event.severity",
    "eshunt.severity",
    "eshunt.source",
];

fn from_cluster(args: &Args, filter: &Filter) -> Result<u8, Fail> {
    let config = args.config.load()?;
    let index = args
        .index
        .clone()
        .unwrap_or_else(|| config.alerts.target.clone());
    cluster::runtime().block_on(async {
        let cluster = cluster::connect(&config).await?;
        let (hits, total) = newest(&cluster, &index, filter, args.limit).await?;
        let mut out = Output::new();
        for hit in hits.iter().rev() {
            out.line(&line(&hit["_source"]));
        }
        out.finish()?;
        eprintln!(
            "{} alerts shown (the newest, oldest first) of {total} in {index} that pass the filters",
            hits.len()
        );
        Ok(exit::OK)
    })
}

/// The newest `limit` alerts that pass the filter, newest first, and how many pass in all.
async fn newest(
    cluster: &Cluster,
    index: &str,
    filter: &Filter,
    limit: u16,
) -> Result<(Vec<Value>, u64), String> {
    let body = json!({
        "size": limit,
        // The alert id breaks ties, so every `--limit` cuts the same order.
        "sort": [
            {"@timestamp": {"order": "desc", "unmapped_type": "date"}},
            {"eshunt.alert_id": {"order": "desc", "unmapped_type": "keyword"}},
        ],
        "track_total_hits": true,
        "_source": FIELDS,
        "query": filter.query(),
    });
    let what = format!("searching the alerts in {index}");
    let reply = cluster
        .execute(&Request::post(format!("/{}/_search", index_path(index))).json(&body))
        .await
        .and_then(|r| r.ok(&what))
        .map_err(|e| e.to_string())?;
    let hits = reply.body["hits"]["hits"]
        .as_array()
        .cloned()
        .ok_or_else(|| format!("{what}: no hits in the answer"))?;
    // `hits.total` is an object since Elasticsearch 7 and in OpenSearch, a number before.
    let total = &reply.body["hits"]["total"];
    let total = total["value"].as_u64().or(total.as_u64()).unwrap_or(0);
    Ok((hits, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Value {
        json!({
            "@timestamp": "2026-03-14T10:00:00.000Z",
            "message": "User [bob] changed [f]",
            "event": {"kind": "alert", "severity": 73},
            "rule": {"id": "R1", "name": "Layers by User"},
            "eshunt": {
                "alert_id": "a1",
                "severity": "high",
                "source": {"event_id": "e1", "file": "trail.json", "line": 1, "record": 2}
            }
        })
    }

    #[test]
    fn a_line_holds_time_severity_rule_title_and_source() {
        assert_eq!(
            line(&alert()),
            "2026-03-14T10:00:00.000Z  high      Layers by User | User [bob] changed [f] | event e1 at trail.json:1[2]"
        );
        let mut from_cluster = alert();
        from_cluster["eshunt"]["source"] = json!({"event_id": "e1", "index": ".ds-x", "id": "d1"});
        assert!(line(&from_cluster)
            .ends_with("high      Layers by User | User [bob] changed [f] | event e1 at .ds-x/d1"));
    }

    #[test]
    fn event_text_cannot_reach_the_terminal_as_control_characters() {
        let mut evil = alert();
        evil["message"] = json!("a\nb\u{1b}[31mred");
        let text = line(&evil);
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(text.contains(r"a\nb\u{1b}[31mred"), "{text}");
    }

    #[test]
    fn filters_on_rule_and_minimum_severity() {
        let filter = |rules: &[&str], min| Filter {
            rules: rules.iter().map(|r| r.to_string()).collect(),
            min_severity: min,
        };
        assert!(filter(&[], None).keeps(&alert()));
        assert!(filter(&["R1", "R2"], Some(Severity::High)).keeps(&alert()));
        assert!(!filter(&["R2"], None).keeps(&alert()));
        assert!(!filter(&[], Some(Severity::Critical)).keeps(&alert()));
        assert_eq!(
            filter(&["R1"], Some(Severity::Medium)).query(),
            json!({"bool": {"filter": [
                {"terms": {"rule.id": ["R1"]}},
                {"range": {"event.severity": {"gte": 47}}}
            ]}})
        );
    }

    #[test]
    fn search_hits_are_read_and_other_documents_refused() {
        let hit = json!({"_index": "i", "_id": "a1", "_source": alert()}).to_string();
        assert_eq!(alert_of(hit.as_bytes()).unwrap(), alert());
        let event = br#"{"eventName": "UpdateFunctionConfiguration20150331v2"}"#;
        assert!(alert_of(event).unwrap_err().contains("not an eshunt alert"));
        assert!(alert_of(b"{\"torn").unwrap_err().contains("invalid JSON"));
    }
}
