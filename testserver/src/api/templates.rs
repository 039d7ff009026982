//! `/_index_template` and `/_component_template`.

use super::{acknowledged, Answer};
use crate::emulator::Emulator;
use crate::error::EsError;
use crate::http::{Req, Resp};
use serde_json::Value;

/// `GET|HEAD|PUT|POST|DELETE /_index_template[/{name}]`.
pub(super) fn index_templates(em: &Emulator, req: &Req, name: Option<&&str>) -> Option<Answer> {
    let name = name.copied();
    Some(match (req.method.as_str(), name) {
        ("GET", n) => em
            .store
            .with_templates(|t, _| t.get_index(n))
            .map(|v| Resp::json(200, &v)),
        ("HEAD", Some(n)) => Ok(match em.store.with_templates(|t, _| t.get_index(Some(n))) {
            Ok(_) => Resp::empty(200),
            Err(_) => Resp::empty(404),
        }),
        ("PUT" | "POST", Some(n)) => put(req).and_then(|body| {
            let create = req.flag("create") == Some(true);
            em.store
                .with_templates(|t, forbidden| t.put_index(n, body, create, forbidden))
                .map(|()| acknowledged())
        }),
        ("DELETE", Some(n)) => em
            .store
            .with_templates(|t, _| t.delete_index(n))
            .map(|()| acknowledged()),
        _ => return None,
    })
}

/// `GET|HEAD|PUT|POST|DELETE /_component_template[/{name}]`.
pub(super) fn component_templates(em: &Emulator, req: &Req, name: Option<&&str>) -> Option<Answer> {
    let name = name.copied();
    Some(match (req.method.as_str(), name) {
        ("GET", n) => em
            .store
            .with_templates(|t, _| t.get_component(n))
            .map(|v| Resp::json(200, &v)),
        ("HEAD", Some(n)) => Ok(
            match em.store.with_templates(|t, _| t.get_component(Some(n))) {
                Ok(_) => Resp::empty(200),
                Err(_) => Resp::empty(404),
            },
        ),
        ("PUT" | "POST", Some(n)) => put(req).and_then(|body| {
            let create = req.flag("create") == Some(true);
            em.store
                .with_templates(|t, forbidden| t.put_component(n, body, create, forbidden))
                .map(|()| acknowledged())
        }),
        ("DELETE", Some(n)) => em
            .store
            .with_templates(|t, _| t.delete_component(n))
            .map(|()| acknowledged()),
        _ => return None,
    })
}

fn put(req: &Req) -> Result<Value, EsError> {
    req.json()?
        .ok_or_else(|| EsError::parsing("request body is required"))
}
