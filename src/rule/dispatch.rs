//! Field-keyed dispatch: most rules fire only on a few API calls (`eventName` / `event.action`
//! one of a few exact values). For a raw CloudTrail JSON line, `scan` reads the top-level
//! `eventName` straight from the text ([`event_name`]) and looks up the rules keyed on it
//! ([`Dispatch`]), instead of searching those rules' needles in every record.
//!
//! Soundness:
//! - **Keys** ([`keys_of`]) are derived at load from a conjunct of the condition or of the
//!   prefilter's DSL that is made only of whole-value equalities on the top-level `eventName`
//!   (condition `eq`, `in`, `ieq`, `iin` on the path `eventName` in any case) or on the ECS
//!   `event.action` (DSL `term`, `terms`, `match`, `match_phrase`, with or without
//!   `case_insensitive`), which Elastic's mapping copies from `eventName` unchanged: a rule can
//!   only match a raw record whose `eventName` is one of its keys.
//! - **The value** is read from the text only when that is unambiguous: the line holds no JSON
//!   escape that could spell a key or value differently (`\u`, `\/`, nor one inside the value),
//!   no `"_source"` (a search hit's document is read from there), exactly one key spelled
//!   `"eventName"` in any ASCII case (a duplicate key, or a key in another case, makes the
//!   value ambiguous), that key is in the top-level object, and its value is an ASCII string.
//!   A record with a top-level `eventName` is read as a raw CloudTrail record (never as an ECS
//!   document), so the condition's `eventName` and the ECS view's `event.action` are that value.
//!   Anything else (ECS documents, exports, escapes) uses the needles of every rule.

use super::condition::{Expr, Field, Op, Scalar};
use super::literals::{Needle, Needles};
use super::needle_index::{NeedleIndex, Probe};
use super::Rule;
use esquery::dsl::analysis::lowercase;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The values of `eventName` a rule can fire on: exact ones, and case-insensitive ones
/// (lower-cased).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    /// Whole values, as written.
    pub exact: Vec<String>,
    /// Whole values in any case, lower-cased.
    pub folded: Vec<String>,
}

impl Keys {
    fn len(&self) -> usize {
        self.exact.len() + self.folded.len()
    }

    fn union(mut self, other: Keys) -> Keys {
        self.exact.extend(other.exact);
        self.folded.extend(other.folded);
        self
    }

    /// Whether an ASCII value is one of the keys.
    pub fn admits(&self, value: &str) -> bool {
        self.exact.iter().any(|k| k == value)
            || self
                .folded
                .iter()
                .any(|k| k.eq_ignore_ascii_case(value) && k.is_ascii())
    }
}

/// The smallest of the alternatives (each sufficient alone, as all must hold).
fn smallest(all: impl IntoIterator<Item = Option<Keys>>) -> Option<Keys> {
    all.into_iter().flatten().min_by_key(Keys::len)
}

/// The union of the branches, when every branch has keys.
fn union(all: impl IntoIterator<Item = Option<Keys>>) -> Option<Keys> {
    let mut out: Option<Keys> = None;
    for keys in all {
        let keys = keys?;
        out = Some(match out {
            Some(o) => o.union(keys),
            None => keys,
        });
    }
    out
}

/// The dispatch keys of a loaded rule, as `scan` may use them: the prefilter's only where `scan`
/// checks the prefilter locally, and none at all (never a candidate by key) for a rule reading
/// fields added at ingest — it never judges a raw record, and a record whose top-level
/// `eventName` is read from its text is raw.
pub fn keys_for(rule: &Rule) -> Option<Keys> {
    if !rule.ingest_only.is_empty() {
        return Some(Keys::default());
    }
    let dsl = match &rule.prefilter.local {
        Ok(_) => &rule.prefilter.dsl,
        Err(_) => &Value::Null,
    };
    keys_of(rule.condition.as_ref().map(|c| c.expr()), dsl)
}

/// The dispatch keys of a rule: from its condition or from its prefilter's DSL, whichever has
/// fewer (both must hold for the rule to fire on a file).
pub fn keys_of(condition: Option<&Expr>, dsl: &Value) -> Option<Keys> {
    smallest([condition.and_then(condition_keys), dsl_keys(dsl)])
}

