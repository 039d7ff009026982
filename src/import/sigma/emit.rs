//! A detection tree → an eshunt condition and a query DSL prefilter.
//!
//! The condition keeps Sigma's meaning (case-insensitive operators unless `cased`). The
//! prefilter keeps only what Elasticsearch can check soundly — it may let more through, never
//! less: equality on CloudTrail fields stored verbatim as keywords (`term`), and patterns on
//! `event.action`/`event.provider` (`prefix`, `wildcard`), all with `case_insensitive`; AND and
//! OR structure where every branch has a clause; nothing under a `not`.

use super::detection::{Kind, Node, Position, Test};
use super::value::{Pieces, Shape};
use crate::event::from_ecs::{Storage, When, FIELDS};
use serde_json::{json, Value};

/// The prefilter of a rule whose detection gives none: every CloudTrail document.
pub fn broad_prefilter() -> Value {
    json!({ "term": { "data_stream.dataset": "aws.cloudtrail" } })
}

/// The eshunt condition: the parts of the top-level AND (nested ANDs flattened) one per line.
pub fn condition(node: &Node) -> String {
    let mut lines = Vec::new();
    conjuncts(node, &mut lines);
    lines
        .iter()
        .map(|n| render(n, Prec::Or))
        .collect::<Vec<_>>()
        .join("\n")
}

fn conjuncts<'a>(node: &'a Node, out: &mut Vec<&'a Node>) {
    match node {
        Node::And(items) => items.iter().for_each(|n| conjuncts(n, out)),
        other => out.push(other),
    }
}

/// How tightly an expression binds, loosest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Or,
    And,
    Atom,
}

fn render(node: &Node, min: Prec) -> String {
    let (text, prec) = match node {
        Node::Or(items) => (
            // `a or (b and c)`: parentheses the reader need not work out.
            list_form(items).unwrap_or_else(|| join(items, " or ", Prec::Atom)),
            Prec::Or,
        ),
        Node::And(items) => (join(items, " and ", Prec::Atom), Prec::And),
        Node::Not(inner) => (format!("not {}", render(inner, Prec::Atom)), Prec::Atom),
        Node::Test(test) => (predicate(test), Prec::Atom),
    };
    match prec < min {
        true => format!("({text})"),
        false => text,
    }
}

fn join(items: &[Node], separator: &str, min: Prec) -> String {
    let parts: Vec<String> = items.iter().map(|n| render(n, min)).collect();
    parts.join(separator)
}

/// `f iin ["a", "b"]` for an OR of the same simple test of one field.
fn list_form(items: &[Node]) -> Option<String> {
    let mut field = None;
    let mut operator = None;
    let mut values = Vec::new();
    for item in items {
        let Node::Test(test) = item else { return None };
        let (op, value) = simple(test)?;
        let name = field_text(test);
        if *field.get_or_insert_with(|| name.clone()) != name || *operator.get_or_insert(op) != op {
            return None;
        }
        values.push(quote(&value));
    }
    let op = match operator? {
        "ieq" => "iin",
        "eq" => "in",
        other => other,
    };
    Some(format!("{} {op} [{}]", field?, values.join(", ")))
}

/// A test that is one operator and one string.
fn simple(test: &Test) -> Option<(&'static str, String)> {
    let Kind::Pattern { pieces, cased } = &test.kind else {
        return None;
    };
    let (op, value) = match pieces.shape() {
        Shape::Exact(s) => ("eq", s),
        Shape::Contains(s) => ("contains", s),
        Shape::StartsWith(s) => ("starts_with", s),
        Shape::EndsWith(s) => ("ends_with", s),
        Shape::Anything | Shape::Regex(_) => return None,
    };
    Some((cased_op(op, *cased), value))
}

