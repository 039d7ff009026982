//! Threshold rules against the test run's real cluster: a bucket is judged once, whole, by the
//! window holding its end — so one long hunt, tiled five-minute windows, a chunked backfill and
//! a retried window all give the same alerts, each once, with the same counts.

mod support;

use chrono::{DateTime, TimeDelta, Utc};
use eshunt::event::to_ecs::{to_ecs, ToEcsOptions};
use eshunt::hunt::cluster::{hunt_window, hunt_window_with_retries};
use eshunt::rule::{ExpectedGroup, Rule};
use eshunt::sink::ndjson::Printer;
use eshunt::sink::Delivery;
use eshunt::time::Window;
use eshunt_testserver::{Action, Fault, Flavor};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use support::*;

const RULE: &str = "eshunt.aws.access_denied_burst";
const APIS: [&str; 6] = [
    "ListUsers",
    "ListRoles",
    "GetUser",
    "ListAccessKeys",
    "DescribeInstances",
    "ListBuckets",
];

/// A refused call by `user` to `api` at `at`, as the ECS document of Elastic's integration,
/// ingested 30 s later.
fn denied(user: &str, api: &str, at: DateTime<Utc>, n: usize) -> Value {
    let raw = json!({
        "eventVersion": "1.08", "eventID": format!("{user}-{n}"),
        "eventTime": eshunt::time::format(at), "eventSource": "iam.amazonaws.com",
        "eventName": api, "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/{user}"),
                         "accountId": "111122223333", "userName": user},
        "errorCode": "AccessDenied", "errorMessage": "not authorized",
        "eventType": "AwsApiCall", "readOnly": true,
    });
    to_ecs(
        &raw,
        &ToEcsOptions {
            ingested: Some(at + TimeDelta::seconds(30)),
            ..ToEcsOptions::default()
        },
    )
}

/// Calls by `user` to the APIs (cycling through `apis` of them), one a minute from `from`.
fn calls(user: &str, from: &str, count: usize, apis: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let at = t(from) + TimeDelta::minutes(i as i64);
            denied(user, APIS[i % apis], at, i)
        })
        .collect()
}

/// mallory crosses in [10:00, 10:10); carol in [10:00, 10:10) and [10:10, 10:20); a job
/// repeating one API and eve, whose calls straddle two buckets, do not.
fn docs() -> Vec<Value> {
    [
        calls("mallory", "2026-03-14T10:01:00Z", 6, 6),
        calls("carol", "2026-03-14T10:02:00Z", 16, 6),
        calls("ci-bot", "2026-03-14T10:01:00Z", 8, 1),
        calls("eve", "2026-03-14T10:37:00Z", 6, 6),
    ]
    .concat()
}

/// An environment holding [`docs`] whose only rule is the shipped threshold rule.
async fn env() -> (Env, Rule) {
    let env = Env::start(Flavor::Elasticsearch, "8.15.0").await;
    let queries = env.dir.path().join("threshold-queries");
    let shipped =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("queries/aws/access_denied_burst.toml");
    write_rule(
        &queries,
        &shipped,
        &env.cluster.name("logs-aws.cloudtrail-*"),
        "5m",
        "6m",
    );
    let rule = load_one(&queries);
    assert_eq!(rule.meta.id, RULE);
    env.load(&docs()).await;
    (env, rule)
}

/// The one rule in `dir`.
fn load_one(dir: &Path) -> Rule {
    let report = eshunt::rule::load_dir(dir);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    report.rules.into_iter().next().unwrap()
}

/// The shipped rule without its condition (its prefilter says the same), so the cluster counts
/// its groups with aggregations.
fn counted_by_the_cluster(env: &Env, rule: &Rule) -> Rule {
    let text = std::fs::read_to_string(&rule.file).unwrap();
    let start = text.find("condition = '''").unwrap();
    let end = start + text[start..].find("'''\n\n").unwrap() + 5;
    let dir = env.dir.path().join("aggregated-queries");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("rule.toml"),
        format!("{}{}", &text[..start], &text[end..]),
    )
    .unwrap();
    let rule = load_one(&dir);
    assert!(rule.condition.is_none());
    rule
}

