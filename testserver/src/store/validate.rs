//! The checks Elasticsearch makes while indexing a document against its mapping: values that do
//! not fit a numeric, boolean or date field, `constant_keyword` values that differ from the
//! mapped one, and the `@timestamp` every data stream document needs.
//!
//! Only mapped fields are checked; new fields are mapped dynamically afterwards.

use crate::error::EsError;
use esquery::dsl::{FieldType, Mapping};
use serde_json::Value;

/// Checks `doc` (with `_id` `id`) before it is indexed. `kind` is the error type of this
/// cluster (`document_parsing_exception` on Elasticsearch 8.8+, `mapper_parsing_exception`
/// elsewhere); `data_stream` requires `@timestamp`.
pub(crate) fn document(
    mapping: &Mapping,
    doc: &Value,
    id: &str,
    kind: &str,
    data_stream: bool,
) -> Result<(), EsError> {
    if !doc.is_object() {
        return Err(EsError::new(400, kind, "failed to parse").caused_by(EsError::new(
            400,
            "not_x_content_exception",
            "Compressor detection can only be called on some xcontent bytes or compressed xcontent bytes",
        )));
    }
    if data_stream && !has_timestamp(doc) {
        return Err(EsError::new(
            400,
            kind,
            "failed to parse: data stream timestamp field [@timestamp] is missing",
        ));
    }
    let mut error = None;
    esquery::dsl::source::visit_paths(doc, &mut |path, leaf| {
        error = check_leaf(mapping, path, leaf).map(|(field_type, cause)| {
            EsError::new(
                400,
                kind,
                format!(
                    "failed to parse field [{path}] of type [{field_type}] in document with id '{id}'. Preview of field's value: '{}'",
                    preview(leaf)
                ),
            )
            .caused_by(cause)
        });
        error.is_some()
    });
    error.map_or(Ok(()), Err)
}

fn has_timestamp(doc: &Value) -> bool {
    let mut found = false;
    esquery::dsl::source::visit_values(doc, "@timestamp", &mut |v| {
        found = !v.is_null();
        found
    });
    found
}

fn preview(leaf: &Value) -> String {
    match leaf {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The type name and cause when `leaf` does not fit the field mapped at `path`.
fn check_leaf(mapping: &Mapping, path: &str, leaf: &Value) -> Option<(String, EsError)> {
    let field = mapping.field(path)?;
    if leaf.is_null() {
        return None;
    }
    let bad = |reason: String| Some((field.type_name.clone(), EsError::illegal_argument(reason)));
    match field.ty {
        FieldType::Long
        | FieldType::Integer
        | FieldType::Short
        | FieldType::Byte
        | FieldType::UnsignedLong
        | FieldType::Double
        | FieldType::Float
        | FieldType::HalfFloat
        | FieldType::ScaledFloat => match leaf {
            Value::Number(_) => None,
            Value::String(s) if s.trim().parse::<f64>().is_ok() => None,
            Value::String(s) => bad(format!("For input string: \"{s}\"")),
            other => bad(format!("Current token ({}) not numeric", token(other))),
        },
        FieldType::Boolean => match leaf {
            Value::Bool(_) => None,
            Value::String(s) if matches!(s.as_str(), "true" | "false" | "") => None,
            other => bad(format!(
                "Failed to parse value [{}] as only [true] or [false] are allowed.",
                preview(other)
            )),
        },
        FieldType::Date | FieldType::DateNanos => match leaf {
            Value::Number(_) => None,
            Value::String(s) if field.format.is_some() || parses_as_date(s) => None,
            other => bad(format!(
                "failed to parse date field [{}] with format [strict_date_optional_time||epoch_millis]",
                preview(other)
            )),
        },
        FieldType::ConstantKeyword => {
            let expected = field.constant_value.as_deref()?;
            let got = preview(leaf);
            (got != expected).then(|| {
                (
                    field.type_name.clone(),
                    EsError::illegal_argument(format!(
                        "[constant_keyword] field [{path}] only accepts values that are equal to the value defined in the mappings [{expected}], but got [{got}]"
                    )),
                )
            })
        }
        _ => None,
    }
}

fn token(v: &Value) -> &'static str {
    match v {
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Object(_) => "START_OBJECT",
        Value::Array(_) => "START_ARRAY",
        _ => "VALUE_STRING",
    }
}

/// `strict_date_optional_time||epoch_millis`, the default date format.
fn parses_as_date(s: &str) -> bool {
    s.parse::<i64>().is_ok() || esquery::dsl::datemath::parse(s, chrono::Utc::now(), false).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping() -> Mapping {
        Mapping::from_json(&json!({"properties": {
            "n": {"type": "long"},
            "b": {"type": "boolean"},
            "t": {"type": "date"},
            "c": {"type": "constant_keyword", "value": "x"},
        }}))
        .unwrap()
    }

    fn check(doc: Value) -> Result<(), EsError> {
        document(&mapping(), &doc, "1", "mapper_parsing_exception", false)
    }

    #[test]
    fn accepts_fitting_values() {
        assert!(check(
            json!({"n": 5, "b": "true", "t": "2024-01-01T00:00:00Z", "c": "x", "new": [1]})
        )
        .is_ok());
        assert!(check(json!({"n": "12"})).is_ok());
    }

    #[test]
    fn refuses_values_that_do_not_fit() {
        let e = check(json!({"n": "abc"})).unwrap_err();
        assert_eq!(e.kind, "mapper_parsing_exception");
        assert!(e
            .reason
            .contains("failed to parse field [n] of type [long]"));
        assert!(check(json!({"b": 3})).is_err());
        assert!(check(json!({"t": "yesterday"})).is_err());
        assert!(check(json!({"c": "y"})).is_err());
    }

    #[test]
    fn data_streams_need_a_timestamp() {
        let m = Mapping::new();
        let e = document(&m, &json!({"a": 1}), "1", "k", true).unwrap_err();
        assert!(e.reason.contains("[@timestamp] is missing"));
        assert!(document(&m, &json!({"@timestamp": "2024-01-01"}), "1", "k", true).is_ok());
    }
}
