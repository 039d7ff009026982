//! Searching one rule's time window in Elasticsearch/OpenSearch, page by page.
//!
//! The query is `bool.filter = [prefilter DSL, time range]`; the time range is on the rule's
//! timestamp field, with documents lacking it matched on the fallback field (as Elastic does for
//! `timestamp_override`). Only the `_source` fields the rule, the event view and the alert need
//! are fetched; nothing is scored. Pages come from a point in time with `search_after` (the
//! newest PIT id is always carried; `_shard_doc` sorts where it exists, else `_id`), or from a
//! scroll where point in time does not exist. There is no result cap: a window is paged to its
//! end, one page in memory at a time.
//!
//! A window is complete only if every page answered with no shard failure and no timeout;
//! otherwise [`WindowError::Incomplete`] tells the caller to retry it.

use crate::es::flavor::{Flavor, Paging};
use crate::es::{Cluster, EsError, RawReply, Request};
use crate::event::from_ecs;
use crate::event::mapping::cloudtrail_mapping;
use crate::rule::condition::Field;
use crate::rule::threshold::{Crossing, Threshold, SAMPLES};
use crate::rule::Rule;
use crate::time::{self, Span, Window};
use chrono::DateTime;
use esquery::dsl::FieldType;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// Paging settings.
#[derive(Debug, Clone, Copy)]
pub struct PageSettings {
    /// Hits per page.
    pub size: usize,
    /// Point-in-time / scroll keep-alive.
    pub keep_alive: Span,
    /// Server-side timeout of one page.
    pub timeout: Span,
}

/// One search hit.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Concrete index (shared by the hits of a page).
    pub index: Arc<str>,
    /// Document id.
    pub id: String,
    /// The fetched `_source` fields, as raw JSON.
    pub source: Box<RawValue>,
    /// CloudTrail subtrees this document holds only as unreadable strings (from the named
    /// clauses it matched).
    pub unreadable: Vec<String>,
    /// `event.ingested` in epoch milliseconds (from the hit's doc values).
    pub ingested_ms: Option<i64>,
    /// `@timestamp` in epoch milliseconds.
    pub timestamp_ms: Option<i64>,
}

/// A search response page, parsed without building a tree for the hits.
#[derive(Deserialize)]
struct PageBody<'a> {
    #[serde(default)]
    took: u64,
    #[serde(default)]
    timed_out: bool,
    #[serde(rename = "_shards", default)]
    shards: ShardCounts,
    #[serde(default, borrow)]
    pit_id: Option<Cow<'a, str>>,
    #[serde(rename = "_scroll_id", default, borrow)]
    scroll_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    hits: HitList<'a>,
}

#[derive(Default, Deserialize)]
struct ShardCounts {
    #[serde(default)]
    total: u64,
    #[serde(default)]
    successful: u64,
    #[serde(default)]
    skipped: u64,
    #[serde(default)]
    failed: u64,
    #[serde(default)]
    failures: Vec<Value>,
}

#[derive(Deserialize)]
struct HitList<'a> {
    #[serde(borrow, default)]
    hits: Vec<RawHit<'a>>,
}

#[derive(Deserialize)]
struct RawHit<'a> {
    #[serde(rename = "_index", borrow)]
    index: Cow<'a, str>,
    #[serde(rename = "_id", borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "_source", borrow)]
    source: Option<&'a RawValue>,
    #[serde(borrow, default)]
    sort: Option<&'a RawValue>,
    #[serde(default)]
    matched_queries: Vec<String>,
    #[serde(borrow, default)]
    fields: DocValues<'a>,
}

/// The doc values a search asks for (`docvalue_fields`), as epoch milliseconds.
#[derive(Default, Deserialize)]
struct DocValues<'a> {
    #[serde(rename = "event.ingested", borrow, default)]
    ingested: Vec<Millis<'a>>,
    #[serde(rename = "@timestamp", borrow, default)]
    timestamp: Vec<Millis<'a>>,
}

