//! Hunting: rules over events, wherever the events are.
//!
//! - [`engine`]: the rules over one record at a time — needles, parse, event view, time range,
//!   condition and prefilter — and the alerts that result. Used by both paths below.
//! - [`files`]: the file job (`eshunt scan`, file backfills): discover, read, evaluate, write each
//!   alert once.
//! - [`cluster`]: one rule over one window of the cluster (`eshunt hunt`, the scheduler, cluster
//!   backfills): page the prefilter's hits, evaluate the rest in Rust, deliver the alerts.

pub mod carried;
pub mod cluster;
pub mod engine;
pub mod files;
pub mod memory;
pub mod new_terms;
pub mod suppress;
pub mod threshold;
