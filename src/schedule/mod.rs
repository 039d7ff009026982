//! Scheduled hunting: which windows each rule runs ([`plan`]), who runs which rule
//! ([`lease`]), the daemon loop ([`runner`]) and what it exposes to Prometheus ([`metrics`]).

pub mod lease;
pub mod metrics;
pub mod plan;
pub mod runner;