fn condition_keys(expr: &Expr) -> Option<Keys> {
    match expr {
        Expr::All(items) => smallest(items.iter().map(condition_keys)),
        Expr::Any(items) if !items.is_empty() => union(items.iter().map(condition_keys)),
        Expr::Any(_) | Expr::Not(_) => None,
        Expr::Pred(p) => {
            let Field::Path(path) = &p.field else {
                return None;
            };
            if !path.as_str().eq_ignore_ascii_case("eventName") {
                return None;
            }
            let string = |s: &Scalar| match s {
                Scalar::Str(s) => Some(s.clone()),
                _ => None,
            };
            match &p.op {
                Op::Eq(s) => Some(Keys {
                    exact: vec![string(s)?],
                    folded: Vec::new(),
                }),
                Op::In(set) if !set.is_empty() => Some(Keys {
                    exact: set.iter().map(string).collect::<Option<_>>()?,
                    folded: Vec::new(),
                }),
                // The parser lower-cased the operands as the evaluator compares them.
                Op::IEq(set, false) if !set.is_empty() => Some(Keys {
                    exact: Vec::new(),
                    folded: set.clone(),
                }),
                _ => None,
            }
        }
    }
}

/// Keys from the prefilter's query DSL (`event.action` equalities).
fn dsl_keys(query: &Value) -> Option<Keys> {
    let (kind, body) = query
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())?;
    match kind.as_str() {
        "bool" => bool_keys(body),
        "constant_score" => dsl_keys(body.as_object()?.get("filter")?),
        "term" | "match" | "match_phrase" => {
            let value = action_operand(body)?;
            let (text, case_insensitive) = match value {
                Value::String(s) => (s.clone(), false),
                Value::Object(o) => {
                    let allowed = ["query", "value", "case_insensitive", "boost", "_name"];
                    if o.keys().any(|k| !allowed.contains(&k.as_str())) {
                        return None;
                    }
                    let text = o.get("value").or_else(|| o.get("query"))?.as_str()?;
                    let ci = match o.get("case_insensitive") {
                        None | Some(Value::Bool(false)) => false,
                        Some(Value::Bool(true)) => true,
                        Some(_) => return None,
                    };
                    (text.to_string(), ci)
                }
                _ => return None,
            };
            // `match` analyses its text: on a keyword field a case-insensitive flag means nothing.
            if case_insensitive && kind != "term" {
                return None;
            }
            Some(match case_insensitive {
                true => Keys {
                    exact: Vec::new(),
                    folded: vec![lowercase(&text)],
                },
                false => Keys {
                    exact: vec![text],
                    folded: Vec::new(),
                },
            })
        }
        "terms" => {
            let values = action_operand(body)?.as_array()?;
            if values.is_empty() {
                return None;
            }
            Some(Keys {
                exact: values
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<_>>()?,
                folded: Vec::new(),
            })
        }
        _ => None,
    }
}

/// The operand of `{"event.action": operand}`.
fn action_operand(body: &Value) -> Option<&Value> {
    let (field, value) = body.as_object().filter(|o| o.len() == 1)?.iter().next()?;
    (field == "event.action").then_some(value)
}

fn bool_keys(body: &Value) -> Option<Keys> {
    let body = body.as_object()?;
    let list = |key: &str| match body.get(key) {
        Some(Value::Array(items)) => items.iter().collect(),
        None | Some(Value::Null) => Vec::new(),
        Some(single) => vec![single],
    };
    let required: Vec<&Value> = [list("filter"), list("must")].concat();
    let should = list("should");
    let at_least_one = match body.get("minimum_should_match") {
        None | Some(Value::Null) => required.is_empty(),
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0) >= 1,
        Some(Value::String(s)) => s.trim().parse::<i64>().is_ok_and(|n| n >= 1),
        _ => false,
    };
    let from_should = match !should.is_empty() && at_least_one {
        true => union(should.iter().map(|q| dsl_keys(q))),
        false => None,
    };
    smallest(required.iter().map(|q| dsl_keys(q)).chain([from_should]))
}

/// What the text of a record says of its top-level `eventName`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventName<'t> {
    /// A raw record whose top-level `eventName` is this ASCII string.
    Is(&'t str),
    /// Not known from the text alone: every rule must be considered.
    Unknown,
}

/// What the dispatch pass looks for besides needles: the key, and a search hit's `_source`.
const MARKERS: [&str; 2] = ["\"eventname\"", "\"_source\""];
const KEY: usize = 0;
const SOURCE: usize = 1;

