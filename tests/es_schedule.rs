//! Scheduled hunting and backfill against the test run's real cluster, with the clock under
//! the tests' control (each tick is given its `now`): contiguous windows, catch-up after
//! downtime, gaps, retries of incomplete windows, ingest delay, concurrent processes, leases,
//! backfill resume, and backfill ≡ live.

mod support;

use chrono::{DateTime, TimeDelta, Utc};
use eshunt::backfill::{BackfillSpec, Backfiller};
use eshunt::es::retry::RetryPolicy;
use eshunt::rule::Rule;
use eshunt::schedule::lease::{Holding, Leases};
use eshunt::schedule::runner::Runtime;
use eshunt::sink::dead_letter::DeadLetter;
use eshunt::sink::elasticsearch::BulkWriter;
use eshunt::state::records::RunRecord;
use eshunt::state::StateStore;
use eshunt::time::Window;
use eshunt::time::{self, Span};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use support::*;

const T0: &str = "2026-03-14T10:00:00Z";

fn retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 5,
        initial: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
    }
}

async fn env_with(schedule: &'static str) -> Env {
    let knobs = Knobs {
        page_size: 5,
        extra_schedule: schedule,
        ..Knobs::default()
    };
    Env::with_cluster(TestCluster::start(Flavor::Elasticsearch, "8.15.0"), knobs).await
}

async fn tick_all(
    rt: &Runtime,
    rules: &[Rule],
    now: DateTime<Utc>,
) -> Vec<eshunt::schedule::runner::TickReport> {
    let mut out = Vec::new();
    for rule in rules {
        out.push(rt.tick(rule, now, &|| true).await.unwrap());
    }
    out
}

/// Ticks every rule every five minutes (one second past), from `t0` to `last` minutes after it.
async fn tick_every_five_minutes(rt: &Runtime, rules: &[Rule], t0: DateTime<Utc>, last: i64) {
    for minutes in (0..=last).step_by(5) {
        tick_all(
            rt,
            rules,
            t0 + TimeDelta::minutes(minutes) + TimeDelta::seconds(1),
        )
        .await;
    }
}

async fn runs(store: &StateStore, rule: &str) -> Vec<RunRecord> {
    let mut runs: Vec<RunRecord> = store
        .search(&[("rule_id", rule)], "finished_at", 1000)
        .await
        .unwrap();
    runs.sort_by_key(|r| r.window_start);
    runs
}

fn ids(alerts: &std::collections::BTreeMap<String, Value>) -> BTreeSet<String> {
    alerts.keys().cloned().collect()
}

#[tokio::test]
async fn ticks_cover_time_contiguously_and_alert_exactly_once() {
    let env = env_with("").await;
    let t0 = t(T0);
    let docs = ecs_docs(
        "c-",
        t0,
        120,
        TimeDelta::seconds(30),
        TimeDelta::seconds(20),
    );
    env.load(&docs).await;
    let rules = env.rules();
    let rt = runtime(&env, "a", &env.target, retry()).await;
    tick_every_five_minutes(&rt, &rules, t0, 75).await;
    assert_eq!(ids(&env.alerts().await), all_ids(&expected(&rules, &docs)));
    for rule in &rules {
        let runs: Vec<RunRecord> = runs(&rt.store, &rule.meta.id)
            .await
            .into_iter()
            .filter(|r| r.status == "complete")
            .collect();
        assert_eq!(runs.len(), 16);
        for pair in runs.windows(2) {
            assert_eq!(
                pair[1].window_start,
                pair[0].window_end - TimeDelta::minutes(1),
                "one minute of overlap, no gap"
            );
        }
        let created: u64 = runs.iter().map(|r| r.alerts_created).sum();
        assert_eq!(
            created as usize,
            expected(&rules, &docs)[&rule.meta.id].len(),
            "each alert created once"
        );
        let checkpoint = env
            .state_doc(&format!("checkpoint:{}", rule.meta.id))
            .await
            .unwrap();
        assert_eq!(
            checkpoint["checkpoint"].as_str().map(t),
            Some(runs.last().unwrap().window_end)
        );
    }
}

