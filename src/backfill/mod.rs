//! Backfill: the same rules over any date range — of the cluster ([`Backfiller`]) or of CloudTrail
//! files ([`files`]).
//!
//! A cluster backfill splits the range into chunks (rule × time), runs them with bounded
//! concurrency through the same window hunt as live runs (so it yields exactly the alerts live
//! runs would, with the same ids: running it twice, or over a range live runs covered, adds
//! none), and records each finished chunk in the state index. Its id is derived from the rules,
//! range and chunk size, so running the same command again — or `--resume` — continues where
//! it stopped.

pub mod files;

use crate::es::retry::RetryPolicy;
use crate::es::{Cluster, EsError};
use crate::hunt::cluster::{hunt_window_with_retries, WindowReport};
use crate::progress::Progress;
use crate::rule::Rule;
use crate::schedule::plan::split;
use crate::sink::elasticsearch::BulkWriter;
use crate::sink::Delivery;
use crate::source::elasticsearch::PageSettings;
use crate::state::records::{Backfill, BackfillChunk};
use crate::state::StateStore;
use crate::time::Span;
use crate::time::Window;
use chrono::Utc;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::Arc;

/// What to backfill.
#[derive(Debug, Clone)]
pub struct BackfillSpec {
    /// Rules.
    pub rules: Vec<Arc<Rule>>,
    /// Range (on each rule's timestamp field).
    pub range: Window,
    /// Chunk length.
    pub chunk: Span,
    /// Chunks run at once.
    pub concurrency: usize,
}