/// The top-level `eventName` of a record's JSON text, when it can be read without parsing
/// (see the module documentation for when).
pub fn event_name(text: &[u8]) -> EventName<'_> {
    static MARKS: OnceLock<NeedleIndex> = OnceLock::new();
    let index = MARKS.get_or_init(|| NeedleIndex::with_markers([], &MARKERS));
    let mut probe = index.probe();
    index.candidates(text, &mut probe);
    name_from_marks(text, &probe)
}

/// The top-level `eventName` of `text`, given the pass of an index with [`MARKERS`] over it.
fn name_from_marks<'t>(text: &'t [u8], pass: &Probe) -> EventName<'t> {
    if pass.escaped() || pass.marks().iter().any(|&(marker, _)| marker == SOURCE) {
        return EventName::Unknown;
    }
    // Every occurrence of the key in any ASCII case (they cannot overlap: the key starts and
    // ends with `"`, which it holds nowhere else).
    let [(KEY, end)] = *pass.marks() else {
        return EventName::Unknown;
    };
    let at = end - MARKERS[KEY].len();
    if !is_top_level_key(text, at) {
        return EventName::Unknown;
    }
    let rest = skip_whitespace(&text[end..]);
    let Some(rest) = rest.strip_prefix(b":") else {
        return EventName::Unknown;
    };
    let Some(rest) = skip_whitespace(rest).strip_prefix(b"\"") else {
        return EventName::Unknown;
    };
    let Some(end) = memchr::memchr2(b'"', b'\\', rest) else {
        return EventName::Unknown;
    };
    if rest[end] != b'"' {
        return EventName::Unknown;
    }
    let value = &rest[..end];
    if !value.is_ascii() || value.iter().any(u8::is_ascii_control) {
        return EventName::Unknown;
    }
    match std::str::from_utf8(value) {
        Ok(v) => EventName::Is(v),
        Err(_) => EventName::Unknown,
    }
}

fn skip_whitespace(text: &[u8]) -> &[u8] {
    let n = text
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .count();
    &text[n..]
}

/// Whether the string starting at `at` (a `"`) is directly inside the top-level object of
/// `text`, outside any string: a structural walk of `text[..at]`.
fn is_top_level_key(text: &[u8], at: usize) -> bool {
    let prefix = &text[..at];
    let start = prefix
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if start.map(|s| prefix[s]) != Some(b'{') {
        return false;
    }
    let mut i = start.unwrap_or(0) + 1;
    let mut depth = 1usize;
    while i < prefix.len() {
        match prefix[i] {
            b'"' => {
                // Skip the string: to its closing quote, stepping over escapes.
                let mut j = i + 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &prefix[j.min(prefix.len())..]) {
                        Some(k) if prefix[j + k] == b'\\' => j += k + 2,
                        Some(k) => {
                            j += k + 1;
                            break;
                        }
                        // The prefix ends inside a string: the key is within it.
                        None => return false,
                    }
                    if j > prefix.len() {
                        return false;
                    }
                }
                i = j;
            }
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    // The top-level value ended before the key.
                    return false;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    depth == 1
}

/// The needles a record selected by one of `keys` must still be searched for. Such a record's
/// text holds its `eventName` verbatim, so a clause with a needle inside every key holds: it is
/// dropped (an exact needle inside an exact key; a case-insensitive one inside any key, ignoring
/// ASCII case).
fn needles_beyond_keys(needles: &Needles, keys: &Keys) -> Needles {
    let inside = |needle: &Needle, key: &str, key_folded: bool| match needle.case_insensitive {
        true => key.to_ascii_lowercase().contains(&needle.text),
        false => !key_folded && key.contains(&needle.text),
    };
    let implied = |clause: &[Needle]| {
        let exact = keys.exact.iter().map(|k| (k, false));
        let folded = keys.folded.iter().map(|k| (k, true));
        exact
            .chain(folded)
            .all(|(key, folded)| clause.iter().any(|n| inside(n, key, folded)))
    };
    Needles::from_clauses(
        needles
            .clauses()
            .filter(|clause| !implied(clause))
            .map(<[Needle]>::to_vec)
            .collect(),
    )
}

