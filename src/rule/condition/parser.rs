//! Tokens → compiled expression tree. Operands are validated and prepared here (regexes
//! compiled, CIDR blocks parsed, case-insensitive patterns lower-cased) so evaluation does no
//! parsing.

use super::lexer::{Spanned, Token};
use super::{ConditionError, Pos};
use crate::event::arn::ArnPart;
use crate::event::from_ecs::EcsPath;
use crate::event::path::FieldPath;
use crate::event::udm::UdmField;
use crate::net::Cidr;
use regex::Regex;
use serde_json::Number;

/// A compiled boolean expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// All must hold (lines of a condition, `and`).
    All(Vec<Expr>),
    /// At least one must hold (`or`).
    Any(Vec<Expr>),
    /// Negation (`not`).
    Not(Box<Expr>),
    /// A single predicate.
    Pred(Box<Predicate>),
}

impl Expr {
    /// Calls `f` on every predicate, in source order.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Predicate)) {
        match self {
            Expr::All(items) | Expr::Any(items) => items.iter().for_each(|e| e.walk(f)),
            Expr::Not(inner) => inner.walk(f),
            Expr::Pred(p) => f(p),
        }
    }
}

/// What a predicate reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// A CloudTrail field path.
    Path(FieldPath),
    /// A data-model field computed by eshunt (`udm.actor_user`).
    Udm(UdmField),
    /// A part of the ARNs a path holds (`arn_account(userIdentity.arn)`); absent where a value
    /// is not a well-formed ARN.
    Arn(ArnPart, FieldPath),
    /// A field of the event's ECS document (`ecs(cloud.account.id)`): the document itself for
    /// ECS input, or the one Elastic's integration makes of a raw record — so fields added at
    /// ingest (GeoIP `source.as.*`) exist only in the cluster.
    Ecs(EcsPath),
}

/// The functions that name a field in a condition: `field(path)` (a field as the operand of a
/// comparison) and the ARN parts.
fn functions() -> impl Iterator<Item = &'static str> {
    [FIELD_FUNCTION, ECS_FUNCTION]
        .into_iter()
        .chain(ArnPart::ALL.iter().map(|(name, _)| *name))
}

/// `ecs(path)`: a field of the event's ECS document.
const ECS_FUNCTION: &str = "ecs";

/// `field(path)`: another field as a comparison's operand.
const FIELD_FUNCTION: &str = "field";

impl Field {
    /// The reference as written in the rule.
    pub fn name(&self) -> String {
        match self {
            Field::Path(p) => p.to_string(),
            Field::Udm(u) => {
                let name = UdmField::ALL
                    .iter()
                    .find(|(_, f)| f == u)
                    .map_or("?", |(n, _)| n);
                format!("udm.{name}")
            }
            Field::Arn(part, path) => format!("{}({path})", part.function()),
            Field::Ecs(path) => format!("{ECS_FUNCTION}({})", path.as_str()),
        }
    }

    /// The reference as written as a comparison's operand (`field(recipientAccountId)`).
    pub fn operand_name(&self) -> String {
        match self {
            Field::Arn(..) | Field::Ecs(_) => self.name(),
            Field::Path(_) | Field::Udm(_) => format!("{FIELD_FUNCTION}({})", self.name()),
        }
    }

    /// The CloudTrail path read, for a path or an ARN part.
    pub fn path(&self) -> Option<&FieldPath> {
        match self {
            Field::Path(p) | Field::Arn(_, p) => Some(p),
            Field::Udm(_) | Field::Ecs(_) => None,
        }
    }

    /// Parses a reference outside conditions (templates, alert context): `path`, `udm.name`,
    /// `arn_account(path)` or `field(path)`.
    pub fn parse(text: &str) -> Result<Field, String> {
        let call = text.strip_suffix(')').and_then(|head| head.split_once('('));
        match call {
            Some((function, arg)) => Field::call(function.trim(), arg.trim()),
            None => plain_field(text),
        }
    }

