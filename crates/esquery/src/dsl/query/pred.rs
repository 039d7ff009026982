//! Compiled value tests: what one leaf query checks against the values of one field.
//!
//! A [`Pred`] pairs a field type's reading of values (see [`super::values`]) with a test. It is
//! evaluated over all values of the field in a document, so field-level semantics hold: a
//! `match` with `operator: and` on a multi-valued text field needs every term somewhere in the
//! field, as it does in Lucene, where all values of a field are one token stream.

use crate::dsl::analysis::{lower_char, Analyzer};
use crate::dsl::date::Nanos;
use crate::dsl::datemath::DateMath;
use crate::dsl::error::DslError;
use crate::dsl::mapping::{FieldMapping, FieldType};
use crate::dsl::pattern::Glob;
use crate::dsl::query::values::{
    parse_ip, scalar_text, DateDom, FloatDom, FloatKind, IntDom, IntKind, IpDom, KeywordDom,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashSet;
use std::ops::Bound;

/// A function that feeds every value of a field to a callback, stopping when it returns true.
pub(crate) type Visit<'a> = &'a dyn Fn(&mut dyn FnMut(&Value) -> bool) -> bool;

/// How a field type reads `_source` values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Domain {
    Keyword(KeywordDom),
    /// Analysed text, tokenised at index time with this analyzer.
    Text(Analyzer),
    Int(IntDom),
    Float(FloatDom),
    Date(DateDom),
    Ip(IpDom),
    /// An object: it "exists" when it holds any value.
    Object,
}

impl Domain {
    /// The domain of a mapped field; fails for types eshunt does not evaluate.
    pub(crate) fn of(fm: &FieldMapping, field: &str) -> Result<Domain, DslError> {
        let int = |kind| {
            Domain::Int(IntDom {
                kind,
                null_value: None,
            })
        };
        let mut dom = match fm.ty {
            FieldType::Keyword
            | FieldType::ConstantKeyword
            | FieldType::Wildcard
            | FieldType::Flattened => Domain::Keyword(KeywordDom::of(fm)?),
            FieldType::Text | FieldType::MatchOnlyText => Domain::Text(Analyzer::named(
                fm.analyzer.as_deref().unwrap_or("standard"),
            )?),
            FieldType::Long => int(IntKind::Long),
            FieldType::Integer => int(IntKind::Integer),
            FieldType::Short => int(IntKind::Short),
            FieldType::Byte => int(IntKind::Byte),
            FieldType::UnsignedLong => int(IntKind::UnsignedLong),
            FieldType::Boolean => int(IntKind::Boolean),
            FieldType::ScaledFloat => int(IntKind::Scaled(fm.scaling_factor.unwrap_or(1.0))),
            FieldType::Double | FieldType::Float | FieldType::HalfFloat => {
                let kind = match fm.ty {
                    FieldType::Double => FloatKind::Double,
                    FieldType::Float => FloatKind::Float,
                    _ => FloatKind::Half,
                };
                Domain::Float(FloatDom {
                    kind,
                    null_value: None,
                })
            }
            FieldType::Date | FieldType::DateNanos => Domain::Date(DateDom::of(fm)?),
            FieldType::Ip => Domain::Ip(IpDom { null_value: None }),
            FieldType::Object | FieldType::Nested => Domain::Object,
            FieldType::Alias | FieldType::Other => {
                return Err(DslError::unsupported_feature(
                    "query",
                    format!("queries on field [{field}] of type [{}]", fm.type_name),
                ));
            }
        };
        if let Some(nv) = &fm.null_value {
            match &mut dom {
                Domain::Int(d) => d.null_value = d.value(nv),
                Domain::Float(d) => d.null_value = d.value(nv),
                Domain::Ip(d) => d.null_value = nv.as_str().and_then(parse_ip),
                _ => {}
            }
        }
        Ok(dom)
    }

    /// Whether a `_source` value is indexed by this type (the `exists` test).
    fn indexes(&self, v: &Value) -> bool {
        match self {
            Domain::Keyword(d) => d.value(v).is_some(),
            Domain::Text(_) => scalar_text(v).is_some(),
            Domain::Int(d) => d.value(v).is_some(),
            Domain::Float(d) => d.value(v).is_some(),
            Domain::Date(d) => d.value(v).is_some(),
            Domain::Ip(d) => d.value(v).is_some(),
            Domain::Object => has_leaf(v),
        }
    }
}

