//! Literal needles: strings an event's JSON text must contain for a rule to possibly match,
//! derived from the rule at load. A scan checks them in one pass per clause — `memchr`'s
//! substring search for one needle, an Aho-Corasick automaton for several — and skips parsing
//! records that lack them: most records, for most rules.
//!
//! Needles come from the condition and from the prefilter's query DSL (both must hold for a
//! rule to fire on a file). Soundness: a needle is only taken from a case-sensitive string
//! predicate with a literal operand — condition `eq`, `in`, `starts_with`, `ends_with`,
//! `contains` on a field path (never on an ARN part, never against `field(…)`); DSL `match`,
//! `match_phrase`, `term(s)`, `prefix`, and the literal head of a `query_string` wildcard — on a
//! field whose value reaches every supported input form unchanged (raw record,
//! `event.original`, ECS keyword field), and only when it contains no character JSON must
//! escape. A line containing `\u` or `\/` may spell a needle with escapes, so such lines are
//! never skipped.

use super::condition::{Expr, Field, Op, Scalar};
use crate::event::from_ecs::{is_verbatim_ecs_field, storage_of, Storage};
use aho_corasick::{AhoCorasick, AhoCorasickKind};
use esquery::dsl::{FieldType, Mapping};
use memchr::memmem::Finder;
use serde_json::Value;

/// A conjunction of disjunctions of literal strings (`all of (any of …)`).
#[derive(Debug, Clone, Default)]
pub struct Needles {
    clauses: Vec<Clause>,
}

/// One disjunction: any of its needles must occur.
#[derive(Debug, Clone)]
struct Clause {
    needles: Vec<String>,
    search: Search,
}

/// How a clause is searched: one pass over the text whatever its number of needles.
#[derive(Debug, Clone)]
enum Search {
    One(Box<Finder<'static>>),
    Many(AhoCorasick),
}

impl Clause {
    fn new(needles: Vec<String>) -> Clause {
        let search = match needles.as_slice() {
            [one] => Search::One(Box::new(Finder::new(one.as_bytes()).into_owned())),
            // A rule has a few short needles: a full DFA is small, and the fastest to run.
            many => match AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::DFA))
                .build(many)
            {
                Ok(automaton) => Search::Many(automaton),
                // Not reachable for the few short needles of a rule; stay sound if it were.
                Err(_) => Search::One(Box::new(Finder::new(b"").into_owned())),
            },
        };
        Clause { needles, search }
    }

    fn occurs_in(&self, text: &[u8]) -> bool {
        match &self.search {
            Search::One(finder) => finder.find(text).is_some(),
            Search::Many(automaton) => automaton.is_match(text),
        }
    }
}

impl Needles {
    /// Derives the needles of a condition.
    pub fn from_condition(expr: &Expr) -> Needles {
        Needles::from_clauses(normalize(cnf(expr)))
    }

    /// Derives the needles of a prefilter's query DSL, given the field types it runs against.
    pub fn from_dsl(dsl: &Value, mapping: &Mapping) -> Needles {
        Needles::from_clauses(normalize(dsl_cnf(dsl, mapping)))
    }

    /// Builds needles from explicit clauses (each a list of alternatives).
    pub fn from_clauses(clauses: Vec<Vec<String>>) -> Needles {
        let mut clauses: Vec<Clause> = clauses
            .into_iter()
            .filter(|c| !c.is_empty())
            .map(Clause::new)
            .collect();
        // Most records fail the first clause searched: search the cheapest, most selective
        // first — a single needle (one SIMD substring search), the longest first.
        clauses.sort_by_key(|c| {
            let longest = c.needles.iter().map(String::len).max().unwrap_or(0);
            (c.needles.len(), std::cmp::Reverse(longest))
        });
        Needles { clauses }
    }

    /// Both sets must hold.
    pub fn and(self, other: Needles) -> Needles {
        Needles::from_clauses(normalize([self.describe(), other.describe()].concat()))
    }

    /// True when nothing is required (every record must be parsed).
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// The clauses as text (in a stable order), for `eshunt rules --verbose` and tests.
    pub fn describe(&self) -> Vec<Vec<String>> {
        let mut clauses: Vec<Vec<String>> =
            self.clauses.iter().map(|c| c.needles.clone()).collect();
        clauses.sort();
        clauses
    }

