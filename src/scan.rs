//! `eshunt scan`: hunting CloudTrail files — discover, read, evaluate, write alerts.

use crate::alert::Alert;
use crate::engine::{Engine, Tally};
use crate::event::Origin;
use crate::source::files::{self, Item, Skipped};
use chrono::{DateTime, Utc};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What a scan did.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// Files read.
    pub files: usize,
    /// Files passed over in folders (not JSON by name).
    pub ignored_files: usize,
    /// Counts of events, skips, alerts.
    pub tally: Tally,
    /// Wall time.
    pub elapsed: Duration,
}

/// Scans `paths` with `engine`, handing each alert to `out` as soon as it is made. An alert
/// sink error stops the scan and is returned.
pub fn scan(
    paths: &[PathBuf],
    engine: &Engine<'_>,
    now: DateTime<Utc>,
    out: &mut dyn FnMut(Alert) -> std::io::Result<()>,
) -> std::io::Result<ScanReport> {
    let started = Instant::now();
    let found = files::discover(paths);
    let mut report = ScanReport {
        files: found.files.len(),
        ignored_files: found.ignored,
        tally: engine.new_tally(),
        ..ScanReport::default()
    };
    for (path, error) in found.errors {
        report.tally.skip(unreadable(&path, error));
    }
    let mut sink_error = None;
    for path in &found.files {
        let tally = &mut report.tally;
        let result = files::read_file(path, &mut |item| match item {
            Item::Record(record) => engine.process(record, now, tally, &mut |alert| {
                if sink_error.is_none() {
                    sink_error = out(alert).err();
                }
            }),
            Item::Skipped(skipped) => tally.skip(skipped),
        });
        if let Some(e) = sink_error.take() {
            return Err(e);
        }
        if let Err(e) = result {
            report.tally.skip(unreadable(path, e.to_string()));
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

fn unreadable(path: &std::path::Path, error: String) -> Skipped {
    Skipped {
        origin: Origin::Inline(path.display().to_string().into()),
        reason: "unreadable file",
        detail: error,
    }
}
