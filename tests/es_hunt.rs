//! Hunting in a cluster end to end (ECS documents in, alerts out, exactly once, through
//! faults), against the test run's real cluster behind the fault-injecting proxy; tests of one
//! flavour that no engine here runs use the emulator.

mod support;

use chrono::TimeDelta;
use eshunt::es::retry::RetryPolicy;
use eshunt::hunt::cluster::{hunt_window, hunt_window_with_retries};
use eshunt::sink::dead_letter::DeadLetter;
use eshunt::sink::elasticsearch::BulkWriter;
use eshunt::sink::ndjson::Printer;
use eshunt::sink::Delivery;
use eshunt::source::elasticsearch::PageSettings;
use eshunt::time::Window;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;
use support::*;

const START: &str = "2026-03-14T10:00:00Z";

fn retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 5,
        initial: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    }
}

fn pages(size: usize) -> PageSettings {
    PageSettings {
        size,
        keep_alive: eshunt::time::Span::parse("1m").unwrap(),
        timeout: eshunt::time::Span::parse("30s").unwrap(),
    }
}

fn day() -> Window {
    Window {
        start: t("2026-03-14T00:00:00Z"),
        end: t("2026-03-15T00:00:00Z"),
    }
}

/// A test environment holding `count` generated documents (ids `{prefix}…`, from [`START`],
/// 30 s apart, ingested `late` seconds after their time), and its rules.
async fn loaded(
    env: Env,
    prefix: &str,
    count: usize,
    late: i64,
) -> (Env, Vec<Value>, Vec<eshunt::rule::Rule>) {
    let docs = ecs_docs(
        prefix,
        t(START),
        count,
        TimeDelta::seconds(30),
        TimeDelta::seconds(late),
    );
    env.load(&docs).await;
    let rules = env.rules();
    (env, docs, rules)
}

/// The rule with this id.
fn rule<'r>(rules: &'r [eshunt::rule::Rule], id: &str) -> &'r eshunt::rule::Rule {
    rules.iter().find(|r| r.meta.id == id).unwrap()
}

/// One pass of `rule` over [`day`], in pages of `page`, now.
async fn hunt_day(
    cluster: &eshunt::es::Cluster,
    rule: &eshunt::rule::Rule,
    page: usize,
    delivery: &Delivery<'_>,
) -> Result<eshunt::hunt::cluster::WindowReport, eshunt::source::elasticsearch::WindowError> {
    hunt_window(
        cluster,
        rule,
        day(),
        pages(page),
        delivery,
        chrono::Utc::now(),
        None,
    )
    .await
}

/// Starts an emulator from `server`, and runs `eshunt setup` against it: the runtime, the
/// environment, the command's output and its stdout.
fn setup_on(
    server: eshunt_testserver::TestServerBuilder,
) -> (tokio::runtime::Runtime, Env, std::process::Output, String) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cluster = TestCluster::with_server(server.start().unwrap());
    let env = rt.block_on(Env::with_cluster(cluster, Knobs::default()));
    let out = env.eshunt("setup").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (rt, env, out, stdout)
}

/// A day's hunt of the Elastic rule and how many alerts it should give.
struct DayHunt {
    window: eshunt::hunt::cluster::WindowReport,
    alerts_expected: u64,
}

/// Runs `eshunt setup` against an emulator built by `server` (it must succeed), loads a few
/// documents, and hunts a day with the Elastic rule: the environment, setup's stdout, the hunt.
fn setup_then_hunt(server: eshunt_testserver::TestServerBuilder) -> (Env, String, DayHunt) {
    let (rt, env, out, stdout) = setup_on(server);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let docs = ecs_docs(
        "sh-",
        t(START),
        6,
        TimeDelta::seconds(30),
        TimeDelta::seconds(10),
    );
    rt.block_on(env.load(&docs));
    let rules = env.rules();
    let window = rt.block_on(async {
        let writer = writer(&env).await;
        let delivery = Delivery::Bulk(&writer);
        hunt_day(&env.connect().await, rule(&rules, ELASTIC), 4, &delivery)
            .await
            .unwrap()
    });
    let alerts_expected = expected(&rules, &docs)[ELASTIC].len() as u64;
    (
        env,
        stdout,
        DayHunt {
            window,
            alerts_expected,
        },
    )
}

async fn writer(env: &Env) -> BulkWriter {
    BulkWriter::new(
        env.connect().await,
        &env.target,
        4,
        retry(),
        DeadLetter::new(&env.dir.path().join("dead-letter.ndjson")),
    )
}

