//! Tokens of the condition language, each with its position in the condition text.

use super::{ConditionError, Pos};

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A bare word: a field path, an operator, or `and`/`or`/`not`/`true`/`false`/`null`.
    Word(String),
    /// A quoted string, escapes resolved.
    Str(String),
    /// A number literal, as written.
    Number(String),
    /// `(`
    Open,
    /// `)`
    Close,
    /// `[`
    ListOpen,
    /// `]`
    ListClose,
    /// `,`
    Comma,
    /// A line break outside parentheses and brackets: separates ANDed lines.
    Newline,
}

impl Token {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Token::Word(w) => format!("`{w}`"),
            Token::Str(s) => format!("string {s:?}"),
            Token::Number(n) => format!("number {n}"),
            Token::Open => "`(`".into(),
            Token::Close => "`)`".into(),
            Token::ListOpen => "`[`".into(),
            Token::ListClose => "`]`".into(),
            Token::Comma => "`,`".into(),
            Token::Newline => "end of line".into(),
        }
    }
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    /// The token.
    pub token: Token,
    /// Its first character.
    pub pos: Pos,
}

/// Splits condition text into tokens. `#` starts a comment that runs to the end of the line.
pub fn tokenize(text: &str) -> Result<Vec<Spanned>, ConditionError> {
    let mut lexer = Lexer {
        chars: text.char_indices().peekable(),
        line: 1,
        col: 1,
        depth: 0,
        out: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.out)
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    line: usize,
    col: usize,
    depth: usize,
    out: Vec<Spanned>,
}

impl Lexer<'_> {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let (_, c) = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().map(|&(_, c)| c)
    }

    fn push(&mut self, token: Token, pos: Pos) {
        self.out.push(Spanned { token, pos });
    }

    fn run(&mut self) -> Result<(), ConditionError> {
        while let Some(c) = self.peek() {
            let pos = self.pos();
            match c {
                '\n' => {
                    self.bump();
                    if self.depth == 0 {
                        self.push(Token::Newline, pos);
                    }
                }
                c if c.is_whitespace() => {
                    self.bump();
                }
                '#' => self.skip_comment(),
                '(' | '[' => {
                    self.bump();
                    self.depth += 1;
                    let token = if c == '(' {
                        Token::Open
                    } else {
                        Token::ListOpen
                    };
                    self.push(token, pos);
                }
                ')' | ']' => {
                    self.bump();
                    self.depth = self.depth.saturating_sub(1);
                    let token = if c == ')' {
                        Token::Close
                    } else {
                        Token::ListClose
                    };
                    self.push(token, pos);
                }
                ',' => {
                    self.bump();
                    self.push(Token::Comma, pos);
                }
                '"' | '\'' => {
                    let s = self.string(c, pos)?;
                    self.push(Token::Str(s), pos);
                }
                c if c == '-' || c.is_ascii_digit() => {
                    let word = self.word();
                    let token = if is_number(&word) {
                        Token::Number(word)
                    } else {
                        Token::Word(word)
                    };
                    self.push(token, pos);
                }
                _ => {
                    let word = self.word();
                    self.push(Token::Word(word), pos);
                }
            }
        }
        Ok(())
    }

    fn skip_comment(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' {
                break;
            }
            self.bump();
        }
    }

    fn word(&mut self) -> String {
        let mut word = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || "()[],\"'#".contains(c) {
                break;
            }
            word.push(c);
            self.bump();
        }
        word
    }

    /// A quoted string. In `"…"` the escapes `\\ \" \' \n \t \r \uXXXX` are resolved and any
    /// other backslash is kept as written (as in Python, so `"\d+"` is a regex digit class);
    /// `'…'` is raw: only `\'` is special.
    fn string(&mut self, quote: char, start: Pos) -> Result<String, ConditionError> {
        self.bump();
        let mut out = String::new();
        loop {
            let pos = self.pos();
            match self.bump() {
                None | Some('\n') => {
                    return Err(ConditionError::new(start, "unterminated string"));
                }
                Some(c) if c == quote => return Ok(out),
                Some('\\') if quote == '\'' => {
                    if self.peek() == Some('\'') {
                        self.bump();
                        out.push('\'');
                    } else {
                        out.push('\\');
                    }
                }
                Some('\\') => self.escape(pos, &mut out)?,
                Some(c) => out.push(c),
            }
        }
    }

    fn escape(&mut self, pos: Pos, out: &mut String) -> Result<(), ConditionError> {
        let c = self
            .bump()
            .ok_or_else(|| ConditionError::new(pos, "unterminated escape"))?;
        match c {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '\\' | '"' | '\'' => out.push(c),
            'u' => {
                let hex: String = (0..4).filter_map(|_| self.bump()).collect();
                let decoded = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| {
                        ConditionError::new(pos, format!("invalid unicode escape `\\u{hex}`"))
                    })?;
                out.push(decoded);
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
        Ok(())
    }
}

fn is_number(word: &str) -> bool {
    word.parse::<f64>().is_ok_and(f64::is_finite)
        && !word.eq_ignore_ascii_case("inf")
        && !word.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<Token> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|s| s.token)
            .collect()
    }

    #[test]
    fn words_strings_numbers_and_punctuation() {
        assert_eq!(
            tokens(r#"a.b in ["x\"y", 'z', -1.5e3] # note"#),
            vec![
                Token::Word("a.b".into()),
                Token::Word("in".into()),
                Token::ListOpen,
                Token::Str("x\"y".into()),
                Token::Comma,
                Token::Str("z".into()),
                Token::Comma,
                Token::Number("-1.5e3".into()),
                Token::ListClose,
            ]
        );
    }

    #[test]
    fn newlines_separate_only_outside_brackets() {
        assert_eq!(
            tokens("a is_null\n(b is_null\n or c is_null)\n"),
            vec![
                Token::Word("a".into()),
                Token::Word("is_null".into()),
                Token::Newline,
                Token::Open,
                Token::Word("b".into()),
                Token::Word("is_null".into()),
                Token::Word("or".into()),
                Token::Word("c".into()),
                Token::Word("is_null".into()),
                Token::Close,
                Token::Newline,
            ]
        );
    }

    #[test]
    fn positions_are_line_and_column() {
        let spans = tokenize("a eq 1\n  b eq \"x\"").unwrap();
        let b = spans
            .iter()
            .find(|s| s.token == Token::Word("b".into()))
            .unwrap();
        assert_eq!(b.pos, Pos { line: 2, col: 3 });
    }

    #[test]
    fn unterminated_string_points_at_its_start() {
        let err = tokenize("a eq \"open").unwrap_err();
        assert_eq!(err.pos, Pos { line: 1, col: 6 });
        assert!(err.message.contains("unterminated"));
    }

    #[test]
    fn unknown_escapes_are_kept_and_single_quotes_are_raw() {
        assert_eq!(tokens(r#""\d+""#), vec![Token::Str("\\d+".into())]);
        assert_eq!(tokens(r"'a\b\'c'"), vec![Token::Str("a\\b'c".into())]);
    }

    #[test]
    fn unicode_escape() {
        assert_eq!(tokens(r#""\u00e9""#), vec![Token::Str("é".into())]);
        assert!(tokenize(r#""\uZZZZ""#).is_err());
    }
}
