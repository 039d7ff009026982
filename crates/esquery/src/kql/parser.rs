//! The KQL grammar: a recursive-descent rendering of Kibana's `grammar.peggy`.
//!
//! Each grammar rule is one method, with the same alternatives in the same order. To reproduce
//! Kibana's error messages exactly, the parser also reproduces what the generated peggy parser
//! does on failure:
//!
//! - A failed match records what was expected at the current position; only the records at the
//!   furthest position are kept ("Expected … but … found.").
//! - Inside a *named* rule (`Field "fieldName"`, `Value "value"`, `Or "OR"`, `And "AND"`,
//!   `Not "NOT"`, `Literal "literal"`, `Space "whitespace"`) nothing is recorded but the rule's
//!   name, at its start, when the whole rule fails. Look-aheads (`!Keyword`) record nothing.
//! - Kibana builds its parser with `cache: true`: a rule invoked again at a position where it ran
//!   before returns the remembered result and records nothing. We re-run it with recording
//!   switched off, which gives the same result and the same records.
//!
//! Kibana's `X tail:(Sep X)+ / X` rules are written as `X (Sep X)*`, which yields the same tree
//! and the same records (the second `X` of Kibana's rule is always a cache hit) without the
//! exponential re-parsing of nested groups.

use super::ast::{Node, RangeOp, Scalar, Term, WILDCARD_SYMBOL};
use super::error::{ErrorKind, KqlError};

/// How deep groups (`(…)`, `field:(…)`, `path:{…}`) may nest before parsing stops with an
/// [`ErrorKind::TooDeep`] error, which keeps the recursive parser and translator on the stack.
pub const MAX_DEPTH: usize = 100;

/// Kibana's parse options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Kibana's `allowLeadingWildcards` (advanced setting `query:allowLeadingWildcards`, on by
    /// default): when off, a value starting with `*` (other than a lone `*`) is an error.
    pub allow_leading_wildcards: bool,
}

impl Default for ParseOptions {
    fn default() -> ParseOptions {
        ParseOptions {
            allow_leading_wildcards: true,
        }
    }
}

/// Parses a KQL query (Kibana's `fromKueryExpression`, leading wildcards allowed). An empty or
/// blank query is `*:*` (match all).
pub fn parse(query: &str) -> Result<Node, KqlError> {
    parse_with(query, &ParseOptions::default())
}

/// Parses a KQL query with the given options.
pub fn parse_with(query: &str, options: &ParseOptions) -> Result<Node, KqlError> {
    let mut parser = Parser::new(query, options);
    let node = parser.start();
    parser.finish(node)
}

/// Parses a single literal (Kibana's `fromLiteralExpression`, the grammar's `Literal` rule):
/// `true`, `"a phrase"`, `foo*bar`, `\(escaped\)`. Errors use the same text as [`parse`].
pub fn parse_literal(text: &str) -> Result<Term, KqlError> {
    let options = ParseOptions::default();
    let mut parser = Parser::new(text, &options);
    let term = parser.literal();
    parser.finish(term)
}

/// The message of Kibana's leading-wildcard error.
const LEADING_WILDCARD: &str =
    "Leading wildcards are disabled. See query:allowLeadingWildcards in Advanced Settings.";

/// The rules whose results peggy caches and that can record expectations.
#[derive(Debug, Clone, Copy)]
enum Rule {
    OrQuery,
    AndQuery,
    NotQuery,
    SubQuery,
    NestedQuery,
    Expression,
    Field,
    FieldRange,
    FieldValue,
    ValueExpression,
    ListOfValues,
    OrList,
    AndList,
    NotList,
    Value,
    Or,
    And,
    Not,
    Literal,
    QuotedString,
    UnquotedLiteral,
    RangeOperator,
    OptionalSpace,
    Space,
}