async fn exactly_once_through_faults(flavor: Flavor, version: &str) {
    let (env, docs, rules) = loaded(Env::of_flavor(flavor, version).await, "evt-", 40, 90).await;
    let expected = expected(&rules, &docs);
    assert!(expected[PANTHER].len() >= 6 && expected[ELASTIC].len() > expected[PANTHER].len());

    let faults = env.cluster.faults();
    faults.add(
        Fault::on("POST", "^/_search$")
            .first(2)
            .then(Action::too_many_requests()),
    );
    faults.add(
        Fault::on("POST", "^/_search$")
            .nth(4)
            .then(Action::shard_failure()),
    );
    faults.add(
        Fault::on("POST", "^/_search$")
            .nth(7)
            .then(Action::drop_connection()),
    );
    faults.add(
        Fault::on("POST", "^/_bulk$")
            .nth(1)
            .then(Action::unavailable()),
    );
    faults.add(
        Fault::on("POST", "^/_bulk$")
            .nth(3)
            .then(Action::fail_items(vec![ItemFault::position(0, 429)])),
    );

    let cluster = env.connect().await;
    let writer = writer(&env).await;
    for rule in &rules {
        let report = hunt_window_with_retries(
            &cluster,
            rule,
            day(),
            pages(3),
            &Delivery::Bulk(&writer),
            retry(),
        )
        .await
        .unwrap();
        assert_eq!(
            report.matched as usize,
            expected[&rule.meta.id].len(),
            "{}",
            rule.meta.id
        );
        // Alerts written by an attempt that failed later are found existing by the retry.
        assert_eq!(
            report.written.created + report.written.existing,
            report.matched
        );
        assert!(report.attempts > 1 || rule.meta.id != rules[0].meta.id);
    }
    let alerts = env.alerts().await;
    let ids: BTreeSet<String> = alerts.keys().cloned().collect();
    assert_eq!(
        ids,
        all_ids(&expected),
        "exactly the expected alerts, each once"
    );

    // Running again adds nothing: every alert is found existing.
    faults.clear();
    for rule in &rules {
        let again = hunt_day(&cluster, rule, 3, &Delivery::Bulk(&writer))
            .await
            .unwrap();
        assert_eq!(again.written.created, 0);
        assert_eq!(
            again.written.existing as usize,
            expected[&rule.meta.id].len()
        );
    }
    assert_eq!(env.alerts().await.len(), ids.len());

    // Every point in time was closed; no page used a stale point-in-time id.
    let searches = env.cluster.requests().matching("POST", "^/_search$");
    assert!(searches
        .iter()
        .filter(|r| !r.faulted)
        .all(|r| r.status == 200));
    let (open, close) = match flavor {
        Flavor::Elasticsearch => ("/_pit$", "^/_pit$"),
        Flavor::OpenSearch => ("/_search/point_in_time$", "^/_search/point_in_time$"),
    };
    let opened = env.cluster.requests().matching("POST", open).len();
    let closed = env.cluster.requests().matching("DELETE", close).len();
    assert!(opened > 0);
    assert_eq!(
        opened, closed,
        "every point in time is closed, also after failures"
    );
}

#[tokio::test]
async fn elasticsearch_8_exactly_once_through_faults() {
    exactly_once_through_faults(Flavor::Elasticsearch, "8.15.0").await;
}

#[tokio::test]
async fn elasticsearch_9_exactly_once_through_faults() {
    exactly_once_through_faults(Flavor::Elasticsearch, "9.1.0").await;
}

#[tokio::test]
async fn opensearch_2_exactly_once_through_faults() {
    exactly_once_through_faults(Flavor::OpenSearch, "2.11.0").await;
}

#[tokio::test]
async fn opensearch_1_pages_with_scroll() {
    let (env, docs, rules) = loaded(
        Env::of_flavor(Flavor::OpenSearch, "1.3.0").await,
        "s-",
        20,
        10,
    )
    .await;
    if env.cluster.server().is_proxy() {
        return; // a real cluster is not OpenSearch 1.x
    }
    let cluster = env.connect().await;
    let writer = writer(&env).await;
    for rule in &rules {
        hunt_day(&cluster, rule, 2, &Delivery::Bulk(&writer))
            .await
            .unwrap();
    }
    let ids: BTreeSet<String> = env.alerts().await.keys().cloned().collect();
    assert_eq!(ids, all_ids(&expected(&rules, &docs)));
    assert!(!env
        .cluster
        .requests()
        .matching("POST", "^/_search/scroll$")
        .is_empty());
    assert!(!env
        .cluster
        .requests()
        .matching("DELETE", "^/_search/scroll$")
        .is_empty());
}

/// A point in time opened without some shards would page through part of the data: the window
/// is incomplete, the point in time is released, and the retry opens a whole one. OpenSearch is
/// asked not to create a partial one at all.
async fn partial_point_in_time_is_not_used(flavor: Flavor, version: &str, open: &str) {
    let (env, docs, rules) = loaded(Env::of_flavor(flavor, version).await, "pp-", 10, 10).await;
    let rule = rule(&rules, ELASTIC);
    let faults = env.cluster.faults();
    faults.add(
        Fault::on("POST", open)
            .first(1)
            .then(Action::shard_failure()),
    );
    let cluster = env.connect().await;
    let writer = writer(&env).await;
    let first = hunt_day(&cluster, rule, 4, &Delivery::Bulk(&writer)).await;
    let err = first.expect_err("a partial point in time makes the window incomplete");
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("failed shard"), "{err}");
    let requests = env.cluster.requests();
    assert!(requests.matching("POST", "^/_search$").is_empty());
    assert_eq!(requests.matching("DELETE", "point_in_time|_pit").len(), 1);
    if flavor == Flavor::OpenSearch {
        let opened = requests.matching("POST", open);
        assert_eq!(
            opened[0].param("allow_partial_pit_creation").as_deref(),
            Some("false")
        );
    }
    let report = hunt_window_with_retries(
        &cluster,
        rule,
        day(),
        pages(4),
        &Delivery::Bulk(&writer),
        retry(),
    )
    .await
    .unwrap();
    assert_eq!(
        report.written.created,
        expected(&rules, &docs)[ELASTIC].len() as u64
    );
}

#[tokio::test]
async fn elasticsearch_partial_point_in_time_is_not_used() {
    partial_point_in_time_is_not_used(Flavor::Elasticsearch, "8.15.0", "/_pit$").await;
}

#[tokio::test]
async fn opensearch_partial_point_in_time_is_not_used() {
    partial_point_in_time_is_not_used(Flavor::OpenSearch, "2.11.0", "/_search/point_in_time$")
        .await;
}

