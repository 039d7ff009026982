//! Prometheus metrics of scheduled hunting, per rule: runs, windows, hits, alerts, retries,
//! errors, gaps, lateness, durations and checkpoint lag — and a tiny HTTP endpoint serving them
//! (`eshunt run --metrics-addr 127.0.0.1:9464`).

use crate::hunt::cluster::WindowReport;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::timeout;

/// Counters and gauges of one rule.
#[derive(Debug, Clone, Default, PartialEq)]
struct RuleMetrics {
    windows: u64,
    windows_failed: u64,
    hits: u64,
    matched: u64,
    alerts_created: u64,
    alerts_existing: u64,
    alerts_updated: u64,
    alerts_dead_lettered: u64,
    unavailable_hits: u64,
    skipped_hits: u64,
    retries: u64,
    gaps: u64,
    gap_seconds: f64,
    window_seconds_sum: f64,
    lateness_max_seconds: f64,
    lateness_mean_seconds: f64,
    checkpoint: Option<DateTime<Utc>>,
}

/// The metrics of a process, shared by its rule tasks.
#[derive(Debug, Default)]
pub struct Metrics {
    rules: Mutex<BTreeMap<String, RuleMetrics>>,
}

impl Metrics {
    fn with(&self, rule: &str, f: impl FnOnce(&mut RuleMetrics)) {
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        f(rules.entry(rule.to_string()).or_default());
    }

    /// A window completed.
    pub fn window_done(&self, report: &WindowReport, checkpoint: DateTime<Utc>) {
        self.with(&report.rule_id, |m| {
            m.windows += 1;
            m.hits += report.hits;
            m.matched += report.matched;
            m.alerts_created += report.written.created;
            m.alerts_existing += report.written.existing;
            m.alerts_updated += report.written.updated;
            m.alerts_dead_lettered += report.written.dead_lettered;
            m.unavailable_hits += report.unavailable_hits;
            m.skipped_hits += report.skipped;
            m.retries += report.written.retried + u64::from(report.attempts.saturating_sub(1));
            m.window_seconds_sum += report.elapsed.as_secs_f64();
            if report.lateness.count > 0 {
                m.lateness_max_seconds = report.lateness.max_ms as f64 / 1000.0;
                m.lateness_mean_seconds = report.lateness.mean_ms() as f64 / 1000.0;
            }
            m.checkpoint = Some(checkpoint);
        });
    }

    /// A window attempt failed (it will be retried).
    pub fn window_failed(&self, rule: &str) {
        self.with(rule, |m| m.windows_failed += 1);
    }

    /// A gap was recorded.
    pub fn gap(&self, rule: &str, seconds: f64) {
        self.with(rule, |m| {
            m.gaps += 1;
            m.gap_seconds += seconds;
        });
    }

