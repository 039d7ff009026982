//! CloudTrail files: discovery (files and folders, as in an S3 export), decompression, format
//! detection and streaming of records as raw JSON text.
//!
//! Formats, detected from the content (not the file name):
//! - AWS delivery files `{"Records":[…]}` (`.json`, `.json.gz`), one document;
//! - JSON lines (`.jsonl`, `.ndjson`, optionally gzip): one raw record, ECS `_source` or search hit
//!   per line — streamed line by line in bounded memory;
//! - a JSON array of records or hits (e.g. an export), one document;
//!
//! Gzip is recognised by its magic bytes; so are bzip2, xz, zstd and zip, which are reported as
//! unsupported. A UTF-8 byte-order mark at the start is skipped. A single-document file is read
//! whole (AWS delivery files are small); JSON lines are never held in memory beyond one line.
//! The path `-` is standard input, read the same way.

use crate::event::Origin;
use crate::tally::Skipped;
use flate2::read::MultiGzDecoder;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The path that names standard input (`eshunt scan -`).
pub const STDIN: &str = "-";

/// How records read from standard input are located (`<stdin>:3`).
const STDIN_NAME: &str = "<stdin>";

/// The UTF-8 byte-order mark, skipped at the start of a file.
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Bytes read ahead to recognise a compressed stream by its magic bytes.
const MAGIC_LEN: u64 = 6;

/// The gzip magic bytes.
const GZIP: &[u8] = b"\x1f\x8b";

/// Compressed formats eshunt cannot read, by their magic bytes: their name and how to
/// decompress them.
const UNSUPPORTED: &[(&[u8], &str, &str)] = &[
    (b"BZh", "bzip2", "bunzip2"),
    (b"\xfd7zXZ\x00", "xz", "unxz"),
    (b"\x28\xb5\x2f\xfd", "zstd", "unzstd"),
    (b"PK\x03\x04", "zip", "unzip"),
];

/// File name endings read when walking a folder (explicitly named files are always read).
const EXTENSIONS: &[&str] = &[
    ".json",
    ".json.gz",
    ".jsonl",
    ".jsonl.gz",
    ".ndjson",
    ".ndjson.gz",
    ".gz",
    // compressions eshunt cannot read: read, so they are reported as unsupported
    ".bz2",
    ".xz",
    ".zst",
];

/// The files found under the paths given, in a stable order.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Files to read.
    pub files: Vec<PathBuf>,
    /// Files passed over when walking folders (not JSON or compressed by name).
    pub ignored: Vec<PathBuf>,
    /// Paths that could not be read.
    pub errors: Vec<(PathBuf, String)>,
}

/// Expands files and folders into the list of files to read. Folders are walked recursively in
/// name order, keeping files whose names end in a JSON extension; [`STDIN`] is kept as it is.
pub fn discover(paths: &[PathBuf]) -> Discovery {
    let mut found = Discovery::default();
    for path in paths {
        if path == Path::new(STDIN) {
            found.files.push(path.clone());
        } else if path.is_dir() {
            for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                match entry {
                    Ok(e) if e.file_type().is_file() => {
                        if has_json_extension(e.path()) {
                            found.files.push(e.into_path());
                        } else {
                            found.ignored.push(e.into_path());
                        }
                    }
                    Ok(_) => {}
                    Err(err) => found
                        .errors
                        .push((err.path().unwrap_or(path).to_path_buf(), err.to_string())),
                }
            }
        } else if path.exists() {
            found.files.push(path.clone());
        } else {
            found
                .errors
                .push((path.clone(), "no such file or directory".into()));
        }
    }
    found
}

fn has_json_extension(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    EXTENSIONS.iter().any(|ext| name.ends_with(ext))
}

/// One record as read: its JSON text and where it is.
#[derive(Debug)]
pub struct RawRecord<'a> {
    /// The record's JSON text (a raw record, an ECS document or a search hit).
    pub text: &'a [u8],
    /// Where it is.
    pub origin: Origin,
}

/// What a reader hands to its consumer.
pub enum Item<'a> {
    /// A record to evaluate.
    Record(RawRecord<'a>),
    /// A part of the file that was skipped.
    Skipped(Skipped),
}

