//! Full-text queries: `match`, `match_phrase`, `match_phrase_prefix`, `match_bool_prefix`,
//! `multi_match`.
//!
//! The query text is analysed with the field's search analyzer (or the query's `analyzer`):
//! - on text and match_only_text fields it becomes tokens; `match` needs any token
//!   (`operator: or`, default), all tokens (`and`) or `minimum_should_match` of them;
//!   `match_phrase` needs the tokens at consecutive positions (within `slop`) in one value;
//!   no tokens at all (e.g. only punctuation) gives `zero_terms_query` (`none` by default);
//! - on keyword-like fields the analyzer is the keyword analyzer (plus any normalizer), so the
//!   whole query text must equal a whole value;
//! - on numeric, date, boolean and ip fields the text is parsed as that type and compared as a
//!   term; a value that does not parse is an error, or no match with `lenient: true`.
//!
//! `multi_match` runs the query on each field of `fields` (default `*`, Elasticsearch's
//! `index.query.default_field`; field names may hold `*` wildcards and `^boost` suffixes).
//! With `*` (or no `fields`), `lenient` defaults to true, as in Elasticsearch.

use crate::dsl::analysis::Analyzer;
use crate::dsl::error::DslError;
use crate::dsl::mapping::FieldMapping;
use crate::dsl::query::field::{Access, Built, SharedBuilder};
use crate::dsl::query::params::{
    check_keys, expect_object, field_list, field_params, get_bool, get_str, get_usize,
    min_should_match, operator_is_and, scalar_query_text, single_field,
};
use crate::dsl::query::pred::{Domain, Fuzzy, KwTest, Pred, TextTest, TokMatcher};
use crate::dsl::query::term_level::{domain_for, terms_built};
use crate::dsl::query::{Compiler, Node};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Options shared by the match family.
#[derive(Debug, Clone)]
pub(crate) struct MatchOpts {
    pub query: String,
    pub and: bool,
    pub msm: Option<Value>,
    pub analyzer: Option<Analyzer>,
    pub lenient: bool,
    pub zero_terms_all: bool,
    pub fuzziness: Option<String>,
    pub prefix_len: usize,
    pub transpositions: bool,
    pub slop: u32,
}

impl MatchOpts {
    /// Reads the common options from a parameter object.
    fn read(
        qt: &str,
        query: String,
        p: Option<&Map<String, Value>>,
    ) -> Result<MatchOpts, DslError> {
        let zero = get_str(qt, p, "zero_terms_query")?.unwrap_or_else(|| "none".to_string());
        let zero_terms_all = match zero.to_ascii_lowercase().as_str() {
            "none" => false,
            "all" => true,
            _ => {
                return Err(DslError::malformed(
                    qt,
                    format!("Unsupported zero_terms_query value [{zero}]"),
                ))
            }
        };
        Ok(MatchOpts {
            query,
            and: operator_is_and(qt, p, "operator")?,
            msm: p
                .and_then(|p| p.get("minimum_should_match"))
                .filter(|v| !v.is_null())
                .cloned(),
            analyzer: get_str(qt, p, "analyzer")?
                .map(|a| Analyzer::named(&a))
                .transpose()?,
            lenient: get_bool(qt, p, "lenient")?.unwrap_or(false),
            zero_terms_all,
            fuzziness: get_str(qt, p, "fuzziness")?,
            prefix_len: get_usize(qt, p, "prefix_length")?.unwrap_or(0),
            transpositions: get_bool(qt, p, "fuzzy_transpositions")?.unwrap_or(true),
            slop: u32::try_from(get_usize(qt, p, "slop")?.unwrap_or(0)).unwrap_or(u32::MAX),
        })
    }

    fn zero_terms(&self) -> Built {
        if self.zero_terms_all {
            Built::All
        } else {
            Built::None
        }
    }

    fn search_analyzer(&self, fm: &FieldMapping) -> Result<Analyzer, DslError> {
        match self.analyzer {
            Some(a) => Ok(a),
            None => Analyzer::named(fm.search_analyzer_name()),
        }
    }

    fn token_matcher(&self, tok: &str) -> Result<TokMatcher, DslError> {
        Ok(match &self.fuzziness {
            Some(f) => TokMatcher::Fuzzy(Fuzzy::new(tok, f, self.prefix_len, self.transpositions)?),
            None => TokMatcher::Exact(tok.to_string()),
        })
    }
}

const MATCH_PARAMS: [&str; 11] = [
    "operator",
    "minimum_should_match",
    "analyzer",
    "lenient",
    "zero_terms_query",
    "fuzziness",
    "prefix_length",
    "max_expansions",
    "fuzzy_transpositions",
    "fuzzy_rewrite",
    "auto_generate_synonyms_phrase_query",
];

/// A term-style comparison for non-text fields; parse failures are no match when lenient.
fn as_term(fm: &FieldMapping, name: &str, text: &str, lenient: bool) -> Result<Built, DslError> {
    match terms_built(fm, name, &[text.to_string()], false) {
        Err(_) if lenient => Ok(Built::None),
        other => other,
    }
}

