//! One rule over one window of the cluster: page the hits, evaluate each, deliver the alerts.
//! Used by `eshunt hunt` (one pass), the scheduler and backfill.

use crate::alert;
use crate::alert::Alert;
use crate::es::retry::{Jitter, RetryPolicy};
use crate::es::{Cluster, EsError};
use crate::event::from_ecs::FetchPlan;
use crate::event::{Event, Origin, Shape};
use crate::hunt::threshold::Counter;
use crate::rule::threshold::Crossing;
use crate::rule::PrefilterCheck;
use crate::rule::Rule;
use crate::sink::{Delivery, DeliveryError, WriteReport};
use crate::source::elasticsearch::{
    aggregation_fields, fetch_documents, fetch_original, fetch_plan, Hit, PageSettings, Pager,
    Shards, ThresholdCrossings, WindowError,
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
/// and delivered. A threshold rule instead judges the buckets that end in the window, each
/// searched whole, and delivers an alert per group reaching its threshold. The window is
/// complete only if every page was and every alert was delivered. When `cancel` is set, the
/// window stops at the next page boundary (releasing its point in time) and is reported
/// incomplete.
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
    let mut run = Run {
        cluster,
        rule,
        settings,
        delivery,
        now,
        cancel,
        plan: alert_plan(rule),
        seen: Seen::default(),
    };
    match &rule.threshold {
        None => {
            let mut collect = Collect::Alerts(Pending::new(delivery.batch_size()));
            run.search(window, &mut collect).await?;
            if let Collect::Alerts(mut pending) = collect {
                let written = run.deliver_pending(&mut pending).await?;
                run.seen.written.add(written);
            }
        }
        Some(threshold) => {
            let by_cluster = aggregation_fields(rule);
            for bucket in threshold.buckets_ending_in(window) {
                match &by_cluster {
                    Some(fields) => {
                        let mut pages = ThresholdCrossings::new(cluster, rule, fields, bucket);
                        while let Some(crossings) = pages.next_page().await? {
                            run.deliver_crossings(&crossings).await?;
                        }
                    }
                    None => {
                        let mut collect = Collect::Counts {
                            counter: Counter::new(threshold),
                            bucket,
                        };
                        run.search(bucket, &mut collect).await?;
                        if let Collect::Counts { counter, .. } = collect {
                            run.deliver_crossings(&counter.crossings()).await?;
                        }
                    }
                }
            }
        }
    }
    Ok(run.seen.report(rule, window, started.elapsed()))
}

/// What a search does with its matches: alerts to deliver, or counts in a threshold bucket.
enum Collect<'r> {
    /// Matched events whose alerts are delivered a batch at a time.
    Alerts(Pending),
    /// A threshold rule's counts in the bucket being searched.
    Counts {
        /// The counts.
        counter: Counter<'r>,
        /// The bucket.
        bucket: Window,
    },
}

/// One window of one rule being hunted.
struct Run<'a> {
    cluster: &'a Cluster,
    rule: &'a Rule,
    settings: PageSettings,
    delivery: &'a Delivery<'a>,
    now: DateTime<Utc>,
    cancel: Option<&'a AtomicBool>,
    plan: FetchPlan,
    seen: Seen,
}

/// What a window's searches saw, for its report.
#[derive(Default)]
struct Seen {
    tally: Tally,
    written: WriteReport,
    lateness: Lateness,
    hits: u64,
    matched: u64,
    unavailable_hits: u64,
    pages: u64,
    took_ms: u64,
    shards: Shards,
    skipped: u64,
}

