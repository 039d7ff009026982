//! Single-document APIs (`_doc`, `_create`, `_update`) and the write step they share with bulk.

use super::{condition, Answer};
use crate::emulator::Emulator;
use crate::error::EsError;
use crate::http::{Req, Resp};
use crate::search::source_filter::SourceFilter;
use crate::store::{Condition, Doc, Index, OpType, WriteKind, WriteResult, PRIMARY_TERM};
use serde_json::{json, Value};
use std::sync::Arc;

/// A write action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Index,
    Create,
    Delete,
    Update,
}

impl Action {
    /// The bulk action name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Index => "index",
            Action::Create => "create",
            Action::Delete => "delete",
            Action::Update => "update",
        }
    }
}

/// One write.
pub(super) struct Op<'a> {
    pub action: Action,
    pub index: &'a str,
    pub id: Option<String>,
    /// The document (index/create) or the update body, as JSON text.
    pub body: Option<&'a str>,
    pub cond: Condition,
}

/// Applies one write; the error is the item's (or the request's) failure.
pub(super) fn apply(em: &Emulator, op: Op<'_>) -> Result<WriteResult, EsError> {
    match op.action {
        Action::Index | Action::Create => {
            let text = op.body.unwrap_or("").trim();
            let doc: Value = serde_json::from_str(text).map_err(|e| {
                EsError::new(
                    400,
                    em.node.parse_error_kind(),
                    format!("[{}:{}] failed to parse: {e}", e.line(), e.column()),
                )
            })?;
            let create = op.action == Action::Create || op.id.is_none();
            let kind = if create {
                WriteKind::Create
            } else {
                WriteKind::Other
            };
            let target = em.store.write_target(op.index, kind)?;
            let id = op.id.unwrap_or_else(crate::ids::auto_id);
            let op_type = if op.action == Action::Create {
                OpType::Create
            } else {
                OpType::Index
            };
            target.put(&id, text.into(), &doc, op_type, op.cond)
        }
        Action::Delete => {
            let id = op
                .id
                .ok_or_else(|| EsError::validation(&["id is missing"]))?;
            existing(em, op.index)?.delete(&id, op.cond)
        }
        Action::Update => {
            let id = op
                .id
                .ok_or_else(|| EsError::validation(&["id is missing"]))?;
            let body: Value =
                serde_json::from_str(op.body.unwrap_or("{}")).map_err(|e| EsError::bad_json(&e))?;
            if body.get("script").is_some() {
                return Err(EsError::illegal_argument(
                    "scripted updates are not supported by eshunt-testserver",
                ));
            }
            let partial = body.get("doc").cloned().unwrap_or_else(|| json!({}));
            let upsert = if body["doc_as_upsert"].as_bool() == Some(true) {
                Some(partial.clone())
            } else {
                body.get("upsert").cloned()
            };
            let target = em.store.write_target(op.index, WriteKind::Other)?;
            target.update(&id, &partial, upsert.as_ref(), op.cond)
        }
    }
}

/// An existing index for a delete (data streams refuse it as ES does).
fn existing(em: &Emulator, name: &str) -> Result<Arc<Index>, EsError> {
    let known = {
        let cat = em.store.catalog();
        cat.indices.contains_key(name) || cat.data_streams.contains_key(name)
    };
    if !known {
        return Err(EsError::index_not_found(name));
    }
    em.store.write_target(name, WriteKind::Other)
}

/// `PUT|POST /{index}/_doc/{id}`, `POST /{index}/_doc`, `PUT|POST /{index}/_create/{id}`.
pub(super) fn put(em: &Emulator, req: &Req, index: &str, id: Option<&str>, create: bool) -> Answer {
    let create = create || req.param("op_type") == Some("create");
    let body = std::str::from_utf8(&req.body).map_err(|_| {
        EsError::new(
            400,
            em.node.parse_error_kind(),
            "failed to parse: invalid UTF-8",
        )
    })?;
    let op = Op {
        action: if create {
            Action::Create
        } else {
            Action::Index
        },
        index,
        id: id.map(str::to_string),
        body: Some(body),
        cond: condition(req)?,
    };
    let result = apply(em, op)?;
    Ok(written(em, req, &result))
}