/// `match` on one field.
pub(crate) fn match_built(fm: &FieldMapping, name: &str, o: &MatchOpts) -> Result<Built, DslError> {
    let Some(dom) = domain_for(fm, name)? else {
        return Ok(Built::None);
    };
    match dom {
        Domain::Text(index_analyzer) => {
            let tokens = o.search_analyzer(fm)?.tokens(&o.query);
            if tokens.is_empty() {
                return Ok(o.zero_terms());
            }
            let n = tokens.len();
            let min = match (&o.msm, o.and) {
                (_, true) => n,
                (Some(spec), false) => min_should_match("match", spec, n)?.max(1),
                (None, false) => 1,
            };
            if min > n {
                return Ok(Built::None);
            }
            let matchers = tokens
                .iter()
                .map(|t| o.token_matcher(t))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Built::Pred(Pred::Text {
                analyzer: index_analyzer,
                test: TextTest::Tokens { matchers, min },
            }))
        }
        Domain::Keyword(d) => match &o.fuzziness {
            Some(f) => {
                let fz = Fuzzy::new(&d.normalize(&o.query), f, o.prefix_len, o.transpositions)?;
                Ok(Built::Pred(Pred::Keyword(d, KwTest::Fuzzy(fz))))
            }
            None => as_term(fm, name, &o.query, o.lenient),
        },
        _ => as_term(fm, name, &o.query, o.lenient),
    }
}

/// `match_phrase` (or `match_phrase_prefix` when `prefix`) on one field.
pub(crate) fn phrase_built(
    fm: &FieldMapping,
    name: &str,
    o: &MatchOpts,
    prefix: bool,
) -> Result<Built, DslError> {
    let Some(dom) = domain_for(fm, name)? else {
        return Ok(Built::None);
    };
    match dom {
        Domain::Text(index_analyzer) => {
            let toks = o.search_analyzer(fm)?.positioned_tokens(&o.query);
            let Some(&(first, _)) = toks.first() else {
                return Ok(o.zero_terms());
            };
            let last = toks.len() - 1;
            let terms: Vec<(u32, TokMatcher)> = toks
                .into_iter()
                .enumerate()
                .map(|(i, (p, t))| {
                    let m = if prefix && i == last {
                        TokMatcher::Prefix(t)
                    } else {
                        TokMatcher::Exact(t)
                    };
                    (p - first, m)
                })
                .collect();
            let test = if terms.len() == 1 {
                TextTest::Tokens {
                    matchers: terms.into_iter().map(|(_, m)| m).collect(),
                    min: 1,
                }
            } else {
                TextTest::Phrase {
                    terms,
                    slop: o.slop,
                }
            };
            Ok(Built::Pred(Pred::Text {
                analyzer: index_analyzer,
                test,
            }))
        }
        Domain::Keyword(d) if prefix => {
            let p = d.normalize(&o.query);
            Ok(Built::Pred(Pred::Keyword(
                d,
                KwTest::Prefix {
                    prefix: p,
                    ci: false,
                },
            )))
        }
        _ => as_term(fm, name, &o.query, o.lenient),
    }
}

/// `match_bool_prefix` on one field: the tokens as terms, the last one as a prefix.
pub(crate) fn bool_prefix_built(
    fm: &FieldMapping,
    name: &str,
    o: &MatchOpts,
) -> Result<Built, DslError> {
    let Some(dom) = domain_for(fm, name)? else {
        return Ok(Built::None);
    };
    match dom {
        Domain::Text(index_analyzer) => {
            let tokens = o.search_analyzer(fm)?.tokens(&o.query);
            let n = tokens.len();
            if n == 0 {
                return Ok(o.zero_terms());
            }
            let mut matchers = Vec::with_capacity(n);
            for (i, t) in tokens.into_iter().enumerate() {
                matchers.push(if i + 1 == n {
                    TokMatcher::Prefix(t)
                } else {
                    o.token_matcher(&t)?
                });
            }
            let min = match (&o.msm, o.and) {
                (_, true) => n,
                (Some(spec), false) => min_should_match("match_bool_prefix", spec, n)?.max(1),
                (None, false) => 1,
            };
            if min > n {
                return Ok(Built::None);
            }
            Ok(Built::Pred(Pred::Text {
                analyzer: index_analyzer,
                test: TextTest::Tokens { matchers, min },
            }))
        }
        Domain::Keyword(d) => {
            let p = d.normalize(&o.query);
            Ok(Built::Pred(Pred::Keyword(
                d,
                KwTest::Prefix {
                    prefix: p,
                    ci: false,
                },
            )))
        }
        _ => as_term(fm, name, &o.query, o.lenient),
    }
}