/// The rules of an engine split into those keyed on `eventName` and the rest, with the needle
/// indexes for both ways of choosing candidates.
#[derive(Debug, Clone)]
pub struct Dispatch {
    /// Every rule's needles: for records whose `eventName` is unknown.
    all: NeedleIndex,
    /// The needles of the rules without keys; `rest_ids[i]` is the rule of its `i`th entry.
    rest: NeedleIndex,
    rest_ids: Vec<usize>,
    /// Exact key → rules.
    exact: HashMap<Box<str>, Vec<usize>>,
    /// Lower-cased ASCII key → rules.
    folded: HashMap<Box<str>, Vec<usize>>,
    /// Per rule: the needles its keys do not imply (checked for the keyed rules a record's
    /// `eventName` selects; for the others, all their needles).
    needles: Vec<Needles>,
}

/// Scratch space of [`Dispatch::candidates`].
#[derive(Debug)]
pub struct DispatchProbe {
    all: Probe,
    rest: Probe,
    candidates: Vec<usize>,
}

impl Dispatch {
    /// An index over rules given as (needles, keys), in order.
    pub fn new(rules: Vec<(Needles, Option<Keys>)>) -> Dispatch {
        let all = NeedleIndex::new(rules.iter().map(|(n, _)| n));
        let rest_ids: Vec<usize> = (0..rules.len()).filter(|&i| rules[i].1.is_none()).collect();
        let rest = NeedleIndex::with_markers(rest_ids.iter().map(|&i| &rules[i].0), &MARKERS);
        let mut exact: HashMap<Box<str>, Vec<usize>> = HashMap::new();
        let mut folded: HashMap<Box<str>, Vec<usize>> = HashMap::new();
        for (rule, (_, keys)) in rules.iter().enumerate() {
            let Some(keys) = keys else { continue };
            for key in &keys.exact {
                let list = exact.entry(key.as_str().into()).or_default();
                if list.last() != Some(&rule) {
                    list.push(rule);
                }
            }
            // A non-ASCII folded key never equals an ASCII value folded in ASCII.
            for key in keys.folded.iter().filter(|k| k.is_ascii()) {
                let list = folded
                    .entry(key.to_ascii_lowercase().into_boxed_str())
                    .or_default();
                if list.last() != Some(&rule) {
                    list.push(rule);
                }
            }
        }
        Dispatch {
            all,
            rest,
            rest_ids,
            exact,
            folded,
            needles: rules
                .into_iter()
                .map(|(needles, keys)| match keys {
                    Some(keys) => needles_beyond_keys(&needles, &keys),
                    None => needles,
                })
                .collect(),
        }
    }

