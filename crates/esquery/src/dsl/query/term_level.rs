//! Term-level queries: `term`, `terms`, `prefix`, `wildcard`, `regexp`, `fuzzy`, `exists`, `ids`.
//!
//! Term-level queries are not analysed (Elasticsearch reference, "Term-level queries"):
//! - on keyword-like fields (keyword, constant_keyword, wildcard, flattened) they compare whole
//!   values, case-sensitively unless `case_insensitive` is set; a `lowercase` normalizer is
//!   applied to the query value as to indexed values;
//! - on text fields they compare against the *tokens* (so `term: {"msg": "Foo"}` never matches
//!   text, whose tokens are lower-cased);
//! - on numeric, date, boolean and ip fields `term`/`terms` parse the value as that type
//!   (a fractional term on an integer field matches nothing; a date term matches the whole
//!   rounded interval, e.g. a day for `2024-01-01`; an ip term may be a CIDR block);
//!   `prefix`, `wildcard`, `regexp` and `fuzzy` are errors on those types.

use crate::dsl::analysis::lowercase;
use crate::dsl::error::DslError;
use crate::dsl::mapping::FieldMapping;
use crate::dsl::pattern::{lucene_regex, Glob, RegexFlags};
use crate::dsl::query::field::{Access, Built};
use crate::dsl::query::params::{
    check_keys, expect_object, field_params, get_bool, get_str, get_usize, scalar_query_text,
    single_field,
};
use crate::dsl::query::pred::{Domain, FloatRange, Fuzzy, KwTest, Pred, TextTest, TokMatcher};
use crate::dsl::query::range::date_term_range;
use crate::dsl::query::values::{parse_ip_or_cidr, parse_number_text, IntKind, Num};
use crate::dsl::query::{Compiler, Node};
use serde_json::Value;
use std::ops::Bound;
use std::sync::Arc;

/// The domain of a field for a query, or the "matches nothing" answer for objects.
pub(crate) fn domain_for(fm: &FieldMapping, name: &str) -> Result<Option<Domain>, DslError> {
    match Domain::of(fm, name)? {
        Domain::Object => Ok(None),
        d => Ok(Some(d)),
    }
}

/// Exact-value test of one or more query values against a field, as `term`/`terms` do.
pub(crate) fn terms_built(
    fm: &FieldMapping,
    name: &str,
    values: &[String],
    ci: bool,
) -> Result<Built, DslError> {
    let Some(dom) = domain_for(fm, name)? else {
        return Ok(Built::None);
    };
    let pred = match dom {
        Domain::Keyword(d) => {
            let ts: Vec<String> = values.iter().map(|v| d.normalize(v)).collect();
            let test = if ci {
                KwTest::TermsCi(ts.iter().map(|t| lowercase(t)).collect())
            } else {
                KwTest::terms(ts)
            };
            Pred::Keyword(d, test)
        }
        Domain::Text(analyzer) => {
            let matchers = values
                .iter()
                .map(|v| {
                    if ci {
                        TokMatcher::ExactCi(lowercase(v))
                    } else {
                        TokMatcher::Exact(v.clone())
                    }
                })
                .collect();
            Pred::Text {
                analyzer,
                test: TextTest::Tokens { matchers, min: 1 },
            }
        }
        Domain::Int(d) => {
            let mut ranges = Vec::new();
            for v in values {
                if let Some(n) = int_term(d.kind, name, v)? {
                    ranges.push((n, n));
                }
            }
            Pred::Int(d, ranges)
        }
        Domain::Float(d) => {
            let mut ranges = Vec::new();
            for v in values {
                let x = d.round(
                    parse_number_text(v.trim())
                        .ok_or_else(|| number_error(name, v))?
                        .as_f64(),
                );
                ranges.push(FloatRange {
                    lo: Bound::Included(x),
                    hi: Bound::Included(x),
                });
            }
            Pred::Float(d, ranges)
        }
        Domain::Date(d) => {
            let ranges = values
                .iter()
                .map(|v| date_term_range(&d, v, None, 0))
                .collect::<Result<Vec<_>, _>>()?;
            Pred::Date(d, ranges)
        }
        Domain::Ip(d) => {
            let ranges = values
                .iter()
                .map(|v| parse_ip_or_cidr(v).ok_or_else(|| ip_error(name, v)))
                .collect::<Result<Vec<_>, _>>()?;
            Pred::Ip(d, ranges)
        }
        Domain::Object => return Ok(Built::None),
    };
    Ok(Built::Pred(pred))
}

fn number_error(name: &str, v: &str) -> DslError {
    DslError::invalid_value(name, format!("For input string: \"{v}\""))
}

pub(crate) fn ip_error(name: &str, v: &str) -> DslError {
    DslError::invalid_value(name, format!("'{v}' is not an IP string literal."))
}

