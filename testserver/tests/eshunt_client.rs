//! eshunt's own cluster client against the server: `eshunt::hunt` pages the sample export
//! through a point in time (both flavours' APIs), evaluates the shipped rules, and writes the
//! alerts with bulk `create` — under injected faults (a failed shard, a rejected bulk item,
//! rotating point-in-time ids). The seed rules' alerts must be exactly those
//! `samples/expected.json` lists, every other rule's those its local verdicts give.

mod common;

use common::Client;
use eshunt::config::{Config, Env};
use eshunt::es::retry::RetryPolicy;
use eshunt::es::Cluster;
use eshunt::event::{Event, Origin};
use eshunt::hunt::cluster::hunt_window_with_retries;
use eshunt::rule::{PrefilterCheck, Rule};
use eshunt::sink::dead_letter::DeadLetter;
use eshunt::sink::elasticsearch::BulkWriter;
use eshunt::sink::Delivery;
use eshunt::source::elasticsearch::PageSettings;
use eshunt::time::Window;
use eshunt_testserver::{cloudtrail_template, Action, Fault, Flavor, ItemFault, TestServer};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// No `ESHUNT_ES_*` variables: the developer's credentials never reach the test server.
struct NoEnv;

impl Env for NoEnv {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The sample export: (`_id`, `_source`).
fn export() -> Vec<(String, Value)> {
    std::fs::read_to_string(repo().join("samples/elastic-export.ndjson"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let hit: Value = serde_json::from_str(l).unwrap();
            (
                hit["_id"].as_str().unwrap().to_string(),
                hit["_source"].clone(),
            )
        })
        .collect()
}

/// Event ids `rule` must alert on among the exported events: the seed rules' from
/// `samples/expected.json` (written from independent transcriptions of the source rules), any
/// other rule's from its own verdicts on the exported documents, evaluated locally.
fn expected(rule: &Rule, exported: &[(String, Value)]) -> BTreeSet<String> {
    let all: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("samples/expected.json")).unwrap(),
    )
    .unwrap();
    let ids = exported
        .iter()
        .map(|(_, s)| s["event"]["id"].as_str().unwrap().to_string());
    let listed = all
        .as_object()
        .unwrap()
        .values()
        .find(|v| v["rule"] == rule.meta.id);
    match listed {
        Some(entry) => {
            let exported: BTreeSet<String> = ids.collect();
            entry["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .filter(|a| exported.contains(a))
                .collect()
        }
        None => exported
            .iter()
            .zip(ids)
            .filter(|((id, source), _)| {
                let event = Event::from_ecs(source.clone(), Origin::Inline(id.clone().into()));
                rule.evaluate(&event, PrefilterCheck::Local).matched
            })
            .map(|(_, id)| id)
            .collect(),
    }
}

fn config(server: &TestServer, dir: &Path) -> Config {
    let text = format!(
        "[elasticsearch]\nurls = [\"{}\"]\nmax_retries = 4\nretry_backoff = \"10ms\"\n\n[rules]\ndir = \"{}\"\n\n[alerts]\ntarget = \"logs-eshunt.alerts-default\"\nbulk_size = 2\ndead_letter = \"dead.ndjson\"\n\n[hunt]\npage_size = 2\nkeep_alive = \"1m\"\nsearch_timeout = \"30s\"\n",
        server.url(),
        repo().join("queries").display()
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path).unwrap()
}

