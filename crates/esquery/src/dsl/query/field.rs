//! Field resolution: from a field name in a query to where its values are and how they are
//! typed.
//!
//! A name resolves to zero or more *targets*:
//! - a mapped field or multi-field (`user.name.text` reads `user.name`), plus the sources of any
//!   `copy_to` into it;
//! - a key inside a `flattened` field (`labels.release`), or the flattened field itself;
//! - the metadata fields `_id` and `_index`;
//! - for a name that is not mapped, the field Elasticsearch's dynamic mapping would have created
//!   from the document's value, one target per JSON kind the value might have (a string is
//!   `text`, a number `long` or `float`, …), and `<parent>.keyword` for a string parent.
//!
//! A name that resolves to nothing (unmapped and absent, a sub-field of a leaf, hidden behind
//! `dynamic: false`, or inside a `nested` object outside a `nested` query) matches nothing.

use crate::dsl::error::DslError;
use crate::dsl::mapping::{Detector, FieldMapping, FieldType, Mapping};
use crate::dsl::pattern::Glob;
use crate::dsl::query::pred::Pred;
use crate::dsl::query::{Compiler, Ctx, Node};
use crate::dsl::source::{visit_all_leaves, visit_paths, visit_values};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Metadata fields eshunt cannot evaluate (a query on them is an error, not a silent miss).
const UNSUPPORTED_META: [&str; 9] = [
    "_source",
    "_routing",
    "_ignored",
    "_seq_no",
    "_version",
    "_tier",
    "_doc_count",
    "_field_names",
    "_primary_term",
];

/// The dynamic-mapping kinds a value of an unmapped field may have.
const DYNAMIC_KINDS: [&str; 5] = ["string", "date", "long", "double", "boolean"];

/// What a query builder produced for one field.
#[derive(Debug)]
pub(crate) enum Built {
    /// Test the field's values.
    Pred(Pred),
    /// Every document matches (e.g. `zero_terms_query: all`).
    All,
    /// No document matches through this field (e.g. a lenient parse failure).
    None,
}

/// Builds the test of a query for one resolved field mapping; the `&str` is the field name.
pub(crate) type Builder<'b> = &'b dyn Fn(&FieldMapping, &str) -> Result<Built, DslError>;

/// A builder kept in the compiled query, for fields found only at match time.
pub(crate) type SharedBuilder =
    Arc<dyn Fn(&FieldMapping, &str) -> Result<Built, DslError> + Send + Sync>;

/// Whether a query reads values or only checks that they exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Search,
    Exists,
}

/// Where a field's values come from, relative to the current (nested) document.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Values at a dotted path; for dynamic fields only values of one JSON kind.
    Path {
        path: String,
        kind: Option<(&'static str, Arc<Detector>)>,
    },
    /// The leaves under `key` inside the flattened field at `root`.
    FlatKey { root: String, key: String },
    /// Every leaf of the flattened field at `root`.
    FlatRoot { root: String },
    /// The document `_id`.
    Id,
    /// The document's index name.
    Index,
}

impl Source {
    fn visit(&self, ctx: &Ctx<'_>, f: &mut dyn FnMut(&Value) -> bool) -> bool {
        match self {
            Source::Path { path, kind: None } => visit_values(ctx.root, path, f),
            Source::Path {
                path,
                kind: Some((kind, detector)),
            } => visit_values(ctx.root, path, &mut |v| {
                detector.kind(v) == Some(*kind) && f(v)
            }),
            Source::FlatKey { root, key } => visit_values(ctx.root, root, &mut |obj| {
                obj.is_object() && visit_values(obj, key, &mut |leaf| !leaf.is_object() && f(leaf))
            }),
            Source::FlatRoot { root } => {
                visit_values(ctx.root, root, &mut |obj| visit_all_leaves(obj, f))
            }
            Source::Id => ctx
                .meta
                .id
                .is_some_and(|id| f(&Value::String(id.to_string()))),
            Source::Index => ctx
                .meta
                .index
                .is_some_and(|ix| f(&Value::String(ix.to_string()))),
        }
    }
}

/// One resolved place to read a field from.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The mapping used to type the values.
    pub fm: FieldMapping,
    pub source: Source,
    /// Dynamic targets never raise type errors: a value that does not fit just does not match.
    pub dynamic: bool,
    /// A `constant_keyword` value from the mapping: the query is decided at compile time.
    pub constant: Option<String>,
}

/// One source with its compiled test.
#[derive(Debug)]
struct Channel {
    source: Source,
    pred: Pred,
}

/// A leaf query: matches when any channel's test passes.
#[derive(Debug)]
pub(crate) struct Leaf {
    channels: Vec<Channel>,
}