/// A page whose hits all lack `_source` (`_source.enabled: false`) is counted as skipped and
/// does not end the window: the pages after it are still read.
#[tokio::test]
async fn a_page_without_source_does_not_end_the_window() {
    let (env, docs, rules) = loaded(
        Env::start(Flavor::Elasticsearch, "8.15.0").await,
        "ns-",
        20,
        10,
    )
    .await;
    let rule = rule(&rules, ELASTIC);
    let expected = expected(&rules, &docs);
    let faults = env.cluster.faults();
    let stripped = faults.add(
        Fault::on("POST", "^/_search$")
            .first(1)
            .then(Action::without_source()),
    );
    let cluster = env.connect().await;
    let writer = writer(&env).await;
    let report = hunt_day(&cluster, rule, 2, &Delivery::Bulk(&writer))
        .await
        .unwrap();
    assert_eq!(faults.applied(stripped), 1);
    assert_eq!(report.skipped, 2, "the stripped page's hits are skipped");
    assert_eq!(report.hits + 2, expected[ELASTIC].len() as u64);
    assert_eq!(
        env.alerts().await.len(),
        expected[ELASTIC].len() - 2,
        "every hit after the stripped page is alerted on"
    );
}

/// A scroll continuation whose answer is lost has moved the cursor anyway: it is not resent
/// (that would skip a page) — the window starts over with a new scroll and loses nothing.
#[tokio::test]
async fn a_lost_scroll_answer_restarts_the_window() {
    let (env, docs, rules) = loaded(
        Env::of_flavor(Flavor::OpenSearch, "1.3.0").await,
        "ls-",
        20,
        10,
    )
    .await;
    if env.cluster.server().is_proxy() {
        return; // a real cluster is not OpenSearch 1.x
    }
    let rule = rule(&rules, ELASTIC);
    let lost = env.cluster.faults().add(
        Fault::on("POST", "^/_search/scroll$")
            .nth(2)
            .then(Action::lose_answer()),
    );
    let cluster = env.connect().await;
    let writer = writer(&env).await;
    let report = hunt_window_with_retries(
        &cluster,
        rule,
        day(),
        pages(2),
        &Delivery::Bulk(&writer),
        retry(),
    )
    .await
    .unwrap();
    assert_eq!(env.cluster.faults().applied(lost), 1);
    assert_eq!(report.attempts, 2, "the window started over");
    let ids: BTreeSet<String> = env.alerts().await.keys().cloned().collect();
    let expected = expected(&rules, &docs);
    assert_eq!(ids, expected[ELASTIC], "no page was skipped");
}

