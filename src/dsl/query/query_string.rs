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

use crate::dsl::analysis::Analyzer;
use crate::dsl::date::parse_time_zone;
use crate::dsl::error::DslError;
use crate::dsl::mapping::FieldMapping;
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
use serde_json::Value;
use std::sync::Arc;

/// How a clause takes part in its boolean group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Occur {
    Must,
    Should,
    MustNot,
}

/// A parsed query string.
#[derive(Debug, Clone, PartialEq)]
enum Qs {
    Group(Vec<(Occur, Qs)>),
    Term { field: Option<String>, term: Term },
}

/// One term of a query string.
#[derive(Debug, Clone, PartialEq)]
enum Term {
    /// A plain term (escapes resolved).
    Plain(String),
    /// A wildcard term; `pattern` keeps escapes for literal `*`/`?`.
    Wildcard {
        pattern: String,
    },
    /// `text*`: a prefix (escapes resolved).
    Prefix(String),
    Phrase {
        text: String,
        slop: Option<u32>,
    },
    Regex(String),
    Fuzzy {
        text: String,
        fuzziness: String,
    },
    Range {
        lo: Option<String>,
        hi: Option<String>,
        lo_incl: bool,
        hi_incl: bool,
    },
}

/// Lexical tokens.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    And,
    Or,
    Not,
    Plus,
    Minus,
    LParen,
    RParen,
    Colon,
    /// `^number`.
    Boost,
    /// `~` with an optional number.
    Tilde(Option<String>),
    /// A bare term: unescaped text, text with escapes kept, and whether it has a wildcard.
    Word {
        text: String,
        escaped: String,
        wild: bool,
    },
    Quoted(String),
    Regex(String),
    Range {
        lo: Option<String>,
        hi: Option<String>,
        lo_incl: bool,
        hi_incl: bool,
    },
}

fn parse_error(query: &str, why: &str) -> DslError {
    DslError::malformed(
        "query_string",
        format!("Failed to parse query [{query}]: {why}"),
    )
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{3000}'
}

/// Characters that end a bare term (Lucene's `_TERM_START_CHAR` exclusions, minus `+`/`-`
/// which may appear inside a term).
fn ends_term(c: char) -> bool {
    is_space(c)
        || matches!(
            c,
            '(' | ')' | ':' | '^' | '[' | ']' | '"' | '{' | '}' | '~' | '/'
        )
}

struct Lexer<'q> {
    chars: Vec<char>,
    pos: usize,
    query: &'q str,
}