impl Leaf {
    pub(crate) fn matches(&self, ctx: &Ctx<'_>) -> bool {
        self.channels
            .iter()
            .any(|c| c.pred.test(ctx.now, &|f| c.source.visit(ctx, f)))
    }
}

impl Compiler<'_> {
    /// The source path of `path` relative to the current nested scope, if the field is visible
    /// from it (see the module docs).
    fn relative(&self, path: &str, scope_of: Option<&str>) -> Option<String> {
        let cur = self.nested.as_deref();
        let strip = |p: &str| -> Option<String> {
            match cur {
                None => Some(p.to_string()),
                Some(c) => p
                    .strip_prefix(c)
                    .and_then(|r| r.strip_prefix('.'))
                    .map(str::to_string),
            }
        };
        if scope_of == cur {
            return strip(path);
        }
        let n = scope_of?;
        let nfm = self.mapping.field(n)?;
        if nfm.include_in_root && cur.is_none() {
            return Some(path.to_string());
        }
        if nfm.include_in_parent && self.mapping.nested_scope(n) == cur {
            return strip(path);
        }
        None
    }

    /// The nested scope a field lives in: its innermost nested ancestor (a nested object is its
    /// own scope).
    fn scope_of<'p>(&self, path: &'p str) -> Option<&'p str> {
        if self
            .mapping
            .field(path)
            .is_some_and(|f| f.ty == FieldType::Nested)
        {
            return Some(path);
        }
        self.mapping.nested_scope(path)
    }

    /// Resolves a field name to its targets.
    pub(crate) fn resolve(&mut self, name: &str) -> Result<Vec<Target>, DslError> {
        self.resolve_depth(name, 0)
    }

    fn resolve_depth(&mut self, name: &str, depth: usize) -> Result<Vec<Target>, DslError> {
        self.fields.insert(name.to_string());
        if let Some(meta) = meta_target(name)? {
            return Ok(vec![meta]);
        }
        if let Some(fm) = self.mapping.field(name) {
            if fm.ty == FieldType::Alias {
                return match (&fm.alias_path, depth) {
                    (Some(p), 0) => {
                        let p = p.clone();
                        self.resolve_depth(&p, 1)
                    }
                    _ => Ok(Vec::new()),
                };
            }
            if fm.ty != FieldType::Flattened {
                return Ok(self.mapped_targets(name, fm));
            }
        }
        if let Some((root, key)) = self.mapping.flattened_root(name) {
            return Ok(self.flattened_target(root, key).into_iter().collect());
        }
        Ok(self.dynamic_targets(name))
    }

    fn mapped_targets(&self, name: &str, fm: &FieldMapping) -> Vec<Target> {
        let scope = self.scope_of(name);
        let mut out = Vec::new();
        if let Some(rel) = self.relative(&fm.source_path, scope) {
            out.push(Target {
                fm: fm.clone(),
                source: Source::Path {
                    path: rel,
                    kind: None,
                },
                dynamic: false,
                constant: if fm.ty == FieldType::ConstantKeyword {
                    fm.constant_value.clone()
                } else {
                    None
                },
            });
        }
        for (src, sfm) in self.mapping.leaf_paths() {
            if sfm.copy_to.iter().any(|t| t == name) {
                if let Some(rel) = self.relative(&sfm.source_path, self.scope_of(src)) {
                    out.push(Target {
                        fm: fm.clone(),
                        source: Source::Path {
                            path: rel,
                            kind: None,
                        },
                        dynamic: false,
                        constant: None,
                    });
                }
            }
        }
        out
    }

    fn flattened_target(&self, root: &str, key: &str) -> Option<Target> {
        let fm = self.mapping.field(root)?;
        let rel = self.relative(root, self.scope_of(root))?;
        let source = if key.is_empty() {
            Source::FlatRoot { root: rel }
        } else {
            Source::FlatKey {
                root: rel,
                key: key.to_string(),
            }
        };
        Some(Target {
            fm: fm.clone(),
            source,
            dynamic: false,
            constant: None,
        })
    }

    /// Targets for a name that is not mapped: the dynamic mapping of each possible value kind,
    /// and `<parent>.<sub>` multi-fields that dynamic mapping adds to a parent (`.keyword`).
    fn dynamic_targets(&self, name: &str) -> Vec<Target> {
        let detector = Arc::new(self.mapping.detector());
        let mut out = Vec::new();
        let mut add = |path: &str, sub: Option<&str>| {
            let Some(rel) = self.relative(path, self.scope_of(path)) else {
                return;
            };
            for kind in DYNAMIC_KINDS {
                let Some(dm) = self.mapping.dynamic_mapping_for_kind(path, kind, None) else {
                    continue;
                };
                let fm = match sub {
                    None => dm,
                    Some(s) => match dm.fields.get(s) {
                        Some(sub_fm) => sub_fm.clone(),
                        None => continue,
                    },
                };
                out.push(Target {
                    fm,
                    source: Source::Path {
                        path: rel.clone(),
                        kind: Some((kind, detector.clone())),
                    },
                    dynamic: true,
                    constant: None,
                });
            }
        };
        add(name, None);
        if let Some((parent, sub)) = name.rsplit_once('.') {
            if self.mapping.field(parent).is_none() && self.mapping.flattened_root(parent).is_none()
            {
                add(parent, Some(sub));
            }
        }
        out
    }

    /// Compiles a leaf query on one field name.
    pub(crate) fn leaf(
        &mut self,
        name: &str,
        access: Access,
        build: Builder<'_>,
    ) -> Result<Node, DslError> {
        let targets = self.resolve(name)?;
        leaf_from_targets(name, targets, access, build, false)
    }

    /// The fields named by a `fields` list (patterns allowed), in the current scope.
    pub(crate) fn field_set(&mut self, patterns: &[String]) -> Result<FieldSet, DslError> {
        let mut set = FieldSet::default();
        for pat in patterns {
            if !pat.contains('*') {
                set.explicit.push((pat.clone(), self.resolve(pat)?));
                continue;
            }
            self.fields.insert(pat.clone());
            let names: Vec<String> = self
                .mapping
                .leaf_paths()
                .filter(|(p, fm)| simple_glob(pat).matches(p) && searchable(fm))
                .map(|(p, _)| p.to_string())
                .collect();
            for n in names {
                let targets = match self.mapping.field(&n) {
                    Some(fm) if fm.ty == FieldType::Flattened => {
                        self.flattened_target(&n, "").into_iter().collect()
                    }
                    Some(fm) => self.mapped_targets(&n, &fm.clone()),
                    None => Vec::new(),
                };
                set.expanded.push((n, targets));
            }
            set.patterns.push(simple_glob(pat));
        }
        Ok(set)
    }

    /// A query over a field set: matches when it matches on any field. Fields found through
    /// patterns are lenient; so are all fields when `lenient` is set.
    pub(crate) fn multi_leaf(
        &mut self,
        set: FieldSet,
        access: Access,
        build: SharedBuilder,
        lenient: bool,
    ) -> Result<Node, DslError> {
        let mut nodes = Vec::new();
        for (name, targets) in set.explicit {
            nodes.push(leaf_from_targets(&name, targets, access, &*build, lenient)?);
        }
        for (name, targets) in set.expanded {
            nodes.push(leaf_from_targets(&name, targets, access, &*build, true)?);
        }
        if !set.patterns.is_empty() {
            nodes.push(Node::Dynamic(Box::new(DynamicFields {
                patterns: set.patterns,
                scope: self.nested.clone(),
                mapping: self.shared_mapping(),
                detector: Arc::new(self.mapping.detector()),
                build,
                cache: RwLock::new(HashMap::new()),
            })));
        }
        Ok(Node::any(nodes))
    }
}

