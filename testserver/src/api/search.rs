//! `_search` (plain, point in time, scroll), `_count`, and the scroll endpoints.

use super::{security, Answer};
use crate::emulator::Emulator;
use crate::error::EsError;
use crate::http::{parse_time_value, Req, Resp};
use crate::pit::Pit;
use crate::search::request::{SearchRequest, TrackTotal};
use crate::search::sort::{SortKey, SortSpec};
use crate::search::{execute, render, shards_json, Matches, Plan, Presentation};
use crate::store::{ResolveOptions, ShardSnapshot};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

/// `GET|POST /[{targets}/]_search`.
pub(super) fn search(em: &Emulator, req: &Req, target: Option<&str>) -> Answer {
    let started = Instant::now();
    let sr = SearchRequest::parse(req)?;
    let presentation = Presentation {
        source: sr.source.clone(),
        docvalue_fields: sr.docvalue_fields.clone(),
        seq_no_primary_term: sr.seq_no_primary_term,
        version: sr.version,
        track_total: sr.track_total,
        total_as_int: sr.total_as_int,
    };
    let took = || started.elapsed().as_millis() as u64;
    if let Some(pit_ref) = &sr.pit {
        if target.is_some() {
            return Err(EsError::validation(&[
                "[indices] cannot be used with point in time. Do not specify any index with point in time.",
            ]));
        }
        if let Some(k) = pit_ref.keep_alive {
            em.contexts.check_keep_alive(k)?;
        }
        let pit = em.contexts.use_pit(&pit_ref.id, pit_ref.keep_alive)?;
        let specs = pit_sort(em, &sr);
        let m = pit_matches(em, &pit, &sr, &specs)?;
        m.check_window(sr.from, sr.size, false)?;
        let page = m.page(sr.from, sr.size, sr.search_after.as_deref())?;
        let id = em.contexts.after_search(&pit);
        let body = render(
            &m,
            page,
            &presentation,
            took(),
            Some(("pit_id", &id)),
            &em.node.node_name,
        );
        return Ok(Resp::raw_json(200, body));
    }
    let shards = snapshots(em, req, target.unwrap_or("_all"))?;
    let plan = Plan {
        query: &sr.query,
        post_filter: sr.post_filter.as_ref(),
        sort: &sr.sort,
    };
    let m = execute(&shards, &plan, &em.node)?;
    if let Some(keep_alive) = sr.scroll {
        em.contexts.check_keep_alive(keep_alive)?;
        m.check_window(0, sr.size, true)?;
        let scroll = em
            .contexts
            .open_scroll(Arc::new(m), presentation, sr.size, keep_alive);
        let range = scroll.advance();
        let page = &scroll.matches.hits[range];
        let body = render(
            &scroll.matches,
            page,
            &scroll.presentation,
            took(),
            Some(("_scroll_id", &scroll.id())),
            &em.node.node_name,
        );
        return Ok(Resp::raw_json(200, body));
    }
    m.check_window(sr.from, sr.size, false)?;
    let page = m.page(sr.from, sr.size, sr.search_after.as_deref())?;
    Ok(Resp::raw_json(
        200,
        render(&m, page, &presentation, took(), None, &em.node.node_name),
    ))
}

/// The sort of a point-in-time search: ES appends `_shard_doc` to a sorted search (unless the
/// `search_after` values show the client did not expect it); OpenSearch does not.
fn pit_sort(em: &Emulator, sr: &SearchRequest) -> Vec<SortSpec> {
    let mut specs = sr.sort.clone();
    let after_fits = sr
        .search_after
        .as_ref()
        .is_none_or(|a| a.len() == specs.len() + 1);
    let ends_with_tiebreaker = specs.last().is_some_and(|s| s.key == SortKey::ShardDoc);
    if !em.node.is_opensearch() && !specs.is_empty() && after_fits && !ends_with_tiebreaker {
        specs.push(SortSpec::shard_doc());
    }
    specs
}

