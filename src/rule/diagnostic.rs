//! Errors in rule files, reported as `file:line:col: message` with the offending line shown.

use std::fmt;
use std::ops::Range;
use std::path::Path;

/// A problem in a rule file, located to a line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The rule file.
    pub file: String,
    /// 1-based line (0 when the error concerns the whole file).
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong.
    pub message: String,
    /// The offending line of the file, when known.
    pub snippet: Option<String>,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {}", self.file, self.message);
        }
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )?;
        if let Some(snippet) = &self.snippet {
            let gutter = self.line.to_string().len();
            write!(
                f,
                "\n{:gutter$} |\n{} | {}\n{:gutter$} | {:>col$}",
                "",
                self.line,
                snippet,
                "",
                "^",
                col = self.col
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleError {}

/// A rule file's text, for turning byte offsets into lines and columns.
pub struct SourceText<'a> {
    file: String,
    text: &'a str,
}

impl<'a> SourceText<'a> {
    /// Wraps the text of `file`.
    pub fn new(file: &Path, text: &'a str) -> SourceText<'a> {
        SourceText {
            file: file.display().to_string(),
            text,
        }
    }

    /// The file name used in messages.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// An error at a byte offset.
    pub fn error_at(&self, offset: usize, message: impl Into<String>) -> RuleError {
        let (line, col) = self.line_col(offset);
        self.error_at_line(line, col, message)
    }

    /// An error at a line and column.
    pub fn error_at_line(&self, line: usize, col: usize, message: impl Into<String>) -> RuleError {
        RuleError {
            file: self.file.clone(),
            line,
            col,
            message: message.into(),
            snippet: self
                .text
                .lines()
                .nth(line.saturating_sub(1))
                .map(str::to_string),
        }
    }

    /// An error about the whole file.
    pub fn error(&self, message: impl Into<String>) -> RuleError {
        RuleError {
            file: self.file.clone(),
            line: 0,
            col: 0,
            message: message.into(),
            snippet: None,
        }
    }

    /// Where the content of a TOML string value starts, given the span of the whole value
    /// (quotes included). Multi-line strings drop a newline right after the opening quotes.
    pub fn string_content_start(&self, span: &Range<usize>) -> usize {
        let value = self.text.get(span.clone()).unwrap_or("");
        let mut start = span.start;
        if value.starts_with("'''") || value.starts_with("\"\"\"") {
            start += 3;
            let rest = &self.text[start.min(self.text.len())..];
            if rest.starts_with("\r\n") {
                start += 2;
            } else if rest.starts_with('\n') {
                start += 1;
            }
        } else if value.starts_with('\'') || value.starts_with('"') {
            start += 1;
        }
        start
    }

    /// Maps a 1-based (line, col) inside a string value to the file: exact for literal strings
    /// (`'…'`, `'''…'''`), approximate when the TOML string uses escapes.
    pub fn error_in_string(
        &self,
        span: &Range<usize>,
        line: usize,
        col: usize,
        message: impl Into<String>,
    ) -> RuleError {
        let (start_line, start_col) = self.line_col(self.string_content_start(span));
        let (file_line, file_col) = if line <= 1 {
            (start_line, start_col + col.saturating_sub(1))
        } else {
            (start_line + line - 1, col)
        };
        self.error_at_line(file_line, file_col, message)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_to_lines_and_columns() {
        let src = SourceText::new(Path::new("r.toml"), "a = 1\nbé = 'x'\n");
        assert_eq!(src.line_col(0), (1, 1));
        assert_eq!(src.line_col(6), (2, 1));
        assert_eq!(src.line_col(10), (2, 4));
    }

    #[test]
    fn display_shows_the_line_and_a_caret() {
        let src = SourceText::new(Path::new("r.toml"), "x = 1\nseverity = \"hgh\"\n");
        let err = src.error_at(17, "unknown severity");
        assert_eq!(
            err.to_string(),
            "r.toml:2:12: unknown severity\n  |\n2 | severity = \"hgh\"\n  |            ^"
        );
    }

    #[test]
    fn positions_inside_multiline_strings() {
        let text = "condition = '''\nfoo eq 1\nbar eqq 2\n'''\n";
        let src = SourceText::new(Path::new("r.toml"), text);
        let span = 12..text.len() - 1;
        let err = src.error_in_string(&span, 2, 5, "unknown operator");
        assert_eq!((err.line, err.col), (3, 5));
        assert_eq!(err.snippet.as_deref(), Some("bar eqq 2"));
        let inline = "c = 'a eqq 1'\n";
        let src = SourceText::new(Path::new("r.toml"), inline);
        let err = src.error_in_string(&(4..13), 1, 3, "x");
        assert_eq!((err.line, err.col), (1, 8));
    }
}
