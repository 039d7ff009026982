//! Writing alerts to Elasticsearch/OpenSearch: bulk `create` with the deterministic `_id`, so
//! writing the same alert twice is harmless.
//!
//! `create` refuses an `_id` only within one index, and a data stream writes to its newest
//! backing index: after a rollover the same alert would be created again. So each batch first
//! asks the whole target which of its ids it already holds (an `ids` query across every backing
//! index) and sends only the others. Search sees only refreshed documents, so the target is
//! refreshed first (cheap when nothing changed; skipped without the right to): a rerun right
//! after a rollover — a window retried at once — then finds the alerts written by the attempt
//! before (a real engine showed the gap). `refresh=wait_for` on each write would do the same at
//! up to a refresh interval per batch.
//!
//! A bulk request answers 200 even when items fail, so every item is checked: `201` created;
//! `409` already written (counted, not an error); `429`/`5xx` retried alone, with backoff;
//! anything else (a mapping conflict…) is reported and the alert appended to the dead-letter
//! file, so no alert is ever lost. Items still failing after the retries make the write fail:
//! the caller must not treat the window as done.

use super::dead_letter::DeadLetter;
use super::WriteReport;
use crate::alert::Alert;
use crate::es::retry::{is_retryable_status, Jitter, RetryPolicy};
use crate::es::{Cluster, EsError, Request};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

/// Writes alerts with bulk `create` requests.
pub struct BulkWriter {
    cluster: Cluster,
    target: String,
    batch: usize,
    retry: RetryPolicy,
    dead_letter: DeadLetter,
    /// Whether the target was found unreadable (warned once).
    warned_unreadable: AtomicBool,
}

/// Whether a refused item says the target takes no alert at all (missing rights, no such index,
/// a closed index) rather than that this alert does not fit: the write fails, so the window is
/// retried once that is fixed, instead of every alert going to the dead-letter file.
fn refuses_every_alert(status: u16, item: &Value) -> bool {
    matches!(status, 401 | 403 | 404)
        || item["error"]["type"].as_str() == Some("index_closed_exception")
}

impl BulkWriter {
    /// A writer to `target` (a data stream or index), `batch` alerts per request.
    pub fn new(
        cluster: Cluster,
        target: &str,
        batch: usize,
        retry: RetryPolicy,
        dead_letter: DeadLetter,
    ) -> BulkWriter {
        BulkWriter {
            cluster,
            target: target.to_string(),
            batch: batch.max(1),
            retry,
            dead_letter,
            warned_unreadable: AtomicBool::new(false),
        }
    }

    /// How many alerts one bulk request carries.
    pub fn batch_size(&self) -> usize {
        self.batch
    }

    /// Writes alerts; succeeds only when every alert was created, found existing, or
    /// dead-lettered.
    pub async fn write(&self, alerts: &[Alert]) -> Result<WriteReport, EsError> {
        let mut report = WriteReport::default();
        for chunk in alerts.chunks(self.batch) {
            report.add(self.write_chunk(chunk).await?);
        }
        Ok(report)
    }

    async fn write_chunk(&self, alerts: &[Alert]) -> Result<WriteReport, EsError> {
        let held = self.held(alerts).await?;
        let mut report = WriteReport {
            existing: held.len() as u64,
            ..WriteReport::default()
        };
        let mut pending: Vec<&Alert> = alerts.iter().filter(|a| !held.contains(&a.id)).collect();
        if pending.is_empty() {
            return Ok(report);
        }
        let mut jitter = Jitter::new();
        let mut attempt = 0;
        loop {
            let reply = self
                .cluster
                .execute(&Request::post("/_bulk").ndjson(self.body(&pending)))
                .await?
                .ok("writing alerts")?;
            let items = reply.body["items"].as_array().cloned().unwrap_or_default();
            if items.len() != pending.len() {
                return Err(EsError::protocol(
                    "writing alerts",
                    format!("{} items answered for {} sent", items.len(), pending.len()),
                ));
            }
            let mut retry = Vec::new();
            for (alert, item) in pending.iter().zip(&items) {
                let result = item.get("create").unwrap_or(item);
                match result["status"].as_u64().unwrap_or(0) as u16 {
                    200 | 201 => report.created += 1,
                    409 => report.existing += 1,
                    status if is_retryable_status(status) || status >= 500 => retry.push(*alert),
                    status if refuses_every_alert(status, result) => {
                        return Err(EsError::status("writing alerts", status, result));
                    }
                    status => {
                        let error = &result["error"];
                        tracing::error!(alert = %alert.id, rule = %alert.rule_id, status, %error, "alert refused; appended to the dead-letter file");
                        self.dead_letter
                            .append(alert, &self.target, status, error)
                            .map_err(|e| {
                                EsError::protocol("writing the dead-letter file", e.to_string())
                            })?;
                        report.dead_lettered += 1;
                    }
                }
            }
            if retry.is_empty() {
                return Ok(report);
            }
            attempt += 1;
            if attempt > self.retry.max_retries {
                return Err(EsError::protocol(
                    "writing alerts",
                    format!(
                        "{} alerts still rejected (429/5xx) after {} retries",
                        retry.len(),
                        self.retry.max_retries
                    ),
                ));
            }
            report.retried += retry.len() as u64;
            let delay = self.retry.delay(attempt, &mut jitter);
            tracing::warn!(
                items = retry.len(),
                attempt,
                ?delay,
                "retrying rejected alerts"
            );
            tokio::time::sleep(delay).await;
            pending = retry;
        }
    }

    /// The ids of `alerts` the target already holds, in any of its backing indices (none when
    /// the target does not exist yet).
    async fn held(&self, alerts: &[Alert]) -> Result<HashSet<String>, EsError> {
        let ids: Vec<&str> = alerts.iter().map(|a| a.id.as_str()).collect();
        let refresh = Request::post(format!("/{}/_refresh", crate::es::index_path(&self.target)))
            .param("ignore_unavailable", "true");
        self.cluster.execute(&refresh).await?;
        let request = Request::post(format!("/{}/_search", crate::es::index_path(&self.target)))
            .param("ignore_unavailable", "true")
            .json(&json!({
                "size": ids.len(),
                "_source": false,
                "track_total_hits": false,
                "query": {"ids": {"values": ids}},
            }));
        let reply = self.cluster.execute(&request).await?;
        if reply.status == 404 {
            return Ok(HashSet::new());
        }
        if reply.status == 403 {
            // Without read on the target, `create` alone guards against duplicates: within the
            // current backing index only.
            if !self.warned_unreadable.swap(true, Ordering::Relaxed) {
                tracing::warn!(target = %self.target, "cannot read the alert target: alerts are not checked against earlier backing indices, so a rollover may duplicate some; grant `read` on it");
            }
            return Ok(HashSet::new());
        }
        let reply = reply.ok("looking for alerts already written")?;
        Ok(reply.body["hits"]["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h["_id"].as_str().map(str::to_string))
            .collect())
    }

    fn body(&self, alerts: &[&Alert]) -> String {
        let mut body = String::new();
        for alert in alerts {
            let action = json!({"create": {"_index": self.target, "_id": alert.id}});
            body.push_str(&action.to_string());
            body.push('\n');
            body.push_str(&alert.doc.to_string());
            body.push('\n');
        }
        body
    }
}
