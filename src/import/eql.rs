//! Elastic's EQL, single-event queries (`any where …`, `iam where …`): parsed, then translated
//! into an eshunt condition on ECS fields (`ecs(path)`) and a query DSL prefilter.
//!
//! Semantics kept (Elasticsearch runs a single-event EQL query as a query DSL filter):
//! - `==`, `!=`, `in`, `like`, `regex`, `stringContains`, `startsWith`, `endsWith` and
//!   `wildcard` are case-sensitive; `:` and the `~` forms (`in~`, `like~`, `stringContains~`…)
//!   are case-insensitive; `:`, `like` and `wildcard` take `*` and `?` wildcards;
//!   `regex` matches the whole value (Lucene regular expressions).
//! - Each comparison is false where its field is missing, and `not`/`!=` are its negation
//!   (`must_not`), so `x != "a"` and `not stringContains(x, "a")` hold when `x` is missing —
//!   as eshunt's `ne` and `not` do. `x != null` means the field exists.
//! - A multi-valued field matches when one of its values does (a term query), as in eshunt.
//!
//! What the parser does not accept is refused with the reason: sequences and samples, pipes,
//! functions other than the string tests and `cidrMatch`, arithmetic, a field compared as a
//! boolean.

use serde_json::{json, Value};

/// A single-event EQL query, translated.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// The event category the query names (`iam`), `None` for `any`.
    pub category: Option<String>,
    /// The eshunt condition: one conjunct per line, fields as `ecs(path)`.
    pub condition: String,
    /// The query DSL prefilter: what the query requires that a cluster can check exactly (a
    /// superset of the query's matches), else the CloudTrail data set.
    pub prefilter: Value,
    /// Whether the prefilter was derived from the query (false: the broad fallback).
    pub prefilter_derived: bool,
}

/// Translates an EQL query whose event category is read from `category_field` (Elastic's
/// `event.category`, or the rule's `event_category_override`).
pub fn translate(query: &str, category_field: &str) -> Result<Translation, String> {
    let parsed = parse(query)?;
    let mut conjuncts = Vec::new();
    if let Some(category) = &parsed.category {
        conjuncts.push(Expr::Leaf(Leaf {
            field: category_field.to_string(),
            test: Test::Eq(Literal::Str(category.clone())),
        }));
    }
    match parsed.condition.clone() {
        Expr::And(items) => conjuncts.extend(items),
        other => conjuncts.push(other),
    }
    let whole = flatten(conjuncts, Expr::And);
    let condition = condition_lines(&whole)?;
    let derived = necessary(&whole);
    Ok(Translation {
        category: parsed.category,
        condition,
        prefilter_derived: derived.is_some(),
        prefilter: derived.unwrap_or_else(broad_prefilter),
    })
}

/// The prefilter of a query nothing could be derived from: documents of the CloudTrail data
/// set (`data_stream.dataset`, or `event.dataset` for Filebeat's documents).
fn broad_prefilter() -> Value {
    json!({ "bool": { "should": [
        { "term": { "data_stream.dataset": "aws.cloudtrail" } },
        { "term": { "event.dataset": "aws.cloudtrail" } }
    ], "minimum_should_match": 1 } })
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

/// A parsed single-event query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The event category (`None`: `any`).
    pub category: Option<String>,
    /// The condition after `where`.
    pub condition: Expr,
}

/// A boolean expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// All hold.
    And(Vec<Expr>),
    /// One holds.
    Or(Vec<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// One test of one field.
    Leaf(Leaf),
}

/// A test of one field.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    /// The ECS field, dotted.
    pub field: String,
    /// The test.
    pub test: Test,
}

/// A literal, or another field.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A string.
    Str(String),
    /// A number, as written.
    Num(String),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// Another field.
    Field(String),
}

/// The string functions and operators on a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrFn {
    /// `stringContains`.
    Contains,
    /// `startsWith`.
    StartsWith,
    /// `endsWith`.
    EndsWith,
}

