//! A new terms rule's history in the cluster: which of a window's terms occurred in matching
//! documents during the history before their first occurrence in the window.
//!
//! Each term becomes one clause — its values on the fields' ECS keyword homes, and its own time
//! range `[first − history, window start)` on the rule's time field. The terms are asked about a
//! batch at a time ([`BATCH`]), so neither the request nor the answer grows with the window,
//! and the history itself is never loaded:
//! - when the rule has no condition, a `filters` aggregation counts each clause's documents
//!   (one request per batch, the answer holds one number per term);
//! - when it has one, the batch's matching history documents are paged ([`history_pager`]) and
//!   judged in Rust like the window's hits — each term is checked against its own range.
//!
//! A field without a keyword home cannot be matched in a clause: the history is then paged
//! with the prefilter and the time range alone (correct, but it reads every matching document
//! of the history — README, "New terms rules").

use super::elasticsearch::{
    aggregate, keyword_home, time_filter, PageSettings, Pager, WindowError,
};
use crate::es::Cluster;
use crate::rule::group::GroupKey;
use crate::rule::Rule;
use crate::time::Window;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::HashSet;

/// Terms asked about per request.
pub const BATCH: usize = 200;

/// A window's term and the time of its first occurrence there.
pub type FirstOccurrence = (GroupKey, DateTime<Utc>);

/// How a rule's history is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryQuery {
    /// Counted by the cluster, per term (no condition; every field has a keyword home).
    Counted(Vec<String>),
    /// Paged and judged in Rust, with the terms' clauses narrowing the search when every field
    /// has a keyword home.
    Paged(Option<Vec<String>>),
}

impl HistoryQuery {
    /// How `rule`'s history is asked (`None` for a rule without new terms).
    pub fn of(rule: &Rule) -> Option<HistoryQuery> {
        let new_terms = rule.new_terms.as_ref()?;
        let homes: Option<Vec<String>> = new_terms.fields.iter().map(keyword_home).collect();
        Some(match (homes, &rule.condition) {
            (Some(homes), None) => HistoryQuery::Counted(homes),
            (homes, _) => HistoryQuery::Paged(homes),
        })
    }
}

/// The history range of a term first seen at `first` in a window starting at `before`.
pub fn range_of(rule: &Rule, first: DateTime<Utc>, before: DateTime<Utc>) -> Window {
    let history = rule
        .new_terms
        .as_ref()
        .map_or(chrono::TimeDelta::zero(), |n| n.history.delta());
    Window {
        start: first - history,
        end: before,
    }
}

/// One term's clause: its values on the keyword homes, within its own history range.
fn clause(rule: &Rule, homes: &[String], term: &FirstOccurrence, before: DateTime<Utc>) -> Value {
    let (values, first) = term;
    let mut filter: Vec<Value> = homes
        .iter()
        .zip(values)
        .map(|(home, value)| json!({"term": {home: value}}))
        .collect();
    filter.push(time_filter(rule, range_of(rule, *first, before)));
    json!({"bool": {"filter": filter}})
}

/// The query selecting the history documents of a batch of terms: the prefilter, and any
/// term's clause (or, without keyword homes, the range covering every term's history).
fn batch_query(
    rule: &Rule,
    homes: Option<&[String]>,
    batch: &[FirstOccurrence],
    before: DateTime<Utc>,
) -> Value {
    let narrowing = match homes {
        Some(homes) => {
            let clauses: Vec<Value> = batch
                .iter()
                .map(|t| clause(rule, homes, t, before))
                .collect();
            json!({"bool": {"should": clauses, "minimum_should_match": 1}})
        }
        None => {
            let earliest = batch
                .iter()
                .map(|(_, first)| *first)
                .min()
                .unwrap_or(before);
            time_filter(rule, range_of(rule, earliest, before))
        }
    };
    json!({"bool": {"filter": [rule.prefilter.dsl.clone(), narrowing]}})
}

/// The terms of `batch` the cluster counts at least one history document for (a rule without
/// a condition, every field with a keyword home).
pub async fn counted(
    cluster: &Cluster,
    rule: &Rule,
    homes: &[String],
    batch: &[FirstOccurrence],
    before: DateTime<Utc>,
) -> Result<HashSet<GroupKey>, WindowError> {
    let filters: serde_json::Map<String, Value> = batch
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("t{i}"), clause(rule, homes, t, before)))
        .collect();
    let body = json!({
        "size": 0,
        "track_total_hits": false,
        "query": batch_query(rule, Some(homes), batch, before),
        "aggs": {"seen": {"filters": {"filters": filters}}},
    });
    let aggregations =
        aggregate(cluster, rule, &body, "looking up new terms in the history").await?;
    let buckets = &aggregations["seen"]["buckets"];
    Ok(batch
        .iter()
        .enumerate()
        .filter(|(i, _)| buckets[format!("t{i}")]["doc_count"].as_u64().unwrap_or(0) > 0)
        .map(|(_, (term, _))| term.clone())
        .collect())
}

/// A pager over the matching history documents of a batch of terms (a rule with a condition,
/// or a field without keyword home): its hits are judged in Rust, then checked with
/// [`range_of`] against each term.
pub fn history_pager<'a>(
    cluster: &'a Cluster,
    rule: &Rule,
    homes: Option<&[String]>,
    batch: &[FirstOccurrence],
    before: DateTime<Utc>,
    settings: PageSettings,
) -> Pager<'a> {
    Pager::with_query(
        cluster,
        rule,
        batch_query(rule, homes, batch, before),
        settings,
    )
}