#[tokio::test]
async fn windows_are_on_event_ingested_with_timestamp_fallback() {
    let env = Env::start(Flavor::Elasticsearch, "8.15.0").await;
    let window = Window {
        start: t("2026-03-14T10:00:00Z"),
        end: t("2026-03-14T10:10:00Z"),
    };
    let mk = |id: &str, at: &str, ingested: Option<&str>| {
        let raw = raw_event(id, "publish", t(at));
        let options = eshunt::event::to_ecs::ToEcsOptions {
            ingested: ingested.map(t),
            ..Default::default()
        };
        eshunt::event::to_ecs::to_ecs(&raw, &options)
    };
    let docs = vec![
        mk(
            "late-but-ingested-inside",
            "2026-03-14T09:40:00Z",
            Some("2026-03-14T10:05:00Z"),
        ),
        mk(
            "inside-but-ingested-after",
            "2026-03-14T10:05:00Z",
            Some("2026-03-14T10:12:00Z"),
        ),
        mk("no-ingested-inside", "2026-03-14T10:01:00Z", None),
        mk("no-ingested-outside", "2026-03-14T09:59:59Z", None),
        mk(
            "ingested-at-end-is-excluded",
            "2026-03-14T10:09:00Z",
            Some("2026-03-14T10:10:00Z"),
        ),
        mk(
            "ingested-at-start-is-included",
            "2026-03-14T09:59:00Z",
            Some("2026-03-14T10:00:00Z"),
        ),
    ];
    env.load(&docs).await;
    let elastic = env
        .rules()
        .into_iter()
        .find(|r| r.meta.id == ELASTIC)
        .unwrap();
    let out = Mutex::new(Printer::new(Box::new(std::io::sink())));
    let report = hunt_window(
        &env.connect().await,
        &elastic,
        window,
        pages(10),
        &Delivery::Print(&out),
        chrono::Utc::now(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(report.hits, 3, "{report:?}");
    assert_eq!(
        report.lateness.max_ms,
        25 * 60 * 1000,
        "lateness of the late document"
    );
}

/// A dry run redone after a failed page prints each alert once, like a write finds it existing.
#[tokio::test]
async fn a_redone_dry_run_prints_each_alert_once() {
    let (env, docs, rules) = loaded(
        Env::start(Flavor::Elasticsearch, "8.15.0").await,
        "dr-",
        12,
        10,
    )
    .await;
    let elastic = rule(&rules, ELASTIC);
    // Matches wait for more before they are printed, for at most 5 s: a slow second page
    // makes the first attempt print some alerts before its third page fails.
    env.cluster.faults().add(
        Fault::on("POST", "^/_search$")
            .nth(2)
            .then(Action::delay(std::time::Duration::from_secs(6))),
    );
    env.cluster.faults().add(
        Fault::on("POST", "^/_search$")
            .nth(3)
            .then(Action::shard_failure()),
    );
    let path = env.dir.path().join("dry-run.ndjson");
    let file = std::fs::File::create(&path).unwrap();
    let out = Mutex::new(Printer::new(Box::new(file)));
    let report = hunt_window_with_retries(
        &env.connect().await,
        elastic,
        day(),
        pages(2),
        &Delivery::Print(&out),
        retry(),
    )
    .await
    .unwrap();
    assert_eq!(report.attempts, 2);
    assert!(report.written.existing > 0, "the redo met printed alerts");
    let printed: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["eshunt"]["alert_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let unique: BTreeSet<String> = printed.iter().cloned().collect();
    assert_eq!(printed.len(), unique.len(), "no alert printed twice");
    assert_eq!(unique, expected(&rules, &docs)[ELASTIC]);
}

#[tokio::test]
async fn a_window_beyond_ten_thousand_hits_is_paged_to_its_end() {
    let env = Env::start(Flavor::Elasticsearch, "8.15.0").await;
    let start = t(START);
    let docs: Vec<Value> = (0..12_345)
        .map(|i| {
            let raw = raw_event(
                &format!("big-{i}"),
                "publish",
                start + TimeDelta::milliseconds(i * 10),
            );
            eshunt::event::to_ecs::to_ecs(
                &raw,
                &eshunt::event::to_ecs::ToEcsOptions {
                    ingested: Some(start),
                    ..Default::default()
                },
            )
        })
        .collect();
    env.load(&docs).await;
    let elastic = env
        .rules()
        .into_iter()
        .find(|r| r.meta.id == ELASTIC)
        .unwrap();
    let out = Mutex::new(Printer::new(Box::new(std::io::sink())));
    let report = hunt_day(&env.connect().await, &elastic, 1000, &Delivery::Print(&out))
        .await
        .unwrap();
    assert_eq!(report.hits, 12_345);
    assert_eq!(report.matched, 12_345);
    assert_eq!(report.pages, 13);
    // Shards are those of the search, not summed over its 13 pages.
    assert!(report.shards.total >= 1 && report.shards.total < report.pages);
    assert_eq!(report.shards.successful, report.shards.total);
    // The matches of 13 pages are fetched again in batches of 500, not page by page.
    let fetches = env.cluster.requests().matching("POST", "^/_mget$").len();
    assert_eq!(fetches, 12_345usize.div_ceil(500));
    let searches = env.cluster.requests().matching("POST", "^/_search$");
    assert!(
        searches
            .iter()
            .all(|r| r.json().is_none_or(|b| b.get("from").is_none())),
        "paging is search_after, never from"
    );
}

#[tokio::test]
async fn alerts_are_gathered_across_pages_into_bulk_batches() {
    let (env, docs, rules) = loaded(
        Env::start(Flavor::OpenSearch, "2.19.0").await,
        "batch-",
        40,
        90,
    )
    .await;
    let expected = expected(&rules, &docs);
    let writer = BulkWriter::new(
        env.connect().await,
        &env.target,
        500,
        retry(),
        DeadLetter::new(&env.dir.path().join("dead-letter.ndjson")),
    );
    let elastic = rule(&rules, ELASTIC);
    let count = |path: &str| env.cluster.requests().matching("POST", path).len();
    let (mgets, bulks) = (count("^/_mget$"), count("^/_bulk$"));
    let report = hunt_day(&env.connect().await, elastic, 3, &Delivery::Bulk(&writer))
        .await
        .unwrap();
    assert!(report.pages > 3 && report.matched > 3, "{report:?}");
    assert_eq!(report.written.created as usize, expected[ELASTIC].len());
    assert_eq!(
        count("^/_mget$") - mgets,
        1,
        "one fetch for every page's matches"
    );
    assert_eq!(
        count("^/_bulk$") - bulks,
        1,
        "one bulk request for every page's alerts"
    );
}

#[tokio::test]
async fn incomplete_pages_make_the_window_fail_until_it_succeeds() {
    let (env, docs, rules) = loaded(
        Env::start(Flavor::Elasticsearch, "8.15.0").await,
        "i-",
        14,
        5,
    )
    .await;
    let elastic = rule(&rules, ELASTIC);
    let cluster = env.connect().await;
    let writer = writer(&env).await;
    for (i, action) in [
        Action::shard_failure(),
        Action::timed_out(),
        Action::expire_context(),
    ]
    .into_iter()
    .enumerate()
    {
        env.cluster.faults().clear();
        env.cluster
            .faults()
            .add(Fault::on("POST", "^/_search$").nth(2).then(action));
        let once = hunt_day(&cluster, elastic, 2, &Delivery::Bulk(&writer)).await;
        assert!(
            once.is_err(),
            "fault {i}: a partial page must not complete the window"
        );
        env.cluster.faults().clear();
        env.cluster.faults().add(
            Fault::on("POST", "^/_search$")
                .nth(2)
                .then(Action::shard_failure()),
        );
        let retried = hunt_window_with_retries(
            &cluster,
            elastic,
            day(),
            pages(2),
            &Delivery::Bulk(&writer),
            retry(),
        )
        .await
        .unwrap();
        assert_eq!(retried.attempts, 2);
    }
    // A request the cluster refuses as wrong is not retried: another try cannot mend it.
    env.cluster.faults().clear();
    let refused = env
        .cluster
        .faults()
        .add(Fault::on("POST", "^/_search$").first(3).then(Action::error(
            400,
            "search_phase_execution_exception",
            "all shards failed",
        )));
    let failed = hunt_window_with_retries(
        &cluster,
        elastic,
        day(),
        pages(2),
        &Delivery::Bulk(&writer),
        retry(),
    )
    .await;
    assert!(failed.is_err_and(|e| !e.is_retryable()));
    assert_eq!(env.cluster.faults().applied(refused), 1);
    env.cluster.faults().clear();
    let ids: BTreeSet<String> = env.alerts().await.keys().cloned().collect();
    assert_eq!(ids, expected(&rules, &docs)[ELASTIC]);
}

#[tokio::test]
async fn refused_alerts_go_to_the_dead_letter_file() {
    let (env, docs, rules) = loaded(
        Env::start(Flavor::Elasticsearch, "8.15.0").await,
        "d-",
        7,
        5,
    )
    .await;
    let elastic = rule(&rules, ELASTIC);
    env.cluster.faults().add(
        Fault::on("POST", "^/_bulk$")
            .nth(1)
            .then(Action::fail_items(vec![ItemFault::position(1, 400)])),
    );
    let writer = writer(&env).await;
    let report = hunt_day(&env.connect().await, elastic, 50, &Delivery::Bulk(&writer))
        .await
        .unwrap();
    assert_eq!(report.written.dead_lettered, 1);
    assert_eq!(report.written.created + 1, report.matched);
    let dead = std::fs::read_to_string(env.dir.path().join("dead-letter.ndjson")).unwrap();
    let line: Value = serde_json::from_str(dead.lines().next().unwrap()).unwrap();
    assert_eq!(line["status"], 400);
    assert_eq!(line["alert"]["eshunt"]["alert_id"], line["alert_id"]);
    let in_cluster = env.alerts().await;
    assert!(!in_cluster.contains_key(line["alert_id"].as_str().unwrap()));
    assert_eq!(
        in_cluster.len() + 1,
        expected(&rules, &docs)[ELASTIC].len(),
        "no alert is lost"
    );
}

/// Without read on the alert target the check for alerts already written cannot run: alerts
/// are still written (create alone guards against duplicates), not refused.
#[tokio::test]
async fn alerts_are_written_without_read_on_the_target() {
    let server = TestServer::builder(Flavor::Elasticsearch, "8.15.0")
        .emulator_only()
        .security(eshunt_testserver::SecurityConfig::open().deny("*alerts", "read"))
        .start()
        .unwrap();
    let env = Env::with_cluster(TestCluster::with_server(server), Knobs::default()).await;
    let docs = ecs_docs(
        "nr-",
        t(START),
        6,
        TimeDelta::seconds(30),
        TimeDelta::seconds(10),
    );
    env.load(&docs).await;
    let rules = env.rules();
    let writer = writer(&env).await;
    let cluster = env.connect().await;
    let delivery = Delivery::Bulk(&writer);
    let first = hunt_day(&cluster, rule(&rules, ELASTIC), 50, &delivery)
        .await
        .unwrap();
    let expected = expected(&rules, &docs)[ELASTIC].len() as u64;
    assert_eq!(first.written.created, expected);
    let again = hunt_day(&cluster, rule(&rules, ELASTIC), 50, &delivery)
        .await
        .unwrap();
    assert_eq!(
        again.written.existing, expected,
        "409s still count as existing"
    );
}

/// An item refused for missing rights says every alert would be refused: the write fails (the
/// window is not done) instead of filling the dead-letter file; once fixed, the window is redone.
#[tokio::test]
async fn alerts_refused_for_rights_fail_the_window() {
    let (env, docs, rules) = loaded(
        Env::start(Flavor::Elasticsearch, "8.15.0").await,
        "r-",
        7,
        5,
    )
    .await;
    let elastic = rule(&rules, ELASTIC);
    env.cluster.faults().add(
        Fault::on("POST", "^/_bulk$")
            .nth(1)
            .then(Action::fail_items(vec![ItemFault::position(0, 403)])),
    );
    let writer = writer(&env).await;
    let delivery = Delivery::Bulk(&writer);
    let cluster = env.connect().await;
    let hunt = || hunt_day(&cluster, elastic, 50, &delivery);
    let err = hunt().await.expect_err("a 403 item fails the window");
    assert!(err.to_string().contains("security_exception"), "{err}");
    assert!(!env.dir.path().join("dead-letter.ndjson").exists());
    let report = hunt().await.unwrap();
    assert_eq!(report.written.dead_lettered, 0);
    let ids: BTreeSet<String> = env.alerts().await.keys().cloned().collect();
    assert_eq!(ids, expected(&rules, &docs)[ELASTIC], "no alert is lost");
}

#[test]
fn cli_setup_hunt_explain_and_dry_run() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = rt.block_on(Env::start(Flavor::Elasticsearch, "8.15.0"));
    let docs = ecs_docs(
        "c-",
        t(START),
        21,
        TimeDelta::seconds(30),
        TimeDelta::seconds(5),
    );
    rt.block_on(env.load(&docs));
    let rules = env.rules();
    let expected = expected(&rules, &docs);

    for _ in 0..2 {
        let out = env.eshunt("setup").output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The emulator grants everything; the real engine here has no security plugin.
        assert!(
            stdout.contains("privileges: all granted")
                || stdout.contains("privileges: the cluster has no security enabled"),
            "{stdout}"
        );
        assert!(stdout.contains("state index"), "{stdout}");
    }

    let dry = env
        .eshunt("hunt")
        .args(["--from", "2026-03-14", "--to", "2026-03-15", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(
        dry.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let printed: BTreeSet<String> = String::from_utf8_lossy(&dry.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["eshunt"]["alert_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(printed, all_ids(&expected));
    assert!(
        rt.block_on(env.alerts()).is_empty(),
        "a dry run writes nothing"
    );
    let summary = String::from_utf8_lossy(&dry.stderr);
    assert!(
        summary.contains("printed (dry run: nothing written)"),
        "{summary}"
    );
    assert!(!summary.contains(" written, "), "{summary}");

    let hunt = env
        .eshunt("hunt")
        .args(["--from", "2026-03-14", "--to", "2026-03-15"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&hunt.stderr);
    assert_eq!(hunt.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} matched; alerts {} written, 0 already present",
            expected[PANTHER].len(),
            expected[PANTHER].len()
        )),
        "{stderr}"
    );
    let alerts = rt.block_on(env.alerts());
    assert_eq!(
        alerts.keys().cloned().collect::<BTreeSet<_>>(),
        all_ids(&expected)
    );
    let alert = alerts.values().next().unwrap();
    assert_eq!(alert["event"]["kind"], "alert");
    assert!(alert["eshunt"]["source"]["index"]
        .as_str()
        .unwrap()
        .starts_with(".ds-"));

    let again = env
        .eshunt("hunt")
        .args(["--from", "2026-03-14", "--to", "2026-03-15"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stderr).contains("alerts 0 written"));

    let source = alerts
        .values()
        .find(|a| a["rule"]["id"] == PANTHER)
        .unwrap();
    let explain = env
        .eshunt("explain")
        .args([
            "--rule",
            PANTHER,
            "--index",
            &env.source,
            "--id",
            source["eshunt"]["source"]["id"].as_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&explain.stdout);
    assert_eq!(
        explain.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&explain.stderr)
    );
    assert!(
        text.contains("prefilter matches the document (the cluster):      yes"),
        "{text}"
    );
    assert!(text.contains("verdict: ALERT"), "{text}");

    // A document of another event the prefilter rejects: the cluster says no.
    let other = json!({"size": 1, "query": {"bool": {"must_not":
        {"term": {"event.action": "UpdateFunctionConfiguration20150331v2"}}}}});
    let (_, found) = rt
        .block_on(
            env.cluster
                .request("POST", &format!("/{}/_search", env.source), Some(&other)),
        )
        .unwrap();
    let id = found["hits"]["hits"][0]["_id"].as_str().unwrap();
    let explain = env
        .eshunt("explain")
        .args(["--rule", PANTHER, "--index", &env.source, "--id", id])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(
        text.contains("prefilter matches the document (the cluster):      no"),
        "{text}"
    );
    assert!(text.contains("verdict: no alert"), "{text}");
}

/// `eshunt … | head`: the commands that talk to the cluster end quietly and successfully when
/// their stdout is closed; a dry run that cannot print is not retried.
#[test]
fn cli_commands_end_quietly_when_stdout_is_closed() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = rt.block_on(Env::start(Flavor::Elasticsearch, "8.15.0"));
    let docs = ecs_docs(
        "p-",
        t(START),
        21,
        TimeDelta::seconds(30),
        TimeDelta::seconds(5),
    );
    rt.block_on(env.load(&docs));
    assert!(!all_ids(&expected(&env.rules(), &docs)).is_empty());
    let setup = env.eshunt("setup").output().unwrap();
    assert_eq!(setup.status.code(), Some(0), "{setup:?}");
    let commands: [&[&str]; 4] = [
        &["setup"],
        &["status"],
        &["status", "--json"],
        &[
            "hunt",
            "--from",
            "2026-03-14",
            "--to",
            "2026-03-15",
            "--dry-run",
        ],
    ];
    for args in commands {
        let mut child = env
            .eshunt(args[0])
            .args(&args[1..])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        for noise in ["panicked", "Broken pipe", "FAILED", "retrying", "error"] {
            assert!(!err.contains(noise), "{args:?} is quiet: {err}");
        }
    }
}

#[test]
fn setup_lists_missing_privileges() {
    // Elasticsearch answers `_has_privileges`; OpenSearch has no such query, so eshunt probes
    // the source indices and reports the ones it may not search.
    for (flavor, version) in [
        (Flavor::Elasticsearch, "8.15.0"),
        (Flavor::OpenSearch, "2.11.0"),
    ] {
        let (_rt, env, out, stdout) = setup_on(
            TestServer::builder(flavor, version)
                .emulator_only()
                .security(
                    eshunt_testserver::SecurityConfig::open().deny("*logs-aws.cloudtrail*", "read"),
                ),
        );
        assert_eq!(out.status.code(), Some(3), "{flavor:?}: {stdout}");
        assert!(stdout.contains("MISSING"), "{flavor:?}: {stdout}");
        assert!(
            stdout.contains(&format!(
                "read on {}",
                env.cluster.name("logs-aws.cloudtrail-*")
            )),
            "{flavor:?}: {stdout}"
        );
    }
}

/// OpenSearch in Elasticsearch compatibility mode says it is 7.10.2 with no distribution: eshunt
/// tells it by its tagline, reads the real version from the node info, and uses OpenSearch's
/// APIs (its point in time, its mapping types).
#[test]
fn opensearch_in_compatibility_mode_is_recognised() {
    let (env, stdout, report) = setup_then_hunt(
        TestServer::builder(Flavor::OpenSearch, "2.11.0")
            .emulator_only()
            .compatibility_mode(),
    );
    assert!(
        stdout.contains("OpenSearch 2.11.0") && stdout.contains("compatibility mode"),
        "{stdout}"
    );
    assert!(report.alerts_expected > 0);
    assert_eq!(report.window.written.created, report.alerts_expected);
    let pits = env
        .cluster
        .requests()
        .matching("POST", "/_search/point_in_time$");
    assert!(!pits.is_empty(), "paged with OpenSearch's point in time");
}

/// `create` refuses a known `_id` only within one backing index: after the alerts data stream
/// rolls over, rerunning a window must still find its alerts written and create none again.
async fn alerts_are_not_duplicated_across_a_rollover(flavor: Flavor, version: &str) {
    let env = Env::of_flavor(flavor, version).await;
    let stream = env.cluster.name("ro-alerts");
    let template =
        json!({"index_patterns": [format!("{stream}*")], "data_stream": {}, "priority": 500});
    let path = format!("/_index_template/{}", env.cluster.name("ro-alerts"));
    let (status, body) = env
        .cluster
        .request("PUT", &path, Some(&template))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let docs = ecs_docs(
        "ro-",
        t(START),
        8,
        TimeDelta::seconds(30),
        TimeDelta::seconds(10),
    );
    env.load(&docs).await;
    let rules = env.rules();
    let elastic = rule(&rules, ELASTIC);
    let expected = expected(&rules, &docs)[ELASTIC].len() as u64;
    let cluster = env.connect().await;
    let writer = BulkWriter::new(
        cluster.clone(),
        &stream,
        4,
        retry(),
        DeadLetter::new(&env.dir.path().join("dead-letter.ndjson")),
    );
    let delivery = Delivery::Bulk(&writer);
    let hunt = || hunt_day(&cluster, elastic, 50, &delivery);
    assert_eq!(hunt().await.unwrap().written.created, expected);
    let (status, body) = env
        .cluster
        .request("POST", &format!("/{stream}/_rollover"), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let again = hunt().await.unwrap();
    assert_eq!(again.written.created, 0);
    assert_eq!(again.written.existing, expected);
    env.cluster
        .request("POST", &format!("/{stream}/_refresh"), None)
        .await
        .unwrap();
    let (_, found) = env
        .cluster
        .request("GET", &format!("/{stream}/_search?size=1000"), None)
        .await
        .unwrap();
    assert_eq!(
        found["hits"]["hits"].as_array().unwrap().len() as u64,
        expected
    );
}

#[tokio::test]
async fn elasticsearch_alerts_are_not_duplicated_across_a_rollover() {
    alerts_are_not_duplicated_across_a_rollover(Flavor::Elasticsearch, "8.15.0").await;
}

#[tokio::test]
async fn opensearch_alerts_are_not_duplicated_across_a_rollover() {
    alerts_are_not_duplicated_across_a_rollover(Flavor::OpenSearch, "2.11.0").await;
}

#[test]
fn setup_with_an_invalid_rule_file_finishes_with_exit_3() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = rt.block_on(Env::start(Flavor::Elasticsearch, "8.15.0"));
    std::fs::write(env.dir.path().join("queries/broken.toml"), "id = 3\n").unwrap();
    let out = env.eshunt("setup").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("some rule files are invalid"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.toml:1:6"));
}

/// A host clock ahead of the cluster's would close windows on time the cluster has not reached:
/// setup measures it against the node stats and warns.
#[test]
fn setup_warns_when_this_host_is_ahead_of_the_cluster() {
    let (_rt, _env, out, stdout) = setup_on(
        TestServer::builder(Flavor::Elasticsearch, "8.15.0")
            .emulator_only()
            .clock_offset_ms(-120_000),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("clock: WARNING: this host's clock is 1")
            && stdout.contains("s ahead of the cluster's, more than settle_delay"),
        "{stdout}"
    );
    assert!(stdout.contains("can be missed"), "{stdout}");
    let (_rt, _env, _, stdout) =
        setup_on(TestServer::builder(Flavor::Elasticsearch, "8.15.0").emulator_only());
    assert!(
        stdout.contains("clock: not ahead of the cluster's"),
        "{stdout}"
    );
}

/// When the clock cannot be checked, setup says why: no privilege, or no such endpoint.
#[test]
fn setup_says_why_the_clock_is_not_checked() {
    for (status, why) in [
        (
            403,
            "clock: not checked: no privilege to read the node stats",
        ),
        (
            404,
            "clock: not checked: the cluster has no node stats endpoint",
        ),
    ] {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = TestServer::builder(Flavor::Elasticsearch, "8.15.0")
            .emulator_only()
            .start()
            .unwrap();
        server
            .faults()
            .add(Fault::on("GET", "^/_nodes/_local/stats").then(Action::error(status, "x", "y")));
        let env = rt.block_on(Env::with_cluster(
            TestCluster::with_server(server),
            Knobs::default(),
        ));
        let out = env.eshunt("setup").output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(stdout.contains(why), "{stdout}");
    }
}

/// An Elasticsearch OSS build (AWS Elasticsearch Service 7.10) has no point in time, no
/// `flattened` and no `_has_privileges`: setup installs what it accepts, and windows are paged
/// with scroll.
#[test]
fn elasticsearch_oss_is_served_with_what_it_has() {
    let (env, stdout, report) = setup_then_hunt(
        TestServer::builder(Flavor::Elasticsearch, "7.10.2")
            .emulator_only()
            .oss(),
    );
    assert!(stdout.contains("Elasticsearch OSS 7.10.2"), "{stdout}");
    assert!(report.alerts_expected > 0);
    assert_eq!(report.window.written.created, report.alerts_expected);
    assert!(!env
        .cluster
        .requests()
        .matching("POST", "^/_search/scroll$")
        .is_empty());
}

/// Elasticsearch with security switched off has no `_has_privileges` (400 "no handler found"):
/// setup says there is nothing to check instead of failing.
#[test]
fn setup_on_elasticsearch_without_security() {
    let (_rt, _env, out, stdout) = setup_on(
        TestServer::builder(Flavor::Elasticsearch, "8.15.0")
            .emulator_only()
            .security(eshunt_testserver::SecurityConfig::disabled()),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("privileges: the cluster has no security enabled"),
        "{stdout}"
    );
}

#[test]
fn setup_on_opensearch_without_restrictions_checks_what_it_can() {
    let (_rt, _env, out, stdout) = setup_on(
        TestServer::builder(Flavor::OpenSearch, "2.11.0")
            .emulator_only()
            .security(
                eshunt_testserver::SecurityConfig::open().deny("nothing-eshunt-reads-*", "read"),
            ),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("searching the source indices works"),
        "{stdout}"
    );
}

#[tokio::test]
async fn unreadable_subtrees_are_read_through_event_original_or_reported() {
    let env = Env::start(Flavor::Elasticsearch, "8.15.0").await;
    let keyword_only = |id: &str, original: bool| {
        let raw = raw_event(id, "iam_layers", t(START));
        let options = eshunt::event::to_ecs::ToEcsOptions {
            retain: eshunt::event::to_ecs::Retain::Keyword,
            preserve_original: original,
            ingested: Some(t(START)),
            ..Default::default()
        };
        eshunt::event::to_ecs::to_ecs(&raw, &options)
    };
    let docs = vec![
        keyword_only("with-original", true),
        keyword_only("string-only", false),
    ];
    assert!(
        docs[1]["aws"]["cloudtrail"]["flattened"].is_null()
            && docs[1]["aws"]["cloudtrail"]["response_elements"].is_string()
    );
    env.load(&docs).await;
    let panther = env
        .rules()
        .into_iter()
        .find(|r| r.meta.id == PANTHER)
        .unwrap();
    let out = Mutex::new(Printer::new(Box::new(std::io::sink())));
    let report = hunt_day(&env.connect().await, &panther, 10, &Delivery::Print(&out))
        .await
        .unwrap();
    assert_eq!(report.hits, 2);
    assert_eq!(
        report.matched, 1,
        "the document with event.original is read through it"
    );
    assert_eq!(
        report.unavailable.get("responseElements.layers"),
        Some(&1),
        "the other is reported, not silently missed"
    );
    let fetched = env.cluster.requests().matching("GET", "/_doc/");
    assert_eq!(
        fetched.len(),
        2,
        "event.original is fetched only for the flagged documents"
    );
}

/// Before the first CloudTrail document arrives, the rule's pattern matches no index: the window
/// is empty, not an error (OpenSearch refuses a point in time over no index with a 400).
async fn a_pattern_matching_no_index_gives_an_empty_window(env: Env) {
    let rules = env.rules();
    let cluster = env.connect().await;
    let writer = writer(&env).await;
    for rule in &rules {
        let report = hunt_day(&cluster, rule, 10, &Delivery::Bulk(&writer))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", rule.meta.id));
        assert_eq!((report.hits, report.matched), (0, 0));
    }
}

#[tokio::test]
async fn a_pattern_matching_no_index_gives_an_empty_window_on_this_cluster() {
    a_pattern_matching_no_index_gives_an_empty_window(
        Env::start(Flavor::Elasticsearch, "8.15.0").await,
    )
    .await;
}

#[tokio::test]
async fn a_pattern_matching_no_index_gives_an_empty_window_on_emulated_flavours() {
    for (flavor, version) in [
        (Flavor::Elasticsearch, "8.15.0"),
        (Flavor::OpenSearch, "2.11.0"),
    ] {
        let server = TestServer::builder(flavor, version)
            .emulator_only()
            .start()
            .unwrap();
        let env = Env::with_cluster(TestCluster::with_server(server), Knobs::default()).await;
        a_pattern_matching_no_index_gives_an_empty_window(env).await;
    }
}

/// `eshunt alerts` without files: the newest alerts of the config's target, one line each.
#[test]
fn the_alerts_command_reads_the_cluster_alerts() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = rt.block_on(Env::start(Flavor::Elasticsearch, "8.15.0"));
    let (env, docs, rules) = rt.block_on(loaded(env, "v-", 21, 5));
    let expected = expected(&rules, &docs);
    for command in ["setup", "hunt"] {
        let mut cmd = env.eshunt(command);
        if command == "hunt" {
            cmd.args(["--from", "2026-03-14", "--to", "2026-03-15"]);
        }
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let written = rt.block_on(env.alerts()); // also makes them searchable
    assert_eq!(written.len(), all_ids(&expected).len());
    let lines = |args: &[&str]| {
        let out = env.eshunt("alerts").args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        (
            stdout.lines().map(str::to_string).collect::<Vec<_>>(),
            stderr,
        )
    };

    let (all, summary) = lines(&[]);
    assert_eq!(all.len(), written.len());
    assert!(
        summary.contains(&format!("of {} in {}", written.len(), env.target)),
        "{summary}"
    );
    let times: Vec<&str> = all.iter().map(|l| &l[..24]).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "oldest first: {all:?}"
    );
    let panther = written
        .values()
        .find(|a| a["rule"]["id"] == PANTHER)
        .unwrap();
    let source = format!(
        "event {} at {}/{}",
        panther["eshunt"]["source"]["event_id"].as_str().unwrap(),
        panther["eshunt"]["source"]["index"].as_str().unwrap(),
        panther["eshunt"]["source"]["id"].as_str().unwrap()
    );
    let line = all.iter().find(|l| l.ends_with(&source)).unwrap();
    assert!(line.contains("  high  "), "{line}");
    assert!(
        line.contains(&format!(
            "{} | {} |",
            panther["rule"]["name"].as_str().unwrap(),
            panther["message"].as_str().unwrap()
        )),
        "{line}"
    );

    assert_eq!(lines(&["--rule", PANTHER]).0.len(), expected[PANTHER].len());
    assert_eq!(
        lines(&["--min-severity", "high"]).0.len(),
        expected[PANTHER].len()
    );
    assert!(lines(&["--min-severity", "critical"]).0.is_empty());
    let (newest, _) = lines(&["--limit", "2"]);
    assert_eq!(newest, all[all.len() - 2..]);

    let missing = env
        .eshunt("alerts")
        .args(["--index", "eshunt-no-such-alerts"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("eshunt-no-such-alerts"));
}
