//! `query_string` (Lucene classic syntax) and `simple_query_string`.
//!
//! Supported `query_string` syntax: terms, `field:term`, `field:(a OR b)`, field patterns
//! (`event.*:x`), `"phrases"` with `~slop`, wildcards `*` `?` (a single trailing `*` is a prefix
//! query), `/regex/`, `term~N` fuzzy, ranges `[a TO b]` / `{a TO b}` / `field:>=x`, `^boost`
//! (ignored), `_exists_:field`, `*:*`, grouping, `AND`/`OR`/`NOT`/`&&`/`||`/`!`/`+`/`-` with
//! Lucene's clause rules, and `\` escapes (Kibana escapes reserved characters this way).
//!
//! How terms meet field types (Elasticsearch's `QueryStringQueryParser`):
//! - a plain term is a `match` with `operator` = `default_operator`: whole-value on keyword,
//!   analysed on text, parsed on numbers/dates/ips/booleans;
//! - wildcard and prefix terms on keyword fields are case-sensitive whole-value patterns; on
//!   text fields they are matched per token after the analyzer's normalization (lower-casing)
//!   when `analyze_wildcard` is false; with `analyze_wildcard` a prefix term is analysed and its
//!   last token used as a prefix; on other types they are errors (or no match when lenient);
//! - `field:*` is an `exists` query; `*` alone with all fields is `match_all`;
//! - `fields`/`default_field` default to `*` (`index.query.default_field`), and with `*`
//!   `lenient` defaults to true;
//! - an empty query matches nothing.

mod parser;
mod simple;

use crate::dsl::analysis::Analyzer;
use crate::dsl::date::parse_time_zone;
use crate::dsl::error::DslError;
use crate::dsl::mapping::{FieldMapping, FieldType};
use crate::dsl::pattern::{Glob, RegexFlags};
use crate::dsl::query::field::{Access, Built, SharedBuilder};
use crate::dsl::query::full_text::{match_built, phrase_built, MatchOpts};
use crate::dsl::query::params::{
    check_keys, expect_object, field_list, get_bool, get_str, get_usize, min_should_match,
};
use crate::dsl::query::pred::{Domain, KwTest, Pred, TextTest, TokMatcher};
use crate::dsl::query::range::{range_built, RangeSpec};
use crate::dsl::query::term_level::{domain_for, exists_built, pattern_built, Pattern};
use crate::dsl::query::{Compiler, Node};
use parser::{parse, unescape, Occur, Qs, Term};
use serde_json::Value;
use std::sync::Arc;