/// What a leaf tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `==` (`!=` is its negation; `== null`: the field is missing).
    Eq(Literal),
    /// `<`, `<=`, `>`, `>=` with a number: the eshunt operator name and the number.
    Order(&'static str, String),
    /// `in (…)`, `in~ (…)` (the bool: case-insensitive).
    In(Vec<Literal>, bool),
    /// `:`, `like`, `like~`, `wildcard()`: glob patterns with `*` and `?`.
    Glob(Vec<String>, bool),
    /// `regex`, `regex~`: whole-value Lucene regular expressions.
    Regex(Vec<String>, bool),
    /// `stringContains`, `startsWith`, `endsWith` (and `~`) with a string or a field.
    Str(StrFn, Literal, bool),
    /// `cidrMatch(field, "10.0.0.0/8", …)`.
    Cidr(Vec<String>),
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Sym(&'static str),
}

const SYMBOLS: &[&str] = &[
    "==", "!=", "<=", ">=", "<", ">", ":", "(", ")", ",", "~", "[", "]", "|", "=",
];

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
        if c.is_whitespace() {
            i += 1;
        } else if rest.starts_with("/*") {
            let end = find(&chars, i + 2, "*/").ok_or("a `/*` comment is never closed")?;
            i = end + 2;
        } else if rest.starts_with("//") {
            i = find(&chars, i, "\n").unwrap_or(chars.len());
        } else if rest == "\"\"\"" {
            let end = find(&chars, i + 3, "\"\"\"").ok_or("a `\"\"\"` string is never closed")?;
            tokens.push(Tok::Str(chars[i + 3..end].iter().collect()));
            i = end + 3;
        } else if c == '"' {
            let (s, next) = quoted(&chars, i + 1)?;
            tokens.push(Tok::Str(s));
            i = next;
        } else if c == '\'' {
            return Err("single-quoted strings are not EQL (use double quotes)".into());
        } else if c == '`' {
            let end = find(&chars, i + 1, "`").ok_or("a `` ` `` field name is never closed")?;
            tokens.push(Tok::Ident(chars[i + 1..end].iter().collect()));
            i = end + 1;
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let end = scan(&chars, i + 1, |c| c.is_ascii_alphanumeric() || c == '.');
            tokens.push(Tok::Num(chars[i..end].iter().collect()));
            i = end;
        } else if c.is_alphabetic() || c == '_' || c == '@' || c == '?' {
            let start = if c == '?' { i + 1 } else { i };
            let end = scan(&chars, start, |c| c.is_alphanumeric() || "_.@".contains(c));
            tokens.push(Tok::Ident(chars[start..end].iter().collect()));
            i = end;
        } else if let Some(sym) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            tokens.push(Tok::Sym(sym));
            i += sym.len();
        } else {
            return Err(format!("unexpected character `{c}`"));
        }
    }
    Ok(tokens)
}

fn find(chars: &[char], from: usize, needle: &str) -> Option<usize> {
    let needle: Vec<char> = needle.chars().collect();
    (from..chars.len()).find(|&i| chars[i..].starts_with(&needle))
}

fn scan(chars: &[char], from: usize, keep: impl Fn(char) -> bool) -> usize {
    (from..chars.len())
        .find(|&i| !keep(chars[i]))
        .unwrap_or(chars.len())
}

