//! Output formats: raw JSON lines, AWS trail-file layout, ECS `_source` lines, and search hits.
//! Every writer streams; the trail layout holds at most one open batch per account and region.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use eshunt::event::to_ecs::{to_ecs, ToEcsOptions};
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};

use super::rng::{mix, Rng};
use super::Generated;

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One raw record per line.
    Jsonl,
    /// `AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/…json.gz` files of `{"Records":[…]}`.
    Records,
    /// One ECS `_source` per line.
    Ecs,
    /// One search hit `{"_index","_id","_source"}` per line.
    EcsHits,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "jsonl" => Ok(Format::Jsonl),
            "records" => Ok(Format::Records),
            "ecs" => Ok(Format::Ecs),
            "ecs-hits" => Ok(Format::EcsHits),
            other => Err(format!(
                "unknown format {other:?}: use jsonl, records, ecs or ecs-hits"
            )),
        }
    }
}

/// Settings of the writers.
#[derive(Debug, Clone)]
pub struct OutputConfig {
    /// Format.
    pub format: Format,
    /// File or directory (`records`); `-` is standard output.
    pub out: String,
    /// Seed (the writers' own random stream derives from it).
    pub seed: u64,
    /// Share of ECS documents that keep `event.original`.
    pub preserve_rate: f64,
    /// Data stream namespace of ECS documents.
    pub namespace: String,
    /// First event time (names the backing index of `ecs-hits`).
    pub start: DateTime<Utc>,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Records or documents.
    pub records: u64,
    /// Uncompressed bytes of JSON written.
    pub bytes: u64,
    /// Files written (`records` format).
    pub files: u64,
}

struct Batch {
    window: i64,
    records: Vec<String>,
    limit: usize,
}

/// A streaming writer for one format.
pub struct Writer {
    cfg: OutputConfig,
    rng: Rng,
    line_out: Option<Box<dyn Write>>,
    batches: BTreeMap<(String, String), Batch>,
    index: String,
    stats: Stats,
}

const WINDOW_SECS: i64 = 300;

