//! One pass over a record for the literal needles of every rule an engine runs.
//!
//! [`NeedleIndex`] holds one Aho-Corasick DFA (ignoring ASCII case) over the distinct needles of
//! all rules, and each rule's clauses as needle ids. Per record one overlapping pass (a plain
//! loop of table lookups, faster than the crate's overlapping iterator) collects which needles
//! occur — an exact needle where the matched bytes equal it, a case-insensitive one wherever its
//! pattern matched — into a small bitset; then only the rules whose first (most selective)
//! clause saw a needle have their whole conjunction checked.
//! The JSON escapes that make every rule a candidate (`\u`, `\/`) are patterns of the same
//! automaton, and so are the markers a caller asks for ([`NeedleIndex::with_markers`]). The
//! answer for each rule is exactly its own [`Needles::may_match`].
//!
//! The pass walks four stretches of the text in step, each reaching into the next by the longest
//! pattern's length less one so that every occurrence lies wholly in one stretch: the four
//! chains of dependent table lookups overlap in the CPU, which speeds the walk by half again.

use super::literals::{Needle, Needles};
use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::Anchored;
use std::collections::HashMap;

/// The needles of many rules, searched in one pass.
#[derive(Debug, Clone)]
pub struct NeedleIndex {
    /// The escapes, then the distinct needles' texts ASCII-lower-cased; `None` when no rule
    /// has a needle (every rule is then in `always`).
    automaton: Option<DFA>,
    /// Per automaton pattern: what a match of it means.
    patterns: Vec<Pattern>,
    /// Per rule: its clauses as needle ids, most selective first (empty: always a candidate).
    rules: Vec<Vec<IdClause>>,
    /// Per needle id: the rules whose first clause holds it.
    triggers: Vec<Vec<usize>>,
    /// Rules whose first clause holds a case-insensitive needle: to check when the text has a
    /// non-ASCII byte.
    folded_triggers: Vec<usize>,
    /// Rules without needles: always candidates.
    always: Vec<usize>,
    /// Some clause holds a case-insensitive needle (so whether a text is ASCII matters).
    folded: bool,
    /// The length of the longest automaton pattern.
    longest: usize,
}

/// What a match of one automaton pattern means.
#[derive(Debug, Clone, Default)]
struct Pattern {
    /// `\u` or `\/`: JSON escapes may spell any needle differently.
    escape: bool,
    /// The case-insensitive needle with this text.
    folded: Option<usize>,
    /// Exact needles with this text in some case: found where the matched bytes equal theirs.
    exact: Vec<(usize, Box<[u8]>)>,
    /// The marker with this text (see [`NeedleIndex::with_markers`]).
    marker: Option<usize>,
}

/// One clause as needle ids.
#[derive(Debug, Clone)]
struct IdClause {
    ids: Box<[usize]>,
    /// Holds a case-insensitive needle: any text with a non-ASCII byte satisfies it.
    case_insensitive: bool,
}

/// The scratch space of one search, reused from record to record ([`NeedleIndex::probe`]).
#[derive(Debug, Default)]
pub struct Probe {
    escaped: bool,
    marks: Vec<(usize, usize)>,
    found: Bits,
    found_ids: Vec<usize>,
    pending: Bits,
    candidates: Vec<usize>,
}

/// The patterns every index starts with: a line holding one is never skipped.
const ESCAPES: [&str; 2] = ["\\u", "\\/"];

