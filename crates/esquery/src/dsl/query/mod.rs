//! Compiled queries: [`Query::compile`] turns query DSL into a tree of [`Node`]s once; then
//! [`Query::matches`] evaluates it per document without re-reading the DSL.
//!
//! One file per query family: [`bool`] (bool and the other compound queries), [`term_level`]
//! (term, terms, prefix, wildcard, regexp, fuzzy, exists, ids), [`full_text`] (match,
//! match_phrase, match_phrase_prefix, match_bool_prefix, multi_match), [`query_string`]
//! (query_string, simple_query_string), [`range`] and [`nested`]. [`field`] resolves field names
//! against the mapping; [`pred`] holds the per-type value tests; [`values`] reads typed values.

mod bool;
mod field;
mod full_text;
mod nested;
mod params;
mod pred;
mod query_string;
mod range;
mod term_level;
mod values;

use crate::dsl::error::DslError;
use crate::dsl::mapping::Mapping;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

pub(crate) use field::Leaf;

/// Document metadata that some queries read (`ids`, `term` on `_id` or `_index`).
#[derive(Debug, Clone, Copy, Default)]
pub struct DocMeta<'a> {
    /// The document `_id`.
    pub id: Option<&'a str>,
    /// The index the document is in.
    pub index: Option<&'a str>,
}

/// A query compiled against a mapping, ready to be evaluated on many documents.
///
/// `Query` is `Send + Sync`: one compiled query can be shared by threads.
#[derive(Debug)]
pub struct Query {
    root: Node,
    fields: Vec<String>,
}

impl Query {
    /// Compiles Elasticsearch query DSL (the value of a search body's `query`) against
    /// `mapping`. Unknown query types, unknown parameters and values that do not fit a mapped
    /// field's type are errors, as they are in Elasticsearch.
    pub fn compile(dsl: &Value, mapping: &Mapping) -> Result<Query, DslError> {
        let mut c = Compiler::new(mapping);
        let root = c.compile(dsl)?;
        Ok(Query {
            root,
            fields: c.fields.into_iter().collect(),
        })
    }

    /// Whether the `_source` document `doc` matches, with `now` for date math.
    pub fn matches(&self, doc: &Value, now: DateTime<Utc>) -> bool {
        self.matches_with_meta(doc, &DocMeta::default(), now)
    }

    /// Like [`Query::matches`], for queries that also read the document's `_id` or `_index`.
    pub fn matches_with_meta(&self, doc: &Value, meta: &DocMeta<'_>, now: DateTime<Utc>) -> bool {
        let ctx = Ctx {
            root: doc,
            now,
            meta,
        };
        self.root.matches(&ctx)
    }

    /// The fields the query reads, sorted (field patterns are listed as written).
    pub fn fields(&self) -> Vec<String> {
        self.fields.clone()
    }
}

/// What evaluation of one (sub-)document sees.
pub(crate) struct Ctx<'a> {
    /// The document, or the nested object inside a `nested` query.
    pub root: &'a Value,
    pub now: DateTime<Utc>,
    pub meta: &'a DocMeta<'a>,
}

/// A node of a compiled query.
#[derive(Debug)]
pub(crate) enum Node {
    All,
    None,
    Bool(Box<bool::BoolNode>),
    Leaf(Leaf),
    Nested(Box<nested::NestedNode>),
    /// Field patterns expanded at match time over fields that are not mapped.
    Dynamic(Box<field::DynamicFields>),
}

impl Node {
    pub(crate) fn matches(&self, ctx: &Ctx<'_>) -> bool {
        match self {
            Node::All => true,
            Node::None => false,
            Node::Bool(b) => b.matches(ctx),
            Node::Leaf(l) => l.matches(ctx),
            Node::Nested(n) => n.matches(ctx),
            Node::Dynamic(d) => d.matches(ctx),
        }
    }

    /// Matches when any of `nodes` matches (none: never).
    pub(crate) fn any(mut nodes: Vec<Node>) -> Node {
        nodes.retain(|n| !matches!(n, Node::None));
        if nodes.iter().any(|n| matches!(n, Node::All)) {
            return Node::All;
        }
        match nodes.len() {
            0 => Node::None,
            1 => nodes.pop().unwrap_or(Node::None),
            _ => Node::Bool(Box::new(bool::BoolNode::new(
                Vec::new(),
                nodes,
                Vec::new(),
                1,
            ))),
        }
    }

