//! eshunt — a detection hunter for AWS CloudTrail, in Elasticsearch/OpenSearch and in files.
//!
//! Data flows one way: **source → event view → rule (prefilter, condition) → alert → sink**,
//! with the scheduler, backfill and state around it.
//!
//! - [`source`]: where events come from — CloudTrail files, Elasticsearch/OpenSearch windows
//!   (point in time + `search_after`, scroll on old clusters).
//! - [`event`]: one view over a raw CloudTrail record or an Elastic ECS document, looked up by
//!   CloudTrail field names; the mappings record ↔ ECS both ways.
//! - [`rule`]: rule files (`queries/*.toml`), the condition language, alert shaping.
//! - [`hunt`]: rules over events — the per-record engine, the file job, one rule over one
//!   cluster window.
//! - [`alert`]: the ECS alert document and its deterministic id.
//! - [`import`]: Elastic detection-rules and Sigma checkouts → eshunt rule files.
//! - [`testing`]: a rule's own tests, on each test event as files and the cluster would see it.
//! - [`sink`]: JSON lines, or the alerts data stream (bulk `create`) with a dead-letter file.
//! - [`tally`]: what a run counts and skips, shared by every hunt path.
//! - [`schedule`]: windows per rule, leases between processes, the daemon loop, its metrics.
//! - [`backfill`]: the same rules over any range, chunked and resumable.
//! - [`state`]: checkpoints, leases, run records, gaps and backfill progress in the cluster.
//! - [`es`]: the client over Elasticsearch and OpenSearch (flavour, retries, setup).
//! - [`config`], [`progress`], [`time`], [`net`], [`data_stream`]: configuration, progress
//!   reporting, timestamps, spans and windows, IP blocks, data stream names.
//!
//! The query languages — KQL → DSL, and DSL evaluated on a document with the semantics of the
//! mapped field types — are the workspace crate `esquery`, which knows nothing of CloudTrail.

pub mod alert;
pub mod backfill;
pub mod config;
pub mod data_stream;
pub mod es;
pub mod event;
pub mod hunt;
pub mod import;
pub mod net;
pub mod progress;
pub mod rule;
pub mod schedule;
pub mod sink;
pub mod source;
pub mod state;
pub mod tally;
pub mod testing;
pub mod time;