/// Whether a value holds any non-null scalar, at any depth.
fn has_leaf(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(a) => a.iter().any(has_leaf),
        Value::Object(o) => o.values().any(has_leaf),
        _ => true,
    }
}

/// A test on a keyword value.
#[derive(Debug, Clone)]
pub(crate) enum KwTest {
    /// Equal to one of these (few) terms.
    Terms(Vec<String>),
    /// Equal to one of these (many) terms.
    TermSet(HashSet<String>),
    /// Equal, ignoring case, to one of these lower-cased terms.
    TermsCi(Vec<String>),
    /// Starts with the prefix (lower-cased when case-insensitive).
    Prefix {
        prefix: String,
        ci: bool,
    },
    Glob(Glob),
    Regex(regex::Regex),
    /// Lexicographic (byte order) range.
    Range(Bound<String>, Bound<String>),
    Fuzzy(Fuzzy),
}

impl KwTest {
    /// Exact terms, as a set when there are many.
    pub(crate) fn terms(terms: Vec<String>) -> KwTest {
        if terms.len() > 8 {
            KwTest::TermSet(terms.into_iter().collect())
        } else {
            KwTest::Terms(terms)
        }
    }

    fn test(&self, s: &str) -> bool {
        match self {
            KwTest::Terms(ts) => ts.iter().any(|t| t == s),
            KwTest::TermSet(set) => set.contains(s),
            KwTest::TermsCi(ts) => ts.iter().any(|t| eq_ci(s, t)),
            KwTest::Prefix { prefix, ci: false } => s.starts_with(prefix.as_str()),
            KwTest::Prefix { prefix, ci: true } => starts_with_ci(s, prefix),
            KwTest::Glob(g) => g.matches(s),
            KwTest::Regex(r) => r.is_match(s),
            KwTest::Range(lo, hi) => in_range(s, lo, hi),
            KwTest::Fuzzy(f) => f.matches(s),
        }
    }
}

/// `s` equals the lower-cased `lower`, ignoring case.
fn eq_ci(s: &str, lower: &str) -> bool {
    let mut a = s.chars().map(lower_char);
    let mut b = lower.chars();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
}

/// `s` starts with the lower-cased `lower`, ignoring case.
fn starts_with_ci(s: &str, lower: &str) -> bool {
    let mut a = s.chars().map(lower_char);
    lower.chars().all(|y| a.next() == Some(y))
}

fn in_range(s: &str, lo: &Bound<String>, hi: &Bound<String>) -> bool {
    let above = match lo {
        Bound::Included(l) => s >= l.as_str(),
        Bound::Excluded(l) => s > l.as_str(),
        Bound::Unbounded => true,
    };
    let below = match hi {
        Bound::Included(h) => s <= h.as_str(),
        Bound::Excluded(h) => s < h.as_str(),
        Bound::Unbounded => true,
    };
    above && below
}

/// A fuzzy term: Damerau–Levenshtein (optimal string alignment) distance, as Lucene's
/// `FuzzyQuery` with `transpositions: true`, over code points.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fuzzy {
    term: Vec<char>,
    max_edits: usize,
    prefix_len: usize,
    transpositions: bool,
}

impl Fuzzy {
    /// A fuzzy matcher; `fuzziness` is `AUTO`, `AUTO:low,high` or an edit count (0–2).
    pub(crate) fn new(
        term: &str,
        fuzziness: &str,
        prefix_len: usize,
        transpositions: bool,
    ) -> Result<Fuzzy, DslError> {
        let chars: Vec<char> = term.chars().collect();
        let max_edits = fuzzy_distance(fuzziness, chars.len())?;
        Ok(Fuzzy {
            term: chars,
            max_edits,
            prefix_len,
            transpositions,
        })
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        let cand: Vec<char> = s.chars().collect();
        let p = self.prefix_len.min(self.term.len());
        if cand.len() < p || cand[..p] != self.term[..p] {
            return false;
        }
        let (a, b) = (&self.term[p..], &cand[p..]);
        if a.len().abs_diff(b.len()) > self.max_edits {
            return false;
        }
        osa_distance(a, b, self.transpositions) <= self.max_edits
    }
}

