//! The REST API of the emulated cluster: routing a request to the handler of its API family
//! (one file each), and ES's answer for paths it does not know.
//!
//! Flavour-specific paths exist only in their flavour: `/_pit` and `/_security` in
//! Elasticsearch, `/_search/point_in_time` in OpenSearch; elsewhere they get the same
//! "no handler" answer a real cluster gives.

mod bulk;
mod data_streams;
mod docs;
mod indices;
mod pit;
mod root;
mod search;
pub(crate) mod security;
mod templates;

use crate::emulator::Emulator;
use crate::error::EsError;
use crate::http::{Req, Resp};
use crate::store::Condition;

/// The result of a handler.
type Answer = Result<Resp, EsError>;

/// Answers a request.
pub(crate) fn handle(em: &Emulator, req: &Req) -> Resp {
    let segments = req.segments();
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    match route(em, req, &s) {
        Some(Ok(resp)) => resp,
        Some(Err(e)) => Resp::error(&e),
        None => no_handler(req),
    }
}

fn route(em: &Emulator, req: &Req, s: &[&str]) -> Option<Answer> {
    let m = req.method.as_str();
    let es = !em.node.is_opensearch();
    let os = em.node.is_opensearch();
    Some(match (m, s) {
        ("GET" | "HEAD", []) => root::root(em, req),
        ("GET", ["_cluster", "health", ..]) => root::health(em),
        ("GET", ["_nodes", "_local"]) => Ok(Resp::json(200, &em.node.nodes_info())),
        ("GET", ["_nodes", "_local", "stats", ..]) => Ok(Resp::json(200, &em.node.nodes_stats())),
        ("POST" | "PUT", ["_bulk"]) => bulk::bulk(em, req, None),
        ("POST" | "PUT", [t, "_bulk"]) => bulk::bulk(em, req, Some(t)),
        ("GET" | "POST", ["_search", "scroll"]) => search::scroll(em, req, None),
        ("GET" | "POST", ["_search", "scroll", id]) => search::scroll(em, req, Some(id)),
        ("DELETE", ["_search", "scroll"]) => search::clear_scroll(em, req, None),
        ("DELETE", ["_search", "scroll", id]) => search::clear_scroll(em, req, Some(id)),
        ("DELETE", ["_search", "point_in_time"]) if os => pit::os_delete(em, req),
        ("GET", ["_search", "point_in_time", "_all"]) if os => pit::os_list(em),
        ("DELETE", ["_search", "point_in_time", "_all"]) if os => pit::os_delete_all(em),
        ("POST", [t, "_search", "point_in_time"]) if os && em.node.has_pit() => {
            pit::os_create(em, req, t)
        }
        ("DELETE", ["_pit"]) if es && em.node.has_pit() => pit::es_close(em, req),
        ("POST", [t, "_pit"]) if es && em.node.has_pit() => pit::es_open(em, req, t),
        ("GET" | "POST", ["_search"]) => search::search(em, req, None),
        ("GET" | "POST", [t, "_search"]) => search::search(em, req, Some(t)),
        ("GET" | "POST", ["_count"]) => search::count(em, req, None),
        ("GET" | "POST", [t, "_count"]) => search::count(em, req, Some(t)),
        ("GET", ["_plugins", "_security", "api", "account"]) if os => {
            security::os_account(em, req)?
        }
        (_, ["_index_template", rest @ ..]) => templates::index_templates(em, req, rest.first())?,
        (_, ["_component_template", rest @ ..]) => {
            templates::component_templates(em, req, rest.first())?
        }
        (_, ["_data_stream", rest @ ..]) => data_streams::handle(em, req, rest.first())?,
        (_, ["_security", ..]) if em.security.is_disabled() || em.node.oss => Ok(no_handler(req)),
        ("GET" | "POST", ["_security", "user", "_has_privileges"]) if es => {
            security::has_privileges(em, req)
        }
        ("GET", ["_security", "_authenticate"]) if es => security::authenticate(em, req),
        ("GET" | "POST", ["_refresh"]) => indices::refresh(em, req, "_all"),
        ("GET" | "POST", [t, "_refresh"]) => indices::refresh(em, req, t),
        ("GET", ["_mapping"]) => indices::get_mapping(em, req, "_all"),
        ("GET", [t, "_mapping"]) => indices::get_mapping(em, req, t),
        ("PUT" | "POST", [t, "_mapping"]) => indices::put_mapping(em, req, t),
        ("POST", [t, "_rollover"]) => indices::rollover(em, t),
        ("GET" | "POST", ["_mget"]) => docs::mget(em, req, None),
        ("GET" | "POST", [t, "_mget"]) => docs::mget(em, req, Some(t)),
        ("GET" | "HEAD", [t, "_doc", id]) => docs::get(em, req, t, id),
        ("PUT" | "POST", [t, "_doc", id]) => docs::put(em, req, t, Some(id), false),
        ("POST", [t, "_doc"]) => docs::put(em, req, t, None, true),
        ("PUT" | "POST", [t, "_create", id]) => docs::put(em, req, t, Some(id), true),
        ("DELETE", [t, "_doc", id]) => docs::delete(em, req, t, id),
        ("POST", [t, "_update", id]) => docs::update(em, req, t, id),
        (_, [t]) if !t.starts_with('_') || *t == "_all" => indices::index(em, req, t)?,
        _ => return None,
    })
}

/// ES's answer for an unknown path or method: `{"error": "no handler found …", "status": 400}`.
fn no_handler(req: &Req) -> Resp {
    let uri = if req.query.is_empty() {
        req.path.clone()
    } else {
        format!("{}?{}", req.path, req.query)
    };
    let reason = format!(
        "no handler found for uri [{uri}] and method [{}]",
        req.method
    );
    crate::log::warn(&format!("unsupported API: {reason}"));
    Resp::json(400, &serde_json::json!({"error": reason, "status": 400}))
}

/// `if_seq_no` / `if_primary_term` parameters (both or neither).
fn condition(req: &Req) -> Result<Condition, EsError> {
    let number = |name: &str| -> Result<Option<i64>, EsError> {
        req.param(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    EsError::illegal_argument(format!(
                        "Failed to parse long parameter [{name}] with value [{v}]"
                    ))
                })
            })
            .transpose()
    };
    let cond = Condition {
        if_seq_no: number("if_seq_no")?,
        if_primary_term: number("if_primary_term")?,
    };
    match (cond.if_seq_no, cond.if_primary_term) {
        (Some(_), None) => Err(EsError::validation(&[
            "ifSeqNo is set, but primary term is [0]",
        ])),
        (None, Some(_)) => Err(EsError::validation(&[
            "ifPrimaryTerm is set, but seqNo is [-2]",
        ])),
        _ => Ok(cond),
    }
}

/// `{"acknowledged": true}`.
fn acknowledged() -> Resp {
    Resp::json(200, &serde_json::json!({"acknowledged": true}))
}

/// A write's `refresh` parameter (`true`, empty or `wait_for`): makes the writes visible to
/// search before the answer. Whether it did.
pub(super) fn refreshes(em: &Emulator, req: &Req) -> bool {
    let refresh = matches!(req.param("refresh"), Some("true" | "" | "wait_for"));
    if refresh {
        em.store.refresh_all();
    }
    refresh
}
