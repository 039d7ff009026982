//! One rule over one window of the cluster: page the hits, evaluate each, deliver the alerts.
//! Used by `eshunt hunt` (one pass), the scheduler and backfill.

use crate::alert;
use crate::alert::Alert;
use crate::es::retry::{Jitter, RetryPolicy};
use crate::es::{Cluster, EsError};
use crate::event::from_ecs::FetchPlan;
use crate::event::{Event, Origin, Shape};
use crate::rule::PrefilterCheck;
use crate::rule::Rule;
use crate::sink::{Delivery, DeliveryError, WriteReport};
use crate::source::elasticsearch::{
    fetch_documents, fetch_original, fetch_plan, Hit, PageSettings, Pager, Shards, WindowError,
};
use crate::tally::{Skipped, Tally};
use crate::time::Window;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How late documents arrived: `event.ingested − @timestamp`, over the hits that have both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lateness {
    /// Hits measured.
    pub count: u64,
    /// Sum of lateness, milliseconds.
    pub total_ms: i64,
    /// Largest lateness, milliseconds.
    pub max_ms: i64,
}

impl Lateness {
    /// Measures one hit, from its doc values.
    fn observe(&mut self, hit: &Hit) {
        if let (Some(ingested), Some(at)) = (hit.ingested_ms, hit.timestamp_ms) {
            let ms = ingested - at;
            self.count += 1;
            self.total_ms += ms;
            self.max_ms = self.max_ms.max(ms);
        }
    }

    /// Mean lateness in milliseconds.
    pub fn mean_ms(&self) -> i64 {
        if self.count == 0 {
            0
        } else {
            self.total_ms / self.count as i64
        }
    }
}

/// What one window of one rule did.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowReport {
    /// The rule.
    pub rule_id: String,
    /// The window.
    pub window: Window,
    /// Hits returned by the prefilter.
    pub hits: u64,
    /// Hits the condition matched.
    pub matched: u64,
    /// Alerts written / already present / dead-lettered.
    pub written: WriteReport,
    /// Pages fetched.
    pub pages: u64,
    /// Server time, milliseconds.
    pub took_ms: u64,
    /// Shard accounting.
    pub shards: Shards,
    /// Fields the condition needed that some documents hold only unreadably: field → hits.
    pub unavailable: BTreeMap<String, u64>,
    /// Hits evaluated with at least one needed field unreadable (their verdicts may be wrong).
    pub unavailable_hits: u64,
    /// Hits that could not be evaluated (no `_source`, or a `_source` that is not JSON).
    pub skipped: u64,
    /// Ingest delay of the hits.
    pub lateness: Lateness,
    /// Attempts needed (1 when the first try was complete).
    pub attempts: u32,
    /// Wall time of the successful attempt.
    pub elapsed: Duration,
}

