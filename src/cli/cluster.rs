//! What every command that talks to a cluster shares: `--config`, loading the configuration
//! with environment overrides, the rules it names, and connecting.

use super::{load_rules, RulesFrom};
use eshunt::config::{Config, ProcessEnv};
use eshunt::es::retry::RetryPolicy;
use eshunt::es::Cluster;
use eshunt::rule::Rule;
use eshunt::sink::dead_letter::DeadLetter;
use eshunt::sink::elasticsearch::BulkWriter;
use eshunt::source::elasticsearch::PageSettings;
use std::path::PathBuf;

/// `--config FILE`.
#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// Configuration file (see the commented config.toml at the repository root).
    #[arg(
        long,
        value_name = "FILE",
        env = "ESHUNT_CONFIG",
        default_value = "config.toml"
    )]
    pub config: PathBuf,
}

impl ConfigArg {
    /// Loads the configuration and applies `ESHUNT_ES_*` overrides.
    pub fn load(&self) -> Result<Config, String> {
        let mut config = Config::load(&self.config).map_err(|e| e.to_string())?;
        config.apply_env(&ProcessEnv).map_err(|e| e.to_string())?;
        Ok(config)
    }
}

/// Connects to the configured cluster.
pub async fn connect(config: &Config) -> Result<Cluster, String> {
    Cluster::connect(config, &ProcessEnv)
        .await
        .map_err(|e| e.to_string())
}

/// The configured rules, filtered by `--rule` ids (all enabled rules when none are given).
/// Returns the rules and whether some rule file had errors.
pub fn select_rules(config: &Config, ids: &[String]) -> Result<(Vec<Rule>, bool), String> {
    let report = load_rules(&config.rules.dir);
    let rules = super::select_from(&report, ids, &config.rules.dir, RulesFrom::Config)?
        .into_iter()
        .cloned()
        .collect();
    Ok((rules, !report.errors.is_empty()))
}

/// Search paging settings from `[hunt]`.
pub fn page_settings(config: &Config) -> PageSettings {
    PageSettings {
        size: config.hunt.page_size,
        keep_alive: config.hunt.keep_alive,
        timeout: config.hunt.search_timeout,
    }
}

/// Retry policy from `[elasticsearch]`.
pub fn retry_policy(config: &Config) -> RetryPolicy {
    RetryPolicy {
        max_retries: config.elasticsearch.max_retries,
        initial: config.elasticsearch.retry_backoff.std(),
        ..RetryPolicy::default()
    }
}

/// The alert writer for `[alerts]`; fails when the dead-letter file cannot be written.
pub fn writer(config: &Config, cluster: &Cluster) -> Result<BulkWriter, String> {
    let dead_letter = DeadLetter::new(&config.alerts.dead_letter);
    dead_letter.check_writable().map_err(|e| {
        format!(
            "the dead-letter file {} cannot be written: {e}",
            config.alerts.dead_letter.display()
        )
    })?;
    Ok(BulkWriter::new(
        cluster.clone(),
        &config.alerts.target,
        config.alerts.bulk_size,
        retry_policy(config),
        dead_letter,
    ))
}

/// A tokio runtime for the cluster commands.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