/// Edit distance for a `fuzziness` value and a term of `len` code points.
pub(crate) fn fuzzy_distance(fuzziness: &str, len: usize) -> Result<usize, DslError> {
    let f = fuzziness.trim();
    if f.eq_ignore_ascii_case("auto") || f.to_ascii_uppercase().starts_with("AUTO:") {
        let (low, high) = match f.split_once(':') {
            Some((_, spec)) => {
                let (l, h) = spec.split_once(',').ok_or_else(|| {
                    DslError::malformed("fuzziness", format!("failed to parse [{f}]"))
                })?;
                let l: usize = l.trim().parse().map_err(|_| {
                    DslError::malformed("fuzziness", format!("failed to parse [{f}]"))
                })?;
                let h: usize = h.trim().parse().map_err(|_| {
                    DslError::malformed("fuzziness", format!("failed to parse [{f}]"))
                })?;
                (l, h)
            }
            None => (3, 6),
        };
        return Ok(if len < low {
            0
        } else if len < high {
            1
        } else {
            2
        });
    }
    let n: f64 = f.parse().map_err(|_| {
        DslError::malformed("fuzziness", format!("failed to parse [{f}] as fuzziness"))
    })?;
    Ok((n.max(0.0) as usize).min(2))
}

/// Optimal-string-alignment distance.
fn osa_distance(a: &[char], b: &[char], transpositions: bool) -> usize {
    let w = b.len() + 1;
    let mut prev2 = vec![0usize; w];
    let mut prev: Vec<usize> = (0..w).collect();
    let mut cur = vec![0usize; w];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..w {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if transpositions && i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// A test on one token of a text field.
#[derive(Debug, Clone)]
pub(crate) enum TokMatcher {
    Exact(String),
    /// Equal ignoring case (`case_insensitive` term queries); the string is lower-cased.
    ExactCi(String),
    Prefix(String),
    PrefixCi(String),
    Glob(Glob),
    Regex(regex::Regex),
    Range(Bound<String>, Bound<String>),
    Fuzzy(Fuzzy),
}

impl TokMatcher {
    fn matches(&self, tok: &str) -> bool {
        match self {
            TokMatcher::Exact(t) => tok == t,
            TokMatcher::ExactCi(t) => eq_ci(tok, t),
            TokMatcher::Prefix(p) => tok.starts_with(p.as_str()),
            TokMatcher::PrefixCi(p) => starts_with_ci(tok, p),
            TokMatcher::Glob(g) => g.matches(tok),
            TokMatcher::Regex(r) => r.is_match(tok),
            TokMatcher::Range(lo, hi) => in_range(tok, lo, hi),
            TokMatcher::Fuzzy(f) => f.matches(tok),
        }
    }
}

/// A test on the tokens of a text field.
#[derive(Debug, Clone)]
pub(crate) enum TextTest {
    /// At least `min` (≥ 1) of the matchers match some token of the field.
    Tokens {
        matchers: Vec<TokMatcher>,
        min: usize,
    },
    /// The matchers at their relative positions, within `slop` moves, inside one value.
    Phrase {
        terms: Vec<(u32, TokMatcher)>,
        slop: u32,
    },
}

/// A range on a floating-point field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FloatRange {
    pub lo: Bound<f64>,
    pub hi: Bound<f64>,
}

impl FloatRange {
    fn contains(&self, x: f64) -> bool {
        let above = match self.lo {
            Bound::Included(l) => x >= l,
            Bound::Excluded(l) => x > l,
            Bound::Unbounded => true,
        };
        let below = match self.hi {
            Bound::Included(h) => x <= h,
            Bound::Excluded(h) => x < h,
            Bound::Unbounded => true,
        };
        above && below
    }
}

/// One end of a date range.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DateBound {
    Unbounded,
    /// Already resolved (and adjusted for exclusivity and resolution).
    Fixed(Nanos),
    /// Relative to `now`: resolved at match time.
    Now {
        math: DateMath,
        round_up: bool,
        exclusive: bool,
    },
}

/// An inclusive date range; `lower` bounds are adjusted up for `gt`, `upper` down for `lt`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DateRange {
    pub lo: DateBound,
    pub hi: DateBound,
}