/// One expectation of a failed match, as Kibana describes it.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// A literal string, shown quoted.
    Text(&'static str),
    /// A named rule, shown by its (translated) name.
    Named(&'static str),
    /// The end of the input.
    End,
}

impl Expect {
    fn describe(self) -> String {
        match self {
            Expect::Text(t) => format!("\"{t}\""),
            Expect::Named(name) => name.to_string(),
            Expect::End => "end of input".to_string(),
        }
    }
}

/// The value side of `field: …` before the field is known (Kibana's partial functions): a value
/// or a boolean combination of values, turned into `is` nodes by [`Values::apply`].
enum Values {
    Is(Term),
    Or(Vec<Values>),
    And(Vec<Values>),
    Not(Box<Values>),
}

impl Values {
    fn apply(self, field: &Term) -> Node {
        let all = |list: Vec<Values>| list.into_iter().map(|v| v.apply(field)).collect();
        match self {
            Values::Is(value) => Node::Is {
                field: field.clone(),
                value,
            },
            Values::Or(list) => Node::Or(all(list)),
            Values::And(list) => Node::And(all(list)),
            Values::Not(inner) => Node::Not(Box::new(inner.apply(field))),
        }
    }
}

struct Parser<'a> {
    query: &'a str,
    chars: Vec<char>,
    options: &'a ParseOptions,
    pos: usize,
    /// Peggy's `silentFails`: recording is off while positive.
    silent: u32,
    max_fail_pos: usize,
    expected: Vec<Expect>,
    /// Per position, one bit per [`Rule`] that already ran there (peggy's results cache).
    visited: Vec<u32>,
    depth: usize,
    /// An error that ends parsing at once (peggy's `error()`, or nesting too deep).
    abort: Option<KqlError>,
}

