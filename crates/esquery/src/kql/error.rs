//! [`KqlError`]: Kibana's KQL error texts.

/// What a [`KqlError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not KQL (Kibana's `KQLSyntaxError`, "Expected … but … found.").
    Syntax,
    /// A value starts with `*` while leading wildcards are disabled (Kibana's message).
    LeadingWildcard,
    /// Groups nest deeper than [`MAX_DEPTH`](super::MAX_DEPTH) (an eshunt limit; Kibana would
    /// eventually overflow its stack).
    TooDeep,
    /// The query contradicts the data view's nested fields (Kibana's messages).
    DataView,
    /// A `KueryNode` JSON given to [`from_kuery_json`](super::from_kuery_json) is not valid.
    InvalidAst,
}

/// A KQL error. `Display` gives Kibana's full text: for syntax errors, the message, the query and
/// a caret line under the failing position, e.g.
///
/// ```text
/// Expected "(", "{", value, whitespace but end of input found.
/// response:
/// ---------^
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{full}")]
pub struct KqlError {
    kind: ErrorKind,
    short: String,
    full: String,
    offset: usize,
}

impl KqlError {
    /// An error at `offset` (in chars) of `query`: Kibana's message, query and caret lines. The
    /// caret is indented by the offset in UTF-16 units, as Kibana (JavaScript) counts it.
    pub(crate) fn at(kind: ErrorKind, short: String, query: &str, offset: usize) -> KqlError {
        let indent: usize = query.chars().take(offset).map(char::len_utf16).sum();
        let full = format!("{short}\n{query}\n{}^", "-".repeat(indent));
        KqlError {
            kind,
            short,
            full,
            offset,
        }
    }

    /// Kibana's data-view errors (one message per offending field, joined by newlines).
    pub(crate) fn data_view(messages: &[String]) -> KqlError {
        KqlError {
            kind: ErrorKind::DataView,
            short: messages.join(" "),
            full: messages.join("\n"),
            offset: 0,
        }
    }

    /// An invalid `KueryNode` JSON.
    pub(crate) fn invalid_ast(message: String) -> KqlError {
        KqlError {
            kind: ErrorKind::InvalidAst,
            full: message.clone(),
            short: message,
            offset: 0,
        }
    }

    /// What the error reports.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The one-line message, without the query and caret lines (Kibana's `shortMessage`).
    pub fn short(&self) -> &str {
        &self.short
    }

    /// The 0-based offset, in chars, of the failing position in the query (0 when the error is
    /// not tied to a position).
    pub fn offset(&self) -> usize {
        self.offset
    }
}