/// Epoch milliseconds, as the string ES formats them or as a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Millis<'a> {
    Number(i64),
    Text(#[serde(borrow)] Cow<'a, str>),
}

impl Millis<'_> {
    fn value(values: &[Millis<'_>]) -> Option<i64> {
        match values.first()? {
            Millis::Number(n) => Some(*n),
            Millis::Text(t) => t.parse().ok(),
        }
    }
}

impl RawHit<'_> {
    fn into_hit(self, index: Arc<str>) -> Option<Hit> {
        let unreadable = self
            .matched_queries
            .iter()
            .filter_map(|q| q.strip_prefix("eshunt-unreadable:"))
            .map(str::to_string)
            .collect();
        Some(Hit {
            index,
            id: self.id.into_owned(),
            source: self.source?.to_owned(),
            unreadable,
            ingested_ms: Millis::value(&self.fields.ingested),
            timestamp_ms: Millis::value(&self.fields.timestamp),
        })
    }
}

/// The shards of a window's search: every page asks the same shards (one point in time or
/// scroll), so these are the shards searched, and of its pages the fewest that answered and the
/// most that were skipped or failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shards {
    /// Shards searched.
    pub total: u64,
    /// Shards that answered (on every page).
    pub successful: u64,
    /// Shards skipped (no matching data).
    pub skipped: u64,
    /// Shards that failed.
    pub failed: u64,
}

impl Shards {
    /// Takes one page's `_shards` into account (`first`: the window's first page).
    fn observe(&mut self, first: bool, page: &ShardCounts) {
        if first {
            *self = Shards {
                total: page.total,
                successful: page.successful,
                skipped: page.skipped,
                failed: page.failed,
            };
            return;
        }
        self.total = self.total.max(page.total);
        self.successful = self.successful.min(page.successful);
        self.skipped = self.skipped.max(page.skipped);
        self.failed = self.failed.max(page.failed);
    }
}

/// Why a window is not done.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WindowError {
    /// Some page was partial (shard failure, timeout, expired point in time): retry the window.
    #[error("window incomplete: {0}")]
    Incomplete(String),
    /// A request failed.
    #[error(transparent)]
    Es(#[from] EsError),
    /// The alerts could not be printed (a dry run's stdout, e.g. closed by `| head`).
    #[error("printing alerts: {0}")]
    Output(Arc<std::io::Error>),
}

impl WindowError {
    /// Whether trying the window again may help: incomplete pages, connection problems, 429
    /// and 5xx answers. A refused query (400), missing rights (401/403), a missing index
    /// (404) or an output that cannot be written stay as they are until someone fixes them.
    pub fn is_retryable(&self) -> bool {
        match self {
            WindowError::Incomplete(_) => true,
            WindowError::Es(EsError::Status { status, .. }) => *status == 429 || *status >= 500,
            WindowError::Es(EsError::Transport { .. } | EsError::Protocol { .. }) => true,
            WindowError::Es(EsError::Config(_)) => false,
            WindowError::Output(_) => false,
        }
    }
}

/// Builds the search body for a rule and window (without paging fields): the prefilter and the
/// time range as filters, plus optional named clauses flagging documents whose needed subtrees
/// are unreadable.
pub fn search_body(rule: &Rule, window: Window, settings: &PageSettings) -> Value {
    search_body_for(rule, window_query(rule, window), settings)
}

/// The prefilter and the time range.
fn window_query(rule: &Rule, window: Window) -> Value {
    json!({"bool": {"filter": [rule.prefilter.dsl.clone(), time_filter(rule, window)]}})
}