/// A `"…"` string from after its opening quote: the text and the index after the closing quote.
fn quoted(chars: &[char], mut i: usize) -> Result<(String, usize), String> {
    let mut out = String::new();
    loop {
        match chars.get(i) {
            None => return Err("a string is never closed".into()),
            Some('"') => return Ok((out, i + 1)),
            Some('\\') => {
                let escaped = chars.get(i + 1).ok_or("a string is never closed")?;
                out.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '"' | '\\' | '\'' => *escaped,
                    other => return Err(format!("unsupported escape `\\{other}` in a string")),
                });
                i += 2;
            }
            Some(c) => {
                out.push(*c);
                i += 1;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parser

/// Parses a single-event query; sequences, samples and pipes are refused.
pub fn parse(text: &str) -> Result<Query, String> {
    let tokens = tokenize(text)?;
    if tokens.contains(&Tok::Sym("|")) {
        return Err("EQL pipes (`| head`, `| filter`…) are not supported".into());
    }
    let mut p = Parser { tokens, at: 0 };
    let category = match p.next() {
        Some(Tok::Ident(w)) if is(&w, "sequence") || is(&w, "sample") => {
            return Err(format!(
                "`{}` queries correlate several events",
                w.to_lowercase()
            ))
        }
        Some(Tok::Ident(w)) if is(&w, "any") => None,
        Some(Tok::Ident(w) | Tok::Str(w)) => Some(w),
        other => {
            return Err(format!(
                "expected an event category, found {}",
                describe(other.as_ref())
            ))
        }
    };
    if !p.eat_word("where") {
        return Err("expected `where` after the event category".into());
    }
    let condition = p.or_expr()?;
    match p.peek() {
        None => Ok(Query {
            category,
            condition,
        }),
        Some(t) => Err(format!(
            "unexpected {} after the condition",
            describe(Some(t))
        )),
    }
}

fn is(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

fn describe(tok: Option<&Tok>) -> String {
    match tok {
        None => "the end of the query".into(),
        Some(Tok::Ident(w)) => format!("`{w}`"),
        Some(Tok::Str(s)) => format!("the string {s:?}"),
        Some(Tok::Num(n)) => format!("the number {n}"),
        Some(Tok::Sym(s)) => format!("`{s}`"),
    }
}

struct Parser {
    tokens: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Tok> {
        self.tokens.get(self.at + ahead)
    }

    fn next(&mut self) -> Option<Tok> {
        let tok = self.tokens.get(self.at).cloned();
        self.at += 1;
        tok
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let found = matches!(self.peek(), Some(Tok::Ident(w)) if is(w, word));
        self.at += usize::from(found);
        found
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        let found = matches!(self.peek(), Some(Tok::Sym(s)) if *s == sym);
        self.at += usize::from(found);
        found
    }

    fn expect_sym(&mut self, sym: &str) -> Result<(), String> {
        match self.eat_sym(sym) {
            true => Ok(()),
            false => Err(format!("expected `{sym}`, found {}", describe(self.peek()))),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let mut items = vec![self.and_expr()?];
        while self.eat_word("or") {
            items.push(self.and_expr()?);
        }
        Ok(flatten(items, Expr::Or))
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut items = vec![self.unary()?];
        while self.eat_word("and") {
            items.push(self.unary()?);
        }
        Ok(flatten(items, Expr::And))
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat_word("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat_sym("(") {
            let inner = self.or_expr()?;
            self.expect_sym(")")?;
            return Ok(inner);
        }
        let is_call = matches!(self.peek_at(1), Some(Tok::Sym("(")))
            || matches!(
                (self.peek_at(1), self.peek_at(2)),
                (Some(Tok::Sym("~")), Some(Tok::Sym("(")))
            );
        match self.next() {
            Some(Tok::Ident(name)) if is_call => self.call(&name),
            Some(Tok::Ident(field)) if !is_keyword(&field) => self.comparison(field),
            other => Err(format!(
                "expected a comparison, found {}",
                describe(other.as_ref())
            )),
        }
    }

    /// `name(field, args…)` or `name~(…)`, the name just read.
    fn call(&mut self, name: &str) -> Result<Expr, String> {
        let ci = self.eat_sym("~");
        self.expect_sym("(")?;
        let field = match self.next() {
            Some(Tok::Ident(f)) if !is_keyword(&f) => f,
            other => {
                return Err(format!(
                    "`{name}` is translated only with a field as its first argument, not {}",
                    describe(other.as_ref())
                ))
            }
        };
        let mut args = Vec::new();
        while self.eat_sym(",") {
            args.push(self.operand()?);
        }
        self.expect_sym(")")?;
        let test = call_test(name, ci, args)?;
        Ok(Expr::Leaf(Leaf { field, test }))
    }

    fn comparison(&mut self, field: String) -> Result<Expr, String> {
        let leaf = |test| {
            Expr::Leaf(Leaf {
                field: field.clone(),
                test,
            })
        };
        let negated = self.eat_word("not");
        let tok = self.next();
        let test = match tok.as_ref() {
            Some(Tok::Ident(w)) if is(w, "in") => {
                let ci = self.eat_sym("~");
                Test::In(self.list()?, ci)
            }
            Some(Tok::Ident(w)) if is(w, "like") => {
                let ci = self.eat_sym("~");
                Test::Glob(strings(self.list()?, "like")?, ci)
            }
            Some(Tok::Ident(w)) if is(w, "regex") => {
                let ci = self.eat_sym("~");
                Test::Regex(strings(self.list()?, "regex")?, ci)
            }
            Some(Tok::Sym(":")) if !negated => Test::Glob(strings(self.list()?, ":")?, true),
            Some(Tok::Sym("==")) if !negated => Test::Eq(self.operand()?),
            Some(Tok::Sym("!=")) if !negated => {
                return Ok(Expr::Not(Box::new(leaf(Test::Eq(self.operand()?)))))
            }
            Some(Tok::Sym(s @ ("<" | "<=" | ">" | ">="))) if !negated => {
                let op = match *s {
                    "<" => "lt",
                    "<=" => "lte",
                    ">" => "gt",
                    _ => "gte",
                };
                match self.operand()? {
                    Literal::Num(n) => Test::Order(op, n),
                    other => {
                        return Err(format!(
                            "`{s}` is translated only with a number, not {other:?}"
                        ))
                    }
                }
            }
            Some(Tok::Sym("=")) => return Err("`=` is not EQL: use `==` or `:`".into()),
            None | Some(Tok::Ident(_) | Tok::Sym(")")) if !negated => {
                return Err(format!(
                    "`{field}` alone (a field as a boolean) is not supported"
                ))
            }
            other => {
                return Err(format!(
                    "expected an operator after `{field}`, found {}",
                    describe(other)
                ))
            }
        };
        let expr = leaf(test);
        Ok(if negated {
            Expr::Not(Box::new(expr))
        } else {
            expr
        })
    }

    /// `(a, b, …)` or a single value.
    fn list(&mut self) -> Result<Vec<Literal>, String> {
        if !self.eat_sym("(") {
            return Ok(vec![self.operand()?]);
        }
        let mut items = vec![self.operand()?];
        while self.eat_sym(",") {
            items.push(self.operand()?);
        }
        self.expect_sym(")")?;
        Ok(items)
    }

    fn operand(&mut self) -> Result<Literal, String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Literal::Str(s)),
            Some(Tok::Num(n)) if n.parse::<f64>().is_ok() => Ok(Literal::Num(n)),
            Some(Tok::Ident(w)) if is(&w, "null") => Ok(Literal::Null),
            Some(Tok::Ident(w)) if is(&w, "true") || is(&w, "false") => {
                Ok(Literal::Bool(is(&w, "true")))
            }
            Some(Tok::Ident(w)) if !is_keyword(&w) && self.peek() != Some(&Tok::Sym("(")) => {
                Ok(Literal::Field(w))
            }
            other => Err(format!(
                "expected a value, found {}",
                describe(other.as_ref())
            )),
        }
    }
}

fn is_keyword(word: &str) -> bool {
    [
        "and", "or", "not", "in", "like", "regex", "where", "null", "true", "false",
    ]
    .iter()
    .any(|k| is(word, k))
}

fn flatten(mut items: Vec<Expr>, wrap: fn(Vec<Expr>) -> Expr) -> Expr {
    match items.len() {
        1 => items.pop().expect("one item"),
        _ => wrap(items),
    }
}

fn strings(items: Vec<Literal>, what: &str) -> Result<Vec<String>, String> {
    items
        .into_iter()
        .map(|item| match item {
            Literal::Str(s) => Ok(s),
            other => Err(format!(
                "`{what}` is translated only with strings, not {other:?}"
            )),
        })
        .collect()
}

/// The test a function call makes on its first argument.
fn call_test(name: &str, ci: bool, args: Vec<Literal>) -> Result<Test, String> {
    let one = |args: Vec<Literal>| -> Result<Literal, String> {
        match <[Literal; 1]>::try_from(args) {
            Ok([Literal::Null]) | Err(_) => {
                Err(format!("`{name}` takes a field and one string or field"))
            }
            Ok([arg]) => Ok(arg),
        }
    };
    let function = name.to_ascii_lowercase();
    match function.as_str() {
        "stringcontains" => Ok(Test::Str(StrFn::Contains, one(args)?, ci)),
        "startswith" => Ok(Test::Str(StrFn::StartsWith, one(args)?, ci)),
        "endswith" => Ok(Test::Str(StrFn::EndsWith, one(args)?, ci)),
        "wildcard" if !args.is_empty() => Ok(Test::Glob(strings(args, "wildcard")?, ci)),
        "cidrmatch" if !args.is_empty() && !ci => Ok(Test::Cidr(strings(args, "cidrMatch")?)),
        _ => Err(format!(
            "the EQL function `{name}{}` is not supported",
            if ci { "~" } else { "" }
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Condition

/// The condition text: one line per top-level conjunct.
fn condition_lines(expr: &Expr) -> Result<String, String> {
    let lines = match expr {
        Expr::And(items) => items
            .iter()
            .flat_map(|item| match item {
                Expr::And(inner) => inner.iter().collect(),
                other => vec![other],
            })
            .map(condition)
            .collect::<Result<Vec<_>, _>>()?,
        other => vec![condition(other)?],
    };
    Ok(lines.join("\n"))
}

fn condition(expr: &Expr) -> Result<String, String> {
    let joined = |items: &[Expr], sep: &str| -> Result<String, String> {
        let parts = items.iter().map(grouped).collect::<Result<Vec<_>, _>>()?;
        Ok(parts.join(sep))
    };
    match expr {
        Expr::And(items) => joined(items, " and "),
        Expr::Or(items) => joined(items, " or "),
        Expr::Not(inner) => Ok(format!("not {}", grouped(inner)?)),
        Expr::Leaf(leaf) => leaf_condition(leaf),
    }
}

/// A sub-expression as an operand of `and`, `or` or `not`: parenthesized when it is an `and`
/// or an `or` (a leaf's alternatives come parenthesized already).
fn grouped(expr: &Expr) -> Result<String, String> {
    let text = condition(expr)?;
    Ok(match expr {
        Expr::And(_) | Expr::Or(_) => format!("({text})"),
        Expr::Leaf(_) | Expr::Not(_) => text,
    })
}

/// A string literal of the condition language.
pub fn quote(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn ecs(field: &str) -> Result<String, String> {
    crate::event::from_ecs::EcsPath::parse(field)?;
    Ok(format!("ecs({field})"))
}

fn any_of(parts: Vec<String>) -> String {
    match parts.len() {
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(" or ")),
    }
}

fn leaf_condition(leaf: &Leaf) -> Result<String, String> {
    let f = ecs(&leaf.field)?;
    match &leaf.test {
        Test::Eq(value) => eq_condition(&f, value),
        Test::Order(op, n) => Ok(format!("{f} {op} {n}")),
        Test::In(values, ci) => in_condition(&f, values, *ci),
        Test::Glob(patterns, ci) => glob_condition(&f, patterns, *ci),
        Test::Regex(patterns, ci) => {
            let op = if *ci { "imatches" } else { "matches" };
            let parts = patterns
                .iter()
                .map(|p| Ok(format!("{f} {op} {}", quote(&lucene_regex(p)?))))
                .collect::<Result<Vec<_>, String>>()?;
            Ok(any_of(parts))
        }
        Test::Str(function, needle, ci) => {
            let op = match function {
                StrFn::Contains => "contains",
                StrFn::StartsWith => "starts_with",
                StrFn::EndsWith => "ends_with",
            };
            let i = if *ci { "i" } else { "" };
            match needle {
                Literal::Str(s) => Ok(format!("{f} {i}{op} {}", quote(s))),
                Literal::Field(other) => Ok(format!("{f} {i}{op} {}", ecs(other)?)),
                other => Err(format!("`{op}` with {other:?} is not supported")),
            }
        }
        Test::Cidr(blocks) => {
            let list: Vec<String> = blocks.iter().map(|b| quote(b)).collect();
            Ok(format!("{f} cidr [{}]", list.join(", ")))
        }
    }
}

/// `==`: strings compare with the string, numbers and booleans also with their text (a
/// keyword field holds `5` and `"5"` alike); `null` means the field is missing.
fn eq_condition(f: &str, value: &Literal) -> Result<String, String> {
    Ok(match value {
        Literal::Null => format!("not ({})", exists(f)),
        Literal::Field(other) => format!("{f} eq {}", ecs(other)?),
        Literal::Str(s) => match typed_twin(s) {
            Some(twin) => format!("({f} eq {} or {f} eq {twin})", quote(s)),
            None => format!("{f} eq {}", quote(s)),
        },
        Literal::Num(n) => format!("({f} eq {n} or {f} eq {})", quote(n)),
        Literal::Bool(b) => format!("({f} eq {b} or {f} eq \"{b}\")"),
    })
}

/// A field exists (an `exists` query): some value, the empty string included.
fn exists(f: &str) -> String {
    format!("{f} is_not_null or {f} eq \"\"")
}

/// The JSON number or boolean a keyword's text stands for (`"5"` → `5`, `"true"` → `true`).
fn typed_twin(s: &str) -> Option<String> {
    let number =
        s.parse::<i64>().is_ok() || (s.parse::<f64>().is_ok_and(f64::is_finite) && s.contains('.'));
    match s {
        "true" | "false" => Some(s.to_string()),
        _ if number && !s.starts_with('+') => Some(s.to_string()),
        _ => None,
    }
}

fn in_condition(f: &str, values: &[Literal], ci: bool) -> Result<String, String> {
    if ci {
        let texts = strings(values.to_vec(), "in~")?;
        let list: Vec<String> = texts.iter().map(|s| quote(s)).collect();
        return Ok(format!("{f} iin [{}]", list.join(", ")));
    }
    let mut list = Vec::new();
    for value in values {
        match value {
            Literal::Str(s) => {
                list.push(quote(s));
                list.extend(typed_twin(s));
            }
            Literal::Num(n) => list.extend([n.clone(), quote(n)]),
            Literal::Bool(b) => list.extend([b.to_string(), format!("\"{b}\"")]),
            other => {
                return Err(format!(
                    "`in` is translated only with literals, not {other:?}"
                ))
            }
        }
    }
    Ok(format!("{f} in [{}]", list.join(", ")))
}

/// `:`/`like`/`wildcard`: exact values as one (i)in, patterns as the string tests they are.
fn glob_condition(f: &str, patterns: &[String], ci: bool) -> Result<String, String> {
    if let Some(p) = patterns.iter().find(|p| p.contains('\\')) {
        return Err(format!(
            "the wildcard pattern {p:?} has a backslash, whose meaning EQL leaves open"
        ));
    }
    let i = if ci { "i" } else { "" };
    let (exact, globs): (Vec<&String>, Vec<&String>) =
        patterns.iter().partition(|p| !p.contains(['*', '?']));
    let mut parts = Vec::new();
    match exact.as_slice() {
        [] => {}
        [one] if ci => parts.push(format!("{f} ieq {}", quote(one))),
        [one] => parts.push(format!("{f} eq {}", quote(one))),
        many => {
            let list: Vec<String> = many.iter().map(|s| quote(s)).collect();
            parts.push(format!("{f} {}in [{}]", i, list.join(", ")));
        }
    }
    for glob in globs {
        parts.push(glob_predicate(f, glob, i));
    }
    Ok(any_of(parts))
}

/// One glob: `*x*` → contains, `x*` → starts_with, `*x` → ends_with, else an anchored regex.
fn glob_predicate(f: &str, glob: &str, i: &str) -> String {
    let inner = glob.strip_prefix('*').and_then(|g| g.strip_suffix('*'));
    let plain = |s: &str| !s.contains(['*', '?']);
    if let Some(mid) = inner.filter(|m| plain(m)) {
        return format!("{f} {i}contains {}", quote(mid));
    }
    if let Some(head) = glob.strip_suffix('*').filter(|h| plain(h)) {
        return format!("{f} {i}starts_with {}", quote(head));
    }
    if let Some(tail) = glob.strip_prefix('*').filter(|t| plain(t)) {
        return format!("{f} {i}ends_with {}", quote(tail));
    }
    let mut re = String::from("(?s)^");
    for c in glob.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    format!("{f} {i}matches {}", quote(&re))
}

/// A Lucene regular expression (whole-value match) as an anchored Rust one; refused where the
/// two syntaxes differ (Lucene's `&`, `~`, `<>`, `#`, `@`, escapes of letters, `(?`, anchors).
fn lucene_regex(pattern: &str) -> Result<String, String> {
    if differs_from_rust(pattern) {
        return Err(format!(
            "the regular expression {pattern:?} uses Lucene syntax eshunt does not translate"
        ));
    }
    regex::Regex::new(pattern)
        .map_err(|e| format!("the regular expression {pattern:?} is not valid: {e}"))?;
    Ok(format!("(?s)^(?:{pattern})$"))
}

/// Whether a Lucene pattern may mean something else to Rust's regex crate.
fn differs_from_rust(pattern: &str) -> bool {
    let mut in_class = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let lucene_only = match c {
            '\\' => chars.next().is_none_or(char::is_alphanumeric),
            '[' => {
                in_class = true;
                false
            }
            ']' => {
                in_class = false;
                false
            }
            '^' | '$' => !in_class,
            '(' => chars.peek() == Some(&'?'),
            '&' | '~' | '<' | '>' | '#' | '@' | '"' => true,
            _ => false,
        };
        if lucene_only {
            return true;
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Prefilter

/// A query DSL filter every event the expression accepts passes: the conjuncts a cluster can
/// check exactly (keyword fields: term, terms, wildcard and prefix queries, case-insensitive
/// where EQL is); `None` when nothing can be said.
fn necessary(expr: &Expr) -> Option<Value> {
    match expr {
        Expr::And(items) => {
            let clauses: Vec<Value> = items.iter().filter_map(necessary).collect();
            match clauses.len() {
                0 => None,
                1 => clauses.into_iter().next(),
                _ => Some(json!({ "bool": { "filter": clauses } })),
            }
        }
        Expr::Or(items) => items
            .iter()
            .map(necessary)
            .collect::<Option<Vec<Value>>>()
            .map(should),
        Expr::Not(_) => None,
        Expr::Leaf(leaf) if is_keyword_field(&leaf.field) => leaf_dsl(leaf),
        Expr::Leaf(_) => None,
    }
}

fn should(clauses: Vec<Value>) -> Value {
    match <[Value; 1]>::try_from(clauses) {
        Ok([one]) => one,
        Err(many) => json!({ "bool": { "should": many, "minimum_should_match": 1 } }),
    }
}

fn is_keyword_field(field: &str) -> bool {
    crate::event::mapping::cloudtrail_mapping()
        .field(field)
        .is_some_and(|m| m.ty.is_keyword_like())
}

fn leaf_dsl(leaf: &Leaf) -> Option<Value> {
    let f = leaf.field.as_str();
    let term = |value: &str, ci: bool| match ci {
        true => json!({ "term": { f: { "value": value, "case_insensitive": true } } }),
        false => json!({ "term": { f: value } }),
    };
    let wildcard = |value: String, ci: bool| match ci {
        true => json!({ "wildcard": { f: { "value": value, "case_insensitive": true } } }),
        false => json!({ "wildcard": { f: value } }),
    };
    match &leaf.test {
        Test::Eq(Literal::Str(s)) => Some(term(s, false)),
        Test::In(values, ci) => {
            let texts = strings(values.clone(), "in").ok()?;
            match ci {
                true => Some(should(texts.iter().map(|s| term(s, true)).collect())),
                false => Some(json!({ "terms": { f: texts } })),
            }
        }
        Test::Glob(patterns, ci) => Some(should(
            patterns
                .iter()
                .map(|p| match p.contains(['*', '?']) {
                    true => wildcard(p.clone(), *ci),
                    false => term(p, *ci),
                })
                .collect(),
        )),
        Test::Str(function, Literal::Str(s), ci) => Some(match function {
            StrFn::Contains => wildcard(format!("*{}*", escape_wildcard(s)), *ci),
            StrFn::EndsWith => wildcard(format!("*{}", escape_wildcard(s)), *ci),
            StrFn::StartsWith if *ci => {
                json!({ "prefix": { f: { "value": s, "case_insensitive": true } } })
            }
            StrFn::StartsWith => json!({ "prefix": { f: s } }),
        }),
        _ => None,
    }
}

/// A literal inside a wildcard query: `*`, `?` and `\` escaped.
fn escape_wildcard(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests;