async fn hunt_samples(flavor: Flavor, version: &str) {
    let server = TestServer::builder(flavor, version)
        .emulator_only()
        .start()
        .unwrap();
    let c = Client::new(&server);
    let (s, r) = c
        .req(
            "PUT",
            "/_index_template/cloudtrail",
            Some(cloudtrail_template("logs-aws.cloudtrail-*", server.info())),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let mut lines = Vec::new();
    let exported = export();
    for (id, source) in &exported {
        lines.push(json!({"create": {"_index": "logs-aws.cloudtrail-default", "_id": id}}));
        lines.push(source.clone());
    }
    let (s, r) = c.bulk("/_bulk?refresh=wait_for", &lines).await;
    assert_eq!((s, r["errors"].as_bool()), (200, Some(false)), "{r}");

    // Faults: the first page loses a shard (the window must be retried), the first bulk
    // rejects one alert with 429 (it must be resent), point-in-time ids rotate every 3 pages.
    server.faults().add(
        Fault::on("POST", "^/_search$")
            .nth(1)
            .then(Action::shard_failure()),
    );
    server.faults().add(
        Fault::on("POST", "^/_bulk$")
            .nth(1)
            .then(Action::fail_items(vec![ItemFault::position(0, 429)])),
    );

    let dir = std::env::temp_dir().join(format!(
        "eshunt-testserver-{}-{version}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let config = config(&server, &dir);
    let cluster = Cluster::connect(&config, &NoEnv).await.unwrap();
    let rules = eshunt::rule::load::load_dir(&config.rules.dir);
    assert!(rules.errors.is_empty() && !rules.rules.is_empty());
    let retry = RetryPolicy {
        max_retries: 4,
        initial: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    let writer = BulkWriter::new(
        cluster.clone(),
        &config.alerts.target,
        config.alerts.bulk_size,
        retry,
        DeadLetter::new(&dir.join("dead.ndjson")),
    );
    let settings = PageSettings {
        size: config.hunt.page_size,
        keep_alive: config.hunt.keep_alive,
        timeout: config.hunt.search_timeout,
    };
    let window = Window {
        start: "2026-03-14T00:00:00Z".parse().unwrap(),
        end: "2026-03-15T00:00:00Z".parse().unwrap(),
    };
    let mut total = 0;
    let mut attempts = Vec::new();
    // An alert per matching event: rules that count or remember are checked in eshunt's
    // tests/es_threshold.rs and tests/es_suppress.rs.
    for rule in rules.rules.iter().filter(|r| !r.remembers()) {
        let report = hunt_window_with_retries(
            &cluster,
            rule,
            window,
            settings,
            &Delivery::Bulk(&writer),
            retry,
        )
        .await
        .unwrap();
        let want = expected(rule, &exported);
        assert_eq!(
            report.matched as usize,
            want.len(),
            "rule {}: {report:?}",
            rule.meta.id
        );
        assert_eq!(
            report.written.created + report.written.existing,
            report.matched
        );
        total += want.len();
        attempts.push(report.attempts);
    }
    assert!(total > 0);
    assert_eq!(
        attempts[0], 2,
        "the page with a failed shard made the first window incomplete"
    );
    assert!(attempts[1..].iter().all(|a| *a == 1));

    // The alerts are in the cluster, each once; every point in time was closed.
    c.req("POST", "/logs-eshunt.alerts-default/_refresh", None)
        .await;
    let (_, r) = c
        .req(
            "POST",
            "/logs-eshunt.alerts-default/_search",
            Some(json!({"size": 100})),
        )
        .await;
    assert_eq!(
        r["hits"]["total"]["value"].as_u64(),
        Some(total as u64),
        "{r}"
    );
    let searches = server.requests().matching("POST", "^/_search$");
    assert!(
        searches.iter().all(|s| s.status == 200),
        "a stale point-in-time id was used"
    );
    assert!(searches.len() > 4, "pages of 2 hits");
    let (open, close) = match flavor {
        Flavor::Elasticsearch => ("_pit$", "^/_pit$"),
        Flavor::OpenSearch => ("/_search/point_in_time$", "^/_search/point_in_time$"),
    };
    assert_eq!(
        server.requests().matching("POST", open).len(),
        server.requests().matching("DELETE", close).len()
    );
    assert!(server
        .requests()
        .matching("POST", "^/_bulk$")
        .iter()
        .any(|r| r.status == 200 && r.faulted));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn hunts_the_samples_on_elasticsearch() {
    hunt_samples(Flavor::Elasticsearch, "8.15.0").await;
}

#[tokio::test]
async fn hunts_the_samples_on_opensearch() {
    hunt_samples(Flavor::OpenSearch, "2.11.0").await;
}
