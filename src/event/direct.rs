//! The direct ECS view: the ECS fields Elastic's pipeline fills with one CloudTrail value
//! unchanged, and nothing else writes — `event.action` from `eventName`, the identity's type,
//! ARN and access key, the source address, the user agent, the error code… — with the few
//! derived from those alone (`source.ip`, `event.outcome`) and the constants (`data_stream.*`,
//! `event.module`…).
//!
//! Most prefilters read only such fields (`aws.cloudtrail.user_identity.access_key_id: AKIA*`).
//! Checking one on a raw record needs just these values, so [`direct_view`] copies a dozen of
//! them instead of mapping the whole record ([`to_ecs`](super::to_ecs::to_ecs) renders every
//! large object as a Java map string and a flattened copy, and builds `related.*`, categories,
//! TLS…). Each value is the one `to_ecs` (default options) writes at the same field, after the
//! same empty-value cleanup — tests compare the two on edge cases and on the whole corpus.

use super::nested::Shape;
use super::to_ecs::{prune_current, DATASET};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// How the pipeline writes a direct field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    /// The value as it is.
    Copied,
    /// The value rendered as text: a string stays as it is; anything else is rendered in a
    /// way this view does not repeat (the full view is used then).
    Text,
}

/// The direct fields: (ECS field, CloudTrail path, how it is written).
const DIRECT: &[(&str, &[&str], Written)] = &[
    ("event.action", &["eventName"], Written::Text),
    ("event.provider", &["eventSource"], Written::Copied),
    ("event.id", &["eventID"], Written::Copied),
    ("cloud.region", &["awsRegion"], Written::Copied),
    ("source.address", &["sourceIPAddress"], Written::Copied),
    ("user_agent.original", &["userAgent"], Written::Copied),
    ("aws.cloudtrail.error_code", &["errorCode"], Written::Copied),
    (
        "aws.cloudtrail.error_message",
        &["errorMessage"],
        Written::Copied,
    ),
    ("aws.cloudtrail.request_id", &["requestID"], Written::Copied),
    ("aws.cloudtrail.event_type", &["eventType"], Written::Copied),
    (
        "aws.cloudtrail.recipient_account_id",
        &["recipientAccountId"],
        Written::Copied,
    ),
    (
        "aws.cloudtrail.user_identity.type",
        &["userIdentity", "type"],
        Written::Copied,
    ),
    (
        "aws.cloudtrail.user_identity.arn",
        &["userIdentity", "arn"],
        Written::Copied,
    ),
    (
        "aws.cloudtrail.user_identity.access_key_id",
        &["userIdentity", "accessKeyId"],
        Written::Copied,
    ),
    (
        "aws.cloudtrail.user_identity.invoked_by",
        &["userIdentity", "invokedBy"],
        Written::Copied,
    ),
    (
        "aws.cloudtrail.user_identity.session_context.session_issuer.type",
        &["userIdentity", "sessionContext", "sessionIssuer", "type"],
        Written::Copied,
    ),
    (
        "aws.cloudtrail.user_identity.session_context.session_issuer.arn",
        &["userIdentity", "sessionContext", "sessionIssuer", "arn"],
        Written::Copied,
    ),
];

/// Fields every mapped record has, with their values (default options).
const CONSTANT: &[(&str, &str)] = &[
    ("data_stream.type", "logs"),
    ("data_stream.dataset", DATASET),
    ("event.dataset", DATASET),
    ("event.module", "aws"),
    ("event.kind", "event"),
    ("cloud.provider", "aws"),
];

/// Fields derived from direct fields alone.
const DERIVED: [&str; 2] = ["source.ip", "event.outcome"];

/// Every field of the direct view.
pub fn direct_fields() -> impl Iterator<Item = &'static str> {
    let copied = DIRECT.iter().map(|(ecs, _, _)| *ecs);
    copied
        .chain(CONSTANT.iter().map(|(ecs, _)| *ecs))
        .chain(DERIVED)
}

/// Whether `field` is a direct field: [`direct_view`] holds it exactly when the full ECS view
/// does, with the same value.
pub fn is_direct_field(field: &str) -> bool {
    direct_fields().any(|f| f == field)
}

/// The direct fields of a raw CloudTrail record, nested as in the full ECS view; `None` when
/// one of them would be written in a way this view does not repeat (an `eventName` that is not
/// a string), so the full view must be used.
pub fn direct_view(record: &Value) -> Option<Value> {
    let (shape, [ip_slot, outcome_slot]) = view_shape();
    let mut values = shape.values();
    // Anything but an object maps as an empty record does.
    let empty = Map::new();
    let top = record.as_object().unwrap_or(&empty);
    for (slot, (_, path, written)) in DIRECT.iter().enumerate() {
        let Some(value) = object_path(top, path).and_then(prune_current) else {
            continue;
        };
        if *written == Written::Text && !value.is_string() {
            return None;
        }
        values.set(slot, value);
    }
    for (slot, (_, value)) in (DIRECT.len()..).zip(CONSTANT) {
        values.set(slot, Value::from(*value));
    }
    let address = object_path(top, &["sourceIPAddress"]).and_then(prune_current);
    if let Some(ip) = address
        .as_ref()
        .and_then(Value::as_str)
        .filter(|a| a.parse::<std::net::IpAddr>().is_ok())
    {
        values.set(*ip_slot, Value::from(ip));
    }
    values.set(*outcome_slot, Value::String(outcome(top)));
    Some(Value::Object(shape.build(values)))
}

