//! Backfill over CloudTrail files (no cluster): the rules over a date range of files, file by
//! file, resumable. Alerts are appended to the output file; after each file the output is
//! synced and the file is recorded in `<output>.progress`. An interrupted backfill run again
//! skips the recorded files, and never writes an alert id the output already holds (a file
//! interrupted halfway is redone without duplicates).
//!
//! Rules that count or remember (threshold, new terms, suppression) judge the whole range at
//! once: their alerts are written after the last file, and the progress file then records that
//! they were ([`END`]). A resumed run reads the recorded files again for those rules only, so
//! they see every event of the range, and skips them for the others; a finished backfill
//! resumed again does nothing.

use crate::hunt::engine::Engine;
use crate::hunt::files::{ScanReport, Scanner};
use crate::progress::Progress;
use crate::sink::ndjson::{ids_in, NdjsonSink};
use crate::source::files;
use crate::time::Window;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// One finished file, as recorded in the progress file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Done {
    file: String,
    bytes: u64,
    modified: i64,
}

impl Done {
    fn of(path: &Path) -> io::Result<Done> {
        let meta = std::fs::metadata(path)?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs() as i64);
        Ok(Done {
            file: path.display().to_string(),
            bytes: meta.len(),
            modified,
        })
    }
}

/// The progress line saying the alerts of the rules that count or remember were written: the
/// backfill is finished.
const END: &str = r#"{"end":"alerts of the rules that count or remember written"}"#;

/// What an earlier run recorded in the progress file.
#[derive(Debug, Default)]
struct Recorded {
    /// The files it finished.
    done: HashSet<Done>,
    /// Whether it wrote the end-of-run alerts ([`END`]).
    ended: bool,
}

/// What a file backfill did.
#[derive(Debug, Default)]
pub struct FileBackfillReport {
    /// Files skipped because an earlier run finished them (the rules that count or remember
    /// read them again: [`ScanReport::reread`]).
    pub resumed: usize,
    /// The scan of the remaining files.
    pub scan: ScanReport,
}

/// The progress file of an output file.
pub fn progress_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".progress");
    PathBuf::from(name)
}

/// What a file backfill hunts for: its progress file belongs to these settings only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Settings {
    range: [String; 2],
    rules: Vec<String>,
}

impl Settings {
    fn of(engine: &Engine<'_>) -> Settings {
        let range = engine.range();
        let bound = |t: Option<DateTime<Utc>>| t.map(crate::time::format).unwrap_or_default();
        let mut rules: Vec<String> = engine
            .rules()
            .iter()
            .map(|r| format!("{}@{}", r.meta.id, r.meta.version))
            .collect();
        rules.sort();
        Settings {
            range: [bound(range.from), bound(range.to)],
            rules,
        }
    }
}

/// Runs (or resumes) a backfill of `paths` into `output`. A progress file left by a backfill
/// with other settings (range, rules) is refused rather than trusted.
pub fn run(
    paths: &[PathBuf],
    engine: &Engine<'_>,
    output: &Path,
    now: DateTime<Utc>,
) -> io::Result<FileBackfillReport> {
    let progress_file = progress_path(output);
    let settings = Settings::of(engine);
    let recorded = read_recorded(&progress_file, &settings)?;
    let found = files::discover(paths);
    let (mut done, mut todo) = (Vec::new(), Vec::new());
    for path in &found.files {
        match recorded.done.contains(&Done::of(path)?) {
            true => done.push(path.clone()),
            false => todo.push(path.clone()),
        }
    }
    let mut scanner = Scanner::new(engine, now, ids_in(output, "/eshunt/alert_id")?);
    scanner.report.ignored_files = found.ignored;
    for (path, error) in found.errors {
        scanner
            .report
            .tally
            .skip(crate::hunt::files::unreadable(&path, error));
    }
    let mut sink = NdjsonSink::new(BufWriter::new(open_append(output)?));
    let mut record = open_append(&progress_file)?;
    if recorded.done.is_empty() && record.metadata()?.len() == 0 {
        writeln!(record, "{}", serde_json::to_string(&settings)?)?;
    }
    let started = std::time::Instant::now();
    let finished = recorded.ended && todo.is_empty();
    if !finished {
        recall(&mut scanner, engine, &done);
    }
    scan_files(&mut scanner, &todo, &mut sink, &mut record, done.len())?;
    if !finished {
        scanner.finish(&mut |alert| sink.write(&alert))?;
        sink.flush_and_sync()?;
        writeln!(record, "{END}")?;
        record.sync_data()?;
    }
    sink.finish()?;
    scanner.report.elapsed = started.elapsed();
    Ok(FileBackfillReport {
        resumed: done.len(),
        scan: scanner.report,
    })
}

