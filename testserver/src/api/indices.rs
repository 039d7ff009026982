//! Index management: create, delete, get and check indices; read and extend mappings;
//! refresh (what makes writes visible to search); roll data streams over.

use super::{acknowledged, Answer};
use crate::emulator::Emulator;
use crate::error::EsError;
use crate::http::{Req, Resp};
use crate::store::templates::mapping_error;
use crate::store::ResolveOptions;
use esquery::dsl::Mapping;
use serde_json::{json, Map, Value};

const CREATE_KEYS: [&str; 3] = ["settings", "mappings", "aliases"];

/// `PUT|GET|HEAD|DELETE /{index}`.
pub(super) fn index(em: &Emulator, req: &Req, target: &str) -> Option<Answer> {
    Some(match req.method.as_str() {
        "PUT" => create(em, req, target),
        "GET" => get(em, req, target),
        "HEAD" => Ok(
            match em.store.resolve(target, ResolveOptions::strict(req)) {
                Ok(found) if !found.is_empty() => Resp::empty(200),
                _ => Resp::empty(404),
            },
        ),
        "DELETE" => em
            .store
            .delete_indices(
                target,
                ResolveOptions::strict(req),
                !em.node.destructive_requires_name(),
            )
            .map(|()| acknowledged()),
        _ => return None,
    })
}

fn create(em: &Emulator, req: &Req, name: &str) -> Answer {
    let body = req.json_object()?;
    if let Some(k) = body.keys().find(|k| !CREATE_KEYS.contains(&k.as_str())) {
        return Err(EsError::parsing(format!(
            "unknown key [{k}] for create index"
        )));
    }
    if body
        .get("aliases")
        .is_some_and(|a| a.as_object().is_some_and(|o| !o.is_empty()))
    {
        return Err(EsError::illegal_argument(
            "aliases are not supported by eshunt-testserver",
        ));
    }
    em.store.create_index(name, &Value::Object(body))?;
    Ok(Resp::json(
        200,
        &json!({"acknowledged": true, "shards_acknowledged": true, "index": name}),
    ))
}

fn get(em: &Emulator, req: &Req, target: &str) -> Answer {
    let found = em.store.resolve(target, ResolveOptions::strict(req))?;
    let body: Map<String, Value> = found
        .iter()
        .map(|ix| (ix.name.clone(), ix.describe()))
        .collect();
    Ok(Resp::json(200, &Value::Object(body)))
}

/// `GET /{index}/_mapping`.
pub(super) fn get_mapping(em: &Emulator, req: &Req, target: &str) -> Answer {
    let found = em.store.resolve(target, ResolveOptions::strict(req))?;
    let body: Map<String, Value> = found
        .iter()
        .map(|ix| (ix.name.clone(), json!({"mappings": ix.mapping().to_json()})))
        .collect();
    Ok(Resp::json(200, &Value::Object(body)))
}

/// `PUT /{index}/_mapping`: adds fields to every target index.
pub(super) fn put_mapping(em: &Emulator, req: &Req, target: &str) -> Answer {
    let body = req.json()?.unwrap_or_else(|| json!({}));
    let extra = Mapping::from_json(&json!({ "mappings": body })).map_err(mapping_error)?;
    for ix in em.store.resolve(target, ResolveOptions::strict(req))? {
        ix.merge_mapping(&extra);
    }
    Ok(acknowledged())
}

/// `POST /{index}/_refresh`: makes the writes so far visible to search.
pub(super) fn refresh(em: &Emulator, req: &Req, target: &str) -> Answer {
    let indices = em.store.resolve(target, ResolveOptions::search(req))?;
    indices.iter().for_each(|index| index.refresh());
    let n = indices.len();
    Ok(Resp::json(
        200,
        &json!({"_shards": {"total": n * 2, "successful": n, "failed": 0}}),
    ))
}

/// `POST /{data stream}/_rollover`.
pub(super) fn rollover(em: &Emulator, target: &str) -> Answer {
    Ok(Resp::json(200, &em.store.rollover(target)?))
}
