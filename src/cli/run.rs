//! `eshunt run`: the daemon — every enabled rule on its own schedule until SIGINT/SIGTERM.

use super::cluster::{self, ConfigArg};
use super::{exit, finish, Fail, RuleFilter};
use eshunt::config::Config;
use eshunt::es::clock;
use eshunt::es::Cluster;
use eshunt::schedule::lease::Leases;
use eshunt::schedule::metrics::Metrics;
use eshunt::schedule::runner::{self, Runtime};
use eshunt::state::StateStore;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Arguments of `eshunt run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    rule: RuleFilter,
    /// Serve Prometheus metrics on this address (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// This process's name in leases and run records (default: host name and process id). A
    /// restarted process with the same name takes its leases back at once.
    #[arg(long, value_name = "NAME")]
    instance: Option<String>,
}

/// Runs `eshunt run`.
pub fn run(args: Args) -> u8 {
    finish(daemon(args))
}

fn daemon(args: Args) -> Result<u8, Fail> {
    let config = args.config.load()?;
    let (rules, rule_errors) = cluster::select_rules(&config, &args.rule.ids)?;
    if rule_errors {
        tracing::warn!("some rule files are invalid and will not run until fixed (see above)");
    }
    let instance = args.instance.clone().unwrap_or_else(default_instance);
    cluster::runtime().block_on(async move {
        let cluster = cluster::connect(&config).await?;
        let settle = config.schedule.settle_delay.delta();
        match clock::skew(&cluster).await {
            Ok(skew) => {
                if let Some(problem) = clock::verdict(skew, settle) {
                    tracing::warn!("{problem}");
                }
            }
            Err(why) => tracing::info!("clock not checked: {why}"),
        }
        let runtime = build_runtime(&config, cluster, &instance).await?;
        if let Some(addr) = args.metrics_addr {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            tracing::info!(%addr, "serving Prometheus metrics");
            tokio::spawn(eshunt::schedule::metrics::serve(
                listener,
                runtime.metrics.clone(),
            ));
        }
        tracing::info!(%instance, rules = rules.len(), "running");
        let rules = rules.into_iter().map(Arc::new).collect();
        runner::run(
            runtime,
            rules,
            shutdown_signal(),
            config.schedule.shutdown_grace.std(),
        )
        .await;
        Ok(exit::OK)
    })
}

async fn build_runtime(
    config: &Config,
    cluster: Cluster,
    instance: &str,
) -> Result<Arc<Runtime>, String> {
    let store = StateStore::new(cluster.clone(), &config.schedule.state_index);
    if store.install().await.map_err(|e| e.to_string())? {
        tracing::info!(index = store.index(), "created the state index");
    }
    let mut backoff = cluster::retry_policy(config);
    backoff.max_delay = std::time::Duration::from_secs(300);
    Ok(Arc::new(Runtime {
        writer: cluster::writer(config, &cluster)?,
        leases: Leases::new(store.clone(), instance, config.schedule.lease_ttl.delta()),
        store,
        cluster,
        pages: cluster::page_settings(config),
        config: config.schedule.clone(),
        backoff,
        searches: tokio::sync::Semaphore::new(config.schedule.max_concurrent_searches),
        metrics: Arc::new(Metrics::default()),
        stopping: AtomicBool::new(false),
        cancel: AtomicBool::new(false),
    }))
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

fn default_instance() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "eshunt".into());
    format!("{host}-{}", std::process::id())
}