    /// `function(arg)`: `field(path)` is the field itself, `arn_…(path)` a part of its ARNs.
    fn call(function: &str, arg: &str) -> Result<Field, String> {
        if function.eq_ignore_ascii_case(FIELD_FUNCTION) {
            return plain_field(arg);
        }
        if function.eq_ignore_ascii_case(ECS_FUNCTION) {
            return EcsPath::parse(arg).map(Field::Ecs);
        }
        let part = ArnPart::from_function(function).ok_or_else(|| {
            format!(
                "unknown function `{function}` (functions: {})",
                functions().collect::<Vec<_>>().join(", ")
            )
        })?;
        if UdmField::from_path(arg).is_some() || arg.contains(['(', ')']) {
            return Err(format!(
                "`{function}` reads a CloudTrail field path holding ARNs, not `{arg}`"
            ));
        }
        FieldPath::parse(arg)
            .map(|path| Field::Arn(part, path))
            .map_err(|e| e.to_string())
    }
}

/// A path or a data-model field.
fn plain_field(text: &str) -> Result<Field, String> {
    match UdmField::from_path(text) {
        Some(udm) => udm.map(Field::Udm),
        None => FieldPath::parse(text)
            .map(Field::Path)
            .map_err(|e| e.to_string()),
    }
}

/// A literal operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A string; matches JSON strings only.
    Str(String),
    /// A number; matches JSON numbers only (`1` equals `1.0`).
    Num(Number),
    /// A boolean; matches JSON booleans only.
    Bool(bool),
}

/// Numeric comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
}

/// How a value of a predicate's field is compared with a value of the field it refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefTest {
    /// `eq` / `in` (negated: `ne` / `not_in`) — typed equality.
    Eq,
    /// `ieq` / `iin` (negated: `ine` / `not_iin`) — case-insensitive string equality.
    IEq,
    /// `starts_with` / `istarts_with` (the bool: case-insensitive).
    StartsWith(bool),
    /// `ends_with` / `iends_with`.
    EndsWith(bool),
    /// `contains` / `icontains`.
    Contains(bool),
    /// `gt` / `gte` / `lt` / `lte` — numbers, or strings that parse as numbers.
    Cmp(CmpOp),
}

/// A compiled operator with its operand.
#[derive(Debug, Clone)]
pub enum Op {
    /// `eq` — some value equals the literal (type and value).
    Eq(Scalar),
    /// `ne` — no value equals the literal (true when the field is absent).
    Ne(Scalar),
    /// `in [..]` — some value equals one of the literals.
    In(Vec<Scalar>),
    /// `not_in [..]` — no value equals any of the literals.
    NotIn(Vec<Scalar>),
    /// `ieq` / `ine` / `iin` / `not_iin` — case-insensitive string equality; the bool negates.
    IEq(Vec<String>, bool),
    /// `starts_with` / `istarts_with` (lower-cased pattern when case-insensitive).
    StartsWith(Vec<String>, bool),
    /// `ends_with` / `iends_with`.
    EndsWith(Vec<String>, bool),
    /// `contains` / `icontains`.
    Contains(Vec<String>, bool),
    /// `matches` / `imatches` — a regular expression found anywhere in a string value.
    Matches(Regex),
    /// `gt` / `gte` / `lt` / `lte` — numbers, or strings that parse as numbers.
    Cmp(CmpOp, f64),
    /// `cidr` — an IP address (string) inside one of the blocks.
    Cidr(Vec<Cidr>),
    /// `is_null` — absent, `null`, `""`, `[]` or `{}` everywhere the path reaches.
    IsNull,
    /// `is_not_null` — the negation of `is_null`.
    IsNotNull,
    /// `is_falsy` — Python's truthiness: absent, `null`, `""`, `0`, `false`, `[]` or `{}`
    /// everywhere the path reaches (for ports of Python rules).
    IsFalsy,
    /// `is_truthy` — the negation of `is_falsy`.
    IsTruthy,
    /// A comparison with another field (`ne field(recipientAccountId)`): holds when some value
    /// of the predicate's field and some value of `other` pass `test`; when `negate`, holds when
    /// no pair does (so `ne` is `not eq`, true when either side is absent).
    Ref {
        /// The comparison of one pair of values.
        test: RefTest,
        /// `ne`, `ine`, `not_in`, `not_iin`.
        negate: bool,
        /// The field compared with.
        other: Field,
    },
}