/// `ieq` for `eq` unless cased, and so on.
fn cased_op(op: &'static str, cased: bool) -> &'static str {
    match (cased, op) {
        (true, op) => op,
        (false, "eq") => "ieq",
        (false, "contains") => "icontains",
        (false, "starts_with") => "istarts_with",
        (false, "ends_with") => "iends_with",
        (false, _) => "imatches",
    }
}

/// One test as an eshunt predicate.
fn predicate(test: &Test) -> String {
    let f = field_text(test);
    if let Some((op, value)) = simple(test) {
        return format!("{f} {op} {}", quote(&value));
    }
    match &test.kind {
        Kind::Null => format!("{f} is_null"),
        Kind::NotNull => format!("{f} is_not_null"),
        Kind::Pattern { pieces, cased } => match pieces.shape() {
            // Any string at all: every string starts with "".
            Shape::Anything => format!("{f} starts_with \"\""),
            shape => format!(
                "{f} {} {}",
                cased_op("matches", *cased),
                quote(&shape_regex(shape))
            ),
        },
        Kind::Typed { text, json, cased } => {
            let text = format!("{f} {} {}", cased_op("eq", *cased), quote(text));
            match whole_object(&test.field) {
                Some(_) => text,
                None => format!("({text} or {f} eq {json})"),
            }
        }
        Kind::Regex { regex, insensitive } => {
            let op = if *insensitive { "imatches" } else { "matches" };
            format!("{f} {op} {}", quote(regex))
        }
        Kind::Cidr(block) => format!("{f} cidr {}", quote(block)),
        Kind::FieldRef { other, how, cased } => {
            let op = match how {
                Position::Whole => "eq",
                Position::Contains => "contains",
                Position::StartsWith => "starts_with",
                Position::EndsWith => "ends_with",
            };
            format!("{f} {} field({other})", cased_op(op, *cased))
        }
        Kind::Compare { op, number } => format!("{f} {op} {number}"),
    }
}

fn shape_regex(shape: Shape) -> String {
    match shape {
        Shape::Regex(r) => r,
        other => unreachable!("simple shapes are written without a regex: {other:?}"),
    }
}

/// The field as the condition reads it: a whole `requestParameters`-like object matched as a
/// string is read as the Java-map text Elastic's integration stores (`ecs(…)`).
fn field_text(test: &Test) -> String {
    let string_test = matches!(
        test.kind,
        Kind::Pattern { .. } | Kind::Typed { .. } | Kind::Regex { .. }
    );
    match whole_object(&test.field) {
        Some(text) if string_test => format!("ecs({text})"),
        _ => test.field.clone(),
    }
}

/// The ECS keyword holding the Java-map text of a whole CloudTrail object
/// (`requestParameters` → `aws.cloudtrail.request_parameters`).
pub fn whole_object(field: &str) -> Option<&'static str> {
    FIELDS.iter().find_map(|row| match row.storage {
        Storage::Subtree(text) if row.cloudtrail.eq_ignore_ascii_case(field) => Some(text),
        _ => None,
    })
}

/// A condition string literal.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The prefilter the detection allows, if any (see the module documentation).
pub fn prefilter(node: &Node) -> Option<Value> {
    match node {
        Node::And(items) => {
            let mut parts: Vec<Value> = items.iter().filter_map(prefilter).collect();
            match parts.len() {
                0 => None,
                1 => parts.pop(),
                _ => Some(json!({ "bool": { "filter": parts } })),
            }
        }
        Node::Or(items) => {
            let mut parts: Vec<Value> = items.iter().map(prefilter).collect::<Option<_>>()?;
            match parts.len() {
                1 => parts.pop(),
                _ => Some(json!({ "bool": { "should": parts, "minimum_should_match": 1 } })),
            }
        }
        Node::Not(_) => None,
        Node::Test(test) => clause(test),
    }
}

/// Longest value a `term` clause is written for: keyword fields index values up to 1,024
/// characters (`ignore_above`), with room for what lower-casing may change.
const TERM_MAX_CHARS: usize = 512;

