//! `eshunt run` as real processes against the test run's real cluster, in real time with
//! second-long schedules: two processes sharing the rules through leases while one is killed
//! with SIGKILL, a SIGKILL in the middle of a window and a restart, a graceful SIGTERM, and the
//! metrics endpoint. Documents are ingested while the daemons run; in the end every expected
//! alert must exist exactly once.

mod support;

use chrono::{TimeDelta, Utc};
use eshunt::event::to_ecs::{to_ecs, ToEcsOptions};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::*;

async fn daemon_env() -> Env {
    let knobs = Knobs {
        page_size: 5,
        interval: "1s",
        lookback: "2s",
        extra_schedule: "",
    };
    Env::with_cluster(TestCluster::start(Flavor::Elasticsearch, "8.15.0"), knobs).await
}

/// An `eshunt run` process, killed when dropped so a failing test leaves no daemon behind.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Daemon {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Daemon {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

fn spawn(env: &Env, instance: &str, extra: &[&str]) -> Daemon {
    let log = std::fs::File::create(env.dir.path().join(format!("{instance}.log"))).unwrap();
    let child = env
        .eshunt("run")
        .args(["--instance", instance])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Daemon(child)
}

fn log(env: &Env, instance: &str) -> String {
    std::fs::read_to_string(env.dir.path().join(format!("{instance}.log"))).unwrap_or_default()
}

