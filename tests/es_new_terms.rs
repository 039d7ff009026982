//! New terms rules against the test run's real cluster: a term is new when it is absent from
//! the history before its event, whatever window holds the event — so one long hunt, tiled
//! five-minute windows with look-back overlap, a chunked backfill and a retried window all give
//! the same alerts, each once. Both ways of asking the history are checked: counted by the
//! cluster (a rule without condition) and paged and judged in Rust (a rule with one).

mod support;

use chrono::{DateTime, TimeDelta, Utc};
use eshunt::event::to_ecs::{to_ecs, ToEcsOptions};
use eshunt::hunt::cluster::{hunt_window, hunt_window_with_retries, WindowReport};
use eshunt::rule::{ExpectedGroup, Rule};
use eshunt::sink::ndjson::Printer;
use eshunt::sink::Delivery;
use eshunt::source::history::HistoryQuery;
use eshunt::time::Window;
use eshunt_testserver::{Action, Fault, Flavor};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use support::*;

const SHIPPED: &str = "queries/aws/ec2_resources_in_new_region_for_identity.toml";

/// `user` creating an instance in `region` at `at`, as the integration's ECS document,
/// ingested 20 s later.
fn launch(user: &str, region: &str, at: &str, n: usize) -> Value {
    let at = t(at);
    let raw = json!({
        "eventVersion": "1.08", "eventID": format!("{user}-{n}"),
        "eventTime": eshunt::time::format(at), "eventSource": "ec2.amazonaws.com",
        "eventName": "RunInstances", "awsRegion": region, "sourceIPAddress": "198.51.100.20",
        "userAgent": "aws-cli/2.15.0", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/{user}"),
                         "accountId": "111122223333", "userName": user},
        "eventType": "AwsApiCall", "readOnly": false,
    });
    to_ecs(
        &raw,
        &ToEcsOptions {
            ingested: Some(at + TimeDelta::seconds(20)),
            ..ToEcsOptions::default()
        },
    )
}

/// A fortnight of history, then an hour where alice uses a new region (three times), bob a new
/// region, carol appears for the first time, and alice uses her usual region again.
fn docs() -> Vec<Value> {
    [
        ("alice", "us-east-1", "2026-03-02T09:00:00Z"),
        ("alice", "us-east-1", "2026-03-10T09:00:00Z"),
        ("bob", "us-east-1", "2026-03-05T09:00:00Z"),
        ("bob", "eu-west-1", "2026-02-20T09:00:00Z"), // older than the history: forgotten
        ("alice", "ap-southeast-2", "2026-03-15T10:02:00Z"),
        ("alice", "ap-southeast-2", "2026-03-15T10:04:50Z"),
        ("alice", "ap-southeast-2", "2026-03-15T10:31:00Z"),
        ("bob", "eu-west-1", "2026-03-15T10:12:00Z"),
        ("alice", "us-east-1", "2026-03-15T10:20:00Z"),
        ("carol", "sa-east-1", "2026-03-15T10:40:00Z"),
    ]
    .iter()
    .enumerate()
    .map(|(n, (user, region, at))| launch(user, region, at, n))
    .collect()
}

/// The new terms expected in the hour: (user, region, time of the event alerted on).
fn expected() -> Vec<(String, String, String)> {
    [
        ("alice", "ap-southeast-2", "2026-03-15T10:02:00.000Z"),
        ("bob", "eu-west-1", "2026-03-15T10:12:00.000Z"),
        ("carol", "sa-east-1", "2026-03-15T10:40:00.000Z"),
    ]
    .iter()
    .map(|(u, r, at)| (u.to_string(), r.to_string(), at.to_string()))
    .collect()
}

fn hour() -> Window {
    Window {
        start: t("2026-03-15T10:00:00Z"),
        end: t("2026-03-15T11:00:00Z"),
    }
}

/// An environment holding [`docs`], and the shipped rule reading it.
async fn env() -> (Env, Rule) {
    let env = Env::start(Flavor::Elasticsearch, "8.15.0").await;
    let rule = shipped_rule(&env, "");
    env.load(&docs()).await;
    (env, rule)
}

/// The shipped rule reading the test's data stream, with `condition` added when given (then
/// the history is paged and judged in Rust instead of counted by the cluster).
fn shipped_rule(env: &Env, condition: &str) -> Rule {
    let dir = env.dir.path().join(format!("rules-{}", condition.len()));
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join(SHIPPED);
    write_rule(
        &dir,
        &shipped,
        &env.cluster.name("logs-aws.cloudtrail-*"),
        "5m",
        "6m",
    );
    let path: PathBuf = dir.join(shipped.file_name().unwrap());
    if !condition.is_empty() {
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "\n# A (identity, region)",
            &format!("condition = '{condition}'\n\n# A (identity, region)"),
        );
        std::fs::write(&path, text).unwrap();
    }
    let rule = eshunt::rule::load_file(&path).unwrap();
    assert_eq!(rule.condition.is_some(), !condition.is_empty());
    rule
}