impl Op {
    /// The operand as it would be written in a condition (empty for null and truthiness checks).
    pub fn operand_text(&self) -> String {
        let quote = |s: &String| format!("{s:?}");
        let list = |items: Vec<String>| {
            if items.len() == 1 {
                items.into_iter().next().unwrap_or_default()
            } else {
                format!("[{}]", items.join(", "))
            }
        };
        match self {
            Op::Eq(s) | Op::Ne(s) => scalar_text(s),
            Op::In(set) | Op::NotIn(set) => format!(
                "[{}]",
                set.iter().map(scalar_text).collect::<Vec<_>>().join(", ")
            ),
            Op::IEq(set, _)
            | Op::StartsWith(set, _)
            | Op::EndsWith(set, _)
            | Op::Contains(set, _) => list(set.iter().map(quote).collect()),
            Op::Matches(re) => format!("{:?}", re.as_str()),
            Op::Cmp(_, n) => n.to_string(),
            Op::Cidr(blocks) => list(blocks.iter().map(|b| format!("\"{b}\"")).collect()),
            Op::IsNull | Op::IsNotNull | Op::IsFalsy | Op::IsTruthy => String::new(),
            Op::Ref { other, .. } => other.operand_name(),
        }
    }
}

fn scalar_text(s: &Scalar) -> String {
    match s {
        Scalar::Str(s) => format!("{s:?}"),
        Scalar::Num(n) => n.to_string(),
        Scalar::Bool(b) => b.to_string(),
    }
}

/// One `field operator operand` clause.
#[derive(Debug, Clone)]
pub struct Predicate {
    /// The field read.
    pub field: Field,
    /// The operator and operand.
    pub op: Op,
    /// Where the clause starts in the condition text.
    pub pos: Pos,
    /// The operator as written (for explanations).
    pub op_name: String,
}

impl Predicate {
    /// The fields the predicate reads: its own, and the one its operand refers to.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        let other = match &self.op {
            Op::Ref { other, .. } => Some(other),
            _ => None,
        };
        std::iter::once(&self.field).chain(other)
    }
}

/// The operator names, for help and error messages.
pub const OPERATORS: &[&str] = &[
    "eq",
    "ne",
    "in",
    "not_in",
    "ieq",
    "ine",
    "iin",
    "not_iin",
    "starts_with",
    "istarts_with",
    "ends_with",
    "iends_with",
    "contains",
    "icontains",
    "matches",
    "imatches",
    "gt",
    "gte",
    "lt",
    "lte",
    "cidr",
    "is_null",
    "is_not_null",
    "is_falsy",
    "is_truthy",
];

/// Parses a token stream into an expression: lines ANDed.
pub fn parse(tokens: &[Spanned]) -> Result<Expr, ConditionError> {
    let mut parser = Parser { tokens, at: 0 };
    let mut lines = Vec::new();
    loop {
        parser.skip_newlines();
        if parser.peek().is_none() {
            break;
        }
        lines.push(parser.or_expr()?);
        match parser.peek() {
            None | Some(Token::Newline) => {}
            Some(other) => {
                let other = other.describe();
                return Err(parser.error(format!(
                    "expected `and`, `or` or the end of the line, found {other}"
                )));
            }
        }
    }
    match lines.len() {
        0 => Err(ConditionError::new(
            Pos { line: 1, col: 1 },
            "the condition is empty",
        )),
        1 => Ok(lines.pop().expect("one line")),
        _ => Ok(Expr::All(lines)),
    }
}