/// An integer (or boolean) term: `None` when a fraction makes it match nothing.
fn int_term(kind: IntKind, name: &str, v: &str) -> Result<Option<i128>, DslError> {
    if kind == IntKind::Boolean {
        return match v {
            "true" => Ok(Some(1)),
            "false" | "" => Ok(Some(0)),
            _ => Err(DslError::invalid_value(
                name,
                format!("Can't parse boolean value [{v}], expected [true] or [false]"),
            )),
        };
    }
    let num = parse_number_text(v.trim()).ok_or_else(|| number_error(name, v))?;
    if let IntKind::Scaled(f) = kind {
        let scaled = num.as_f64() * f;
        return Ok(Some((scaled + 0.5).floor() as i128));
    }
    if num.has_fraction() {
        return Ok(None);
    }
    let n = match num {
        Num::Int(i) => i,
        Num::Float(f) => f as i128,
    };
    let (lo, hi) = kind.bounds();
    if n < lo || n > hi {
        return Err(DslError::invalid_value(
            name,
            format!("Value [{v}] is out of range for {}", kind.name()),
        ));
    }
    Ok(Some(n))
}

/// The error for a pattern query on a field type that does not support it.
fn unsupported_pattern(query: &str, types: &str, fm: &FieldMapping, name: &str) -> DslError {
    DslError::invalid_value(
        name,
        format!(
            "Can only use {query} queries on {types} fields - not on [{name}] which is of type [{}]",
            fm.type_name
        ),
    )
}

/// A pattern test on a keyword value or a text token.
pub(crate) enum Pattern {
    Prefix(String),
    Wildcard(String),
    Regexp(String, RegexFlags),
    Fuzzy {
        value: String,
        fuzziness: String,
        prefix_len: usize,
        transpositions: bool,
    },
}

impl Pattern {
    fn query_name(&self) -> &'static str {
        match self {
            Pattern::Prefix(_) => "prefix",
            Pattern::Wildcard(_) => "wildcard",
            Pattern::Regexp(..) => "regexp",
            Pattern::Fuzzy { .. } => "fuzzy",
        }
    }
}

/// Builds a pattern query (`prefix`, `wildcard`, `regexp`, `fuzzy`) for one field.
pub(crate) fn pattern_built(
    fm: &FieldMapping,
    name: &str,
    pat: &Pattern,
    ci: bool,
) -> Result<Built, DslError> {
    let Some(dom) = domain_for(fm, name)? else {
        return Ok(Built::None);
    };
    match dom {
        Domain::Keyword(d) => {
            let norm = |s: &str| {
                if ci {
                    lowercase(s)
                } else {
                    d.normalize(s)
                }
            };
            let test = match pat {
                Pattern::Prefix(p) => KwTest::Prefix {
                    prefix: norm(p),
                    ci,
                },
                Pattern::Wildcard(w) => KwTest::Glob(Glob::new(&d.normalize(w), true, ci)),
                Pattern::Regexp(r, flags) => KwTest::Regex(lucene_regex(r, *flags, ci)?),
                Pattern::Fuzzy {
                    value,
                    fuzziness,
                    prefix_len,
                    transpositions,
                } => KwTest::Fuzzy(Fuzzy::new(
                    &d.normalize(value),
                    fuzziness,
                    *prefix_len,
                    *transpositions,
                )?),
            };
            Ok(Built::Pred(Pred::Keyword(d, test)))
        }
        Domain::Text(analyzer) => {
            let m = token_pattern(pat, ci)?;
            Ok(Built::Pred(Pred::Text {
                analyzer,
                test: TextTest::Tokens {
                    matchers: vec![m],
                    min: 1,
                },
            }))
        }
        _ => {
            let types = match pat {
                Pattern::Prefix(_) | Pattern::Wildcard(_) => "keyword, text and wildcard",
                _ => "keyword and text",
            };
            Err(unsupported_pattern(pat.query_name(), types, fm, name))
        }
    }
}

/// A pattern as a token matcher (no normalization: term-level queries are not analysed).
pub(crate) fn token_pattern(pat: &Pattern, ci: bool) -> Result<TokMatcher, DslError> {
    Ok(match pat {
        Pattern::Prefix(p) if ci => TokMatcher::PrefixCi(lowercase(p)),
        Pattern::Prefix(p) => TokMatcher::Prefix(p.clone()),
        Pattern::Wildcard(w) => TokMatcher::Glob(Glob::new(w, true, ci)),
        Pattern::Regexp(r, flags) => TokMatcher::Regex(lucene_regex(r, *flags, ci)?),
        Pattern::Fuzzy {
            value,
            fuzziness,
            prefix_len,
            transpositions,
        } => TokMatcher::Fuzzy(Fuzzy::new(value, fuzziness, *prefix_len, *transpositions)?),
    })
}

pub(crate) fn compile_term(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let (field, v) = single_field("term", body)?;
    let (value, params) = field_params("term", v, &["value"], &["case_insensitive"])?;
    let text = scalar_query_text("term", value)?;
    let ci = get_bool("term", params, "case_insensitive")?.unwrap_or(false);
    c.leaf(field, Access::Search, &|fm, name| {
        terms_built(fm, name, std::slice::from_ref(&text), ci)
    })
}