/// The shape of the direct view, made once, with the slots of [`DERIVED`]. A field's slot is its
/// position in [`direct_fields`]: DIRECT's, then CONSTANT's, then DERIVED's.
fn view_shape() -> &'static (Shape, [usize; 2]) {
    static SHAPE: OnceLock<(Shape, [usize; 2])> = OnceLock::new();
    SHAPE.get_or_init(|| {
        let shape = Shape::new(direct_fields());
        let derived = DERIVED.map(|field| shape.slot(field).expect("a direct field"));
        (shape, derived)
    })
}

/// `event.outcome` as the pipeline sets it: `failure` with an error code or message, else
/// `success`; for a console login, the lower-cased `responseElements.ConsoleLogin`.
fn outcome(top: &Map<String, Value>) -> String {
    let present = |path: &[&str]| object_path(top, path).and_then(prune_current);
    let login = match present(&["eventName"]) {
        Some(Value::String(name)) if name == "ConsoleLogin" => {
            present(&["responseElements", "ConsoleLogin"])
        }
        _ => None,
    };
    if let Some(Value::String(result)) = login {
        return result.to_lowercase();
    }
    let failed = present(&["errorCode"]).is_some() || present(&["errorMessage"]).is_some();
    match failed {
        true => "failure".into(),
        false => "success".into(),
    }
}

/// The value at `path` through objects only (as the pipeline's field paths go).
fn object_path<'a>(top: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(top.get(*first)?, |v, key| v.as_object()?.get(*key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::to_ecs::{to_ecs, ToEcsOptions};
    use esquery::dsl::source::visit_values;
    use serde_json::json;

    #[test]
    fn each_direct_field_is_the_slot_of_its_position() {
        let shape = Shape::new(direct_fields());
        for (at, field) in direct_fields().enumerate() {
            assert_eq!(shape.slot(field), Some(at), "{field}");
        }
    }

    /// Every direct field has the same values in both views.
    fn assert_same_as_full_view(record: &Value) {
        let full = to_ecs(record, &ToEcsOptions::default());
        let Some(direct) = direct_view(record) else {
            return;
        };
        for field in direct_fields() {
            let values = |doc: &Value| {
                let mut out = Vec::new();
                visit_values(doc, field, &mut |v| {
                    out.push(v.clone());
                    false
                });
                out
            };
            assert_eq!(values(&direct), values(&full), "{field} of {record}");
        }
    }

    #[test]
    fn direct_fields_equal_the_full_view_on_odd_records() {
        let records = [
            json!({"eventName": "AssumeRole", "eventSource": "sts.amazonaws.com",
                   "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/r/s",
                     "accessKeyId": "ASIA1", "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::1:role/r"}}},
                   "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2", "recipientAccountId": "1"}),
            json!({"eventName": "", "errorCode": "-", "errorMessage": "none", "userAgent": null,
                   "userIdentity": {"type": "", "accessKeyId": [], "sessionContext": {"sessionIssuer": {}}}}),
            json!({"eventName": "X", "userIdentity": "a string", "awsRegion": ["us-east-1", ""],
                   "sourceIPAddress": {"a": null, "b": "c"}, "recipientAccountId": 123}),
            json!({"userIdentity": [{"type": "IAMUser"}], "eventType": {"x": {}}}),
            json!(["not", "an", "object"]),
            json!({"eventName": "A", "userIdentity": {"sessionContext": {"sessionIssuer": {"type": "-", "arn": "x"}}}}),
            json!({"eventName": "ConsoleLogin", "responseElements": {"ConsoleLogin": "Failure"}}),
            json!({"eventName": "ConsoleLogin", "responseElements": {"ConsoleLogin": "-"}, "errorMessage": "x"}),
            json!({"eventName": "ConsoleLogin", "responseElements": {"ConsoleLogin": 1}, "errorCode": ""}),
            json!({"eventName": "ConsoleLogin", "responseElements": "Success"}),
            json!({"sourceIPAddress": "2001:db8::1"}),
            json!({"sourceIPAddress": "lambda.amazonaws.com"}),
            json!({"sourceIPAddress": " 10.0.0.1"}),
        ];
        for record in &records {
            assert_same_as_full_view(record);
        }
    }

    #[test]
    fn a_non_string_event_name_needs_the_full_view() {
        assert_eq!(direct_view(&json!({"eventName": 7})), None);
        assert_eq!(direct_view(&json!({"eventName": {"a": 1}})), None);
        assert!(direct_view(&json!({"eventName": null})).is_some());
    }

    #[test]
    fn every_direct_field_is_one_the_full_view_can_hold() {
        let record = json!({"eventName": "A", "eventSource": "s", "eventID": "i", "awsRegion": "r",
            "sourceIPAddress": "1.2.3.4", "userAgent": "u", "errorCode": "e", "errorMessage": "m",
            "requestID": "q", "eventType": "t", "recipientAccountId": "1",
            "userIdentity": {"type": "AssumedRole", "arn": "a", "accessKeyId": "k", "invokedBy": "b",
              "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "ia"}}}});
        let direct = direct_view(&record).unwrap();
        for field in direct_fields() {
            assert!(
                visit_values(&direct, field, &mut |_| true),
                "{field} is filled"
            );
        }
        assert_same_as_full_view(&record);
    }
}