struct Parser<'a> {
    tokens: &'a [Spanned],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|s| &s.token)
    }

    fn pos(&self) -> Pos {
        self.tokens
            .get(self.at)
            .or(self.tokens.last())
            .map_or(Pos { line: 1, col: 1 }, |s| s.pos)
    }

    fn next(&mut self) -> Option<&Token> {
        let token = self.tokens.get(self.at).map(|s| &s.token);
        self.at += 1;
        token
    }

    fn error(&self, message: impl Into<String>) -> ConditionError {
        ConditionError::new(self.pos(), message)
    }

    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Token::Newline) {
            self.at += 1;
        }
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword)) {
            self.at += 1;
            self.skip_newlines();
            true
        } else {
            false
        }
    }

    fn or_expr(&mut self) -> Result<Expr, ConditionError> {
        let mut items = vec![self.and_expr()?];
        while self.eat_keyword("or") {
            items.push(self.and_expr()?);
        }
        Ok(collapse(items, Expr::Any))
    }

    fn and_expr(&mut self) -> Result<Expr, ConditionError> {
        let mut items = vec![self.unary()?];
        while self.eat_keyword("and") {
            items.push(self.unary()?);
        }
        Ok(collapse(items, Expr::All))
    }

    fn unary(&mut self) -> Result<Expr, ConditionError> {
        if self.eat_keyword("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        match self.peek() {
            Some(Token::Open) => {
                let open = self.pos();
                self.at += 1;
                let inner = self.or_expr()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err(ConditionError::new(open, "this `(` is never closed")),
                }
            }
            Some(Token::Word(_)) => self.predicate(),
            Some(other) => {
                let other = other.describe();
                Err(self.error(format!(
                    "expected a field name, `not` or `(`, found {other}"
                )))
            }
            None => Err(self.error("expected a predicate, found the end of the condition")),
        }
    }

    /// True when the next tokens are `word (`: a function call naming a field.
    fn at_call(&self) -> bool {
        matches!(self.peek(), Some(Token::Word(_)))
            && matches!(self.tokens.get(self.at + 1), Some(s) if s.token == Token::Open)
    }

    fn predicate(&mut self) -> Result<Expr, ConditionError> {
        let pos = self.pos();
        let Some(Token::Word(name)) = self.next().cloned() else {
            unreachable!("predicate() is called on a word")
        };
        let field = if self.peek() == Some(&Token::Open) {
            self.call(&name, pos)?
        } else {
            compile_field(&name).map_err(|m| ConditionError::new(pos, m))?
        };
        let op_pos = self.pos();
        let op_name = match self.next() {
            Some(Token::Word(op)) => op.to_ascii_lowercase(),
            other => {
                let found = other.map_or("the end of the line".into(), Token::describe);
                return Err(ConditionError::new(
                    op_pos,
                    format!(
                        "expected an operator after `{}`, found {found} (operators: {})",
                        field.name(),
                        OPERATORS.join(", ")
                    ),
                ));
            }
        };
        let op = self.operator(&op_name, op_pos)?;
        Ok(Expr::Pred(Box::new(Predicate {
            field,
            op,
            pos,
            op_name,
        })))
    }

    /// `function(path)`, the function's name just read (at `pos`) and `(` next.
    fn call(&mut self, function: &str, pos: Pos) -> Result<Field, ConditionError> {
        if !functions().any(|f| f.eq_ignore_ascii_case(function)) {
            return Err(ConditionError::new(
                pos,
                format!(
                    "unknown function `{function}` (functions: {})",
                    functions().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        self.at += 1;
        let arg_pos = self.pos();
        let arg = match self.next().cloned() {
            Some(Token::Word(w)) => w,
            other => {
                let found = other.map_or("the end of the condition".into(), |t| t.describe());
                return Err(ConditionError::new(
                    arg_pos,
                    format!("expected a field name in `{function}(…)`, found {found}"),
                ));
            }
        };
        let close_pos = self.pos();
        match self.next() {
            Some(Token::Close) => {}
            other => {
                let found = other.map_or("the end of the condition".into(), Token::describe);
                return Err(ConditionError::new(
                    close_pos,
                    format!("expected `)` after `{function}({arg}`, found {found}"),
                ));
            }
        }
        reject_keyword(&arg)
            .and_then(|()| Field::call(function, &arg))
            .map_err(|m| ConditionError::new(arg_pos, m))
    }

    /// The operand of `name` is another field (`ne field(recipientAccountId)`).
    fn reference_operand(&mut self, name: &str, pos: Pos) -> Result<Op, ConditionError> {
        let at = self.pos();
        let Some((test, negate)) = ref_test(name) else {
            return Err(if OPERATORS.contains(&name) {
                ConditionError::new(
                    at,
                    format!("`{name}` takes a literal operand, not a field reference"),
                )
            } else {
                ConditionError::new(pos, unknown_operator(name))
            });
        };
        let Some(Token::Word(function)) = self.next().cloned() else {
            unreachable!("reference_operand() is called on `word (`")
        };
        let other = self.call(&function, at)?;
        Ok(Op::Ref {
            test,
            negate,
            other,
        })
    }

    fn operator(&mut self, name: &str, pos: Pos) -> Result<Op, ConditionError> {
        let op = match name {
            "is_null" => Op::IsNull,
            "is_not_null" => Op::IsNotNull,
            "is_falsy" => Op::IsFalsy,
            "is_truthy" => Op::IsTruthy,
            _ if self.at_call() => return self.reference_operand(name, pos),
            "eq" => Op::Eq(self.scalar()?),
            "ne" => Op::Ne(self.scalar()?),
            "in" => Op::In(self.scalar_list()?),
            "not_in" => Op::NotIn(self.scalar_list()?),
            "ieq" | "iin" => Op::IEq(self.strings(true)?, false),
            "ine" | "not_iin" => Op::IEq(self.strings(true)?, true),
            "starts_with" => Op::StartsWith(self.strings(false)?, false),
            "istarts_with" => Op::StartsWith(self.strings(true)?, true),
            "ends_with" => Op::EndsWith(self.strings(false)?, false),
            "iends_with" => Op::EndsWith(self.strings(true)?, true),
            "contains" => Op::Contains(self.strings(false)?, false),
            "icontains" => Op::Contains(self.strings(true)?, true),
            "matches" => Op::Matches(self.regex(false)?),
            "imatches" => Op::Matches(self.regex(true)?),
            "gt" => Op::Cmp(CmpOp::Gt, self.number()?),
            "gte" => Op::Cmp(CmpOp::Gte, self.number()?),
            "lt" => Op::Cmp(CmpOp::Lt, self.number()?),
            "lte" => Op::Cmp(CmpOp::Lte, self.number()?),
            "cidr" => Op::Cidr(self.cidrs()?),
            other => return Err(ConditionError::new(pos, unknown_operator(other))),
        };
        Ok(op)
    }

    fn scalar(&mut self) -> Result<Scalar, ConditionError> {
        let pos = self.pos();
        match self.next().cloned() {
            Some(Token::Str(s)) => Ok(Scalar::Str(s)),
            Some(Token::Number(n)) => parse_number(&n)
                .map(Scalar::Num)
                .ok_or_else(|| ConditionError::new(pos, format!("invalid number `{n}`"))),
            Some(Token::Word(w)) if w == "true" || w == "false" => Ok(Scalar::Bool(w == "true")),
            Some(Token::Word(w)) if w == "null" => Err(ConditionError::new(
                pos,
                "compare with null using `is_null` / `is_not_null`",
            )),
            Some(Token::Word(w)) => Err(ConditionError::new(
                pos,
                format!(
                    "expected a value, found `{w}` (quote strings: \"{w}\"; compare with a field: field({w}))"
                ),
            )),
            other => Err(ConditionError::new(
                pos,
                format!(
                    "expected a value, found {}",
                    other.map_or("the end of the line".into(), |t| t.describe())
                ),
            )),
        }
    }

    /// `[a, b, c]`, or a single value.
    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, ConditionError>,
    ) -> Result<Vec<T>, ConditionError> {
        if self.peek() != Some(&Token::ListOpen) {
            return Ok(vec![item(self)?]);
        }
        let open = self.pos();
        self.at += 1;
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(&Token::ListClose) {
                self.at += 1;
                break;
            }
            if self.at_call() {
                return Err(self.error(
                    "a list holds literal values only; compare with another field's values as `in field(path)`",
                ));
            }
            items.push(item(self)?);
            match self.next() {
                Some(Token::Comma) => {}
                Some(Token::ListClose) => break,
                _ => return Err(ConditionError::new(open, "this `[` is never closed")),
            }
        }
        if items.is_empty() {
            return Err(ConditionError::new(open, "the list is empty"));
        }
        Ok(items)
    }

    fn scalar_list(&mut self) -> Result<Vec<Scalar>, ConditionError> {
        self.list(Self::scalar)
    }

    fn string(&mut self) -> Result<String, ConditionError> {
        let pos = self.pos();
        match self.next().cloned() {
            Some(Token::Str(s)) => Ok(s),
            other => Err(ConditionError::new(
                pos,
                format!(
                    "expected a quoted string, found {}",
                    other.map_or("the end of the line".into(), |t| t.describe())
                ),
            )),
        }
    }

    fn strings(&mut self, lower: bool) -> Result<Vec<String>, ConditionError> {
        let items = self.list(Self::string)?;
        Ok(if lower {
            items.into_iter().map(|s| s.to_lowercase()).collect()
        } else {
            items
        })
    }

    fn regex(&mut self, case_insensitive: bool) -> Result<Regex, ConditionError> {
        let pos = self.pos();
        let pattern = self.string()?;
        regex::RegexBuilder::new(&pattern)
            .case_insensitive(case_insensitive)
            .build()
            .map_err(|e| ConditionError::new(pos, format!("invalid regular expression: {e}")))
    }

    fn number(&mut self) -> Result<f64, ConditionError> {
        let pos = self.pos();
        match self.next().cloned() {
            Some(Token::Number(n)) => n
                .parse()
                .map_err(|_| ConditionError::new(pos, format!("invalid number `{n}`"))),
            other => Err(ConditionError::new(
                pos,
                format!(
                    "expected a number, found {}",
                    other.map_or("the end of the line".into(), |t| t.describe())
                ),
            )),
        }
    }

    fn cidrs(&mut self) -> Result<Vec<Cidr>, ConditionError> {
        self.list(|p| {
            let pos = p.pos();
            let text = p.string()?;
            Cidr::parse(&text).map_err(|e| ConditionError::new(pos, e.to_string()))
        })
    }
}

fn collapse(mut items: Vec<Expr>, wrap: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        items.pop().expect("one item")
    } else {
        wrap(items)
    }
}

