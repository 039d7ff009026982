//! Sources of events: CloudTrail files ([`files`]) and Elasticsearch/OpenSearch windows
//! ([`elasticsearch`]).

pub mod elasticsearch;
pub mod files;
pub mod history;