impl<'q> Lexer<'q> {
    fn new(query: &'q str) -> Self {
        Lexer {
            chars: query.chars().collect(),
            pos: 0,
            query,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn at_boundary(&self, len: usize) -> bool {
        self.chars
            .get(self.pos + len)
            .is_none_or(|&c| is_space(c) || c == '(' || c == ')')
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.chars.get(self.pos + i) == Some(&c))
    }

    fn tokens(mut self) -> Result<Vec<Tok>, DslError> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            if is_space(c) {
                self.pos += 1;
                continue;
            }
            out.push(self.next_token(c)?);
        }
        Ok(out)
    }

    fn next_token(&mut self, c: char) -> Result<Tok, DslError> {
        for (word, tok) in [
            ("AND", Tok::And),
            ("OR", Tok::Or),
            ("NOT", Tok::Not),
            ("&&", Tok::And),
            ("||", Tok::Or),
        ] {
            if self.starts_with(word) && self.at_boundary(word.len()) {
                self.pos += word.len();
                return Ok(tok);
            }
        }
        self.pos += 1;
        Ok(match c {
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '!' => Tok::Not,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ':' => Tok::Colon,
            '^' => {
                self.number();
                Tok::Boost
            }
            '~' => Tok::Tilde(self.number()),
            '"' => Tok::Quoted(self.delimited('"')?),
            '/' => Tok::Regex(self.delimited('/')?),
            '[' | '{' => self.range(c == '[')?,
            _ => {
                self.pos -= 1;
                return self.word();
            }
        })
    }

    /// An optional number (after `^` or `~`).
    fn number(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
            self.pos += 1;
        }
        (self.pos > start).then(|| self.chars[start..self.pos].iter().collect())
    }

    /// Text up to the closing `delim`, with `\` escapes resolved (for regexes, `\/` only).
    fn delimited(&mut self, delim: char) -> Result<String, DslError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '\\' => {
                    let e = self
                        .peek()
                        .ok_or_else(|| parse_error(self.query, "trailing backslash"))?;
                    self.pos += 1;
                    if delim == '/' && e != '/' {
                        out.push('\\');
                    }
                    out.push(e);
                }
                c if c == delim => return Ok(out),
                c => out.push(c),
            }
        }
        Err(parse_error(self.query, &format!("missing closing {delim}")))
    }

    fn word(&mut self) -> Result<Tok, DslError> {
        let (mut text, mut escaped, mut wild) = (String::new(), String::new(), false);
        while let Some(c) = self.peek() {
            if ends_term(c) {
                break;
            }
            self.pos += 1;
            match c {
                '\\' => {
                    let e = self
                        .peek()
                        .ok_or_else(|| parse_error(self.query, "trailing backslash"))?;
                    self.pos += 1;
                    text.push(e);
                    escaped.push('\\');
                    escaped.push(e);
                }
                '*' | '?' => {
                    wild = true;
                    text.push(c);
                    escaped.push(c);
                }
                c => {
                    text.push(c);
                    escaped.push(c);
                }
            }
        }
        if escaped.is_empty() {
            return Err(parse_error(self.query, "unexpected character"));
        }
        Ok(Tok::Word {
            text,
            escaped,
            wild,
        })
    }

    /// `[a TO b]`, `{a TO b}` and mixed forms.
    fn range(&mut self, lo_incl: bool) -> Result<Tok, DslError> {
        let lo = self.range_value()?;
        self.skip_space();
        if !self.starts_with("TO") {
            return Err(parse_error(self.query, "expected TO in range"));
        }
        self.pos += 2;
        let hi = self.range_value()?;
        self.skip_space();
        let hi_incl = match self.peek() {
            Some(']') => true,
            Some('}') => false,
            _ => return Err(parse_error(self.query, "unterminated range")),
        };
        self.pos += 1;
        let open = |v: String| (v != "*").then_some(v);
        Ok(Tok::Range {
            lo: open(lo),
            hi: open(hi),
            lo_incl,
            hi_incl,
        })
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
    }

    fn range_value(&mut self) -> Result<String, DslError> {
        self.skip_space();
        if self.peek() == Some('"') {
            self.pos += 1;
            return self.delimited('"');
        }
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if is_space(c) || c == ']' || c == '}' {
                break;
            }
            self.pos += 1;
            if c == '\\' {
                if let Some(e) = self.peek() {
                    self.pos += 1;
                    out.push(e);
                }
            } else {
                out.push(c);
            }
        }
        if out.is_empty() {
            return Err(parse_error(self.query, "empty range bound"));
        }
        Ok(out)
    }
}

/// Lucene's classic query-parser grammar over the tokens.
struct Parser<'q> {
    toks: Vec<Tok>,
    pos: usize,
    query: &'q str,
    default_and: bool,
    /// Parenthesis nesting, bounded by [`MAX_DEPTH`].
    depth: usize,
}

