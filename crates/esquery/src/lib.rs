//! esquery — the Elasticsearch query languages, without a cluster.
//!
//! - [`kql`]: Kibana Query Language → Elasticsearch query DSL, as Kibana translates it.
//! - [`dsl`]: local evaluation of Elasticsearch query DSL on a JSON document, with the semantics
//!   of the mapped field types ([`dsl::Mapping`]).
//!
//! The two halves meet in one question eshunt asks of every rule: would the cluster return this
//! document for this KQL prefilter? `kql` gives the DSL the cluster runs, `dsl` answers offline.
//! The crate knows nothing of CloudTrail, rules or alerts; it depends only on JSON, dates and
//! regular expressions.

pub mod dsl;
pub mod kql;
