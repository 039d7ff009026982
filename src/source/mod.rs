//! Sources of events: CloudTrail files ([`files`]).

pub mod files;