impl NeedleIndex {
    /// An index over the needles of `rules`, in order: rule `i` of the answers is the `i`th.
    pub fn new<'a>(rules: impl IntoIterator<Item = &'a Needles>) -> NeedleIndex {
        NeedleIndex::with_markers(rules, &[])
    }

    /// An index that also reports where `markers` (texts in any ASCII case) end in each text
    /// it searches ([`Probe::marks`]): the same pass finds what a caller looks for besides
    /// needles.
    pub fn with_markers<'a>(
        rules: impl IntoIterator<Item = &'a Needles>,
        markers: &[&str],
    ) -> NeedleIndex {
        let mut builder = Builder::default();
        markers
            .iter()
            .enumerate()
            .for_each(|(i, m)| builder.marker(i, m));
        let rules: Vec<Vec<IdClause>> = rules
            .into_iter()
            .map(|needles| needles.clauses().map(|c| builder.clause(c)).collect())
            .collect();
        let automaton = builder.automaton();
        let longest = builder.longest();
        let mut index = NeedleIndex {
            patterns: builder.patterns,
            triggers: vec![Vec::new(); builder.ids.len()],
            folded_triggers: Vec::new(),
            always: Vec::new(),
            folded: rules.iter().flatten().any(|c| c.case_insensitive),
            longest,
            automaton,
            rules: Vec::new(),
        };
        for (rule, clauses) in rules.iter().enumerate() {
            match clauses.first() {
                Some(first) if index.automaton.is_some() => {
                    first
                        .ids
                        .iter()
                        .for_each(|&id| index.triggers[id].push(rule));
                    if first.case_insensitive {
                        index.folded_triggers.push(rule);
                    }
                }
                _ => index.always.push(rule),
            }
        }
        index.rules = rules;
        index
    }

    /// Scratch space sized for this index.
    pub fn probe(&self) -> Probe {
        Probe {
            found: Bits::with_len(self.triggers.len()),
            pending: Bits::with_len(self.rules.len()),
            ..Probe::default()
        }
    }

    /// The rules (indexes, ascending) whose needles may match `text`: for each rule, exactly
    /// what its own [`Needles::may_match`] says.
    pub fn candidates<'p>(&self, text: &[u8], probe: &'p mut Probe) -> &'p [usize] {
        probe.clear();
        let Some(automaton) = &self.automaton else {
            probe.candidates.extend_from_slice(&self.always);
            return &probe.candidates;
        };
        if self.collect(automaton, text, probe) {
            probe.escaped = true;
            probe.marks.clear();
            probe.candidates.extend(0..self.rules.len());
            return &probe.candidates;
        }
        // Lanes overlap: a marker there is seen twice.
        probe.marks.sort_unstable();
        probe.marks.dedup();
        let non_ascii = self.folded && !text.is_ascii();
        self.mark_pending(probe, non_ascii);
        let Probe {
            found,
            pending,
            candidates,
            ..
        } = probe;
        pending.drain(|rule| {
            if self.holds(rule, found, non_ascii) {
                candidates.push(rule);
            }
        });
        &probe.candidates
    }

    /// One overlapping pass recording the needles found; true at the first JSON escape (or
    /// should the automaton have no start state).
    fn collect(&self, dfa: &DFA, text: &[u8], probe: &mut Probe) -> bool {
        let Ok(start) = dfa.start_state(Anchored::No) else {
            return true;
        };
        let lanes = Lanes::split(text.len(), self.longest);
        let common = lanes.common;
        let stretch: [&[u8]; LANES] =
            std::array::from_fn(|lane| &text[lanes.from[lane]..lanes.from[lane] + common]);
        let mut sid = [start; LANES];
        // All lanes in step: independent chains of table lookups overlap in the CPU.
        let bytes = (0..common).map(|step| stretch.map(|lane| lane[step]));
        for (step, bytes) in bytes.enumerate() {
            for (state, byte) in sid.iter_mut().zip(bytes) {
                *state = dfa.next_state(Anchored::No, *state, byte);
            }
            if sid.iter().any(|&s| dfa.is_special(s)) {
                for (&from, &state) in lanes.from.iter().zip(&sid) {
                    if self.record_matches(dfa, text, from + step + 1, state, probe) {
                        return true;
                    }
                }
            }
        }
        // What is left of each lane, one at a time.
        for lane in 0..LANES {
            let text = &text[..lanes.to[lane]];
            let (mut end, mut state) = (lanes.from[lane] + common, sid[lane]);
            while let Some((next, special)) = next_special(dfa, text, end, state) {
                (end, state) = (next, special);
                if self.record_matches(dfa, text, end, state, probe) {
                    return true;
                }
            }
        }
        false
    }

    /// Records the needles that match state `sid` reports ending at `end`; true on a JSON
    /// escape.
    fn record_matches(
        &self,
        dfa: &DFA,
        text: &[u8],
        end: usize,
        sid: StateID,
        probe: &mut Probe,
    ) -> bool {
        if !dfa.is_match(sid) {
            return false;
        }
        for i in 0..dfa.match_len(sid) {
            let pid = dfa.match_pattern(sid, i);
            let pattern = &self.patterns[pid.as_usize()];
            if pattern.escape {
                return true;
            }
            if let Some(marker) = pattern.marker {
                probe.marks.push((marker, end));
            }
            if let Some(id) = pattern.folded {
                probe.find(id);
            }
            let matched = &text[end - dfa.pattern_len(pid)..end];
            for (id, bytes) in &pattern.exact {
                if matched == &**bytes {
                    probe.find(*id);
                }
            }
        }
        false
    }

    /// The rules to check: those whose first clause saw a needle, those without needles, and
    /// with a non-ASCII text those whose first clause is case-insensitive.
    fn mark_pending(&self, probe: &mut Probe, non_ascii: bool) {
        let folded = if non_ascii {
            self.folded_triggers.as_slice()
        } else {
            &[]
        };
        let triggered = probe.found_ids.iter().flat_map(|&id| &self.triggers[id]);
        for &rule in triggered.chain(folded).chain(&self.always) {
            probe.pending.set(rule);
        }
    }

    /// Whether every clause of `rule` has a needle found (or is case-insensitive and the text
    /// non-ASCII).
    fn holds(&self, rule: usize, found: &Bits, non_ascii: bool) -> bool {
        self.rules[rule].iter().all(|clause| {
            (clause.case_insensitive && non_ascii) || clause.ids.iter().any(|&id| found.get(id))
        })
    }
}