    /// The index of loaded rules, in order: their needles, keyed as [`keys_for`] says.
    pub fn for_rules<'r>(rules: impl IntoIterator<Item = &'r Rule>) -> Dispatch {
        Dispatch::new(
            rules
                .into_iter()
                .map(|r| (r.needles.clone(), keys_for(r)))
                .collect(),
        )
    }

    /// Scratch space sized for this index.
    pub fn probe(&self) -> DispatchProbe {
        DispatchProbe {
            all: self.all.probe(),
            rest: self.rest.probe(),
            candidates: Vec::new(),
        }
    }

    /// How many rules are keyed on `eventName`.
    pub fn keyed(&self) -> usize {
        self.needles.len() - self.rest_ids.len()
    }

    /// The rules (ascending) that may match `text`: those whose needles may match it, less the
    /// keyed rules whose keys do not hold the record's `eventName`.
    pub fn candidates<'p>(&self, text: &[u8], probe: &'p mut DispatchProbe) -> &'p [usize] {
        if self.keyed() == 0 {
            return self.all.candidates(text, &mut probe.all);
        }
        let out = &mut probe.candidates;
        out.clear();
        out.extend(
            self.rest
                .candidates(text, &mut probe.rest)
                .iter()
                .map(|&i| self.rest_ids[i]),
        );
        if probe.rest.escaped() {
            out.clear();
            out.extend(0..self.needles.len());
            return out;
        }
        let EventName::Is(name) = name_from_marks(text, &probe.rest) else {
            return self.all.candidates(text, &mut probe.all);
        };
        let before = out.len();
        let exact = self.exact.get(name).map(Vec::as_slice).unwrap_or(&[]);
        let folded = match self.folded.is_empty() {
            true => &[][..],
            false => {
                let mut buf = [0u8; 128];
                match name.len() <= buf.len() {
                    true => {
                        let lower = &mut buf[..name.len()];
                        lower.copy_from_slice(name.as_bytes());
                        lower.make_ascii_lowercase();
                        std::str::from_utf8(lower)
                            .ok()
                            .and_then(|l| self.folded.get(l))
                            .map(Vec::as_slice)
                            .unwrap_or(&[])
                    }
                    false => self
                        .folded
                        .get(name.to_ascii_lowercase().as_str())
                        .map(Vec::as_slice)
                        .unwrap_or(&[]),
                }
            }
        };
        for &rule in exact.iter().chain(folded) {
            if !out[before..].contains(&rule) && self.needles[rule].may_match_unescaped(text) {
                out.push(rule);
            }
        }
        if out.len() > before {
            out.sort_unstable();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::condition::Condition;
    use crate::rule::literals::Needle;
    use proptest::prelude::*;
    use serde_json::json;

    fn cond(text: &str) -> Option<Keys> {
        condition_keys(Condition::parse(text).unwrap().expr())
    }

    fn kql(text: &str) -> Option<Keys> {
        dsl_keys(&esquery::kql::translate(text).unwrap())
    }

    fn exact(values: &[&str]) -> Option<Keys> {
        Some(Keys {
            exact: values.iter().map(|s| s.to_string()).collect(),
            folded: Vec::new(),
        })
    }

    #[test]
    fn keys_from_conditions() {
        assert_eq!(cond(r#"eventName eq "AssumeRole""#), exact(&["AssumeRole"]));
        assert_eq!(
            cond("eventName in [\"A\", \"B\"]\nuserAgent contains \"x\""),
            exact(&["A", "B"])
        );
        assert_eq!(
            cond(r#"eventName eq "A" or eventName in ["B"]"#),
            exact(&["A", "B"])
        );
        assert_eq!(
            cond(r#"eventName iin ["CreateUser"]"#),
            Some(Keys {
                exact: Vec::new(),
                folded: vec!["createuser".into()]
            })
        );
        assert_eq!(
            cond(r#"EVENTNAME eq "A""#),
            exact(&["A"]),
            "keys in any case"
        );
        assert_eq!(cond(r#"eventName eq "A" or userAgent eq "B""#), None);
        assert_eq!(cond(r#"not eventName eq "A""#), None);
        assert_eq!(cond(r#"eventName ne "A""#), None);
        assert_eq!(cond(r#"eventName starts_with "A""#), None);
        assert_eq!(cond(r#"eventName ine "a""#), None);
        assert_eq!(cond("eventName eq 5"), None);
        assert_eq!(cond(r#"requestParameters.eventName eq "A""#), None);
    }

    #[test]
    fn keys_from_prefilters() {
        assert_eq!(
            kql("event.provider: s3.amazonaws.com and event.action: (PutBucketPolicy or DeleteBucketPolicy)"),
            exact(&["PutBucketPolicy", "DeleteBucketPolicy"])
        );
        assert_eq!(kql("event.action: Put*"), None, "a wildcard");
        assert_eq!(kql("event.action: A or event.provider: B"), None);
        assert_eq!(kql("not event.action: A"), None);
        assert_eq!(
            dsl_keys(&json!({"terms": {"event.action": ["A", "B"]}})),
            exact(&["A", "B"])
        );
        assert_eq!(
            dsl_keys(
                &json!({"term": {"event.action": {"value": "CreateUser", "case_insensitive": true}}})
            ),
            Some(Keys {
                exact: Vec::new(),
                folded: vec!["createuser".into()]
            })
        );
        assert_eq!(
            dsl_keys(&json!({"match": {"event.action": {"query": "A", "fuzziness": 1}}})),
            None
        );
        assert_eq!(dsl_keys(&json!({"term": {"event.action.text": "A"}})), None);
    }

    #[test]
    fn the_smaller_of_condition_and_prefilter() {
        let dsl = esquery::kql::translate("event.action: (A or B or C)").unwrap();
        let expr = Condition::parse(r#"eventName eq "A""#).unwrap();
        assert_eq!(keys_of(Some(expr.expr()), &dsl), exact(&["A"]));
        assert_eq!(keys_of(None, &dsl), exact(&["A", "B", "C"]));
    }

    #[test]
    fn reading_event_name_from_text() {
        use EventName::*;
        fn read(s: &str) -> EventName<'_> {
            event_name(s.as_bytes())
        }
        assert_eq!(
            read(
                r#"{"eventVersion":"1.08","userIdentity":{"type":"Root","x":["{","}"]},"eventName":"GetObject","requestParameters":{"a":1}}"#
            ),
            Is("GetObject")
        );
        assert_eq!(read(r#"{ "eventName" : "A" }"#), Is("A"));
        assert_eq!(
            read(r#"{"EventName":"A"}"#),
            Is("A"),
            "a key in another case"
        );
        assert_eq!(read(r#"{"eventName":"A","EVENTNAME":"B"}"#), Unknown);
        assert_eq!(read(r#"{"eventName":"A","eventName":"B"}"#), Unknown);
        assert_eq!(
            read(r#"{"requestParameters":{"eventName":"A"},"x":1}"#),
            Unknown,
            "nested"
        );
        assert_eq!(read(r#"{"a":"x\"eventName\":\"A"}"#), Unknown);
        assert_eq!(read(r#"{"a":"\"","eventName":"A"}"#), Is("A"));
        assert_eq!(read(r#"{"a":"\\","eventName":"A"}"#), Is("A"));
        assert_eq!(read(r#"{"a":"eventName","eventName":"A"}"#), Unknown);
        assert_eq!(read(r#"{"eventName":"A\u0042"}"#), Unknown);
        assert_eq!(read(r#"{"eventName":"A\"B"}"#), Unknown);
        assert_eq!(read(r#"{"eventName":"A\/B"}"#), Unknown);
        assert_eq!(read(r#"{"eventName":["A"]}"#), Unknown);
        assert_eq!(read(r#"{"eventName":null}"#), Unknown);
        assert_eq!(read(r#"{"eventName":"Ä"}"#), Unknown);
        assert_eq!(read(r#"{"_source":{"eventName":"A"}}"#), Unknown);
        assert_eq!(read(r#"[{"eventName":"A"}]"#), Unknown);
        assert_eq!(read(r#"{"a":{}},"eventName":"A"}"#), Unknown);
        assert_eq!(
            read(r#"{"event":{"action":"A","original":"{\"eventName\":\"A\"}"}}"#),
            Unknown
        );
        assert_eq!(read("{}"), Unknown);
    }

    fn keyed(values: &[&str]) -> Option<Keys> {
        exact(values)
    }

    #[test]
    fn keyed_rules_are_candidates_for_their_event_names_only() {
        let rules = vec![
            (
                Needles::from_clauses(vec![vec![Needle::exact("AssumeRole")]]),
                keyed(&["AssumeRole"]),
            ),
            (
                Needles::from_clauses(vec![vec![Needle::exact("GetObject")]]),
                None,
            ),
            (
                Needles::from_clauses(vec![
                    vec![Needle::exact("PutObject")],
                    vec![Needle::exact("secret")],
                ]),
                keyed(&["PutObject"]),
            ),
        ];
        let index = Dispatch::new(rules);
        let mut probe = index.probe();
        let mut run = |s: &str| index.candidates(s.as_bytes(), &mut probe).to_vec();
        assert_eq!(
            run(r#"{"eventName":"GetObject","roleArn":"AssumeRole"}"#),
            [1]
        );
        assert_eq!(run(r#"{"eventName":"AssumeRole"}"#), [0]);
        assert_eq!(run(r#"{"eventName":"PutObject","k":"secret"}"#), [2]);
        assert_eq!(
            run(r#"{"eventName":"PutObject","k":"other"}"#),
            [] as [usize; 0]
        );
        assert_eq!(
            run(r#"{"x":{"eventName":"GetObject"},"roleArn":"AssumeRole"}"#),
            [0, 1],
            "unknown: every rule's needles"
        );
    }

    /// Records over a small alphabet of event names and keys, sometimes nested, duplicated, in
    /// another case or escaped; rules keyed on names (exact or folded) with needles.
    fn record() -> impl Strategy<Value = String> {
        let name = prop::sample::select(vec!["Get", "get", "GET", "Put", "Getx", "G\\u0065t"]);
        let key = prop::sample::select(vec!["eventName", "EventName", "eventname", "other"]);
        let part = (key, name, any::<bool>(), 0..3u8).prop_map(|(k, v, nested, kind)| {
            let pair = match kind {
                0 => format!(r#""{k}":"{v}""#),
                1 => format!(r#""{k}":["{v}"]"#),
                _ => format!(r#""{k}" : "{v}""#),
            };
            match nested {
                true => format!(r#""n":{{{pair}}}"#),
                false => pair,
            }
        });
        proptest::collection::vec(part, 0..4).prop_map(|parts| format!("{{{}}}", parts.join(",")))
    }

    fn rule() -> impl Strategy<Value = (Needles, Option<Keys>)> {
        let name = prop::sample::select(vec!["Get", "Put", "Getx"]);
        (
            proptest::option::of((proptest::collection::vec(name, 1..3), any::<bool>())),
            proptest::option::of(prop::sample::select(vec![
                "Get", "get", "x", "Put", "(?i)get", "(?i)etx",
            ])),
        )
            .prop_map(|(keys, needle)| {
                let to_needle = |n: &str| match n.strip_prefix("(?i)") {
                    Some(folded) => Needle::folded(folded),
                    None => Needle::exact(n),
                };
                let needles = Needles::from_clauses(
                    needle.map(|n| vec![vec![to_needle(n)]]).unwrap_or_default(),
                );
                let keys = keys.map(|(names, folded)| match folded {
                    true => Keys {
                        exact: Vec::new(),
                        folded: names.iter().map(|n| n.to_lowercase()).collect(),
                    },
                    false => Keys {
                        exact: names.iter().map(|n| n.to_string()).collect(),
                        folded: Vec::new(),
                    },
                });
                (needles, keys)
            })
    }

    /// What the rule's keys say of the parsed record, as the evaluator reads `eventName`
    /// (case-insensitive key lookup, exact key first; the last of duplicate keys).
    fn keys_hold(keys: &Keys, doc: &Value) -> bool {
        let Some(map) = doc.as_object() else {
            return true;
        };
        let value = map.get("eventName").or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("eventName"))
                .map(|(_, v)| v)
        });
        let values: Vec<&str> = match value {
            Some(Value::String(s)) => vec![s],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        values.iter().any(|v| {
            keys.exact.iter().any(|k| k == v) || keys.folded.iter().any(|k| *k == v.to_lowercase())
        })
    }

    #[test]
    fn keyed_rules_skip_the_needles_their_keys_imply() {
        let role = || vec![Needle::exact("AssumeRole")];
        let sts = || vec![Needle::exact("sts.amazonaws.com")];
        let both = Needles::from_clauses(vec![role(), sts()]);
        let beyond = |keys: Option<Keys>| needles_beyond_keys(&both, &keys.unwrap()).describe();
        assert_eq!(
            beyond(exact(&["AssumeRole"])),
            vec![vec!["sts.amazonaws.com"]],
            "the key holds the needle"
        );
        assert_eq!(
            beyond(exact(&["AssumeRole", "GetRole"])),
            both.describe(),
            "not inside every key"
        );
        let folded_key = Keys {
            exact: Vec::new(),
            folded: vec!["assumerole".into()],
        };
        assert_eq!(
            needles_beyond_keys(&both, &folded_key).describe(),
            both.describe(),
            "an exact needle is not implied by a key in any case"
        );
        let folded = Needles::from_clauses(vec![vec![Needle::folded("role")], sts()]);
        assert_eq!(
            needles_beyond_keys(&folded, &folded_key).describe(),
            vec![vec!["sts.amazonaws.com"]],
            "a case-insensitive needle is"
        );
    }

    proptest! {
        #[test]
        fn dispatch_never_drops_a_rule_that_can_match(
            rules in proptest::collection::vec(rule(), 1..6),
            records in proptest::collection::vec(record(), 1..6),
        ) {
            let index = Dispatch::new(rules.clone());
            let mut probe = index.probe();
            for text in &records {
                let got = index.candidates(text.as_bytes(), &mut probe).to_vec();
                let doc: Value = match serde_json::from_str(text) {
                    Ok(doc) => doc,
                    Err(_) => continue,
                };
                for (i, (needles, keys)) in rules.iter().enumerate() {
                    let can_match = needles.may_match(text.as_bytes())
                        && keys.as_ref().is_none_or(|k| keys_hold(k, &doc));
                    if can_match {
                        prop_assert!(got.contains(&i), "rule {} dropped on {}", i, text);
                    }
                    if got.contains(&i) {
                        prop_assert!(needles.may_match(text.as_bytes()), "needles hold");
                    }
                }
                prop_assert!(got.windows(2).all(|w| w[0] < w[1]), "ascending");
            }
        }
    }
}
