//! Resolving a target expression (`a,b*,-bc*`, `_all`, data stream names) to concrete indices,
//! with ES's `expand_wildcards`, `ignore_unavailable` and `allow_no_indices` rules.
//!
//! Wildcards match open non-hidden indices and data streams; a pattern that does not start with
//! `.` does not match dot-prefixed names, and hidden indices (such as data stream backing
//! indices) are matched only with `expand_wildcards=hidden|all`. A data stream name resolves to
//! all its backing indices.

use super::{Catalog, Index};
use crate::error::EsError;
use crate::http::Req;
use esquery::dsl::pattern::simple_match;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How an expression is expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResolveOptions {
    /// Wildcards expand at all (`expand_wildcards=none` turns them off).
    pub expand: bool,
    /// Wildcards also match hidden indices and data streams.
    pub hidden: bool,
    /// Missing concrete names are skipped instead of failing.
    pub ignore_unavailable: bool,
    /// An expression resolving to nothing is not an error.
    pub allow_no_indices: bool,
}

impl ResolveOptions {
    /// Search defaults (`open`, strict names, empty allowed), overridden by the request's
    /// parameters.
    pub fn search(req: &Req) -> ResolveOptions {
        ResolveOptions {
            expand: true,
            hidden: false,
            ignore_unavailable: false,
            allow_no_indices: true,
        }
        .apply(req)
    }

    /// Single-target defaults (mapping, delete…): names must exist.
    pub fn strict(req: &Req) -> ResolveOptions {
        ResolveOptions {
            expand: true,
            hidden: false,
            ignore_unavailable: false,
            allow_no_indices: false,
        }
        .apply(req)
    }

    fn apply(mut self, req: &Req) -> ResolveOptions {
        if let Some(e) = req.param("expand_wildcards") {
            let values: Vec<&str> = e.split(',').collect();
            self.expand = !values.contains(&"none");
            self.hidden = values.iter().any(|v| *v == "all" || *v == "hidden");
        }
        if let Some(v) = req.flag("ignore_unavailable") {
            self.ignore_unavailable = v;
        }
        if let Some(v) = req.flag("allow_no_indices") {
            self.allow_no_indices = v;
        }
        self
    }
}

/// Whether `expr` contains a wildcard or `_all`.
pub(crate) fn has_wildcards(expr: &str) -> bool {
    expr.split(',')
        .any(|p| p.contains('*') || p == "_all" || p.is_empty())
}

/// Resolves `expr` against the catalog; indices come back sorted by name, without duplicates.
pub(crate) fn resolve(
    catalog: &Catalog,
    expr: &str,
    opts: ResolveOptions,
) -> Result<Vec<Arc<Index>>, EsError> {
    let mut out: BTreeMap<String, Arc<Index>> = BTreeMap::new();
    let parts: Vec<&str> = if expr.is_empty() || expr == "_all" {
        vec!["*"]
    } else {
        expr.split(',').collect()
    };
    let mut saw_wildcard = false;
    for part in parts {
        if let Some(excluded) = part.strip_prefix('-').filter(|_| saw_wildcard) {
            out.retain(|name, ix| {
                !simple_match(excluded, name)
                    && !ix
                        .data_stream
                        .as_deref()
                        .is_some_and(|ds| simple_match(excluded, ds))
            });
            continue;
        }
        if part.contains('*') || part == "_all" {
            saw_wildcard = true;
            if opts.expand {
                expand(
                    catalog,
                    if part == "_all" { "*" } else { part },
                    opts,
                    &mut out,
                );
            }
            continue;
        }
        match concrete(catalog, part) {
            Some(found) => out.extend(found.into_iter().map(|ix| (ix.name.clone(), ix))),
            None if opts.ignore_unavailable => {}
            None => return Err(EsError::index_not_found(part)),
        }
    }
    if out.is_empty() && !opts.allow_no_indices {
        return Err(EsError::index_not_found(expr));
    }
    Ok(out.into_values().collect())
}

/// An exact index or data stream name.
fn concrete(catalog: &Catalog, name: &str) -> Option<Vec<Arc<Index>>> {
    if let Some(ix) = catalog.indices.get(name) {
        return Some(vec![ix.clone()]);
    }
    let ds = catalog.data_streams.get(name)?;
    Some(
        ds.indices
            .iter()
            .filter_map(|n| catalog.indices.get(n).cloned())
            .collect(),
    )
}

fn expand(
    catalog: &Catalog,
    pattern: &str,
    opts: ResolveOptions,
    out: &mut BTreeMap<String, Arc<Index>>,
) {
    let visible = |name: &str, hidden: bool| {
        (opts.hidden || !hidden)
            && (pattern.starts_with('.') || !name.starts_with('.'))
            && simple_match(pattern, name)
    };
    for (name, ix) in &catalog.indices {
        if visible(name, ix.hidden()) {
            out.insert(name.clone(), ix.clone());
        }
    }
    for (name, ds) in &catalog.data_streams {
        if visible(name, ds.hidden) {
            for backing in &ds.indices {
                if let Some(ix) = catalog.indices.get(backing) {
                    out.insert(backing.clone(), ix.clone());
                }
            }
        }
    }
}