async fn hunt(
    cluster: &eshunt::es::Cluster,
    rule: &Rule,
    window: Window,
    delivery: &Delivery<'_>,
) -> WindowReport {
    hunt_window(
        cluster,
        rule,
        window,
        small_pages(3),
        delivery,
        Utc::now(),
        None,
    )
    .await
    .unwrap()
}

/// The new terms alerts in `target`: alert id → (user, region, event time).
async fn new_terms(env: &Env, target: &str) -> BTreeMap<String, (String, String, String)> {
    let hits = env.alert_hits(target).await;
    hits.into_iter()
        .map(|(id, h)| {
            let fields = &h["_source"]["eshunt"]["new_terms"]["fields"];
            let arn = fields["userIdentity.arn"].as_str().unwrap();
            let user = arn.rsplit('/').next().unwrap().to_string();
            let region = fields["awsRegion"].as_str().unwrap().to_string();
            let at = h["_source"]["@timestamp"].as_str().unwrap().to_string();
            (id, (user, region, at))
        })
        .collect()
}

fn sorted<T: Ord>(values: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = values.into_iter().collect();
    v.sort();
    v
}

/// Whether the engine answers aggregations (the emulator does not).
fn aggregations(env: &Env) -> bool {
    if !env.cluster.server().is_proxy() {
        // CI runs the real engine (ESHUNT_TEST_ENGINE=required).
        eprintln!(
            "SKIPPED: counting the history needs aggregations: the real engine, not the emulator"
        );
    }
    env.cluster.server().is_proxy()
}

/// One long window, then tiled five-minute windows with a minute of look-back overlap: the
/// same three alerts, each written once.
async fn once_whatever_the_windows(env: &Env, rule: &Rule) {
    let cluster = env.connect().await;
    let writer = bulk_writer(env, &env.target, 500).await;
    let report = hunt(&cluster, rule, hour(), &Delivery::Bulk(&writer)).await;
    assert_eq!(report.written.created, 3, "{report:?}");
    let first = new_terms(env, &env.target).await;
    assert_eq!(sorted(first.values().cloned()), expected());
    let mut start = t("2026-03-15T09:55:00Z");
    while start < t("2026-03-15T11:00:00Z") {
        let window = Window {
            start: start - TimeDelta::minutes(1),
            end: start + TimeDelta::minutes(5),
        };
        let tiled = hunt(&cluster, rule, window, &Delivery::Bulk(&writer)).await;
        assert_eq!(tiled.written.created, 0, "{window}: {tiled:?}");
        start += TimeDelta::minutes(5);
    }
    assert_eq!(
        new_terms(env, &env.target).await,
        first,
        "the same alerts, each once"
    );
}

#[tokio::test]
async fn counted_by_the_cluster_each_new_term_alerts_once_whatever_the_windows() {
    let (env, rule) = env().await;
    if !aggregations(&env) {
        return;
    }
    assert!(matches!(
        HistoryQuery::of(&rule),
        Some(HistoryQuery::Counted(_))
    ));
    once_whatever_the_windows(&env, &rule).await;
    let searches = env.cluster.requests().matching("POST", "_search$");
    assert!(
        searches.iter().any(|r| r
            .json()
            .is_some_and(|b| b["aggs"]["seen"]["filters"].is_object())),
        "the history was counted with a filters aggregation"
    );
}

