//! Literal needles: strings an event's JSON text must contain for a rule to possibly match,
//! derived from the rule at load. A scan of files checks the needles of all its rules in one
//! pass ([`super::needle_index::NeedleIndex`]) and skips parsing records that lack them: most
//! records, for most rules. [`Needles::may_match`] checks one rule's needles alone (search hits,
//! rule tests): `memchr`'s substring search for one needle, an Aho-Corasick automaton for several.
//!
//! Needles come from the condition and from the prefilter's query DSL (both must hold for a
//! rule to fire on a file). Soundness: a needle is only taken from a string predicate with a
//! literal operand — condition `eq`, `in`, `starts_with`, `ends_with`, `contains` and their
//! case-insensitive forms (`ieq`, `iin`, `istarts_with`, `iends_with`, `icontains`) on a field
//! path (never on an ARN part, never against `field(…)`); DSL `match`, `match_phrase`,
//! `term(s)`, `prefix`, `wildcard` (with or without `case_insensitive`) and single-term
//! `query_string` wildcards (the longest literal run between wildcards) — on a field whose value
//! reaches every supported input form unchanged (raw record, `event.original`, ECS keyword
//! field), and only when it contains no character JSON must escape. A line containing `\u` or
//! `\/` may spell a needle with escapes, so such lines are never skipped.
//!
//! A case-insensitive needle is stored lower-cased as its evaluator lower-cases the operand and
//! searched ignoring ASCII case. eshunt's case-insensitive operators lower-case with Unicode
//! rules (the Kelvin sign `K` becomes an ASCII `k`), Elasticsearch's `case_insensitive` folds
//! ASCII only: on a text holding only ASCII both reduce to ASCII folding, and a text holding any
//! non-ASCII byte satisfies every clause that has a case-insensitive needle.

use super::condition::{Expr, Field, Op, Scalar};
use crate::event::from_ecs::{is_verbatim_ecs_field, storage_of, Storage};
use aho_corasick::{AhoCorasick, AhoCorasickKind, BuildError};
use esquery::dsl::analysis::lowercase;
use esquery::dsl::{FieldType, Mapping};
use memchr::memmem::Finder;
use serde_json::Value;

/// One literal string a text must contain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Needle {
    /// The literal; lower-cased when case-insensitive.
    pub text: String,
    /// Found in any ASCII case, and in any text holding a non-ASCII byte.
    pub case_insensitive: bool,
}

impl Needle {
    /// A needle found only as written.
    pub fn exact(text: impl Into<String>) -> Needle {
        Needle {
            text: text.into(),
            case_insensitive: false,
        }
    }

    /// A case-insensitive needle; `text` must already be lower-cased as its evaluator does.
    pub fn folded(text: impl Into<String>) -> Needle {
        Needle {
            text: text.into(),
            case_insensitive: true,
        }
    }

    /// True when every text holding `self` also holds `other` (so in a disjunction `self` is
    /// redundant): `AccessDeniedException` needs no search when `AccessDenied` is searched.
    fn implies(&self, other: &Needle) -> bool {
        match (self.case_insensitive, other.case_insensitive) {
            (_, false) if self.case_insensitive => false,
            (false, true) => self.text.to_ascii_lowercase().contains(&other.text),
            _ => self.text.contains(&other.text),
        }
    }

    /// The needle as `rules --verbose` and tests show it: `(?i)` before a case-insensitive one.
    fn describe(&self) -> String {
        match self.case_insensitive {
            true => format!("(?i){}", self.text),
            false => self.text.clone(),
        }
    }
}

/// A conjunction of disjunctions of literal strings (`all of (any of …)`).
#[derive(Debug, Clone, Default)]
pub struct Needles {
    clauses: Vec<Clause>,
}

/// One disjunction: any of its needles must occur.
#[derive(Debug, Clone)]
struct Clause {
    needles: Vec<Needle>,
    /// Exact needles, then case-insensitive ones: one pass each (`None`: could not be built,
    /// the clause always holds).
    searches: Option<Vec<Search>>,
}

