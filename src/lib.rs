//! eshunt — a detection hunter for AWS CloudTrail, in Elasticsearch/OpenSearch and in files.
//!
//! Data flows one way: **source → event view → rule (prefilter, condition) → alert → sink**.
//!
//! - [`event`]: one view over a raw CloudTrail record or an Elastic ECS document, looked up by
//!   CloudTrail field names.
//! - [`rule`]: rule files (`queries/*.toml`), the condition language, alert shaping, rule tests.
//! - [`kql`]: Kibana Query Language → Elasticsearch query DSL, as Kibana translates it.
//! - [`dsl`]: local evaluation of Elasticsearch query DSL on a document, with the semantics of the
//!   mapped field types (used to test prefilters offline).

pub mod alert;
pub mod backfill;
pub mod config;
pub mod dsl;
pub mod engine;
pub mod es;
pub mod event;
pub mod hunt;
pub mod kql;
pub mod metrics;
pub mod net;
pub mod progress;
pub mod rule;
pub mod scan;
pub mod schedule;
pub mod sink;
pub mod source;
pub mod state;
pub mod time;