/// Reads the files an earlier run finished again for the rules that count or remember only
/// (nothing when there are none), so their memories hold every event of the range.
fn recall<'r>(scanner: &mut Scanner<'_, 'r>, engine: &Engine<'r>, done: &[PathBuf]) {
    let remembering = engine.rules().iter().copied().filter(|r| r.remembers());
    let engine = Engine::new(remembering, engine.range());
    if engine.rules().is_empty() || done.is_empty() {
        return;
    }
    let bar = Progress::new("re-read for rules that count", done.len() as u64, 0);
    for path in done {
        bar.add(scanner.recall_file(&engine, path), 0);
    }
    bar.finish();
}

/// Scans the files left to do, recording each one read to its end in the progress file once
/// its alerts are synced.
fn scan_files(
    scanner: &mut Scanner<'_, '_>,
    todo: &[PathBuf],
    sink: &mut NdjsonSink<BufWriter<File>>,
    record: &mut File,
    resumed: usize,
) -> io::Result<()> {
    let bar = Progress::new("backfill", (resumed + todo.len()) as u64, resumed as u64);
    for path in todo {
        let (events_before, written_before) = (scanner.report.tally.events, sink.written());
        let complete = scanner.scan_file(path, &mut |alert| sink.write(&alert))?;
        sink.flush_and_sync()?;
        if complete {
            writeln!(record, "{}", serde_json::to_string(&Done::of(path)?)?)?;
            record.sync_data()?;
        }
        bar.add(
            scanner.report.tally.events - events_before,
            sink.written() - written_before,
        );
    }
    bar.finish();
    Ok(())
}

/// The range and rule ids a backfill into `output` was started with (its progress file's
/// settings line), to resume it; `None` without a progress file.
pub fn recorded(output: &Path) -> io::Result<Option<(Window, Vec<String>)>> {
    let path = progress_path(output);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let first = BufReader::new(file).lines().next().transpose()?;
    let invalid = || io::Error::other(format!("{}: no valid settings line", path.display()));
    let settings: Settings = first
        .and_then(|l| serde_json::from_str(&l).ok())
        .ok_or_else(invalid)?;
    let bound = |text: &str| crate::time::parse_timestamp(text).ok_or_else(invalid);
    let window = Window {
        start: bound(&settings.range[0])?,
        end: bound(&settings.range[1])?,
    };
    let ids = settings
        .rules
        .iter()
        .map(|r| {
            r.rsplit_once('@')
                .map_or(r.as_str(), |(id, _)| id)
                .to_string()
        })
        .collect();
    Ok(Some((window, ids)))
}

/// What a previous run recorded, after checking its settings line matches.
fn read_recorded(path: &Path, settings: &Settings) -> io::Result<Recorded> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Recorded::default()),
        Err(e) => return Err(e),
    };
    let mut lines = BufReader::new(file).lines().map_while(Result::ok);
    if let Some(first) = lines.next() {
        let previous: Option<Settings> = serde_json::from_str(&first).ok();
        if previous.as_ref() != Some(settings) {
            return Err(io::Error::other(format!(
                "{} belongs to a backfill with other settings ({first}); write to another --output, or delete it and its output to start over",
                path.display()
            )));
        }
    }
    let mut recorded = Recorded::default();
    for line in lines {
        if line == END {
            recorded.ended = true;
        } else if let Ok(done) = serde_json::from_str(&line) {
            recorded.done.insert(done);
        }
    }
    Ok(recorded)
}

/// Opens a JSON-lines file to append to. A torn last line (the process was killed while
/// writing it) is cut off first, so what is appended starts a line of its own.
fn open_append(path: &Path) -> io::Result<File> {
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    let kept = complete_lines_len(&mut file)?;
    let len = file.metadata()?.len();
    if kept < len {
        tracing::warn!(file = %path.display(), bytes = len - kept, "cutting off a torn last line left by an interrupted run");
        file.set_len(kept)?;
    }
    Ok(file)
}

/// The length of `file` up to and including its last newline.
fn complete_lines_len(file: &mut File) -> io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    const BLOCK: u64 = 64 * 1024;
    let mut end = file.metadata()?.len();
    let mut buf = vec![0u8; BLOCK as usize];
    while end > 0 {
        let start = end.saturating_sub(BLOCK);
        let block = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(block)?;
        if let Some(i) = block.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}
