//! Shared by the cluster integration tests: a test cluster (a fault-injecting proxy to the test
//! run's real cluster, or the in-process emulator; see `eshunt_testserver`), a config and rule
//! files pointing at it under a per-test prefix, generated CloudTrail ECS documents, and the
//! alerts each rule must produce on them.
#![allow(dead_code, unused_imports)] // each test binary uses part of it

use chrono::{DateTime, TimeDelta, Utc};
use eshunt::alert::{alert_id, identity};
use eshunt::backfill::{BackfillSpec, Backfiller};
use eshunt::config::Config;
use eshunt::es::retry::RetryPolicy;
use eshunt::es::Cluster;
use eshunt::event::to_ecs::{to_ecs, ToEcsOptions};
use eshunt::event::{Event, Origin};
use eshunt::rule::{load_dir, PrefilterCheck, Rule};
use eshunt::schedule::lease::Leases;
use eshunt::schedule::metrics::Metrics;
use eshunt::schedule::runner::Runtime;
use eshunt::sink::dead_letter::DeadLetter;
use eshunt::sink::elasticsearch::BulkWriter;
use eshunt::state::StateStore;
use eshunt::time::Window;
pub use eshunt_testserver::{Action, Fault, Flavor, ItemFault, TestCluster, TestServer};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub const PANTHER: &str = "AWS.Lambda.UpdateFunctionConfiguration";
pub const ELASTIC: &str = "7d091a76-0737-11ef-8469-f661ea17fbcc";

/// A test's cluster, files and names.
pub struct Env {
    pub cluster: TestCluster,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    /// The source data stream (`{prefix}logs-aws.cloudtrail-default`).
    pub source: String,
    /// The alert target (`{prefix}alerts`).
    pub target: String,
    /// The state index.
    pub state: String,
}

/// Knobs written into the test config.
pub struct Knobs {
    pub page_size: usize,
    pub interval: &'static str,
    pub lookback: &'static str,
    pub extra_schedule: &'static str,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            page_size: 3,
            interval: "5m",
            lookback: "6m",
            extra_schedule: "",
        }
    }
}

impl Env {
    pub async fn start(flavor: Flavor, version: &str) -> Env {
        Env::with_cluster(TestCluster::start(flavor, version), Knobs::default()).await
    }

    /// On exactly this flavour: the real cluster when it is one, the emulator otherwise.
    pub async fn of_flavor(flavor: Flavor, version: &str) -> Env {
        Env::with_cluster(TestCluster::of_flavor(flavor, version), Knobs::default()).await
    }

