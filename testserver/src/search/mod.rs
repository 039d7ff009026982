//! Running a search over shard snapshots: compiling the query with each index's mapping through
//! `esquery::dsl`, evaluating it once per document, sorting the matches, and cutting pages
//! (`from`/`size`, `search_after`) out of the sorted list; then writing ES's response.
//!
//! The sorted matches ([`Matches`]) are what a point in time or a scroll keeps, so paging
//! through a large window evaluates the query once and each page is a binary search plus the
//! rendering of its hits.
//!
//! Per-index problems (a value that does not fit a field, an unmapped sort field) fail that
//! index's shard — reported in `_shards.failures` — as in ES; when every shard fails the search
//! answers `search_phase_execution_exception`. Scores are not computed: every hit scores 1.0
//! (0.0 for a pure filter), which does not change which hits match.

pub(crate) mod request;
pub(crate) mod sort;
pub(crate) mod source_filter;

use crate::error::EsError;
use crate::node::Node;
use crate::store::{Doc, ShardSnapshot, PRIMARY_TERM};
use esquery::dsl::{DocMeta, DslError, Mapping, Query};
use request::TrackTotal;
use serde_json::{json, Value};
use sort::{ResolvedSort, SortSpec, SortValue, ValueKind};
use source_filter::{CompiledFilter, SourceFilter};
use std::sync::Arc;

/// One matching document.
#[derive(Debug)]
pub(crate) struct Hit {
    /// Position of its index in [`Matches::indices`].
    pub shard: u32,
    pub doc: Arc<Doc>,
    /// Its sort values, one per [`Matches::specs`] clause.
    pub keys: Box<[SortValue]>,
    /// The named queries (`_name`) it matched, as positions in [`Matches::names`].
    pub named: Box<[u16]>,
}

/// A shard that failed.
#[derive(Debug, Clone)]
pub(crate) struct ShardFailure {
    pub index: String,
    pub error: EsError,
}

/// The sorted matches of one query over some shards.
#[derive(Debug)]
pub(crate) struct Matches {
    pub indices: Vec<String>,
    pub hits: Vec<Hit>,
    pub failures: Vec<ShardFailure>,
    /// The effective sort (with the point-in-time tiebreaker when ES adds one).
    pub specs: Vec<SortSpec>,
    kinds: Vec<Option<ValueKind>>,
    score: f64,
    /// The smallest `index.max_result_window` of the shards.
    pub max_window: Option<usize>,
    /// The `_name`s of the query's named clauses, reported per hit as `matched_queries`.
    pub names: Vec<String>,
}

/// What to search.
pub(crate) struct Plan<'a> {
    pub query: &'a Value,
    pub post_filter: Option<&'a Value>,
    pub sort: &'a [SortSpec],
}

/// Evaluates `plan` over `shards` (in their order: the shard number of each hit).
pub(crate) fn execute(
    shards: &[ShardSnapshot],
    plan: &Plan<'_>,
    node: &Node,
) -> Result<Matches, EsError> {
    let query = match plan.post_filter {
        Some(f) => json!({"bool": {"must": [plan.query], "filter": [f]}}),
        None => plan.query.clone(),
    };
    if shards.is_empty() {
        Query::compile(&query, &Mapping::new()).map_err(request_error)?;
    }
    let now = chrono::Utc::now();
    let score = score_of(plan.query);
    let named = named_queries(&query);
    let mut matches = Matches {
        indices: shards.iter().map(|s| s.index.name.clone()).collect(),
        hits: Vec::new(),
        failures: Vec::new(),
        specs: plan.sort.to_vec(),
        kinds: Vec::new(),
        score,
        max_window: shards.iter().map(|s| s.index.max_result_window()).min(),
        names: named.iter().map(|(n, _)| n.clone()).collect(),
    };
    for (n, shard) in shards.iter().enumerate() {
        let prepared = prepare(shard, &query, plan.sort, node);
        let named: Vec<Query> = named
            .iter()
            .filter_map(|(_, q)| Query::compile(q, &shard.mapping).ok())
            .collect();
        match prepared {
            Ok((compiled, sorts)) => {
                if matches.kinds.is_empty() {
                    matches.kinds = sort::kinds(&sorts);
                }
                let ctx = ShardCtx {
                    number: n as u32,
                    shard,
                    query: &compiled,
                    named: &named,
                    sorts: &sorts,
                    score,
                    now,
                    match_all: is_match_all(&query),
                };
                matches.hits.extend(evaluate(&ctx));
            }
            Err(ShardError::Request(e)) => return Err(e),
            Err(ShardError::Shard(e)) => matches.failures.push(ShardFailure {
                index: shard.index.name.clone(),
                error: e,
            }),
        }
    }
    if !shards.is_empty() && matches.failures.len() == shards.len() {
        let first = &matches.failures[0];
        return Err(EsError::search_phase(
            first.error.clone(),
            Some(&first.index),
        ));
    }
    if !plan.sort.is_empty() {
        let specs = &matches.specs;
        matches
            .hits
            .sort_by(|a, b| sort::compare(&a.keys, &b.keys, specs));
    }
    Ok(matches)
}

