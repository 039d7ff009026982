//! Hunting CloudTrail files — discover, read, evaluate, write each alert once. Used by
//! `eshunt scan` ([`scan`]) and, file by file, by file backfills ([`Scanner`]).

use crate::alert::Alert;
use crate::event::Origin;
use crate::hunt::engine::Engine;
use crate::source::files::{self, Item};
use crate::tally::{Skipped, Tally};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a scan did.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// Files read.
    pub files: usize,
    /// Files passed over in folders (not JSON or compressed by name).
    pub ignored_files: Vec<PathBuf>,
    /// Counts of events, skips, alerts.
    pub tally: Tally,
    /// Alerts written, per rule id (after duplicates).
    pub written: BTreeMap<String, u64>,
    /// Alerts not written again because the same event (same alert id) appeared earlier in
    /// the input, e.g. in a trail file and in an Elasticsearch export.
    pub duplicates: u64,
    /// Alerts not written because an earlier run wrote them (a resumed file backfill).
    pub already_written: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Scans files one at a time, writing each alert id at most once.
pub struct Scanner<'e, 'r> {
    engine: &'e Engine<'r>,
    now: DateTime<Utc>,
    /// Alert ids an earlier run wrote.
    earlier: HashSet<String>,
    /// Alert ids this run wrote.
    written: HashSet<String>,
    /// What has been done so far.
    pub report: ScanReport,
}

impl<'e, 'r> Scanner<'e, 'r> {
    /// A scanner; `already_written` are alert ids written by an earlier run (never written again).
    pub fn new(
        engine: &'e Engine<'r>,
        now: DateTime<Utc>,
        already_written: HashSet<String>,
    ) -> Self {
        Scanner {
            engine,
            now,
            earlier: already_written,
            written: HashSet::new(),
            report: ScanReport {
                tally: engine.new_tally(),
                written: engine
                    .rules()
                    .iter()
                    .map(|r| (r.meta.id.clone(), 0))
                    .collect(),
                ..ScanReport::default()
            },
        }
    }

    /// Scans one file, handing new alerts to `out`; true when the file was read to its end. An
    /// `out` error stops and is returned; an unreadable file is counted as skipped.
    pub fn scan_file(
        &mut self,
        path: &Path,
        out: &mut dyn FnMut(Alert) -> std::io::Result<()>,
    ) -> std::io::Result<bool> {
        let (engine, now) = (self.engine, self.now);
        let report = &mut self.report;
        let (earlier, written) = (&self.earlier, &mut self.written);
        let mut sink_error = None;
        report.files += 1;
        let result = files::read_file(path, &mut |item| match item {
            Item::Record(record) => engine.process(record, now, &mut report.tally, &mut |alert| {
                if earlier.contains(&alert.id) {
                    report.already_written += 1;
                } else if !written.insert(alert.id.clone()) {
                    report.duplicates += 1;
                } else if sink_error.is_none() {
                    *report.written.entry(alert.rule_id.clone()).or_default() += 1;
                    sink_error = out(alert).err();
                }
            }),
            Item::Skipped(skipped) => report.tally.skip(skipped),
        });
        if let Some(e) = sink_error {
            return Err(e);
        }
        match result {
            Ok(()) => Ok(true),
            Err(e) => {
                report.tally.skip(unreadable(path, e.to_string()));
                Ok(false)
            }
        }
    }
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
    let mut scanner = Scanner::new(engine, now, HashSet::new());
    scanner.report.ignored_files = found.ignored;
    for (path, error) in found.errors {
        scanner.report.tally.skip(unreadable(&path, error));
    }
    for path in &found.files {
        scanner.scan_file(path, out)?;
    }
    scanner.report.elapsed = started.elapsed();
    Ok(scanner.report)
}

/// A skipped-input entry for a file that could not be read.
pub fn unreadable(path: &Path, error: String) -> Skipped {
    Skipped {
        origin: Origin::Inline(path.display().to_string().into()),
        reason: "unreadable file",
        detail: error,
    }
}