impl DateRange {
    /// The inclusive bounds at `now`; `None` if a bound cannot be resolved.
    fn resolve(&self, dom: &DateDom, now: DateTime<Utc>) -> Option<(Nanos, Nanos)> {
        let end = |b: &DateBound, lower: bool| -> Option<Nanos> {
            Some(match b {
                DateBound::Unbounded => {
                    if lower {
                        Nanos::MIN
                    } else {
                        Nanos::MAX
                    }
                }
                DateBound::Fixed(n) => *n,
                DateBound::Now {
                    math,
                    round_up,
                    exclusive,
                } => {
                    let n = dom.truncate_bound(math.resolve(now, *round_up)?);
                    match (exclusive, lower) {
                        (false, _) => n,
                        (true, true) => n + dom.resolution(),
                        (true, false) => n - dom.resolution(),
                    }
                }
            })
        };
        Some((end(&self.lo, true)?, end(&self.hi, false)?))
    }
}

/// A compiled leaf test over the values of one field.
#[derive(Debug, Clone)]
pub(crate) enum Pred {
    /// The field has at least one indexed value.
    Exists(Domain),
    Keyword(KeywordDom, KwTest),
    /// Text tokenised at index time with `analyzer`.
    Text {
        analyzer: Analyzer,
        test: TextTest,
    },
    /// Any value in any of the inclusive ranges.
    Int(IntDom, Vec<(i128, i128)>),
    Float(FloatDom, Vec<FloatRange>),
    Date(DateDom, Vec<DateRange>),
    Ip(IpDom, Vec<(u128, u128)>),
}

impl Pred {
    /// Tests the field whose values `visit` produces.
    pub(crate) fn test(&self, now: DateTime<Utc>, visit: Visit<'_>) -> bool {
        match self {
            Pred::Exists(dom) => visit(&mut |v| dom.indexes(v)),
            Pred::Keyword(dom, t) => visit(&mut |v| dom.value(v).is_some_and(|s| t.test(&s))),
            Pred::Text { analyzer, test } => test_text(*analyzer, test, visit),
            Pred::Int(dom, ranges) => visit(&mut |v| {
                dom.value(v)
                    .is_some_and(|n| ranges.iter().any(|(lo, hi)| *lo <= n && n <= *hi))
            }),
            Pred::Float(dom, ranges) => visit(&mut |v| {
                dom.value(v)
                    .is_some_and(|x| ranges.iter().any(|r| r.contains(x)))
            }),
            Pred::Date(dom, ranges) => {
                let resolved: Vec<(Nanos, Nanos)> =
                    ranges.iter().filter_map(|r| r.resolve(dom, now)).collect();
                visit(&mut |v| {
                    dom.value(v)
                        .is_some_and(|n| resolved.iter().any(|(lo, hi)| *lo <= n && n <= *hi))
                })
            }
            Pred::Ip(dom, ranges) => visit(&mut |v| {
                dom.value(v)
                    .is_some_and(|n| ranges.iter().any(|(lo, hi)| *lo <= n && n <= *hi))
            }),
        }
    }

    /// Tests a single value (used for constant_keyword fields and dynamic field expansion).
    pub(crate) fn test_value(&self, now: DateTime<Utc>, value: &Value) -> bool {
        self.test(now, &|f| f(value))
    }
}

fn test_text(analyzer: Analyzer, test: &TextTest, visit: Visit<'_>) -> bool {
    let mut buf = String::new();
    match test {
        TextTest::Tokens { matchers, min } if *min <= 1 => visit(&mut |v| {
            let Some(text) = scalar_text(v) else {
                return false;
            };
            analyzer.for_each_token(&text, &mut buf, &mut |_, tok| {
                matchers.iter().any(|m| m.matches(tok))
            })
        }),
        TextTest::Tokens { matchers, min } => {
            let mut found = vec![false; matchers.len()];
            let mut count = 0;
            visit(&mut |v| {
                let Some(text) = scalar_text(v) else {
                    return false;
                };
                analyzer.for_each_token(&text, &mut buf, &mut |_, tok| {
                    for (i, m) in matchers.iter().enumerate() {
                        if !found[i] && m.matches(tok) {
                            found[i] = true;
                            count += 1;
                        }
                    }
                    count >= *min
                })
            })
        }
        TextTest::Phrase { terms, slop } => visit(&mut |v| {
            let Some(text) = scalar_text(v) else {
                return false;
            };
            let toks = analyzer.positioned_tokens(&text);
            phrase_matches(&toks, terms, *slop)
        }),
    }
}