enum ShardError {
    /// The whole request is wrong.
    Request(EsError),
    /// Only this shard fails.
    Shard(EsError),
}

fn prepare(
    shard: &ShardSnapshot,
    query: &Value,
    specs: &[SortSpec],
    node: &Node,
) -> Result<(Query, Vec<ResolvedSort>), ShardError> {
    let compiled = Query::compile(query, &shard.mapping).map_err(|e| match e {
        DslError::InvalidValue { .. } | DslError::DateParse { .. } => {
            ShardError::Shard(EsError::new(400, "query_shard_exception", shard_reason(&e)))
        }
        other => ShardError::Request(request_error(other)),
    })?;
    let sorts = sort::resolve(
        specs,
        &shard.mapping,
        node.id_fielddata_disabled(),
        !node.has_shard_doc(),
    )
    .map_err(ShardError::Shard)?;
    Ok((compiled, sorts))
}

fn shard_reason(e: &DslError) -> String {
    match e {
        DslError::DateParse { .. } => format!("failed to create query: {e}"),
        other => other.to_string(),
    }
}

/// A query ES refuses before reaching any shard.
fn request_error(e: DslError) -> EsError {
    let reason = e.to_string();
    crate::log::warn(&format!("refused query: {reason}"));
    EsError::parsing(reason)
}

struct ShardCtx<'a> {
    number: u32,
    shard: &'a ShardSnapshot,
    query: &'a Query,
    named: &'a [Query],
    sorts: &'a [ResolvedSort],
    score: f64,
    now: chrono::DateTime<chrono::Utc>,
    match_all: bool,
}

