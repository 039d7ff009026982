//! Where alerts go: JSON lines on stdout or in a file ([`ndjson`]), or an Elasticsearch data
//! stream ([`elasticsearch`]) with a dead-letter file for refused alerts ([`dead_letter`]);
//! suppressed alerts are merged there window by window ([`merge`]).

pub mod dead_letter;
pub mod elasticsearch;
pub mod merge;
pub mod ndjson;

use self::elasticsearch::BulkWriter;
use self::merge::Merge;
use self::ndjson::Printer;
use crate::alert::Alert;
use crate::es::EsError;
use std::sync::{Arc, Mutex};

/// What a write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Alerts created.
    pub created: u64,
    /// Alerts that already existed (same `_id`).
    pub existing: u64,
    /// Of the existing alerts, suppressed ones whose stored counts (or first event) this write
    /// changed.
    pub updated: u64,
    /// Alerts the cluster refused for good, appended to the dead-letter file.
    pub dead_lettered: u64,
    /// Item retries (429/5xx items resent).
    pub retried: u64,
}

impl WriteReport {
    /// Adds another report's counts.
    pub fn add(&mut self, other: WriteReport) {
        self.created += other.created;
        self.existing += other.existing;
        self.updated += other.updated;
        self.dead_lettered += other.dead_lettered;
        self.retried += other.retried;
    }
}

/// Where a window's alerts go.
pub enum Delivery<'a> {
    /// Written to the cluster.
    Bulk(&'a BulkWriter),
    /// Printed as JSON lines (dry run).
    Print(&'a Mutex<Printer>),
}

/// How many alerts a dry run prints at a time.
const PRINT_BATCH: usize = 500;

impl Delivery<'_> {
    /// How many alerts to gather before delivering them: the bulk size when writing.
    pub fn batch_size(&self) -> usize {
        match self {
            Delivery::Bulk(writer) => writer.batch_size(),
            Delivery::Print(_) => PRINT_BATCH,
        }
    }

    /// Delivers a batch of alerts: written (each once, whatever the retries) or printed.
    pub async fn deliver(&self, alerts: &[Alert]) -> Result<WriteReport, DeliveryError> {
        match self {
            Delivery::Bulk(writer) => Ok(writer.write(alerts).await?),
            Delivery::Print(printer) => print(printer, alerts),
        }
    }

    /// Delivers windows' parts of suppressed alerts: merged into the stored alerts, or printed
    /// as each window sees its alert (with its own counts).
    pub async fn merge(&self, merges: &[Merge]) -> Result<WriteReport, DeliveryError> {
        match self {
            Delivery::Bulk(writer) => Ok(writer.merge(merges).await?),
            Delivery::Print(printer) => {
                let alerts: Vec<Alert> = merges.iter().map(|m| m.alert.clone()).collect();
                print(printer, &alerts)
            }
        }
    }
}

fn print(printer: &Mutex<Printer>, alerts: &[Alert]) -> Result<WriteReport, DeliveryError> {
    printer
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .print(alerts)
        .map_err(|e| DeliveryError::Output(Arc::new(e)))
}

/// Why alerts were not delivered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Writing to the cluster failed (retrying the window may help).
    #[error(transparent)]
    Cluster(#[from] EsError),
    /// Printing failed (a dry run's stdout, e.g. closed by `| head`): retrying cannot help.
    #[error("printing alerts: {0}")]
    Output(Arc<std::io::Error>),
}
