//! The daemon (`eshunt run`): every enabled rule on its own schedule, gap-free.
//!
//! Per rule, a task waits for the rule's next due time, takes (or renews) the rule's lease, and
//! *ticks*: plans windows from the rule's checkpoint, runs each until it is complete (retrying
//! with backoff, never skipping), and advances the checkpoint — with a conditional write —
//! only after the window's alerts are written. A crash at any point leaves the checkpoint at the
//! last complete window, so the next start redoes the unfinished one; alert ids make that
//! harmless. The lease is renewed every [`Runtime::renewal_period`]: by a background task while
//! a tick runs (a lost lease stops the tick) and while the task waits for the next due time.

use super::lease::{Holding, Leases};
use super::plan::{plan, PlanSettings};
use crate::config::ScheduleConfig;
use crate::es::retry::{Jitter, RetryPolicy};
use crate::es::{Cluster, EsError};
use crate::hunt::cluster::{hunt_window, WindowReport};
use crate::rule::{Every, Rule};
use crate::schedule::metrics::Metrics;
use crate::sink::elasticsearch::BulkWriter;
use crate::sink::Delivery;
use crate::source::elasticsearch::PageSettings;
use crate::state::records::{Checkpoint, Gap, Record, RunRecord};
use crate::state::{StateStore, Version, Versioned};
use crate::time::Window;
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// What the rule tasks of one process share.
pub struct Runtime {
    /// The cluster.
    pub cluster: Cluster,
    /// Checkpoints, leases, run records, gaps.
    pub store: StateStore,
    /// This process's leases.
    pub leases: Leases,
    /// Alert writer.
    pub writer: BulkWriter,
    /// Search paging.
    pub pages: PageSettings,
    /// `[schedule]`.
    pub config: ScheduleConfig,
    /// Backoff between attempts of a failing window (attempts are unbounded).
    pub backoff: RetryPolicy,
    /// Global cap on windows searched at once.
    pub searches: Semaphore,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Set on shutdown: start no new window.
    pub stopping: AtomicBool,
    /// Set when the shutdown grace is over: stop in-flight windows at the next page.
    pub cancel: AtomicBool,
}

/// What one tick of one rule did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickReport {
    /// Time recorded as a gap.
    pub gap: Option<Window>,
    /// Completed windows, in order.
    pub windows: Vec<WindowReport>,
    /// The checkpoint after the tick.
    pub checkpoint: Option<DateTime<Utc>>,
    /// The tick stopped early: shutdown, or the lease or checkpoint was taken over.
    pub interrupted: bool,
}

impl Runtime {
    /// Planning settings for a rule: its look-back, the configured overlap (default: look-back
    /// minus interval, as Elastic's `from`/`interval`), settle delay and limits.
    pub fn plan_settings(&self, rule: &Rule) -> PlanSettings {
        let lookback = rule.schedule.lookback.delta();
        let overlap = match (&self.config.overlap, &rule.schedule.every) {
            (Some(o), _) => o.delta(),
            (None, Every::Interval(i)) => (lookback - i.delta()).max(TimeDelta::zero()),
            (None, Every::Cron { .. }) => TimeDelta::minutes(1).min(lookback),
        };
        PlanSettings {
            lookback,
            overlap,
            settle: self.config.settle_delay.delta(),
            max_window: self.config.max_window.delta(),
            max_catch_up: self.config.max_catch_up.delta(),
        }
    }

