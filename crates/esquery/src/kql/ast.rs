//! The KQL syntax tree, shaped like Kibana's `KueryNode`.
//!
//! Kibana's parser yields *function* nodes (`is`, `range`, `nested`, `and`, `or`, `not`) whose
//! arguments are *literal* or *wildcard* nodes. [`Node`] mirrors the function nodes and [`Term`]
//! the argument nodes, so a tree converts losslessly to and from Kibana's JSON shape
//! ([`to_kuery_json`], [`from_kuery_json`]).

use serde_json::{json, Value};

use super::error::KqlError;

/// The marker Kibana stores in place of every unescaped `*` of a wildcard term.
pub const WILDCARD_SYMBOL: &str = "@kuery-wildcard@";

/// The value of a literal term, as Kibana types it.
///
/// Parsing text yields [`Scalar::String`] for everything but the bare words `null`, `true` and
/// `false` (case-sensitive, unquoted), which become [`Scalar::Null`] and [`Scalar::Bool`]. Numbers
/// stay strings when parsed (`bytes > 1000` compares with `"1000"`); [`Scalar::Number`] only comes
/// from trees built programmatically ([`from_kuery_json`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// `null`: as a field, it means "no field" (free text).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A JSON number (never produced by the parser).
    Number(serde_json::Number),
    /// Any other text, escapes resolved.
    String(String),
}

/// A field name or value: Kibana's `literal` or `wildcard` node.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// A plain value; `quoted` is Kibana's `isQuoted` (a `"phrase"`).
    Literal {
        /// The value.
        value: Scalar,
        /// Whether it was written in double quotes.
        quoted: bool,
    },
    /// An unquoted term with at least one unescaped `*`, stored as Kibana stores it: each
    /// wildcard is [`WILDCARD_SYMBOL`], escaped `\*` is a plain `*`.
    Wildcard(String),
}

/// A range comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOp {
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
}

/// Parsed KQL: one of Kibana's KQL function nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `field: value` (Kibana's `is`). A `field` of [`Scalar::Null`] is free text (`value` alone);
    /// a lone-wildcard `value` is an exists test; both lone wildcards (`*:*`) match everything.
    Is {
        /// The field name (possibly a wildcard pattern, or null for free text).
        field: Term,
        /// The value (possibly a wildcard pattern or a quoted phrase).
        value: Term,
    },
    /// `field < value`, `<=`, `>`, `>=` (Kibana's `range`).
    Range {
        /// The field name.
        field: Term,
        /// The operator.
        op: RangeOp,
        /// The bound.
        value: Term,
    },
    /// `path: { query }` (Kibana's `nested`): `query`'s fields are relative to `path`.
    Nested {
        /// The nested path, relative to any enclosing nested path.
        path: Term,
        /// The query on the nested documents.
        query: Box<Node>,
    },
    /// All children match (`a and b and c`, flattened as Kibana does).
    And(Vec<Node>),
    /// Any child matches.
    Or(Vec<Node>),
    /// The child does not match.
    Not(Box<Node>),
}

impl RangeOp {
    /// Kibana's name for the operator, which is also the Elasticsearch range parameter.
    pub fn name(self) -> &'static str {
        match self {
            RangeOp::Lt => "lt",
            RangeOp::Lte => "lte",
            RangeOp::Gt => "gt",
            RangeOp::Gte => "gte",
        }
    }

    fn from_name(name: &str) -> Option<RangeOp> {
        match name {
            "lt" => Some(RangeOp::Lt),
            "lte" => Some(RangeOp::Lte),
            "gt" => Some(RangeOp::Gt),
            "gte" => Some(RangeOp::Gte),
            _ => None,
        }
    }
}

impl Scalar {
    /// The JSON value Kibana sends to Elasticsearch for this scalar.
    pub fn to_json(&self) -> Value {
        match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(*b),
            Scalar::Number(n) => Value::Number(n.clone()),
            Scalar::String(s) => Value::String(s.clone()),
        }
    }
}

