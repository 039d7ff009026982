//! Local evaluation of Elasticsearch query DSL against a JSON `_source` document, with the
//! semantics of the mapped field types.
//!
//! eshunt uses it to test each rule's prefilter offline on the ECS view of every event, and
//! inside its Elasticsearch-compatible in-process test server. It therefore follows documented
//! Elasticsearch 8/9 behaviour closely, and refuses (with an error at compile time) what it
//! cannot evaluate faithfully, rather than guessing.
//!
//! ```
//! use chrono::Utc;
//! use eshunt::dsl::{Mapping, Query};
//! use serde_json::json;
//!
//! let q = Query::compile(
//!     &json!({"query_string": {"fields": ["event.action"], "query": "PublishLayerVersion*"}}),
//!     &Mapping::cloudtrail(),
//! )
//! .unwrap();
//! assert!(q.matches(&json!({"event": {"action": "PublishLayerVersion20181031"}}), Utc::now()));
//! // event.action is a keyword: matching is case-sensitive.
//! assert!(!q.matches(&json!({"event": {"action": "publishlayerversion20181031"}}), Utc::now()));
//! ```
//!
//! Modules:
//! - [`mapping`]: index mappings ([`Mapping`], [`FieldMapping`], [`FieldType`]), dynamic
//!   mapping, and the built-in CloudTrail mapping.
//! - [`source`]: reading field values from `_source` (dotted keys, arrays).
//! - [`analysis`]: the standard analyzer approximation used for text fields.
//! - [`datemath`]: date math (`now-6m`, `now/d`, `2024-01-01||+1M/d`).
//! - `query`: compiling and evaluating queries ([`Query`]).
//! - [`pattern`]: wildcard globs and Lucene regular expressions.

pub mod analysis;
mod date;
pub mod datemath;
mod error;
pub mod mapping;
pub mod pattern;
mod query;
pub mod source;

pub use analysis::Analyzer;
pub use error::DslError;
pub use mapping::{Dynamic, FieldMapping, FieldType, Mapping};
pub use query::{DocMeta, Query};