fn compile_field(name: &str) -> Result<Field, String> {
    reject_keyword(name)?;
    plain_field(name)
}

fn reject_keyword(name: &str) -> Result<(), String> {
    if OPERATORS.contains(&name) || ["and", "or", "not"].contains(&name) {
        return Err(format!("expected a field name, found the keyword `{name}`"));
    }
    Ok(())
}

fn unknown_operator(name: &str) -> String {
    format!(
        "unknown operator `{name}` (operators: {})",
        OPERATORS.join(", ")
    )
}

/// The comparison an operator makes with another field, and whether it is negated; `None` for
/// operators that take a literal (`matches`, `cidr`) or none.
fn ref_test(name: &str) -> Option<(RefTest, bool)> {
    let test = match name {
        "eq" | "in" | "ne" | "not_in" => RefTest::Eq,
        "ieq" | "iin" | "ine" | "not_iin" => RefTest::IEq,
        "starts_with" => RefTest::StartsWith(false),
        "istarts_with" => RefTest::StartsWith(true),
        "ends_with" => RefTest::EndsWith(false),
        "iends_with" => RefTest::EndsWith(true),
        "contains" => RefTest::Contains(false),
        "icontains" => RefTest::Contains(true),
        "gt" => RefTest::Cmp(CmpOp::Gt),
        "gte" => RefTest::Cmp(CmpOp::Gte),
        "lt" => RefTest::Cmp(CmpOp::Lt),
        "lte" => RefTest::Cmp(CmpOp::Lte),
        _ => return None,
    };
    Some((test, ["ne", "not_in", "ine", "not_iin"].contains(&name)))
}

fn parse_number(text: &str) -> Option<Number> {
    if let Ok(i) = text.parse::<i64>() {
        return Some(i.into());
    }
    text.parse::<f64>().ok().and_then(Number::from_f64)
}