pub(crate) fn compile_terms(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let (field, v) = single_field("terms", body)?;
    let Value::Array(items) = v else {
        if v.is_object() {
            return Err(DslError::unsupported_feature("terms", "terms lookup"));
        }
        return Err(DslError::malformed(
            "terms",
            "[terms] query requires an array of values",
        ));
    };
    let values: Vec<String> = items
        .iter()
        .map(|x| scalar_query_text("terms", x))
        .collect::<Result<_, _>>()?;
    if values.is_empty() {
        return Ok(Node::None);
    }
    c.leaf(field, Access::Search, &|fm, name| {
        terms_built(fm, name, &values, false)
    })
}

pub(crate) fn compile_prefix(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let (field, v) = single_field("prefix", body)?;
    let (value, params) = field_params("prefix", v, &["value"], &["case_insensitive", "rewrite"])?;
    let pat = Pattern::Prefix(scalar_query_text("prefix", value)?);
    let ci = get_bool("prefix", params, "case_insensitive")?.unwrap_or(false);
    c.leaf(field, Access::Search, &|fm, name| {
        pattern_built(fm, name, &pat, ci)
    })
}

pub(crate) fn compile_wildcard(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let (field, v) = single_field("wildcard", body)?;
    let (value, params) = field_params(
        "wildcard",
        v,
        &["value", "wildcard"],
        &["case_insensitive", "rewrite"],
    )?;
    let pat = Pattern::Wildcard(scalar_query_text("wildcard", value)?);
    let ci = get_bool("wildcard", params, "case_insensitive")?.unwrap_or(false);
    c.leaf(field, Access::Search, &|fm, name| {
        pattern_built(fm, name, &pat, ci)
    })
}

pub(crate) fn compile_regexp(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let (field, v) = single_field("regexp", body)?;
    let (value, params) = field_params(
        "regexp",
        v,
        &["value"],
        &[
            "flags",
            "flags_value",
            "case_insensitive",
            "max_determinized_states",
            "rewrite",
        ],
    )?;
    let flags = match get_str("regexp", params, "flags")? {
        Some(f) => RegexFlags::parse(&f)?,
        None => RegexFlags::ALL,
    };
    let pat = Pattern::Regexp(scalar_query_text("regexp", value)?, flags);
    let ci = get_bool("regexp", params, "case_insensitive")?.unwrap_or(false);
    c.leaf(field, Access::Search, &|fm, name| {
        pattern_built(fm, name, &pat, ci)
    })
}

pub(crate) fn compile_fuzzy(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let (field, v) = single_field("fuzzy", body)?;
    let (value, params) = field_params(
        "fuzzy",
        v,
        &["value"],
        &[
            "fuzziness",
            "max_expansions",
            "prefix_length",
            "transpositions",
            "rewrite",
        ],
    )?;
    let pat = Pattern::Fuzzy {
        value: scalar_query_text("fuzzy", value)?,
        fuzziness: get_str("fuzzy", params, "fuzziness")?.unwrap_or_else(|| "AUTO".to_string()),
        prefix_len: get_usize("fuzzy", params, "prefix_length")?.unwrap_or(0),
        transpositions: get_bool("fuzzy", params, "transpositions")?.unwrap_or(true),
    };
    c.leaf(field, Access::Search, &|fm, name| {
        pattern_built(fm, name, &pat, false)
    })
}

/// The `exists` test for one field.
pub(crate) fn exists_built(fm: &FieldMapping, name: &str) -> Result<Built, DslError> {
    Ok(Built::Pred(Pred::Exists(Domain::of(fm, name)?)))
}

pub(crate) fn compile_exists(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let obj = expect_object("exists", body)?;
    check_keys("exists", obj, &["field"])?;
    let field = obj
        .get("field")
        .and_then(Value::as_str)
        .ok_or_else(|| DslError::malformed("exists", "[exists] must be provided with a [field]"))?;
    if field.contains('*') {
        let set = c.field_set(&[field.to_string()])?;
        return c.multi_leaf(set, Access::Exists, Arc::new(exists_built), true);
    }
    c.leaf(field, Access::Exists, &exists_built)
}

pub(crate) fn compile_ids(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let obj = expect_object("ids", body)?;
    check_keys("ids", obj, &["values", "type"])?;
    let values: Vec<String> = match obj.get("values") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|x| scalar_query_text("ids", x))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
        Some(other) => {
            return Err(DslError::malformed(
                "ids",
                format!("[ids] values must be an array, found [{other}]"),
            ))
        }
    };
    if values.is_empty() {
        return Ok(Node::None);
    }
    c.leaf("_id", Access::Search, &|fm, name| {
        terms_built(fm, name, &values, false)
    })
}
