//! `/_data_stream`: create, describe and delete data streams.

use super::{acknowledged, Answer};
use crate::emulator::Emulator;
use crate::http::{Req, Resp};

/// `GET|PUT|DELETE /_data_stream[/{name}]`.
pub(super) fn handle(em: &Emulator, req: &Req, name: Option<&&str>) -> Option<Answer> {
    let name = name.copied();
    Some(match (req.method.as_str(), name) {
        ("GET", n) => em
            .store
            .describe_data_streams(n)
            .map(|v| Resp::json(200, &v)),
        ("PUT", Some(n)) => em.store.create_data_stream(n).map(|()| acknowledged()),
        ("DELETE", Some(n)) => em
            .store
            .delete_data_streams(n, !em.node.destructive_requires_name())
            .map(|()| acknowledged()),
        _ => return None,
    })
}