/// Evaluates one shard, on several threads when it is large.
fn evaluate(ctx: &ShardCtx<'_>) -> Vec<Hit> {
    let docs = &ctx.shard.docs;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if docs.len() < 20_000 || threads < 2 {
        return evaluate_range(ctx, 0, docs.len());
    }
    let chunk = docs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let start = (t * chunk).min(docs.len());
                let end = ((t + 1) * chunk).min(docs.len());
                scope.spawn(move || evaluate_range(ctx, start, end))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn evaluate_range(ctx: &ShardCtx<'_>, start: usize, end: usize) -> Vec<Hit> {
    let needs_source = !ctx.match_all
        || ctx
            .sorts
            .iter()
            .any(|s| matches!(s.spec.key, sort::SortKey::Field(_)));
    let empty = json!({});
    let mut out = Vec::new();
    for (pos, doc) in ctx.shard.docs[start..end].iter().enumerate() {
        let pos = start + pos;
        let parsed;
        let value = if needs_source {
            match serde_json::from_str::<Value>(&doc.source) {
                Ok(v) => {
                    parsed = v;
                    &parsed
                }
                Err(_) => continue,
            }
        } else {
            &empty
        };
        if !ctx.match_all {
            let meta = DocMeta {
                id: Some(&doc.id),
                index: Some(&ctx.shard.index.name),
            };
            if !ctx.query.matches_with_meta(value, &meta, ctx.now) {
                continue;
            }
        }
        let at = sort::Position {
            shard: ctx.number,
            pos: pos as u32,
            id: &doc.id,
            score: ctx.score,
        };
        let named = (0..ctx.named.len())
            .filter(|&i| ctx.named[i].matches(value, ctx.now))
            .map(|i| i as u16)
            .collect();
        out.push(Hit {
            shard: ctx.number,
            doc: doc.clone(),
            keys: sort::values(ctx.sorts, value, &at),
            named,
        });
    }
    out
}

/// The clauses of a query that carry a `_name` (`{"exists": {"field": "f", "_name": "n"}}`),
/// anywhere in it, with their names: ES reports each hit's matching ones as `matched_queries`.
fn named_queries(query: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    collect_named(query, &mut out);
    out
}

fn collect_named(value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            if let [(_, Value::Object(body))] = map.iter().collect::<Vec<_>>().as_slice() {
                if let Some(name) = body.get("_name").and_then(Value::as_str) {
                    out.push((name.to_string(), value.clone()));
                }
            }
            map.values().for_each(|v| collect_named(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_named(v, out)),
        _ => {}
    }
}

fn is_match_all(q: &Value) -> bool {
    q.as_object().is_some_and(|o| {
        o.len() == 1
            && o.get("match_all")
                .is_some_and(|v| v.as_object().is_some_and(|m| m.is_empty()))
    })
}

/// The score every hit gets (see the module documentation).
fn score_of(q: &Value) -> f64 {
    let Some((kind, body)) = q.as_object().and_then(|o| o.iter().next()) else {
        return 1.0;
    };
    match kind.as_str() {
        "bool" if body.get("must").is_none() && body.get("should").is_none() => 0.0,
        "constant_score" => body.get("boost").and_then(Value::as_f64).unwrap_or(1.0),
        _ => 1.0,
    }
}

impl Matches {
    /// The page at `from`/`size`, or after `search_after`.
    pub fn page(
        &self,
        from: usize,
        size: usize,
        after: Option<&[Value]>,
    ) -> Result<&[Hit], EsError> {
        let start = match after {
            Some(values) => {
                if self.specs.is_empty() {
                    return Err(EsError::illegal_argument(
                        "Sort must contain at least one field.",
                    ));
                }
                let after = sort::parse_search_after(values, &self.specs, &self.kinds)?;
                self.hits.partition_point(|h| {
                    sort::compare(&h.keys, &after, &self.specs) != std::cmp::Ordering::Greater
                })
            }
            None => from,
        };
        let start = start.min(self.hits.len());
        let end = start.saturating_add(size).min(self.hits.len());
        Ok(&self.hits[start..end])
    }

    /// Refuses `from + size` beyond `index.max_result_window` (scrolls: `size` alone).
    pub fn check_window(&self, from: usize, size: usize, scroll: bool) -> Result<(), EsError> {
        let Some(max) = self.max_window else {
            return Ok(());
        };
        let reason = if scroll && size > max {
            format!("Batch size is too large, size must be less than or equal to: [{max}] but was [{size}]. Scroll batch sizes cost as much memory as result windows so they are controlled by the [index.max_result_window] index level setting.")
        } else if !scroll && from + size > max {
            format!("Result window is too large, from + size must be less than or equal to: [{max}] but was [{}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.", from + size)
        } else {
            return Ok(());
        };
        let index = self.indices.first().map(String::as_str);
        Err(EsError::search_phase(
            EsError::illegal_argument(reason),
            index,
        ))
    }

    fn sorted_by_field(&self) -> bool {
        self.specs
            .first()
            .is_some_and(|s| s.key != sort::SortKey::Score)
    }
}

/// How hits are written.
#[derive(Debug, Clone)]
pub(crate) struct Presentation {
    pub source: SourceFilter,
    /// `docvalue_fields`, answered from `_source` as `fields`.
    pub docvalue_fields: Vec<(String, Option<String>)>,
    pub seq_no_primary_term: bool,
    pub version: bool,
    pub track_total: TrackTotal,
    pub total_as_int: bool,
}

/// Writes a search response. `head` is an id field written first (`pit_id`, `_scroll_id`).
pub(crate) fn render(
    m: &Matches,
    page: &[Hit],
    p: &Presentation,
    took_ms: u64,
    head: Option<(&str, &str)>,
    node_name: &str,
) -> String {
    let mut out = String::with_capacity(256 + page.len() * 512);
    out.push('{');
    if let Some((k, v)) = head {
        push_str_json(&mut out, k);
        out.push(':');
        push_str_json(&mut out, v);
        out.push(',');
    }
    out.push_str(&format!(
        "\"took\":{took_ms},\"timed_out\":false,\"_shards\":"
    ));
    out.push_str(&shards_json(m, node_name).to_string());
    out.push_str(",\"hits\":{");
    if let Some(total) = total_json(m.hits.len(), p) {
        out.push_str("\"total\":");
        out.push_str(&total.to_string());
        out.push(',');
    }
    let sorted = m.sorted_by_field();
    let score = if sorted || page.is_empty() {
        "null".to_string()
    } else {
        json!(m.score).to_string()
    };
    out.push_str(&format!("\"max_score\":{score},\"hits\":["));
    let filter = p.source.compile();
    for (i, hit) in page.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let score = if sorted { "null" } else { &score };
        render_hit(&mut out, m, hit, p, &filter, score);
    }
    out.push_str("]}}");
    out
}