impl<'a> Parser<'a> {
    fn new(query: &'a str, options: &'a ParseOptions) -> Parser<'a> {
        let chars: Vec<char> = query.chars().collect();
        Parser {
            query,
            visited: vec![0; chars.len() + 1],
            chars,
            options,
            pos: 0,
            silent: 0,
            max_fail_pos: 0,
            expected: Vec::new(),
            depth: 0,
            abort: None,
        }
    }

    /// Peggy's end-of-parse check: the start rule must succeed and consume all input.
    fn finish<T>(&mut self, result: Option<T>) -> Result<T, KqlError> {
        if let Some(error) = self.abort.take() {
            return Err(error);
        }
        match result {
            Some(value) if self.pos == self.chars.len() => return Ok(value),
            Some(_) => self.fail(Expect::End),
            None => {}
        }
        Err(self.syntax_error())
    }

    /// Kibana's `KQLSyntaxError` text from the furthest failure.
    fn syntax_error(&self) -> KqlError {
        let mut expected: Vec<String> = self.expected.iter().map(|e| e.describe()).collect();
        expected.sort();
        expected.dedup();
        let found = match self.chars.get(self.max_fail_pos) {
            Some(c) => format!("\"{c}\""),
            None => "end of input".to_string(),
        };
        let message = format!("Expected {} but {found} found.", expected.join(", "));
        KqlError::at(ErrorKind::Syntax, message, self.query, self.max_fail_pos)
    }

    // ---- peggy machinery ----

    /// Peggy's `peg$fail`: remember an expectation if it is at the furthest position so far.
    fn fail(&mut self, expect: Expect) {
        if self.silent > 0 || self.pos < self.max_fail_pos {
            return;
        }
        if self.pos > self.max_fail_pos {
            self.max_fail_pos = self.pos;
            self.expected.clear();
        }
        self.expected.push(expect);
    }

    /// Runs a cached rule: silently if it already ran at this position; restores the position
    /// on failure.
    fn rule<T>(&mut self, rule: Rule, body: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        if self.abort.is_some() {
            return None;
        }
        let start = self.pos;
        let bit = 1u32 << (rule as u32);
        let cached = self.visited[start] & bit != 0;
        self.visited[start] |= bit;
        if cached {
            self.silent += 1;
        }
        let result = body(self);
        if cached {
            self.silent -= 1;
        }
        if result.is_none() {
            self.pos = start;
        }
        result
    }

    /// Runs a named rule: silent inside, recording only its name at its start on failure.
    fn named<T>(
        &mut self,
        rule: Rule,
        name: &'static str,
        body: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<T> {
        self.rule(rule, |p| {
            let start = p.pos;
            p.silent += 1;
            let result = body(p);
            p.silent -= 1;
            if result.is_none() {
                p.pos = start;
                p.fail(Expect::Named(name));
            }
            result
        })
    }

    /// A sequence inside a rule: restores the position on failure.
    fn seq<T>(&mut self, body: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let start = self.pos;
        let result = body(self);
        if result.is_none() {
            self.pos = start;
        }
        result
    }

    /// Counts one level of group nesting around `body`.
    fn nest<T>(&mut self, body: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        if self.depth >= MAX_DEPTH {
            let message = format!("Groups nest deeper than {MAX_DEPTH} levels.");
            self.abort = Some(KqlError::at(
                ErrorKind::TooDeep,
                message,
                self.query,
                self.pos,
            ));
            return None;
        }
        self.depth += 1;
        let result = body(self);
        self.depth -= 1;
        result
    }

    /// `X (Sep X)*` after the first `X`: the further items.
    fn tail<T>(
        &mut self,
        separator: fn(&mut Self) -> Option<()>,
        item: fn(&mut Self) -> Option<T>,
    ) -> Vec<T> {
        let mut items = Vec::new();
        while let Some(next) = self.seq(|p| {
            separator(p)?;
            item(p)
        }) {
            items.push(next);
        }
        items
    }

    fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    /// Whether the input at the position starts with `text` (ASCII case-insensitively if asked).
    fn looking_at(&self, text: &str, ignore_case: bool) -> bool {
        text.chars()
            .enumerate()
            .all(|(i, t)| match self.peek_at(i) {
                Some(c) if ignore_case => c.eq_ignore_ascii_case(&t),
                Some(c) => c == t,
                None => false,
            })
    }

    /// A literal string of the grammar (`'('`, `'<='`, …).
    fn text(&mut self, text: &'static str) -> Option<()> {
        if self.looking_at(text, false) {
            self.pos += text.chars().count();
            Some(())
        } else {
            self.fail(Expect::Text(text));
            None
        }
    }

    /// A case-insensitive literal (`'or'i`); yields the input as written.
    fn text_ci(&mut self, text: &'static str) -> Option<String> {
        if self.looking_at(text, true) {
            let n = text.chars().count();
            let matched = self.chars[self.pos..self.pos + n].iter().collect();
            self.pos += n;
            Some(matched)
        } else {
            self.fail(Expect::Text(text));
            None
        }
    }

    // ---- query rules ----

    /// `start = Space* OrQuery? OptionalSpace`; no query is `*:*`.
    fn start(&mut self) -> Option<Node> {
        self.spaces();
        let query = self.or_query();
        self.optional_space();
        Some(query.unwrap_or(Node::Is {
            field: Term::any(),
            value: Term::any(),
        }))
    }

    /// `OrQuery = AndQuery (Or AndQuery)*`
    fn or_query(&mut self) -> Option<Node> {
        self.rule(Rule::OrQuery, |p| {
            p.nest(|p| {
                let head = p.and_query()?;
                let rest = p.tail(Self::or_keyword, Self::and_query);
                Some(combine(head, rest, Node::Or))
            })
        })
    }

    /// `AndQuery = NotQuery (And NotQuery)*`
    fn and_query(&mut self) -> Option<Node> {
        self.rule(Rule::AndQuery, |p| {
            let head = p.not_query()?;
            let rest = p.tail(Self::and_keyword, Self::not_query);
            Some(combine(head, rest, Node::And))
        })
    }

    /// `NotQuery = Not SubQuery / SubQuery`
    fn not_query(&mut self) -> Option<Node> {
        self.rule(Rule::NotQuery, |p| {
            let negated = p.seq(|p| {
                p.not_keyword()?;
                p.sub_query()
            });
            match negated {
                Some(query) => Some(Node::Not(Box::new(query))),
                None => p.sub_query(),
            }
        })
    }

    /// `SubQuery = '(' Space* OrQuery OptionalSpace ')' / NestedQuery`
    fn sub_query(&mut self) -> Option<Node> {
        self.rule(Rule::SubQuery, |p| {
            let group = p.seq(|p| {
                p.text("(")?;
                p.spaces();
                let query = p.or_query()?;
                p.optional_space();
                p.text(")")?;
                Some(query)
            });
            group.or_else(|| p.nested_query())
        })
    }

    /// `NestedQuery = Field Space* ':' Space* '{' Space* OrQuery OptionalSpace '}' / Expression`
    fn nested_query(&mut self) -> Option<Node> {
        self.rule(Rule::NestedQuery, |p| {
            let nested = p.seq(|p| {
                let path = p.field()?;
                p.spaces();
                p.text(":")?;
                p.spaces();
                p.text("{")?;
                p.spaces();
                let query = p.or_query()?;
                p.optional_space();
                p.text("}")?;
                Some(Node::Nested {
                    path,
                    query: Box::new(query),
                })
            });
            nested.or_else(|| p.expression())
        })
    }

    /// `Expression = FieldRangeExpression / FieldValueExpression / ValueExpression`
    fn expression(&mut self) -> Option<Node> {
        self.rule(Rule::Expression, |p| {
            p.field_range()
                .or_else(|| p.field_value())
                .or_else(|| p.value_expression())
        })
    }

    /// `Field "fieldName" = Literal`
    fn field(&mut self) -> Option<Term> {
        self.named(Rule::Field, "field name", Self::literal)
    }

    /// `FieldRangeExpression = Field Space* RangeOperator Space* Literal`
    fn field_range(&mut self) -> Option<Node> {
        self.rule(Rule::FieldRange, |p| {
            let field = p.field()?;
            p.spaces();
            let op = p.range_operator()?;
            p.spaces();
            let value = p.literal()?;
            Some(Node::Range { field, op, value })
        })
    }

    /// `FieldValueExpression = Field Space* ':' Space* ListOfValues`
    fn field_value(&mut self) -> Option<Node> {
        self.rule(Rule::FieldValue, |p| {
            let field = p.field()?;
            p.spaces();
            p.text(":")?;
            p.spaces();
            let values = p.list_of_values()?;
            Some(values.apply(&field))
        })
    }

    /// `ValueExpression = Value` (free text: the field is null).
    fn value_expression(&mut self) -> Option<Node> {
        self.rule(Rule::ValueExpression, |p| {
            Some(p.value()?.apply(&Term::null()))
        })
    }

    // ---- value lists (`field: (a or b)`) ----

    /// `ListOfValues = '(' Space* OrListOfValues OptionalSpace ')' / Value`
    fn list_of_values(&mut self) -> Option<Values> {
        self.rule(Rule::ListOfValues, |p| {
            let group = p.seq(|p| {
                p.text("(")?;
                p.spaces();
                let values = p.or_list()?;
                p.optional_space();
                p.text(")")?;
                Some(values)
            });
            group.or_else(|| p.value())
        })
    }

    /// `OrListOfValues = AndListOfValues (Or AndListOfValues)*`
    fn or_list(&mut self) -> Option<Values> {
        self.rule(Rule::OrList, |p| {
            p.nest(|p| {
                let head = p.and_list()?;
                let rest = p.tail(Self::or_keyword, Self::and_list);
                Some(combine(head, rest, Values::Or))
            })
        })
    }

    /// `AndListOfValues = NotListOfValues (And NotListOfValues)*`
    fn and_list(&mut self) -> Option<Values> {
        self.rule(Rule::AndList, |p| {
            let head = p.not_list()?;
            let rest = p.tail(Self::and_keyword, Self::not_list);
            Some(combine(head, rest, Values::And))
        })
    }

    /// `NotListOfValues = Not ListOfValues / ListOfValues`
    fn not_list(&mut self) -> Option<Values> {
        self.rule(Rule::NotList, |p| {
            let negated = p.seq(|p| {
                p.not_keyword()?;
                p.list_of_values()
            });
            match negated {
                Some(values) => Some(Values::Not(Box::new(values))),
                None => p.list_of_values(),
            }
        })
    }

    /// `Value "value" = QuotedString / UnquotedLiteral`, with Kibana's leading-wildcard check.
    fn value(&mut self) -> Option<Values> {
        self.named(Rule::Value, "value", |p| {
            if let Some(quoted) = p.quoted_string() {
                return Some(Values::Is(quoted));
            }
            let start = p.pos;
            let term = p.unquoted_literal()?;
            if !p.options.allow_leading_wildcards && has_leading_wildcard(&term) {
                let error = KqlError::at(
                    ErrorKind::LeadingWildcard,
                    LEADING_WILDCARD.to_string(),
                    p.query,
                    start,
                );
                p.abort = Some(error);
                return None;
            }
            Some(Values::Is(term))
        })
    }

    // ---- keywords, operators, whitespace ----

    /// `Or "OR" = Space+ 'or'i Space+`
    fn or_keyword(&mut self) -> Option<()> {
        self.named(Rule::Or, "OR", |p| {
            p.spaces1()?;
            p.text_ci("or")?;
            p.spaces1()
        })
    }

    /// `And "AND" = Space+ 'and'i Space+`
    fn and_keyword(&mut self) -> Option<()> {
        self.named(Rule::And, "AND", |p| {
            p.spaces1()?;
            p.text_ci("and")?;
            p.spaces1()
        })
    }

    /// `Not "NOT" = 'not'i Space+`
    fn not_keyword(&mut self) -> Option<()> {
        self.named(Rule::Not, "NOT", |p| {
            p.text_ci("not")?;
            p.spaces1()
        })
    }

    /// `RangeOperator = '<=' / '>=' / '<' / '>'`
    fn range_operator(&mut self) -> Option<RangeOp> {
        self.rule(Rule::RangeOperator, |p| {
            const OPERATORS: [(&str, RangeOp); 4] = [
                ("<=", RangeOp::Lte),
                (">=", RangeOp::Gte),
                ("<", RangeOp::Lt),
                (">", RangeOp::Gt),
            ];
            OPERATORS
                .iter()
                .find_map(|&(text, op)| p.text(text).map(|()| op))
        })
    }

    /// `OptionalSpace = Space*`
    fn optional_space(&mut self) {
        self.rule(Rule::OptionalSpace, |p| {
            p.spaces();
            Some(())
        });
    }

    /// `Space "whitespace" = [\ \t\r\n\u00A0]`
    fn space(&mut self) -> Option<()> {
        self.named(Rule::Space, "whitespace", |p| {
            let c = p.peek()?;
            is_space(c).then(|| p.pos += 1)
        })
    }

    /// `Space*`
    fn spaces(&mut self) {
        while self.space().is_some() {}
    }

    /// `Space+`
    fn spaces1(&mut self) -> Option<()> {
        self.space()?;
        self.spaces();
        Some(())
    }

    // ---- literals ----

    /// `Literal "literal" = QuotedString / UnquotedLiteral`
    fn literal(&mut self) -> Option<Term> {
        self.named(Rule::Literal, "literal", |p| {
            p.quoted_string().or_else(|| p.unquoted_literal())
        })
    }

    /// `QuotedString = '"' QuotedCharacter* '"'`
    fn quoted_string(&mut self) -> Option<Term> {
        self.rule(Rule::QuotedString, |p| {
            p.text("\"")?;
            let mut units = Vec::new();
            while p.quoted_character(&mut units).is_some() {}
            p.text("\"")?;
            Some(Term::Literal {
                value: Scalar::String(String::from_utf16_lossy(&units)),
                quoted: true,
            })
        })
    }

    /// `QuotedCharacter = EscapedWhitespace / EscapedUnicodeSequence / '\\' [\\"] / [^"]`,
    /// appended to `out` as UTF-16 (so `\uD83D\uDE00` pairs up as in JavaScript).
    fn quoted_character(&mut self, out: &mut Vec<u16>) -> Option<()> {
        if let Some(c) = self.escaped_whitespace() {
            push_char(out, c);
        } else if let Some(unit) = self.escaped_unicode() {
            out.push(unit);
        } else if let (Some('\\'), Some(c @ ('\\' | '"'))) = (self.peek(), self.peek_at(1)) {
            self.pos += 2;
            push_char(out, c);
        } else {
            let c = self.peek().filter(|&c| c != '"')?;
            self.pos += 1;
            push_char(out, c);
        }
        Some(())
    }

    /// `UnquotedLiteral = UnquotedCharacter+`, trimmed; `null`, `true`, `false` are typed and an
    /// unescaped `*` makes a wildcard.
    fn unquoted_literal(&mut self) -> Option<Term> {
        self.rule(Rule::UnquotedLiteral, |p| {
            let mut units = Vec::new();
            let mut count = 0usize;
            let mut wildcard = false;
            while let Some(is_wildcard) = p.unquoted_character(&mut units) {
                count += 1;
                wildcard |= is_wildcard;
            }
            (count > 0).then(|| unquoted_term(&String::from_utf16_lossy(&units), wildcard))
        })
    }

    /// `UnquotedCharacter = EscapedWhitespace / EscapedSpecialCharacter / EscapedUnicodeSequence
    /// / EscapedKeyword / Wildcard / !SpecialCharacter !Keyword .`; yields whether it was a
    /// wildcard.
    fn unquoted_character(&mut self, out: &mut Vec<u16>) -> Option<bool> {
        if let Some(c) = self.escaped_whitespace() {
            push_char(out, c);
        } else if let Some(c) = self.escaped_special() {
            push_char(out, c);
        } else if let Some(unit) = self.escaped_unicode() {
            out.push(unit);
        } else if let Some(keyword) = self.escaped_keyword() {
            out.extend(keyword.encode_utf16());
        } else if self.peek() == Some('*') {
            self.pos += 1;
            out.extend(WILDCARD_SYMBOL.encode_utf16());
            return Some(true);
        } else {
            let next = self.peek();
            // Peggy evaluates `!Keyword` even at the end of input (it may run `Space` there).
            if next.is_some_and(is_special) || self.keyword_ahead() {
                return None;
            }
            push_char(out, next?);
            self.pos += 1;
        }
        Some(false)
    }

    /// `EscapedWhitespace = '\t' / '\r' / '\n'` (backslash and letter).
    fn escaped_whitespace(&mut self) -> Option<char> {
        let c = match (self.peek(), self.peek_at(1)) {
            (Some('\\'), Some('t')) => '\t',
            (Some('\\'), Some('r')) => '\r',
            (Some('\\'), Some('n')) => '\n',
            _ => return None,
        };
        self.pos += 2;
        Some(c)
    }

    /// `EscapedSpecialCharacter = '\\' SpecialCharacter`
    fn escaped_special(&mut self) -> Option<char> {
        match (self.peek(), self.peek_at(1)) {
            (Some('\\'), Some(c)) if is_special(c) => {
                self.pos += 2;
                Some(c)
            }
            _ => None,
        }
    }

    /// `EscapedUnicodeSequence = '\\' 'u' HexDigit{4}`: one UTF-16 unit.
    fn escaped_unicode(&mut self) -> Option<u16> {
        if self.peek() != Some('\\') || self.peek_at(1) != Some('u') {
            return None;
        }
        let digits: String = (2..6).filter_map(|i| self.peek_at(i)).collect();
        if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let unit = u16::from_str_radix(&digits, 16).ok()?;
        self.pos += 6;
        Some(unit)
    }

    /// `EscapedKeyword = '\\' ('or'i / 'and'i / 'not'i)`: the keyword as written.
    fn escaped_keyword(&mut self) -> Option<String> {
        self.seq(|p| {
            p.text("\\")?;
            ["or", "and", "not"]
                .iter()
                .find_map(|keyword| p.text_ci(keyword))
        })
    }

    /// `!Keyword` where `Keyword = Space 'or'i Space / Space 'and'i Space / 'not'i Space`.
    fn keyword_ahead(&mut self) -> bool {
        let start = self.pos;
        self.silent += 1;
        let spaced = |p: &mut Self, keyword: &'static str| {
            p.seq(|p| {
                p.space()?;
                p.text_ci(keyword)?;
                p.space()
            })
            .is_some()
        };
        let found = spaced(self, "or")
            || spaced(self, "and")
            || self
                .seq(|p| {
                    p.text_ci("not")?;
                    p.space()
                })
                .is_some();
        self.silent -= 1;
        self.pos = start;
        found
    }
}

