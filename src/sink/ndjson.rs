//! Alerts as JSON lines: one ECS alert document per line (its id is `eshunt.alert_id`) — to a
//! file, or printed once per id by a dry run.

use super::WriteReport;
use crate::alert::Alert;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// The alert ids a JSON-lines file holds, each at the JSON `pointer` of its line (e.g.
/// `/eshunt/alert_id`); lines that are not JSON (a torn last line) are passed over, and a
/// missing file holds none.
pub fn ids_in(path: &Path, pointer: &str) -> io::Result<HashSet<String>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(e) => return Err(e),
    };
    Ok(BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .filter_map(|v| v.pointer(pointer)?.as_str().map(str::to_string))
        .collect())
}

/// Writes alerts as JSON lines to any writer.
pub struct NdjsonSink<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> NdjsonSink<W> {
    /// Wraps a writer (buffer it: every alert is one `write`).
    pub fn new(out: W) -> Self {
        NdjsonSink { out, written: 0 }
    }

    /// Writes one alert.
    pub fn write(&mut self, alert: &Alert) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, &alert.doc)?;
        self.out.write_all(b"\n")?;
        self.written += 1;
        Ok(())
    }

    /// How many alerts were written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Alerts printed as JSON lines (a dry run), each id once: a window redone after a failure
/// finds what it printed before as existing, as a write to the cluster would.
pub struct Printer {
    sink: NdjsonSink<Box<dyn Write + Send>>,
    printed: HashSet<String>,
}

impl Printer {
    /// Prints to `out`.
    pub fn new(out: Box<dyn Write + Send>) -> Printer {
        Printer {
            sink: NdjsonSink::new(out),
            printed: HashSet::new(),
        }
    }

    /// Prints the alerts not printed before, and flushes.
    pub fn print(&mut self, alerts: &[Alert]) -> io::Result<WriteReport> {
        let mut report = WriteReport::default();
        for alert in alerts {
            if self.printed.insert(alert.id.clone()) {
                self.sink.write(alert)?;
                report.created += 1;
            } else {
                report.existing += 1;
            }
        }
        self.sink.out.flush()?;
        Ok(report)
    }
}

impl NdjsonSink<BufWriter<File>> {
    /// Flushes and syncs the file to disk, so what was written survives a crash.
    pub fn flush_and_sync(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_data()
    }
}