/// A `*`-only pattern, as Elasticsearch's simple match uses for field names.
fn simple_glob(pat: &str) -> Glob {
    Glob::new(pat, false, false)
}

/// Whether a field can be searched at all (indexed, or with doc values for non-text types).
fn searchable(fm: &FieldMapping) -> bool {
    fm.index || (fm.doc_values && !fm.ty.is_text())
}

/// `_id` and `_index` as keyword targets; an error for metadata fields eshunt cannot read.
fn meta_target(name: &str) -> Result<Option<Target>, DslError> {
    let source = match name {
        "_id" => Source::Id,
        "_index" => Source::Index,
        n if UNSUPPORTED_META.contains(&n) => {
            return Err(DslError::unsupported_feature(
                "query",
                format!("queries on metadata field [{n}]"),
            ));
        }
        _ => return Ok(None),
    };
    Ok(Some(Target {
        fm: FieldMapping::synthetic("keyword", name),
        source,
        dynamic: false,
        constant: None,
    }))
}

/// Whether an error comes from a value that does not fit a field's type (what `lenient`
/// forgives, and what cannot happen for a dynamic field whose type follows the value). Other
/// errors (an unsupported analyzer, a malformed regular expression) always surface.
fn is_value_error(e: &DslError) -> bool {
    matches!(
        e,
        DslError::InvalidValue { .. } | DslError::DateParse { .. }
    )
}