    /// False only when `text` cannot match: some clause has no needle in it.
    pub fn may_match(&self, text: &[u8]) -> bool {
        if self.clauses.is_empty() || escapes_may_hide_literals(text) {
            return true;
        }
        self.clauses.iter().all(|clause| clause.occurs_in(text))
    }
}

/// True when JSON escapes in `text` could spell a needle differently (`\u0041`, `\/`).
pub fn escapes_may_hide_literals(text: &[u8]) -> bool {
    memchr::memmem::find(text, b"\\u").is_some() || memchr::memmem::find(text, b"\\/").is_some()
}

fn normalize(mut clauses: Vec<Vec<String>>) -> Vec<Vec<String>> {
    clauses.iter_mut().for_each(|c| {
        c.sort();
        c.dedup();
        drop_superstrings(c);
    });
    clauses.sort();
    clauses.dedup();
    clauses
}

/// In a disjunction a needle containing another is redundant (where it occurs, so does the
/// other): `AccessDeniedException` goes when `AccessDenied` is there.
fn drop_superstrings(clause: &mut Vec<String>) {
    let all = clause.clone();
    clause.retain(|n| !all.iter().any(|m| m != n && n.contains(m.as_str())));
}

/// The OR of one clause per branch, or nothing if some branch requires nothing.
fn any_of(branches: impl IntoIterator<Item = Vec<Vec<String>>>) -> Vec<Vec<String>> {
    let mut union = Vec::new();
    for branch in branches {
        match best_clause(branch) {
            Some(clause) => union.extend(clause),
            None => return Vec::new(),
        }
    }
    if union.is_empty() {
        Vec::new()
    } else {
        vec![union]
    }
}