    /// Matches when all of `nodes` match (none: always).
    pub(crate) fn all(mut nodes: Vec<Node>) -> Node {
        nodes.retain(|n| !matches!(n, Node::All));
        if nodes.iter().any(|n| matches!(n, Node::None)) {
            return Node::None;
        }
        match nodes.len() {
            0 => Node::All,
            1 => nodes.pop().unwrap_or(Node::All),
            _ => Node::Bool(Box::new(bool::BoolNode::new(
                nodes,
                Vec::new(),
                Vec::new(),
                0,
            ))),
        }
    }

    /// Matches when `node` does not.
    pub(crate) fn not(node: Node) -> Node {
        match node {
            Node::All => Node::None,
            Node::None => Node::All,
            other => Node::Bool(Box::new(bool::BoolNode::new(
                Vec::new(),
                Vec::new(),
                vec![other],
                0,
            ))),
        }
    }

    /// Matches when at least `min` of `nodes` match.
    pub(crate) fn at_least(nodes: Vec<Node>, min: usize) -> Node {
        match min {
            0 | 1 => Node::any(nodes),
            m if m > nodes.len() => Node::None,
            m => Node::Bool(Box::new(bool::BoolNode::new(
                Vec::new(),
                nodes,
                Vec::new(),
                m,
            ))),
        }
    }
}

/// Compilation state: the mapping, the current `nested` scope and the fields read so far.
pub(crate) struct Compiler<'m> {
    pub mapping: &'m Mapping,
    /// The path of the enclosing `nested` query, if any.
    pub nested: Option<String>,
    pub fields: BTreeSet<String>,
    shared: Option<Arc<Mapping>>,
}

impl<'m> Compiler<'m> {
    fn new(mapping: &'m Mapping) -> Self {
        Compiler {
            mapping,
            nested: None,
            fields: BTreeSet::new(),
            shared: None,
        }
    }

    /// A shared copy of the mapping for nodes that consult it at match time.
    pub(crate) fn shared_mapping(&mut self) -> Arc<Mapping> {
        self.shared
            .get_or_insert_with(|| Arc::new(self.mapping.clone()))
            .clone()
    }

    /// Compiles one query object `{"<type>": {...}}`.
    pub(crate) fn compile(&mut self, v: &Value) -> Result<Node, DslError> {
        let obj = v.as_object().ok_or_else(|| {
            DslError::malformed("query", "query malformed, must start with start_object")
        })?;
        let mut entries = obj.iter();
        let (name, body) = match (entries.next(), entries.next()) {
            (Some(entry), None) => entry,
            (None, _) => return Ok(Node::All),
            (Some((first, _)), Some(_)) => {
                return Err(DslError::malformed(
                    first,
                    "malformed query, expected [END_OBJECT] but found [FIELD_NAME]",
                ));
            }
        };
        match name.as_str() {
            "match_all" => {
                params::expect_object(name, body)?;
                Ok(Node::All)
            }
            "match_none" => {
                params::expect_object(name, body)?;
                Ok(Node::None)
            }
            "bool" => bool::compile_bool(self, body),
            "constant_score" => bool::compile_constant_score(self, body),
            "dis_max" => bool::compile_dis_max(self, body),
            "boosting" => bool::compile_boosting(self, body),
            "function_score" => bool::compile_function_score(self, body),
            "term" => term_level::compile_term(self, body),
            "terms" => term_level::compile_terms(self, body),
            "prefix" => term_level::compile_prefix(self, body),
            "wildcard" => term_level::compile_wildcard(self, body),
            "regexp" => term_level::compile_regexp(self, body),
            "fuzzy" => term_level::compile_fuzzy(self, body),
            "exists" => term_level::compile_exists(self, body),
            "ids" => term_level::compile_ids(self, body),
            "range" => range::compile_range(self, body),
            "match" => full_text::compile_match(self, body),
            "match_phrase" => full_text::compile_match_phrase(self, body, false),
            "match_phrase_prefix" => full_text::compile_match_phrase(self, body, true),
            "match_bool_prefix" => full_text::compile_match_bool_prefix(self, body),
            "multi_match" => full_text::compile_multi_match(self, body),
            "query_string" => query_string::compile_query_string(self, body),
            "simple_query_string" => query_string::compile_simple_query_string(self, body),
            "nested" => nested::compile_nested(self, body),
            other => Err(DslError::Unsupported {
                query_type: other.to_string(),
            }),
        }
    }
}