/// Builds a leaf over resolved targets. Errors from mapped fields propagate unless `lenient`.
fn leaf_from_targets(
    name: &str,
    targets: Vec<Target>,
    access: Access,
    build: Builder<'_>,
    lenient: bool,
) -> Result<Node, DslError> {
    let mut channels = Vec::new();
    for t in targets {
        if !searchable(&t.fm) {
            match (access, t.dynamic || lenient) {
                (Access::Exists, _) | (_, true) => continue,
                (Access::Search, false) => {
                    let why = if t.fm.ty.is_text() {
                        "is not indexed"
                    } else {
                        "is not indexed nor has doc values"
                    };
                    return Err(DslError::invalid_value(
                        name,
                        format!("Cannot search on field [{name}] since it {why}."),
                    ));
                }
            }
        }
        let built = match build(&t.fm, name) {
            Ok(b) => b,
            Err(e) if (t.dynamic || lenient) && is_value_error(&e) => continue,
            Err(e) => return Err(e),
        };
        match built {
            Built::All => return Ok(Node::All),
            Built::None => {}
            Built::Pred(pred) => match &t.constant {
                Some(c)
                    if pred.test_value(
                        chrono::DateTime::<chrono::Utc>::MIN_UTC,
                        &Value::String(c.clone()),
                    ) =>
                {
                    return Ok(Node::All);
                }
                Some(_) => {}
                None => channels.push(Channel {
                    source: t.source,
                    pred,
                }),
            },
        }
    }
    Ok(if channels.is_empty() {
        Node::None
    } else {
        Node::Leaf(Leaf { channels })
    })
}

/// The fields of a multi-field query.
#[derive(Debug, Default)]
pub(crate) struct FieldSet {
    /// Names given without a wildcard, with their targets.
    explicit: Vec<(String, Vec<Target>)>,
    /// Mapped fields found by expanding patterns.
    expanded: Vec<(String, Vec<Target>)>,
    /// The patterns, expanded again at match time over fields that are not mapped.
    patterns: Vec<Glob>,
}

/// Field patterns expanded at match time over a document's unmapped fields, each typed by
/// dynamic mapping. Each value is tested on its own. The tests built for a (path, kind) pair are
/// cached, so a field seen in many documents is compiled once.
pub(crate) struct DynamicFields {
    patterns: Vec<Glob>,
    scope: Option<String>,
    mapping: Arc<Mapping>,
    detector: Arc<Detector>,
    build: SharedBuilder,
    cache: RwLock<PredCache>,
}

/// Compiled tests per (field path, dynamic kind).
type PredCache = HashMap<(String, &'static str), Arc<Vec<Pred>>>;

/// Most (path, kind) pairs whose tests a [`DynamicFields`] node remembers.
const DYNAMIC_CACHE_LIMIT: usize = 4096;

impl std::fmt::Debug for DynamicFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicFields")
            .field("patterns", &self.patterns)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl DynamicFields {
    pub(crate) fn matches(&self, ctx: &Ctx<'_>) -> bool {
        visit_paths(ctx.root, &mut |rel, v| {
            let Some(kind) = self.detector.kind(v) else {
                return false;
            };
            let full = match &self.scope {
                Some(s) => format!("{s}.{rel}"),
                None => rel.to_string(),
            };
            self.preds(full, kind)
                .iter()
                .any(|p| p.test_value(ctx.now, v))
        })
    }

    /// The tests for an unmapped field at `full` holding a value of `kind` (empty when the
    /// field is mapped, hidden, or not matched by the patterns).
    fn preds(&self, full: String, kind: &'static str) -> Arc<Vec<Pred>> {
        let key = (full, kind);
        if let Ok(cache) = self.cache.read() {
            if let Some(p) = cache.get(&key) {
                return p.clone();
            }
        }
        let preds = Arc::new(self.build_preds(&key.0, kind));
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() < DYNAMIC_CACHE_LIMIT {
                cache.insert(key, preds.clone());
            }
        }
        preds
    }

    fn build_preds(&self, full: &str, kind: &'static str) -> Vec<Pred> {
        let m = &self.mapping;
        if m.field(full).is_some()
            || m.flattened_root(full).is_some()
            || m.nested_scope(full) != self.scope.as_deref()
        {
            return Vec::new();
        }
        let Some(dm) = m.dynamic_mapping_for_kind(full, kind, None) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut add = |fm: &FieldMapping, name: &str| {
            if self.patterns.iter().any(|p| p.matches(name)) {
                if let Ok(Built::Pred(p)) = (self.build)(fm, name) {
                    out.push(p);
                }
            }
        };
        add(&dm, full);
        for (sub, sfm) in &dm.fields {
            add(sfm, &format!("{full}.{sub}"));
        }
        out
    }
}