/// Reads `{"field": "text"}` or `{"field": {"query": ..., ...}}`.
fn read_field_query<'v>(
    qt: &str,
    body: &'v Value,
    extra: &[&str],
) -> Result<(&'v str, MatchOpts), DslError> {
    let (field, v) = single_field(qt, body)?;
    let mut allowed: Vec<&str> = MATCH_PARAMS.to_vec();
    allowed.extend_from_slice(extra);
    let (q, params) = field_params(qt, v, &["query"], &allowed)?;
    let text = scalar_query_text(qt, q)?;
    Ok((field, MatchOpts::read(qt, text, params)?))
}

pub(crate) fn compile_match(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let (field, o) = read_field_query("match", body, &[])?;
    c.leaf(field, Access::Search, &|fm, name| match_built(fm, name, &o))
}

pub(crate) fn compile_match_phrase(
    c: &mut Compiler<'_>,
    body: &Value,
    prefix: bool,
) -> Result<Node, DslError> {
    let qt = if prefix {
        "match_phrase_prefix"
    } else {
        "match_phrase"
    };
    let (field, o) = read_field_query(qt, body, &["slop", "max_expansions"])?;
    c.leaf(field, Access::Search, &|fm, name| {
        phrase_built(fm, name, &o, prefix)
    })
}

pub(crate) fn compile_match_bool_prefix(
    c: &mut Compiler<'_>,
    body: &Value,
) -> Result<Node, DslError> {
    let (field, o) = read_field_query("match_bool_prefix", body, &[])?;
    c.leaf(field, Access::Search, &|fm, name| {
        bool_prefix_built(fm, name, &o)
    })
}

/// The `multi_match` types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MultiType {
    BestFields,
    CrossFields,
    Phrase,
    PhrasePrefix,
    BoolPrefix,
}

pub(crate) fn compile_multi_match(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let qt = "multi_match";
    let obj = expect_object(qt, body)?;
    let mut allowed: Vec<&str> = MATCH_PARAMS.to_vec();
    allowed.extend_from_slice(&["query", "fields", "type", "tie_breaker", "slop"]);
    check_keys(qt, obj, &allowed)?;
    let query = obj
        .get("query")
        .ok_or_else(|| DslError::malformed(qt, "[multi_match] requires query value"))?;
    let text = scalar_query_text(qt, query)?;
    let mut o = MatchOpts::read(qt, text, Some(obj))?;
    let fields = field_list(qt, obj.get("fields"))?.filter(|f| !f.is_empty());
    let all_fields = fields.as_ref().is_none_or(|f| f.iter().all(|x| x == "*"));
    if all_fields && obj.get("lenient").is_none() {
        o.lenient = true;
    }
    let fields = fields.unwrap_or_else(|| vec!["*".to_string()]);
    let ty = match get_str(qt, Some(obj), "type")?
        .as_deref()
        .unwrap_or("best_fields")
    {
        "best_fields" | "most_fields" => MultiType::BestFields,
        "cross_fields" => MultiType::CrossFields,
        "phrase" => MultiType::Phrase,
        "phrase_prefix" => MultiType::PhrasePrefix,
        "bool_prefix" => MultiType::BoolPrefix,
        other => {
            return Err(DslError::malformed(
                qt,
                format!("No type found for name [{other}]"),
            ))
        }
    };
    if ty == MultiType::CrossFields {
        return cross_fields(c, &fields, &o);
    }
    let lenient = o.lenient;
    let build: SharedBuilder = Arc::new(move |fm: &FieldMapping, name: &str| match ty {
        MultiType::Phrase => phrase_built(fm, name, &o, false),
        MultiType::PhrasePrefix => phrase_built(fm, name, &o, true),
        MultiType::BoolPrefix => bool_prefix_built(fm, name, &o),
        MultiType::BestFields | MultiType::CrossFields => match_built(fm, name, &o),
    });
    let set = c.field_set(&fields)?;
    c.multi_leaf(set, Access::Search, build, lenient)
}

/// `cross_fields`: term-centric — each token may match in any of the fields; `operator` and
/// `minimum_should_match` count tokens. (Approximation: every field analyses the query with the
/// query's analyzer, or `standard`.)
fn cross_fields(c: &mut Compiler<'_>, fields: &[String], o: &MatchOpts) -> Result<Node, DslError> {
    let tokens = o.analyzer.unwrap_or(Analyzer::Standard).tokens(&o.query);
    if tokens.is_empty() {
        return Ok(if o.zero_terms_all {
            Node::All
        } else {
            Node::None
        });
    }
    let mut per_token = Vec::with_capacity(tokens.len());
    for t in &tokens {
        let mut one = o.clone();
        one.query = t.clone();
        one.and = false;
        one.msm = None;
        let build: SharedBuilder =
            Arc::new(move |fm: &FieldMapping, name: &str| match_built(fm, name, &one));
        let set = c.field_set(fields)?;
        per_token.push(c.multi_leaf(set, Access::Search, build, o.lenient)?);
    }
    let n = per_token.len();
    let min = match (&o.msm, o.and) {
        (_, true) => n,
        (Some(spec), false) => min_should_match("multi_match", spec, n)?.max(1),
        (None, false) => 1,
    };
    Ok(if min == n {
        Node::all(per_token)
    } else {
        Node::at_least(per_token, min)
    })
}
