//! `GET /` (who the cluster is) and `GET /_cluster/health`.

use super::Answer;
use crate::emulator::Emulator;
use crate::http::{Req, Resp};
use serde_json::json;

/// `GET /` and `HEAD /`.
pub(super) fn root(em: &Emulator, req: &Req) -> Answer {
    if req.method == "HEAD" {
        return Ok(Resp::empty(200));
    }
    Ok(Resp::json(200, &em.node.root()))
}

/// `GET /_cluster/health`: always green, one node.
pub(super) fn health(em: &Emulator) -> Answer {
    let shards = em.store.catalog().indices.len();
    Ok(Resp::json(
        200,
        &json!({
            "cluster_name": em.node.cluster_name,
            "status": "green",
            "timed_out": false,
            "number_of_nodes": 1,
            "number_of_data_nodes": 1,
            "active_primary_shards": shards,
            "active_shards": shards,
            "relocating_shards": 0,
            "initializing_shards": 0,
            "unassigned_shards": 0,
            "delayed_unassigned_shards": 0,
            "number_of_pending_tasks": 0,
            "number_of_in_flight_fetch": 0,
            "task_max_waiting_in_queue_millis": 0,
            "active_shards_percent_as_number": 100.0,
        }),
    ))
}