/// How some needles of a clause are searched: one pass over the text whatever their number.
#[derive(Debug, Clone)]
enum Search {
    One(Box<Finder<'static>>),
    Many(AhoCorasick),
}

impl Search {
    /// One search for `needles` (all exact, or all case-insensitive); none for no needle.
    fn new(needles: &[&Needle], case_insensitive: bool) -> Result<Option<Search>, BuildError> {
        Ok(Some(match needles {
            [] => return Ok(None),
            [one] if !case_insensitive => {
                Search::One(Box::new(Finder::new(one.text.as_bytes()).into_owned()))
            }
            // A rule has a few short needles: a full DFA is small, and the fastest to run.
            many => Search::Many(
                AhoCorasick::builder()
                    .kind(Some(AhoCorasickKind::DFA))
                    .ascii_case_insensitive(case_insensitive)
                    .build(many.iter().map(|n| &n.text))?,
            ),
        }))
    }

    fn occurs_in(&self, text: &[u8]) -> bool {
        match self {
            Search::One(finder) => finder.find(text).is_some(),
            Search::Many(automaton) => automaton.is_match(text),
        }
    }
}

impl Clause {
    fn new(needles: Vec<Needle>) -> Clause {
        let searches = [false, true]
            .into_iter()
            .map(|ci| {
                let part: Vec<&Needle> = needles
                    .iter()
                    .filter(|n| n.case_insensitive == ci)
                    .collect();
                Search::new(&part, ci)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|searches| searches.into_iter().flatten().collect())
            // Not failing for the few short needles of a rule; stay sound if it did.
            .ok();
        Clause { needles, searches }
    }

    fn has_case_insensitive(&self) -> bool {
        self.needles.iter().any(|n| n.case_insensitive)
    }

    /// Whether some needle occurs in `text` (`non_ascii` caches whether `text` is all ASCII).
    fn occurs_in(&self, text: &[u8], non_ascii: &mut Option<bool>) -> bool {
        let Some(searches) = &self.searches else {
            return true;
        };
        searches.iter().any(|s| s.occurs_in(text))
            || (self.has_case_insensitive() && *non_ascii.get_or_insert_with(|| !text.is_ascii()))
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
    pub fn from_clauses(clauses: Vec<Vec<Needle>>) -> Needles {
        let mut clauses: Vec<Clause> = clauses
            .into_iter()
            .filter(|c| !c.is_empty())
            .map(Clause::new)
            .collect();
        // Most records fail the first clause searched: search the cheapest, most selective
        // first — a single needle (one SIMD substring search), the longest first.
        clauses.sort_by_key(|c| selectivity(&c.needles));
        Needles { clauses }
    }

    /// Both sets must hold.
    pub fn and(self, other: Needles) -> Needles {
        let clauses = self.clauses.into_iter().chain(other.clauses);
        Needles::from_clauses(normalize(clauses.map(|c| c.needles).collect()))
    }

    /// True when nothing is required (every record must be parsed).
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// The clauses, most selective first.
    pub fn clauses(&self) -> impl Iterator<Item = &[Needle]> {
        self.clauses.iter().map(|c| c.needles.as_slice())
    }

    /// The clauses as text (in a stable order; `(?i)` before case-insensitive needles), for
    /// `eshunt rules --verbose` and tests.
    pub fn describe(&self) -> Vec<Vec<String>> {
        let mut clauses: Vec<Vec<String>> = self
            .clauses
            .iter()
            .map(|c| c.needles.iter().map(Needle::describe).collect())
            .collect();
        clauses.sort();
        clauses
    }

    /// False only when `text` cannot match: some clause has no needle in it.
    pub fn may_match(&self, text: &[u8]) -> bool {
        self.may_match_unescaped(text) || escapes_may_hide_literals(text)
    }

    /// [`Needles::may_match`] for a text known to hold no JSON escape that could spell a needle
    /// differently.
    pub fn may_match_unescaped(&self, text: &[u8]) -> bool {
        let mut non_ascii = None;
        self.clauses
            .iter()
            .all(|clause| clause.occurs_in(text, &mut non_ascii))
    }
}

/// The order clauses are best searched in: fewest needles first, then longest shortest needle.
pub(crate) fn selectivity(needles: &[Needle]) -> (usize, std::cmp::Reverse<usize>) {
    let longest = needles.iter().map(|n| n.text.len()).max().unwrap_or(0);
    (needles.len(), std::cmp::Reverse(longest))
}

/// True when JSON escapes in `text` could spell a needle differently (`\u0041`, `\/`).
pub fn escapes_may_hide_literals(text: &[u8]) -> bool {
    memchr::memchr_iter(b'\\', text).any(|at| matches!(text.get(at + 1), Some(b'u' | b'/')))
}

fn normalize(mut clauses: Vec<Vec<Needle>>) -> Vec<Vec<Needle>> {
    clauses.iter_mut().for_each(|c| {
        c.sort();
        c.dedup();
        drop_redundant(c);
    });
    clauses.sort();
    clauses.dedup();
    clauses
}

/// In a disjunction a needle implying another is redundant (where it occurs, so does the
/// other): `AccessDeniedException` goes when `AccessDenied` is there.
fn drop_redundant(clause: &mut Vec<Needle>) {
    let all = clause.clone();
    clause.retain(|n| !all.iter().any(|m| m != n && n.implies(m)));
}

/// The OR of one clause per branch, or nothing if some branch requires nothing.
fn any_of(branches: impl IntoIterator<Item = Vec<Vec<Needle>>>) -> Vec<Vec<Needle>> {
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

fn cnf(expr: &Expr) -> Vec<Vec<Needle>> {
    match expr {
        Expr::All(items) => items.iter().flat_map(cnf).collect(),
        Expr::Any(items) => any_of(items.iter().map(cnf)),
        Expr::Not(_) => Vec::new(),
        Expr::Pred(p) => predicate_literals(&p.field, &p.op).into_iter().collect(),
    }
}

/// The most selective clause: the one whose shortest alternative is longest.
fn best_clause(clauses: Vec<Vec<Needle>>) -> Option<Vec<Needle>> {
    clauses
        .into_iter()
        .max_by_key(|c| c.iter().map(|n| n.text.len()).min().unwrap_or(0))
}

fn predicate_literals(field: &Field, op: &Op) -> Option<Vec<Needle>> {
    let Field::Path(path) = field else {
        return None;
    };
    if storage_of(path.as_str()) == Some(Storage::Converted) {
        return None;
    }
    let literals: Vec<Needle> = match op {
        Op::Eq(Scalar::Str(s)) => vec![Needle::exact(s)],
        Op::In(set) => set
            .iter()
            .map(|s| match s {
                Scalar::Str(s) => Some(Needle::exact(s)),
                _ => None,
            })
            .collect::<Option<_>>()?,
        Op::StartsWith(set, false) | Op::EndsWith(set, false) | Op::Contains(set, false) => {
            set.iter().map(Needle::exact).collect()
        }
        // The parser lower-cased these operands as the evaluator compares them.
        Op::IEq(set, false)
        | Op::StartsWith(set, true)
        | Op::EndsWith(set, true)
        | Op::Contains(set, true) => set.iter().map(Needle::folded).collect(),
        Op::Matches(re) => vec![regex_needle(re.as_str())?],
        _ => return None,
    };
    literals
        .iter()
        .all(|n| is_plain(&n.text))
        .then_some(literals)
}

/// A needle every match of a regular expression holds: its longest literal run (3 characters or
/// more, ASCII) that every match must contain, as a case-insensitive needle — the `Regex` does not
/// say whether it was built ignoring case (`imatches`), and a case-insensitive needle is found in
/// any case (and a text with a non-ASCII byte, which Unicode case folding could reach, is never
/// skipped for it).
fn regex_needle(pattern: &str) -> Option<Needle> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let literal = required_literal(&hir)?;
    let text = String::from_utf8(literal).ok()?;
    (text.is_ascii() && text.len() >= 3).then(|| Needle::folded(text.to_ascii_lowercase()))
}

/// The longest run of literal bytes every match of `hir` contains.
fn required_literal(hir: &regex_syntax::hir::Hir) -> Option<Vec<u8>> {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Literal(lit) => Some(lit.0.to_vec()),
        HirKind::Capture(c) => required_literal(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => required_literal(&r.sub),
        HirKind::Concat(items) => {
            let mut best: Option<Vec<u8>> = None;
            let mut run: Vec<u8> = Vec::new();
            let keep = |candidate: Vec<u8>, best: &mut Option<Vec<u8>>| {
                if best.as_ref().is_none_or(|b| candidate.len() > b.len()) {
                    *best = Some(candidate);
                }
            };
            for item in items {
                match item.kind() {
                    HirKind::Literal(lit) => run.extend_from_slice(&lit.0),
                    _ => {
                        if !run.is_empty() {
                            keep(std::mem::take(&mut run), &mut best);
                        }
                        if let Some(inner) = required_literal(item) {
                            keep(inner, &mut best);
                        }
                    }
                }
            }
            if !run.is_empty() {
                keep(run, &mut best);
            }
            best
        }
        _ => None,
    }
}

fn dsl_cnf(query: &Value, mapping: &Mapping) -> Vec<Vec<Needle>> {
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
        "match" | "match_phrase" | "term" | "prefix" => keyword_value(body, mapping)
            .and_then(|v| Some(needle(scalar_text(v, "query")?, case_insensitive(v))))
            .map(|n| vec![vec![n]])
            .unwrap_or_default(),
        "wildcard" => keyword_value(body, mapping)
            .and_then(|v| {
                let core = wildcard_core(&scalar_text(v, "wildcard")?, WildcardSyntax::Lucene)?;
                Some(needle(core, case_insensitive(v)))
            })
            .map(|n| vec![vec![n]])
            .unwrap_or_default(),
        "terms" => keyword_value(body, mapping)
            .and_then(|v| {
                v.as_array()?
                    .iter()
                    .map(|x| x.as_str().map(Needle::exact))
                    .collect()
            })
            .map(|all: Vec<Needle>| vec![all])
            .unwrap_or_default(),
        "query_string" => query_string_cores(body, mapping)
            .map(|cores| vec![cores.into_iter().map(Needle::exact).collect()])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|clause| !clause.is_empty() && clause.iter().all(|n| is_plain(&n.text)))
    .collect()
}

fn bool_cnf(body: &Value, mapping: &Mapping) -> Vec<Vec<Needle>> {
    let list = |key: &str| match &body[key] {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        single => vec![single.clone()],
    };
    let required: Vec<Value> = [list("filter"), list("must")].concat();
    let mut out: Vec<Vec<Needle>> = required.iter().flat_map(|q| dsl_cnf(q, mapping)).collect();
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

/// A needle from a DSL operand, lower-cased as the query evaluates it when case-insensitive.
fn needle(text: String, case_insensitive: bool) -> Needle {
    match case_insensitive {
        true => Needle::folded(lowercase(&text)),
        false => Needle::exact(text),
    }
}

/// The `value` of `{field: value}` or `{field: {query|value: value, …}}` on a plain keyword
/// field.
fn keyword_value<'v>(body: &'v Value, mapping: &Mapping) -> Option<&'v Value> {
    let (field, value) = body.as_object().filter(|o| o.len() == 1)?.iter().next()?;
    is_plain_keyword(field, mapping).then_some(value)
}

/// `"case_insensitive": true` in a term-level query's body.
fn case_insensitive(value: &Value) -> bool {
    value.get("case_insensitive").is_some_and(|c| c == true)
}

/// The operand: the body itself, or its `value` or `alias` key (`query`, `wildcard`).
fn scalar_text(value: &Value, alias: &str) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o
            .get(alias)
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

/// Which characters a wildcard pattern reserves besides `*`, `?` and the `\` escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WildcardSyntax {
    /// A `wildcard` query's value: nothing else is special.
    Lucene,
    /// A `query_string` term: whitespace and operators end the term (no needle then).
    QueryString,
}

