//! The condition language: the fine logic a rule applies in Rust, after the coarse prefilter.
//!
//! ```text
//! # one predicate per line; all lines are ANDed
//! not (errorCode is_truthy or errorMessage is_truthy)
//! eventSource eq "lambda.amazonaws.com"
//! userIdentity.type in ["IAMUser", "FederatedUser"] or (userIdentity.type eq "AssumedRole"
//!     and userIdentity.sessionContext.sessionIssuer.userName starts_with "AWSReservedSSO_")
//! arn_account(requestParameters.roleArn) ne field(userIdentity.accountId)
//! ```
//!
//! A predicate is `<field> <operator> [<operand>]`. The field is a path, a data-model field
//! (`udm.actor_user`) or a part of the ARNs a path holds (`arn_account(path)`); the operand is a
//! literal, or another field: `field(path)` or an ARN part. Predicates combine with `and`, `or`,
//! `not` and parentheses (`not` binds tightest, then `and`, then `or`). A line break inside
//! parentheses or brackets, or after `and`/`or`/`not`, continues the line. `#` starts a comment.
//! The operators and the exact semantics are documented in the README ("Condition language")
//! and on [`Op`].

mod eval;
mod lexer;
mod parser;

pub use eval::{Evaluation, Trace};
pub use parser::{CmpOp, Expr, Field, Op, Predicate, RefTest, Scalar};

use std::fmt;

/// A position in condition text, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub col: usize,
}

/// A syntax or validation error in a condition, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct ConditionError {
    /// Where the offending text starts.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
}

impl ConditionError {
    fn new(pos: Pos, message: impl Into<String>) -> ConditionError {
        ConditionError {
            pos,
            message: message.into(),
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A compiled condition: regexes, CIDR blocks and paths are prepared once at load.
#[derive(Debug, Clone)]
pub struct Condition {
    expr: Expr,
    text: String,
}

impl Condition {
    /// Parses and compiles condition text.
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let tokens = lexer::tokenize(text)?;
        let expr = parser::parse(&tokens)?;
        Ok(Condition {
            expr,
            text: text.to_string(),
        })
    }

    /// The condition as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The compiled expression tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Every predicate, in source order.
    pub fn predicates(&self) -> Vec<&Predicate> {
        let mut out = Vec::new();
        self.expr.walk(&mut |p| out.push(p));
        out
    }
}