/// Reads one file ([`STDIN`]: standard input), calling `each` for every record or skipped
/// part, in file order. Returns an error only when the file itself cannot be read (it is then
/// partly consumed).
pub fn read_file(path: &Path, each: &mut dyn FnMut(Item<'_>)) -> io::Result<()> {
    if path == Path::new(STDIN) {
        return read(STDIN_NAME.into(), Box::new(io::stdin().lock()), each);
    }
    read(
        path.display().to_string().into(),
        Box::new(File::open(path)?),
        each,
    )
}

/// Reads one stream, its records located by `name`.
fn read(name: Arc<str>, input: Box<dyn Read>, each: &mut dyn FnMut(Item<'_>)) -> io::Result<()> {
    let name = &name;
    let mut reader = match decompress(input)? {
        Content::Readable(reader) => reader,
        Content::Unsupported { format, tool } => {
            each(Item::Skipped(Skipped {
                origin: Origin::Inline(name.clone()),
                reason: "unsupported compression",
                detail: format!("{format}-compressed, which eshunt cannot read ({tool} it first)"),
            }));
            return Ok(());
        }
    };
    let mut first = Vec::new();
    reader.read_until(b'\n', &mut first)?;
    if first.starts_with(UTF8_BOM) {
        first.drain(..UTF8_BOM.len()); // written by some Windows tools; not JSON
    }
    match detect(&first) {
        Layout::Lines => read_lines(name, first, reader, each),
        Layout::Document => {
            let mut all = first;
            reader.read_to_end(&mut all)?;
            if all.trim_ascii().is_empty() {
                return Ok(()); // nothing but whitespace
            }
            if is_damaged_json_lines(&all) {
                let mut lines = io::Cursor::new(all);
                let mut first = Vec::new();
                lines.read_until(b'\n', &mut first)?;
                return read_lines(name, first, Box::new(lines), each);
            }
            read_document(name, &all, each);
            Ok(())
        }
        Layout::Empty => Ok(()),
    }
}

/// What a stream holds, seen from its first bytes.
enum Content {
    /// Text to read (decompressed, when it was gzip).
    Readable(Box<dyn BufRead>),
    /// A compression eshunt cannot read, and the tool that decompresses it.
    Unsupported {
        /// The format's name.
        format: &'static str,
        /// The tool.
        tool: &'static str,
    },
}

/// The stream, decompressed when it is gzip, recognised by its first bytes (however short the
/// reads of a pipe are).
fn decompress(mut input: Box<dyn Read>) -> io::Result<Content> {
    let mut magic = Vec::new();
    (&mut input).take(MAGIC_LEN).read_to_end(&mut magic)?;
    if let Some(&(_, format, tool)) = UNSUPPORTED.iter().find(|(m, ..)| magic.starts_with(m)) {
        return Ok(Content::Unsupported { format, tool });
    }
    let gzip = magic.starts_with(GZIP);
    let input = BufReader::with_capacity(256 * 1024, io::Cursor::new(magic).chain(input));
    Ok(Content::Readable(if gzip {
        Box::new(BufReader::with_capacity(
            256 * 1024,
            MultiGzDecoder::new(input),
        ))
    } else {
        Box::new(input)
    }))
}

enum Layout {
    /// JSON lines: each line a document.
    Lines,
    /// One JSON document spanning the file.
    Document,
    /// No bytes at all.
    Empty,
}

/// JSON lines when the first line is a complete JSON value (or looks like a damaged one-line
/// object); otherwise one document.
fn detect(first_line: &[u8]) -> Layout {
    let trimmed = first_line.trim_ascii();
    if trimmed.is_empty() {
        return if first_line.is_empty() {
            Layout::Empty
        } else {
            Layout::Document
        };
    }
    let complete = serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_ok();
    let looks_like_line = trimmed.starts_with(b"{") && trimmed.ends_with(b"}");
    if complete || looks_like_line {
        Layout::Lines
    } else {
        Layout::Document
    }
}

/// JSON lines whose first line is broken: the text is not one JSON document, but some later
/// line is a complete JSON object. Reading it line by line loses only the broken lines.
fn is_damaged_json_lines(text: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(text).is_err()
        && text.split(|&b| b == b'\n').skip(1).any(|line| {
            let line = line.trim_ascii();
            line.starts_with(b"{") && serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
        })
}

fn read_lines(
    name: &Arc<str>,
    mut line: Vec<u8>,
    mut reader: Box<dyn BufRead>,
    each: &mut dyn FnMut(Item<'_>),
) -> io::Result<()> {
    let mut number = 1u64;
    loop {
        let text = line.trim_ascii();
        if !text.is_empty() {
            if text.starts_with(b"{\"Records\"") {
                read_records_document(name, number, text, each);
            } else if text.starts_with(b"[") {
                read_array(name, number, text, each);
            } else {
                let origin = line_origin(name, number);
                each(Item::Record(RawRecord { text, origin }));
            }
        }
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        number += 1;
    }
}

#[derive(Deserialize)]
struct RecordsFile<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<&'a RawValue>,
}

fn read_document(name: &Arc<str>, text: &[u8], each: &mut dyn FnMut(Item<'_>)) {
    let text = text.trim_ascii();
    if text.starts_with(b"[") {
        read_array(name, 1, text, each);
    } else {
        read_records_document(name, 1, text, each);
    }
}

/// A JSON array of records or hits (an export) starting at `line`: a document or one line.
fn read_array(name: &Arc<str>, line: u64, text: &[u8], each: &mut dyn FnMut(Item<'_>)) {
    match serde_json::from_slice::<Vec<&RawValue>>(text) {
        Ok(items) => emit_elements(name, line, &items, false, each),
        Err(e) => each(Item::Skipped(Skipped::invalid_json(
            line_origin(name, line),
            &e,
        ))),
    }
}

/// A delivery file (`Records`) or a single record starting at `line`.
fn read_records_document(name: &Arc<str>, line: u64, text: &[u8], each: &mut dyn FnMut(Item<'_>)) {
    if let Ok(file) = serde_json::from_slice::<RecordsFile>(text) {
        return emit_elements(name, line, &file.records, true, each);
    }
    let origin = line_origin(name, line);
    match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
        Ok(_) => each(Item::Record(RawRecord { text, origin })),
        Err(e) => each(Item::Skipped(Skipped::invalid_json(origin, &e))),
    }
}

fn line_origin(name: &Arc<str>, line: u64) -> Origin {
    Origin::Line {
        file: name.clone(),
        line,
    }
}

fn emit_elements(
    name: &Arc<str>,
    line: u64,
    items: &[&RawValue],
    in_records: bool,
    each: &mut dyn FnMut(Item<'_>),
) {
    for (index, item) in items.iter().enumerate() {
        each(Item::Record(RawRecord {
            text: item.get().as_bytes(),
            origin: Origin::Record {
                file: name.clone(),
                line,
                index: index as u64,
                in_records,
            },
        }));
    }
}

/// The document a record holds, and where it is: the parsed JSON object (a CloudTrail record
/// or ECS document), or a search hit's `_source` (then located by its `_index`/`_id`). Invalid
/// JSON, non-objects and digest files are skipped. `scan` and `explain --file` read records
/// through this.
pub fn parse_record(record: RawRecord<'_>) -> Result<(Value, Origin), Skipped> {
    let origin = record.origin;
    let value = match serde_json::from_slice(record.text) {
        Ok(value) => value,
        Err(e) => return Err(Skipped::invalid_json(origin, &e)),
    };
    let Value::Object(mut map) = value else {
        return Err(Skipped {
            origin,
            reason: "not a JSON object",
            detail: "a record must be a JSON object".into(),
        });
    };
    if map.contains_key("digestStartTime") && map.contains_key("logFiles") {
        return Err(Skipped {
            origin,
            reason: "CloudTrail digest file",
            detail: "digest files hold hashes, not events".into(),
        });
    }
    if let Some(Value::Object(source)) = map.remove("_source") {
        let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_string);
        let origin = match (text("_index"), text("_id")) {
            (Some(index), Some(id)) => Origin::Document { index, id },
            _ => origin,
        };
        return Ok((Value::Object(source), origin));
    }
    Ok((Value::Object(map), origin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn records(content: &[u8], gz: bool) -> Vec<(String, String)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut file = File::create(&path).unwrap();
        if gz {
            file.write_all(&gzip(content)).unwrap();
        } else {
            file.write_all(content).unwrap();
        }
        let mut out = Vec::new();
        read_file(&path, &mut |item| match item {
            Item::Record(r) => out.push((
                r.origin
                    .to_string()
                    .replace(&*path.display().to_string(), "f"),
                String::from_utf8_lossy(r.text).into_owned(),
            )),
            Item::Skipped(s) => out.push((
                s.origin
                    .to_string()
                    .replace(&*path.display().to_string(), "f"),
                format!("SKIP {}", s.reason),
            )),
        })
        .unwrap();
        out
    }

    fn gzip(content: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(content).unwrap();
        enc.finish().unwrap()
    }

    /// A pipe that hands over one byte per read.
    struct Trickle(io::Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let one = buf.len().min(1);
            self.0.read(&mut buf[..one])
        }
    }

    #[test]
    fn a_stream_is_decompressed_however_short_its_reads() {
        let stream = Trickle(io::Cursor::new(gzip(b"{\"Records\":[{\"a\":1}]}")));
        let mut texts = Vec::new();
        read("<stdin>".into(), Box::new(stream), &mut |item| {
            if let Item::Record(r) = item {
                texts.push((r.origin.to_string(), r.text.to_vec()));
            }
        })
        .unwrap();
        assert_eq!(
            texts,
            vec![("<stdin>:1: Records[0]".into(), b"{\"a\":1}".to_vec())]
        );
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_skipped() {
        let bom = |text: &str| [b"\xef\xbb\xbf", text.as_bytes()].concat();
        let lines = records(&bom("{\"a\":1}\n{\"b\":2}\n"), false);
        assert_eq!(
            lines,
            vec![
                ("f:1".into(), "{\"a\":1}".into()),
                ("f:2".into(), "{\"b\":2}".into()),
            ]
        );
        let delivery = bom("{\n  \"Records\": [\n {\"a\":1},\n {\"b\":2}\n ]\n}\n");
        for gz in [false, true] {
            let got = records(&delivery, gz);
            assert_eq!(got.len(), 2, "gzip {gz}: {got:?}");
            assert_eq!(got[1], ("f:1: Records[1]".into(), "{\"b\":2}".into()));
        }
        assert!(
            records(&bom(""), false).is_empty(),
            "a mark and nothing else"
        );
    }

    #[test]
    fn compressions_eshunt_cannot_read_are_skipped_as_unsupported() {
        for magic in [
            &b"BZh91AY&SY"[..],
            b"\xfd7zXZ\x00\x00",
            b"\x28\xb5\x2f\xfd\x04",
            b"PK\x03\x04",
        ] {
            assert_eq!(
                records(magic, false),
                vec![("f".into(), "SKIP unsupported compression".into())],
                "{magic:?}"
            );
        }
        assert_eq!(
            records(b"1\n", false),
            vec![("f:1".into(), "1".into())],
            "shorter than a magic"
        );
    }

    #[test]
    fn json_lines_with_blank_and_broken_lines() {
        let got = records(b"{\"a\":1}\n\n{\"b\":2\n[1]\n", false);
        assert_eq!(
            got,
            vec![
                ("f:1".into(), "{\"a\":1}".into()),
                ("f:3".into(), "{\"b\":2".into()),
                ("f:4: [0]".into(), "1".into()),
            ]
        );
    }

    #[test]
    fn a_broken_first_line_does_not_lose_the_file() {
        let got = records(b"{\"a\":1,\n{\"b\":2}\n", false);
        assert_eq!(
            got,
            vec![
                ("f:1".into(), "{\"a\":1,".into()),
                ("f:2".into(), "{\"b\":2}".into()),
            ]
        );
    }

    #[test]
    fn gzip_delivery_file_pretty_printed() {
        let got = records(
            b"{\n  \"Records\": [\n {\"a\":1},\n {\"b\":2}\n ]\n}\n",
            true,
        );
        assert_eq!(
            got,
            vec![
                ("f:1: Records[0]".into(), "{\"a\":1}".into()),
                ("f:1: Records[1]".into(), "{\"b\":2}".into()),
            ]
        );
    }

    #[test]
    fn one_line_delivery_file_and_array() {
        assert_eq!(
            records(b"{\"Records\":[{\"a\":1}]}", false)[0].0,
            "f:1: Records[0]"
        );
        let pretty = records(b"[\n{\"a\":1},\n{\"a\":2}\n]", false);
        assert_eq!(pretty.len(), 2);
        assert_eq!(
            pretty[1].0, "f:1: [1]",
            "a bare array is labelled by position"
        );
        let compact = records(b"{\"a\":0}\n[{\"a\":1},{\"a\":2}]\n", false);
        assert_eq!(compact.len(), 3, "jq -c output after a line");
        assert_eq!(compact[2].0, "f:2: [1]");
    }

    #[test]
    fn garbage_and_empty_files() {
        assert_eq!(
            records(b"{\n\"Records\": [ {\"a\":", false)[0].1,
            "SKIP invalid JSON"
        );
        assert!(records(b"", false).is_empty());
        assert!(records(b"\n   \n\t\n", false).is_empty(), "whitespace only");
        assert!(
            records(b"  \n", true).is_empty(),
            "whitespace only, gzipped"
        );
    }

    #[test]
    fn discovery_walks_folders_in_order_and_filters_names() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("AWSLogs/1/CloudTrail/us-east-1/2026/03/14");
        std::fs::create_dir_all(&sub).unwrap();
        for name in ["b.json.gz", "a.json", "notes.txt", "c.ndjson", "d.json.zst"] {
            File::create(sub.join(name)).unwrap();
        }
        let found = discover(&[dir.path().to_path_buf(), dir.path().join("missing")]);
        let names: Vec<_> = found
            .files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["a.json", "b.json.gz", "c.ndjson", "d.json.zst"]);
        assert_eq!(found.ignored, vec![sub.join("notes.txt")]);
        assert_eq!(found.errors.len(), 1);
    }
}