fn pit_matches(
    em: &Emulator,
    pit: &Pit,
    sr: &SearchRequest,
    specs: &[SortSpec],
) -> Result<Arc<Matches>, EsError> {
    let key = format!("{}|{:?}|{:?}", sr.query, sr.post_filter, specs);
    pit.matches(key, || {
        let plan = Plan {
            query: &sr.query,
            post_filter: sr.post_filter.as_ref(),
            sort: specs,
        };
        execute(&pit.shards, &plan, &em.node)
    })
}

/// The live documents of the target indices now (searches, counts, points in time), as far as
/// the user may read them (see [`security::readable`]).
pub(super) fn snapshots(
    em: &Emulator,
    req: &Req,
    target: &str,
) -> Result<Vec<ShardSnapshot>, EsError> {
    let indices = em.store.resolve(target, ResolveOptions::search(req))?;
    Ok(security::readable(em, req, target, indices)?
        .iter()
        .map(|ix| ix.snapshot())
        .collect())
}

/// `GET|POST /[{targets}/]_count`.
pub(super) fn count(em: &Emulator, req: &Req, target: Option<&str>) -> Answer {
    let body = req.json_object()?;
    if let Some(k) = body.keys().find(|k| k.as_str() != "query") {
        return Err(EsError::parsing(format!("request does not support [{k}]")));
    }
    let query = body
        .get("query")
        .cloned()
        .unwrap_or_else(|| json!({"match_all": {}}));
    let shards = snapshots(em, req, target.unwrap_or("_all"))?;
    let plan = Plan {
        query: &query,
        post_filter: None,
        sort: &[],
    };
    let m = execute(&shards, &plan, &em.node)?;
    Ok(Resp::json(
        200,
        &json!({"count": m.hits.len(), "_shards": shards_json(&m, &em.node.node_name)}),
    ))
}

/// `GET|POST /_search/scroll[/{id}]`.
pub(super) fn scroll(em: &Emulator, req: &Req, path_id: Option<&str>) -> Answer {
    let started = Instant::now();
    let body = req.json_object()?;
    let id = path_id
        .map(str::to_string)
        .or_else(|| req.param("scroll_id").map(str::to_string))
        .or_else(|| {
            body.get("scroll_id")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .ok_or_else(|| EsError::validation(&["scrollId is missing"]))?;
    let keep_alive = match req
        .param("scroll")
        .or_else(|| body.get("scroll").and_then(Value::as_str))
    {
        Some(k) => Some(parse_time_value(k, "scroll")?),
        None => None,
    };
    let scroll = em.contexts.use_scroll(&id, keep_alive)?;
    let range = scroll.advance();
    let mut presentation = scroll.presentation.clone();
    if req.flag("rest_total_hits_as_int") == Some(true) {
        presentation.total_as_int = true;
    }
    presentation.track_total = TrackTotal::Accurate;
    let took = started.elapsed().as_millis() as u64;
    let body = render(
        &scroll.matches,
        &scroll.matches.hits[range],
        &presentation,
        took,
        Some(("_scroll_id", &scroll.id())),
        &em.node.node_name,
    );
    Ok(Resp::raw_json(200, body))
}

/// `DELETE /_search/scroll[/{id}]`.
pub(super) fn clear_scroll(em: &Emulator, req: &Req, path_id: Option<&str>) -> Answer {
    let body = req.json_object()?;
    let mut ids: Vec<String> = match body.get("scroll_id") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    if let Some(p) = path_id.or(req.param("scroll_id")) {
        ids.extend(p.split(',').map(str::to_string));
    }
    if ids.is_empty() {
        return Err(EsError::validation(&["no scroll ids specified"]));
    }
    let freed = em.contexts.clear_scrolls(&ids);
    let status = if freed == 0 { 404 } else { 200 };
    Ok(Resp::json(
        status,
        &json!({"succeeded": true, "num_freed": freed}),
    ))
}