fn render_hit(
    out: &mut String,
    m: &Matches,
    hit: &Hit,
    p: &Presentation,
    filter: &CompiledFilter,
    score: &str,
) {
    out.push_str("{\"_index\":");
    push_str_json(out, &m.indices[hit.shard as usize]);
    out.push_str(",\"_id\":");
    push_str_json(out, &hit.doc.id);
    if p.version {
        out.push_str(&format!(",\"_version\":{}", hit.doc.version));
    }
    if p.seq_no_primary_term {
        out.push_str(&format!(
            ",\"_seq_no\":{},\"_primary_term\":{PRIMARY_TERM}",
            hit.doc.seq_no
        ));
    }
    out.push_str(",\"_score\":");
    out.push_str(score);
    if !p.source.disabled {
        out.push_str(",\"_source\":");
        if p.source.is_identity() {
            out.push_str(&hit.doc.source);
        } else {
            filter.write_raw(&hit.doc.source, out);
        }
    }
    if !p.docvalue_fields.is_empty() {
        out.push_str(",\"fields\":");
        out.push_str(&docvalues(&hit.doc.source, &p.docvalue_fields).to_string());
    }
    if !hit.named.is_empty() {
        let names: Vec<&str> = hit
            .named
            .iter()
            .map(|&i| m.names[i as usize].as_str())
            .collect();
        out.push_str(",\"matched_queries\":");
        out.push_str(&json!(names).to_string());
    }
    if !m.specs.is_empty() {
        let values: Vec<Value> = hit.keys.iter().map(SortValue::to_json).collect();
        out.push_str(",\"sort\":");
        out.push_str(&Value::Array(values).to_string());
    }
    out.push('}');
}

/// A hit's `fields` for `docvalue_fields`: each field's values (read from `_source`), dates in
/// `epoch_millis` as strings when that format is asked for, as ES answers; absent fields left out.
fn docvalues(source: &str, fields: &[(String, Option<String>)]) -> Value {
    let source: Value = serde_json::from_str(source).unwrap_or(Value::Null);
    let mut out = serde_json::Map::new();
    for (field, format) in fields {
        let mut values = Vec::new();
        esquery::dsl::source::visit_values(&source, field, &mut |v| {
            let value = match (
                format.as_deref(),
                v.as_str().and_then(eshunt::time::parse_timestamp),
            ) {
                (Some("epoch_millis"), Some(t)) => Value::String(t.timestamp_millis().to_string()),
                _ => v.clone(),
            };
            values.push(value);
            false
        });
        if !values.is_empty() {
            out.insert(field.clone(), Value::Array(values));
        }
    }
    Value::Object(out)
}

fn push_str_json(out: &mut String, s: &str) {
    out.push_str(&Value::String(s.to_string()).to_string());
}

/// `_shards` of a response.
pub(crate) fn shards_json(m: &Matches, node_name: &str) -> Value {
    let total = m.indices.len();
    let failed = m.failures.len();
    let mut shards =
        json!({"total": total, "successful": total - failed, "skipped": 0, "failed": failed});
    if failed > 0 {
        let failures: Vec<Value> = m
            .failures
            .iter()
            .map(|f| json!({"shard": 0, "index": f.index, "node": node_name, "reason": f.error.cause_json()}))
            .collect();
        shards["failures"] = Value::Array(failures);
    }
    shards
}

fn total_json(total: usize, p: &Presentation) -> Option<Value> {
    let (value, relation) = match p.track_total {
        TrackTotal::Off => return None,
        TrackTotal::Accurate => (total, "eq"),
        TrackTotal::UpTo(n) if total > n => (n, "gte"),
        TrackTotal::UpTo(_) => (total, "eq"),
    };
    Some(if p.total_as_int {
        json!(value)
    } else {
        json!({"value": value, "relation": relation})
    })
}
