//! Compound queries: `bool`, `constant_score`, `dis_max`, `boosting`, `function_score`.
//!
//! `bool` follows the Elasticsearch reference ("Boolean query"):
//! - `must` and `filter` clauses must all match; `must_not` clauses must not;
//! - `minimum_should_match` defaults to 1 when the query has `should` clauses and no `must` or
//!   `filter` clause, otherwise to 0; integer, negative, percentage and conditional forms are
//!   accepted (see [`super::params::min_should_match`]);
//! - a `bool` with no clauses at all matches every document; a minimum above the number of
//!   `should` clauses matches nothing (as Lucene's `BooleanQuery` does);
//! - each clause list may be a single query object or an array.

use crate::dsl::error::DslError;
use crate::dsl::query::params::{check_keys, expect_object, get_bool, min_should_match};
use crate::dsl::query::{Compiler, Ctx, Node};
use serde_json::Value;

/// A compiled `bool`.
#[derive(Debug)]
pub(crate) struct BoolNode {
    /// `must` and `filter` clauses.
    required: Vec<Node>,
    should: Vec<Node>,
    must_not: Vec<Node>,
    /// How many `should` clauses must match.
    min_should: usize,
}

impl BoolNode {
    pub(crate) fn new(
        required: Vec<Node>,
        should: Vec<Node>,
        must_not: Vec<Node>,
        min_should: usize,
    ) -> Self {
        BoolNode {
            required,
            should,
            must_not,
            min_should,
        }
    }

    pub(crate) fn matches(&self, ctx: &Ctx<'_>) -> bool {
        if !self.required.iter().all(|n| n.matches(ctx))
            || self.must_not.iter().any(|n| n.matches(ctx))
        {
            return false;
        }
        if self.min_should == 0 {
            return true;
        }
        let mut hits = 0;
        for n in &self.should {
            if n.matches(ctx) {
                hits += 1;
                if hits >= self.min_should {
                    return true;
                }
            }
        }
        false
    }
}

/// Compiles a clause list (an object or an array of objects).
fn clauses(c: &mut Compiler<'_>, v: Option<&Value>) -> Result<Vec<Node>, DslError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|q| c.compile(q)).collect(),
        Some(obj @ Value::Object(_)) => Ok(vec![c.compile(obj)?]),
        Some(other) => Err(DslError::malformed(
            "bool",
            format!("[bool] query does not support [{other}]"),
        )),
    }
}

pub(crate) fn compile_bool(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let obj = expect_object("bool", body)?;
    check_keys(
        "bool",
        obj,
        &[
            "must",
            "filter",
            "should",
            "must_not",
            "minimum_should_match",
            "adjust_pure_negative",
        ],
    )?;
    let mut required = clauses(c, obj.get("must"))?;
    required.extend(clauses(c, obj.get("filter"))?);
    let should = clauses(c, obj.get("should"))?;
    let must_not = clauses(c, obj.get("must_not"))?;
    if required.is_empty() && should.is_empty() && must_not.is_empty() {
        return Ok(Node::All);
    }
    // A purely negative bool matches everything not excluded, unless adjust_pure_negative is
    // false (then, like a bare Lucene BooleanQuery, it matches nothing).
    let adjust = get_bool("bool", Some(obj), "adjust_pure_negative")?.unwrap_or(true);
    if !adjust && required.is_empty() && should.is_empty() {
        return Ok(Node::None);
    }
    let min_should = match obj.get("minimum_should_match") {
        Some(spec) if !spec.is_null() => min_should_match("bool", spec, should.len())?,
        _ if !should.is_empty() && required.is_empty() => 1,
        _ => 0,
    };
    if min_should > should.len() {
        return Ok(Node::None);
    }
    Ok(Node::Bool(Box::new(BoolNode::new(
        required, should, must_not, min_should,
    ))))
}

/// `constant_score`: its `filter`.
pub(crate) fn compile_constant_score(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let obj = expect_object("constant_score", body)?;
    check_keys("constant_score", obj, &["filter"])?;
    let filter = obj.get("filter").ok_or_else(|| {
        DslError::malformed(
            "constant_score",
            "[constant_score] requires a 'filter' element",
        )
    })?;
    c.compile(filter)
}

/// `dis_max`: any of its `queries`.
pub(crate) fn compile_dis_max(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let obj = expect_object("dis_max", body)?;
    check_keys("dis_max", obj, &["queries", "tie_breaker"])?;
    let queries = clauses(c, obj.get("queries"))?;
    if queries.is_empty() {
        return Err(DslError::malformed(
            "dis_max",
            "[dis_max] requires 'queries' field with at least one clause",
        ));
    }
    Ok(Node::any(queries))
}

/// `boosting`: its `positive` query (`negative` only lowers scores).
pub(crate) fn compile_boosting(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let obj = expect_object("boosting", body)?;
    check_keys("boosting", obj, &["positive", "negative", "negative_boost"])?;
    let (Some(pos), Some(neg)) = (obj.get("positive"), obj.get("negative")) else {
        return Err(DslError::malformed(
            "boosting",
            "[boosting] query requires 'positive' and 'negative' queries",
        ));
    };
    c.compile(neg)?;
    c.compile(pos)
}

/// `function_score`: its `query` (scoring functions do not change which documents match;
/// `min_score` would, so it is refused).
pub(crate) fn compile_function_score(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let obj = expect_object("function_score", body)?;
    check_keys(
        "function_score",
        obj,
        &[
            "query",
            "functions",
            "score_mode",
            "boost_mode",
            "max_boost",
            "min_score",
            "filter",
            "weight",
            "random_score",
            "field_value_factor",
            "script_score",
            "gauss",
            "linear",
            "exp",
        ],
    )?;
    if obj.contains_key("min_score") {
        return Err(DslError::unsupported_feature("function_score", "min_score"));
    }
    match obj.get("query") {
        Some(q) => c.compile(q),
        None => Ok(Node::All),
    }
}
