//! `eshunt setup`: install what eshunt needs in the cluster (idempotent) and check privileges.

use super::cluster::{self, ConfigArg};
use super::{exit, with_stdout, Fail};
use eshunt::es::clock;
use eshunt::es::setup::{check_privileges, install_alert_templates, PrivilegeReport};
use eshunt::state::StateStore;
use std::io::Write;

/// Arguments of `eshunt setup`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
}

/// Runs `eshunt setup`: 0 when installed and every privilege is granted, 3 when privileges
/// are missing or some rule files are invalid (their indices are not checked), 1 when
/// installing failed.
pub fn run(args: Args) -> u8 {
    with_stdout(|out| setup(args, out))
}

fn setup(args: Args, out: &mut dyn Write) -> Result<u8, Fail> {
    let config = args.config.load()?;
    let (rules, rule_errors) = cluster::select_rules(&config, &[])?;
    let mut indices: Vec<String> = rules.iter().flat_map(|r| r.source.index.clone()).collect();
    indices.sort();
    indices.dedup();
    cluster::runtime().block_on(async {
        let cluster = cluster::connect(&config).await?;
        writeln!(out, "cluster: {}", cluster.info())?;
        let settle = config.schedule.settle_delay.delta();
        match clock::skew(&cluster).await {
            Ok(skew) => match clock::verdict(skew, settle) {
                Some(problem) => writeln!(out, "clock: WARNING: {problem}")?,
                None => writeln!(out, "clock: not ahead of the cluster's")?,
            },
            Err(why) => writeln!(out, "clock: not checked: {why}")?,
        }
        let installed = install_alert_templates(&cluster, &config.alerts.target)
            .await
            .map_err(|e| e.to_string())?;
        for line in &installed {
            writeln!(out, "{line}")?;
        }
        let store = StateStore::new(cluster.clone(), &config.schedule.state_index);
        match store.install().await.map_err(|e| e.to_string())? {
            true => writeln!(out, "state index {}: created", store.index())?,
            false => writeln!(out, "state index {}: already exists", store.index())?,
        }
        let target = &config.alerts.target;
        let privileges = check_privileges(&cluster, &indices, target, &config.schedule.state_index)
            .await
            .map_err(|e| format!("checking privileges: {e}"))?;
        let code = match privileges {
            PrivilegeReport::AllGranted => {
                writeln!(out, "privileges: all granted")?;
                exit::OK
            }
            PrivilegeReport::SecurityDisabled => {
                writeln!(
                    out,
                    "privileges: the cluster has no security enabled; nothing to check"
                )?;
                exit::OK
            }
            PrivilegeReport::Unchecked(what) => {
                writeln!(out, "privileges: {what}")?;
                exit::OK
            }
            PrivilegeReport::Missing(missing) => {
                writeln!(
                    out,
                    "privileges: MISSING — grant these to the configured user:"
                )?;
                for m in missing {
                    writeln!(
                        out,
                        "  {} on {} (for {})",
                        m.privilege, m.resource, m.purpose
                    )?;
                }
                exit::PARTIAL
            }
        };
        if rule_errors {
            writeln!(
                out,
                "rules: some rule files are invalid (see above); their indices were not checked"
            )?;
            return Ok(exit::PARTIAL);
        }
        Ok(code)
    })
}