    /// One tick of `rule` at `now`: record a gap if the downtime exceeds the catch-up limit,
    /// then run the planned windows in order, advancing the checkpoint after each. `holding`
    /// says whether this process still holds the rule's lease.
    pub async fn tick(
        &self,
        rule: &Rule,
        now: DateTime<Utc>,
        holding: &(dyn Fn() -> bool + Sync),
    ) -> Result<TickReport, EsError> {
        let id = Checkpoint::id(&rule.meta.id);
        let mut checkpoint: Option<Versioned<Checkpoint>> = self.store.get(&id).await?;
        let planned = plan(
            checkpoint.as_ref().map(|c| c.value.checkpoint),
            now,
            &self.plan_settings(rule),
        );
        let mut report = TickReport {
            gap: planned.gap,
            checkpoint: checkpoint.as_ref().map(|c| c.value.checkpoint),
            ..TickReport::default()
        };
        if let Some(gap) = planned.gap {
            self.record_gap(rule, gap, now).await?;
        }
        for window in planned.windows {
            if self.stopping.load(Ordering::SeqCst) || !holding() {
                report.interrupted = true;
                break;
            }
            let Some(done) = self.run_until_complete(rule, window, holding).await else {
                report.interrupted = true;
                break;
            };
            let end = window.end.max(report.checkpoint.unwrap_or(window.end));
            match self
                .advance(rule, end, checkpoint.as_ref().map(|c| c.version))
                .await?
            {
                Some(version) => {
                    checkpoint = Some(Versioned {
                        value: self.checkpoint_doc(rule, end),
                        version,
                    });
                    report.checkpoint = Some(end);
                    self.metrics.window_done(&done, end);
                    self.record_run(rule, &done).await;
                    report.windows.push(done);
                }
                None => {
                    tracing::warn!(rule = %rule.meta.id, "checkpoint advanced by another process; stopping this tick");
                    report.interrupted = true;
                    break;
                }
            }
        }
        Ok(report)
    }