/// The deepest parenthesis nesting accepted (deeper queries are refused, not overflowed).
const MAX_DEPTH: usize = 128;

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    /// `Query := Modifiers Clause (Conjunction Modifiers Clause)*`, with Lucene's `addClause`.
    fn query(&mut self, field: Option<&str>) -> Result<Qs, DslError> {
        let mut clauses: Vec<(Occur, Qs)> = Vec::new();
        let mut first = true;
        loop {
            match self.peek() {
                None | Some(Tok::RParen) => break,
                _ => {}
            }
            let conj = if first {
                None
            } else {
                match self.peek() {
                    Some(Tok::And) => {
                        self.pos += 1;
                        Some(true)
                    }
                    Some(Tok::Or) => {
                        self.pos += 1;
                        Some(false)
                    }
                    _ => None,
                }
            };
            let modifier = match self.peek() {
                Some(Tok::Plus) => {
                    self.pos += 1;
                    Some(Occur::Must)
                }
                Some(Tok::Minus) | Some(Tok::Not) => {
                    self.pos += 1;
                    Some(Occur::MustNot)
                }
                _ => None,
            };
            let clause = self.clause(field)?;
            self.add_clause(&mut clauses, conj, modifier, clause);
            first = false;
        }
        if clauses.is_empty() {
            return Err(parse_error(self.query, "empty clause"));
        }
        Ok(if clauses.len() == 1 && clauses[0].0 != Occur::MustNot {
            clauses.pop().map_or(Qs::Group(Vec::new()), |(_, q)| q)
        } else {
            Qs::Group(clauses)
        })
    }

    /// Lucene `QueryParserBase.addClause`: `conj` is `Some(true)` for AND, `Some(false)` for OR.
    fn add_clause(
        &self,
        clauses: &mut Vec<(Occur, Qs)>,
        conj: Option<bool>,
        modifier: Option<Occur>,
        q: Qs,
    ) {
        if let Some(last) = clauses.last_mut() {
            // A term introduced by AND makes the preceding term required, unless prohibited;
            // with AND as default operator, one introduced by OR makes it optional.
            if last.0 != Occur::MustNot {
                if conj == Some(true) {
                    last.0 = Occur::Must;
                } else if self.default_and && conj == Some(false) {
                    last.0 = Occur::Should;
                }
            }
        }
        let prohibited = modifier == Some(Occur::MustNot);
        let required = if self.default_and {
            !prohibited && conj != Some(false)
        } else {
            modifier == Some(Occur::Must) || (conj == Some(true) && !prohibited)
        };
        let occur = if prohibited {
            Occur::MustNot
        } else if required {
            Occur::Must
        } else {
            Occur::Should
        };
        clauses.push((occur, q));
    }

    fn clause(&mut self, field: Option<&str>) -> Result<Qs, DslError> {
        let mut field = field.map(str::to_string);
        if let (Some(Tok::Word { text, .. }), Some(Tok::Colon)) = (
            self.toks.get(self.pos).cloned(),
            self.toks.get(self.pos + 1),
        ) {
            field = Some(text);
            self.pos += 2;
        }
        let tok = self
            .next()
            .ok_or_else(|| parse_error(self.query, "unexpected end of query"))?;
        let term = match tok {
            Tok::LParen => {
                if self.depth >= MAX_DEPTH {
                    return Err(parse_error(self.query, "too many nested parentheses"));
                }
                self.depth += 1;
                let inner = self.query(field.as_deref());
                self.depth -= 1;
                let inner = inner?;
                if self.next() != Some(Tok::RParen) {
                    return Err(parse_error(self.query, "missing closing parenthesis"));
                }
                self.skip_boost();
                return Ok(inner);
            }
            Tok::Word {
                text,
                escaped,
                wild,
            } => self.word_term(text, escaped, wild),
            Tok::Quoted(text) => {
                let slop = match self.peek() {
                    Some(Tok::Tilde(n)) => {
                        let n = n.clone();
                        self.pos += 1;
                        Some(
                            n.and_then(|s| s.parse::<f64>().ok())
                                .map_or(0, |x| x as u32),
                        )
                    }
                    _ => None,
                };
                Term::Phrase { text, slop }
            }
            Tok::Regex(r) => Term::Regex(r),
            Tok::Range {
                lo,
                hi,
                lo_incl,
                hi_incl,
            } => Term::Range {
                lo,
                hi,
                lo_incl,
                hi_incl,
            },
            other => return Err(parse_error(self.query, &format!("unexpected {other:?}"))),
        };
        self.skip_boost();
        Ok(Qs::Term { field, term })
    }

    fn word_term(&mut self, text: String, escaped: String, wild: bool) -> Term {
        if let Some(Tok::Tilde(n)) = self.peek() {
            let fuzziness = n.clone().unwrap_or_else(|| "AUTO".to_string());
            self.pos += 1;
            return Term::Fuzzy { text, fuzziness };
        }
        if !wild {
            return Term::Plain(text);
        }
        if let Some(body) = escaped.strip_suffix('*') {
            if !body.is_empty() && !has_unescaped_wildcard(body) && !ends_with_escape(body) {
                return Term::Prefix(unescape(body));
            }
        }
        Term::Wildcard { pattern: escaped }
    }

    fn skip_boost(&mut self) {
        while self.peek() == Some(&Tok::Boost) {
            self.pos += 1;
        }
    }
}

/// Whether `s` ends with an unpaired `\` (so a following character would be escaped).
fn ends_with_escape(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

fn has_unescaped_wildcard(s: &str) -> bool {
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '*' | '?' => return true,
            _ => {}
        }
    }
    false
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' {
            chars.next().unwrap_or('\\')
        } else {
            c
        });
    }
    out
}