/// The longest literal run (2 characters or more) of a wildcard pattern, unescaped:
/// `*Put\*Bucket*Acl*` → `Put*Bucket`. A whole value matching the pattern contains it.
fn wildcard_core(pattern: &str, syntax: WildcardSyntax) -> Option<String> {
    let mut runs = vec![String::new()];
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => runs.last_mut()?.push(chars.next()?),
            '*' | '?' => runs.push(String::new()),
            c if syntax == WildcardSyntax::QueryString
                && (c.is_whitespace() || "()\"~^:[]{}/!+-&|<>=".contains(c)) =>
            {
                return None
            }
            c => runs.last_mut()?.push(c),
        }
    }
    // The longest, the first of equals.
    let longest = runs.into_iter().rev().max_by_key(|r| r.chars().count())?;
    (longest.chars().count() >= 2).then_some(longest)
}

/// The longest literal run of each term of a one-field `query_string` whose terms are
/// alternatives (how Kibana translates `event.action: *Bucket*`, or `user_agent.original: *S3
/// Browser*`, which the engine reads as `*S3` or `Browser*`), with their escapes removed.
fn query_string_cores(body: &Value, mapping: &Mapping) -> Option<Vec<String>> {
    let fields = body["fields"].as_array()?;
    let [field] = fields.as_slice() else {
        return None;
    };
    if !is_plain_keyword(field.as_str()?, mapping) {
        return None;
    }
    let or = body["default_operator"]
        .as_str()
        .is_none_or(|op| op.eq_ignore_ascii_case("or"));
    let query = body["query"].as_str()?;
    let terms = split_terms(query)?;
    let is_operator = |t: &str| matches!(t, "AND" | "OR" | "NOT" | "&&" | "||");
    if terms.is_empty() || (terms.len() > 1 && !or) || terms.iter().any(|t| is_operator(t)) {
        return None;
    }
    terms
        .iter()
        .map(|t| wildcard_core(t, WildcardSyntax::QueryString))
        .collect()
}