    /// Runs a window until it is complete, with backoff between attempts — also after failures
    /// a retry alone cannot mend (a refused query, missing rights): the window is never
    /// skipped, and its failed run records and the logs say why. `None` when shutdown or a
    /// lost lease interrupted it.
    async fn run_until_complete(
        &self,
        rule: &Rule,
        window: Window,
        holding: &(dyn Fn() -> bool + Sync),
    ) -> Option<WindowReport> {
        let mut jitter = Jitter::new();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = {
                let _permit = self.searches.acquire().await.ok()?;
                let delivery = Delivery::Bulk(&self.writer);
                hunt_window(
                    &self.cluster,
                    rule,
                    window,
                    self.pages,
                    &delivery,
                    Utc::now(),
                    Some(&self.cancel),
                )
                .await
            };
            match result {
                Ok(mut done) => {
                    done.attempts = attempt;
                    return Some(done);
                }
                Err(e) => {
                    self.metrics.window_failed(&rule.meta.id);
                    let error = e.to_string();
                    tracing::warn!(rule = %rule.meta.id, %window, %error, attempt, "window failed; it will be retried");
                    self.record_failure(rule, window, attempt, &error).await;
                    let delay = self.backoff.delay(attempt.min(16), &mut jitter);
                    if !self.pause(delay).await || !holding() {
                        return None;
                    }
                }
            }
        }
    }

    /// Sleeps, waking early (and returning false) when shutdown starts.
    async fn pause(&self, delay: Duration) -> bool {
        let step = Duration::from_millis(100);
        let mut left = delay;
        while !left.is_zero() {
            if self.stopping.load(Ordering::SeqCst) {
                return false;
            }
            let nap = left.min(step);
            tokio::time::sleep(nap).await;
            left = left.saturating_sub(nap);
        }
        !self.stopping.load(Ordering::SeqCst)
    }

    fn checkpoint_doc(&self, rule: &Rule, end: DateTime<Utc>) -> Checkpoint {
        Checkpoint {
            kind: "checkpoint".into(),
            rule_id: rule.meta.id.clone(),
            checkpoint: end,
            updated_at: Utc::now(),
            instance: self.leases.instance().to_string(),
        }
    }

    /// Moves the checkpoint to `end` if it is still at `expected`; `None` on a conflict.
    async fn advance(
        &self,
        rule: &Rule,
        end: DateTime<Utc>,
        expected: Option<Version>,
    ) -> Result<Option<Version>, EsError> {
        let id = Checkpoint::id(&rule.meta.id);
        let doc = self.checkpoint_doc(rule, end);
        let written = match expected {
            None => self.store.create(&id, &doc).await?,
            Some(v) => self.store.update(&id, &doc, v).await?,
        };
        Ok(written.ok())
    }

    async fn record_gap(
        &self,
        rule: &Rule,
        gap: Window,
        now: DateTime<Utc>,
    ) -> Result<(), EsError> {
        let seconds = (gap.end - gap.start).num_seconds() as f64;
        tracing::error!(rule = %rule.meta.id, %gap, "downtime beyond [schedule] max_catch_up: this time is recorded as a gap and not hunted (backfill it)");
        self.metrics.gap(&rule.meta.id, seconds);
        let doc = Gap {
            kind: "gap".into(),
            rule_id: rule.meta.id.clone(),
            gap_start: gap.start,
            gap_end: gap.end,
            recorded_at: now,
            reason: format!(
                "no complete window since {} (beyond max_catch_up {})",
                crate::time::format(gap.start),
                self.config.max_catch_up
            ),
            instance: self.leases.instance().to_string(),
        };
        self.store.put(&doc.id(), &doc).await
    }

    /// Records a completed window: a run record, and a warning when some hits could not be
    /// evaluated reliably.
    async fn record_run(&self, rule: &Rule, done: &WindowReport) {
        if !done.unavailable.is_empty() || done.skipped > 0 {
            tracing::warn!(
                rule = %rule.meta.id,
                window = %done.window,
                unavailable = ?done.unavailable,
                skipped = done.skipped,
                "some hits could not be evaluated reliably (fields held only as strings, or no _source)"
            );
        }
        let mut record = self.run_record(rule, done.window, "complete", done.attempts);
        record.took_ms = done.elapsed.as_millis() as u64;
        record.hits = done.hits;
        record.matched = done.matched;
        record.alerts_created = done.written.created;
        record.alerts_existing = done.written.existing;
        record.alerts_dead_lettered = done.written.dead_lettered;
        record.lateness_mean_ms = done.lateness.mean_ms();
        record.lateness_max_ms = done.lateness.max_ms;
        record.unavailable = done.unavailable.keys().cloned().collect();
        record.unavailable_hits = done.unavailable_hits;
        record.skipped = done.skipped;
        self.save(record).await;
    }

    /// Records a failed attempt of a window.
    async fn record_failure(&self, rule: &Rule, window: Window, attempt: u32, error: &str) {
        let mut record = self.run_record(rule, window, "failed", attempt);
        record.error = Some(error.to_string());
        self.save(record).await;
    }

    fn run_record(&self, rule: &Rule, window: Window, status: &str, attempts: u32) -> RunRecord {
        RunRecord {
            kind: RunRecord::KIND.into(),
            rule_id: rule.meta.id.clone(),
            window_start: window.start,
            window_end: window.end,
            finished_at: Utc::now(),
            status: status.into(),
            error: None,
            took_ms: 0,
            hits: 0,
            matched: 0,
            alerts_created: 0,
            alerts_existing: 0,
            alerts_dead_lettered: 0,
            attempts,
            lateness_mean_ms: 0,
            lateness_max_ms: 0,
            unavailable: Vec::new(),
            unavailable_hits: 0,
            skipped: 0,
            instance: self.leases.instance().to_string(),
        }
    }

    async fn save(&self, record: RunRecord) {
        if let Err(e) = self.store.put(&record.id(), &record).await {
            tracing::warn!(rule = %record.rule_id, error = %e, "could not write the run record");
        }
    }

    /// How often a held lease is renewed: a third of its TTL (at least 200 ms).
    pub fn renewal_period(&self) -> Duration {
        (self.config.lease_ttl.std() / 3).max(Duration::from_millis(200))
    }

    /// The scheduling loop of one rule, until shutdown.
    pub async fn run_rule(self: Arc<Self>, rule: Arc<Rule>) {
        // How soon to try again for a lease another process holds (or that could not be read).
        let retry_lease = (self.config.lease_ttl.delta() / 3).max(TimeDelta::seconds(1));
        let mut held: Option<Version> = None;
        let mut due = Utc::now();
        loop {
            if !self.wait_until(&rule.meta.id, &mut held, due).await {
                break;
            }
            let now = Utc::now();
            match self.leases.hold(&rule.meta.id, held, now).await {
                Ok(Holding::Held { version, .. }) => held = Some(version),
                Ok(Holding::Elsewhere {
                    instance,
                    expires_at,
                }) => {
                    held = None;
                    tracing::debug!(rule = %rule.meta.id, %instance, %expires_at, "rule held by another process");
                    due = now + retry_lease;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(rule = %rule.meta.id, error = %e, "could not take the rule's lease");
                    due = now + retry_lease;
                    continue;
                }
            }
            let renewal = Renewal::start(
                self.clone(),
                rule.meta.id.clone(),
                held.expect("just taken"),
            );
            let lost = renewal.lost.clone();
            let outcome = self
                .tick(&rule, now, &|| !lost.load(Ordering::SeqCst))
                .await;
            held = renewal.stop().await;
            match outcome {
                Ok(report) => tracing::info!(
                    rule = %rule.meta.id,
                    windows = report.windows.len(),
                    hits = report.windows.iter().map(|w| w.hits).sum::<u64>(),
                    alerts = report.windows.iter().map(|w| w.written.created).sum::<u64>(),
                    checkpoint = ?report.checkpoint,
                    "tick done"
                ),
                Err(e) => {
                    tracing::warn!(rule = %rule.meta.id, error = %e, "tick failed; it will run again")
                }
            }
            due = next_due(&rule, due, Utc::now());
        }
        if let Some(version) = held {
            if let Err(e) = self
                .leases
                .release(&rule.meta.id, version, Utc::now())
                .await
            {
                tracing::warn!(rule = %rule.meta.id, error = %e, "could not release the lease");
            }
        }
    }

    /// Waits until `due` (false when shutdown starts first). While this process holds the
    /// rule's lease it renews it as a tick does, so a rule whose interval outlasts the lease is
    /// not taken over between ticks by another process.
    async fn wait_until(
        &self,
        rule_id: &str,
        held: &mut Option<Version>,
        due: DateTime<Utc>,
    ) -> bool {
        let step = self.renewal_period();
        loop {
            let left = (due - Utc::now()).to_std().unwrap_or_default();
            if left.is_zero() {
                return true;
            }
            let nap = if held.is_some() { left.min(step) } else { left };
            if !self.pause(nap).await {
                return false;
            }
            if let Some(version) = *held {
                *held = match self.leases.hold(rule_id, Some(version), Utc::now()).await {
                    Ok(Holding::Held { version, .. }) => Some(version),
                    Ok(Holding::Elsewhere { .. }) | Err(_) => None,
                };
            }
        }
    }
}

