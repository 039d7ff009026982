//! Text analysis: an approximation of Lucene's built-in analyzers, enough to decide matches.
//!
//! The `standard` analyzer (Elasticsearch's default for `text` and `match_only_text`) is
//! Lucene's `StandardTokenizer` (Unicode UAX #29 word boundaries) followed by a lower-case
//! filter. This module implements the word-boundary rules that matter for log data:
//! - letters and digits form words, and letters and digits next to each other stay together
//!   (`abc123` is one token);
//! - `_` (ExtendNumLet) joins its neighbours (`foo_bar` is one token);
//! - `.` and `'` between two letters or two digits do not break (`lambda.amazonaws.com`,
//!   `don't`, `3.14` are single tokens); `:` between letters does not break (`arn:aws:iam`);
//!   `,` and `;` between digits do not break (`1,000`);
//! - every other character (space, `-`, `/`, `@`, `=`, …) breaks, and is dropped;
//! - CJK ideographs and Hiragana are one token per character;
//! - tokens longer than 255 characters are split, as `max_token_length` does.
//!
//! Lower-casing is per code point, like Java's `Character.toLowerCase`.
//! Not modelled: emoji tokens, Thai/Lao dictionary segmentation, the Hebrew-letter rules.

use crate::dsl::error::DslError;

/// A built-in analyzer, selected by name in the mapping (`analyzer`/`search_analyzer`) or a
/// query's `analyzer` parameter. Other analyzers (language analyzers, custom analyzers defined
/// in index settings) are refused rather than approximated: a wrong analyzer could make a
/// prefilter drop true positives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Analyzer {
    /// `standard`: UAX #29 words, lower-cased.
    Standard,
    /// `simple`: runs of letters, lower-cased.
    Simple,
    /// `stop`: `simple` without English stop words.
    Stop,
    /// `whitespace`: split on whitespace, case kept.
    Whitespace,
    /// `keyword`: the whole value as one token.
    Keyword,
}

/// Lucene's default `max_token_length` for the standard tokenizer.
const MAX_TOKEN_CHARS: usize = 255;

/// Lucene's English stop words (`_english_`), used by the `stop` analyzer.
const ENGLISH_STOP_WORDS: [&str; 33] = [
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
];

impl Analyzer {
    /// The built-in analyzer of that name, if eshunt implements it.
    pub fn from_name(name: &str) -> Option<Analyzer> {
        match name {
            "standard" | "default" => Some(Analyzer::Standard),
            "simple" => Some(Analyzer::Simple),
            "stop" => Some(Analyzer::Stop),
            "whitespace" => Some(Analyzer::Whitespace),
            "keyword" => Some(Analyzer::Keyword),
            _ => None,
        }
    }

    /// Like [`Analyzer::from_name`], with an error naming the unsupported analyzer.
    pub(crate) fn named(name: &str) -> Result<Analyzer, DslError> {
        Analyzer::from_name(name).ok_or_else(|| {
            DslError::unsupported_feature(
                "analyzer",
                format!("analyzer [{name}] (only standard, simple, stop, whitespace and keyword are evaluated)"),
            )
        })
    }

    /// Whether the analyzer lower-cases its tokens (and so normalizes wildcard patterns).
    pub fn lowercases(self) -> bool {
        !matches!(self, Analyzer::Whitespace | Analyzer::Keyword)
    }

    /// Calls `f(position, token)` for each token of `text`; stops early when `f` returns true,
    /// and then returns true. `buf` is scratch space reused between calls, so tokenising does
    /// not allocate per token.
    pub fn for_each_token(
        self,
        text: &str,
        buf: &mut String,
        f: &mut dyn FnMut(u32, &str) -> bool,
    ) -> bool {
        let mut pos: u32 = 0;
        let mut gap = false;
        let mut emit = |raw: &str, f: &mut dyn FnMut(u32, &str) -> bool| -> bool {
            buf.clear();
            if self.lowercases() {
                buf.extend(raw.chars().map(lower_char));
            } else {
                buf.push_str(raw);
            }
            if self == Analyzer::Stop && ENGLISH_STOP_WORDS.contains(&buf.as_str()) {
                gap = true;
                return false;
            }
            if gap {
                pos += 1;
                gap = false;
            }
            let stop = f(pos, buf);
            pos += 1;
            stop
        };
        match self {
            Analyzer::Standard => standard_words(text, &mut |s, e| emit(&text[s..e], f)),
            Analyzer::Simple | Analyzer::Stop => {
                split_runs(text, char::is_alphabetic, &mut |s, e| emit(&text[s..e], f))
            }
            Analyzer::Whitespace => split_runs(text, |c| !c.is_whitespace(), &mut |s, e| {
                emit(&text[s..e], f)
            }),
            Analyzer::Keyword => emit(text, f),
        }
    }