fn cnf(expr: &Expr) -> Vec<Vec<String>> {
    match expr {
        Expr::All(items) => items.iter().flat_map(cnf).collect(),
        Expr::Any(items) => any_of(items.iter().map(cnf)),
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

fn dsl_cnf(query: &Value, mapping: &Mapping) -> Vec<Vec<String>> {
    let Some((kind, body)) = query
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
    else {
        return Vec::new();
    };
    match kind.as_str() {
        "bool" => bool_cnf(body, mapping),
        "constant_score" => dsl_cnf(&body["filter"], mapping),
        "match" | "match_phrase" | "term" | "prefix" => field_value(body)
            .filter(|(field, _)| is_plain_keyword(field, mapping))
            .filter(|(_, v)| !v.get("case_insensitive").is_some_and(|c| c == true))
            .and_then(|(_, v)| scalar_text(v))
            .map(|text| vec![vec![text]])
            .unwrap_or_default(),
        "terms" => field_value(body)
            .filter(|(field, _)| is_plain_keyword(field, mapping))
            .and_then(|(_, v)| {
                v.as_array()?
                    .iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .map(|all: Vec<String>| vec![all])
            .unwrap_or_default(),
        "query_string" => query_string_head(body, mapping)
            .map(|h| vec![vec![h]])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|clause| !clause.is_empty() && clause.iter().all(|s| is_plain(s)))
    .collect()
}

fn bool_cnf(body: &Value, mapping: &Mapping) -> Vec<Vec<String>> {
    let list = |key: &str| match &body[key] {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        single => vec![single.clone()],
    };
    let required: Vec<Value> = [list("filter"), list("must")].concat();
    let mut out: Vec<Vec<String>> = required.iter().flat_map(|q| dsl_cnf(q, mapping)).collect();
    let should = list("should");
    let at_least_one = match &body["minimum_should_match"] {
        Value::Null => required.is_empty(),
        Value::Number(n) => n.as_i64().unwrap_or(0) >= 1,
        Value::String(s) => s.trim().parse::<i64>().is_ok_and(|n| n >= 1),
        _ => false,
    };
    if !should.is_empty() && at_least_one {
        out.extend(any_of(should.iter().map(|q| dsl_cnf(q, mapping))));
    }
    out
}

/// `{field: value}` or `{field: {query|value: value, …}}`.
fn field_value(body: &Value) -> Option<(&str, &Value)> {
    let (field, value) = body.as_object().filter(|o| o.len() == 1)?.iter().next()?;
    Some((field.as_str(), value))
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o
            .get("query")
            .or_else(|| o.get("value"))?
            .as_str()
            .map(str::to_string),
        _ => None,
    }
}

/// A keyword field (or a flattened leaf) holding a CloudTrail value unchanged.
fn is_plain_keyword(field: &str, mapping: &Mapping) -> bool {
    let keyword = match mapping.field(field) {
        Some(f) => f.ty == FieldType::Keyword,
        None => field.contains(".flattened."),
    };
    keyword && is_verbatim_ecs_field(field)
}

/// The literal text before the first wildcard of a one-field `query_string` holding a single
/// term (`PublishLayerVersion*` → `PublishLayerVersion`), with Kibana's escapes removed.
fn query_string_head(body: &Value, mapping: &Mapping) -> Option<String> {
    let fields = body["fields"].as_array()?;
    let [field] = fields.as_slice() else {
        return None;
    };
    if !is_plain_keyword(field.as_str()?, mapping) {
        return None;
    }
    let mut head = String::new();
    let mut chars = body["query"].as_str()?.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => head.push(chars.next()?),
            '*' | '?' => break,
            c if c.is_whitespace() || "()\"~^:[]{}/!+-&|<>=".contains(c) => return None,
            c => head.push(c),
        }
    }
    (head.chars().count() >= 3).then_some(head)
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
    fn field_references_and_arn_parts_give_no_needle() {
        assert!(needles("recipientAccountId eq field(userIdentity.accountId)").is_empty());
        assert!(needles("sourceIPAddress starts_with field(userAgent)").is_empty());
        assert!(needles("eventName in field(requestParameters.names)").is_empty());
        assert!(needles(r#"arn_account(userIdentity.arn) eq "123456789012""#).is_empty());
        assert!(needles(r#"eventName eq arn_resource_name(requestParameters.roleArn)"#).is_empty());
        assert_eq!(
            needles(
                "eventName eq \"AssumeRole\"\nuserIdentity.accountId ne field(recipientAccountId)"
            ),
            vec![vec!["AssumeRole".to_string()]]
        );
        assert!(
            needles(r#"eventName eq "AssumeRole" or a eq field(b)"#).is_empty(),
            "a branch without needles makes the whole or need nothing"
        );
    }

    fn dsl_needles(kql: &str) -> Vec<Vec<String>> {
        let dsl = esquery::kql::translate(kql).unwrap();
        Needles::from_dsl(&dsl, crate::event::mapping::cloudtrail_mapping()).describe()
    }

    #[test]
    fn needles_from_the_elastic_seed_prefilter() {
        let kql = "data_stream.dataset: aws.cloudtrail and event.provider: lambda.amazonaws.com \
            and event.outcome: success and event.action: (PublishLayerVersion* or UpdateFunctionConfiguration*)";
        assert_eq!(
            dsl_needles(kql),
            vec![
                vec![
                    "PublishLayerVersion".to_string(),
                    "UpdateFunctionConfiguration".to_string()
                ],
                vec!["lambda.amazonaws.com".to_string()],
            ]
        );
    }

    #[test]
    fn dsl_needles_only_from_verbatim_keywords() {
        assert!(
            dsl_needles("event.outcome: success").is_empty(),
            "computed by the pipeline"
        );
        assert!(
            dsl_needles("user.name.text: bob").is_empty(),
            "analyzed text"
        );
        assert!(dsl_needles("not event.action: X1").is_empty());
        assert!(dsl_needles("event.action: X1 or message: y").is_empty());
        assert!(
            dsl_needles("event.action: *Layer").is_empty(),
            "leading wildcard"
        );
        assert_eq!(
            dsl_needles("event.action: Update\\*x"),
            vec![vec!["Update*x".to_string()]]
        );
        assert_eq!(
            dsl_needles("event.action: Upd\\*x*"),
            vec![vec!["Upd*x".to_string()]]
        );
        assert_eq!(
            dsl_needles("aws.cloudtrail.flattened.request_parameters.layerName: shim"),
            vec![vec!["shim".to_string()]]
        );
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

    #[test]
    fn a_needle_containing_another_of_its_clause_is_dropped() {
        let n = Needles::from_clauses(normalize(vec![vec![
            "AccessDeniedException".into(),
            "AccessDenied".into(),
            "Client.UnauthorizedOperation".into(),
            "UnauthorizedOperation".into(),
        ]]));
        assert_eq!(
            n.describe(),
            vec![vec![
                "AccessDenied".to_string(),
                "UnauthorizedOperation".into()
            ]]
        );
        assert!(n.may_match(br#"{"errorCode":"Client.UnauthorizedOperation"}"#));
        assert!(n.may_match(br#"{"errorCode":"AccessDeniedException"}"#));
        assert!(!n.may_match(br#"{"errorCode":"ThrottlingException"}"#));
    }
}