/// When a rule runs next: a fixed rate for intervals (immediately when behind), the next cron
/// time otherwise.
pub fn next_due(rule: &Rule, previous: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    match &rule.schedule.every {
        Every::Interval(span) => (previous + span.delta()).max(now),
        Every::Cron { schedule, .. } => schedule
            .after(&now)
            .next()
            .unwrap_or(now + TimeDelta::hours(1)),
    }
}

/// Renews a rule's lease in the background while a tick runs.
struct Renewal {
    version: Arc<Mutex<Option<Version>>>,
    lost: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Renewal {
    fn start(runtime: Arc<Runtime>, rule_id: String, held: Version) -> Renewal {
        let version = Arc::new(Mutex::new(Some(held)));
        let lost = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let period = runtime.renewal_period();
        let task = {
            let (version, lost, done) = (version.clone(), lost.clone(), done.clone());
            tokio::spawn(async move {
                let step = Duration::from_millis(50);
                let mut waited = Duration::ZERO;
                while !done.load(Ordering::SeqCst) {
                    tokio::time::sleep(step).await;
                    waited += step;
                    if waited < period {
                        continue;
                    }
                    waited = Duration::ZERO;
                    let current = *version.lock().unwrap_or_else(|p| p.into_inner());
                    match runtime.leases.hold(&rule_id, current, Utc::now()).await {
                        Ok(Holding::Held { version: v, .. }) => {
                            *version.lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
                        }
                        Ok(Holding::Elsewhere { instance, .. }) => {
                            tracing::warn!(rule = %rule_id, %instance, "lease taken over; stopping this rule's tick");
                            *version.lock().unwrap_or_else(|p| p.into_inner()) = None;
                            lost.store(true, Ordering::SeqCst);
                            return;
                        }
                        Err(e) => {
                            tracing::warn!(rule = %rule_id, error = %e, "could not renew the lease")
                        }
                    }
                }
            })
        };
        Renewal {
            version,
            lost,
            done,
            task,
        }
    }

    /// Stops renewing; the lease's latest version (`None` if it was lost).
    async fn stop(self) -> Option<Version> {
        self.done.store(true, Ordering::SeqCst);
        let _ = self.task.await;
        let v = *self.version.lock().unwrap_or_else(|p| p.into_inner());
        v
    }
}

/// Runs every rule until `shutdown` resolves; then stops starting windows, lets in-flight
/// windows finish within `grace`, cancels what is left at the next page boundary, and releases
/// the leases — all within the grace (see [`stop_within`]).
pub async fn run(
    runtime: Arc<Runtime>,
    rules: Vec<Arc<Rule>>,
    shutdown: impl std::future::Future<Output = ()>,
    grace: Duration,
) {
    let tasks: Vec<_> = rules
        .into_iter()
        .map(|rule| tokio::spawn(runtime.clone().run_rule(rule)))
        .collect();
    shutdown.await;
    tracing::info!(
        ?grace,
        "shutting down: no new windows; waiting for in-flight ones"
    );
    runtime.stopping.store(true, Ordering::SeqCst);
    stop_within(tasks, grace, &runtime.cancel).await;
    tracing::info!("stopped");
}

/// After the grace, how long cancelled windows get to reach their next page boundary.
const CANCEL_MARGIN: Duration = Duration::from_secs(1);

/// Waits for the rule tasks (finishing their windows, then releasing their leases) for at most
/// `grace`; then sets `cancel` and waits [`CANCEL_MARGIN`] more. Tasks still running then —
/// a release retrying against a cluster that is gone — are left behind: their leases expire
/// by themselves, and the process exits on time.
async fn stop_within(
    tasks: Vec<tokio::task::JoinHandle<()>>,
    grace: Duration,
    cancel: &AtomicBool,
) {
    let all = join_all(tasks);
    tokio::pin!(all);
    if tokio::time::timeout(grace, &mut all).await.is_ok() {
        return;
    }
    tracing::warn!(
        "grace period over: cancelling in-flight windows (their checkpoints do not advance)"
    );
    cancel.store(true, Ordering::SeqCst);
    if tokio::time::timeout(CANCEL_MARGIN, &mut all).await.is_err() {
        tracing::warn!("some leases could not be released in time; they expire by themselves");
    }
}

async fn join_all(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for task in tasks {
        let _ = task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task that only ends once `cancel` is set (a window reaching its page boundary).
    fn cancellable(cancel: &Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            while !cancel.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_is_bounded_by_the_grace_even_when_a_release_hangs() {
        let cancel = Arc::new(AtomicBool::new(false));
        let hung = tokio::spawn(std::future::pending::<()>());
        let grace = Duration::from_secs(5);
        let started = tokio::time::Instant::now();
        stop_within(vec![cancellable(&cancel), hung], grace, &cancel).await;
        assert!(cancel.load(Ordering::SeqCst));
        assert_eq!(started.elapsed(), grace + CANCEL_MARGIN);
    }

    #[tokio::test(start_paused = true)]
    async fn tasks_done_within_the_grace_are_not_cancelled() {
        let cancel = Arc::new(AtomicBool::new(false));
        let quick = tokio::spawn(tokio::time::sleep(Duration::from_secs(1)));
        let started = tokio::time::Instant::now();
        stop_within(vec![quick], Duration::from_secs(5), &cancel).await;
        assert!(!cancel.load(Ordering::SeqCst));
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }

    fn rule(schedule: &str) -> Rule {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.toml");
        let text = format!(
            "id = \"r\"\nname = \"r\"\ndescription = \"d\"\nseverity = \"low\"\n[schedule]\n{schedule}\n[detection]\nkql = \"event.action: X\"\n[alert]\ntitle = \"t\"\n"
        );
        std::fs::write(&path, text).unwrap();
        crate::rule::load_file(&path).unwrap()
    }

    fn t(text: &str) -> DateTime<Utc> {
        crate::time::parse_timestamp(text).unwrap()
    }

    #[test]
    fn intervals_run_at_a_fixed_rate_and_catch_up_at_once() {
        let r = rule("interval = \"5m\"\nlookback = \"6m\"");
        let due = t("2026-03-14T10:00:00Z");
        assert_eq!(
            next_due(&r, due, t("2026-03-14T10:00:03Z")),
            t("2026-03-14T10:05:00Z")
        );
        assert_eq!(
            next_due(&r, due, t("2026-03-14T10:07:00Z")),
            t("2026-03-14T10:07:00Z"),
            "behind: run now"
        );
    }

    #[test]
    fn cron_schedules_run_at_the_next_matching_time() {
        let r = rule("cron = \"*/15 * * * *\"\nlookback = \"16m\"");
        let now = t("2026-03-14T10:07:12Z");
        assert_eq!(next_due(&r, now, now), t("2026-03-14T10:15:00Z"));
    }
}
