//! Loads CloudTrail into a cluster as the ECS documents Elastic's AWS integration makes, for
//! the demo and the cluster benchmark.
//!
//! ```text
//! cargo run --release --example load_cloudtrail -- --url http://127.0.0.1:9400 samples/
//! cargo run --release --example load_cloudtrail -- --url URL --data-stream logs-aws.cloudtrail-bench ecs.ndjson
//! ```
//!
//! First installs the CloudTrail mapping as the data stream template of `logs-aws.cloudtrail-*`
//! (adapted to the cluster's flavour), then reads what `eshunt scan` reads — delivery files,
//! JSON lines, folders, gzip — and bulk-creates each record: raw records are turned into ECS
//! with `eshunt::event::to_ecs` (`event.ingested` five minutes after the event), ECS documents and search hits
//! (`_source`) go in as they are. Ends with a refresh, so what it loaded is searchable, and
//! prints the count and the time taken. Credentials and TLS come from the `ESHUNT_ES_*`
//! variables, as for eshunt itself.

use eshunt::config::{Config, ProcessEnv};
use eshunt::es::{Cluster, Request};
use eshunt::event::is_ecs_document;
use eshunt::event::to_ecs::{to_ecs, ToEcsOptions};
use eshunt::source::files::{discover, read_file, Item};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Documents per bulk request.
const BATCH: usize = 5_000;

struct Args {
    url: String,
    data_stream: String,
    paths: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut url = None;
    let mut data_stream = "logs-aws.cloudtrail-default".to_string();
    let mut paths = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--url" => url = it.next(),
            "--data-stream" => data_stream = it.next().ok_or("--data-stream needs a name")?,
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            path => paths.push(PathBuf::from(path)),
        }
    }
    let url = url.ok_or("--url is required")?;
    if !data_stream.starts_with("logs-aws.cloudtrail-") {
        return Err("the data stream must match logs-aws.cloudtrail-*".into());
    }
    if paths.is_empty() {
        return Err("name at least one file or folder".into());
    }
    Ok(Args {
        url: url.trim_end_matches('/').to_string(),
        data_stream,
        paths,
    })
}

/// How long after its event a raw record is taken to have been ingested (`event.ingested`,
/// the time field eshunt's rules window on): as if delivered by a trail at that lag.
const INGEST_LAG: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// The `_source` to index for one record as read; `None` for a raw record without
/// `eventTime`, which is not CloudTrail (e.g. `samples/expected.json`).
fn document(record: Value) -> Option<Value> {
    if let Some(source) = record.get("_source") {
        return Some(source.clone());
    }
    if is_ecs_document(&record) {
        return Some(record);
    }
    let event_time = record.get("eventTime")?.as_str();
    let options = ToEcsOptions {
        ingested: event_time
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.to_utc() + INGEST_LAG),
        ..ToEcsOptions::default()
    };
    Some(to_ecs(&record, &options))
}

/// Reads the files on a thread of its own and hands over bulk bodies of [`BATCH`] documents,
/// at most two ahead of the sender: memory stays bounded for any amount of data.
fn read_batches(
    files: Vec<PathBuf>,
    data_stream: &str,
) -> (
    std::sync::mpsc::Receiver<(String, usize)>,
    std::thread::JoinHandle<u64>,
) {
    let (tx, rx) = std::sync::mpsc::sync_channel(2);
    let action = json!({"create": {"_index": data_stream}}).to_string();
    let reader = std::thread::spawn(move || {
        let (mut body, mut count, mut skipped) = (String::new(), 0usize, 0u64);
        for path in &files {
            let read = read_file(path, &mut |item| {
                let record = match item {
                    Item::Record(r) => match serde_json::from_slice::<Value>(r.text) {
                        Ok(record) => record,
                        Err(e) => {
                            eprintln!("{}: {e}", r.origin);
                            skipped += 1;
                            return;
                        }
                    },
                    Item::Skipped(s) => {
                        eprintln!("{}: {} {}", s.origin, s.reason, s.detail);
                        skipped += 1;
                        return;
                    }
                };
                let Some(document) = document(record) else {
                    eprintln!("{path:?}: a record without eventTime is not CloudTrail: skipped");
                    skipped += 1;
                    return;
                };
                body.push_str(&action);
                body.push('\n');
                body.push_str(&document.to_string());
                body.push('\n');
                count += 1;
                if count == BATCH {
                    let _ = tx.send((std::mem::take(&mut body), count));
                    count = 0;
                }
            });
            if let Err(e) = read {
                eprintln!("{}: {e}", path.display());
                skipped += 1;
            }
        }
        if count > 0 {
            let _ = tx.send((body, count));
        }
        skipped
    });
    (rx, reader)
}

/// Sends one request; its answer, or the status and body as an error.
async fn send(cluster: &Cluster, request: Request) -> Result<Value, String> {
    let what = request.path().to_string();
    let reply = cluster.execute(&request).await.map_err(|e| e.to_string())?;
    let reply = reply.ok(&what).map_err(|e| e.to_string())?;
    Ok(reply.body)
}

async fn load(args: Args) -> Result<(), String> {
    let config: Config = toml::from_str(&format!("[elasticsearch]\nurls = [{:?}]", args.url))
        .map_err(|e| e.to_string())?;
    let cluster = Cluster::connect(&config, &ProcessEnv)
        .await
        .map_err(|e| e.to_string())?;
    let template = eshunt_testserver::cloudtrail_template("logs-aws.cloudtrail-*", cluster.info());
    send(
        &cluster,
        Request::put("/_index_template/eshunt-cloudtrail").json(&template),
    )
    .await?;

    let found = discover(&args.paths);
    for (path, error) in &found.errors {
        eprintln!("{}: {error}", path.display());
    }
    let started = Instant::now();
    let (batches, reader) = read_batches(found.files, &args.data_stream);
    let (mut loaded, mut refused) = (0, 0);
    for (body, count) in batches {
        let answer = send(&cluster, Request::post("/_bulk").ndjson(body)).await?;
        let items = answer["items"].as_array().cloned().unwrap_or_default();
        for (n, item) in items.iter().enumerate() {
            if let Some(error) = item["create"].get("error") {
                eprintln!("document {} refused: {error}", loaded + n + 1);
                refused += 1;
            }
        }
        loaded += count;
    }
    let skipped = reader.join().map_err(|_| "the reader thread panicked")?;
    send(
        &cluster,
        Request::post(format!("/{}/_refresh", args.data_stream)),
    )
    .await?;
    eprintln!(
        "loaded {} documents into {} in {:.1} s ({skipped} skipped, {refused} refused) on {}",
        loaded - refused,
        args.data_stream,
        started.elapsed().as_secs_f64(),
        cluster.info()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("load_cloudtrail: {e}\nusage: load_cloudtrail --url URL [--data-stream logs-aws.cloudtrail-NAME] PATH...");
            return ExitCode::from(2);
        }
    };
    match load(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("load_cloudtrail: {e}");
            ExitCode::FAILURE
        }
    }
}