impl Term {
    /// A term for a plain string, as written unquoted.
    pub fn string(s: impl Into<String>) -> Term {
        Term::Literal {
            value: Scalar::String(s.into()),
            quoted: false,
        }
    }

    /// The "no field" term of free-text queries.
    pub fn null() -> Term {
        Term::Literal {
            value: Scalar::Null,
            quoted: false,
        }
    }

    /// The lone wildcard `*`.
    pub fn any() -> Term {
        Term::Wildcard(WILDCARD_SYMBOL.to_string())
    }

    /// Whether this is the null literal (free text when used as a field).
    pub fn is_null(&self) -> bool {
        matches!(
            self,
            Term::Literal {
                value: Scalar::Null,
                ..
            }
        )
    }

    /// Whether this is a quoted literal (a phrase).
    pub fn is_quoted(&self) -> bool {
        matches!(self, Term::Literal { quoted: true, .. })
    }

    /// Kibana's `isLoneWildcard`: a wildcard that is nothing but one `*`. Like Kibana, only the
    /// first marker is discounted, so `**` is not lone.
    pub fn is_lone_wildcard(&self) -> bool {
        match self {
            Term::Wildcard(v) => v.contains(WILDCARD_SYMBOL) && v.len() == WILDCARD_SYMBOL.len(),
            Term::Literal { .. } => false,
        }
    }

    /// The value Kibana's `toElasticsearchQuery` gives the term: the scalar of a literal, or the
    /// pattern of a wildcard with `*` for each wildcard (nothing escaped).
    pub fn es_value(&self) -> Value {
        match self {
            Term::Literal { value, .. } => value.to_json(),
            Term::Wildcard(v) => Value::String(v.replace(WILDCARD_SYMBOL, "*")),
        }
    }

    /// The term as text, the way JavaScript's template strings print it (`null`, `true`, ...).
    pub fn display(&self) -> String {
        js_string(&self.es_value())
    }

    /// The Kibana JSON of this term (`{"type":"literal",...}` or `{"type":"wildcard",...}`).
    pub fn to_kuery_json(&self) -> Value {
        match self {
            Term::Literal { value, quoted } => {
                json!({"type": "literal", "value": value.to_json(), "isQuoted": quoted})
            }
            Term::Wildcard(v) => json!({"type": "wildcard", "value": v}),
        }
    }
}

/// JavaScript's `String(value)` for the scalars found in a KQL tree.
pub(crate) fn js_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The Kibana `KueryNode` JSON of a tree, as `fromKueryExpression` returns it.
pub fn to_kuery_json(node: &Node) -> Value {
    match node {
        Node::Is { field, value } => {
            function("is", vec![field.to_kuery_json(), value.to_kuery_json()])
        }
        Node::Range { field, op, value } => function(
            "range",
            vec![
                field.to_kuery_json(),
                json!(op.name()),
                value.to_kuery_json(),
            ],
        ),
        Node::Nested { path, query } => {
            function("nested", vec![path.to_kuery_json(), to_kuery_json(query)])
        }
        Node::And(children) => function("and", children.iter().map(to_kuery_json).collect()),
        Node::Or(children) => function("or", children.iter().map(to_kuery_json).collect()),
        Node::Not(child) => function("not", vec![to_kuery_json(child)]),
    }
}

fn function(name: &str, arguments: Vec<Value>) -> Value {
    json!({"type": "function", "function": name, "arguments": arguments})
}

/// Builds a tree from Kibana `KueryNode` JSON (for example a programmatically built node, which
/// may hold numbers). Wildcard values may use `*` or [`WILDCARD_SYMBOL`], as Kibana accepts.
pub fn from_kuery_json(json: &Value) -> Result<Node, KqlError> {
    let name = json.get("function").and_then(Value::as_str);
    let args = json.get("arguments").and_then(Value::as_array);
    match (json.get("type").and_then(Value::as_str), name, args) {
        (Some("function"), Some(name), Some(args)) => function_from_json(name, args),
        _ => Err(invalid_ast("a function node", json)),
    }
}