impl Writer {
    /// Opens the output.
    pub fn new(cfg: OutputConfig) -> io::Result<Writer> {
        let line_out: Option<Box<dyn Write>> = match cfg.format {
            Format::Records => {
                if cfg.out == "-" {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "--format records needs a directory, not -",
                    ));
                }
                fs::create_dir_all(&cfg.out)?;
                None
            }
            _ if cfg.out == "-" => Some(Box::new(BufWriter::with_capacity(1 << 20, io::stdout()))),
            _ => {
                if let Some(parent) = Path::new(&cfg.out)
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                {
                    fs::create_dir_all(parent)?;
                }
                Some(Box::new(BufWriter::with_capacity(
                    1 << 20,
                    File::create(&cfg.out)?,
                )))
            }
        };
        let index = format!(
            ".ds-logs-aws.cloudtrail-{}-{}-000001",
            cfg.namespace,
            cfg.start.format("%Y.%m.%d")
        );
        Ok(Writer {
            rng: Rng::new(mix(&[cfg.seed, 0x0A7])),
            cfg,
            line_out,
            batches: BTreeMap::new(),
            index,
            stats: Stats::default(),
        })
    }

    /// Writes one generated record.
    pub fn write(&mut self, g: &Generated) -> io::Result<()> {
        self.stats.records += 1;
        match self.cfg.format {
            Format::Jsonl => {
                let line = serde_json::to_string(&g.record)?;
                self.line(&line)
            }
            Format::Ecs | Format::EcsHits => {
                let delay_ms = self.rng.range(0, 15 * 60 * 1000) as i64;
                let opts = ToEcsOptions {
                    preserve_original: self.rng.chance(self.cfg.preserve_rate),
                    ingested: Some(g.time + Duration::milliseconds(delay_ms)),
                    namespace: self.cfg.namespace.clone(),
                    ..Default::default()
                };
                let doc = to_ecs(&g.record, &opts);
                let line = if self.cfg.format == Format::Ecs {
                    serde_json::to_string(&doc)?
                } else {
                    let id = self.rng.alnum(20);
                    serde_json::to_string(
                        &json!({"_index": self.index, "_id": id, "_source": doc}),
                    )?
                };
                self.line(&line)
            }
            Format::Records => self.batch(g),
        }
    }

    fn line(&mut self, line: &str) -> io::Result<()> {
        self.stats.bytes += line.len() as u64 + 1;
        let out = self.line_out.as_mut().expect("line output");
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")
    }

    fn batch(&mut self, g: &Generated) -> io::Result<()> {
        let s = |k: &str| {
            g.record
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string()
        };
        let key = (s("recipientAccountId"), s("awsRegion"));
        let window = g.time.timestamp().div_euclid(WINDOW_SECS);
        let flush = self
            .batches
            .get(&key)
            .is_some_and(|b| window > b.window || b.records.len() >= b.limit);
        if flush {
            let b = self.batches.remove(&key).expect("batch");
            self.flush(&key, b)?;
        }
        let limit = self.rng.range(150, 600) as usize;
        let batch = self.batches.entry(key).or_insert_with(|| Batch {
            window,
            records: Vec::new(),
            limit,
        });
        let line = serde_json::to_string(&g.record)?;
        self.stats.bytes += line.len() as u64;
        batch.records.push(line);
        Ok(())
    }

    fn flush(&mut self, key: &(String, String), mut b: Batch) -> io::Result<()> {
        // CloudTrail files are not sorted.
        for i in (1..b.records.len()).rev() {
            let j = self.rng.below(i + 1);
            b.records.swap(i, j);
        }
        let delivered = Utc
            .timestamp_opt((b.window + 1) * WINDOW_SECS, 0)
            .single()
            .unwrap_or_else(Utc::now);
        self.write_file(key, delivered, &b.records)?;
        if self.rng.chance(0.01) {
            self.write_file(key, delivered, &[])?;
        }
        Ok(())
    }

    fn write_file(
        &mut self,
        (acct, region): &(String, String),
        delivered: DateTime<Utc>,
        records: &[String],
    ) -> io::Result<()> {
        let dir: PathBuf = [
            self.cfg.out.as_str(),
            "AWSLogs",
            acct,
            "CloudTrail",
            region,
            &delivered.format("%Y").to_string(),
            &delivered.format("%m").to_string(),
            &delivered.format("%d").to_string(),
        ]
        .iter()
        .collect();
        fs::create_dir_all(&dir)?;
        let name = format!(
            "{acct}_CloudTrail_{region}_{}_{}.json.gz",
            delivered.format("%Y%m%dT%H%MZ"),
            self.rng.alnum(16)
        );
        let mut gz = GzEncoder::new(
            BufWriter::new(File::create(dir.join(name))?),
            Compression::fast(),
        );
        gz.write_all(b"{\"Records\":[")?;
        for (i, r) in records.iter().enumerate() {
            if i > 0 {
                gz.write_all(b",")?;
            }
            gz.write_all(r.as_bytes())?;
        }
        gz.write_all(b"]}")?;
        gz.finish()?.flush()?;
        self.stats.files += 1;
        Ok(())
    }

    /// Flushes everything and returns the totals.
    pub fn finish(mut self) -> io::Result<Stats> {
        let batches = std::mem::take(&mut self.batches);
        for (key, b) in batches {
            self.flush(&key, b)?;
        }
        if let Some(out) = self.line_out.as_mut() {
            out.flush()?;
        }
        Ok(self.stats)
    }
}

/// Writes the ground-truth lines `{"eventID","panther","elastic"}`.
pub struct TruthWriter {
    out: BufWriter<File>,
}

impl TruthWriter {
    /// Creates the truth file.
    pub fn create(path: &str) -> io::Result<TruthWriter> {
        Ok(TruthWriter {
            out: BufWriter::new(File::create(path)?),
        })
    }

    /// Writes one line.
    pub fn write(&mut self, t: &super::lambda::Truth) -> io::Result<()> {
        let line = json!({"eventID": t.event_id, "panther": t.panther, "elastic": t.elastic});
        writeln!(self.out, "{line}")
    }

    /// Flushes the file.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}