/// `DELETE /{index}/_doc/{id}`.
pub(super) fn delete(em: &Emulator, req: &Req, index: &str, id: &str) -> Answer {
    let ix = em.store.single_index(index)?;
    let result = ix.delete(id, condition(req)?)?;
    Ok(written(em, req, &result))
}

/// `POST /{index}/_update/{id}`.
pub(super) fn update(em: &Emulator, req: &Req, index: &str, id: &str) -> Answer {
    let body = std::str::from_utf8(&req.body).map_err(|_| EsError::parsing("invalid UTF-8"))?;
    let op = Op {
        action: Action::Update,
        index,
        id: Some(id.to_string()),
        body: Some(body),
        cond: condition(req)?,
    };
    let result = apply(em, op)?;
    Ok(written(em, req, &result))
}

fn written(em: &Emulator, req: &Req, result: &WriteResult) -> Resp {
    let mut body = result.to_json();
    if super::refreshes(em, req) {
        body["forced_refresh"] = json!(req.param("refresh") != Some("wait_for"));
    }
    Resp::json(result.status, &body)
}

/// `GET|HEAD /{index}/_doc/{id}`.
/// `GET|POST [/{index}]/_mget` with `{"ids": [...]}` (needs the index in the path) or
/// `{"docs": [{"_index": ..., "_id": ...}]}`: each document as `GET _doc` would answer it
/// (`_source_includes`/`_source_excludes` apply), in request order.
pub(super) fn mget(em: &Emulator, req: &Req, index: Option<&str>) -> Answer {
    let body = req.json_object()?;
    let wanted: Vec<(String, String)> = match (body.get("ids"), body.get("docs")) {
        (Some(Value::Array(ids)), _) => {
            let index = index.ok_or_else(|| EsError::validation(&["index is missing"]))?;
            ids.iter()
                .filter_map(|v| v.as_str())
                .map(|id| (index.to_string(), id.to_string()))
                .collect()
        }
        (_, Some(Value::Array(docs))) => docs
            .iter()
            .filter_map(|d| {
                let index = d["_index"].as_str().or(index)?;
                Some((index.to_string(), d["_id"].as_str()?.to_string()))
            })
            .collect(),
        _ => {
            return Err(EsError::parsing(
                "unknown parameter, expected [ids] or [docs]",
            ))
        }
    };
    let filter = SourceFilter::default().with_params(
        req.param("_source"),
        req.param("_source_includes"),
        req.param("_source_excludes"),
    );
    let docs: Vec<Value> = wanted
        .iter()
        .map(|(index, id)| match em.store.single_index(index) {
            Ok(ix) => match ix.get(id) {
                Some(doc) => found(&ix.name, id, &doc, &filter),
                None => json!({"_index": ix.name, "_id": id, "found": false}),
            },
            Err(e) => json!({"_index": index, "_id": id, "error": e.to_json()}),
        })
        .collect();
    Ok(Resp::json(200, &json!({"docs": docs})))
}

pub(super) fn get(em: &Emulator, req: &Req, index: &str, id: &str) -> Answer {
    let ix = em.store.single_index(index)?;
    let head = req.method == "HEAD";
    let Some(doc) = ix.get(id) else {
        if head {
            return Ok(Resp::empty(404));
        }
        return Ok(Resp::json(
            404,
            &json!({"_index": ix.name, "_id": id, "found": false}),
        ));
    };
    if head {
        return Ok(Resp::empty(200));
    }
    let filter = SourceFilter::default().with_params(
        req.param("_source"),
        req.param("_source_includes"),
        req.param("_source_excludes"),
    );
    Ok(Resp::json(200, &found(&ix.name, id, &doc, &filter)))
}

/// A found document as `GET` and `_mget` answer it, its `_source` filtered.
fn found(index: &str, id: &str, doc: &Doc, filter: &SourceFilter) -> Value {
    let mut body = json!({
        "_index": index,
        "_id": id,
        "_version": doc.version,
        "_seq_no": doc.seq_no,
        "_primary_term": PRIMARY_TERM,
        "found": true,
    });
    if !filter.disabled {
        let source: Value = serde_json::from_str(&doc.source).unwrap_or(Value::Null);
        body["_source"] = filter.apply(&source);
    }
    body
}