#[tokio::test]
async fn judged_in_rust_each_new_term_alerts_once_whatever_the_windows() {
    let (env, _) = env().await;
    let rule = shipped_rule(&env, r#"eventName in ["RunInstances", "CreateKeyPair"]"#);
    assert!(matches!(
        HistoryQuery::of(&rule),
        Some(HistoryQuery::Paged(Some(_)))
    ));
    once_whatever_the_windows(&env, &rule).await;
}

#[tokio::test]
async fn a_backfill_gives_the_alerts_live_windows_give() {
    let (env, _) = env().await;
    let rule = shipped_rule(&env, r#"eventName in ["RunInstances", "CreateKeyPair"]"#);
    let cluster = env.connect().await;
    let live = bulk_writer(&env, &env.target, 500).await;
    hunt(&cluster, &rule, hour(), &Delivery::Bulk(&live)).await;
    let backfill_target = env.cluster.name("alerts-backfill");
    let range = Window {
        start: t("2026-03-15T09:00:00Z"),
        end: t("2026-03-15T12:00:00Z"),
    };
    backfill_into(&env, &backfill_target, rule, range, "7m").await;
    let live = new_terms(&env, &env.target).await;
    let backfilled = new_terms(&env, &backfill_target).await;
    assert_eq!(backfilled, live, "backfill ≡ live, ids included");
    assert_eq!(sorted(backfilled.into_values()), expected());
}

#[tokio::test]
async fn a_window_retried_after_a_failure_alerts_once() {
    let (env, _) = env().await;
    let rule = shipped_rule(&env, r#"eventName in ["RunInstances", "CreateKeyPair"]"#);
    let cluster = env.connect().await;
    // A shard failure on a page of the window's search or of its history's.
    env.cluster.faults().add(
        Fault::on("POST", "^/_search$")
            .nth(4)
            .then(Action::shard_failure()),
    );
    let writer = bulk_writer(&env, &env.target, 500).await;
    let report = hunt_window_with_retries(
        &cluster,
        &rule,
        hour(),
        small_pages(3),
        &Delivery::Bulk(&writer),
        quick_retry(),
    )
    .await
    .unwrap();
    assert!(report.attempts > 1, "the fault hit a page: {report:?}");
    let written = new_terms(&env, &env.target).await;
    assert_eq!(sorted(written.into_values()), expected());
}

#[tokio::test]
async fn the_scheduler_alerts_each_new_term_once_as_its_ticks_go_by() {
    let (env, _) = env().await;
    let rule = shipped_rule(&env, r#"eventName in ["RunInstances", "CreateKeyPair"]"#);
    let live = runtime(&env, "live", &env.target, quick_retry()).await;
    let mut now = t("2026-03-15T10:00:01Z");
    while now < t("2026-03-15T11:00:01Z") {
        live.tick(&rule, now, &|| true).await.unwrap();
        now += TimeDelta::minutes(5);
    }
    let written = new_terms(&env, &env.target).await;
    assert_eq!(sorted(written.into_values()), expected());
}

/// Every sequence test of every shipped new terms rule, run in the cluster: its logs loaded
/// (ingested at their event time) into a data stream of their own, and the time after the
/// first history of the data hunted — the events before it are the history, as on files.
#[tokio::test]
async fn the_rule_files_sequence_tests_hold_in_the_cluster() {
    let env = Env::start(Flavor::Elasticsearch, "8.15.0").await;
    let cluster = env.connect().await;
    let sequences = shipped_sequences(&env, |r| r.new_terms.is_some()).await;
    if sequences.iter().any(|s| s.rule.condition.is_none()) && !aggregations(&env) {
        return;
    }
    for seq in &sequences {
        let got = terms_hunted(&cluster, &seq.rule, &seq.logs).await;
        assert_eq!(got, seq.alerts, "{}", seq.name);
    }
    assert!(
        !sequences.is_empty(),
        "the shipped rules have sequence tests"
    );
}

fn event_time(log: &Value) -> Option<DateTime<Utc>> {
    log["eventTime"]
        .as_str()
        .and_then(eshunt::time::parse_timestamp)
}

/// The terms alerted on when `[first + history, last]` of `logs` is hunted in hourly windows.
async fn terms_hunted(
    cluster: &eshunt::es::Cluster,
    rule: &Rule,
    logs: &[Value],
) -> Vec<ExpectedGroup> {
    let history = rule.new_terms.as_ref().unwrap().history.delta();
    let times: Vec<DateTime<Utc>> = logs.iter().filter_map(event_time).collect();
    let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else {
        return Vec::new();
    };
    let path = tempfile::NamedTempFile::new().unwrap();
    let printer = Mutex::new(Printer::new(Box::new(path.reopen().unwrap())));
    let mut start = *first + history;
    while start <= *last {
        let window = Window {
            start,
            end: start + TimeDelta::hours(1),
        };
        hunt(cluster, rule, window, &Delivery::Print(&printer)).await;
        start = window.end;
    }
    drop(printer);
    let names = rule.new_terms.as_ref().unwrap().field_names();
    let groups = std::fs::read_to_string(path.path())
        .unwrap()
        .lines()
        .map(|l| {
            let alert: Value = serde_json::from_str(l).unwrap();
            let fields = &alert["eshunt"]["new_terms"]["fields"];
            ExpectedGroup {
                group: names
                    .iter()
                    .map(|n| fields[n].as_str().unwrap().to_string())
                    .collect(),
                count: 1,
            }
        })
        .collect::<Vec<_>>();
    sorted(groups)
}