/// The search body of a rule's hits selected by `query` (which holds the prefilter).
fn search_body_for(rule: &Rule, mut query: Value, settings: &PageSettings) -> Value {
    let plan = search_plan(rule);
    let unreadable: Vec<Value> = plan
        .subtrees
        .iter()
        .filter_map(|row| from_ecs::unreadable_query(row))
        .collect();
    if !unreadable.is_empty() {
        query["bool"]["should"] = Value::Array(unreadable);
    }
    json!({
        "size": settings.size,
        "timeout": settings.timeout.es_time(),
        "track_total_hits": false,
        "_source": { "includes": plan.fields },
        "docvalue_fields": [
            {"field": "event.ingested", "format": "epoch_millis"},
            {"field": "@timestamp", "format": "epoch_millis"},
        ],
        "query": query,
    })
}

/// `[start, end)` on the rule's timestamp field; documents without it are matched on the
/// fallback field.
pub fn time_filter(rule: &Rule, window: Window) -> Value {
    let range = |field: &str| {
        json!({"range": {field: {
            "gte": time::format(window.start),
            "lt": time::format(window.end),
            "format": "strict_date_optional_time",
        }}})
    };
    let field = &rule.source.timestamp_field;
    match &rule.source.timestamp_fallback {
        Some(fallback) if fallback != field => json!({"bool": {
            "should": [
                range(field),
                {"bool": {"filter": [range(fallback)], "must_not": [{"exists": {"field": field}}]}},
            ],
            "minimum_should_match": 1,
        }}),
        _ => range(field),
    }
}

/// What a search fetches per hit: the ECS fields the rule's condition reads (enough for a
/// verdict), the time fields and ids — and `event.original` only when a needed field has no ECS
/// home. Matching hits are then fetched again ([`fetch_documents`]) with what their alerts need.
pub fn search_plan(rule: &Rule) -> from_ecs::FetchPlan {
    let mut plan = fetch_plan(rule, rule.condition_paths().iter().map(String::as_str));
    plan.add_fields(rule.condition_ecs_fields());
    plan
}

/// What fetching the CloudTrail `paths` of a rule's documents takes: their ECS fields, plus the
/// rule's time fields, the ids, and `event.original` where a path has no ECS home.
pub fn fetch_plan<'p>(
    rule: &Rule,
    paths: impl IntoIterator<Item = &'p str>,
) -> from_ecs::FetchPlan {
    with_times(rule, from_ecs::fetch_plan(paths))
}

fn with_times(rule: &Rule, mut plan: from_ecs::FetchPlan) -> from_ecs::FetchPlan {
    let extra = [
        Some(rule.source.timestamp_field.as_str()),
        rule.source.timestamp_fallback.as_deref(),
        Some("@timestamp"),
        Some("event.ingested"),
        Some("event.id"),
        plan.original.then_some("event.original"),
    ];
    for field in extra.into_iter().flatten() {
        if !plan.fields.iter().any(|f| f == field) {
            plan.fields.push(field.to_string());
        }
    }
    plan
}

/// Fetches documents again by `(index, id)` with only `fields` of their `_source` (one `_mget`).
/// Documents that vanished since are absent from the answer; each `_source` is moved out of the
/// reply, not copied.
pub async fn fetch_documents(
    cluster: &Cluster,
    docs: &[(&str, &str)],
    fields: &[String],
) -> Result<HashMap<(String, String), Value>, EsError> {
    if docs.is_empty() {
        return Ok(HashMap::new());
    }
    let docs: Vec<Value> = docs
        .iter()
        .map(|(index, id)| json!({"_index": index, "_id": id}))
        .collect();
    let request = Request::post("/_mget")
        .param("_source_includes", fields.join(","))
        .json(&json!({"docs": docs}));
    let mut reply = cluster
        .execute(&request)
        .await?
        .ok("fetching matched documents")?;
    let Some(Value::Array(found)) = reply.body.get_mut("docs").map(Value::take) else {
        return Ok(HashMap::new());
    };
    Ok(found
        .into_iter()
        .filter(|d| d["found"] == true)
        .filter_map(|mut d| {
            let key = (
                d["_index"].as_str()?.to_string(),
                d["_id"].as_str()?.to_string(),
            );
            Some((key, d.get_mut("_source")?.take()))
        })
        .collect())
}