    pub async fn with_cluster(cluster: TestCluster, knobs: Knobs) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let source = cluster.install_cloudtrail_template().await.unwrap();
        let target = cluster.name("alerts");
        let state = cluster.name("state");
        write_rules(
            &dir.path().join("queries"),
            &cluster.name("logs-aws.cloudtrail-*"),
            knobs.interval,
            knobs.lookback,
        );
        let config = format!(
            r#"[elasticsearch]
urls = ["{url}"]
max_retries = 5
retry_backoff = "20ms"
request_timeout = "20s"

[rules]
dir = "queries"

[alerts]
target = "{target}"
bulk_size = 4
dead_letter = "dead-letter.ndjson"

[hunt]
page_size = {page}
keep_alive = "1m"

[schedule]
state_index = "{state}"
settle_delay = "1s"
lease_ttl = "3s"
shutdown_grace = "5s"
{extra}
"#,
            url = cluster.url(),
            page = knobs.page_size,
            extra = knobs.extra_schedule,
        );
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, config).unwrap();
        Env {
            cluster,
            dir,
            config_path,
            source,
            target,
            state,
        }
    }

    /// The test config (the developer's `ESHUNT_ES_*` variables are ignored: tests only ever
    /// talk to their own test server).
    pub fn config(&self) -> Config {
        Config::load(&self.config_path).unwrap()
    }

    pub fn rules(&self) -> Vec<Rule> {
        let report = load_dir(&self.dir.path().join("queries"));
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        report.rules
    }

    pub async fn connect(&self) -> Cluster {
        Cluster::connect(&self.config(), &NoEnv).await.unwrap()
    }

    pub async fn load(&self, docs: &[Value]) {
        self.cluster.bulk_load(&self.source, docs).await.unwrap();
    }

    /// Every alert document in the target, keyed by its id; panics on a duplicate id.
    pub async fn alerts(&self) -> BTreeMap<String, Value> {
        let hits = self.alert_hits(&self.target).await;
        hits.into_iter()
            .map(|(id, mut hit)| (id, hit["_source"].take()))
            .collect()
    }

    /// Every alert in `target` as its search hit (with `_seq_no`), keyed by its id, which must
    /// be its `eshunt.alert_id`; panics on a duplicate id. Empty when `target` does not exist.
    pub async fn alert_hits(&self, target: &str) -> BTreeMap<String, Value> {
        let _ = self
            .cluster
            .request("POST", &format!("/{target}/_refresh"), None)
            .await;
        let (status, body) = self
            .cluster
            .request(
                "POST",
                &format!("/{target}/_search"),
                Some(&json!({"size": 10000, "seq_no_primary_term": true})),
            )
            .await
            .unwrap();
        if status == 404 {
            return BTreeMap::new();
        }
        assert_eq!(status, 200, "{body}");
        let mut out = BTreeMap::new();
        for hit in body["hits"]["hits"].as_array().unwrap() {
            let id = hit["_id"].as_str().unwrap().to_string();
            assert_eq!(hit["_source"]["eshunt"]["alert_id"], id.as_str());
            assert!(out.insert(id, hit.clone()).is_none(), "duplicate alert");
        }
        out
    }

    /// The binary, with `--config`.
    pub fn eshunt(&self, command: &str) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_eshunt"));
        cmd.arg(command).arg("--config").arg(&self.config_path);
        cmd.current_dir(self.dir.path());
        for var in [
            "ESHUNT_ES_URL",
            "ESHUNT_ES_API_KEY",
            "ESHUNT_ES_USERNAME",
            "ESHUNT_ES_PASSWORD",
            "ESHUNT_CONFIG",
            "ESHUNT_RULES",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("ESHUNT_LOG", "info");
        cmd
    }

    /// A state document by id.
    pub async fn state_doc(&self, id: &str) -> Option<Value> {
        let (status, body) = self
            .cluster
            .request("GET", &format!("/{}/_doc/{id}", self.state), None)
            .await
            .unwrap();
        (status == 200 && body["found"] == true).then(|| body["_source"].clone())
    }
}

/// An empty environment: no `ESHUNT_ES_*` overrides.
pub struct NoEnv;

impl eshunt::config::Env for NoEnv {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
}

/// Copies the shipped rules, pointing them at `index` with the given schedule.
pub fn write_rules(dir: &Path, index: &str, interval: &str, lookback: &str) {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries/aws");
    for entry in std::fs::read_dir(shipped).unwrap() {
        let path = entry.unwrap().path();
        // The suites here expect an alert per matching event; rules that count or remember have
        // their own.
        let per_event = eshunt::rule::load_file(&path).is_ok_and(|r| !r.remembers());
        if per_event {
            write_rule(dir, &path, index, interval, lookback);
        }
    }
}

/// Copies one shipped rule file into `dir`, reading `index` on the given schedule.
pub fn write_rule(dir: &Path, path: &Path, index: &str, interval: &str, lookback: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = String::new();
    let mut section = String::new();
    for line in text.lines() {
        if line.starts_with('[') {
            section = line.to_string();
        }
        let replaced = if section == "[source]" && line.starts_with("index =") {
            format!("index = [\"{index}\"]")
        } else if section == "[schedule]" && line.starts_with("interval =") {
            format!("interval = \"{interval}\"")
        } else if section == "[schedule]" && line.starts_with("lookback =") {
            format!("lookback = \"{lookback}\"")
        } else {
            line.to_string()
        };
        out.push_str(&replaced);
        out.push('\n');
    }
    std::fs::write(dir.join(path.file_name().unwrap()), out).unwrap();
}

/// The kinds of generated events, cycling: which rules fire is decided by the rules
/// themselves when the expectations are computed.
const KINDS: [&str; 7] = [
    "iam_layers",
    "sso_layers",
    "role_layers",
    "publish",
    "failed",
    "code",
    "noise",
];