    /// The Prometheus text exposition, at `now` (for the lag gauge).
    pub fn render(&self, now: DateTime<Utc>) -> String {
        let rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        type Getter = fn(&RuleMetrics) -> f64;
        let series: [(&str, &str, &str, Getter); 18] = [
            (
                "eshunt_windows_total",
                "counter",
                "Windows completed.",
                |m| m.windows as f64,
            ),
            (
                "eshunt_window_failures_total",
                "counter",
                "Window attempts that failed or were incomplete (retried).",
                |m| m.windows_failed as f64,
            ),
            (
                "eshunt_hits_total",
                "counter",
                "Documents returned by the prefilter.",
                |m| m.hits as f64,
            ),
            (
                "eshunt_matched_total",
                "counter",
                "Documents the condition matched.",
                |m| m.matched as f64,
            ),
            (
                "eshunt_alerts_created_total",
                "counter",
                "Alerts written.",
                |m| m.alerts_created as f64,
            ),
            (
                "eshunt_alerts_existing_total",
                "counter",
                "Alerts already present (same id).",
                |m| m.alerts_existing as f64,
            ),
            (
                "eshunt_alerts_updated_total",
                "counter",
                "Suppressed alerts already present whose counts a window updated.",
                |m| m.alerts_updated as f64,
            ),
            (
                "eshunt_alerts_dead_lettered_total",
                "counter",
                "Alerts refused by the cluster and dead-lettered.",
                |m| m.alerts_dead_lettered as f64,
            ),
            (
                "eshunt_unavailable_hits_total",
                "counter",
                "Hits whose needed fields were held only as unparseable strings (verdicts may be wrong).",
                |m| m.unavailable_hits as f64,
            ),
            (
                "eshunt_skipped_hits_total",
                "counter",
                "Hits that could not be evaluated (no _source, or not JSON).",
                |m| m.skipped_hits as f64,
            ),
            (
                "eshunt_retries_total",
                "counter",
                "Window attempts and alert items retried.",
                |m| m.retries as f64,
            ),
            (
                "eshunt_gaps_total",
                "counter",
                "Gaps recorded (time not hunted).",
                |m| m.gaps as f64,
            ),
            (
                "eshunt_gap_seconds_total",
                "counter",
                "Seconds of time not hunted.",
                |m| m.gap_seconds,
            ),
            (
                "eshunt_window_duration_seconds_sum",
                "counter",
                "Wall time spent on completed windows.",
                |m| m.window_seconds_sum,
            ),
            (
                "eshunt_window_duration_seconds_count",
                "counter",
                "Completed windows timed.",
                |m| m.windows as f64,
            ),
            (
                "eshunt_lateness_max_seconds",
                "gauge",
                "Largest event.ingested - @timestamp in the last window with hits.",
                |m| m.lateness_max_seconds,
            ),
            (
                "eshunt_lateness_mean_seconds",
                "gauge",
                "Mean event.ingested - @timestamp in the last window with hits.",
                |m| m.lateness_mean_seconds,
            ),
            (
                "eshunt_checkpoint_timestamp_seconds",
                "gauge",
                "End of the last complete window (Unix time).",
                |m| m.checkpoint.map_or(0.0, |c| c.timestamp() as f64),
            ),
        ];
        for (name, kind, help, get) in series {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (rule, m) in rules.iter() {
                let _ = writeln!(out, "{name}{{rule=\"{}\"}} {}", escape(rule), get(m));
            }
        }
        let _ = writeln!(out, "# HELP eshunt_lag_seconds How far the checkpoint is behind now.\n# TYPE eshunt_lag_seconds gauge");
        for (rule, m) in rules.iter() {
            if let Some(cp) = m.checkpoint {
                let lag = (now - cp).num_milliseconds() as f64 / 1000.0;
                let _ = writeln!(out, "eshunt_lag_seconds{{rule=\"{}\"}} {lag}", escape(rule));
            }
        }
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Serves `GET /metrics` (any path) on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: std::sync::Arc<Metrics>) {
    loop {
        let mut socket = match listener.accept().await {
            Ok((socket, _)) => socket,
            Err(e) => {
                // Out of file descriptors and the like: do not spin.
                tracing::warn!(error = %e, "metrics endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut request = [0u8; 1024];
            // A client that never sends its request is dropped.
            if !matches!(
                timeout(SCRAPE_TIMEOUT, socket.read(&mut request)).await,
                Ok(Ok(_))
            ) {
                return;
            }
            let body = metrics.render(Utc::now());
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = timeout(SCRAPE_TIMEOUT, socket.write_all(response.as_bytes())).await;
        });
    }
}

/// How long a scrape may take to send its request or read the answer.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hunt::cluster::Lateness;
    use crate::sink::WriteReport;
    use crate::source::elasticsearch::Shards;
    use crate::time::Window;

    #[test]
    fn renders_prometheus_text_per_rule() {
        let metrics = Metrics::default();
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let report = WindowReport {
            rule_id: "r\"1".into(),
            window: Window { start: t, end: t },
            hits: 10,
            matched: 2,
            written: WriteReport {
                created: 2,
                existing: 0,
                updated: 0,
                dead_lettered: 0,
                retried: 1,
            },
            pages: 1,
            took_ms: 5,
            shards: Shards::default(),
            unavailable: [
                ("responseElements".to_string(), 3),
                ("userIdentity".to_string(), 3),
            ]
            .into(),
            unavailable_hits: 3,
            skipped: 4,
            lateness: Lateness {
                count: 2,
                total_ms: 3000,
                max_ms: 2000,
            },
            attempts: 2,
            elapsed: std::time::Duration::from_millis(1500),
        };
        metrics.window_done(&report, t);
        metrics.window_failed("r\"1");
        metrics.gap("other", 60.0);
        let text = metrics.render(t + chrono::TimeDelta::seconds(90));
        assert!(
            text.contains("eshunt_hits_total{rule=\"r\\\"1\"} 10\n"),
            "{text}"
        );
        assert!(text.contains("eshunt_retries_total{rule=\"r\\\"1\"} 2\n"));
        assert!(text.contains("eshunt_window_failures_total{rule=\"r\\\"1\"} 1\n"));
        assert!(text.contains("eshunt_lateness_max_seconds{rule=\"r\\\"1\"} 2\n"));
        assert!(text.contains("eshunt_lag_seconds{rule=\"r\\\"1\"} 90\n"));
        assert!(text.contains("eshunt_gap_seconds_total{rule=\"other\"} 60\n"));
        assert!(text.contains("eshunt_skipped_hits_total{rule=\"r\\\"1\"} 4\n"));
        assert!(
            text.contains("eshunt_unavailable_hits_total{rule=\"r\\\"1\"} 3\n"),
            "hits, not field occurrences: {text}"
        );
        assert!(text.contains("# TYPE eshunt_windows_total counter"));
    }
}
