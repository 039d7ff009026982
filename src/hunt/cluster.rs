//! One rule over one window of the cluster: page the hits, evaluate each, deliver the alerts.
//! Used by `eshunt hunt` (one pass), the scheduler and backfill.

use crate::alert;
use crate::alert::Alert;
use crate::es::retry::{Jitter, RetryPolicy};
use crate::es::{Cluster, EsError};
use crate::event::from_ecs::FetchPlan;
use crate::event::{Event, Origin, Shape};
use crate::hunt::new_terms::{History, Terms};
use crate::hunt::suppress::{self, Group, Tracker};
use crate::hunt::threshold::Counter;
use crate::rule::group::GroupKey;
use crate::rule::threshold::Crossing;
use crate::rule::PrefilterCheck;
use crate::rule::Rule;
use crate::sink::merge::Merge;
use crate::sink::{Delivery, DeliveryError, WriteReport};
use crate::source::elasticsearch::{
    aggregation_fields, fetch_documents, fetch_original, fetch_plan, Hit, PageSettings, Pager,
    Shards, ThresholdCrossings, WindowError,
};
use crate::source::history::{self, FirstOccurrence, HistoryQuery};
use crate::tally::{Skipped, Tally};
use crate::time::Window;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
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
/// and delivered. A suppressing rule gathers its matches per group and period instead, and
/// merges the window's part of each group's alert into the stored one ([`Merge`]); matches it
/// cannot suppress (a `by` field absent) get their own alerts. A threshold rule judges the
/// buckets that end in the window, each searched whole, and delivers an alert per group
/// reaching its threshold. A new terms rule keeps each term's first event in the window, asks
/// the history before the window about them, and alerts on the new ones. The window is complete only if every page was and every alert was
/// delivered. When `cancel` is set, the window stops at the next page boundary (releasing its
/// point in time) and is reported incomplete.
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
    if let Some(query) = HistoryQuery::of(rule) {
        run.new_terms(window, &query).await?;
        return Ok(run.seen.report(rule, window, started.elapsed()));
    }
    match &rule.threshold {
        None => {
            let pending = Pending::new(delivery.batch_size());
            let mut collect = match &rule.suppress {
                Some(suppression) => Collect::Suppressed {
                    tracker: Tracker::new(&rule.meta.id, suppression),
                    window,
                    unsuppressed: pending,
                },
                None => Collect::Alerts(pending),
            };
            run.search(window, &mut collect).await?;
            run.deliver_collected(collect).await?;
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

/// What a search does with its matches: alerts to deliver, suppressed groups, counts in a
/// threshold bucket, a new terms rule's terms, or the terms of its history.
enum Collect<'r> {
    /// A new terms rule's terms in the window.
    Terms(Terms<'r>),
    /// A new terms rule's history documents, checked for a batch of terms.
    History(History<'r>),
    /// Matched events whose alerts are delivered a batch at a time.
    Alerts(Pending),
    /// A suppressing rule's groups in the window, and the matches it cannot suppress.
    Suppressed {
        /// The groups.
        tracker: Tracker<'r>,
        /// The window searched.
        window: Window,
        /// Matches alerted on one by one.
        unsuppressed: Pending,
    },
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
        let pager = Pager::new(self.cluster, self.rule, range, self.settings);
        self.search_with(pager, collect).await
    }

    /// Pages through the hits `pager` selects, evaluating each and collecting the matches.
    async fn search_with(
        &mut self,
        mut pager: Pager<'_>,
        collect: &mut Collect<'_>,
    ) -> Result<(), WindowError> {
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
                let seen_at = suppress::seen_at(self.rule, &hit);
                if let Some(event) = self.judge(hit).await? {
                    self.seen.matched += 1;
                    match collect {
                        Collect::Alerts(pending) => pending.extend(vec![event]),
                        Collect::Suppressed {
                            tracker,
                            window,
                            unsuppressed,
                        } => {
                            let slice = suppress::slice_of(*window, seen_at);
                            if !tracker.add(&event, Some(slice)) {
                                unsuppressed.extend(vec![event]);
                            }
                        }
                        Collect::Counts { counter, bucket } => {
                            let at = event.time().unwrap_or(bucket.start);
                            counter.add_in(*bucket, &event, at);
                        }
                        Collect::Terms(terms) => {
                            if let Some(t) = rule_time(self.rule, &event) {
                                terms.add_at(&event, t);
                            }
                        }
                        Collect::History(history) => {
                            if let Some(t) = rule_time(self.rule, &event) {
                                history.observe(&event, t);
                            }
                        }
                    }
                }
            }
            if let Collect::Alerts(pending)
            | Collect::Suppressed {
                unsuppressed: pending,
                ..
            } = collect
            {
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

    /// Delivers what a search over the whole window collected and has not delivered yet.
    async fn deliver_collected(&mut self, collect: Collect<'_>) -> Result<(), WindowError> {
        let (mut pending, groups) = match collect {
            Collect::Alerts(pending) => (pending, None),
            Collect::Suppressed {
                tracker,
                window,
                unsuppressed,
            } => (unsuppressed, Some((tracker.finish(), window))),
            Collect::Counts { .. } | Collect::Terms(_) | Collect::History(_) => return Ok(()),
        };
        let written = self.deliver_pending(&mut pending).await?;
        self.seen.written.add(written);
        match groups {
            Some((groups, window)) => self.deliver_suppressed(groups, window).await,
            None => Ok(()),
        }
    }

    /// Merges the window's part of each suppressed group's alert, a batch at a time, each built
    /// from the group's first event fetched again with every field the alert needs.
    async fn deliver_suppressed(
        &mut self,
        groups: Vec<Group>,
        window: Window,
    ) -> Result<(), WindowError> {
        let mut groups = groups.into_iter().peekable();
        while groups.peek().is_some() {
            let batch: Vec<Group> = groups.by_ref().take(self.delivery.batch_size()).collect();
            let (parts, firsts): (Vec<_>, Vec<Event>) = batch
                .into_iter()
                .map(|g| ((g.seen, g.slices), g.first))
                .unzip();
            let firsts = full_events(self.cluster, firsts, &self.plan).await?;
            let merges: Vec<Merge> = parts
                .iter()
                .zip(&firsts)
                .map(|((seen, slices), first)| {
                    let alert = alert::suppressed(self.rule, first, seen, self.now);
                    Merge::new(alert, window, slices)
                })
                .collect();
            let written = self.delivery.merge(&merges).await.map_err(window_error)?;
            self.seen.written.add(written);
        }
        Ok(())
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

impl Run<'_> {
    /// A new terms rule's window: its terms and their first events, the history asked about
    /// the first occurrence of each, a batch of terms at a time, and an alert per new term.
    async fn new_terms(&mut self, window: Window, query: &HistoryQuery) -> Result<(), WindowError> {
        let Some(new_terms) = &self.rule.new_terms else {
            return Ok(());
        };
        let mut collect = Collect::Terms(Terms::new(new_terms));
        self.search(window, &mut collect).await?;
        let Collect::Terms(terms) = collect else {
            return Ok(());
        };
        let mut known = HashSet::new();
        for batch in terms.first_occurrences().chunks(history::BATCH) {
            known.extend(self.seen_before(query, batch, window.start).await?);
        }
        let found = terms.new_terms(|term, _| !known.contains(term));
        for batch in found.chunks(self.delivery.batch_size()) {
            let events = batch.iter().map(|n| n.event.clone()).collect();
            let events = full_events(self.cluster, events, &self.plan).await?;
            let alerts: Vec<Alert> = events
                .iter()
                .zip(batch)
                .map(|(event, n)| alert::new_term(self.rule, event, &n.term, self.now))
                .collect();
            let written = self.delivery.deliver(&alerts).await.map_err(window_error)?;
            self.seen.written.add(written);
        }
        Ok(())
    }

    /// The terms of `batch` that occurred in the history before their first occurrence in a
    /// window starting at `before`.
    async fn seen_before(
        &mut self,
        query: &HistoryQuery,
        batch: &[FirstOccurrence],
        before: DateTime<Utc>,
    ) -> Result<HashSet<GroupKey>, WindowError> {
        let (cluster, rule) = (self.cluster, self.rule);
        let homes = match query {
            HistoryQuery::Counted(homes) => {
                return history::counted(cluster, rule, homes, batch, before).await
            }
            HistoryQuery::Paged(homes) => homes.as_deref(),
        };
        let Some(watch) = History::new(rule, batch, before) else {
            return Ok(HashSet::new());
        };
        let mut collect = Collect::History(watch);
        let pager = history::history_pager(cluster, rule, homes, batch, before, self.settings);
        self.search_with(pager, &mut collect).await?;
        match collect {
            Collect::History(watch) => Ok(watch.seen()),
            _ => Ok(HashSet::new()),
        }
    }
}

/// An event's time on the rule's time field (its fallback when it lacks it): what windows and
/// histories select documents on.
fn rule_time(rule: &Rule, event: &Event) -> Option<DateTime<Utc>> {
    match rule.source.timestamp_field.as_str() {
        "event.ingested" => event.ingested().or_else(|| event.time()),
        _ => event.time(),
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
    let mut plan = fetch_plan(rule, all);
    plan.add_fields(rule.ecs_fields());
    plan
}

/// The alerts of matching hits, built from their documents fetched again ([`full_events`]).
async fn alerts_for(
    cluster: &Cluster,
    rule: &Rule,
    matched: Vec<Event>,
    plan: &FetchPlan,
    now: DateTime<Utc>,
) -> Result<Vec<Alert>, EsError> {
    let events = full_events(cluster, matched, plan).await?;
    Ok(events.iter().map(|e| alert::build(rule, e, now)).collect())
}

/// Matched events with every field their alerts need: their documents fetched again (one
/// `_mget`). A document that vanished since the search keeps the event the verdict was made on.
async fn full_events(
    cluster: &Cluster,
    matched: Vec<Event>,
    plan: &FetchPlan,
) -> Result<Vec<Event>, EsError> {
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
            match full {
                Some(source) => Event::from_ecs(source, partial.origin().clone()),
                None => {
                    tracing::warn!(document = %partial.origin(), "a matched document vanished before its alert fields were fetched; its alert is built from the fields of the verdict");
                    partial
                }
            }
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
