//! Local evaluation of Elasticsearch query DSL against a JSON `_source` document, with the
//! semantics of the mapped field types.
//!
//! eshunt uses it to test each rule's prefilter offline on the ECS view of every event, and
//! inside its Elasticsearch-compatible in-process test server. It therefore follows documented
//! Elasticsearch 8/9 behaviour closely, and refuses (with an error at compile time) what it
//! cannot evaluate faithfully, rather than guessing: a prefilter that silently drops true
//! positives is the worst bug a rule can have.
//!
//! ```
//! use chrono::Utc;
//! use esquery::dsl::{Mapping, Query};
//! use serde_json::json;
//!
//! let mapping = Mapping::from_json(&json!({"properties": {"event": {"properties": {
//!     "action": {"type": "keyword"}
//! }}}}))
//! .unwrap();
//! let q = Query::compile(
//!     &json!({"query_string": {"fields": ["event.action"], "query": "PublishLayerVersion*"}}),
//!     &mapping,
//! )
//! .unwrap();
//! assert!(q.matches(&json!({"event": {"action": "PublishLayerVersion20181031"}}), Utc::now()));
//! // event.action is a keyword: matching is case-sensitive.
//! assert!(!q.matches(&json!({"event": {"action": "publishlayerversion20181031"}}), Utc::now()));
//! ```
//!
//! # What is evaluated
//! - Queries: `bool`, `match_all`, `match_none`, `term`, `terms`, `prefix`, `wildcard`,
//!   `regexp`, `fuzzy`, `exists`, `ids`, `range`, `match`, `match_phrase`,
//!   `match_phrase_prefix`, `match_bool_prefix`, `multi_match` (best_fields, most_fields,
//!   cross_fields, phrase, phrase_prefix, bool_prefix), `query_string`, `simple_query_string`,
//!   `nested`, `constant_score`, `dis_max`, `boosting`, `function_score` (without `min_score`).
//!   Scoring parameters (`boost`, `tie_breaker`, `score_mode`, `_name`, `rewrite`, …) are
//!   accepted and do not change which documents match.
//! - Field types: keyword, constant_keyword, wildcard, text, match_only_text, date,
//!   date_nanos, boolean, long, integer, short, byte, unsigned_long, double, float,
//!   half_float, scaled_float, ip, flattened, object, nested, alias, runtime fields without a
//!   script; multi-fields, `copy_to`, `ignore_above`, `null_value`, `index`/`doc_values`, the
//!   built-in `lowercase` normalizer, dynamic mapping and dynamic templates.
//! - Analyzers: `standard` (a UAX #29 approximation, see [`analysis`]), `simple`, `stop`,
//!   `whitespace`, `keyword`.
//! - Metadata: `_id` and `_index` (see [`DocMeta`]).
//!
//! # What is refused (compile error)
//! - Unknown query types, unknown parameters, malformed bodies — as Elasticsearch does.
//! - Other analyzers and custom normalizers, `time_zone` names other than fixed offsets and
//!   UTC aliases, the regexp operators `~` (complement) and `&` (intersection), terms lookup,
//!   `query_string` types other than best_fields/most_fields, scripts, geo and vector queries,
//!   queries on field types eshunt does not evaluate (geo_point, binary, …), and queries on
//!   metadata fields other than `_id`/`_index`.
//!
//! # Known approximations
//! - The standard tokenizer does not produce emoji tokens or dictionary-based segmentation
//!   for Thai, Lao and similar scripts.
//! - Phrases never span two values of an array (Elasticsearch's `position_increment_gap` of 100
//!   allows it only with a slop of 100 or more).
//! - Field patterns (`*`) over fields that are not mapped test each value on its own.
//! - `analyze_wildcard` on a text field analyses prefix terms; other wildcard terms are
//!   normalized (lower-cased) and matched per token.
//!
//! Modules:
//! - [`mapping`]: index mappings ([`Mapping`], [`FieldMapping`], [`FieldType`]), dynamic
//!   mapping, and the built-in CloudTrail mapping.
//! - [`source`]: reading field values from `_source` (dotted keys, arrays).
//! - [`analysis`]: text analysis for text fields.
//! - [`datemath`]: date math (`now-6m`, `now/d`, `2024-01-01||+1M/d`).
//! - [`pattern`]: wildcard globs and Lucene regular expressions.
//! - `query` (private): compiling and evaluating queries ([`Query`]).

#![warn(missing_docs)]

pub mod analysis;
mod date;
pub mod datemath;
mod error;
pub mod mapping;
pub mod pattern;
pub mod portable;
mod query;
pub mod source;

pub use analysis::Analyzer;
pub use error::DslError;
pub use mapping::{Dynamic, FieldMapping, FieldType, Mapping};
pub use query::{DocMeta, Query};
