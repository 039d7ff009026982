//! Scheduled hunting: which windows each rule runs ([`plan`]), who runs which rule
//! ([`lease`]), and the daemon loop ([`runner`]).

pub mod lease;
pub mod plan;
pub mod runner;