/// How many stretches of a text one pass walks at once.
const LANES: usize = 4;

/// Texts shorter than this are walked as one stretch.
const SPLIT_FROM: usize = 256;

/// A text cut into [`LANES`] stretches, each reaching `longest - 1` bytes into the next so
/// that every match lies wholly inside one of them: a match starting in stretch `i` ends
/// before `from[i + 1] + longest - 1`.
#[derive(Debug)]
struct Lanes {
    from: [usize; LANES],
    to: [usize; LANES],
    /// Steps every stretch can take (the shortest one's length).
    common: usize,
}

impl Lanes {
    fn split(len: usize, longest: usize) -> Lanes {
        if len < SPLIT_FROM {
            let mut to = [len; LANES];
            to[1..].fill(0);
            return Lanes {
                from: [0; LANES],
                to,
                common: 0,
            };
        }
        let step = len.div_ceil(LANES);
        let from: [usize; LANES] = std::array::from_fn(|i| (i * step).min(len));
        let to: [usize; LANES] =
            std::array::from_fn(|i| ((i + 1) * step + longest.saturating_sub(1)).min(len));
        let common = (0..LANES).map(|i| to[i] - from[i]).min().unwrap_or(0);
        Lanes { from, to, common }
    }
}

/// Walks `text` from `at` in state `sid` to the next special (match) state: the offset after
/// the byte that reached it, and the state. A loop this small keeps its state in registers,
/// which more than halves the time per byte against one that also handles matches.
fn next_special(dfa: &DFA, text: &[u8], at: usize, mut sid: StateID) -> Option<(usize, StateID)> {
    for (i, &byte) in text.get(at..)?.iter().enumerate() {
        sid = dfa.next_state(Anchored::No, sid, byte);
        if dfa.is_special(sid) {
            return Some((at + i + 1, sid));
        }
    }
    None
}

