//! Sigma string values: wildcards (`*` any run, `?` one character), their escapes (`\*`, `\?`,
//! `\\`; any other backslash is itself), the `contains`/`startswith`/`endswith` placement,
//! `windash`, and the simplest eshunt or Elasticsearch form of the resulting pattern.

use super::detection::Position;
use yaml_rust2::Yaml;

/// The characters `windash` makes interchangeable (Sigma modifiers appendix 2.1).
const DASHES: [char; 5] = ['-', '/', '–', '—', '―'];

/// One part of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Lit(String),
    /// `*`: any run of characters, empty included.
    Star,
    /// `?`: one character.
    One,
    /// A `windash` character: any of [`DASHES`].
    Dash,
}

/// A value as a sequence of pieces (adjacent literals joined, adjacent stars merged).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pieces(pub Vec<Piece>);

/// The simplest form of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// Equal to the text.
    Exact(String),
    /// Contains it.
    Contains(String),
    /// Starts with it.
    StartsWith(String),
    /// Ends with it.
    EndsWith(String),
    /// Any string (the pattern is only `*`).
    Anything,
    /// An anchored regular expression (Rust syntax) matching the pattern.
    Regex(String),
}

/// Reads a Sigma string value: wildcards and escapes, and with `windash` every dash-like
/// character as any of them.
pub fn pieces(text: &str, windash: bool) -> Pieces {
    let mut out = Pieces::default();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&next) if matches!(next, '*' | '?' | '\\') => {
                    chars.next();
                    out.push_char(next);
                }
                _ => out.push_char('\\'),
            },
            '*' => out.push(Piece::Star),
            '?' => out.push(Piece::One),
            c if windash && DASHES.contains(&c) => out.push(Piece::Dash),
            c => out.push_char(c),
        }
    }
    out
}

impl Pieces {
    fn push(&mut self, piece: Piece) {
        if piece == Piece::Star && self.0.last() == Some(&Piece::Star) {
            return;
        }
        self.0.push(piece);
    }

    fn push_char(&mut self, c: char) {
        match self.0.last_mut() {
            Some(Piece::Lit(s)) => s.push(c),
            _ => self.0.push(Piece::Lit(c.to_string())),
        }
    }

    /// Whether the value has no wildcard.
    pub fn is_literal(&self) -> bool {
        self.0.iter().all(|p| matches!(p, Piece::Lit(_)))
    }

    /// The literal text, when there is no wildcard.
    pub fn literal(&self) -> Option<String> {
        self.is_literal().then(|| match self.0.first() {
            Some(Piece::Lit(s)) => s.clone(),
            _ => String::new(),
        })
    }

    /// The pattern with `*` added where the modifier puts it.
    pub fn placed(mut self, position: Position) -> Pieces {
        if matches!(position, Position::Contains | Position::EndsWith) {
            let mut placed = Pieces(vec![Piece::Star]);
            self.0.into_iter().for_each(|p| placed.push(p));
            self = placed;
        }
        if matches!(position, Position::Contains | Position::StartsWith) {
            self.push(Piece::Star);
        }
        self
    }

    /// The simplest form.
    pub fn shape(&self) -> Shape {
        use Piece::{Lit, Star};
        match self.0.as_slice() {
            [] => Shape::Exact(String::new()),
            [Lit(s)] => Shape::Exact(s.clone()),
            [Star] => Shape::Anything,
            [Star, Lit(s), Star] => Shape::Contains(s.clone()),
            [Lit(s), Star] => Shape::StartsWith(s.clone()),
            [Star, Lit(s)] => Shape::EndsWith(s.clone()),
            _ => Shape::Regex(self.regex()),
        }
    }

    /// An anchored regular expression matching the whole value (`.` matching newlines too).
    pub fn regex(&self) -> String {
        let body: String = self
            .0
            .iter()
            .map(|p| match p {
                Piece::Lit(s) => regex::escape(s),
                Piece::Star => ".*".into(),
                Piece::One => ".".into(),
                Piece::Dash => format!("[{}]", DASHES.iter().collect::<String>()),
            })
            .collect();
        format!("(?s)^{body}$")
    }