/// `head` alone, or `wrap` of `head` and `rest`.
fn combine<T>(head: T, rest: Vec<T>, wrap: fn(Vec<T>) -> T) -> T {
    if rest.is_empty() {
        return head;
    }
    let mut all = Vec::with_capacity(rest.len() + 1);
    all.push(head);
    all.extend(rest);
    wrap(all)
}

/// The term of an unquoted literal's text (Kibana's `UnquotedLiteral` action).
fn unquoted_term(text: &str, wildcard: bool) -> Term {
    let sequence = text.trim_matches(is_js_whitespace);
    match sequence {
        "null" => Term::null(),
        "true" | "false" => Term::Literal {
            value: Scalar::Bool(sequence == "true"),
            quoted: false,
        },
        _ if wildcard => Term::Wildcard(sequence.to_string()),
        _ => Term::string(sequence),
    }
}

/// Kibana's `hasLeadingWildcard`.
fn has_leading_wildcard(term: &Term) -> bool {
    match term {
        Term::Wildcard(v) => !term.is_lone_wildcard() && v.starts_with(WILDCARD_SYMBOL),
        Term::Literal { .. } => false,
    }
}

fn push_char(out: &mut Vec<u16>, c: char) {
    let mut buf = [0u16; 2];
    out.extend_from_slice(c.encode_utf16(&mut buf));
}

/// `SpecialCharacter = [\\():<>"*{}]`
fn is_special(c: char) -> bool {
    matches!(
        c,
        '\\' | '(' | ')' | ':' | '<' | '>' | '"' | '*' | '{' | '}'
    )
}

/// The grammar's `Space` class.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{a0}')
}

/// What JavaScript's `String.prototype.trim` removes.
fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}
