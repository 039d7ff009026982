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
//!
//! A suppressed alert ([`Merge`]) is created the same way when new; when the target holds it,
//! it is updated in the backing index holding it (data streams take no updates by their own
//! name) by the script of [`super::merge`]. A create that finds the alert written meanwhile
//! (409) and an update that finds it gone (404) are redone the other way, after asking the
//! target again.

use super::dead_letter::DeadLetter;
use super::merge::Merge;
use super::WriteReport;
use crate::alert::Alert;
use crate::es::retry::{is_retryable_status, Jitter, RetryPolicy};
use crate::es::{Cluster, EsError, Request};
use serde_json::{json, Value};
use std::collections::HashMap;
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
        let held = self.held(alerts.iter().map(|a| a.id.as_str())).await?;
        let report = WriteReport {
            existing: held.len() as u64,
            ..WriteReport::default()
        };
        let ops = alerts
            .iter()
            .filter(|a| !held.contains_key(&a.id))
            .map(Op::Create)
            .collect();
        let (mut sent, _) = self.send(ops).await?;
        sent.add(report);
        Ok(sent)
    }

    /// Merges windows' parts of suppressed alerts into the target: each alert is created when
    /// new, else updated where it is held; succeeds only when every part was merged or
    /// dead-lettered. `existing` counts the alerts found written, `updated` those of them whose
    /// stored counts or first event changed.
    pub async fn merge(&self, merges: &[Merge]) -> Result<WriteReport, EsError> {
        let mut report = WriteReport::default();
        for chunk in merges.chunks(self.batch) {
            report.add(self.merge_chunk(chunk).await?);
        }
        Ok(report)
    }

    async fn merge_chunk(&self, merges: &[Merge]) -> Result<WriteReport, EsError> {
        let mut report = WriteReport::default();
        let mut todo: Vec<&Merge> = merges.iter().collect();
        for _ in 0..=self.retry.max_retries {
            let held = self.held(todo.iter().map(|m| m.alert.id.as_str())).await?;
            let ops = todo
                .iter()
                .map(|m| match held.get(&m.alert.id) {
                    Some(index) => Op::Update(m, index.clone()),
                    None => Op::Start(m),
                })
                .collect();
            let (sent, redo) = self.send(ops).await?;
            report.add(sent);
            if redo.is_empty() {
                return Ok(report);
            }
            todo = redo;
        }
        Err(EsError::protocol(
            "merging suppressed alerts",
            format!(
                "{} alerts kept being created or deleted by others while merging (finding where an alert is needs `read` on the target)",
                todo.len()
            ),
        ))
    }

    /// Sends bulk operations, retrying items refused for now (429/5xx) with backoff; the
    /// suppressed alerts to merge again (created or deleted meanwhile by others) come back.
    async fn send<'m>(
        &self,
        mut pending: Vec<Op<'m>>,
    ) -> Result<(WriteReport, Vec<&'m Merge>), EsError> {
        let mut report = WriteReport::default();
        let mut redo = Vec::new();
        let mut jitter = Jitter::new();
        let mut attempt = 0;
        while !pending.is_empty() {
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
            for (op, item) in pending.into_iter().zip(&items) {
                let result = item
                    .as_object()
                    .and_then(|o| o.values().next())
                    .unwrap_or(item);
                let status = result["status"].as_u64().unwrap_or(0) as u16;
                match op.outcome(status, result) {
                    Outcome::Created => report.created += 1,
                    Outcome::Existing => report.existing += 1,
                    Outcome::Updated => {
                        report.existing += 1;
                        report.updated += 1;
                    }
                    Outcome::Redo(merge) => redo.push(merge),
                    Outcome::Retry => retry.push(op),
                    Outcome::RefusesEveryAlert => {
                        return Err(EsError::status("writing alerts", status, result));
                    }
                    Outcome::Refused => {
                        self.dead_letter(op.alert(), status, &result["error"])?;
                        report.dead_lettered += 1;
                    }
                }
            }
            if retry.is_empty() {
                break;
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
        Ok((report, redo))
    }

    /// Logs a refused alert and appends it to the dead-letter file.
    fn dead_letter(&self, alert: &Alert, status: u16, error: &Value) -> Result<(), EsError> {
        tracing::error!(alert = %alert.id, rule = %alert.rule_id, status, %error, "alert refused; appended to the dead-letter file");
        self.dead_letter
            .append(alert, &self.target, status, error)
            .map_err(|e| EsError::protocol("writing the dead-letter file", e.to_string()))
    }

    /// Which of `ids` the target already holds, in any of its backing indices, and where (none
    /// when the target does not exist yet).
    async fn held(
        &self,
        ids: impl Iterator<Item = &str>,
    ) -> Result<HashMap<String, String>, EsError> {
        let ids: Vec<&str> = ids.collect();
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
            return Ok(HashMap::new());
        }
        if reply.status == 403 {
            // Without read on the target, `create` alone guards against duplicates: within the
            // current backing index only.
            if !self.warned_unreadable.swap(true, Ordering::Relaxed) {
                tracing::warn!(target = %self.target, "cannot read the alert target: alerts are not checked against earlier backing indices, so a rollover may duplicate some; grant `read` on it");
            }
            return Ok(HashMap::new());
        }
        let reply = reply.ok("looking for alerts already written")?;
        Ok(reply.body["hits"]["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| {
                Some((
                    h["_id"].as_str()?.to_string(),
                    h["_index"].as_str()?.to_string(),
                ))
            })
            .collect())
    }

    fn body(&self, ops: &[Op<'_>]) -> String {
        let mut body = String::new();
        for op in ops {
            let (action, source) = match op {
                Op::Create(alert) => (self.create(alert), alert.doc.to_string()),
                Op::Start(merge) => (self.create(&merge.alert), merge.alert.doc.to_string()),
                Op::Update(merge, index) => (
                    json!({"update": {"_index": index, "_id": merge.alert.id,
                                      "retry_on_conflict": UPDATE_CONFLICT_RETRIES}}),
                    merge.update().to_string(),
                ),
            };
            body.push_str(&action.to_string());
            body.push('\n');
            body.push_str(&source);
            body.push('\n');
        }
        body
    }

    fn create(&self, alert: &Alert) -> Value {
        json!({"create": {"_index": self.target, "_id": alert.id}})
    }
}

