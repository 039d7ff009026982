//! `POST /_bulk` and `POST /{index}/_bulk`: newline-delimited actions, each answered on its
//! own. The request answers 200 with `errors: true` when items fail, as ES does; only a
//! malformed request as a whole is a 400.

use super::docs::{apply, Action, Op};
use super::Answer;
use crate::emulator::Emulator;
use crate::error::EsError;
use crate::http::{Req, Resp};
use crate::store::Condition;
use serde_json::{json, Map, Value};
use std::time::Instant;

/// One parsed action with its document line.
struct Item<'a> {
    action: Action,
    meta: Map<String, Value>,
    body: Option<&'a str>,
}

/// `POST /_bulk`.
pub(super) fn bulk(em: &Emulator, req: &Req, default_index: Option<&str>) -> Answer {
    let started = Instant::now();
    let text = std::str::from_utf8(&req.body)
        .map_err(|_| EsError::illegal_argument("The bulk request body must be UTF-8"))?;
    let items = parse(text)?;
    let mut errors = false;
    let mut answers = Vec::with_capacity(items.len());
    for item in items {
        let answer = run(em, item, default_index)?;
        errors |= answer
            .values()
            .next()
            .is_some_and(|v| v.get("error").is_some());
        answers.push(Value::Object(answer));
    }
    super::refreshes(em, req);
    let body = json!({
        "errors": errors,
        "took": started.elapsed().as_millis() as u64,
        "items": answers,
    });
    Ok(Resp::json(200, &body))
}

fn parse(text: &str) -> Result<Vec<Item<'_>>, EsError> {
    if !text.trim().is_empty() && !text.ends_with('\n') {
        return Err(EsError::illegal_argument(
            "The bulk request must be terminated by a newline [\\n]",
        ));
    }
    let mut lines = text
        .split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let mut items = Vec::new();
    while let Some((n, line)) = lines.next() {
        let malformed = |found: &str| {
            EsError::illegal_argument(format!(
                "Malformed action/metadata line [{}], expected {found}",
                n + 1
            ))
        };
        let value: Value = serde_json::from_str(line).map_err(|e| EsError::bad_json(&e))?;
        let Value::Object(obj) = value else {
            return Err(malformed("START_OBJECT"));
        };
        let Some((name, meta)) = obj.into_iter().next() else {
            return Err(malformed("a field"));
        };
        let action = match name.as_str() {
            "index" => Action::Index,
            "create" => Action::Create,
            "delete" => Action::Delete,
            "update" => Action::Update,
            other => {
                return Err(EsError::illegal_argument(format!(
                    "Malformed action/metadata line [{}], expected field [create], [delete], [index] or [update] but found [{other}]",
                    n + 1
                )))
            }
        };
        let Value::Object(meta) = meta else {
            return Err(malformed("START_OBJECT"));
        };
        let body = if action == Action::Delete {
            None
        } else {
            Some(lines.next().map(|(_, l)| l).ok_or_else(|| {
                EsError::illegal_argument("The bulk request must be terminated by a newline [\\n]")
            })?)
        };
        items.push(Item { action, meta, body });
    }
    if items.is_empty() {
        return Err(EsError::validation(&["no requests added"]));
    }
    Ok(items)
}

fn run(
    em: &Emulator,
    item: Item<'_>,
    default_index: Option<&str>,
) -> Result<Map<String, Value>, EsError> {
    let index = item
        .meta
        .get("_index")
        .and_then(Value::as_str)
        .or(default_index)
        .ok_or_else(|| EsError::validation(&["index is missing"]))?
        .to_string();
    let id = match item.meta.get("_id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    if id.is_none() && matches!(item.action, Action::Delete | Action::Update) {
        return Err(EsError::validation(&["id is missing"]));
    }
    let cond = Condition {
        if_seq_no: item.meta.get("if_seq_no").and_then(Value::as_i64),
        if_primary_term: item.meta.get("if_primary_term").and_then(Value::as_i64),
    };
    let op = Op {
        action: item.action,
        index: &index,
        id: id.clone(),
        body: item.body,
        cond,
    };
    let result = match apply(em, op) {
        Ok(r) => {
            let mut v = r.to_json();
            v["status"] = json!(r.status);
            v
        }
        Err(e) if e.kind == "action_request_validation_exception" => return Err(e),
        Err(e) => json!({"_index": index, "_id": id, "status": e.status, "error": e.cause_json()}),
    };
    let mut answer = Map::new();
    answer.insert(item.action.name().to_string(), result);
    Ok(answer)
}
