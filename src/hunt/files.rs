//! Hunting CloudTrail files — discover, read, evaluate, write each alert once. Used by
//! `eshunt scan` ([`scan`]) and, file by file, by file backfills ([`Scanner`]).

use crate::alert::Alert;
use crate::event::Event;
use crate::event::Origin;
use crate::hunt::carried::StateFile;
use crate::hunt::engine::{Engine, Found};
use crate::hunt::memory::Memory;
use crate::rule::Rule;
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
    /// Files an earlier run finished, read again for the rules that count or remember only
    /// (a resumed file backfill).
    pub reread: usize,
    /// Files passed over in folders (not JSON or compressed by name).
    pub ignored_files: Vec<PathBuf>,
    /// Counts of events, skips, alerts.
    pub tally: Tally,
    /// What became of the alerts.
    pub outcome: Outcome,
    /// Wall time.
    pub elapsed: Duration,
}

/// What became of a scan's alerts.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Alerts written, per rule id (after duplicates).
    pub written: BTreeMap<String, u64>,
    /// Alerts not written again because the same event (same alert id) appeared earlier in
    /// the input, e.g. in a trail file and in an Elasticsearch export.
    pub duplicates: u64,
    /// Alerts not written because an earlier run wrote them (a resumed file backfill).
    pub already_written: u64,
}

/// Scans files one at a time, writing each alert id at most once.
pub struct Scanner<'e, 'r> {
    engine: &'e Engine<'r>,
    now: DateTime<Utc>,
    /// Alert ids an earlier run wrote.
    earlier: HashSet<String>,
    /// Alert ids this run wrote.
    written: HashSet<String>,
    /// What the rules that count or remember keep until the end of the run.
    memories: Vec<(&'r Rule, Memory<'r>)>,
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
            memories: engine
                .rules()
                .iter()
                .filter_map(|r| Some((*r, Memory::for_rule(r)?)))
                .collect(),
            report: ScanReport {
                tally: engine.new_tally(),
                outcome: Outcome {
                    written: engine
                        .rules()
                        .iter()
                        .map(|r| (r.meta.id.clone(), 0))
                        .collect(),
                    ..Outcome::default()
                },
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
        let report = &mut self.report;
        let (earlier, written) = (&self.earlier, &mut self.written);
        let outcome = &mut report.outcome;
        let mut sink_error = None;
        report.files += 1;
        let result = read(
            self.engine,
            self.now,
            path,
            &mut report.tally,
            &mut self.memories,
            &mut |alert| outcome.deliver(alert, earlier, written, &mut sink_error, out),
        );
        if let Some(e) = sink_error {
            return Err(e);
        }
        Ok(self.read_to_end(path, result))
    }

    /// Reads one file again for the rules that count or remember only: `engine` holds just
    /// those rules, their memories see the file's events, and nothing is written or counted but
    /// the file itself ([`ScanReport::reread`]). A resumed file backfill does this for the files
    /// an earlier run finished, whose events its rules that count or remember must see again.
    /// Returns the events read; an unreadable file is counted as skipped.
    pub fn recall_file(&mut self, engine: &Engine<'r>, path: &Path) -> u64 {
        debug_assert!(engine.rules().iter().all(|r| r.remembers()));
        self.report.reread += 1;
        let mut tally = engine.new_tally(); // the earlier run counted these events
        let result = read(
            engine,
            self.now,
            path,
            &mut tally,
            &mut self.memories,
            &mut |_| {}, // no per-event rule: no alert
        );
        self.read_to_end(path, result);
        tally.events
    }

    /// Whether a file was read to its end; when not, it is counted as skipped.
    fn read_to_end(&mut self, path: &Path, result: std::io::Result<()>) -> bool {
        match result {
            Ok(()) => true,
            Err(e) => {
                self.report.tally.skip(unreadable(path, e.to_string()));
                false
            }
        }
    }
}

impl<'r> Scanner<'_, 'r> {
    /// The rules that count or remember, with what they keep.
    pub fn memories(&mut self) -> &mut [(&'r Rule, Memory<'r>)] {
        &mut self.memories
    }
}