/// Parses a query string into clauses.
fn parse(query: &str, default_and: bool) -> Result<Qs, DslError> {
    let toks = Lexer::new(query).tokens()?;
    let mut p = Parser {
        toks,
        pos: 0,
        query,
        default_and,
        depth: 0,
    };
    let q = p.query(None)?;
    if p.pos < p.toks.len() {
        return Err(parse_error(query, "unbalanced parenthesis"));
    }
    Ok(q)
}

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
    let opts = QsOpts {
        default_and: match get_str(qt, p, "default_operator")? {
            Some(op) if op.eq_ignore_ascii_case("and") => true,
            Some(op) if op.eq_ignore_ascii_case("or") => false,
            Some(op) => return Err(DslError::malformed(qt, format!("Unknown operator [{op}]"))),
            None => false,
        },
        lenient: get_bool(qt, p, "lenient")?.unwrap_or(all_fields),
        analyzer: get_str(qt, p, "analyzer")?.map(|a| Analyzer::from_name(&a)),
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
            if !matches!(not_any, Node::None) {
                required.push(Node::Bool(Box::new(
                    crate::dsl::query::bool::BoolNode::new(
                        Vec::new(),
                        Vec::new(),
                        vec![not_any],
                        0,
                    ),
                )));
            }
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
    let fields: Vec<String> = match field {
        Some(f) => vec![f.to_string()],
        None => o.default_fields.clone(),
    };
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
                if offset != 0
                    && matches!(
                        fm.ty,
                        crate::dsl::mapping::FieldType::Date
                            | crate::dsl::mapping::FieldType::DateNanos
                    )
                {
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
                    .unwrap_or_else(|| Analyzer::from_name(fm.search_analyzer_name()))
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
            let analyzer = o.analyzer.unwrap_or_else(|| Analyzer::from_name(fm.search_analyzer_name()));
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
            let analyzer = o.analyzer.unwrap_or_else(|| Analyzer::from_name(fm.search_analyzer_name()));
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
        analyzer: get_str(qt, p, "analyzer")?.map(|a| Analyzer::from_name(&a)),
        analyze_wildcard: get_bool(qt, p, "analyze_wildcard")?.unwrap_or(false),
        allow_leading_wildcard: true,
        phrase_slop: 0,
        offset: 0,
        fuzziness: "AUTO".to_string(),
        fuzzy_prefix_length: get_usize(qt, p, "fuzzy_prefix_length")?.unwrap_or(0),
        fuzzy_transpositions: get_bool(qt, p, "fuzzy_transpositions")?.unwrap_or(true),
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

/// The `simple_query_string` grammar.
mod simple {
    use super::{Occur, Qs, Term};

    #[derive(Debug, Clone, PartialEq)]
    enum STok {
        Plus,
        Pipe,
        Minus,
        LParen,
        RParen,
        Word(String),
        Phrase(String, Option<u32>),
    }

    fn lex(q: &str) -> Vec<STok> {
        let chars: Vec<char> = q.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            match c {
                c if c.is_whitespace() => {}
                '+' => out.push(STok::Plus),
                '|' => out.push(STok::Pipe),
                '-' => out.push(STok::Minus),
                '(' => out.push(STok::LParen),
                ')' => out.push(STok::RParen),
                '"' => {
                    let start = i;
                    while i < chars.len() && chars[i] != '"' {
                        i += 1;
                    }
                    let text: String = chars[start..i].iter().collect();
                    i = (i + 1).min(chars.len());
                    let mut slop = None;
                    if chars.get(i) == Some(&'~') {
                        let s = i + 1;
                        let mut e = s;
                        while e < chars.len() && chars[e].is_ascii_digit() {
                            e += 1;
                        }
                        slop = chars[s..e].iter().collect::<String>().parse().ok();
                        i = e;
                    }
                    out.push(STok::Phrase(text, slop));
                }
                _ => {
                    let mut w = String::new();
                    w.push(c);
                    while i < chars.len()
                        && !chars[i].is_whitespace()
                        && !"+|()\"".contains(chars[i])
                    {
                        w.push(chars[i]);
                        i += 1;
                    }
                    out.push(STok::Word(w));
                }
            }
        }
        out
    }

    /// Parses `q`; `None` when it holds no term at all.
    pub(super) fn parse(q: &str, default_and: bool) -> Option<Qs> {
        let toks = lex(q);
        let mut pos = 0;
        group(&toks, &mut pos, default_and, 0)
    }

    /// Lucene `SimpleQueryParser`: operators combine left to right; a run of the same
    /// operator forms one group, a change of operator wraps what came before. A negated
    /// clause is "everything except" it.
    fn group(toks: &[STok], pos: &mut usize, default_and: bool, depth: usize) -> Option<Qs> {
        let occur = |and: bool| if and { Occur::Must } else { Occur::Should };
        let mut acc: Option<(Option<bool>, Qs)> = None;
        let mut op: Option<bool> = None;
        let mut negate = false;
        while *pos < toks.len() {
            let t = toks[*pos].clone();
            *pos += 1;
            let q = match t {
                STok::Pipe => {
                    op = Some(false);
                    continue;
                }
                STok::Plus => {
                    op = Some(true);
                    continue;
                }
                STok::Minus => {
                    negate = !negate;
                    continue;
                }
                STok::RParen => break,
                STok::LParen if depth < super::MAX_DEPTH => {
                    match group(toks, pos, default_and, depth + 1) {
                        Some(g) => g,
                        None => continue,
                    }
                }
                STok::LParen => continue,
                STok::Word(w) => word(&w),
                STok::Phrase(text, slop) => Qs::Term {
                    field: None,
                    term: Term::Phrase { text, slop },
                },
            };
            let q = if negate {
                Qs::Group(vec![(Occur::MustNot, q)])
            } else {
                q
            };
            let this = op.unwrap_or(default_and);
            acc = Some(match acc {
                None => (None, q),
                Some((Some(prev), Qs::Group(mut clauses))) if prev == this => {
                    clauses.push((occur(this), q));
                    (Some(this), Qs::Group(clauses))
                }
                Some((_, prev)) => (
                    Some(this),
                    Qs::Group(vec![(occur(this), prev), (occur(this), q)]),
                ),
            });
            op = None;
            negate = false;
        }
        acc.map(|(_, q)| q)
    }

    fn word(w: &str) -> Qs {
        let term = if let Some((text, fz)) = w.split_once('~') {
            Term::Fuzzy {
                text: text.to_string(),
                fuzziness: if fz.is_empty() {
                    "AUTO".to_string()
                } else {
                    fz.to_string()
                },
            }
        } else if let Some(p) = w.strip_suffix('*') {
            if p.is_empty() {
                Term::Wildcard {
                    pattern: "*".to_string(),
                }
            } else {
                Term::Prefix(p.to_string())
            }
        } else {
            Term::Plain(w.to_string())
        };
        Qs::Term { field: None, term }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(field: Option<&str>, t: Term) -> Qs {
        Qs::Term {
            field: field.map(str::to_string),
            term: t,
        }
    }

    #[test]
    fn parses_kibana_wildcards() {
        assert_eq!(
            parse("PublishLayerVersion*", false).unwrap(),
            term(None, Term::Prefix("PublishLayerVersion".into()))
        );
        assert_eq!(
            parse("Publish\\-Layer*", false).unwrap(),
            term(None, Term::Prefix("Publish-Layer".into()))
        );
        assert_eq!(
            parse("a*b?c", false).unwrap(),
            term(
                None,
                Term::Wildcard {
                    pattern: "a*b?c".into()
                }
            )
        );
        assert_eq!(
            parse("a\\*", false).unwrap(),
            term(None, Term::Plain("a*".into()))
        );
        assert_eq!(
            parse("\\*a*", false).unwrap(),
            term(None, Term::Prefix("*a".into()))
        );
    }

    #[test]
    fn parses_fields_groups_and_operators() {
        let q = parse("event.action:(A OR B) AND NOT user.name:x", false).unwrap();
        let Qs::Group(clauses) = q else {
            panic!("group expected")
        };
        assert_eq!(clauses.len(), 2);
        assert_eq!(clauses[0].0, Occur::Must);
        assert_eq!(clauses[1].0, Occur::MustNot);
        assert!(parse("a:", false).is_err());
        assert!(parse("(a", false).is_err());
        assert!(parse("\"open", false).is_err());
    }

    #[test]
    fn lucene_clause_rules() {
        // a AND b OR c  =>  +a +b c
        let Qs::Group(cl) = parse("a AND b OR c", false).unwrap() else {
            panic!()
        };
        let occ: Vec<Occur> = cl.iter().map(|(o, _)| *o).collect();
        assert_eq!(occ, [Occur::Must, Occur::Must, Occur::Should]);
        // default AND: a b OR c => +a b c
        let Qs::Group(cl) = parse("a b OR c", true).unwrap() else {
            panic!()
        };
        let occ: Vec<Occur> = cl.iter().map(|(o, _)| *o).collect();
        assert_eq!(occ, [Occur::Must, Occur::Should, Occur::Should]);
    }

    #[test]
    fn ranges_and_phrases() {
        assert_eq!(
            parse("n:[1 TO *}", false).unwrap(),
            term(
                Some("n"),
                Term::Range {
                    lo: Some("1".into()),
                    hi: None,
                    lo_incl: true,
                    hi_incl: false
                }
            )
        );
        assert_eq!(
            parse("\"a b\"~2", false).unwrap(),
            term(
                None,
                Term::Phrase {
                    text: "a b".into(),
                    slop: Some(2)
                }
            )
        );
        assert_eq!(
            parse("/ab+/", false).unwrap(),
            term(None, Term::Regex("ab+".into()))
        );
        assert_eq!(
            parse("quikc~", false).unwrap(),
            term(
                None,
                Term::Fuzzy {
                    text: "quikc".into(),
                    fuzziness: "AUTO".into()
                }
            )
        );
    }
}
