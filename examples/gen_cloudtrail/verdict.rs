//! The two seed rules evaluated on finished records, independently of how they were built.
//!
//! * [`panther`] follows Panther's `AWS.Lambda.UpdateFunctionConfiguration` on the raw record,
//!   with Panther's semantics: keys looked up case-insensitively (exact case first), Python
//!   truthiness, `null` counting as missing.
//! * [`elastic_on_ecs`] follows the Elastic KQL query on an ECS document; [`elastic`] maps the
//!   raw record with `eshunt::event::to_ecs` first, so it sees exactly what Elasticsearch holds.
//!
//! Used by the generator's self-check and by the tests (samples and generator output).

use eshunt::event::to_ecs::{to_ecs, ToEcsOptions};
use serde_json::Value;

/// Panther's case-insensitive key lookup: the exact key wins, else the first key whose
/// lowercase form matches; `null` counts as missing.
fn pget<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let m = v.as_object()?;
    let found = m.get(key).or_else(|| {
        let lower = key.to_lowercase();
        m.iter()
            .find(|(k, _)| k.to_lowercase() == lower)
            .map(|(_, x)| x)
    })?;
    (!found.is_null()).then_some(found)
}

fn deep_get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| pget(cur, k))
}

/// Python truthiness of a JSON value.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
    }
}

/// Whether Panther's rule fires on a raw CloudTrail record.
pub fn panther(rec: &Value) -> bool {
    let success = !truthy(pget(rec, "errorCode")) && !truthy(pget(rec, "errorMessage"));
    let str_at = |path: &[&str]| deep_get(rec, path).and_then(Value::as_str);
    let identity_ok = match str_at(&["userIdentity", "type"]) {
        Some("IAMUser" | "FederatedUser") => true,
        Some("AssumedRole") => str_at(&[
            "userIdentity",
            "sessionContext",
            "sessionIssuer",
            "userName",
        ])
        .is_some_and(|n| n.starts_with("AWSReservedSSO_")),
        _ => false,
    };
    success
        && str_at(&["eventSource"]) == Some("lambda.amazonaws.com")
        && str_at(&["eventName"]) == Some("UpdateFunctionConfiguration20150331v2")
        && truthy(deep_get(rec, &["responseElements", "layers"]))
        && identity_ok
}

fn ecs_str<'a>(doc: &'a Value, dotted: &str) -> Option<&'a str> {
    dotted.split('.').try_fold(doc, |v, k| v.get(k))?.as_str()
}

/// Whether Elastic's KQL query matches an ECS document:
/// `data_stream.dataset: aws.cloudtrail and event.provider: lambda.amazonaws.com and
/// event.outcome: success and event.action: (PublishLayerVersion* or UpdateFunctionConfiguration*)`.
pub fn elastic_on_ecs(doc: &Value) -> bool {
    ecs_str(doc, "data_stream.dataset") == Some("aws.cloudtrail")
        && ecs_str(doc, "event.provider") == Some("lambda.amazonaws.com")
        && ecs_str(doc, "event.outcome") == Some("success")
        && ecs_str(doc, "event.action").is_some_and(|a| {
            a.starts_with("PublishLayerVersion") || a.starts_with("UpdateFunctionConfiguration")
        })
}

/// Whether Elastic's rule fires on the document the integration makes of a raw record.
pub fn elastic(rec: &Value) -> bool {
    elastic_on_ecs(&to_ecs(rec, &ToEcsOptions::default()))
}