fn hour() -> Window {
    Window {
        start: t("2026-03-14T10:00:00Z"),
        end: t("2026-03-14T11:00:00Z"),
    }
}

/// The threshold alerts in `target`: alert id → (identity, bucket start, count).
async fn crossings(env: &Env, target: &str) -> BTreeMap<String, (String, String, u64)> {
    let hits = env.alert_hits(target).await;
    hits.into_iter()
        .map(|(id, h)| {
            let th = &h["_source"]["eshunt"]["threshold"];
            let who = th["group"]["userIdentity.arn"].as_str().unwrap_or("?");
            let user = who.rsplit('/').next().unwrap().to_string();
            let bucket = th["window"][0].as_str().unwrap().to_string();
            (id, (user, bucket, th["count"].as_u64().unwrap()))
        })
        .collect()
}

fn expected_crossings() -> Vec<(String, String, u64)> {
    vec![
        ("carol".into(), "2026-03-14T10:00:00.000Z".into(), 8),
        ("carol".into(), "2026-03-14T10:10:00.000Z".into(), 8),
        ("mallory".into(), "2026-03-14T10:00:00.000Z".into(), 6),
    ]
}

/// One pass of `rule` over `window`, now.
async fn hunt(
    cluster: &eshunt::es::Cluster,
    rule: &Rule,
    window: Window,
    delivery: &Delivery<'_>,
) -> eshunt::hunt::cluster::WindowReport {
    hunt_window(
        cluster,
        rule,
        window,
        small_pages(4),
        delivery,
        Utc::now(),
        None,
    )
    .await
    .unwrap()
}