/// One document looked up by id, and the cluster's verdict on a rule's prefilter for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// The concrete index holding it.
    pub index: String,
    /// Its `_source`.
    pub source: Value,
    /// Whether the rule's prefilter matches it, as the cluster evaluates it.
    pub matches_prefilter: bool,
}

/// Fetches document `id` from `index` (a pattern, alias or data stream) together with whether
/// `rule`'s prefilter matches it — one search, the prefilter as a named optional clause;
/// `None` when there is no such document.
pub async fn judge_document(
    cluster: &Cluster,
    rule: &Rule,
    index: &str,
    id: &str,
) -> Result<Option<Judged>, EsError> {
    const NAME: &str = "eshunt_prefilter";
    let body = json!({
        "size": 1,
        "query": {"bool": {
            "filter": [{"ids": {"values": [id]}}],
            "should": [{"bool": {"filter": [rule.prefilter.dsl.clone()], "_name": NAME}}],
        }},
    });
    let path = format!("/{}/_search", crate::es::index_path(index));
    let mut reply = cluster
        .execute(&Request::post(path).json(&body))
        .await?
        .ok("fetching the document")?;
    let Some(mut hit) = reply.body["hits"]["hits"].get_mut(0).map(Value::take) else {
        return Ok(None);
    };
    // `matched_queries` is a list of names, or with `include_named_queries_score` an object.
    let matched =
        |q: &Value| q.as_str() == Some(NAME) || q.as_object().is_some_and(|m| m.contains_key(NAME));
    Ok(Some(Judged {
        index: hit["_index"].as_str().unwrap_or(index).to_string(),
        matches_prefilter: match &hit["matched_queries"] {
            Value::Array(names) => names.iter().any(matched),
            names => matched(names),
        },
        source: hit["_source"].take(),
    }))
}

/// How a threshold rule's groups are counted by the cluster itself: the ECS keyword fields of
/// its group fields and of its distinct-count field. `None` when the cluster cannot: the rule
/// has a condition (applied in Rust, so counted there), or a field has no single keyword home
/// holding CloudTrail's value unchanged.
pub fn aggregation_fields(rule: &Rule) -> Option<AggregationFields> {
    let threshold = rule.threshold.as_ref()?;
    if rule.condition.is_some() {
        return None;
    }
    let group = threshold
        .group_by
        .iter()
        .map(keyword_home)
        .collect::<Option<Vec<_>>>()?;
    let distinct = match &threshold.cardinality {
        Some(c) => Some(keyword_home(&c.field)?),
        None => None,
    };
    Some(AggregationFields { group, distinct })
}

/// The ECS fields a threshold is counted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregationFields {
    /// One per group field, in order.
    pub group: Vec<String>,
    /// The distinct-count field.
    pub distinct: Option<String>,
}

/// The one keyword field of Elastic's data stream holding a CloudTrail field unchanged.
pub(crate) fn keyword_home(field: &Field) -> Option<String> {
    let path = match field {
        Field::Path(path) => path,
        Field::Ecs(ecs) => return ecs_keyword(ecs.as_str()),
        _ => return None,
    };
    let row = from_ecs::FIELDS.iter().find(|r| {
        r.cloudtrail == path.as_str()
            && r.storage == from_ecs::Storage::Verbatim
            && r.when == from_ecs::When::Always
            && r.ecs.len() == 1
    })?;
    let ecs = row.ecs[0];
    let mapped = cloudtrail_mapping().field(ecs)?;
    (mapped.ty == FieldType::Keyword).then(|| ecs.to_string())
}

/// An ECS field that is a keyword in Elastic's data stream, or a leaf under a flattened field
/// (aggregated as a keyword).
fn ecs_keyword(field: &str) -> Option<String> {
    let keyword = match cloudtrail_mapping().field(field) {
        Some(mapped) => mapped.ty == FieldType::Keyword,
        None => field.contains(".flattened."),
    };
    keyword.then(|| field.to_string())
}

