//! Where alerts go: JSON lines on stdout or in a file ([`ndjson`]).

pub mod ndjson;