/// A checkpoint write whose answer is lost is resent and meets a 409: the document then holds
/// exactly what was written, so the write is known to be ours and the tick goes on.
#[tokio::test]
async fn a_checkpoint_write_with_a_lost_answer_is_recognised_as_ours() {
    let env = env_with("").await;
    let rules = env.rules();
    let rt = runtime(&env, "a", &env.target, retry()).await;
    let t0 = t(T0);
    tick_all(&rt, &rules, t0).await;
    let lost = env.cluster.faults().add(
        Fault::on("PUT", "/_doc/checkpoint")
            .first(1)
            .then(Action::lose_answer()),
    );
    let now = t0 + TimeDelta::minutes(5);
    let report = rt.tick(&rules[0], now, &|| true).await.unwrap();
    assert_eq!(env.cluster.faults().applied(lost), 1);
    assert!(!report.interrupted, "the resent write is ours: {report:?}");
    assert_eq!(report.windows.len(), 1);
    let checkpoint = env
        .state_doc(&format!("checkpoint:{}", rules[0].meta.id))
        .await
        .unwrap();
    assert_eq!(checkpoint["checkpoint"].as_str().map(t), report.checkpoint);
}

#[tokio::test]
async fn catch_up_after_downtime_runs_every_missed_window() {
    let env = env_with("max_window = \"1h\"").await;
    let t0 = t(T0);
    let docs = ecs_docs("d-", t0, 100, TimeDelta::minutes(3), TimeDelta::seconds(40));
    env.load(&docs).await;
    let rules = env.rules();
    let rt = runtime(&env, "a", &env.target, retry()).await;
    tick_all(&rt, &rules, t0 + TimeDelta::seconds(1)).await;
    let reports = tick_all(
        &rt,
        &rules,
        t0 + TimeDelta::hours(5) + TimeDelta::seconds(1),
    )
    .await;
    assert!(
        reports
            .iter()
            .all(|r| r.windows.len() == 6 && r.gap.is_none()),
        "5h of downtime in windows of at most 1h"
    );
    assert_eq!(ids(&env.alerts().await), all_ids(&expected(&rules, &docs)));
}

#[tokio::test]
async fn downtime_beyond_the_catch_up_limit_is_recorded_as_a_gap() {
    let env = env_with("max_catch_up = \"1h\"").await;
    let t0 = t(T0);
    let docs = ecs_docs("g-", t0, 60, TimeDelta::minutes(3), TimeDelta::seconds(5));
    env.load(&docs).await;
    let rules = env.rules();
    let rt = runtime(&env, "a", &env.target, retry()).await;
    tick_all(&rt, &rules, t0 + TimeDelta::seconds(1)).await;
    let now = t0 + TimeDelta::hours(3) + TimeDelta::seconds(1);
    let reports = tick_all(&rt, &rules, now).await;
    let gap = reports[0].gap.expect("a gap");
    assert_eq!(
        gap,
        Window {
            start: t0,
            end: now - TimeDelta::seconds(1) - TimeDelta::hours(1)
        }
    );
    let doc = env
        .state_doc(&format!(
            "gap:{}:{}",
            rules[0].meta.id,
            t0.timestamp_millis()
        ))
        .await
        .unwrap();
    assert_eq!(doc["gap_end"].as_str().map(t), Some(gap.end));
    let after_gap: Vec<Value> = docs
        .iter()
        .filter(|d| {
            d["event"]["ingested"].as_str().map(t).unwrap() >= gap.end - TimeDelta::minutes(1)
        })
        .cloned()
        .collect();
    assert!(!after_gap.is_empty() && after_gap.len() < docs.len());
    assert_eq!(
        ids(&env.alerts().await),
        all_ids(&expected(&rules, &after_gap)),
        "the gap's events are not hunted (until backfilled)"
    );
    let status = env.eshunt("status").output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.status.code(), Some(3), "{text}");
    assert!(
        text.contains("fill it with: eshunt backfill --from 2026-03-14T10:00:00.000Z"),
        "{text}"
    );

    // Backfilling the gaps of every rule closes them.
    let gaps: Vec<Window> = reports.iter().filter_map(|r| r.gap).collect();
    let from = gaps.iter().map(|g| g.start).min().unwrap();
    let to = gaps.iter().map(|g| g.end).max().unwrap();
    let backfill = env
        .eshunt("backfill")
        .args(["--from", &time::format(from), "--to", &time::format(to)])
        .output()
        .unwrap();
    assert_eq!(
        backfill.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&backfill.stderr)
    );
    let status = env.eshunt("status").output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert_eq!(
        text.matches(") — filled by backfill ").count(),
        gaps.len(),
        "{text}"
    );
    assert!(!text.contains("fill it with"), "{text}");
    assert_eq!(status.status.code(), Some(0), "{text}");
}

