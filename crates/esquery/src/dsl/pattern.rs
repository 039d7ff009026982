//! Pattern matching: Lucene wildcard patterns, Elasticsearch "simple match" field patterns and
//! Lucene regular expressions (translated to the `regex` crate).

use crate::dsl::analysis::lower_char;
use crate::dsl::error::DslError;

/// Elasticsearch's `Regex.simpleMatch`: `*` matches any sequence (used for field-name patterns
/// and dynamic-template `match`/`path_match`). No other character is special.
pub fn simple_match(pattern: &str, text: &str) -> bool {
    Glob::new(pattern, false, false).matches(text)
}

/// One element of a compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(char),
    /// `?`: exactly one character.
    One,
    /// `*`: any sequence.
    Many,
}

/// A compiled Lucene wildcard pattern (`*`, `?`, `\` escapes), matched against a whole value.
#[derive(Debug, Clone, PartialEq)]
pub struct Glob {
    toks: Vec<Tok>,
    case_insensitive: bool,
    shape: Shape,
}

/// Fast paths for common pattern shapes.
#[derive(Debug, Clone, PartialEq)]
enum Shape {
    /// No wildcard: equality.
    Exact(String),
    /// `lit*`.
    Prefix(String),
    /// `*lit`.
    Suffix(String),
    /// `*lit*`.
    Contains(String),
    /// Anything else.
    General,
}

impl Glob {
    /// Compiles `pattern`. With `lucene_syntax`, `?` is a wildcard and `\` escapes; without it,
    /// only `*` is special (simple match). `case_insensitive` lower-cases pattern and values.
    pub fn new(pattern: &str, lucene_syntax: bool, case_insensitive: bool) -> Glob {
        let mut toks = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            let tok = match c {
                '*' => Tok::Many,
                '?' if lucene_syntax => Tok::One,
                '\\' if lucene_syntax => Tok::Lit(chars.next().unwrap_or('\\')),
                _ => Tok::Lit(c),
            };
            if tok == Tok::Many && toks.last() == Some(&Tok::Many) {
                continue;
            }
            toks.push(match tok {
                Tok::Lit(l) if case_insensitive => Tok::Lit(lower_char(l)),
                t => t,
            });
        }
        let shape = shape_of(&toks);
        Glob {
            toks,
            case_insensitive,
            shape,
        }
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        if self.case_insensitive {
            return self.matches_general(text);
        }
        match &self.shape {
            Shape::Exact(s) => text == s,
            Shape::Prefix(p) => text.starts_with(p.as_str()),
            Shape::Suffix(p) => text.ends_with(p.as_str()),
            Shape::Contains(p) => memchr::memmem::find(text.as_bytes(), p.as_bytes()).is_some(),
            Shape::General => self.matches_general(text),
        }
    }

    /// The classic iterative wildcard match with single-star backtracking (linear memory,
    /// no allocation).
    fn matches_general(&self, text: &str) -> bool {
        let norm = |c: char| {
            if self.case_insensitive {
                lower_char(c)
            } else {
                c
            }
        };
        let t: &str = text;
        let mut ti = 0; // byte index in text
        let mut pi = 0; // token index
        let mut star: Option<(usize, usize)> = None; // (token after star, text index)
        loop {
            let tc = t[ti..].chars().next();
            match (self.toks.get(pi), tc) {
                (Some(Tok::Many), _) => {
                    pi += 1;
                    star = Some((pi, ti));
                    continue;
                }
                (Some(Tok::One), Some(c)) => {
                    pi += 1;
                    ti += c.len_utf8();
                    continue;
                }
                (Some(Tok::Lit(l)), Some(c)) if *l == norm(c) => {
                    pi += 1;
                    ti += c.len_utf8();
                    continue;
                }
                (None, None) => return true,
                _ => {}
            }
            // Mismatch: let the last star absorb one more character.
            match star {
                Some((sp, st)) => match t[st..].chars().next() {
                    Some(c) => {
                        let next = st + c.len_utf8();
                        star = Some((sp, next));
                        pi = sp;
                        ti = next;
                    }
                    None => return false,
                },
                None => return false,
            }
        }
    }

    /// Whether the pattern has no wildcard at all.
    pub fn is_literal(&self) -> bool {
        matches!(self.shape, Shape::Exact(_))
    }
}

fn shape_of(toks: &[Tok]) -> Shape {
    let lit = |ts: &[Tok]| -> Option<String> {
        ts.iter()
            .map(|t| match t {
                Tok::Lit(c) => Some(*c),
                _ => None,
            })
            .collect()
    };
    let n = toks.len();
    if let Some(s) = lit(toks) {
        return Shape::Exact(s);
    }
    let starts = toks.first() == Some(&Tok::Many);
    let ends = toks.last() == Some(&Tok::Many);
    match (starts, ends) {
        (false, true) => lit(&toks[..n - 1]).map_or(Shape::General, Shape::Prefix),
        (true, false) => lit(&toks[1..]).map_or(Shape::General, Shape::Suffix),
        (true, true) if n >= 2 => lit(&toks[1..n - 1]).map_or(Shape::General, Shape::Contains),
        _ => Shape::General,
    }
}

