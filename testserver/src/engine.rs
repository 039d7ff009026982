//! Which cluster the tests meet: the real engine by default, an external cluster when one is
//! named, the emulator only when no real engine can run here.
//!
//! `ESHUNT_TEST_ENGINE` chooses:
//! - unset or `auto`: `ESHUNT_TEST_ES_URL` when set; otherwise a real OpenSearch node started
//!   once per test process by `scripts/engine start opensearch --owner PID` and shared by all
//!   processes of a `cargo test` run (it stops a minute after the last one exits). When it cannot
//!   start (no Java, no Maven), the suites say so loudly and fall back to the emulator.
//! - `required`: the same, but a real engine that cannot start fails the tests (CI sets it).
//! - `emulator`: the emulator only.
//!
//! The choice is announced once per test process on the terminal, outside the captured output.

use crate::proxy::ProxyConfig;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The cluster non-emulator test servers forward to, or `None` for the emulator.
pub(crate) fn shared() -> Option<ProxyConfig> {
    static CHOICE: OnceLock<Option<ProxyConfig>> = OnceLock::new();
    CHOICE.get_or_init(choose).clone()
}

fn choose() -> Option<ProxyConfig> {
    let mode = std::env::var("ESHUNT_TEST_ENGINE").unwrap_or_default();
    if mode == "emulator" {
        announce("cluster tests run against the emulator (ESHUNT_TEST_ENGINE=emulator)");
        return None;
    }
    if let Some(config) = ProxyConfig::from_env() {
        announce(&format!(
            "cluster tests run against the cluster at {} (ESHUNT_TEST_ES_URL)",
            config.url
        ));
        return Some(config);
    }
    match start_opensearch() {
        Ok(url) => {
            announce(&format!(
                "cluster tests run against a real OpenSearch node at {url} (scripts/engine)"
            ));
            Some(ProxyConfig {
                url,
                ..ProxyConfig::default()
            })
        }
        Err(reason) if mode == "required" => {
            panic!("ESHUNT_TEST_ENGINE=required but the real engine did not start: {reason}")
        }
        Err(reason) => {
            announce(&format!(
                "WARNING: no real engine ({reason}); cluster tests fall back to the EMULATOR. \
                 Install Java 17+ and Maven, or set ESHUNT_TEST_ENGINE=required to fail instead."
            ));
            None
        }
    }
}

/// Runs `scripts/engine start opensearch` owned by this process; the URL it prints last.
fn start_opensearch() -> Result<String, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/engine");
    let output = Command::new("bash")
        .arg(&script)
        .args(["start", "opensearch", "--owner"])
        .arg(std::process::id().to_string())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(stderr.trim().lines().last().unwrap_or("failed").to_string());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().last() {
        Some(url) if url.starts_with("http://") => Ok(url.to_string()),
        _ => Err(format!("scripts/engine printed no URL: {stdout}{stderr}")),
    }
}

/// Writes to the terminal directly: the test harness captures only `print!`/`eprint!`.
fn announce(message: &str) {
    let _ = writeln!(std::io::stderr(), "eshunt-testserver: {message}");
}
