//! Alert suppression against the test run's real cluster: each window merges its part of a
//! group's alert into one document per group and period, so tiled live windows (overlapping by
//! their look-back, the alert data stream rolled over between them), one long window and a
//! backfill in parallel chunks give the same alerts — same ids, counts and first event — and
//! re-runs and retries change nothing. The emulator has no scripts: there the tests say so and
//! stop.

mod support;

use chrono::{TimeDelta, Utc};
use eshunt::backfill::{BackfillSpec, Backfiller};
use eshunt::es::setup::alert_mappings;
use eshunt::event::to_ecs::{to_ecs, ToEcsOptions};
use eshunt::event::{Event, Origin};
use eshunt::hunt::cluster::{hunt_window, hunt_window_with_retries, WindowReport};
use eshunt::rule::{ExpectedGroup, Rule};
use eshunt::sink::elasticsearch::BulkWriter;
use eshunt::sink::ndjson::Printer;
use eshunt::sink::Delivery;
use eshunt::state::StateStore;
use eshunt::time::{Span, Window};
use eshunt_testserver::{Action, Fault, Flavor, ItemFault};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use support::*;

const RULE: &str = "eshunt.aws.console_login_failures";

/// A console sign-in of `user` (none: a user name that does not exist, no ARN) at `at`, as the
/// integration's ECS document, ingested `delay` later.
fn login(id: &str, user: Option<&str>, failed: bool, at: &str, delay: TimeDelta) -> Value {
    let identity = match user {
        Some(user) => json!({"type": "IAMUser", "principalId": "AIDAEXAMPLE", "userName": user,
            "arn": format!("arn:aws:iam::111122223333:user/{user}"), "accountId": "111122223333"}),
        None => json!({"type": "IAMUser", "accountId": "111122223333",
                       "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
    };
    let mut raw = json!({
        "eventVersion": "1.08", "eventID": id, "eventTime": at,
        "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.23", "userAgent": "Mozilla/5.0",
        "userIdentity": identity, "recipientAccountId": "111122223333",
        "responseElements": {"ConsoleLogin": if failed { "Failure" } else { "Success" }},
        "additionalEventData": {"MFAUsed": "No"}, "eventType": "AwsConsoleSignIn",
    });
    if failed {
        raw["errorMessage"] = json!("Failed authentication");
    }
    to_ecs(
        &raw,
        &ToEcsOptions {
            ingested: Some(t(at) + delay),
            ..ToEcsOptions::default()
        },
    )
}

fn failed(id: &str, user: &str, at: &str) -> Value {
    login(id, Some(user), true, at, TimeDelta::seconds(30))
}

/// alice fails six times in 10:00–11:00 — her earliest failure (10:02) arrives last, 40
/// minutes late, and her last one (10:59:30) after the hour — and twice in the next hour; bob
/// fails ten times from 10:10, the first two at the same instant, the one that comes first
/// (see [`tie_winner`]) ingested 15 minutes after the other, and once at 11:15; a user name that
/// does not exist fails twice (no ARN: not suppressed); one sign-in succeeds.
fn docs() -> Vec<Value> {
    let mut docs = vec![
        login(
            "a-early",
            Some("alice"),
            true,
            "2026-03-14T10:02:00Z",
            TimeDelta::minutes(40),
        ),
        failed("a-1", "alice", "2026-03-14T10:05:00Z"),
        failed("a-2", "alice", "2026-03-14T10:05:10Z"),
        failed("a-3", "alice", "2026-03-14T10:20:00Z"),
        failed("a-4", "alice", "2026-03-14T10:44:00Z"),
        failed("a-5", "alice", "2026-03-14T10:59:30Z"),
        failed("a-6", "alice", "2026-03-14T11:03:00Z"),
        failed("a-7", "alice", "2026-03-14T11:30:00Z"),
        failed("b-late", "bob", "2026-03-14T11:15:00Z"),
        login(
            "nobody-1",
            None,
            true,
            "2026-03-14T10:30:00Z",
            TimeDelta::seconds(30),
        ),
        login(
            "nobody-2",
            None,
            true,
            "2026-03-14T10:31:00Z",
            TimeDelta::seconds(30),
        ),
        login(
            "ok",
            Some("alice"),
            false,
            "2026-03-14T10:35:00Z",
            TimeDelta::seconds(30),
        ),
    ];
    for id in TIES {
        let delay = match id == tie_winner() {
            true => TimeDelta::minutes(15),
            false => TimeDelta::seconds(30),
        };
        docs.push(tie(id, delay));
    }
    for i in 1..=8 {
        let at = format!("2026-03-14T10:{:02}:00Z", 10 + i);
        docs.push(failed(&format!("b-{i}"), "bob", &at));
    }
    docs
}

/// bob's two failures at the same instant.
const TIES: [&str; 2] = ["b-tie-1", "b-tie-2"];

fn tie(id: &str, delay: TimeDelta) -> Value {
    login(id, Some("bob"), true, "2026-03-14T10:10:00Z", delay)
}

/// Of bob's two failures at 10:10, the one whose own alert id is smaller: the group's first.
fn tie_winner() -> &'static str {
    let id = |event_id: &str| {
        let doc = tie(event_id, TimeDelta::zero());
        let event = Event::from_ecs(doc, Origin::Inline("t".into()));
        eshunt::alert::alert_id(RULE, &eshunt::alert::identity(&event))
    };
    match id(TIES[0]) < id(TIES[1]) {
        true => TIES[0],
        false => TIES[1],
    }
}

/// What a group's alert must say: (user, period start) → (count, first event, first, last).
fn expected() -> BTreeMap<(String, String), (u64, String, String, String)> {
    let row = |user: &str, period: &str, count: u64, first: &str, at: &str, last: &str| {
        let times = |t: &str| format!("2026-03-14T{t}.000Z");
        (
            (user.to_string(), times(period)),
            (count, first.to_string(), times(at), times(last)),
        )
    };
    BTreeMap::from([
        row("alice", "10:00:00", 5, "a-early", "10:02:00", "10:59:30"),
        row("alice", "11:00:00", 1, "a-6", "11:03:00", "11:30:00"),
        row("bob", "10:00:00", 9, tie_winner(), "10:10:00", "10:18:00"),
        row("bob", "11:00:00", 0, "b-late", "11:15:00", "11:15:00"),
    ])
}

/// An environment holding [`docs`], the shipped rule, and whether scripts run there (the
/// emulator has none: the caller stops).
async fn env() -> Option<(Env, Rule)> {
    let env = Env::start(Flavor::Elasticsearch, "8.15.0").await;
    if !env.cluster.server().is_proxy() {
        // CI runs the real engine (ESHUNT_TEST_ENGINE=required); the emulator has no scripts.
        eprintln!("SKIPPED: suppressed alerts are merged by painless scripts: real engine only");
        return None;
    }
    let queries = env.dir.path().join("suppress-queries");
    let shipped =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("queries/aws/console_login_failures.toml");
    let index = env.cluster.name("logs-aws.cloudtrail-*");
    write_rule(&queries, &shipped, &index, "5m", "6m");
    let report = eshunt::rule::load_dir(&queries);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let rule = report.rules.into_iter().next().unwrap();
    assert_eq!(rule.meta.id, RULE);
    env.load(&docs()).await;
    Some((env, rule))
}

/// A new alert data stream `name` with eshunt's alert mappings, as `eshunt setup` makes one.
async fn alert_stream(env: &Env, name: &str) -> String {
    let stream = env.cluster.name(name);
    let template = json!({
        "index_patterns": [format!("{stream}*")], "data_stream": {}, "priority": 500,
        "template": {"mappings": alert_mappings(env.cluster.info())},
    });
    let (status, body) = env
        .cluster
        .request(
            "PUT",
            &format!("/_index_template/{stream}"),
            Some(&template),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    stream
}

async fn hunt(
    cluster: &eshunt::es::Cluster,
    rule: &Rule,
    window: Window,
    writer: &BulkWriter,
) -> WindowReport {
    let report = hunt_window(
        cluster,
        rule,
        window,
        small_pages(4),
        &Delivery::Bulk(writer),
        Utc::now(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(report.written.dead_lettered, 0, "{report:?}");
    report
}

fn long_window() -> Window {
    Window {
        start: t("2026-03-14T09:00:00Z"),
        end: t("2026-03-14T13:00:00Z"),
    }
}

/// Five-minute windows from 09:55, each reaching back a minute into the one before (the
/// scheduler's look-back overlap), cut at odd milliseconds as the scheduler's are.
fn tiled_windows() -> Vec<Window> {
    let mut windows = Vec::new();
    let mut end = t("2026-03-14T09:55:17.250Z");
    while end < t("2026-03-14T12:05:00Z") {
        windows.push(Window {
            start: end - TimeDelta::minutes(6),
            end,
        });
        end += TimeDelta::minutes(5);
    }
    windows
}

/// Every alert document of `target`, by id, with its `_seq_no`.
async fn alerts(env: &Env, target: &str) -> BTreeMap<String, (Value, u64)> {
    let hits = env.alert_hits(target).await;
    hits.into_iter()
        .map(|(id, h)| (id, (h["_source"].clone(), h["_seq_no"].as_u64().unwrap())))
        .collect()
}

/// An alert without what only says when and how it was written: `event.created`/`ingested`
/// and the slices its count is merged from (their cut depends on the windows; their sum not).
fn comparable(doc: &Value) -> Value {
    let mut doc = doc.clone();
    doc["event"].as_object_mut().unwrap().remove("created");
    doc["event"].as_object_mut().unwrap().remove("ingested");
    if let Some(s) = doc["eshunt"]["suppressed"].as_object_mut() {
        let windows = s.remove("windows").unwrap();
        let sum: u64 = windows
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(
            s["count"].as_u64().unwrap() + 1,
            sum,
            "count = sum of the slices − 1"
        );
    }
    doc
}

/// Checks the alerts of `target` against [`expected`] (and two unsuppressed ones), and returns
/// them comparable.
async fn checked(env: &Env, target: &str) -> BTreeMap<String, Value> {
    let all = alerts(env, target).await;
    let mut groups = BTreeMap::new();
    let mut alone = Vec::new();
    for doc in all.values().map(|(doc, _)| doc) {
        let s = &doc["eshunt"]["suppressed"];
        if s.is_null() {
            alone.push(doc["event"]["id"].as_str().unwrap().to_string());
            continue;
        }
        let user = s["group"]["userIdentity.arn"].as_str().unwrap();
        let user = user.rsplit('/').next().unwrap().to_string();
        let row = (
            s["count"].as_u64().unwrap(),
            doc["event"]["id"].as_str().unwrap().to_string(),
            s["first"].as_str().unwrap().to_string(),
            s["last"].as_str().unwrap().to_string(),
        );
        assert_eq!(
            s["first"], doc["@timestamp"],
            "the alert is its first event's"
        );
        groups.insert((user, s["period"][0].as_str().unwrap().to_string()), row);
    }
    assert_eq!(groups, expected(), "{target}");
    alone.sort();
    assert_eq!(alone, ["nobody-1", "nobody-2"], "no ARN: each alone");
    all.into_iter()
        .map(|(id, (doc, _))| (id, comparable(&doc)))
        .collect()
}

#[tokio::test]
async fn tiled_windows_and_one_long_window_give_the_same_alerts() {
    let Some((env, rule)) = env().await else {
        return;
    };
    let cluster = env.connect().await;
    let long = alert_stream(&env, "sup-long").await;
    let report = hunt(
        &cluster,
        &rule,
        long_window(),
        &bulk_writer(&env, &long, 500).await,
    )
    .await;
    assert_eq!(
        (report.written.created, report.written.existing),
        (6, 0),
        "{report:?}"
    );
    let from_long = checked(&env, &long).await;

    let tiled = alert_stream(&env, "sup-tiled").await;
    let writer = bulk_writer(&env, &tiled, 2).await;
    let windows = tiled_windows();
    let (mut created, mut updated) = (0, 0);
    for (i, window) in windows.iter().enumerate() {
        if i == windows.len() / 2 {
            // Alerts written before the rollover are merged into where they are.
            let (status, body) = env
                .cluster
                .request("POST", &format!("/{tiled}/_rollover"), None)
                .await
                .unwrap();
            assert_eq!(status, 200, "{body}");
        }
        let report = hunt(&cluster, &rule, *window, &writer).await;
        created += report.written.created;
        updated += report.written.updated;
    }
    assert_eq!(created, 6, "each alert created once");
    assert!(
        updated >= 4,
        "later windows merged into earlier alerts: {updated}"
    );
    let from_tiles = checked(&env, &tiled).await;
    assert_eq!(
        from_tiles, from_long,
        "the same alerts, ids and first events"
    );
}

#[tokio::test]
async fn re_running_windows_changes_nothing() {
    let Some((env, rule)) = env().await else {
        return;
    };
    let cluster = env.connect().await;
    let target = alert_stream(&env, "sup-rerun").await;
    let writer = bulk_writer(&env, &target, 3).await;
    hunt(&cluster, &rule, long_window(), &writer).await;
    let before = alerts(&env, &target).await;

    let again = hunt(&cluster, &rule, long_window(), &writer).await;
    assert_eq!(
        (
            again.written.created,
            again.written.existing,
            again.written.updated
        ),
        (0, 6, 0),
        "{again:?}"
    );
    for window in tiled_windows() {
        let narrower = hunt(&cluster, &rule, window, &writer).await;
        assert_eq!(
            (narrower.written.created, narrower.written.updated),
            (0, 0),
            "{window}"
        );
    }
    assert_eq!(
        alerts(&env, &target).await,
        before,
        "not even rewritten (noop)"
    );
}

#[tokio::test]
async fn a_window_retried_after_a_fault_does_not_count_twice() {
    let Some((env, rule)) = env().await else {
        return;
    };
    let cluster = env.connect().await;
    let clean = alert_stream(&env, "sup-clean").await;
    hunt(
        &cluster,
        &rule,
        long_window(),
        &bulk_writer(&env, &clean, 500).await,
    )
    .await;
    let expected = checked(&env, &clean).await;

    let target = alert_stream(&env, "sup-retried").await;
    let writer = bulk_writer(&env, &target, 1).await;
    // Tiled windows first, so the retried window updates alerts as well as creating them.
    for window in &tiled_windows()[..8] {
        hunt(&cluster, &rule, *window, &writer).await;
    }
    let merges = |from, to| {
        Fault::on("POST", "/_bulk$")
            .body_contains("first_id")
            .requests(from, to)
    };
    // The first merge is applied but its answer lost (resent: a noop); the third group's merge
    // is refused until the writer gives up, failing the window after two groups were merged.
    let lost = env
        .cluster
        .faults()
        .add(merges(1, 1).then(Action::lose_answer()));
    let refused = env
        .cluster
        .faults()
        .add(merges(4, 7).then(Action::fail_items(vec![ItemFault::position(0, 503)])));
    let report = hunt_window_with_retries(
        &cluster,
        &rule,
        long_window(),
        small_pages(4),
        &Delivery::Bulk(&writer),
        quick_retry(),
    )
    .await
    .unwrap();
    assert_eq!(env.cluster.faults().applied(lost), 1);
    assert_eq!(env.cluster.faults().applied(refused), 4);
    assert_eq!(report.attempts, 2, "{report:?}");
    assert_eq!(checked(&env, &target).await, expected);
}

#[tokio::test]
async fn a_backfill_in_parallel_chunks_gives_the_alerts_of_one_long_window() {
    let Some((env, rule)) = env().await else {
        return;
    };
    let cluster = env.connect().await;
    let long = alert_stream(&env, "sup-long").await;
    hunt(
        &cluster,
        &rule,
        long_window(),
        &bulk_writer(&env, &long, 500).await,
    )
    .await;
    let from_long = checked(&env, &long).await;

    // Chunks of 20 minutes, two at a time: the chunks holding one group's matches race to
    // create its alert and to merge into it.
    let target = alert_stream(&env, "sup-backfill").await;
    let backfiller = Backfiller {
        cluster: cluster.clone(),
        store: StateStore::new(cluster.clone(), &env.state),
        writer: Arc::new(bulk_writer(&env, &target, 1).await),
        pages: small_pages(4),
        retry: quick_retry(),
    };
    let spec = BackfillSpec {
        rules: vec![Arc::new(rule)],
        range: long_window(),
        chunk: Span::parse("20m").unwrap(),
        concurrency: 2,
    };
    let report = backfiller.run(&spec).await.unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(
        checked(&env, &target).await,
        from_long,
        "backfill ≡ one long window"
    );
}

/// Every sequence test of every shipped suppressing rule, run in the cluster: its logs loaded
/// (as the integration's ECS documents, ingested at their event time) into a data stream of
/// their own, hunted in one window, and the groups alerted on compared with the test's.
#[tokio::test]
async fn the_rule_files_sequence_tests_hold_in_the_cluster() {
    let env = Env::start(Flavor::Elasticsearch, "8.15.0").await;
    let cluster = env.connect().await;
    let sequences = shipped_sequences(&env, |r| r.suppress.is_some()).await;
    for seq in &sequences {
        let got = groups_hunted(&cluster, &seq.rule).await;
        assert_eq!(got, seq.alerts, "{}", seq.name);
    }
    assert!(
        !sequences.is_empty(),
        "the shipped rules have sequence tests"
    );
}

/// The suppressed groups (values, matches) printed by a dry run of `rule` over the test day.
async fn groups_hunted(cluster: &eshunt::es::Cluster, rule: &Rule) -> Vec<ExpectedGroup> {
    let path = tempfile::NamedTempFile::new().unwrap();
    let printer = Mutex::new(Printer::new(Box::new(path.reopen().unwrap())));
    let day = Window {
        start: t("2026-03-14T00:00:00Z"),
        end: t("2026-03-15T00:00:00Z"),
    };
    hunt_window(
        cluster,
        rule,
        day,
        small_pages(4),
        &Delivery::Print(&printer),
        Utc::now(),
        None,
    )
    .await
    .unwrap();
    drop(printer);
    let names = rule.suppress.as_ref().unwrap().field_names();
    let mut groups: Vec<ExpectedGroup> = std::fs::read_to_string(path.path())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|alert| !alert["eshunt"]["suppressed"].is_null())
        .map(|alert| {
            let s = &alert["eshunt"]["suppressed"];
            ExpectedGroup {
                group: names
                    .iter()
                    .map(|n| s["group"][n].as_str().unwrap().to_string())
                    .collect(),
                count: s["count"].as_u64().unwrap() + 1,
            }
        })
        .collect();
    groups.sort();
    groups
}