impl BackfillSpec {
    /// The backfill's id: a hash of rules (with their versions: a changed rule is a new
    /// backfill), range and chunk length.
    pub fn id(&self) -> String {
        let mut ids: Vec<String> = self
            .rules
            .iter()
            .map(|r| format!("{}@{}", r.meta.id, r.meta.version))
            .collect();
        ids.sort();
        let key = format!(
            "{}|{}|{}|{}",
            ids.join(","),
            self.range.start.timestamp_millis(),
            self.range.end.timestamp_millis(),
            self.chunk
        );
        Sha256::digest(key.as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Every (rule, window) chunk, in time order.
    pub fn chunks(&self) -> Vec<(Arc<Rule>, Window)> {
        let windows = split(self.range.start, self.range.end, self.chunk.delta());
        windows
            .iter()
            .flat_map(|w| self.rules.iter().map(move |r| (r.clone(), *w)))
            .collect()
    }
}

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillReport {
    /// The backfill's id.
    pub id: String,
    /// Chunks in all.
    pub total: u64,
    /// Chunks finished by earlier runs (skipped now).
    pub resumed: u64,
    /// Chunks finished now.
    pub done: u64,
    /// Chunks that failed (after retries); run again to retry them.
    pub failed: Vec<String>,
    /// Hits processed now.
    pub hits: u64,
    /// Alerts created now.
    pub alerts_created: u64,
    /// Alerts that already existed.
    pub alerts_existing: u64,
    /// Hits with a needed field held only unreadably, or that could not be evaluated.
    pub unreliable: u64,
}

/// Everything a cluster backfill needs.
#[derive(Clone)]
pub struct Backfiller {
    /// The cluster.
    pub cluster: Cluster,
    /// State index (progress).
    pub store: StateStore,
    /// Alert writer.
    pub writer: Arc<BulkWriter>,
    /// Paging.
    pub pages: PageSettings,
    /// Retries per chunk.
    pub retry: RetryPolicy,
}

impl Backfiller {
    /// Runs (or resumes) a backfill.
    pub async fn run(&self, spec: &BackfillSpec) -> Result<BackfillReport, EsError> {
        let id = spec.id();
        let chunks = spec.chunks();
        self.record_start(&id, spec, chunks.len() as u64).await?;
        let finished = self.finished_chunks(&id, &chunks).await?;
        let todo: Vec<_> = chunks
            .iter()
            .filter(|(r, w)| !finished.contains(&BackfillChunk::id(&id, &r.meta.id, w.start)))
            .cloned()
            .collect();
        let progress = Progress::new(
            &format!("backfill {id}"),
            chunks.len() as u64,
            finished.len() as u64,
        );
        let mut report = BackfillReport {
            id: id.clone(),
            total: chunks.len() as u64,
            resumed: finished.len() as u64,
            ..BackfillReport::default()
        };
        let progress = Arc::new(progress);
        let mut queue = todo.into_iter();
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.len() < spec.concurrency.max(1) {
                let Some((rule, window)) = queue.next() else {
                    break;
                };
                let (this, id, progress) = (self.clone(), id.clone(), progress.clone());
                running.spawn(async move {
                    let outcome = this.chunk(&id, &rule, window).await;
                    if let Ok(done) = &outcome {
                        progress.add(done.hits, done.written.created);
                    }
                    (rule.meta.id.clone(), window, outcome)
                });
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            let (rule_id, window, outcome) =
                joined.map_err(|e| EsError::protocol("backfill", e.to_string()))?;
            match outcome {
                Ok(done) => {
                    report.done += 1;
                    report.hits += done.hits;
                    report.alerts_created += done.written.created;
                    report.alerts_existing += done.written.existing;
                    report.unreliable += done.unavailable_hits + done.skipped;
                }
                Err(e) => {
                    tracing::error!(rule = %rule_id, %window, error = %e, "backfill chunk failed; run the backfill again to retry it");
                    report.failed.push(format!("{rule_id} {window}: {e}"));
                }
            }
        }
        progress.finish();
        if report.failed.is_empty() {
            self.record_finish(&id, spec, chunks.len() as u64).await?;
        }
        Ok(report)
    }

    async fn chunk(&self, id: &str, rule: &Rule, window: Window) -> Result<WindowReport, String> {
        let delivery = Delivery::Bulk(&self.writer);
        let done = hunt_window_with_retries(
            &self.cluster,
            rule,
            window,
            self.pages,
            &delivery,
            self.retry,
        )
        .await
        .map_err(|e| e.to_string())?;
        let chunk = BackfillChunk {
            kind: "backfill_chunk".into(),
            backfill_id: id.to_string(),
            rule_id: rule.meta.id.clone(),
            window_start: window.start,
            window_end: window.end,
            hits: done.hits,
            alerts_created: done.written.created,
            alerts_existing: done.written.existing,
            finished_at: Utc::now(),
        };
        self.store
            .put(&BackfillChunk::id(id, &rule.meta.id, window.start), &chunk)
            .await
            .map_err(|e| e.to_string())?;
        Ok(done)
    }

    fn record(&self, id: &str, spec: &BackfillSpec, total: u64) -> Backfill {
        Backfill {
            kind: "backfill".into(),
            backfill_id: id.to_string(),
            rule_ids: spec.rules.iter().map(|r| r.meta.id.clone()).collect(),
            range_start: spec.range.start,
            range_end: spec.range.end,
            chunk: spec.chunk.to_string(),
            chunks_total: total,
            started_at: Utc::now(),
            finished_at: None,
        }
    }

    async fn record_start(&self, id: &str, spec: &BackfillSpec, total: u64) -> Result<(), EsError> {
        let doc_id = format!("backfill:{id}");
        if self.store.get::<Backfill>(&doc_id).await?.is_none() {
            let _ = self
                .store
                .create(&doc_id, &self.record(id, spec, total))
                .await?;
        } else {
            tracing::info!(backfill = %id, "resuming");
        }
        Ok(())
    }

    async fn record_finish(
        &self,
        id: &str,
        spec: &BackfillSpec,
        total: u64,
    ) -> Result<(), EsError> {
        let doc_id = format!("backfill:{id}");
        let mut doc = match self.store.get::<Backfill>(&doc_id).await? {
            Some(existing) => existing.value,
            None => self.record(id, spec, total),
        };
        doc.finished_at = Some(Utc::now());
        self.store.put(&doc_id, &doc).await
    }

    /// The ids of the chunks already finished (looked up by id, in batches).
    async fn finished_chunks(
        &self,
        id: &str,
        chunks: &[(Arc<Rule>, Window)],
    ) -> Result<HashSet<String>, EsError> {
        let ids: Vec<String> = chunks
            .iter()
            .map(|(r, w)| BackfillChunk::id(id, &r.meta.id, w.start))
            .collect();
        self.store.existing(&ids).await
    }
}

/// The most recent unfinished backfill in the state index (for `--resume` without a range).
pub async fn latest_unfinished(store: &StateStore) -> Result<Option<Backfill>, EsError> {
    let all: Vec<Backfill> = store.search(&[], "started_at", 100).await?;
    Ok(all.into_iter().find(|b| b.finished_at.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_changes_with_rules_range_chunk_and_rule_versions() {
        let report = crate::rule::load_dir(std::path::Path::new("queries"));
        let rules: Vec<Arc<Rule>> = report.rules.into_iter().map(Arc::new).collect();
        let start = crate::time::parse_timestamp("2026-01-01").unwrap();
        let spec = |rules: Vec<Arc<Rule>>, days: i64, chunk: &str| BackfillSpec {
            rules,
            range: Window {
                start,
                end: start + chrono::TimeDelta::days(days),
            },
            chunk: Span::parse(chunk).unwrap(),
            concurrency: 1,
        };
        let base = spec(rules.clone(), 30, "1h").id();
        let mut reversed = rules.clone();
        reversed.reverse();
        assert_eq!(
            spec(reversed, 30, "1h").id(),
            base,
            "rule order does not matter"
        );
        assert_ne!(spec(rules[..1].to_vec(), 30, "1h").id(), base);
        assert_ne!(spec(rules.clone(), 31, "1h").id(), base);
        assert_ne!(spec(rules.clone(), 30, "2h").id(), base);
        let mut changed = (*rules[0]).clone();
        changed.meta.version += 1;
        let bumped = vec![Arc::new(changed), rules[1].clone()];
        assert_ne!(spec(bumped, 30, "1h").id(), base, "a new rule version");
    }
}
