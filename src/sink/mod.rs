//! Where alerts go: JSON lines on stdout or in a file ([`ndjson`]), or an Elasticsearch data
//! stream ([`elasticsearch`]) with a dead-letter file for refused alerts ([`dead_letter`]).

pub mod dead_letter;
pub mod elasticsearch;
pub mod ndjson;
