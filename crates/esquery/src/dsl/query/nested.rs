//! The `nested` query.
//!
//! Each object of a `nested` field is indexed as its own hidden document, so the inner query
//! must match within one object (Elasticsearch reference, "Nested query"): with
//! `[{"a": 1, "b": 2}, {"a": 3, "b": 4}]`, `a: 1 AND b: 4` does not match. Fields inside a
//! nested object are only visible to a `nested` query on that path (unless the mapping sets
//! `include_in_parent`/`include_in_root`). `path` must be mapped as `nested`; an unmapped path
//! is an error unless `ignore_unmapped` is true, which makes the query match nothing.
//! A path may skip levels (a query on `a.b` from the top level, where both `a` and `a.b` are
//! nested, matches when any `a.b` object matches), as Lucene's block join allows.

use crate::dsl::error::DslError;
use crate::dsl::mapping::FieldType;
use crate::dsl::query::params::{check_keys, expect_object, get_bool};
use crate::dsl::query::{Compiler, Ctx, Node};
use crate::dsl::source::visit_values;
use serde_json::Value;

/// A compiled `nested` query.
#[derive(Debug)]
pub(crate) struct NestedNode {
    /// The nested path relative to the enclosing scope.
    path: String,
    inner: Node,
}

impl NestedNode {
    pub(crate) fn matches(&self, ctx: &Ctx<'_>) -> bool {
        visit_values(ctx.root, &self.path, &mut |obj| {
            obj.is_object()
                && self.inner.matches(&Ctx {
                    root: obj,
                    now: ctx.now,
                    meta: ctx.meta,
                })
        })
    }
}

pub(crate) fn compile_nested(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let obj = expect_object("nested", body)?;
    check_keys(
        "nested",
        obj,
        &[
            "path",
            "query",
            "score_mode",
            "ignore_unmapped",
            "inner_hits",
        ],
    )?;
    let path = obj
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| DslError::malformed("nested", "[nested] requires 'path' field"))?;
    let query = obj
        .get("query")
        .ok_or_else(|| DslError::malformed("nested", "[nested] requires 'query' field"))?;
    if let Some(mode) = obj.get("score_mode").and_then(Value::as_str) {
        if !["avg", "max", "min", "none", "sum"].contains(&mode) {
            return Err(DslError::malformed(
                "nested",
                format!("illegal score_mode [{mode}]"),
            ));
        }
    }
    let ignore_unmapped = get_bool("nested", Some(obj), "ignore_unmapped")?.unwrap_or(false);
    match c.mapping.field(path).map(|f| f.ty) {
        Some(FieldType::Nested) => {}
        Some(_) => {
            return Err(DslError::malformed(
                "nested",
                format!("[nested] nested object under path [{path}] is not of nested type"),
            ));
        }
        None if ignore_unmapped => return Ok(Node::None),
        None => {
            return Err(DslError::malformed(
                "nested",
                format!("[nested] failed to find nested object under path [{path}]"),
            ));
        }
    }
    let rel = match c.nested.as_deref() {
        None => path.to_string(),
        Some(outer) => match path.strip_prefix(outer).and_then(|r| r.strip_prefix('.')) {
            Some(r) => r.to_string(),
            None => {
                return Err(DslError::malformed(
                    "nested",
                    format!("[nested] path [{path}] is not a child of the enclosing nested path [{outer}]"),
                ));
            }
        },
    };
    c.fields.insert(path.to_string());
    let outer = c.nested.replace(path.to_string());
    let inner = c.compile(query);
    c.nested = outer;
    Ok(Node::Nested(Box::new(NestedNode {
        path: rel,
        inner: inner?,
    })))
}