/// Lucene `RegExp` syntax flags (the `flags` parameter of the `regexp` query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegexFlags {
    /// `@`: any string.
    pub anystring: bool,
    /// `#`: the empty language.
    pub empty: bool,
    /// `<n-m>`: numeric interval.
    pub interval: bool,
    /// `~`: complement (refused: the `regex` crate cannot express it).
    pub complement: bool,
    /// `&`: intersection (refused).
    pub intersection: bool,
}

impl RegexFlags {
    /// `ALL`, the default.
    pub const ALL: RegexFlags = RegexFlags {
        anystring: true,
        empty: true,
        interval: true,
        complement: true,
        intersection: true,
    };

    /// Parses `ALL`, `NONE` or a `|`-separated list such as `INTERVAL|ANYSTRING`.
    pub fn parse(s: &str) -> Result<RegexFlags, DslError> {
        let mut f = RegexFlags {
            anystring: false,
            empty: false,
            interval: false,
            complement: false,
            intersection: false,
        };
        for part in s.split('|').map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_uppercase().as_str() {
                "ALL" => f = RegexFlags::ALL,
                "NONE" => {}
                "ANYSTRING" => f.anystring = true,
                "EMPTY" => f.empty = true,
                "INTERVAL" => f.interval = true,
                "COMPLEMENT" => f.complement = true,
                "INTERSECTION" => f.intersection = true,
                other => {
                    return Err(DslError::malformed(
                        "regexp",
                        format!("Unknown regexp flag [{other}]"),
                    ));
                }
            }
        }
        Ok(f)
    }
}

/// Compiles a Lucene regular expression, anchored to the whole value.
///
/// Supported: `.`, `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`, `|`, `( )`, `[ ]` / `[^ ]` with
/// ranges, `"…"` literal strings, `\` escapes (with `\d \D \s \S \w \W`), and with the flags
/// `@` (any string), `#` (empty) and `<n-m>` (numeric interval). `^` and `$` are ordinary
/// characters, as in Lucene. Complement `~` and intersection `&` are refused with an error.
pub fn lucene_regex(
    pattern: &str,
    flags: RegexFlags,
    case_insensitive: bool,
) -> Result<regex::Regex, DslError> {
    let body = translate(pattern, flags)?;
    let full = format!(
        "{}\\A(?s:{body})\\z",
        if case_insensitive { "(?i)" } else { "" }
    );
    regex::RegexBuilder::new(&full)
        .size_limit(1 << 22)
        .build()
        .map_err(|e| {
            DslError::malformed(
                "regexp",
                format!("failed to compile regexp [{pattern}]: {e}"),
            )
        })
}

fn translate(pattern: &str, flags: RegexFlags) -> Result<String, DslError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let bad = |msg: &str| DslError::malformed("regexp", format!("{msg} in regexp [{pattern}]"));
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '.' | '*' | '+' | '?' | '|' | '(' | ')' => out.push(c),
            '{' => {
                let close = chars[i..]
                    .iter()
                    .position(|&x| x == '}')
                    .ok_or_else(|| bad("unclosed {"))?;
                let inner: String = chars[i..i + close].iter().collect();
                let valid = !inner.is_empty()
                    && inner.chars().all(|x| x.is_ascii_digit() || x == ',')
                    && inner.matches(',').count() <= 1
                    && !inner.starts_with(',');
                if !valid {
                    return Err(bad("invalid repetition"));
                }
                out.push('{');
                out.push_str(&inner);
                out.push('}');
                i += close + 1;
            }
            '[' => {
                i = translate_class(&chars, i, &mut out)
                    .ok_or_else(|| bad("invalid character class"))?
            }
            '"' => {
                let close = chars[i..]
                    .iter()
                    .position(|&x| x == '"')
                    .ok_or_else(|| bad("unclosed \""))?;
                let lit: String = chars[i..i + close].iter().collect();
                out.push_str("(?:");
                out.push_str(&regex::escape(&lit));
                out.push(')');
                i += close + 1;
            }
            '\\' => {
                let e = *chars.get(i).ok_or_else(|| bad("trailing backslash"))?;
                i += 1;
                match e {
                    'd' => out.push_str("[0-9]"),
                    'D' => out.push_str("[^0-9]"),
                    's' => out.push_str("[ \\t\\n\\r\\f\\x0B]"),
                    'S' => out.push_str("[^ \\t\\n\\r\\f\\x0B]"),
                    'w' => out.push_str("[a-zA-Z0-9_]"),
                    'W' => out.push_str("[^a-zA-Z0-9_]"),
                    other => push_literal(&mut out, other),
                }
            }
            '@' if flags.anystring => out.push_str(".*"),
            '#' if flags.empty => out.push_str("[^\\s\\S]"),
            '<' if flags.interval => {
                let close = chars[i..]
                    .iter()
                    .position(|&x| x == '>')
                    .ok_or_else(|| bad("unclosed <"))?;
                let inner: String = chars[i..i + close].iter().collect();
                out.push_str(
                    &interval_regex(&inner).ok_or_else(|| bad("invalid or too large interval"))?,
                );
                i += close + 1;
            }
            '~' if flags.complement => {
                return Err(DslError::unsupported_feature(
                    "regexp",
                    "the complement operator ~",
                ));
            }
            '&' if flags.intersection => {
                return Err(DslError::unsupported_feature(
                    "regexp",
                    "the intersection operator &",
                ));
            }
            other => push_literal(&mut out, other),
        }
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    let mut buf = [0u8; 4];
    out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
}