fn function_from_json(name: &str, args: &[Value]) -> Result<Node, KqlError> {
    match (name, args) {
        ("is", [field, value]) => Ok(Node::Is {
            field: term_from_json(field)?,
            value: term_from_json(value)?,
        }),
        ("range", [field, op, value]) => Ok(Node::Range {
            field: term_from_json(field)?,
            op: op
                .as_str()
                .and_then(RangeOp::from_name)
                .ok_or_else(|| invalid_ast("a range operator", op))?,
            value: term_from_json(value)?,
        }),
        ("nested", [path, child]) => Ok(Node::Nested {
            path: term_from_json(path)?,
            query: Box::new(from_kuery_json(child)?),
        }),
        ("not", [child]) => Ok(Node::Not(Box::new(from_kuery_json(child)?))),
        ("and", children) => Ok(Node::And(children_from_json(children)?)),
        ("or", children) => Ok(Node::Or(children_from_json(children)?)),
        _ => Err(KqlError::invalid_ast(format!(
            "unsupported KQL function {name:?} with {} arguments",
            args.len()
        ))),
    }
}

fn children_from_json(children: &[Value]) -> Result<Vec<Node>, KqlError> {
    children.iter().map(from_kuery_json).collect()
}

/// Builds a term from Kibana literal or wildcard node JSON.
pub fn term_from_json(json: &Value) -> Result<Term, KqlError> {
    let value = json.get("value");
    match (json.get("type").and_then(Value::as_str), value) {
        (Some("wildcard"), Some(Value::String(v))) => Ok(wildcard_from_pattern(v)),
        (Some("literal"), Some(v)) => Ok(Term::Literal {
            value: scalar_from_json(v).ok_or_else(|| invalid_ast("a scalar value", v))?,
            quoted: json
                .get("isQuoted")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }),
        _ => Err(invalid_ast("a literal or wildcard node", json)),
    }
}

/// Kibana's `wildcard.buildNode`: a pattern that does not already hold the marker gets each `*`
/// replaced by it.
fn wildcard_from_pattern(pattern: &str) -> Term {
    if !pattern.contains("wildcard") && pattern.contains('*') {
        Term::Wildcard(pattern.replace('*', WILDCARD_SYMBOL))
    } else {
        Term::Wildcard(pattern.to_string())
    }
}

fn scalar_from_json(json: &Value) -> Option<Scalar> {
    match json {
        Value::Null => Some(Scalar::Null),
        Value::Bool(b) => Some(Scalar::Bool(*b)),
        Value::Number(n) => Some(Scalar::Number(n.clone())),
        Value::String(s) => Some(Scalar::String(s.clone())),
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn invalid_ast(what: &str, found: &Value) -> KqlError {
    KqlError::invalid_ast(format!("expected {what}, found {found}"))
}

/// The field names a query references, deduplicated, in order of appearance.
///
/// Free text references no field. Wildcard names are given as written, with `*` (for example
/// `event.*`). Unlike Kibana's `getKqlFieldNames`, fields inside `path: { … }` are given with
/// their full name (`path.child`), which is what the query reads in documents.
pub fn fields(node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    collect_fields(node, None, &mut out);
    out
}

fn collect_fields(node: &Node, prefix: Option<&str>, out: &mut Vec<String>) {
    match node {
        Node::Is { field, .. } | Node::Range { field, .. } => {
            if !field.is_null() {
                push_unique(out, prefixed(prefix, field));
            }
        }
        Node::Nested { path, query } => {
            let path = prefixed(prefix, path);
            collect_fields(query, Some(&path), out);
        }
        Node::And(children) | Node::Or(children) => {
            for child in children {
                collect_fields(child, prefix, out);
            }
        }
        Node::Not(child) => collect_fields(child, prefix, out),
    }
}

fn prefixed(prefix: Option<&str>, term: &Term) -> String {
    match prefix {
        Some(p) => format!("{p}.{}", term.display()),
        None => term.display(),
    }
}

fn push_unique(out: &mut Vec<String>, name: String) {
    if !out.contains(&name) {
        out.push(name);
    }
}