fn sigterm(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Ingests a batch of documents "now" (event.ingested = now), as the integration would.
async fn ingest(env: &Env, batch: usize, n: usize) -> Vec<Value> {
    let now = Utc::now();
    let docs: Vec<Value> = (0..n)
        .map(|i| {
            let raw = raw_event(
                &format!("live-{batch}-{i}"),
                ["iam_layers", "publish", "role_layers", "noise"][i % 4],
                now - TimeDelta::seconds(2),
            );
            to_ecs(
                &raw,
                &ToEcsOptions {
                    ingested: Some(now),
                    preserve_original: i % 2 == 0,
                    ..Default::default()
                },
            )
        })
        .collect();
    env.load(&docs).await;
    docs
}

async fn lease_holder(env: &Env, rule: &str) -> Option<String> {
    let lease = env.state_doc(&format!("lease:{rule}")).await?;
    let live = lease["expires_at"]
        .as_str()
        .map(t)
        .is_some_and(|e| e > Utc::now());
    live.then(|| lease["instance"].as_str().unwrap().to_string())
}

async fn wait_for_checkpoints(env: &Env, past: chrono::DateTime<Utc>, limit: Duration) {
    let started = Instant::now();
    loop {
        let mut done = true;
        for rule in [PANTHER, ELASTIC] {
            let cp = env.state_doc(&format!("checkpoint:{rule}")).await;
            done &= cp
                .and_then(|c| c["checkpoint"].as_str().map(t))
                .is_some_and(|c| c > past);
        }
        if done {
            return;
        }
        assert!(started.elapsed() < limit, "checkpoints did not pass {past}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn alert_ids(alerts: &std::collections::BTreeMap<String, Value>) -> BTreeSet<String> {
    alerts.keys().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_the_rules_and_a_killed_holder_is_replaced() {
    let env = daemon_env().await;
    let mut a = spawn(&env, "a", &[]);
    let mut b = spawn(&env, "b", &[]);
    let mut docs = Vec::new();
    for batch in 0..6 {
        docs.extend(ingest(&env, batch, 8).await);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let holder = lease_holder(&env, PANTHER)
        .await
        .expect("someone holds the Panther rule");
    let (victim, survivor, survivor_name) = if holder == "a" {
        (&mut a, &mut b, "b")
    } else {
        (&mut b, &mut a, "a")
    };
    victim.kill().unwrap();
    victim.wait().unwrap();
    for batch in 6..14 {
        docs.extend(ingest(&env, batch, 8).await);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    wait_for_checkpoints(
        &env,
        Utc::now() + TimeDelta::milliseconds(100),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        lease_holder(&env, PANTHER).await.as_deref(),
        Some(survivor_name),
        "the survivor took the lease over"
    );
    sigterm(survivor);
    assert_eq!(
        wait_exit(survivor, Duration::from_secs(20)),
        Some(0),
        "{}",
        log(&env, survivor_name)
    );

    let expected = expected(&env.rules(), &docs);
    assert_eq!(
        alert_ids(&env.alerts().await),
        all_ids(&expected),
        "every alert exactly once"
    );
    let cluster = env.connect().await;
    let store = eshunt::state::StateStore::new(cluster, &env.state);
    let mut runs: Vec<eshunt::state::records::RunRecord> = store
        .search(
            &[("rule_id", PANTHER), ("status", "complete")],
            "finished_at",
            10_000,
        )
        .await
        .unwrap();
    runs.sort_by_key(|r| r.window_start);
    let instances: BTreeSet<&str> = runs.iter().map(|r| r.instance.as_str()).collect();
    assert_eq!(instances.len(), 2, "both processes ran the rule");
    for pair in runs.windows(2) {
        assert!(
            pair[1].window_start <= pair[0].window_end,
            "windows leave no hole: {:?} then {:?}",
            pair[0].window_end,
            pair[1].window_start
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_the_middle_of_a_window_loses_and_duplicates_nothing() {
    let env = daemon_env().await;
    env.cluster
        .faults()
        .add(Fault::on("POST", "^/_search$").then(Action::delay(Duration::from_millis(700))));
    let mut docs = ingest(&env, 0, 12).await;
    let mut first = spawn(&env, "solo", &[]);
    for batch in 1..5 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        docs.extend(ingest(&env, batch, 6).await);
    }
    first.kill().unwrap();
    first.wait().unwrap();
    for batch in 5..8 {
        docs.extend(ingest(&env, batch, 6).await);
    }
    let mut second = spawn(&env, "solo", &[]);
    wait_for_checkpoints(
        &env,
        Utc::now() + TimeDelta::milliseconds(100),
        Duration::from_secs(40),
    )
    .await;
    sigterm(&second);
    assert_eq!(
        wait_exit(&mut second, Duration::from_secs(20)),
        Some(0),
        "{}",
        log(&env, "solo")
    );
    assert_eq!(
        alert_ids(&env.alerts().await),
        all_ids(&expected(&env.rules(), &docs))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_gracefully_releases_leases_and_serves_metrics() {
    let env = daemon_env().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let docs = ingest(&env, 0, 8).await;
    let mut child = spawn(&env, "m", &["--metrics-addr", &addr]);
    wait_for_checkpoints(
        &env,
        Utc::now() + TimeDelta::milliseconds(100),
        Duration::from_secs(20),
    )
    .await;
    let mut metrics = String::new();
    let mut socket = std::net::TcpStream::connect(&addr).unwrap();
    socket
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    socket.read_to_string(&mut metrics).unwrap();
    assert!(metrics.starts_with("HTTP/1.1 200 OK"), "{metrics}");
    assert!(
        metrics.contains(&format!("eshunt_windows_total{{rule=\"{PANTHER}\"}}")),
        "{metrics}"
    );
    assert!(metrics.contains("eshunt_lag_seconds{rule="), "{metrics}");
    sigterm(&child);
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(15)),
        Some(0),
        "{}",
        log(&env, "m")
    );
    assert!(log(&env, "m").contains("stopped"));
    for rule in [PANTHER, ELASTIC] {
        let lease = env.state_doc(&format!("lease:{rule}")).await.unwrap();
        assert!(
            lease["expires_at"].as_str().map(t).unwrap() <= Utc::now(),
            "lease released on shutdown"
        );
    }
    let status = env.eshunt("status").arg("--json").output().unwrap();
    let report: Value = serde_json::from_slice(&status.stdout).unwrap();
    for rule in report["rules"].as_array().unwrap() {
        assert_eq!(
            rule["lease"],
            Value::Null,
            "a released lease has no holder: {rule}"
        );
    }
    assert_eq!(
        alert_ids(&env.alerts().await),
        all_ids(&expected(&env.rules(), &docs))
    );
}

/// A rule whose interval outlasts the lease stays with its holder: the lease is renewed between
/// ticks too, so the other process neither takes it over nor runs the rule a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_whose_interval_outlasts_the_lease_stays_with_its_holder() {
    let knobs = Knobs {
        page_size: 5,
        interval: "5s",
        lookback: "6s",
        extra_schedule: "",
    };
    let env = Env::with_cluster(TestCluster::start(Flavor::Elasticsearch, "8.15.0"), knobs).await;
    assert!(env.config().schedule.lease_ttl.std() < Duration::from_secs(5));
    let _a = spawn(&env, "a", &[]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _b = spawn(&env, "b", &[]);
    tokio::time::sleep(Duration::from_secs(12)).await;
    let store = eshunt::state::StateStore::new(env.connect().await, &env.state);
    for rule in [PANTHER, ELASTIC] {
        let runs: Vec<eshunt::state::records::RunRecord> = store
            .search(
                &[("rule_id", rule), ("status", "complete")],
                "finished_at",
                100,
            )
            .await
            .unwrap();
        let instances: BTreeSet<&str> = runs.iter().map(|r| r.instance.as_str()).collect();
        assert!(
            runs.len() >= 2,
            "{rule}: {} runs\n--- a:\n{}\n--- b:\n{}",
            runs.len(),
            log(&env, "a"),
            log(&env, "b")
        );
        assert_eq!(instances.len(), 1, "{rule} ran in {instances:?}");
    }
}