impl Probe {
    /// Whether the last text searched holds a JSON escape (`\u`, `\/`) that may spell any
    /// needle or marker differently (every rule was then a candidate).
    pub fn escaped(&self) -> bool {
        self.escaped
    }

    /// The markers the last text searched holds, as (marker index, offset after its end),
    /// ascending; empty when it was [`escaped`](Probe::escaped).
    pub fn marks(&self) -> &[(usize, usize)] {
        &self.marks
    }

    fn clear(&mut self) {
        self.escaped = false;
        self.marks.clear();
        for id in self.found_ids.drain(..) {
            self.found.unset(id);
        }
        self.candidates.clear();
    }

    fn find(&mut self, id: usize) {
        if self.found.set(id) {
            self.found_ids.push(id);
        }
    }
}

/// Gives needles ids and automaton patterns while an index is built.
#[derive(Debug)]
struct Builder {
    ids: HashMap<Needle, usize>,
    /// The automaton's patterns: index in `patterns` by ASCII-lower-cased text.
    texts: HashMap<String, usize>,
    patterns: Vec<Pattern>,
}

impl Default for Builder {
    fn default() -> Builder {
        let escape = Pattern {
            escape: true,
            ..Pattern::default()
        };
        Builder {
            ids: HashMap::new(),
            texts: HashMap::new(),
            patterns: vec![escape; ESCAPES.len()],
        }
    }
}

impl Builder {
    fn marker(&mut self, marker: usize, text: &str) {
        self.pattern(text).marker = Some(marker);
    }

    /// The pattern of `text` in any ASCII case, added if new.
    fn pattern(&mut self, text: &str) -> &mut Pattern {
        let next = self.patterns.len();
        let at = *self.texts.entry(text.to_ascii_lowercase()).or_insert(next);
        if at == next {
            self.patterns.push(Pattern::default());
        }
        &mut self.patterns[at]
    }

    fn clause(&mut self, needles: &[Needle]) -> IdClause {
        IdClause {
            ids: needles.iter().map(|n| self.id(n)).collect(),
            case_insensitive: needles.iter().any(|n| n.case_insensitive),
        }
    }

    fn id(&mut self, needle: &Needle) -> usize {
        if let Some(&id) = self.ids.get(needle) {
            return id;
        }
        let id = self.ids.len();
        self.ids.insert(needle.clone(), id);
        let pattern = self.pattern(&needle.text);
        match needle.case_insensitive {
            true => pattern.folded = Some(id),
            false => pattern.exact.push((id, needle.text.as_bytes().into())),
        }
        id
    }

    /// The length of the longest pattern.
    fn longest(&self) -> usize {
        let texts = self.texts.keys().map(String::len);
        ESCAPES
            .iter()
            .map(|e| e.len())
            .chain(texts)
            .max()
            .unwrap_or(0)
    }

    /// The automaton over the escapes and every pattern, in pattern order; `None` without
    /// needles and markers, or should it not be built (every rule is then always a candidate).
    fn automaton(&self) -> Option<DFA> {
        if self.texts.is_empty() {
            return None;
        }
        let mut texts = vec![""; self.patterns.len()];
        texts[..ESCAPES.len()].copy_from_slice(&ESCAPES);
        for (text, &at) in &self.texts {
            texts[at] = text;
        }
        DFA::builder()
            .ascii_case_insensitive(true)
            .prefilter(false)
            .build(&texts)
            .ok()
    }
}

/// A fixed-size set of small integers.
#[derive(Debug, Default)]
struct Bits(Vec<u64>);

impl Bits {
    fn with_len(len: usize) -> Bits {
        Bits(vec![0; len.div_ceil(64)])
    }

    /// Adds `i`; true when it was absent.
    fn set(&mut self, i: usize) -> bool {
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        let absent = self.0[word] & bit == 0;
        self.0[word] |= bit;
        absent
    }

    fn unset(&mut self, i: usize) {
        self.0[i / 64] &= !(1u64 << (i % 64));
    }