/// Groups per composite-aggregation page.
const GROUPS_PER_PAGE: usize = 1000;

/// The groups of a threshold rule that reach its threshold in one bucket, counted by the
/// cluster: a composite aggregation over the group fields, paged to its end (no cap on groups)
/// and handed over a page at a time, so a bucket of a million groups is never held whole; with
/// the first and last `@timestamp`, a distinct count (exact up to 40,000 values, Elasticsearch's
/// precision threshold) and a few sample documents per group.
pub struct ThresholdCrossings<'a> {
    cluster: &'a Cluster,
    rule: &'a Rule,
    fields: &'a AggregationFields,
    bucket: Window,
    /// Where the next page starts; `None` before the first.
    after: Option<Value>,
    done: bool,
}

impl<'a> ThresholdCrossings<'a> {
    /// The groups of `rule` in `bucket`, counted on `fields` (see [`aggregation_fields`]).
    pub fn new(
        cluster: &'a Cluster,
        rule: &'a Rule,
        fields: &'a AggregationFields,
        bucket: Window,
    ) -> Self {
        ThresholdCrossings {
            cluster,
            rule,
            fields,
            bucket,
            after: None,
            done: rule.threshold.is_none(),
        }
    }

    /// The groups of the next page (a thousand groups) that reach the threshold, perhaps
    /// none; `None` once every page was read.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Crossing>>, WindowError> {
        let Some(threshold) = self.rule.threshold.as_ref().filter(|_| !self.done) else {
            return Ok(None);
        };
        let body = aggregation_body(self.rule, self.fields, self.bucket, self.after.take());
        let aggregations =
            aggregate(self.cluster, self.rule, &body, "counting threshold groups").await?;
        let groups = &aggregations["groups"];
        let buckets = groups["buckets"].as_array().map_or(&[][..], Vec::as_slice);
        match groups.get("after_key") {
            Some(key) if !buckets.is_empty() => self.after = Some(key.clone()),
            _ => self.done = true,
        }
        Ok(Some(
            buckets
                .iter()
                .filter_map(|g| crossing_of(threshold, self.fields, self.bucket, g))
                .collect(),
        ))
    }
}

/// Runs an aggregation `body` over the rule's indices and returns its `aggregations`; a partial
/// answer (failed shards, timeout) makes the window incomplete. `what` names it in errors.
pub(crate) async fn aggregate(
    cluster: &Cluster,
    rule: &Rule,
    body: &Value,
    what: &str,
) -> Result<Value, WindowError> {
    let path = format!(
        "/{}/_search",
        crate::es::index_path(&rule.source.index.join(","))
    );
    let request = Request::post(&path)
        .param("ignore_unavailable", "true")
        .param("allow_no_indices", "true")
        .json(body);
    let mut reply = cluster.execute(&request).await?.ok(what)?;
    if reply.body["_shards"]["failed"].as_u64().unwrap_or(0) > 0 || reply.body["timed_out"] == true
    {
        return Err(WindowError::Incomplete(format!(
            "{what}: the answer was partial"
        )));
    }
    Ok(reply.body["aggregations"].take())
}

fn aggregation_body(
    rule: &Rule,
    fields: &AggregationFields,
    bucket: Window,
    after: Option<Value>,
) -> Value {
    let sources: Vec<Value> = fields
        .group
        .iter()
        .enumerate()
        .map(|(i, f)| json!({format!("g{i}"): {"terms": {"field": f}}}))
        .collect();
    let mut composite = json!({"size": GROUPS_PER_PAGE, "sources": sources});
    if let Some(after) = after {
        composite["after"] = after;
    }
    let mut aggs = json!({
        "first": {"min": {"field": "@timestamp"}},
        "last": {"max": {"field": "@timestamp"}},
        "samples": {"top_hits": {"size": SAMPLES, "_source": false}},
    });
    if let Some(distinct) = &fields.distinct {
        aggs["distinct"] =
            json!({"cardinality": {"field": distinct, "precision_threshold": 40000}});
    }
    json!({
        "size": 0,
        "track_total_hits": false,
        "query": window_query(rule, bucket),
        "aggs": {"groups": {"composite": composite, "aggs": aggs}},
    })
}

