//! Progress of long jobs (backfills): a progress bar when stderr is a terminal, plain log lines
//! (at most every few seconds) otherwise.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts shown with the progress.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    /// Units done (chunks, files), including those of an earlier run.
    done: u64,
    /// Hits or events processed in this run.
    events: u64,
    /// Alerts written in this run.
    alerts: u64,
}

/// A progress reporter for `total` units of work.
pub struct Progress {
    label: String,
    total: u64,
    already_done: u64,
    started: Instant,
    counts: Mutex<(Counts, Instant)>,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts reporting; `already_done` units were finished by an earlier run (resume).
    pub fn new(label: &str, total: u64, already_done: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} (ETA {eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(label.to_string());
            bar.set_position(already_done);
            bar.reset_eta(); // the ETA follows this run's pace, not the resumed jump
            bar
        });
        let counts = Counts {
            done: already_done,
            ..Counts::default()
        };
        Progress {
            label: label.to_string(),
            total,
            already_done,
            started: Instant::now(),
            counts: Mutex::new((counts, Instant::now())),
            bar,
        }
    }

    /// One unit finished with `events` processed and `alerts` written.
    pub fn add(&self, events: u64, alerts: u64) {
        let mut guard = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let (counts, last_line) = &mut *guard;
        counts.done += 1;
        counts.events += events;
        counts.alerts += alerts;
        let rate = counts.events as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        match &self.bar {
            Some(bar) => {
                bar.set_position(counts.done);
                bar.set_message(format!(
                    "{} events ({rate:.0}/s), {} alerts",
                    counts.events, counts.alerts
                ));
            }
            None if last_line.elapsed() >= Duration::from_secs(5) || counts.done == self.total => {
                *last_line = Instant::now();
                let left = self.total.saturating_sub(counts.done);
                let done_now = counts.done - self.already_done;
                let per_unit = self.started.elapsed().as_secs_f64() / done_now.max(1) as f64;
                tracing::info!(
                    target: "eshunt::progress",
                    "{}: {}/{} done, {} events ({rate:.0}/s), {} alerts, ETA {:.0}s",
                    self.label,
                    counts.done,
                    self.total,
                    counts.events,
                    counts.alerts,
                    per_unit * left as f64
                );
            }
            None => {}
        }
    }

    /// Ends the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