/// Runs `rule` over `window` once. Each hit's raw `_source` (the condition's fields) is checked
/// against the condition's needles, then parsed and evaluated; matching hits are gathered across
/// pages and, a batch at a time ([`Pending`]), fetched again with every field the alert needs
/// and delivered. The window is complete only if every page was and every alert was delivered. When `cancel` is set, the window stops at the next page
/// boundary (releasing its point in time) and is reported incomplete.
pub async fn hunt_window(
    cluster: &Cluster,
    rule: &Rule,
    window: Window,
    settings: PageSettings,
    delivery: &Delivery<'_>,
    now: DateTime<Utc>,
    cancel: Option<&AtomicBool>,
) -> Result<WindowReport, WindowError> {
    let started = Instant::now();
    let alert_fields = alert_plan(rule);
    let mut tally = Tally::default();
    let mut written = WriteReport::default();
    let mut lateness = Lateness::default();
    let (mut hits_seen, mut matched_total, mut unavailable_hits) = (0, 0, 0);
    let mut pending = Pending::new(delivery.batch_size());
    let mut pager = Pager::new(cluster, rule, window, settings);
    let result: Result<(), WindowError> = async {
        while let Some(hits) = pager.next_page().await? {
            if cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
                return Err(WindowError::Incomplete("cancelled by shutdown".into()));
            }
            let mut matched = Vec::new();
            for hit in hits {
                hits_seen += 1;
                lateness.observe(&hit);
                if !rule
                    .condition_needles
                    .may_match(hit.source.get().as_bytes())
                {
                    continue;
                }
                let event = match event_of(cluster, hit).await? {
                    Ok(event) => event,
                    Err(skipped) => {
                        tally.skip(skipped);
                        continue;
                    }
                };
                let verdict = rule.evaluate(&event, PrefilterCheck::DoneByCluster);
                unavailable_hits += u64::from(!verdict.unavailable.is_empty());
                for field in &verdict.unavailable {
                    tally.unavailable(&rule.meta.id, field.as_str(), &event);
                }
                if verdict.matched {
                    matched.push(event);
                }
            }
            matched_total += matched.len() as u64;
            pending.extend(matched);
            if pending.is_due() {
                written.add(
                    pending
                        .deliver(cluster, rule, &alert_fields, delivery, now)
                        .await?,
                );
            }
        }
        written.add(
            pending
                .deliver(cluster, rule, &alert_fields, delivery, now)
                .await?,
        );
        Ok(())
    }
    .await;
    let (pages, took_ms, shards) = (pager.pages, pager.took_ms, pager.shards);
    let skipped = pager.without_source + tally.skipped_total();
    pager.close().await;
    result?;
    Ok(WindowReport {
        rule_id: rule.meta.id.clone(),
        window,
        hits: hits_seen,
        matched: matched_total,
        written,
        pages,
        took_ms,
        shards,
        unavailable: tally
            .unavailable
            .remove(&rule.meta.id)
            .unwrap_or_default()
            .into_iter()
            .map(|(field, occ)| (field, occ.count))
            .collect(),
        unavailable_hits,
        skipped,
        lateness,
        attempts: 1,
        elapsed: started.elapsed(),
    })
}

/// How long matched events wait for more before they are delivered, so the alerts of a slow
/// window are not held back until its end.
const DELIVER_AFTER: Duration = Duration::from_secs(5);

/// Matched events waiting for their alerts to be delivered, gathered across pages: up to the
/// delivery's batch size, or for at most [`DELIVER_AFTER`]. One `_mget`, one id check and one
/// bulk request then serve the whole batch instead of one page.
struct Pending {
    events: Vec<Event>,
    batch: usize,
    since: Option<Instant>,
}

impl Pending {
    fn new(batch: usize) -> Pending {
        Pending {
            events: Vec::new(),
            batch: batch.max(1),
            since: None,
        }
    }

    fn extend(&mut self, matched: Vec<Event>) {
        if !matched.is_empty() && self.since.is_none() {
            self.since = Some(Instant::now());
        }
        self.events.extend(matched);
    }

    /// Whether the batch is full, or has waited long enough.
    fn is_due(&self) -> bool {
        self.events.len() >= self.batch || self.since.is_some_and(|s| s.elapsed() >= DELIVER_AFTER)
    }

    /// Builds and delivers the alerts of every pending event, a batch at a time.
    async fn deliver(
        &mut self,
        cluster: &Cluster,
        rule: &Rule,
        plan: &FetchPlan,
        delivery: &Delivery<'_>,
        now: DateTime<Utc>,
    ) -> Result<WriteReport, WindowError> {
        let mut written = WriteReport::default();
        self.since = None;
        while !self.events.is_empty() {
            let rest = self.events.split_off(self.events.len().min(self.batch));
            let batch = std::mem::replace(&mut self.events, rest);
            let alerts = alerts_for(cluster, rule, batch, plan, now).await?;
            written.add(delivery.deliver(&alerts).await.map_err(|e| match e {
                DeliveryError::Cluster(e) => WindowError::Es(e),
                DeliveryError::Output(e) => WindowError::Output(e),
            })?);
        }
        Ok(written)
    }
}

