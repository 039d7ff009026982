//! Lexer and parser for the Lucene classic query syntax used by `query_string`.

use crate::dsl::error::DslError;

/// How a clause takes part in its boolean group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Occur {
    Must,
    Should,
    MustNot,
}

/// A parsed query string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Qs {
    Group(Vec<(Occur, Qs)>),
    Term { field: Option<String>, term: Term },
}

/// One term of a query string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Term {
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
pub(crate) const MAX_DEPTH: usize = 128;

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

pub(crate) fn unescape(s: &str) -> String {
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
pub(crate) fn parse(query: &str, default_and: bool) -> Result<Qs, DslError> {
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