/// The clause of one test, if sound.
fn clause(test: &Test) -> Option<Value> {
    let Kind::Pattern { pieces, cased } = &test.kind else {
        return None;
    };
    let home = keyword_home(&test.field)?;
    if may_match_dropped(pieces, *cased) {
        return None;
    }
    let ci = !cased;
    match pieces.shape() {
        Shape::Exact(s) if s.chars().count() <= TERM_MAX_CHARS => {
            Some(json!({ "term": { home: { "value": s, "case_insensitive": ci } } }))
        }
        Shape::Anything | Shape::Exact(_) => None,
        _ if !bounded(home) => None,
        Shape::StartsWith(s) if !s.contains(['*', '?', '\\']) => {
            Some(json!({ "prefix": { home: { "value": s, "case_insensitive": ci } } }))
        }
        _ => pieces
            .es_wildcard()
            .map(|w| json!({ "wildcard": { home: { "value": w, "case_insensitive": ci } } })),
    }
}

/// Whether the pattern matches a string Elastic's ingest pipeline drops (`""`, `"-"`,
/// `"none"`): such a value has no ECS field for a clause to find.
fn may_match_dropped(pieces: &Pieces, cased: bool) -> bool {
    let flags = if cased { "" } else { "(?i)" };
    let Ok(re) = regex::Regex::new(&format!("{flags}{}", pieces.regex())) else {
        return true;
    };
    ["", "-", "none"].iter().any(|s| re.is_match(s))
}

/// The ECS keyword field a CloudTrail field is copied to unchanged, alone and always.
fn keyword_home(field: &str) -> Option<&'static str> {
    FIELDS.iter().find_map(|row| match row.ecs {
        [home]
            if row.storage == Storage::Verbatim
                && row.when == When::Always
                && row.cloudtrail.eq_ignore_ascii_case(field) =>
        {
            Some(*home)
        }
        _ => None,
    })
}

/// Fields whose values are always short (API and service names): a pattern on them can be
/// a prefilter, since no value is too long to be indexed.
fn bounded(home: &str) -> bool {
    matches!(home, "event.action" | "event.provider")
}

#[cfg(test)]
mod tests {
    use super::super::detection;
    use super::*;
    use yaml_rust2::YamlLoader;

    fn translate(text: &str) -> (String, Option<Value>) {
        let node = detection::parse(&YamlLoader::load_from_str(text).unwrap()[0]).unwrap();
        (condition(&node), prefilter(&node))
    }

    #[test]
    fn conditions_read_as_written() {
        let (text, _) = translate(
            "a: {eventName: [A, B], userAgent|contains: 'x\"y'}\nf: {errorCode|cased: E}\ncondition: a and not f",
        );
        assert_eq!(
            text,
            "eventName iin [\"A\", \"B\"]\nuserAgent icontains \"x\\\"y\"\nnot errorCode eq \"E\""
        );
        let (text, _) = translate("a: {x: 1}\nb: {y: 2, z: 3}\ncondition: a or b");
        assert_eq!(
            text,
            "(x ieq \"1\" or x eq 1) or ((y ieq \"2\" or y eq 2) and (z ieq \"3\" or z eq 3))"
        );
    }

    #[test]
    fn prefilters_are_sound_clauses_only() {
        let (_, dsl) = translate("a: {eventName|contains: 'Get*Policy'}\ncondition: a");
        assert_eq!(
            dsl,
            Some(
                json!({ "wildcard": { "event.action": { "value": "*Get*Policy*", "case_insensitive": true } } })
            )
        );
        // Patterns on fields whose values may be too long to be indexed, regexes, values the
        // pipeline drops, and an OR with one such branch give nothing.
        for text in [
            "a: {userAgent|contains: boto}\ncondition: a",
            "a: {eventName|re: 'Get.*'}\ncondition: a",
            "a: {errorCode: '-'}\ncondition: a",
            "a: {eventName: X}\nb: {userAgent|contains: y}\ncondition: a or b",
        ] {
            assert_eq!(translate(text).1, None, "{text}");
        }
    }
}
