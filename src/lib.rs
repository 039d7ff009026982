//! eshunt — a detection hunter for AWS CloudTrail, in Elasticsearch/OpenSearch and in files.
//!
//! Data flows one way: **source → event view → rule (prefilter, condition) → alert → sink**,
//! with the scheduler, backfill and state around it.
//!
//! - [`source`]: where events come from — CloudTrail files, Elasticsearch/OpenSearch windows
//!   (point in time + `search_after`, scroll on old clusters).
//! - [`event`]: one view over a raw CloudTrail record or an Elastic ECS document, looked up by
//!   CloudTrail field names; the mappings record ↔ ECS both ways.
//! - [`rule`]: rule files (`queries/*.toml`), the condition language, alert shaping, rule tests.
//! - [`engine`] and [`scan`]: rules over files; [`hunt`]: one rule over one cluster window.
//! - [`alert`]: the ECS alert document and its deterministic id.
//! - [`sink`]: JSON lines, or the alerts data stream (bulk `create`) with a dead-letter file.
//! - [`schedule`]: windows per rule, leases between processes, the daemon loop.
//! - [`backfill`]: the same rules over any range, chunked and resumable.
//! - [`state`]: checkpoints, leases, run records, gaps and backfill progress in the cluster.
//! - [`es`]: the client over Elasticsearch and OpenSearch (flavour, retries, setup).
//!
//! The query languages — KQL → DSL, and DSL evaluated on a document with the semantics of the
//! mapped field types — are the workspace crate `esquery`, which knows nothing of CloudTrail.
//!
//! - [`config`], [`metrics`], [`progress`], [`time`], [`net`]: configuration, Prometheus
//!   metrics, progress reporting, timestamps and spans, IP blocks.

pub mod alert;
pub mod backfill;
pub mod config;
pub mod engine;
pub mod es;
pub mod event;
pub mod hunt;
pub mod metrics;
pub mod net;
pub mod progress;
pub mod rule;
pub mod scan;
pub mod schedule;
pub mod sink;
pub mod source;
pub mod state;
pub mod time;