    fn get(&self, i: usize) -> bool {
        self.0[i / 64] & (1u64 << (i % 64)) != 0
    }

    /// Calls `f` on every member, ascending, and empties the set.
    fn drain(&mut self, mut f: impl FnMut(usize)) {
        for (w, word) in self.0.iter_mut().enumerate() {
            while *word != 0 {
                let bit = word.trailing_zeros() as usize;
                *word &= *word - 1;
                f(w * 64 + bit);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(clauses: &[&[&str]]) -> Needles {
        let needle = |s: &&str| match s.strip_prefix("(?i)") {
            Some(folded) => Needle::folded(folded),
            None => Needle::exact(*s),
        };
        Needles::from_clauses(
            clauses
                .iter()
                .map(|c| c.iter().map(needle).collect())
                .collect(),
        )
    }

    fn candidates(rules: &[Needles], text: &str) -> Vec<usize> {
        let index = NeedleIndex::new(rules);
        let mut probe = index.probe();
        let first = index.candidates(text.as_bytes(), &mut probe).to_vec();
        assert_eq!(
            index.candidates(text.as_bytes(), &mut probe),
            first,
            "the probe is reusable"
        );
        first
    }

    #[test]
    fn a_rule_needs_every_clause() {
        let rules = [rule(&[
            &["lambda.amazonaws.com"],
            &["UpdateFunction", "PublishLayer"],
        ])];
        let text = r#"{"eventSource":"lambda.amazonaws.com","eventName":"PublishLayerVersion"}"#;
        assert_eq!(candidates(&rules, text), [0]);
        let text = r#"{"eventSource":"lambda.amazonaws.com","eventName":"Invoke"}"#;
        assert_eq!(candidates(&rules, text), [] as [usize; 0]);
        let text = r#"{"eventSource":"s3.amazonaws.com","eventName":"PublishLayer"}"#;
        assert_eq!(candidates(&rules, text), [] as [usize; 0]);
    }

    #[test]
    fn rules_without_needles_are_always_candidates() {
        let rules = [rule(&[&["AssumeRole"]]), Needles::default()];
        assert_eq!(candidates(&rules, "{}"), [1]);
        assert_eq!(candidates(&rules, r#"{"n":"AssumeRole"}"#), [0, 1]);
        assert_eq!(candidates(&[Needles::default()], "{}"), [0]);
    }

    #[test]
    fn exact_and_folded_needles_of_one_text() {
        let rules = [rule(&[&["AssumeRole"]]), rule(&[&["(?i)assumerole"]])];
        assert_eq!(candidates(&rules, r#"{"n":"AssumeRole"}"#), [0, 1]);
        assert_eq!(candidates(&rules, r#"{"n":"ASSUMEROLE"}"#), [1]);
        assert_eq!(candidates(&rules, r#"{"n":"assumeRole"}"#), [1]);
        assert_eq!(candidates(&rules, r#"{"n":"Assume"}"#), [] as [usize; 0]);
    }

    #[test]
    fn overlapping_needles_are_all_found() {
        let rules = [
            rule(&[&["AccessDeniedException"]]),
            rule(&[&["AccessDenied"]]),
            rule(&[&["Denied"], &["(?i)access"]]),
        ];
        assert_eq!(candidates(&rules, "AccessDeniedException"), [0, 1, 2]);
        assert_eq!(candidates(&rules, "AccessDenied"), [1, 2]);
    }

    #[test]
    fn a_non_ascii_text_passes_case_insensitive_clauses_only() {
        let rules = [
            rule(&[&["(?i)key"]]),
            rule(&[&["key"]]),
            rule(&[&["(?i)key"], &["Put"]]),
        ];
        // The Kelvin sign lower-cases to an ASCII `k`.
        assert_eq!(candidates(&rules, "\u{212A}EY"), [0]);
        assert_eq!(candidates(&rules, "\u{212A}EY Put"), [0, 2]);
        assert_eq!(candidates(&rules, "KEY"), [0]);
        assert_eq!(candidates(&rules, "other"), [] as [usize; 0]);
    }

    #[test]
    fn escapes_make_every_rule_a_candidate() {
        let rules = [rule(&[&["lambda"]]), rule(&[&["(?i)x"], &["y"]])];
        assert_eq!(candidates(&rules, r#"{"s":"\u006cambda"}"#), [0, 1]);
        assert_eq!(candidates(&rules, r#"{"s":"a\/b"}"#), [0, 1]);
    }

    /// Texts and needles over a small alphabet, so needles often occur, in any case, beside
    /// escapes and non-ASCII characters.
    fn text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[aAbBé\\\\u/\"]{0,24}").unwrap()
    }

    fn needles() -> impl Strategy<Value = Needles> {
        let needle = ("[aAbBé]{1,3}", any::<bool>()).prop_map(|(s, folded)| match folded {
            true => Needle::folded(s.to_lowercase()),
            false => Needle::exact(s),
        });
        let clause = proptest::collection::vec(needle, 1..4);
        proptest::collection::vec(clause, 0..4).prop_map(Needles::from_clauses)
    }

    /// A text long enough to be walked in lanes: filler with short pieces put anywhere, lane
    /// boundaries included.
    fn long_text() -> impl Strategy<Value = String> {
        let piece = (0..700usize, "[aAbBé\\\\u/\"]{1,4}");
        (256..700usize, proptest::collection::vec(piece, 0..12)).prop_map(|(len, pieces)| {
            let mut text = "x".repeat(len);
            for (at, piece) in pieces {
                let at = (at.min(text.len())..=text.len())
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(text.len());
                text.insert_str(at, &piece);
            }
            text
        })
    }

    /// Where `marker` ends in `text`, in any ASCII case.
    fn ends_of(text: &[u8], marker: &str) -> Vec<usize> {
        (marker.len()..=text.len())
            .filter(|&end| text[end - marker.len()..end].eq_ignore_ascii_case(marker.as_bytes()))
            .collect()
    }

    proptest! {
        #[test]
        fn long_texts_and_markers_answer_as_a_plain_search(
            rules in proptest::collection::vec(needles(), 1..8),
            texts in proptest::collection::vec(long_text(), 1..4),
        ) {
            let markers = ["ab", "\"a", "bxx"];
            let index = NeedleIndex::with_markers(&rules, &markers);
            let mut probe = index.probe();
            for text in &texts {
                let bytes = text.as_bytes();
                let got = index.candidates(bytes, &mut probe).to_vec();
                let want: Vec<usize> = (0..rules.len())
                    .filter(|&i| rules[i].may_match(bytes))
                    .collect();
                prop_assert_eq!(got, want, "text {:?}", text);
                let escaped = text.contains("\\u") || text.contains("\\/");
                prop_assert_eq!(probe.escaped(), escaped);
                let mut marks: Vec<(usize, usize)> = match escaped {
                    true => Vec::new(),
                    false => (0..markers.len())
                        .flat_map(|m| ends_of(bytes, markers[m]).into_iter().map(move |e| (m, e)))
                        .collect(),
                };
                marks.sort_unstable();
                prop_assert_eq!(probe.marks(), marks.as_slice(), "text {:?}", text);
            }
        }

        #[test]
        fn the_index_answers_as_each_rule_alone(
            rules in proptest::collection::vec(needles(), 1..8),
            texts in proptest::collection::vec(text(), 1..8),
        ) {
            let index = NeedleIndex::new(&rules);
            let mut probe = index.probe();
            for text in &texts {
                let got = index.candidates(text.as_bytes(), &mut probe).to_vec();
                let want: Vec<usize> = (0..rules.len())
                    .filter(|&i| rules[i].may_match(text.as_bytes()))
                    .collect();
                prop_assert_eq!(got, want, "text {:?}", text);
            }
        }
    }
}