    /// All tokens of `text`, in order (used when compiling queries, not per document).
    pub fn tokens(self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = String::new();
        self.for_each_token(text, &mut buf, &mut |_, t| {
            out.push(t.to_string());
            false
        });
        out
    }

    /// Tokens of `text` with their positions (used when compiling phrase queries).
    pub fn positioned_tokens(self, text: &str) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        let mut buf = String::new();
        self.for_each_token(text, &mut buf, &mut |p, t| {
            out.push((p, t.to_string()));
            false
        });
        out
    }

    /// The analyzer's `normalize` step, applied by `query_string` to wildcard, prefix, range and
    /// fuzzy terms: lower-casing for the analyzers that lower-case.
    pub fn normalize(self, text: &str) -> String {
        if self.lowercases() {
            lowercase(text)
        } else {
            text.to_string()
        }
    }
}

/// Lower-cases one code point, keeping it when the lower-case form is more than one character
/// (Java's `Character.toLowerCase` is also one-to-one).
pub fn lower_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Lower-cases a string code point by code point.
pub fn lowercase(s: &str) -> String {
    s.chars().map(lower_char).collect()
}

/// Calls `f(start, end)` for every maximal run of characters accepted by `keep`, split at
/// [`MAX_TOKEN_CHARS`].
fn split_runs(
    text: &str,
    keep: impl Fn(char) -> bool,
    f: &mut dyn FnMut(usize, usize) -> bool,
) -> bool {
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        match (keep(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if emit_capped(text, s, i, f) {
                    return true;
                }
                start = None;
            }
            _ => {}
        }
    }
    match start {
        Some(s) => emit_capped(text, s, text.len(), f),
        None => false,
    }
}

/// Emits `text[s..e]` in pieces of at most [`MAX_TOKEN_CHARS`] characters.
fn emit_capped(text: &str, s: usize, e: usize, f: &mut dyn FnMut(usize, usize) -> bool) -> bool {
    let mut start = s;
    let mut count = 0;
    for (i, _) in text[s..e].char_indices() {
        if count == MAX_TOKEN_CHARS {
            if f(start, s + i) {
                return true;
            }
            start = s + i;
            count = 0;
        }
        count += 1;
    }
    f(start, e)
}

/// UAX #29 word-break class of a character, reduced to what the standard tokenizer needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WordClass {
    Letter,
    Numeric,
    /// Characters that form a token on their own (CJK ideographs, Hiragana).
    Ideographic,
    ExtendNumLet,
    /// Combining marks, zero-width joiners: they attach to the previous character.
    Extend,
    MidLetter,
    MidNum,
    MidNumLet,
    Other,
}

fn word_class(c: char) -> WordClass {
    if c.is_ascii() {
        return match c {
            'a'..='z' | 'A'..='Z' => WordClass::Letter,
            '0'..='9' => WordClass::Numeric,
            '_' => WordClass::ExtendNumLet,
            ':' => WordClass::MidLetter,
            ',' | ';' => WordClass::MidNum,
            '.' | '\'' => WordClass::MidNumLet,
            _ => WordClass::Other,
        };
    }
    let u = u32::from(c);
    match u {
        0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xF900..=0xFAFF
        | 0x20000..=0x2FA1F
        | 0x3040..=0x309F => WordClass::Ideographic,
        0x0300..=0x036F
        | 0x1AB0..=0x1AFF
        | 0x1DC0..=0x1DFF
        | 0x20D0..=0x20FF
        | 0xFE20..=0xFE2F
        | 0xFE00..=0xFE0F
        | 0x200C
        | 0x200D
        | 0x00AD => WordClass::Extend,
        0x00B7 | 0x0387 | 0x05F4 | 0x2027 | 0xFE13 | 0xFE55 | 0xFF1A => WordClass::MidLetter,
        0x037E | 0x0589 | 0x060C | 0x060D | 0x066C | 0x07F8 | 0x2044 | 0xFE10 | 0xFE14 | 0xFE50
        | 0xFE54 | 0xFF0C | 0xFF1B => WordClass::MidNum,
        0x2018 | 0x2019 | 0x2024 | 0xFE52 | 0xFF07 | 0xFF0E => WordClass::MidNumLet,
        0x203F | 0x2040 | 0x2054 | 0xFE33 | 0xFE34 | 0xFE4D..=0xFE4F | 0xFF3F => {
            WordClass::ExtendNumLet
        }
        _ if c.is_alphabetic() => WordClass::Letter,
        _ if c.is_numeric() => WordClass::Numeric,
        _ => WordClass::Other,
    }
}