/// Reads one file through `engine`: per-event alerts go to `alert`, the matches of rules that
/// count or remember to their `memories`, the rest to `tally`.
fn read<'r>(
    engine: &Engine<'_>,
    now: DateTime<Utc>,
    path: &Path,
    tally: &mut Tally,
    memories: &mut [(&'r Rule, Memory<'r>)],
    alert: &mut dyn FnMut(Alert),
) -> std::io::Result<()> {
    let mut untimed = Vec::new();
    files::read_file(path, &mut |item| match item {
        Item::Record(record) => {
            engine.process(record, now, tally, &mut |found| match found {
                Found::Alert(a) => alert(a),
                Found::Remember(rule, event) => {
                    if !remember(memories, rule, event) {
                        untimed.push(untimed_event(rule, event));
                    }
                }
            });
            untimed.drain(..).for_each(|s| tally.skip(s));
        }
        Item::Skipped(skipped) => tally.skip(skipped),
    })
}

impl Outcome {
    /// Hands a new alert to `out`, once per alert id: an id an earlier run wrote, or this run
    /// already did, is counted instead. After an `out` error nothing more is handed over.
    fn deliver(
        &mut self,
        alert: Alert,
        earlier: &HashSet<String>,
        written: &mut HashSet<String>,
        sink_error: &mut Option<std::io::Error>,
        out: &mut dyn FnMut(Alert) -> std::io::Result<()>,
    ) {
        if earlier.contains(&alert.id) {
            self.already_written += 1;
        } else if !written.insert(alert.id.clone()) {
            self.duplicates += 1;
        } else if sink_error.is_none() {
            *self.written.entry(alert.rule_id.clone()).or_default() += 1;
            *sink_error = out(alert).err();
        }
    }
}

/// Remembers a match of a rule that counts or remembers; false when the event has no time to
/// place it.
fn remember<'r>(memories: &mut [(&'r Rule, Memory<'r>)], rule: &Rule, event: &Event) -> bool {
    memories
        .iter_mut()
        .find(|(r, _)| r.meta.id == rule.meta.id)
        .is_none_or(|(_, memory)| memory.add(event))
}

fn untimed_event(rule: &Rule, event: &Event) -> Skipped {
    Skipped {
        origin: event.origin().clone(),
        reason: "no event time (rule that counts or remembers)",
        detail: format!("rule {} places each match in time", rule.meta.id),
    }
}

impl Scanner<'_, '_> {
    /// Ends the run: the alerts of the rules that count or remember (threshold groups that
    /// reached their threshold, new terms, suppressed groups).
    pub fn finish(
        &mut self,
        out: &mut dyn FnMut(Alert) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let mut sink_error = None;
        for (rule, memory) in std::mem::take(&mut self.memories) {
            for remembered in memory.finish(rule, self.now) {
                let outcome = &mut self.report.outcome;
                outcome.deliver(
                    remembered.alert,
                    &self.earlier,
                    &mut self.written,
                    &mut sink_error,
                    out,
                );
            }
        }
        sink_error.map_or(Ok(()), Err)
    }
}

/// Scans `paths` with `engine`, handing each alert to `out` as soon as it is made (a rule that
/// counts or remembers: at the end), once per alert id. With a `state`, the new terms rules
/// start from what it carries and leave theirs in it. An alert sink error stops the scan and is
/// returned.
pub fn scan(
    paths: &[PathBuf],
    engine: &Engine<'_>,
    now: DateTime<Utc>,
    mut state: Option<&mut StateFile>,
    out: &mut dyn FnMut(Alert) -> std::io::Result<()>,
) -> std::io::Result<ScanReport> {
    let started = Instant::now();
    let found = files::discover(paths);
    let mut scanner = Scanner::new(engine, now, HashSet::new());
    if let Some(state) = state.as_deref_mut() {
        state.resume(&mut scanner);
    }
    scanner.report.ignored_files = found.ignored;
    for (path, error) in found.errors {
        scanner.report.tally.skip(unreadable(&path, error));
    }
    for path in &found.files {
        scanner.scan_file(path, out)?;
    }
    if let Some(state) = state {
        state.carry(&mut scanner);
    }
    scanner.finish(out)?;
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