#[tokio::test]
async fn failed_windows_are_retried_until_complete_and_the_checkpoint_waits() {
    let env = env_with("").await;
    let t0 = t(T0);
    let docs = ecs_docs("r-", t0, 30, TimeDelta::seconds(10), TimeDelta::seconds(5));
    env.load(&docs).await;
    let rules = env.rules();
    let rt = runtime(&env, "a", &env.target, retry()).await;
    env.cluster.faults().add(
        Fault::on("POST", "^/_search$")
            .first(2)
            .then(Action::shard_failure()),
    );
    let report = rt
        .tick(&rules[0], t0 + TimeDelta::minutes(6), &|| true)
        .await
        .unwrap();
    assert_eq!(report.windows.len(), 1);
    assert_eq!(report.windows[0].attempts, 3);
    let all = runs(&rt.store, &rules[0].meta.id).await;
    assert_eq!(all.iter().filter(|r| r.status == "failed").count(), 2);
    assert!(all
        .iter()
        .any(|r| r.status == "failed" && r.error.as_deref().unwrap_or("").contains("shard")));
    assert_eq!(
        ids(&env.alerts().await),
        expected(&rules, &docs)[&rules[0].meta.id]
    );
    let status = env.eshunt("status").output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("failures    2 in the recent runs, 0 not yet retried to completion"),
        "{text}"
    );
    assert_eq!(
        status.status.code(),
        Some(0),
        "retried failures are resolved: {text}"
    );
}

#[tokio::test]
async fn late_documents_are_caught_by_the_window_of_their_ingest_time() {
    let env = env_with("").await;
    let t0 = t(T0);
    let late = TimeDelta::minutes(12);
    let docs = ecs_docs(
        "l-",
        t0 + TimeDelta::minutes(1),
        7,
        TimeDelta::seconds(5),
        late,
    );
    env.load(&docs).await;
    let rules = env.rules();
    let rt = runtime(&env, "a", &env.target, retry()).await;
    for minutes in [0, 5, 10, 15, 20] {
        tick_all(
            &rt,
            &rules,
            t0 + TimeDelta::minutes(minutes) + TimeDelta::seconds(1),
        )
        .await;
    }
    assert_eq!(ids(&env.alerts().await), all_ids(&expected(&rules, &docs)));
    let runs = runs(&rt.store, ELASTIC).await;
    let caught = runs.iter().find(|r| r.hits > 0).unwrap();
    assert!(
        caught.window_start > t0 + TimeDelta::minutes(5),
        "events of 10:01 are found in the window of their ingest time"
    );
    assert_eq!(caught.lateness_max_ms, late.num_milliseconds());
}

#[tokio::test]
async fn two_processes_ticking_at_once_never_duplicate_and_never_move_a_checkpoint_back() {
    let env = env_with("").await;
    let t0 = t(T0);
    let docs = ecs_docs("p-", t0, 80, TimeDelta::seconds(20), TimeDelta::seconds(5));
    env.load(&docs).await;
    let rules = env.rules();
    let (a, b) = (
        runtime(&env, "a", &env.target, retry()).await,
        runtime(&env, "b", &env.target, retry()).await,
    );
    for minutes in (0..=35).step_by(5) {
        let now = t0 + TimeDelta::minutes(minutes) + TimeDelta::seconds(1);
        let (ra, rb) = tokio::join!(tick_all(&a, &rules, now), tick_all(&b, &rules, now));
        for (x, y) in ra.iter().zip(&rb) {
            assert!(x.checkpoint.is_some() || y.checkpoint.is_some());
        }
    }
    assert_eq!(ids(&env.alerts().await), all_ids(&expected(&rules, &docs)));
    for rule in &rules {
        let checkpoint = env
            .state_doc(&format!("checkpoint:{}", rule.meta.id))
            .await
            .unwrap();
        assert_eq!(
            checkpoint["checkpoint"].as_str().map(t),
            Some(t0 + TimeDelta::minutes(35))
        );
    }
}

