//! `eshunt setup`: install what eshunt needs in the cluster (idempotent) and check privileges.

use super::cluster::{self, ConfigArg};
use super::exit;
use eshunt::es::setup::{check_privileges, install_alert_templates, PrivilegeReport};
use eshunt::state::StateStore;

/// Arguments of `eshunt setup`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
}

/// Runs `eshunt setup`: 0 when installed and every privilege is granted, 3 when privileges
/// are missing, 1 when installing failed.
pub fn run(args: Args) -> u8 {
    let config = match args.config.load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILURE;
        }
    };
    let (rules, _) = match cluster::select_rules(&config, &[]) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILURE;
        }
    };
    let mut indices: Vec<String> = rules.iter().flat_map(|r| r.source.index.clone()).collect();
    indices.sort();
    indices.dedup();
    cluster::runtime().block_on(async {
        let cluster = match cluster::connect(&config).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::FAILURE;
            }
        };
        println!("cluster: {}", cluster.info());
        match install_alert_templates(&cluster, &config.alerts.target).await {
            Ok(done) => done.iter().for_each(|line| println!("{line}")),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::FAILURE;
            }
        }
        let store = StateStore::new(cluster.clone(), &config.schedule.state_index);
        match store.install().await {
            Ok(true) => println!("state index {}: created", store.index()),
            Ok(false) => println!("state index {}: already exists", store.index()),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::FAILURE;
            }
        }
        match check_privileges(
            &cluster,
            &indices,
            &config.alerts.target,
            &config.schedule.state_index,
        )
        .await
        {
            Ok(PrivilegeReport::AllGranted) => {
                println!("privileges: all granted");
                exit::OK
            }
            Ok(PrivilegeReport::SecurityDisabled) => {
                println!("privileges: the cluster has no security enabled; nothing to check");
                exit::OK
            }
            Ok(PrivilegeReport::Unchecked(what)) => {
                println!("privileges: {what}");
                exit::OK
            }
            Ok(PrivilegeReport::Missing(missing)) => {
                println!("privileges: MISSING — grant these to the configured user:");
                for m in missing {
                    println!("  {} on {} (for {})", m.privilege, m.resource, m.purpose);
                }
                exit::PARTIAL
            }
            Err(e) => {
                eprintln!("error: checking privileges: {e}");
                exit::FAILURE
            }
        }
    })
}