/// Whether a middle character of class `mid` joins a word whose last core character has class
/// `prev` to a following character of class `next` (UAX #29 rules WB6/7, WB11/12).
fn mid_joins(mid: WordClass, prev: WordClass, next: WordClass) -> bool {
    let letters = prev == WordClass::Letter && next == WordClass::Letter;
    let digits = prev == WordClass::Numeric && next == WordClass::Numeric;
    match mid {
        WordClass::MidLetter => letters,
        WordClass::MidNum => digits,
        WordClass::MidNumLet => letters || digits,
        _ => false,
    }
}

/// The character starting at byte `i` of `text`, if any.
fn char_at(text: &str, i: usize) -> Option<char> {
    text.get(i..).and_then(|rest| rest.chars().next())
}

/// The standard tokenizer's words: calls `f(start, end)` per token; stops when `f` returns true.
/// Works on byte offsets without allocating.
fn standard_words(text: &str, f: &mut dyn FnMut(usize, usize) -> bool) -> bool {
    let mut i = 0;
    while let Some(c) = char_at(text, i) {
        let class = word_class(c);
        let next_i = i + c.len_utf8();
        match class {
            WordClass::Ideographic => {
                if f(i, next_i) {
                    return true;
                }
                i = next_i;
                continue;
            }
            WordClass::Letter | WordClass::Numeric | WordClass::ExtendNumLet => {}
            _ => {
                i = next_i;
                continue;
            }
        }
        let (end, has_alnum) = word_end(text, next_i, class);
        if has_alnum && emit_capped(text, i, end, f) {
            return true;
        }
        i = end;
    }
    false
}

/// Extends a word that began with a character of class `first` from byte `j`; returns the end
/// of the word and whether it holds a letter or digit.
fn word_end(text: &str, mut j: usize, first: WordClass) -> (usize, bool) {
    let mut last_core = first;
    let mut has_alnum = first != WordClass::ExtendNumLet;
    while let Some(cj) = char_at(text, j) {
        let class = word_class(cj);
        match class {
            WordClass::Letter | WordClass::Numeric | WordClass::ExtendNumLet => {
                has_alnum |= class != WordClass::ExtendNumLet;
                last_core = class;
                j += cj.len_utf8();
            }
            WordClass::Extend => j += cj.len_utf8(),
            WordClass::MidLetter | WordClass::MidNum | WordClass::MidNumLet => {
                let after = j + cj.len_utf8();
                let Some(next) = char_at(text, after) else {
                    break;
                };
                let next_class = word_class(next);
                if !mid_joins(class, last_core, next_class) {
                    break;
                }
                has_alnum = true;
                last_core = next_class;
                j = after + next.len_utf8();
            }
            _ => break,
        }
    }
    (j, has_alnum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_tokens(s: &str) -> Vec<String> {
        Analyzer::Standard.tokens(s)
    }

    #[test]
    fn standard_splits_on_punctuation_and_lowercases() {
        assert_eq!(
            std_tokens("Hello, World! foo-bar"),
            ["hello", "world", "foo", "bar"]
        );
        assert_eq!(
            std_tokens("UpdateFunctionConfiguration20150331v2"),
            ["updatefunctionconfiguration20150331v2"]
        );
    }

    #[test]
    fn standard_keeps_mid_letters_and_numbers() {
        assert_eq!(std_tokens("lambda.amazonaws.com"), ["lambda.amazonaws.com"]);
        assert_eq!(
            std_tokens("don't 3.14 1,000 foo_bar"),
            ["don't", "3.14", "1,000", "foo_bar"]
        );
        assert_eq!(std_tokens("a. b"), ["a", "b"]);
        assert_eq!(std_tokens("user@example.com"), ["user", "example.com"]);
        assert_eq!(
            std_tokens("arn:aws:iam::123:role/Foo"),
            ["arn:aws:iam", "123", "role", "foo"]
        );
        assert_eq!(std_tokens("___ _x"), ["_x"]);
    }

    #[test]
    fn standard_unicode() {
        assert_eq!(std_tokens("Élan ÜBER"), ["élan", "über"]);
        assert_eq!(std_tokens("東京"), ["東", "京"]);
        assert_eq!(std_tokens("cafe\u{301} x"), ["cafe\u{301}", "x"]);
    }

    #[test]
    fn long_tokens_are_split() {
        let long = "a".repeat(300);
        let toks = std_tokens(&long);
        assert_eq!(toks.len(), 2);
        assert_eq!(toks[0].len(), 255);
    }

    #[test]
    fn other_analyzers() {
        assert_eq!(
            Analyzer::Whitespace.tokens("Foo bar-Baz"),
            ["Foo", "bar-Baz"]
        );
        assert_eq!(Analyzer::Simple.tokens("Foo1bar"), ["foo", "bar"]);
        assert_eq!(Analyzer::Keyword.tokens("Foo bar"), ["Foo bar"]);
        assert_eq!(
            Analyzer::Stop.positioned_tokens("the quick"),
            [(1, "quick".to_string())]
        );
    }
}
