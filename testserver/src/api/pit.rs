//! Point-in-time endpoints: Elasticsearch's `/_pit` and OpenSearch's
//! `/_search/point_in_time`, each only in its own flavour.

use super::search::snapshots;
use super::Answer;
use crate::emulator::Emulator;
use crate::error::EsError;
use crate::http::{parse_time_value, Req, Resp};
use serde_json::{json, Value};
use std::time::Duration;

fn keep_alive(em: &Emulator, req: &Req) -> Result<Duration, EsError> {
    let text = req
        .param("keep_alive")
        .ok_or_else(|| EsError::validation(&["[keep_alive] is not specified"]))?;
    let k = parse_time_value(text, "keep_alive")?;
    em.contexts.check_keep_alive(k)?;
    Ok(k)
}

fn shards(n: usize) -> Value {
    json!({"total": n, "successful": n, "skipped": 0, "failed": 0})
}

/// ES `POST /{targets}/_pit?keep_alive=…`.
pub(super) fn es_open(em: &Emulator, req: &Req, target: &str) -> Answer {
    let k = keep_alive(em, req)?;
    let snaps = snapshots(em, req, target)?;
    let n = snaps.len();
    let pit = em.contexts.open_pit(snaps, k);
    Ok(Resp::json(
        200,
        &json!({"id": pit.id(), "_shards": shards(n)}),
    ))
}

/// ES `DELETE /_pit {"id": …}`: 404 with `num_freed: 0` when it was not open.
pub(super) fn es_close(em: &Emulator, req: &Req) -> Answer {
    let body = req.json_object()?;
    let id = body
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| EsError::validation(&["point-in-time id is missing"]))?;
    let freed = em.contexts.close_pit(id);
    let (status, n) = match freed {
        Some(n) => (200, n),
        None => (404, 0),
    };
    Ok(Resp::json(
        status,
        &json!({"succeeded": true, "num_freed": n}),
    ))
}

/// OpenSearch `POST /{targets}/_search/point_in_time?keep_alive=…`. Over no index at all
/// (a pattern nothing matches yet) OpenSearch 2.19 fails with a 400 "invalid id: [null]"
/// where Elasticsearch opens an empty point in time.
pub(super) fn os_create(em: &Emulator, req: &Req, target: &str) -> Answer {
    let k = keep_alive(em, req)?;
    let snaps = snapshots(em, req, target)?;
    let n = snaps.len();
    if n == 0 {
        return Err(EsError::illegal_argument("invalid id: [null]"));
    }
    let pit = em.contexts.open_pit(snaps, k);
    Ok(Resp::json(
        200,
        &json!({"pit_id": pit.id(), "_shards": shards(n), "creation_time": pit.created_millis}),
    ))
}

/// OpenSearch `DELETE /_search/point_in_time {"pit_id": […]}`.
pub(super) fn os_delete(em: &Emulator, req: &Req) -> Answer {
    let body = req.json_object()?;
    let ids: Vec<String> = match body.get("pit_id") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => return Err(EsError::validation(&["No pit ids specified"])),
    };
    let pits: Vec<Value> = ids
        .iter()
        .map(|id| json!({"successful": em.contexts.close_pit(id).is_some(), "pit_id": id}))
        .collect();
    Ok(Resp::json(200, &json!({ "pits": pits })))
}

/// OpenSearch `DELETE /_search/point_in_time/_all`.
pub(super) fn os_delete_all(em: &Emulator) -> Answer {
    let pits: Vec<Value> = em
        .contexts
        .close_all_pits()
        .into_iter()
        .map(|id| json!({"successful": true, "pit_id": id}))
        .collect();
    Ok(Resp::json(200, &json!({ "pits": pits })))
}

/// OpenSearch `GET /_search/point_in_time/_all`.
pub(super) fn os_list(em: &Emulator) -> Answer {
    let pits: Vec<Value> = em
        .contexts
        .list_pits()
        .iter()
        .map(|p| json!({"pit_id": p.id(), "creation_time": p.created_millis, "keep_alive": p.keep_alive_millis() as u64}))
        .collect();
    Ok(Resp::json(200, &json!({ "pits": pits })))
}