fn crossing_of(
    threshold: &Threshold,
    fields: &AggregationFields,
    bucket: Window,
    group: &Value,
) -> Option<Crossing> {
    let count = group["doc_count"].as_u64()?;
    let distinct = fields
        .distinct
        .as_ref()
        .map(|_| group["distinct"]["value"].as_u64().unwrap_or(0));
    let enough_distinct = match (&threshold.cardinality, distinct) {
        (Some(c), Some(d)) => d >= c.min,
        _ => true,
    };
    if count < threshold.count || !enough_distinct {
        return None;
    }
    let key = (0..fields.group.len())
        .map(|i| match &group["key"][format!("g{i}")] {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        })
        .collect::<Option<Vec<_>>>()?;
    let time = |name: &str| {
        group[name]["value"]
            .as_f64()
            .and_then(|ms| DateTime::from_timestamp_millis(ms as i64))
            .unwrap_or(bucket.start)
    };
    let samples = group["samples"]["hits"]["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| Some(format!("{}/{}", h["_index"].as_str()?, h["_id"].as_str()?)))
        .collect();
    Some(Crossing {
        bucket,
        group: key,
        count,
        distinct,
        first: time("first"),
        last: time("last"),
        samples,
    })
}

/// A document's `event.original` (the raw record), when it exists and has one.
pub async fn fetch_original(
    cluster: &Cluster,
    index: &str,
    id: &str,
) -> Result<Option<String>, EsError> {
    let request = Request::get(format!(
        "/{}/_doc/{}",
        crate::es::index_path(index),
        crate::es::path_segment(id)
    ))
    .param("_source_includes", "event.original");
    let reply = cluster.execute(&request).await?;
    if reply.status == 404 {
        return Ok(None);
    }
    let body = reply.ok("fetching event.original")?.body;
    Ok(body["_source"]["event"]["original"]
        .as_str()
        .map(str::to_string))
}

/// A window being paged. Call [`Pager::next_page`] until it returns `None`, then
/// [`Pager::close`] (also after an error) to release the point in time or scroll.
pub struct Pager<'a> {
    cluster: &'a Cluster,
    indices: String,
    body: Value,
    settings: PageSettings,
    paging: Paging,
    context: Option<Context>,
    search_after: Option<Value>,
    finished: bool,
    /// Shards summed over the pages fetched.
    pub shards: Shards,
    /// Server time summed over the pages, in milliseconds.
    pub took_ms: u64,
    /// Pages fetched.
    pub pages: u64,
    /// Hits that came without a `_source` (e.g. `_source` disabled in the mapping): they cannot
    /// be evaluated.
    pub without_source: u64,
}

/// The server-side search context a window is paged through.
enum Context {
    Pit(String),
    Scroll(String),
}