/// A raw CloudTrail record of `kind`.
pub fn raw_event(id: &str, kind: &str, time: DateTime<Utc>) -> Value {
    let iam = json!({"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/dana",
        "accountId": "111122223333", "userName": "dana"});
    let sso = json!({"type": "AssumedRole", "principalId": "AROAEXAMPLE:sam@example.com", "accountId": "111122223333",
        "arn": "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/sam@example.com",
        "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "AWSReservedSSO_Admin_0123456789abcdef",
            "arn": "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef"}}});
    let role = json!({"type": "AssumedRole", "principalId": "AROAROLE:ci", "accountId": "111122223333",
        "arn": "arn:aws:sts::111122223333:assumed-role/ci-deployer/ci",
        "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "ci-deployer", "arn": "arn:aws:iam::111122223333:role/ci-deployer"}}});
    let layers = json!({"functionName": format!("fn-{id}"), "layers": [{"arn": "arn:aws:lambda:us-east-1:444455556666:layer:x:1"}]});
    let (identity, source, name, response, error) = match kind {
        "iam_layers" => (
            iam,
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            layers,
            None,
        ),
        "sso_layers" => (
            sso,
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            layers,
            None,
        ),
        "role_layers" => (
            role,
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            layers,
            None,
        ),
        "publish" => (
            iam,
            "lambda.amazonaws.com",
            "PublishLayerVersion20181031",
            json!({"version": 3}),
            None,
        ),
        "failed" => (
            iam,
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            json!(null),
            Some("AccessDeniedException"),
        ),
        "code" => (
            sso,
            "lambda.amazonaws.com",
            "UpdateFunctionCode20150331v2",
            layers,
            None,
        ),
        _ => (iam, "s3.amazonaws.com", "GetObject", json!(null), None),
    };
    let mut record = json!({
        "eventVersion": "1.08", "userIdentity": identity, "eventTime": eshunt::time::format(time),
        "eventSource": source, "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2", "requestParameters": {"functionName": format!("fn-{id}")},
        "responseElements": response, "requestID": format!("req-{id}"), "eventID": id,
        "readOnly": false, "eventType": "AwsApiCall", "recipientAccountId": "111122223333",
    });
    if let Some(code) = error {
        record["errorCode"] = json!(code);
        record["errorMessage"] = json!("not authorized");
    }
    record
}

/// `n` ECS documents of cycling kinds, one every `spacing` from `start`, each ingested `lateness`
/// after it happened; every other one keeps `event.original`.
pub fn ecs_docs(
    prefix: &str,
    start: DateTime<Utc>,
    n: usize,
    spacing: TimeDelta,
    lateness: TimeDelta,
) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let time = start + spacing * i as i32;
            let raw = raw_event(&format!("{prefix}{i}"), KINDS[i % KINDS.len()], time);
            let options = ToEcsOptions {
                preserve_original: i % 2 == 0,
                ingested: Some(time + lateness),
                ..ToEcsOptions::default()
            };
            to_ecs(&raw, &options)
        })
        .collect()
}

/// The alert ids each rule must produce on `docs` (evaluated locally, prefilter included).
pub fn expected(rules: &[Rule], docs: &[Value]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = rules
        .iter()
        .map(|r| (r.meta.id.clone(), BTreeSet::new()))
        .collect();
    for doc in docs {
        let event = Event::from_ecs(doc.clone(), Origin::Inline("expected".into()));
        for rule in rules {
            if rule.evaluate(&event, PrefilterCheck::Local).matched {
                out.get_mut(&rule.meta.id)
                    .unwrap()
                    .insert(alert_id(&rule.meta.id, &identity(&event)));
            }
        }
    }
    out
}

/// All expected ids, whatever the rule.
pub fn all_ids(expected: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    expected.values().flatten().cloned().collect()
}

/// Retries fast enough for tests: three, a few milliseconds apart.
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial: std::time::Duration::from_millis(1),
        max_delay: std::time::Duration::from_millis(5),
    }
}

/// Pages of `size` hits (small, so a window spans several pages).
pub fn small_pages(size: usize) -> eshunt::source::elasticsearch::PageSettings {
    eshunt::source::elasticsearch::PageSettings {
        size,
        keep_alive: eshunt::time::Span::parse("1m").unwrap(),
        timeout: eshunt::time::Span::parse("30s").unwrap(),
    }
}

/// A writer of alerts to `target`, `batch` at a time, with quick retries and its dead letters
/// in the environment's folder.
pub async fn bulk_writer(env: &Env, target: &str, batch: usize) -> BulkWriter {
    BulkWriter::new(
        env.connect().await,
        target,
        batch,
        quick_retry(),
        DeadLetter::new(&env.dir.path().join("dead-letter.ndjson")),
    )
}