impl Run<'_> {
    /// Pages through the rule's hits in `range`, evaluating each and collecting the matches.
    async fn search(
        &mut self,
        range: Window,
        collect: &mut Collect<'_>,
    ) -> Result<(), WindowError> {
        let mut pager = Pager::new(self.cluster, self.rule, range, self.settings);
        let result = self.page_through(&mut pager, collect).await;
        self.seen.pages += pager.pages;
        self.seen.took_ms += pager.took_ms;
        self.seen.shards = pager.shards;
        self.seen.skipped += pager.without_source;
        pager.close().await;
        result
    }

    async fn page_through(
        &mut self,
        pager: &mut Pager<'_>,
        collect: &mut Collect<'_>,
    ) -> Result<(), WindowError> {
        while let Some(hits) = pager.next_page().await? {
            if self.cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
                return Err(WindowError::Incomplete("cancelled by shutdown".into()));
            }
            for hit in hits {
                if let Some(event) = self.judge(hit).await? {
                    self.seen.matched += 1;
                    match collect {
                        Collect::Alerts(pending) => pending.extend(vec![event]),
                        Collect::Counts { counter, bucket } => {
                            let at = event.time().unwrap_or(bucket.start);
                            counter.add_in(*bucket, &event, at);
                        }
                    }
                }
            }
            if let Collect::Alerts(pending) = collect {
                if pending.is_due() {
                    let written = self.deliver_pending(pending).await?;
                    self.seen.written.add(written);
                }
            }
        }
        Ok(())
    }

    /// The event of a hit when the rule matches it.
    async fn judge(&mut self, hit: Hit) -> Result<Option<Event>, WindowError> {
        self.seen.hits += 1;
        self.seen.lateness.observe(&hit);
        let rule = self.rule;
        if !rule
            .condition_needles
            .may_match(hit.source.get().as_bytes())
        {
            return Ok(None);
        }
        let event = match event_of(self.cluster, hit).await? {
            Ok(event) => event,
            Err(skipped) => {
                self.seen.tally.skip(skipped);
                return Ok(None);
            }
        };
        let verdict = rule.evaluate(&event, PrefilterCheck::DoneByCluster);
        self.seen.unavailable_hits += u64::from(!verdict.unavailable.is_empty());
        for field in &verdict.unavailable {
            self.seen
                .tally
                .unavailable(&rule.meta.id, field.as_str(), &event);
        }
        Ok(verdict.matched.then_some(event))
    }

    async fn deliver_pending(&self, pending: &mut Pending) -> Result<WriteReport, WindowError> {
        pending
            .deliver(self.cluster, self.rule, &self.plan, self.delivery, self.now)
            .await
    }

    /// Delivers the alerts of groups that reached the threshold in a bucket, building them a
    /// delivery batch at a time (a bucket may have a million groups).
    async fn deliver_crossings(&mut self, crossings: &[Crossing]) -> Result<(), WindowError> {
        for batch in crossings.chunks(self.delivery.batch_size().max(1)) {
            let alerts: Vec<Alert> = batch
                .iter()
                .map(|c| alert::threshold(self.rule, c, self.now))
                .collect();
            let written = self.delivery.deliver(&alerts).await.map_err(window_error)?;
            self.seen.written.add(written);
        }
        Ok(())
    }
}

impl Seen {
    fn report(mut self, rule: &Rule, window: Window, elapsed: Duration) -> WindowReport {
        WindowReport {
            rule_id: rule.meta.id.clone(),
            window,
            hits: self.hits,
            matched: self.matched,
            written: self.written,
            pages: self.pages,
            took_ms: self.took_ms,
            shards: self.shards,
            unavailable: self
                .tally
                .unavailable
                .remove(&rule.meta.id)
                .unwrap_or_default()
                .into_iter()
                .map(|(field, occ)| (field, occ.count))
                .collect(),
            unavailable_hits: self.unavailable_hits,
            skipped: self.skipped + self.tally.skipped_total(),
            lateness: self.lateness,
            attempts: 1,
            elapsed,
        }
    }
}

fn window_error(e: DeliveryError) -> WindowError {
    match e {
        DeliveryError::Cluster(e) => WindowError::Es(e),
        DeliveryError::Output(e) => WindowError::Output(e),
    }
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
            written.add(delivery.deliver(&alerts).await.map_err(window_error)?);
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