impl<'a> Pager<'a> {
    /// Prepares to page through `window` of `rule`.
    pub fn new(
        cluster: &'a Cluster,
        rule: &Rule,
        window: Window,
        settings: PageSettings,
    ) -> Pager<'a> {
        Pager::with_query(cluster, rule, window_query(rule, window), settings)
    }

    /// Prepares to page through the hits of `rule` selected by `query`, which must hold the
    /// prefilter (e.g. a new terms rule's history, [`super::history`]).
    pub fn with_query(
        cluster: &'a Cluster,
        rule: &Rule,
        query: Value,
        settings: PageSettings,
    ) -> Pager<'a> {
        Pager {
            cluster,
            indices: crate::es::index_path(&rule.source.index.join(",")),
            body: search_body_for(rule, query, &settings),
            settings,
            paging: cluster.info().paging(),
            context: None,
            search_after: None,
            finished: false,
            shards: Shards::default(),
            took_ms: 0,
            pages: 0,
            without_source: 0,
        }
    }

    /// The next page of hits, `None` once the window is exhausted.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Hit>>, WindowError> {
        if self.finished {
            return Ok(None);
        }
        let request = match (&self.context, self.paging) {
            (None, Paging::PointInTime { .. }) => {
                self.open_pit().await?;
                return Box::pin(self.next_page()).await;
            }
            (Some(Context::Pit(id)), _) => {
                let mut body = self.body.clone();
                body["pit"] = json!({"id": id, "keep_alive": self.settings.keep_alive.es_time()});
                body["sort"] = self.sort();
                if let Some(after) = &self.search_after {
                    body["search_after"] = after.clone();
                }
                Request::post("/_search").json(&body)
            }
            (None, Paging::Scroll) => {
                let mut body = self.body.clone();
                body["sort"] = json!(["_doc"]);
                // A scroll refuses `track_total_hits: false` (it counts its hits anyway).
                if let Some(fields) = body.as_object_mut() {
                    fields.remove("track_total_hits");
                }
                Request::post(format!("/{}/_search", self.indices))
                    .param("scroll", self.settings.keep_alive.es_time())
                    .json(&body)
            }
            (Some(Context::Scroll(id)), _) => Request::post("/_search/scroll")
                .json(&json!({"scroll": self.settings.keep_alive.es_time(), "scroll_id": id}))
                .not_repeatable(),
        };
        let reply = self.cluster.execute_raw(&request).await?;
        let hits = self.accept(reply)?;
        // A page whose hits all lacked `_source` is empty but not the last one.
        Ok((!hits.is_empty() || !self.finished).then_some(hits))
    }

    fn sort(&self) -> Value {
        match self.paging {
            Paging::PointInTime { shard_doc: true } => json!(["_shard_doc"]),
            _ => json!([{"_id": "asc"}]),
        }
    }

    /// Opens the window's point in time. One opened without some shards would page through
    /// part of the data: it is kept (so [`Pager::close`] releases it) and the window is
    /// incomplete. OpenSearch is asked not to create such a point in time at all (its
    /// `allow_partial_pit_creation` defaults to true). Indices that match nothing make an empty
    /// window.
    async fn open_pit(&mut self) -> Result<(), WindowError> {
        let keep_alive = self.settings.keep_alive.es_time();
        let (request, field) = match self.cluster.info().flavor {
            Flavor::Elasticsearch => (Request::post(format!("/{}/_pit", self.indices)), "id"),
            Flavor::OpenSearch => (
                Request::post(format!("/{}/_search/point_in_time", self.indices))
                    .param("allow_partial_pit_creation", "false"),
                "pit_id",
            ),
        };
        let what = "opening a point in time";
        let reply = self
            .cluster
            .execute(&request.param("keep_alive", keep_alive))
            .await?;
        if reply.status == 400 && self.matches_no_index().await? {
            self.finished = true;
            return Ok(());
        }
        let reply = reply.ok(what)?;
        let Some(id) = reply.body[field].as_str() else {
            return Err(EsError::protocol(what, format!("no `{field}` in {}", reply.body)).into());
        };
        self.context = Some(Context::Pit(id.to_string()));
        match reply.body["_shards"]["failed"].as_u64() {
            Some(failed) if failed > 0 => Err(WindowError::Incomplete(format!(
                "the point in time was opened without {failed} failed shard(s)"
            ))),
            _ => Ok(()),
        }
    }

    /// Whether the rule's indices match no index at all (e.g. before the first CloudTrail
    /// document arrived): OpenSearch then refuses to open a point in time with a 400 ("invalid
    /// id: [null]"), where the window is simply empty. Asked only after such a refusal.
    async fn matches_no_index(&self) -> Result<bool, WindowError> {
        let request = Request::post(format!("/{}/_search", self.indices))
            .json(&json!({"size": 0, "track_total_hits": false}));
        let reply = self.cluster.execute(&request).await?;
        Ok(reply.status == 200 && reply.body["_shards"]["total"].as_u64() == Some(0))
    }

    /// Checks a page for completeness, keeps the newest context id and the `search_after`
    /// position, and returns the page's hits. The page is parsed without building a tree:
    /// each hit keeps its `_source` as raw JSON.
    fn accept(&mut self, reply: RawReply) -> Result<Vec<Hit>, WindowError> {
        if !(200..300).contains(&reply.status) {
            let body = reply.json();
            if reply.status == 404 && is_missing_context(&body) {
                return Err(WindowError::Incomplete(
                    "the point in time or scroll expired".into(),
                ));
            }
            return Err(EsError::status("searching the window", reply.status, &body).into());
        }
        let page: PageBody = serde_json::from_slice(&reply.body).map_err(|e| {
            EsError::protocol("searching the window", format!("unreadable page: {e}"))
        })?;
        self.pages += 1;
        self.took_ms += page.took;
        let shards = &page.shards;
        self.shards.observe(self.pages == 1, shards);
        let newest = match &self.context {
            Some(Context::Pit(_)) => page.pit_id.as_deref(),
            _ => page.scroll_id.as_deref(),
        };
        match (&mut self.context, newest) {
            (Some(Context::Pit(id) | Context::Scroll(id)), Some(newest)) => {
                *id = newest.to_string()
            }
            (None, Some(scroll)) => self.context = Some(Context::Scroll(scroll.to_string())),
            _ => {}
        }
        if page.timed_out {
            return Err(WindowError::Incomplete("a page timed out".into()));
        }
        if shards.failed > 0 {
            let reason = shards
                .failures
                .first()
                .map_or_else(String::new, |f| f["reason"].to_string());
            return Err(WindowError::Incomplete(format!(
                "{} shard(s) failed: {reason}",
                shards.failed
            )));
        }
        let hits = page.hits.hits;
        self.finished = hits.len() < self.settings.size;
        self.search_after = match hits.last().and_then(|h| h.sort) {
            Some(sort) => Some(serde_json::from_str(sort.get()).map_err(|e| {
                EsError::protocol(
                    "searching the window",
                    format!("unreadable sort values: {e}"),
                )
            })?),
            None => None,
        };
        let mut index: Option<Arc<str>> = None;
        let count = hits.len();
        let hits: Vec<Hit> = hits
            .into_iter()
            .filter_map(|h| {
                let shared = match &index {
                    Some(i) if **i == *h.index => i.clone(),
                    _ => index.insert(Arc::from(h.index.as_ref())).clone(),
                };
                h.into_hit(shared)
            })
            .collect();
        self.without_source += (count - hits.len()) as u64;
        Ok(hits)
    }

    /// Releases the point in time or scroll (failures are logged: it expires by itself).
    pub async fn close(self) {
        let request = match (self.context, self.cluster.info().flavor) {
            (None, _) => return,
            (Some(Context::Pit(id)), Flavor::Elasticsearch) => {
                Request::delete("/_pit").json(&json!({"id": id}))
            }
            (Some(Context::Pit(id)), Flavor::OpenSearch) => {
                Request::delete("/_search/point_in_time").json(&json!({"pit_id": [id]}))
            }
            (Some(Context::Scroll(id)), _) => {
                Request::delete("/_search/scroll").json(&json!({"scroll_id": [id]}))
            }
        };
        match self.cluster.execute(&request).await {
            Ok(reply) if reply.status < 300 || reply.status == 404 => {}
            Ok(reply) => tracing::warn!(
                status = reply.status,
                path = request.path(),
                "could not release the search context"
            ),
            Err(e) => tracing::warn!(error = %e, "could not release the search context"),
        }
    }
}

/// An expired point in time or scroll: `search_context_missing_exception` (possibly inside a
/// `search_phase_execution_exception`).
fn is_missing_context(body: &Value) -> bool {
    let text = body.to_string();
    text.contains("search_context_missing_exception") || text.contains("No search context found")
}