/// Translates a character class starting after `[`; returns the index after `]`.
fn translate_class(chars: &[char], mut i: usize, out: &mut String) -> Option<usize> {
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let c = *chars.get(i)?;
        i += 1;
        match c {
            ']' if !first => break,
            '\\' => {
                let e = *chars.get(i)?;
                i += 1;
                push_class_char(out, e);
            }
            '-' if !first && chars.get(i).is_some_and(|&n| n != ']') => out.push('-'),
            other => push_class_char(out, other),
        }
        first = false;
    }
    out.push(']');
    Some(i)
}

fn push_class_char(out: &mut String, c: char) {
    if c.is_alphanumeric() {
        out.push(c);
    } else {
        // Escaping any other character inside a class is valid for the regex crate.
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            _ if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
}

/// `<n-m>`: integers from n to m. Lucene pads to the width of the bounds when they are written
/// with leading zeros.
fn interval_regex(inner: &str) -> Option<String> {
    let (a, b) = inner.split_once('-')?;
    let lo: u64 = a.parse().ok()?;
    let hi: u64 = b.parse().ok()?;
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if hi - lo > 10_000 {
        return None;
    }
    let width = if a.starts_with('0') || b.starts_with('0') {
        a.len().max(b.len())
    } else {
        0
    };
    let alts: Vec<String> = (lo..=hi).map(|n| format!("0*{n:0width$}")).collect();
    Some(format!("(?:{})", alts.join("|")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_shapes() {
        assert!(Glob::new("Publish*", true, false).matches("PublishLayerVersion20181031"));
        assert!(!Glob::new("Publish*", true, false).matches("publishLayer"));
        assert!(Glob::new("publish*", true, true).matches("PublishLayer"));
        assert!(Glob::new("*Layer*", true, false).matches("PublishLayerVersion"));
        assert!(Glob::new("*31", true, false).matches("CreateFunction20150331"));
        assert!(Glob::new("a?c*e", true, false).matches("abcdde"));
        assert!(!Glob::new("a?c", true, false).matches("ac"));
        assert!(Glob::new("a\\*", true, false).matches("a*"));
        assert!(!Glob::new("a\\*", true, false).matches("ab"));
        assert!(Glob::new("*", true, false).matches(""));
        assert!(Glob::new("é?", true, true).matches("ÉX"));
    }

    #[test]
    fn simple_match_only_star() {
        assert!(simple_match("event.*", "event.action"));
        assert!(simple_match("*.ip", "source.ip"));
        assert!(!simple_match("a?", "ab"));
        assert!(simple_match("a?", "a?"));
    }

    #[test]
    fn lucene_regexes() {
        let re = |p: &str| lucene_regex(p, RegexFlags::ALL, false).unwrap();
        assert!(re("Publish.*").is_match("PublishLayerVersion"));
        assert!(!re("Publish").is_match("PublishLayerVersion"));
        assert!(re("a[b-d]+e").is_match("abcde"));
        assert!(re("\"a.b\"c").is_match("a.bc"));
        assert!(!re("\"a.b\"c").is_match("axbc"));
        assert!(re("^a$").is_match("^a$"));
        assert!(re("x<1-12>").is_match("x7"));
        assert!(!re("x<1-12>").is_match("x13"));
        assert!(re("ab@").is_match("abzzz"));
        assert!(!re("#").is_match(""));
        assert!(lucene_regex("a~b", RegexFlags::ALL, false).is_err());
        assert!(
            lucene_regex("a~b", RegexFlags::parse("NONE").unwrap(), false)
                .unwrap()
                .is_match("a~b")
        );
        assert!(lucene_regex("[", RegexFlags::ALL, false).is_err());
        assert!(lucene_regex("abc", RegexFlags::ALL, true)
            .unwrap()
            .is_match("ABC"));
    }
}