/// Backfills `rule` over `range` in chunks of `chunk`, two at a time, writing to `target`;
/// panics when a chunk failed.
pub async fn backfill_into(env: &Env, target: &str, rule: Rule, range: Window, chunk: &str) {
    let cluster = env.connect().await;
    let backfiller = Backfiller {
        cluster: cluster.clone(),
        store: StateStore::new(cluster.clone(), &env.state),
        writer: Arc::new(bulk_writer(env, target, 500).await),
        pages: small_pages(3),
        retry: quick_retry(),
    };
    let spec = BackfillSpec {
        rules: vec![Arc::new(rule)],
        range,
        chunk: eshunt::time::Span::parse(chunk).unwrap(),
        concurrency: 2,
    };
    let report = backfiller.run(&spec).await.unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
}

/// A sequence test of a shipped rule, its logs loaded (as the integration's ECS documents,
/// ingested at their event time) into a data stream of their own, which its rule reads alone.
pub struct LoadedSequence {
    /// The rule, reading the test's data stream.
    pub rule: Rule,
    /// What the test is called, for messages.
    pub name: String,
    /// The test's logs, as written.
    pub logs: Vec<Value>,
    /// The alerts the test expects.
    pub alerts: Vec<eshunt::rule::ExpectedGroup>,
}

/// Every sequence test of the shipped rules `select` keeps, loaded into the cluster.
pub async fn shipped_sequences(env: &Env, select: impl Fn(&Rule) -> bool) -> Vec<LoadedSequence> {
    let shipped = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("queries"));
    let mut out = Vec::new();
    for rule in shipped.rules.iter().filter(|r| select(r)) {
        // A test marked `ecs = false` holds records Elastic's integration cannot read (keys in
        // another case): no cluster holds them as the rule expects.
        for test in rule.tests.iter().filter(|t| t.ecs) {
            let eshunt::rule::TestCase::Sequence { logs, alerts } = &test.case else {
                continue;
            };
            let stream = env
                .cluster
                .name(&format!("logs-aws.cloudtrail-seq{}", out.len()));
            let docs: Vec<Value> = logs.iter().map(as_indexed).collect();
            env.cluster.bulk_load(&stream, &docs).await.unwrap();
            let mut rule = rule.clone();
            rule.source.index = vec![stream];
            out.push(LoadedSequence {
                name: format!("{} test `{}`", rule.meta.id, test.name),
                rule,
                logs: logs.clone(),
                alerts: alerts.clone(),
            });
        }
    }
    out
}

/// A rule test's log as the integration indexes it, ingested at its event time (so windows on
/// `event.ingested` hold the event times the test was written with).
pub fn as_indexed(log: &Value) -> Value {
    let at = log["eventTime"]
        .as_str()
        .and_then(eshunt::time::parse_timestamp);
    to_ecs(
        log,
        &ToEcsOptions {
            ingested: at,
            ..ToEcsOptions::default()
        },
    )
}

pub fn t(text: &str) -> DateTime<Utc> {
    eshunt::time::parse_timestamp(text).unwrap()
}

/// A scheduler runtime over `env` writing alerts to `target`, as `eshunt run` builds one.
pub async fn runtime(env: &Env, instance: &str, target: &str, retry: RetryPolicy) -> Arc<Runtime> {
    let config = env.config();
    let cluster = env.connect().await;
    let store = StateStore::new(cluster.clone(), &config.schedule.state_index);
    store.install().await.unwrap();
    Arc::new(Runtime {
        writer: BulkWriter::new(
            cluster.clone(),
            target,
            4,
            retry,
            DeadLetter::new(&env.dir.path().join("dead.ndjson")),
        ),
        leases: Leases::new(store.clone(), instance, config.schedule.lease_ttl.delta()),
        store,
        cluster,
        pages: eshunt::source::elasticsearch::PageSettings {
            size: config.hunt.page_size,
            keep_alive: config.hunt.keep_alive,
            timeout: config.hunt.search_timeout,
        },
        config: config.schedule.clone(),
        backoff: retry,
        searches: tokio::sync::Semaphore::new(2),
        metrics: Arc::new(Metrics::default()),
        stopping: AtomicBool::new(false),
        cancel: AtomicBool::new(false),
    })
}