/// Whether the phrase `terms` (query position, matcher) occurs in `toks` within `slop`, using
/// Lucene's sloppy-phrase measure: with each term at document position `p_i` and query position
/// `q_i`, the spread `max(p_i - q_i) - min(p_i - q_i)` must not exceed `slop`, each term on a
/// distinct position.
fn phrase_matches(toks: &[(u32, String)], terms: &[(u32, TokMatcher)], slop: u32) -> bool {
    if terms.is_empty() {
        return false;
    }
    let cands: Vec<Vec<i64>> = terms
        .iter()
        .map(|(q, m)| {
            toks.iter()
                .filter(|(_, t)| m.matches(t))
                .map(|(p, _)| i64::from(*p) - i64::from(*q))
                .collect()
        })
        .collect();
    if cands.iter().any(Vec::is_empty) {
        return false;
    }
    let offsets: Vec<i64> = terms.iter().map(|(q, _)| i64::from(*q)).collect();
    sloppy_search(&cands, &offsets, i64::from(slop))
}

/// Backtracking search (iterative, so long phrases cannot exhaust the stack) for one candidate
/// per term with distinct positions and a spread of at most `slop`.
fn sloppy_search(cands: &[Vec<i64>], offsets: &[i64], slop: i64) -> bool {
    let n = cands.len();
    let mut next = vec![0usize; n];
    let mut chosen: Vec<i64> = Vec::with_capacity(n);
    let mut k = 0;
    loop {
        if k == n {
            return true;
        }
        let mut advanced = false;
        while next[k] < cands[k].len() {
            let adj = cands[k][next[k]];
            next[k] += 1;
            let lo = chosen.iter().copied().fold(adj, i64::min);
            let hi = chosen.iter().copied().fold(adj, i64::max);
            let pos = adj + offsets[k];
            let taken = chosen.iter().zip(offsets).any(|(c, q)| c + q == pos);
            if hi - lo > slop || taken {
                continue;
            }
            chosen.push(adj);
            k += 1;
            if k < n {
                next[k] = 0;
            }
            advanced = true;
            break;
        }
        if !advanced {
            if k == 0 {
                return false;
            }
            k -= 1;
            chosen.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(u32, String)> {
        Analyzer::Standard.positioned_tokens(s)
    }

    fn phrase(words: &[&str]) -> Vec<(u32, TokMatcher)> {
        words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                (
                    u32::try_from(i).unwrap(),
                    TokMatcher::Exact((*w).to_string()),
                )
            })
            .collect()
    }

    #[test]
    fn phrases_and_slop() {
        let t = toks("the quick brown fox");
        assert!(phrase_matches(&t, &phrase(&["quick", "brown"]), 0));
        assert!(!phrase_matches(&t, &phrase(&["quick", "fox"]), 0));
        assert!(phrase_matches(&t, &phrase(&["quick", "fox"]), 1));
        assert!(!phrase_matches(&t, &phrase(&["fox", "quick"]), 2));
        assert!(phrase_matches(&t, &phrase(&["fox", "quick"]), 4));
        assert!(!phrase_matches(&toks("a b"), &phrase(&["a", "a"]), 5));
    }

    #[test]
    fn fuzzy_distances() {
        let f = Fuzzy::new("quikc", "AUTO", 0, true).unwrap();
        assert!(f.matches("quick"));
        assert!(!Fuzzy::new("quikc", "AUTO", 0, false)
            .unwrap()
            .matches("quick"));
        assert!(!Fuzzy::new("ab", "AUTO", 0, true).unwrap().matches("ac"));
        assert!(Fuzzy::new("abcdefg", "2", 0, true)
            .unwrap()
            .matches("abdcefx"));
        assert!(!Fuzzy::new("abcd", "1", 1, true).unwrap().matches("xbcd"));
        assert!(fuzzy_distance("bogus", 3).is_err());
    }

    #[test]
    fn case_insensitive_helpers() {
        assert!(eq_ci("PublishLayer", "publishlayer"));
        assert!(!eq_ci("PublishLayer", "publish"));
        assert!(starts_with_ci("PublishLayer", "publ"));
    }
}
