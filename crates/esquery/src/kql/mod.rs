//! Kibana Query Language (KQL) → Elasticsearch query DSL, as Kibana translates it.
//!
//! This reproduces `@kbn/es-query`: [`parse`] is `fromKueryExpression` (same grammar, same tree,
//! same error texts), [`to_dsl`] is `toElasticsearchQuery` without a data view (what Elastic
//! Security's rule executor runs for a KQL rule), [`to_dsl_with`] / [`to_dsl_opts`] take a
//! [`DataView`] and Kibana's options, [`build_es_query`] is `buildEsQuery` for one query.
//!
//! ```
//! use serde_json::json;
//! let dsl = esquery::kql::translate("event.outcome: success and not user.name: root*").unwrap();
//! assert_eq!(dsl, json!({"bool": {"filter": [
//!     {"bool": {"should": [{"match": {"event.outcome": "success"}}], "minimum_should_match": 1}},
//!     {"bool": {"must_not": {"bool": {
//!         "should": [{"query_string": {"fields": ["user.name"], "query": "root*"}}],
//!         "minimum_should_match": 1}}}}
//! ]}}));
//!
//! let error = esquery::kql::parse("response:").unwrap_err();
//! assert_eq!(error.to_string(),
//!     "Expected \"(\", \"{\", value, whitespace but end of input found.\nresponse:\n---------^");
//! ```
//!
//! What KQL means, in Kibana's translation:
//!
//! | KQL | DSL |
//! | --- | --- |
//! | `f: v` | `bool.should [match {f: v}]`, `minimum_should_match: 1` |
//! | `f: "a b"` | `match_phrase` |
//! | `f: a*b` | `query_string {fields: [f], query}` (query_string syntax escaped) |
//! | `f: *` | `exists` |
//! | `*: *`, empty query | `match_all` |
//! | `f < v`, `<=`, `>`, `>=` | `range` |
//! | `f: (a or b)` | `or` of `f: a`, `f: b` |
//! | `a and b`, `a or b`, `not a` | `bool.filter`, `bool.should` (+ `minimum_should_match`), `bool.must_not` |
//! | `p: { q }` | `nested {path: p, query: q, score_mode: none}` |
//! | `v` (no field) | `multi_match {type: best_fields / phrase, lenient: true}`, or `query_string` for wildcards |
//!
//! Values stay strings (`bytes > 1000` compares with `"1000"`), except the bare words `true`,
//! `false` and `null`, which Kibana types as JSON booleans and null.
//!
//! Where this differs from Kibana (all on unusual input):
//!
//! - Wildcards are escaped for `query_string` as Kibana does since 7.17.10 / 8.6.2 (older
//!   versions also escaped digits, `.`, `,`, `/`, `;`, which `query_string` reads the same).
//! - A `\uXXXX` escape that leaves a lone UTF-16 surrogate becomes U+FFFD (JavaScript keeps the
//!   lone surrogate); a pair of escapes forms one character, as in JavaScript.
//! - The caret line counts UTF-16 units like Kibana, but "found" shows a whole character where
//!   Kibana would show half of a surrogate pair.
//! - Groups nest at most [`MAX_DEPTH`] deep ([`ErrorKind::TooDeep`]).
//! - Data views: scripted fields are not supported, and `dateFormatTZ: Browser` is passed
//!   through as written.

mod ast;
mod dsl;
mod error;
mod parser;

pub use ast::{
    fields, from_kuery_json, term_from_json, to_kuery_json, Node, RangeOp, Scalar, Term,
    WILDCARD_SYMBOL,
};
pub use dsl::{build_es_query, to_dsl, to_dsl_opts, to_dsl_with, DataView, DslOptions, FieldSpec};
pub use error::{ErrorKind, KqlError};
pub use parser::{parse, parse_literal, parse_with, ParseOptions, MAX_DEPTH};

/// Parses a KQL query and translates it without a data view ([`parse`] then [`to_dsl`]).
pub fn translate(query: &str) -> Result<serde_json::Value, KqlError> {
    parse(query).map(|node| to_dsl(&node))
}
