//! `eshunt scan`: hunting CloudTrail files — discover, read, evaluate, write alerts.

use crate::alert::Alert;
use crate::engine::{Engine, Tally};
use crate::event::Origin;
use crate::source::files::{self, Item, Skipped};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashSet};
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
    /// Alerts written, per rule id (after duplicates).
    pub written: BTreeMap<String, u64>,
    /// Alerts not written again because the same event (same alert id) appeared earlier in
    /// the input, e.g. in a trail file and in an Elasticsearch export.
    pub duplicates: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Scans `paths` with `engine`, handing each alert to `out` as soon as it is made, once per
/// alert id. An alert sink error stops the scan and is returned.
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
        written: engine
            .rules()
            .iter()
            .map(|r| (r.meta.id.clone(), 0))
            .collect(),
        ..ScanReport::default()
    };
    for (path, error) in found.errors {
        report.tally.skip(unreadable(&path, error));
    }
    let mut sink_error = None;
    let mut written = HashSet::new();
    for path in &found.files {
        let tally = &mut report.tally;
        let duplicates = &mut report.duplicates;
        let per_rule = &mut report.written;
        let result = files::read_file(path, &mut |item| match item {
            Item::Record(record) => engine.process(record, now, tally, &mut |alert| {
                if !written.insert(alert.id.clone()) {
                    *duplicates += 1;
                } else if sink_error.is_none() {
                    *per_rule.entry(alert.rule_id.clone()).or_default() += 1;
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