/// Escapes every reserved character (the `escape` option).
fn escape_all(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "+-=&|><!(){}[]^\"~*?:\\/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Options of a `query_string` query that shape each term.
#[derive(Debug, Clone)]
struct QsOpts {
    default_fields: Vec<String>,
    default_and: bool,
    lenient: bool,
    analyzer: Option<Analyzer>,
    analyze_wildcard: bool,
    allow_leading_wildcard: bool,
    phrase_slop: u32,
    offset: i32,
    fuzziness: String,
    fuzzy_prefix_length: usize,
    fuzzy_transpositions: bool,
    /// `quote_field_suffix`: phrases use `<field><suffix>` where that field is mapped.
    quote_field_suffix: Option<String>,
}

pub(crate) fn compile_query_string(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let qt = "query_string";
    let obj = expect_object(qt, body)?;
    check_keys(
        qt,
        obj,
        &[
            "query",
            "default_field",
            "fields",
            "default_operator",
            "analyzer",
            "quote_analyzer",
            "allow_leading_wildcard",
            "analyze_wildcard",
            "lenient",
            "phrase_slop",
            "minimum_should_match",
            "time_zone",
            "type",
            "tie_breaker",
            "fuzziness",
            "fuzzy_max_expansions",
            "fuzzy_prefix_length",
            "fuzzy_transpositions",
            "fuzzy_rewrite",
            "quote_field_suffix",
            "escape",
            "auto_generate_synonyms_phrase_query",
            "enable_position_increments",
            "max_determinized_states",
            "rewrite",
            "auto_generate_phrase_queries",
        ],
    )?;
    let p = Some(obj);
    let mut query = get_str(qt, p, "query")?
        .ok_or_else(|| DslError::malformed(qt, "[query_string] must be provided with a [query]"))?;
    if get_bool(qt, p, "escape")?.unwrap_or(false) {
        query = escape_all(&query);
    }
    let fields = match field_list(qt, obj.get("fields"))? {
        Some(f) if !f.is_empty() => f,
        _ => match get_str(qt, p, "default_field")? {
            Some(d) => vec![d],
            None => vec!["*".to_string()],
        },
    };
    let all_fields = fields.iter().all(|f| f == "*");
    if let Some(ty) = get_str(qt, p, "type")? {
        if ty != "best_fields" && ty != "most_fields" {
            return Err(DslError::unsupported_feature(qt, format!("type [{ty}]")));
        }
    }
    let opts = QsOpts {
        default_and: match get_str(qt, p, "default_operator")? {
            Some(op) if op.eq_ignore_ascii_case("and") => true,
            Some(op) if op.eq_ignore_ascii_case("or") => false,
            Some(op) => return Err(DslError::malformed(qt, format!("Unknown operator [{op}]"))),
            None => false,
        },
        lenient: get_bool(qt, p, "lenient")?.unwrap_or(all_fields),
        analyzer: get_str(qt, p, "analyzer")?
            .map(|a| Analyzer::named(&a))
            .transpose()?,
        analyze_wildcard: get_bool(qt, p, "analyze_wildcard")?.unwrap_or(false),
        allow_leading_wildcard: get_bool(qt, p, "allow_leading_wildcard")?.unwrap_or(true),
        phrase_slop: u32::try_from(get_usize(qt, p, "phrase_slop")?.unwrap_or(0))
            .unwrap_or(u32::MAX),
        offset: match get_str(qt, p, "time_zone")? {
            Some(tz) => parse_time_zone(&tz, qt)?,
            None => 0,
        },
        fuzziness: get_str(qt, p, "fuzziness")?.unwrap_or_else(|| "AUTO".to_string()),
        fuzzy_prefix_length: get_usize(qt, p, "fuzzy_prefix_length")?.unwrap_or(0),
        fuzzy_transpositions: get_bool(qt, p, "fuzzy_transpositions")?.unwrap_or(true),
        default_fields: fields,
        quote_field_suffix: get_str(qt, p, "quote_field_suffix")?,
    };
    if query.trim().is_empty() {
        return Ok(Node::None);
    }
    let parsed = parse(&query, opts.default_and)?;
    let msm = obj.get("minimum_should_match").filter(|v| !v.is_null());
    compile_qs(c, &parsed, &opts, msm)
}

/// Compiles a parsed query; `msm` applies to the top-level group only.
fn compile_qs(
    c: &mut Compiler<'_>,
    q: &Qs,
    o: &QsOpts,
    msm: Option<&Value>,
) -> Result<Node, DslError> {
    match q {
        Qs::Term { field, term } => compile_term(c, field.as_deref(), term, o),
        Qs::Group(clauses) => {
            let (mut must, mut should, mut must_not) = (Vec::new(), Vec::new(), Vec::new());
            for (occur, sub) in clauses {
                let node = compile_qs(c, sub, o, None)?;
                match occur {
                    Occur::Must => must.push(node),
                    Occur::Should => should.push(node),
                    Occur::MustNot => must_not.push(node),
                }
            }
            let min = match msm {
                Some(spec) => min_should_match("query_string", spec, should.len())?,
                None if must.is_empty() && !should.is_empty() => 1,
                None => 0,
            };
            if min > should.len() {
                return Ok(Node::None);
            }
            let not_any = Node::any(must_not);
            let mut required = must;
            required.push(Node::not(not_any));
            if min == 0 {
                return Ok(Node::all(required));
            }
            required.push(Node::at_least(should, min));
            Ok(Node::all(required))
        }
    }
}

/// Compiles one term against its field (or the default fields).
fn compile_term(
    c: &mut Compiler<'_>,
    field: Option<&str>,
    term: &Term,
    o: &QsOpts,
) -> Result<Node, DslError> {
    if field == Some("_exists_") {
        let name = match term {
            Term::Plain(t) | Term::Prefix(t) => t.clone(),
            Term::Wildcard { pattern } => unescape(pattern),
            _ => {
                return Err(DslError::malformed(
                    "query_string",
                    "[_exists_] requires a field name",
                ))
            }
        };
        let set = c.field_set(&[name])?;
        return c.multi_leaf(set, Access::Exists, Arc::new(exists_built), true);
    }
    let mut fields: Vec<String> = match field {
        Some(f) => vec![f.to_string()],
        None => o.default_fields.clone(),
    };
    if let (Term::Phrase { .. }, Some(suffix)) = (term, &o.quote_field_suffix) {
        for f in &mut fields {
            let quoted = format!("{f}{suffix}");
            if c.mapping.field(&quoted).is_some() {
                *f = quoted;
            }
        }
    }
    let all = fields.iter().all(|f| f == "*");
    if let Term::Wildcard { pattern } = term {
        if pattern == "*" {
            if all {
                return Ok(Node::All);
            }
            let set = c.field_set(&fields)?;
            return c.multi_leaf(set, Access::Exists, Arc::new(exists_built), true);
        }
        if !o.allow_leading_wildcard && (pattern.starts_with('*') || pattern.starts_with('?')) {
            return Err(DslError::malformed(
                "query_string",
                "'*' or '?' not allowed as first character in WildcardQuery",
            ));
        }
    }
    let build = term_builder(term, o, field.is_some())?;
    let set = c.field_set(&fields)?;
    c.multi_leaf(set, Access::Search, build, o.lenient)
}

/// The per-field builder for a term; `explicit_field` enables `field:>x` comparisons.
fn term_builder(term: &Term, o: &QsOpts, explicit_field: bool) -> Result<SharedBuilder, DslError> {
    let o = o.clone();
    let match_opts = |text: &str, slop: u32| MatchOpts {
        query: text.to_string(),
        and: o.default_and,
        msm: None,
        analyzer: o.analyzer,
        lenient: o.lenient,
        zero_terms_all: false,
        fuzziness: None,
        prefix_len: 0,
        transpositions: true,
        slop,
    };
    Ok(match term.clone() {
        Term::Plain(text) => {
            if let Some(spec) = comparison(&text, o.offset).filter(|_| explicit_field) {
                return Ok(Arc::new(move |fm: &FieldMapping, name: &str| {
                    range_built(fm, name, &spec, true)
                }));
            }
            let m = match_opts(&text, 0);
            let offset = o.offset;
            Arc::new(move |fm: &FieldMapping, name: &str| {
                if offset != 0 && matches!(fm.ty, FieldType::Date | FieldType::DateNanos) {
                    let spec = RangeSpec {
                        lo: Some((m.query.clone(), true)),
                        hi: Some((m.query.clone(), true)),
                        format: None,
                        offset,
                    };
                    return range_built(fm, name, &spec, true);
                }
                match_built(fm, name, &m)
            })
        }
        Term::Phrase { text, slop } => {
            let m = match_opts(&text, slop.unwrap_or(o.phrase_slop));
            Arc::new(move |fm: &FieldMapping, name: &str| phrase_built(fm, name, &m, false))
        }
        Term::Prefix(text) => {
            Arc::new(move |fm: &FieldMapping, name: &str| prefix_built(fm, name, &text, &o))
        }
        Term::Wildcard { pattern } => {
            Arc::new(move |fm: &FieldMapping, name: &str| wildcard_built(fm, name, &pattern, &o))
        }
        Term::Regex(r) => {
            let pat = Pattern::Regexp(r, RegexFlags::ALL);
            Arc::new(move |fm: &FieldMapping, name: &str| pattern_built(fm, name, &pat, false))
        }
        Term::Fuzzy { text, fuzziness } => Arc::new(move |fm: &FieldMapping, name: &str| {
            let value = match domain_for(fm, name)? {
                Some(Domain::Text(_)) => o
                    .analyzer
                    .map_or_else(|| Analyzer::named(fm.search_analyzer_name()), Ok)?
                    .normalize(&text),
                _ => text.clone(),
            };
            let f = if fuzziness.contains('.') {
                o.fuzziness.clone()
            } else {
                fuzziness.clone()
            };
            let pat = Pattern::Fuzzy {
                value,
                fuzziness: f,
                prefix_len: o.fuzzy_prefix_length,
                transpositions: o.fuzzy_transpositions,
            };
            pattern_built(fm, name, &pat, false)
        }),
        Term::Range {
            lo,
            hi,
            lo_incl,
            hi_incl,
        } => {
            let spec = RangeSpec {
                lo: lo.map(|l| (l, lo_incl)),
                hi: hi.map(|h| (h, hi_incl)),
                format: None,
                offset: o.offset,
            };
            Arc::new(move |fm: &FieldMapping, name: &str| range_built(fm, name, &spec, true))
        }
    })
}

/// `>x`, `>=x`, `<x`, `<=x` as a one-sided range.
fn comparison(text: &str, offset: i32) -> Option<RangeSpec> {
    let (lo, hi) = if let Some(v) = text.strip_prefix(">=") {
        (Some((v.to_string(), true)), None)
    } else if let Some(v) = text.strip_prefix('>') {
        (Some((v.to_string(), false)), None)
    } else if let Some(v) = text.strip_prefix("<=") {
        (None, Some((v.to_string(), true)))
    } else if let Some(v) = text.strip_prefix('<') {
        (None, Some((v.to_string(), false)))
    } else {
        return None;
    };
    let bound = lo
        .as_ref()
        .or(hi.as_ref())
        .map(|(v, _)| v.as_str())
        .unwrap_or("");
    if bound.is_empty() {
        return None;
    }
    Some(RangeSpec {
        lo,
        hi,
        format: None,
        offset,
    })
}

/// A prefix term: whole-value and unnormalized on keyword fields; on text fields normalized,
/// or analysed with `analyze_wildcard`.
fn prefix_built(fm: &FieldMapping, name: &str, text: &str, o: &QsOpts) -> Result<Built, DslError> {
    let Some(dom) = domain_for(fm, name)? else {
        return Ok(Built::None);
    };
    match dom {
        Domain::Keyword(d) => Ok(Built::Pred(Pred::Keyword(
            d,
            KwTest::Prefix {
                prefix: text.to_string(),
                ci: false,
            },
        ))),
        Domain::Text(index_analyzer) => {
            let analyzer = o.analyzer.map_or_else(|| Analyzer::named(fm.search_analyzer_name()), Ok)?;
            let matchers = if o.analyze_wildcard {
                let toks = analyzer.tokens(text);
                let n = toks.len();
                if n == 0 {
                    return Ok(Built::None);
                }
                toks.into_iter()
                    .enumerate()
                    .map(|(i, t)| if i + 1 == n { TokMatcher::Prefix(t) } else { TokMatcher::Exact(t) })
                    .collect::<Vec<_>>()
            } else {
                vec![TokMatcher::Prefix(analyzer.normalize(text))]
            };
            let min = if o.default_and { matchers.len() } else { 1 };
            Ok(Built::Pred(Pred::Text {
                analyzer: index_analyzer,
                test: TextTest::Tokens { matchers, min },
            }))
        }
        _ => Err(DslError::invalid_value(
            name,
            format!("Can only use prefix queries on keyword and text fields - not on [{name}] which is of type [{}]", fm.type_name),
        )),
    }
}

/// A wildcard term: the pattern normalized with the field's search analyzer (lower-cased on
/// standard text), matched on whole keyword values or per text token.
fn wildcard_built(
    fm: &FieldMapping,
    name: &str,
    pattern: &str,
    o: &QsOpts,
) -> Result<Built, DslError> {
    let Some(dom) = domain_for(fm, name)? else {
        return Ok(Built::None);
    };
    match dom {
        Domain::Keyword(d) => {
            let g = Glob::new(&d.normalize(pattern), true, false);
            Ok(Built::Pred(Pred::Keyword(d, KwTest::Glob(g))))
        }
        Domain::Text(index_analyzer) => {
            let analyzer = o.analyzer.map_or_else(|| Analyzer::named(fm.search_analyzer_name()), Ok)?;
            let g = Glob::new(&analyzer.normalize(pattern), true, false);
            Ok(Built::Pred(Pred::Text {
                analyzer: index_analyzer,
                test: TextTest::Tokens {
                    matchers: vec![TokMatcher::Glob(g)],
                    min: 1,
                },
            }))
        }
        _ => Err(DslError::invalid_value(
            name,
            format!("Can only use wildcard queries on keyword and text fields - not on [{name}] which is of type [{}]", fm.type_name),
        )),
    }
}

/// `simple_query_string`: `+` (AND), `|` (OR), `-` (NOT), `"phrase"`, `~N`, `prefix*`,
/// parentheses; whitespace means `default_operator`. It never fails on syntax: what it cannot
/// read is taken as text.
pub(crate) fn compile_simple_query_string(
    c: &mut Compiler<'_>,
    body: &Value,
) -> Result<Node, DslError> {
    let qt = "simple_query_string";
    let obj = expect_object(qt, body)?;
    check_keys(
        qt,
        obj,
        &[
            "query",
            "fields",
            "default_operator",
            "analyzer",
            "flags",
            "lenient",
            "minimum_should_match",
            "analyze_wildcard",
            "quote_field_suffix",
            "auto_generate_synonyms_phrase_query",
            "fuzzy_max_expansions",
            "fuzzy_prefix_length",
            "fuzzy_transpositions",
        ],
    )?;
    let p = Some(obj);
    let query = get_str(qt, p, "query")?
        .ok_or_else(|| DslError::malformed(qt, "[simple_query_string] query text missing"))?;
    let fields = field_list(qt, obj.get("fields"))?
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| vec!["*".to_string()]);
    let all_fields = fields.iter().all(|f| f == "*");
    let default_and =
        get_str(qt, p, "default_operator")?.is_some_and(|op| op.eq_ignore_ascii_case("and"));
    let opts = QsOpts {
        default_fields: fields,
        default_and,
        lenient: get_bool(qt, p, "lenient")?.unwrap_or(all_fields),
        analyzer: get_str(qt, p, "analyzer")?
            .map(|a| Analyzer::named(&a))
            .transpose()?,
        analyze_wildcard: get_bool(qt, p, "analyze_wildcard")?.unwrap_or(false),
        allow_leading_wildcard: true,
        phrase_slop: 0,
        offset: 0,
        fuzziness: "AUTO".to_string(),
        fuzzy_prefix_length: get_usize(qt, p, "fuzzy_prefix_length")?.unwrap_or(0),
        fuzzy_transpositions: get_bool(qt, p, "fuzzy_transpositions")?.unwrap_or(true),
        quote_field_suffix: get_str(qt, p, "quote_field_suffix")?,
    };
    let parsed = simple::parse(&query, default_and);
    match parsed {
        None => Ok(Node::None),
        Some(q) => {
            let msm = obj.get("minimum_should_match").filter(|v| !v.is_null());
            compile_qs(c, &q, &opts, msm)
        }
    }
}
