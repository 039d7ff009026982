//! Literal needles: strings an event's JSON text must contain for a rule to possibly match,
//! derived from the rule at load. A scan checks them with `memchr`'s substring search and skips
//! parsing records that lack them — most records, for most rules.
//!
//! Soundness: a needle is only taken from a case-sensitive string predicate (`eq`, `in`,
//! `starts_with`, `ends_with`, `contains`) on a field whose value reaches every supported input
//! form unchanged (raw record, `event.original`, ECS field), and only when it contains no
//! character JSON must escape. A line containing `\u` or `\/` may spell a needle with escapes,
//! so such lines are never skipped.

use super::condition::{Expr, Field, Op, Scalar};
use crate::event::from_ecs::{storage_of, Storage};
use memchr::memmem::Finder;

/// A conjunction of disjunctions of literal strings (`all of (any of …)`).
#[derive(Debug, Clone, Default)]
pub struct Needles {
    clauses: Vec<Vec<Finder<'static>>>,
}

impl Needles {
    /// Derives the needles of a condition.
    pub fn from_condition(expr: &Expr) -> Needles {
        let mut clauses = cnf(expr);
        clauses.iter_mut().for_each(|c| {
            c.sort();
            c.dedup();
        });
        clauses.sort();
        clauses.dedup();
        Needles::from_clauses(clauses)
    }

    /// Builds needles from explicit clauses (each a list of alternatives).
    pub fn from_clauses(clauses: Vec<Vec<String>>) -> Needles {
        Needles {
            clauses: clauses
                .into_iter()
                .filter(|c| !c.is_empty())
                .map(|c| {
                    c.iter()
                        .map(|s| Finder::new(s.as_bytes()).into_owned())
                        .collect()
                })
                .collect(),
        }
    }

    /// Adds the clauses of `other` (both must hold).
    pub fn and(mut self, other: Needles) -> Needles {
        self.clauses.extend(other.clauses);
        self
    }

    /// True when nothing is required (every record must be parsed).
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// The clauses as text, for `eshunt rules --verbose` and tests.
    pub fn describe(&self) -> Vec<Vec<String>> {
        self.clauses
            .iter()
            .map(|c| {
                c.iter()
                    .map(|f| String::from_utf8_lossy(f.needle()).into_owned())
                    .collect()
            })
            .collect()
    }

    /// False only when `text` cannot match: some clause has no needle in it.
    pub fn may_match(&self, text: &[u8]) -> bool {
        if self.clauses.is_empty() || escapes_may_hide_literals(text) {
            return true;
        }
        self.clauses
            .iter()
            .all(|clause| clause.iter().any(|f| f.find(text).is_some()))
    }
}

/// True when JSON escapes in `text` could spell a needle differently (`\u0041`, `\/`).
pub fn escapes_may_hide_literals(text: &[u8]) -> bool {
    memchr::memmem::find(text, b"\\u").is_some() || memchr::memmem::find(text, b"\\/").is_some()
}

fn cnf(expr: &Expr) -> Vec<Vec<String>> {
    match expr {
        Expr::All(items) => items.iter().flat_map(cnf).collect(),
        Expr::Any(items) => {
            let mut union = Vec::new();
            for item in items {
                match best_clause(cnf(item)) {
                    Some(clause) => union.extend(clause),
                    None => return Vec::new(),
                }
            }
            vec![union]
        }
        Expr::Not(_) => Vec::new(),
        Expr::Pred(p) => predicate_literals(&p.field, &p.op).into_iter().collect(),
    }
}

/// The most selective clause: the one whose shortest alternative is longest.
fn best_clause(clauses: Vec<Vec<String>>) -> Option<Vec<String>> {
    clauses
        .into_iter()
        .max_by_key(|c| c.iter().map(String::len).min().unwrap_or(0))
}

fn predicate_literals(field: &Field, op: &Op) -> Option<Vec<String>> {
    let Field::Path(path) = field else {
        return None;
    };
    if storage_of(path.as_str()) == Some(Storage::Converted) {
        return None;
    }
    let literals: Vec<String> = match op {
        Op::Eq(Scalar::Str(s)) => vec![s.clone()],
        Op::In(set) => set
            .iter()
            .map(|s| match s {
                Scalar::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect::<Option<_>>()?,
        Op::StartsWith(set, false) | Op::EndsWith(set, false) | Op::Contains(set, false) => {
            set.clone()
        }
        _ => return None,
    };
    literals.iter().all(|s| is_plain(s)).then_some(literals)
}

/// Non-empty and free of characters JSON escapes (quotes, backslashes, control characters).
fn is_plain(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c == '"' || c == '\\' || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::condition::Condition;

    fn needles(condition: &str) -> Vec<Vec<String>> {
        Needles::from_condition(Condition::parse(condition).unwrap().expr()).describe()
    }

    #[test]
    fn conjunctions_and_alternatives() {
        assert_eq!(
            needles("eventSource eq \"lambda.amazonaws.com\"\neventName in [\"A1\", \"B1\"]"),
            vec![
                vec!["A1".to_string(), "B1".to_string()],
                vec!["lambda.amazonaws.com".to_string()]
            ]
        );
    }

    #[test]
    fn or_takes_one_clause_per_branch_or_nothing() {
        assert_eq!(
            needles(r#"a eq "xx" or (b eq "yyy" and c eq "z")"#),
            vec![vec!["xx".to_string(), "yyy".to_string()]]
        );
        assert!(needles(r#"a eq "xx" or b is_null"#).is_empty());
    }

    #[test]
    fn negations_case_insensitive_and_converted_fields_give_nothing() {
        assert!(needles(r#"not a eq "x""#).is_empty());
        assert!(needles(r#"a ieq "x""#).is_empty());
        assert!(needles(r#"eventTime starts_with "2024""#).is_empty());
        assert!(needles(r#"a eq "has\"quote""#).is_empty());
        assert!(needles("a eq 5").is_empty());
    }

    #[test]
    fn may_match_checks_every_clause() {
        let n = Needles::from_clauses(vec![
            vec!["lambda".into()],
            vec!["Update".into(), "Publish".into()],
        ]);
        assert!(n.may_match(br#"{"s":"lambda","n":"PublishLayer"}"#));
        assert!(!n.may_match(br#"{"s":"lambda","n":"Invoke"}"#));
        assert!(!n.may_match(br#"{"s":"s3","n":"Update"}"#));
        assert!(
            n.may_match(br#"{"s":"\u006cambda","n":"Update"}"#),
            "escapes defeat skipping"
        );
        assert!(Needles::default().may_match(b"anything"));
    }
}