/// How often the cluster retries an update that raced another one on the same alert (parallel
/// backfill chunks merging into one suppressed alert).
const UPDATE_CONFLICT_RETRIES: u32 = 5;

/// One bulk operation.
enum Op<'a> {
    /// Create an alert (409: it exists already).
    Create(&'a Alert),
    /// Create a suppressed alert with a window's part (409: written meanwhile, merge into it).
    Start(&'a Merge),
    /// Merge a window's part into a stored suppressed alert, in the concrete index holding it
    /// (404: deleted meanwhile, create it).
    Update(&'a Merge, String),
}

/// What became of one bulk item.
enum Outcome<'a> {
    Created,
    Existing,
    Updated,
    /// Merge again, after asking the target where the alert is.
    Redo(&'a Merge),
    /// Refused for now: resend.
    Retry,
    /// The target takes no alert (see [`refuses_every_alert`]).
    RefusesEveryAlert,
    /// This alert does not fit: dead-lettered.
    Refused,
}

impl<'a> Op<'a> {
    /// The alert the operation writes.
    fn alert(&self) -> &'a Alert {
        match self {
            Op::Create(alert) => alert,
            Op::Start(merge) | Op::Update(merge, _) => &merge.alert,
        }
    }

    /// What the item's `status` and result say.
    fn outcome(&self, status: u16, result: &Value) -> Outcome<'a> {
        let missing = result["error"]["type"].as_str() == Some("document_missing_exception");
        match (self, status) {
            (Op::Update(..), 200) if result["result"].as_str() == Some("noop") => Outcome::Existing,
            (Op::Update(..), 200 | 201) => Outcome::Updated,
            (_, 200 | 201) => Outcome::Created,
            (Op::Create(_), 409) => Outcome::Existing,
            (Op::Start(merge), 409) => Outcome::Redo(merge),
            (Op::Update(merge, _), 404) if missing => Outcome::Redo(merge),
            // An update still conflicting after the cluster's own retries.
            (Op::Update(..), 409) => Outcome::Retry,
            (_, status) if is_retryable_status(status) || status >= 500 => Outcome::Retry,
            (_, status) if refuses_every_alert(status, result) => Outcome::RefusesEveryAlert,
            _ => Outcome::Refused,
        }
    }
}