/// What building an alert needs: every field the rule reads (condition, title, dedup, context)
/// and the source fields the alert copies.
pub fn alert_plan(rule: &Rule) -> FetchPlan {
    let paths = rule.field_paths();
    let all = paths
        .iter()
        .map(String::as_str)
        .chain(alert::source_paths().iter().copied());
    fetch_plan(rule, all)
}

/// The alerts of matching hits, built from the documents fetched again with every field the
/// alert needs. A document that vanished since the search keeps the event the verdict was made
/// on.
async fn alerts_for(
    cluster: &Cluster,
    rule: &Rule,
    matched: Vec<Event>,
    plan: &FetchPlan,
    now: DateTime<Utc>,
) -> Result<Vec<Alert>, EsError> {
    let docs: Vec<(&str, &str)> = matched
        .iter()
        .filter_map(|e| match e.origin() {
            Origin::Document { index, id } => Some((index.as_str(), id.as_str())),
            _ => None,
        })
        .collect();
    let mut fields = plan.fields.clone();
    if matched.iter().any(|e| e.shape() == Shape::EcsOriginal) {
        fields.push("event.original".into());
    }
    let mut found = fetch_documents(cluster, &docs, &fields).await?;
    Ok(matched
        .into_iter()
        .map(|partial| {
            let full = match partial.origin() {
                Origin::Document { index, id } => found.remove(&(index.clone(), id.clone())),
                _ => None,
            };
            let event = match full {
                Some(source) => Event::from_ecs(source, partial.origin().clone()),
                None => {
                    tracing::warn!(document = %partial.origin(), "a matched document vanished before its alert fields were fetched; its alert is built from the fields of the verdict");
                    partial
                }
            };
            alert::build(rule, &event, now)
        })
        .collect())
}

/// The event view of a hit (or why it has none). A hit whose needed subtrees the cluster
/// flagged unreadable (only their Java-map strings exist) is read through its `event.original`
/// when it has one (fetched for it alone), else marked unavailable.
async fn event_of(cluster: &Cluster, hit: Hit) -> Result<Result<Event, Skipped>, WindowError> {
    let origin = Origin::Document {
        index: hit.index.to_string(),
        id: hit.id.clone(),
    };
    let mut source: Value = match serde_json::from_str(hit.source.get()) {
        Ok(v) => v,
        Err(e) => return Ok(Err(Skipped::invalid_json(origin, &e))),
    };
    if !hit.unreadable.is_empty() {
        if let Some(original) = fetch_original(cluster, &hit.index, &hit.id).await? {
            if let Value::Object(map) = &mut source {
                let event = map.entry("event").or_insert_with(|| json!({}));
                event["original"] = Value::String(original);
            }
        }
    }
    let mut event = Event::from_ecs(source, origin);
    if event.shape() == Shape::EcsRebuilt {
        event.mark_unavailable(hit.unreadable.iter().map(String::as_str));
    }
    Ok(Ok(event))
}

/// Runs a window until it is complete, retrying incomplete or failed attempts with backoff
/// (only failures a retry can mend, see [`WindowError::is_retryable`]), at most
/// `1 + retry.max_retries` times. Each attempt redoes the whole window; alert ids make the
/// repeats harmless.
pub async fn hunt_window_with_retries(
    cluster: &Cluster,
    rule: &Rule,
    window: Window,
    settings: PageSettings,
    delivery: &Delivery<'_>,
    retry: RetryPolicy,
) -> Result<WindowReport, WindowError> {
    let mut jitter = Jitter::new();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match hunt_window(cluster, rule, window, settings, delivery, Utc::now(), None).await {
            Ok(mut report) => {
                report.attempts = attempt;
                return Ok(report);
            }
            Err(e) if e.is_retryable() && attempt <= retry.max_retries => {
                let delay = retry.delay(attempt, &mut jitter);
                tracing::warn!(rule = %rule.meta.id, %window, error = %e, attempt, ?delay, "window not complete; retrying");
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(e),
        }
    }
}