/// The whitespace-separated terms of a `query_string` query (a backslash escapes the next
/// character, whitespace included); `None` on a dangling escape.
fn split_terms(query: &str) -> Option<Vec<String>> {
    let mut terms = Vec::new();
    let mut term = String::new();
    let mut chars = query.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                term.push(c);
                term.push(chars.next()?);
            }
            c if c.is_whitespace() => {
                terms.extend((!term.is_empty()).then(|| std::mem::take(&mut term)))
            }
            c => term.push(c),
        }
    }
    terms.extend((!term.is_empty()).then_some(term));
    Some(terms)
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
    fn negations_and_converted_fields_give_nothing() {
        assert!(needles(r#"not a eq "x""#).is_empty());
        assert!(needles(r#"a ine "x""#).is_empty());
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
        assert_eq!(
            dsl_needles("event.action: *Layer"),
            vec![vec!["Layer".to_string()]],
            "the literal core after a leading wildcard"
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
            vec![Needle::exact("lambda")],
            vec![Needle::exact("Update"), Needle::exact("Publish")],
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
            Needle::exact("AccessDeniedException"),
            Needle::exact("AccessDenied"),
            Needle::exact("Client.UnauthorizedOperation"),
            Needle::exact("UnauthorizedOperation"),
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

    #[test]
    fn case_insensitive_condition_operators_give_folded_needles() {
        assert_eq!(
            needles(r#"eventName iin ["CreateUser", "DeleteUser"]"#),
            vec![vec!["(?i)createuser".to_string(), "(?i)deleteuser".into()]]
        );
        assert_eq!(
            needles(r#"userAgent icontains "Terraform""#),
            vec![vec!["(?i)terraform".to_string()]]
        );
        assert_eq!(
            needles("eventName istarts_with \"Put\"\nuserAgent iends_with \"Boto\""),
            vec![vec!["(?i)boto".to_string()], vec!["(?i)put".to_string()]]
        );
        assert!(needles(r#"eventTime istarts_with "2024""#).is_empty());
        assert!(needles(r#"a icontains "has\"quote""#).is_empty());
    }

    #[test]
    fn folded_needles_match_any_ascii_case() {
        let n = Needles::from_condition(
            Condition::parse(r#"eventName ieq "CreateUser""#)
                .unwrap()
                .expr(),
        );
        for text in ["CreateUser", "createuser", "CREATEUSER", "cReAtEuSeR"] {
            assert!(n.may_match(format!(r#"{{"eventName":"{text}"}}"#).as_bytes()));
        }
        assert!(!n.may_match(br#"{"eventName":"CreateUsr"}"#));
        assert!(!n.may_match(br#"{"eventName":"DeleteUser"}"#));
    }

    #[test]
    fn a_non_ascii_text_satisfies_a_case_insensitive_clause() {
        // The Kelvin sign lower-cases to an ASCII `k` with Unicode rules.
        let n = Needles::from_condition(Condition::parse(r#"a ieq "key""#).unwrap().expr());
        assert!(n.may_match("{\"a\":\"\u{212A}EY\"}".as_bytes()));
        assert!(n.may_match("{\"a\":\"x\",\"b\":\"é\"}".as_bytes()));
        assert!(!n.may_match(br#"{"a":"x","b":"e"}"#));
        let exact = Needles::from_condition(Condition::parse(r#"a eq "key""#).unwrap().expr());
        assert!(
            !exact.may_match("{\"a\":\"\u{212A}ey\"}".as_bytes()),
            "exact needles need their bytes"
        );
    }

    #[test]
    fn an_exact_needle_implied_by_a_folded_one_is_dropped() {
        let n = Needles::from_clauses(normalize(vec![vec![
            Needle::exact("AssumeRole"),
            Needle::folded("assumerole"),
            Needle::folded("getuser"),
            Needle::exact("GetUserPolicy"),
        ]]));
        assert_eq!(
            n.describe(),
            vec![vec!["(?i)assumerole".to_string(), "(?i)getuser".into()]]
        );
        let kept = Needles::from_clauses(normalize(vec![vec![
            Needle::folded("assumerolewithsaml"),
            Needle::exact("AssumeRole"),
        ]]));
        assert_eq!(
            kept.describe(),
            vec![vec![
                "AssumeRole".to_string(),
                "(?i)assumerolewithsaml".into()
            ]],
            "a folded needle is not implied by an exact one"
        );
    }

    fn dsl(query: serde_json::Value) -> Vec<Vec<String>> {
        Needles::from_dsl(&query, crate::event::mapping::cloudtrail_mapping()).describe()
    }

    #[test]
    fn case_insensitive_term_level_queries_give_folded_needles() {
        use serde_json::json;
        assert_eq!(
            dsl(
                json!({"term": {"event.action": {"value": "CreateUser", "case_insensitive": true}}})
            ),
            vec![vec!["(?i)createuser".to_string()]]
        );
        assert_eq!(
            dsl(json!({"prefix": {"event.action": {"value": "Put", "case_insensitive": true}}})),
            vec![vec!["(?i)put".to_string()]]
        );
        assert_eq!(
            dsl(
                json!({"wildcard": {"user_agent.original": {"value": "*TerraForm*", "case_insensitive": true}}})
            ),
            vec![vec!["(?i)terraform".to_string()]]
        );
        assert_eq!(
            dsl(
                json!({"term": {"event.action": {"value": "\u{212A}ey", "case_insensitive": true}}})
            ),
            vec![vec!["(?i)key".to_string()]],
            "lower-cased as the query evaluates it: the Kelvin sign is a k"
        );
        assert!(
            dsl(json!({"term": {"event.outcome": {"value": "success", "case_insensitive": true}}}))
                .is_empty(),
            "computed by the pipeline"
        );
    }

    #[test]
    fn wildcard_patterns_give_their_longest_literal_run() {
        use serde_json::json;
        assert_eq!(
            dsl_needles("event.action: *Bucket*"),
            vec![vec!["Bucket".to_string()]]
        );
        assert_eq!(
            dsl_needles("user_agent.original: *Terraform*"),
            vec![vec!["Terraform".to_string()]]
        );
        assert_eq!(
            dsl_needles("event.action: Put*BucketPolicy"),
            vec![vec!["BucketPolicy".to_string()]]
        );
        assert!(dsl_needles("event.action: *a*").is_empty(), "too short");
        assert_eq!(
            dsl(json!({"wildcard": {"event.action": {"value": "Get?Bucket\\*Acl*x"}}})),
            vec![vec!["Bucket*Acl".to_string()]],
            "? is a wildcard, \\* a literal star"
        );
        assert_eq!(
            dsl(json!({"wildcard": {"event.action": "*Delete*"}})),
            vec![vec!["Delete".to_string()]]
        );
        assert!(
            dsl(json!({"wildcard": {"message": "*Delete*"}})).is_empty(),
            "text field"
        );
        assert!(
            dsl(json!({"query_string": {"fields": ["event.action"], "query": "*Put* OR x"}}))
                .is_empty(),
            "an operator"
        );
        assert_eq!(
            dsl(
                json!({"query_string": {"fields": ["user_agent.original"], "query": "*S3 Browser*"}})
            ),
            vec![vec!["Browser".to_string(), "S3".to_string()]],
            "terms are alternatives"
        );
        assert!(
            dsl(json!({"query_string": {"fields": ["user_agent.original"], "query": "*S3 Browser*", "default_operator": "AND"}}))
                .is_empty(),
            "terms all required: not one clause"
        );
        assert_eq!(
            dsl(json!({"query_string": {"fields": ["event.action"], "query": "Put\\ Bucket*"}})),
            vec![vec!["Put Bucket".to_string()]],
            "an escaped space"
        );
    }

    #[test]
    fn regular_expressions_give_their_longest_required_literal() {
        assert_eq!(
            needles(r#"userIdentity.arn matches ".+:assumed-role/aws:.+""#),
            vec![vec!["(?i):assumed-role/aws:".to_string()]]
        );
        assert_eq!(
            needles(r#"userAgent imatches "^aws-cli/[0-9]+ Python""#),
            vec![vec!["(?i)aws-cli/".to_string()]]
        );
        assert!(needles(r#"a matches "abc|def""#).is_empty(), "alternatives");
        assert!(needles(r#"a matches "(abcd)?x""#).is_empty(), "optional");
        assert!(
            needles(r#"a matches "(?i)abcd""#).is_empty(),
            "case-insensitive classes"
        );
        assert!(needles(r#"a matches "ab.""#).is_empty(), "too short");
        let n = Needles::from_condition(
            Condition::parse(r#"a matches ".+:assumed-role/aws:.+""#)
                .unwrap()
                .expr(),
        );
        assert!(n.may_match(br#"{"a":"arn:aws:sts::1:assumed-role/aws:x"}"#));
        assert!(n.may_match(br#"{"a":"arn:aws:sts::1:ASSUMED-role/aws:x"}"#));
        assert!(!n.may_match(br#"{"a":"arn:aws:sts::1:assumed-role/x"}"#));
    }

    #[test]
    fn wildcard_cores() {
        let core = |p: &str| wildcard_core(p, WildcardSyntax::Lucene);
        assert_eq!(core("abc"), Some("abc".into()));
        assert_eq!(core("*ab*cde*fg"), Some("cde".into()));
        assert_eq!(core("abc*def"), Some("abc".into()), "the first of equals");
        assert_eq!(core("a\\*b*c"), Some("a*b".into()));
        assert_eq!(core("a?b"), None);
        assert_eq!(core("ab?cd"), Some("ab".into()));
        assert_eq!(core("abc\\"), None, "a dangling escape");
        assert_eq!(wildcard_core("a b*", WildcardSyntax::QueryString), None);
        assert_eq!(core("a b*"), Some("a b".into()));
    }
}