    /// The pattern in Elasticsearch's `wildcard` syntax (`*`, `?`, `\` escapes), unless it
    /// has `windash` characters, which that syntax cannot say.
    pub fn es_wildcard(&self) -> Option<String> {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Lit(s) => Some(
                    s.chars()
                        .flat_map(|c| match c {
                            '*' | '?' | '\\' => vec!['\\', c],
                            c => vec![c],
                        })
                        .collect::<String>(),
                ),
                Piece::Star => Some("*".into()),
                Piece::One => Some("?".into()),
                Piece::Dash => None,
            })
            .collect()
    }
}

/// Whether the text is a plain decimal number (`12`, `-3`, `0.5`).
pub fn is_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(int) && all_digits(frac) && (int == "0" || !int.starts_with('0'))
}

/// The JSON literal a plain Sigma value also reads as, if any: a number (`123`, `'123'`) or a
/// boolean (`true`, `'False'`). Sigma compares values as strings, CloudTrail stores some as
/// JSON numbers or booleans (`"publiclyAccessible": true`): such a value matches both.
pub fn typed(value: &Yaml, text: &str) -> Option<String> {
    match value {
        Yaml::Boolean(b) => Some(b.to_string()),
        _ if is_number(text) => Some(text.to_string()),
        _ if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") => {
            Some(text.to_ascii_lowercase())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str, position: Position) -> Shape {
        pieces(text, false).placed(position).shape()
    }

    #[test]
    fn escapes_follow_the_specification() {
        // `\*` a star, `\\*` a backslash then a wildcard, `\\\*` a backslash and a star,
        // a backslash before anything else is itself, `\\\\` two backslashes.
        assert_eq!(pieces(r"a\*b", false).literal().as_deref(), Some("a*b"));
        assert_eq!(
            pieces(r"a\\*", false).0,
            vec![Piece::Lit(r"a\".into()), Piece::Star]
        );
        assert_eq!(pieces(r"a\\\*", false).literal().as_deref(), Some(r"a\*"));
        assert_eq!(
            pieces(r"C:\Windows", false).literal().as_deref(),
            Some(r"C:\Windows")
        );
        assert_eq!(pieces(r"\\\\", false).literal().as_deref(), Some(r"\\"));
        assert_eq!(pieces(r"a\?", false).literal().as_deref(), Some("a?"));
    }

    #[test]
    fn simple_patterns_need_no_regex() {
        assert_eq!(shape("x", Position::Whole), Shape::Exact("x".into()));
        assert_eq!(shape("x", Position::Contains), Shape::Contains("x".into()));
        assert_eq!(shape("*x*", Position::Whole), Shape::Contains("x".into()));
        assert_eq!(shape("x*", Position::Whole), Shape::StartsWith("x".into()));
        assert_eq!(shape("x", Position::EndsWith), Shape::EndsWith("x".into()));
        assert_eq!(shape("*", Position::Contains), Shape::Anything);
        assert_eq!(shape("", Position::Whole), Shape::Exact(String::new()));
        assert_eq!(
            shape("a?c*", Position::Whole),
            Shape::Regex("(?s)^a.c.*$".into())
        );
        assert_eq!(
            shape("a.b*c", Position::StartsWith),
            Shape::Regex(r"(?s)^a\.b.*c.*$".into())
        );
    }

    #[test]
    fn windash_and_elasticsearch_wildcards() {
        let p = pieces("-x", true).placed(Position::Contains);
        assert_eq!(p.shape(), Shape::Regex("(?s)^.*[-/–—―]x.*$".into()));
        assert_eq!(p.es_wildcard(), None);
        let p = pieces(r"a\*b?", false).placed(Position::StartsWith);
        assert_eq!(p.es_wildcard().as_deref(), Some(r"a\*b?*"));
    }

    #[test]
    fn numbers_and_booleans() {
        assert!(is_number("12") && is_number("-3") && is_number("0.5") && is_number("0"));
        assert!(!is_number("007") && !is_number("0x17") && !is_number("1e3") && !is_number(""));
        assert_eq!(typed(&Yaml::Boolean(true), "true").as_deref(), Some("true"));
        assert_eq!(
            typed(&Yaml::String("False".into()), "False").as_deref(),
            Some("false")
        );
        assert_eq!(
            typed(&Yaml::String("12".into()), "12").as_deref(),
            Some("12")
        );
        assert_eq!(typed(&Yaml::String("NO".into()), "NO"), None);
    }
}