fn sorted(values: impl IntoIterator<Item = (String, String, u64)>) -> Vec<(String, String, u64)> {
    let mut v: Vec<_> = values.into_iter().collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_bucket_is_judged_once_whole_and_its_alert_is_written_once() {
    let (env, rule) = env().await;
    let cluster = env.connect().await;
    let writer = bulk_writer(&env, &env.target, 500).await;
    let report = hunt(&cluster, &rule, hour(), &Delivery::Bulk(&writer)).await;
    assert_eq!(report.written.created, 3, "{report:?}");
    let first = crossings(&env, &env.target).await;
    assert_eq!(sorted(first.values().cloned()), expected_crossings());

    // Again, and in tiled five-minute windows (with a look-back overlap): nothing new.
    let again = hunt(&cluster, &rule, hour(), &Delivery::Bulk(&writer)).await;
    assert_eq!((again.written.created, again.written.existing), (0, 3));
    let mut start = t("2026-03-14T09:57:00Z");
    while start < t("2026-03-14T10:40:00Z") {
        let window = Window {
            start: start - TimeDelta::minutes(1),
            end: start + TimeDelta::minutes(5),
        };
        let tiled = hunt(&cluster, &rule, window, &Delivery::Bulk(&writer)).await;
        assert_eq!(tiled.written.created, 0, "{window}");
        start += TimeDelta::minutes(5);
    }
    assert_eq!(
        crossings(&env, &env.target).await,
        first,
        "the same alerts, each once"
    );
}

#[tokio::test]
async fn a_backfill_gives_the_alerts_live_windows_give() {
    let (env, rule) = env().await;
    let cluster = env.connect().await;
    let live = bulk_writer(&env, &env.target, 500).await;
    hunt(&cluster, &rule, hour(), &Delivery::Bulk(&live)).await;
    let backfill_target = env.cluster.name("alerts-backfill");
    let range = Window {
        start: t("2026-03-14T09:00:00Z"),
        end: t("2026-03-14T12:00:00Z"),
    };
    backfill_into(&env, &backfill_target, rule, range, "25m").await;
    let live_ids: Vec<String> = crossings(&env, &env.target).await.into_keys().collect();
    let backfilled = crossings(&env, &backfill_target).await;
    assert_eq!(
        backfilled.keys().cloned().collect::<Vec<_>>(),
        live_ids,
        "backfill ≡ live"
    );
    assert_eq!(sorted(backfilled.into_values()), expected_crossings());
}

#[tokio::test]
async fn a_window_retried_after_a_failure_does_not_count_twice() {
    let (env, rule) = env().await;
    let cluster = env.connect().await;
    env.cluster.faults().add(
        Fault::on("POST", "^/_search$")
            .nth(3)
            .then(Action::shard_failure()),
    );
    let out = Mutex::new(Printer::new(Box::new(std::io::sink())));
    let report = hunt_window_with_retries(
        &cluster,
        &rule,
        hour(),
        small_pages(4),
        &Delivery::Print(&out),
        quick_retry(),
    )
    .await
    .unwrap();
    assert!(report.attempts > 1, "the fault hit a page: {report:?}");
    let writer = bulk_writer(&env, &env.target, 500).await;
    hunt(&cluster, &rule, hour(), &Delivery::Bulk(&writer)).await;
    let written = crossings(&env, &env.target).await;
    assert_eq!(sorted(written.into_values()), expected_crossings());
}

#[tokio::test]
async fn without_a_condition_the_cluster_counts_with_composite_aggregations() {
    let (env, rule) = env().await;
    if !env.cluster.server().is_proxy() {
        // CI runs the real engine (ESHUNT_TEST_ENGINE=required); the emulator has no aggregations.
        eprintln!("SKIPPED: composite aggregations need the real engine, not the emulator");
        return;
    }
    let aggregated = counted_by_the_cluster(&env, &rule);
    assert!(eshunt::source::elasticsearch::aggregation_fields(&aggregated).is_some());
    let cluster = env.connect().await;
    let writer = bulk_writer(&env, &env.target, 500).await;
    let report = hunt(&cluster, &aggregated, hour(), &Delivery::Bulk(&writer)).await;
    assert_eq!(report.pages, 0, "no hits paged: {report:?}");
    let searches = env.cluster.requests().matching("POST", "_search$");
    assert!(searches.iter().any(|r| r
        .json()
        .is_some_and(|b| b.to_string().contains("composite"))));
    let written = crossings(&env, &env.target).await;
    assert_eq!(
        sorted(written.into_values()),
        expected_crossings(),
        "the same groups as counted in Rust"
    );
}

/// Every refused call its own group (by `eventID`, whose keyword home is `event.id`), crossing
/// at once: as many crossing groups as documents.
fn every_call_its_own_group(env: &Env) -> Rule {
    let dir = env.dir.path().join("per-event-queries");
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!(
        r#"id = "test.every_call"
name = "Every refused call"
description = "Each refused call is a group of its own."
severity = "low"

[source]
index = ["{index}"]
timestamp_field = "event.ingested"

[detection]
kql = "aws.cloudtrail.error_code: AccessDenied"

[threshold]
group_by = ["eventID"]
count = 1
window = "1h"

[alert]
title = "{{eventID}} refused"
"#,
        index = env.cluster.name("logs-aws.cloudtrail-*")
    );
    std::fs::write(dir.join("rule.toml"), text).unwrap();
    load_one(&dir)
}

#[tokio::test]
async fn the_groups_of_each_composite_page_are_written_before_the_next_page_is_read() {
    let env = Env::start(Flavor::Elasticsearch, "8.15.0").await;
    if !env.cluster.server().is_proxy() {
        eprintln!("SKIPPED: composite aggregations need the real engine, not the emulator");
        return;
    }
    let rule = every_call_its_own_group(&env);
    let fields = eshunt::source::elasticsearch::aggregation_fields(&rule).unwrap();
    assert_eq!(fields.group, ["event.id"]);
    let groups = 1_200; // more than one page of a thousand groups
    let mut docs = calls("mallory", "2026-03-14T10:00:00Z", groups, 6);
    for doc in &mut docs {
        // all in one bucket, however many
        doc["@timestamp"] = json!("2026-03-14T10:30:00Z");
        doc["event"]["ingested"] = json!("2026-03-14T10:30:30Z");
    }
    env.load(&docs).await;
    let cluster = env.connect().await;
    let writer = bulk_writer(&env, &env.target, 500).await;
    env.cluster.requests().clear();
    let report = hunt(&cluster, &rule, hour(), &Delivery::Bulk(&writer)).await;
    assert_eq!(report.written.created, groups as u64, "{report:?}");
    let requests = env.cluster.requests().all();
    let pages: Vec<usize> = requests
        .iter()
        .enumerate()
        .filter(|(_, r)| r.path.ends_with("_search") && r.body_text().contains("composite"))
        .map(|(i, _)| i)
        .collect();
    let first_bulk = requests.iter().position(|r| r.path.ends_with("_bulk"));
    assert!(pages.len() >= 2, "{} composite pages", pages.len());
    assert!(
        first_bulk.is_some_and(|b| pages[0] < b && b < pages[1]),
        "the first page's alerts are written before the second page is asked for"
    );
}

#[tokio::test]
async fn the_scheduler_judges_each_bucket_once_as_its_ticks_go_by() {
    let (env, rule) = env().await;
    let live = runtime(&env, "live", &env.target, quick_retry()).await;
    let mut now = t("2026-03-14T10:00:01Z");
    while now < t("2026-03-14T11:00:01Z") {
        live.tick(&rule, now, &|| true).await.unwrap();
        now += TimeDelta::minutes(5);
    }
    let written = crossings(&env, &env.target).await;
    assert_eq!(sorted(written.into_values()), expected_crossings());
}

/// Every sequence test of every shipped threshold rule, run in the cluster: its logs loaded (as
/// the integration's ECS documents, ingested at their event time) into a data stream of their
/// own, the buckets they fall in hunted, and the groups alerted on compared with the test's.
#[tokio::test]
async fn the_rule_files_sequence_tests_hold_in_the_cluster() {
    let env = Env::start(Flavor::Elasticsearch, "8.15.0").await;
    let cluster = env.connect().await;
    let sequences = shipped_sequences(&env, |r| r.threshold.is_some()).await;
    for seq in &sequences {
        let got = groups_hunted(&cluster, &seq.rule, &seq.logs).await;
        assert_eq!(got, seq.alerts, "{}", seq.name);
    }
    assert!(
        !sequences.is_empty(),
        "the shipped rules have sequence tests"
    );
}

/// The groups (values and counts) alerted on when the buckets holding `logs` are hunted.
async fn groups_hunted(
    cluster: &eshunt::es::Cluster,
    rule: &Rule,
    logs: &[Value],
) -> Vec<ExpectedGroup> {
    let threshold = rule.threshold.as_ref().unwrap();
    let times: Vec<DateTime<Utc>> = logs
        .iter()
        .filter_map(|l| {
            l["eventTime"]
                .as_str()
                .and_then(eshunt::time::parse_timestamp)
        })
        .collect();
    let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else {
        return Vec::new();
    };
    let window = Window {
        start: threshold.bucket(*first).start,
        end: threshold.bucket(*last).end,
    };
    let path = tempfile::NamedTempFile::new().unwrap();
    let printer = Mutex::new(Printer::new(Box::new(path.reopen().unwrap())));
    hunt(cluster, rule, window, &Delivery::Print(&printer)).await;
    drop(printer);
    let names = threshold.group_names();
    let mut groups: Vec<ExpectedGroup> = std::fs::read_to_string(path.path())
        .unwrap()
        .lines()
        .map(|l| {
            let alert: Value = serde_json::from_str(l).unwrap();
            let th = &alert["eshunt"]["threshold"];
            ExpectedGroup {
                group: names
                    .iter()
                    .map(|n| th["group"][n].as_str().unwrap().to_string())
                    .collect(),
                count: th["count"].as_u64().unwrap(),
            }
        })
        .collect();
    groups.sort();
    groups
}
