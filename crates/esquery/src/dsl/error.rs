//! Errors raised while reading a mapping or compiling a query.
//!
//! Messages follow the wording of Elasticsearch's own errors where one exists (for example
//! `[range] query does not support [foo]` or `unknown query [foo]`), so that a message seen
//! from eshunt's in-process test server reads like the one a real cluster would return.

/// An error from the `dsl` module: a query or mapping that cannot be compiled.
///
/// Evaluation itself never fails: every problem is found when [`crate::dsl::Query::compile`]
/// or [`crate::dsl::Mapping::from_json`] runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DslError {
    /// A query type that Elasticsearch does not know, or that eshunt does not evaluate.
    ///
    /// Elasticsearch answers an unknown query type with `parsing_exception: unknown query [x]`.
    #[error("unknown query [{query_type}]")]
    Unsupported {
        /// The query type as written, e.g. `"geo_shape"`.
        query_type: String,
    },
    /// A known query or option that eshunt deliberately does not evaluate (rather than guess).
    #[error("[{query_type}] {feature} is not supported by eshunt's local evaluator")]
    UnsupportedFeature {
        /// The query type that carries the feature.
        query_type: String,
        /// What is not supported, e.g. `"terms lookup"`.
        feature: String,
    },
    /// A query whose JSON does not have the shape Elasticsearch accepts.
    #[error("[{query_type}] {reason}")]
    Malformed {
        /// The query type, e.g. `"range"`.
        query_type: String,
        /// What is wrong, e.g. `query does not support [foo]`.
        reason: String,
    },
    /// A value that cannot be used against a field of the mapped type (Elasticsearch fails the
    /// search with `query_shard_exception: failed to create query: ...`).
    #[error("failed to create query: {reason}")]
    InvalidValue {
        /// The field the value was meant for.
        field: String,
        /// Why the value does not fit, e.g. `For input string: "abc"`.
        reason: String,
    },
    /// A date or date-math expression that cannot be parsed.
    #[error("failed to parse date field [{input}]: {reason}")]
    DateParse {
        /// The text that failed to parse.
        input: String,
        /// Why it failed.
        reason: String,
    },
    /// A mapping that cannot be read.
    #[error("mapper_parsing_exception: {reason}")]
    Mapping {
        /// What is wrong with the mapping.
        reason: String,
    },
}

impl DslError {
    /// `[query_type] reason`.
    /// A reason already written as `[query_type] …` (Elasticsearch's own wording) is not
    /// prefixed twice.
    pub(crate) fn malformed(query_type: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let prefix = format!("[{query_type}] ");
        let reason = match reason.strip_prefix(&prefix) {
            Some(rest) => rest.to_string(),
            None => reason,
        };
        DslError::Malformed {
            query_type: query_type.to_string(),
            reason,
        }
    }

    /// `[query_type] query does not support [key]`, Elasticsearch's wording for an unknown
    /// parameter.
    pub(crate) fn unknown_param(query_type: &str, key: &str) -> Self {
        Self::malformed(query_type, format!("query does not support [{key}]"))
    }

    /// A value that does not fit the field's type.
    pub(crate) fn invalid_value(field: &str, reason: impl Into<String>) -> Self {
        DslError::InvalidValue {
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    /// A feature of a known query that eshunt does not evaluate.
    pub(crate) fn unsupported_feature(query_type: &str, feature: impl Into<String>) -> Self {
        DslError::UnsupportedFeature {
            query_type: query_type.to_string(),
            feature: feature.into(),
        }
    }

    /// A date that cannot be parsed.
    pub(crate) fn date(input: &str, reason: impl Into<String>) -> Self {
        DslError::DateParse {
            input: input.to_string(),
            reason: reason.into(),
        }
    }

    /// A mapping that cannot be read.
    pub(crate) fn mapping(reason: impl Into<String>) -> Self {
        DslError::Mapping {
            reason: reason.into(),
        }
    }
}
