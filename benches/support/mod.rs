//! Shared by the benches: `eshunt scan`'s inner loop over JSON lines.

use chrono::{DateTime, Utc};
use eshunt::event::Origin;
use eshunt::hunt::engine::Engine;
use eshunt::source::files::RawRecord;
use eshunt::tally::Tally;
use std::sync::Arc;

/// Runs `engine` over `lines` as lines of one file; the matches found and the tally.
pub fn scan_lines(engine: &Engine, lines: &[String], now: DateTime<Utc>) -> (usize, Tally) {
    let file: Arc<str> = "bench".into();
    let mut tally = engine.new_tally();
    let mut found = 0usize;
    for (i, line) in lines.iter().enumerate() {
        let record = RawRecord {
            text: line.as_bytes(),
            origin: Origin::Line {
                file: file.clone(),
                line: i as u64 + 1,
            },
        };
        engine.process(record, now, &mut tally, &mut |_| found += 1);
    }
    (found, tally)
}