#[tokio::test]
async fn leases_are_exclusive_expire_and_are_taken_over() {
    let env = env_with("").await;
    let cluster = env.connect().await;
    let store = StateStore::new(cluster, &env.state);
    store.install().await.unwrap();
    let ttl = TimeDelta::seconds(30);
    let (a, b) = (
        Leases::new(store.clone(), "a", ttl),
        Leases::new(store, "b", ttl),
    );
    let now = t(T0);
    let Holding::Held { version: va, .. } = a.hold("r", None, now).await.unwrap() else {
        panic!("a takes the free lease")
    };
    assert!(
        matches!(b.hold("r", None, now + TimeDelta::seconds(10)).await.unwrap(), Holding::Elsewhere { instance, .. } if instance == "a")
    );
    let Holding::Held { version: va2, .. } = a
        .hold("r", Some(va), now + TimeDelta::seconds(20))
        .await
        .unwrap()
    else {
        panic!("a renews")
    };
    assert!(
        matches!(
            b.hold("r", None, now + TimeDelta::seconds(45))
                .await
                .unwrap(),
            Holding::Elsewhere { .. }
        ),
        "renewed: not expired"
    );
    let Holding::Held { .. } = b
        .hold("r", None, now + TimeDelta::seconds(51))
        .await
        .unwrap()
    else {
        panic!("b takes the expired lease")
    };
    assert!(
        matches!(a.hold("r", Some(va2), now + TimeDelta::seconds(52)).await.unwrap(), Holding::Elsewhere { instance, .. } if instance == "b"),
        "a has lost it"
    );
}

#[tokio::test]
async fn backfill_produces_exactly_what_live_runs_produce_and_resumes() {
    let env = env_with("").await;
    let t0 = t(T0);
    let docs = ecs_docs("b-", t0, 90, TimeDelta::minutes(1), TimeDelta::seconds(50));
    env.load(&docs).await;
    let rules = env.rules();
    let live = runtime(&env, "live", &env.target, retry()).await;
    tick_every_five_minutes(&live, &rules, t0, 100).await;
    let live_ids = ids(&env.alerts().await);
    assert_eq!(live_ids, all_ids(&expected(&rules, &docs)));

    let backfill_target = env.cluster.name("alerts-backfill");
    let cluster = env.connect().await;
    let backfiller = Backfiller {
        cluster: cluster.clone(),
        store: StateStore::new(cluster.clone(), &env.state),
        writer: Arc::new(BulkWriter::new(
            cluster.clone(),
            &backfill_target,
            4,
            retry(),
            DeadLetter::new(&env.dir.path().join("d")),
        )),
        pages: live.pages,
        retry: RetryPolicy {
            max_retries: 0,
            ..retry()
        },
    };
    let spec = BackfillSpec {
        rules: rules.iter().cloned().map(Arc::new).collect(),
        range: Window {
            start: t0 - TimeDelta::hours(1),
            end: t0 + TimeDelta::hours(3),
        },
        chunk: Span::parse("30m").unwrap(),
        concurrency: 3,
    };
    // One chunk fails for good (a 400 on its searches): the others complete.
    let chunk_start = format!(
        "\"gte\":\"{}\"",
        eshunt::time::format(t0 + TimeDelta::minutes(30))
    );
    env.cluster.faults().add(
        Fault::on("POST", "^/_search$")
            .body_contains(&chunk_start)
            .then(Action::error(
                400,
                "search_phase_execution_exception",
                "injected",
            )),
    );
    let first = backfiller.run(&spec).await.unwrap();
    // Eight 30-minute chunks per shipped rule.
    let n = rules.len() as u64;
    assert_eq!(first.total, 8 * n);
    assert_eq!(
        first.failed.len(),
        rules.len(),
        "the chunk fails for every rule: {:?}",
        first.failed
    );
    env.cluster.faults().clear();
    let second = backfiller.run(&spec).await.unwrap();
    assert_eq!(
        (second.resumed, second.done),
        (7 * n, n),
        "the rerun only redoes the failed chunks"
    );
    assert!(second.failed.is_empty());
    let backfilled: BTreeSet<String> = env.alert_hits(&backfill_target).await.into_keys().collect();
    assert_eq!(backfilled, live_ids, "backfill ≡ live");

    // Backfilling into the live target adds nothing.
    let into_live = Backfiller {
        writer: Arc::new(BulkWriter::new(
            cluster,
            &env.target,
            4,
            retry(),
            DeadLetter::new(&env.dir.path().join("d")),
        )),
        ..backfiller
    };
    let again = into_live
        .run(&BackfillSpec {
            chunk: Span::parse("1h").unwrap(),
            ..spec
        })
        .await
        .unwrap();
    assert_eq!(again.alerts_created, 0);
    assert_eq!(again.alerts_existing as usize, live_ids.len());
    // `status` reports the alerts a backfill found already written beside those it created.
    let status = env.eshunt("status").arg("--json").output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let counts: Vec<(u64, u64)> = report["backfills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let count = |key: &str| b[key].as_u64().unwrap();
            (count("alerts_created"), count("alerts_existing"))
        })
        .collect();
    assert!(
        counts.contains(&(0, live_ids.len() as u64)),
        "the backfill into the live target: {counts:?}"
    );
}
