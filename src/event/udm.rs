//! Data-model fields: values eshunt computes from a CloudTrail record, addressed in rules as
//! `udm.<name>` (e.g. `{udm.actor_user}` in a title), after Panther's `AWS.CloudTrail` data model.

use super::path::FieldPath;
use serde_json::Value;

/// The prefix that marks a data-model field in a rule's field reference.
pub const PREFIX: &str = "udm.";

/// A data-model field eshunt knows how to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdmField {
    /// The acting user, derived from `userIdentity` by identity type.
    ActorUser,
}

/// Why a data-model field could not be computed (Panther's title function would raise).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot compute udm.{field}: {reason}")]
pub struct UdmError {
    /// The field's name without the prefix.
    pub field: &'static str,
    /// What went wrong.
    pub reason: String,
}

impl UdmField {
    /// Every data-model field, for help texts and validation messages.
    pub const ALL: [(&'static str, UdmField); 1] = [("actor_user", UdmField::ActorUser)];

    /// Resolves `udm.<name>`; `None` when `path` is not a data-model reference or names an
    /// unknown field (the caller reports which).
    pub fn from_path(path: &str) -> Option<Result<UdmField, String>> {
        let name = path.strip_prefix(PREFIX)?;
        Some(
            Self::ALL
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, f)| *f)
                .ok_or_else(|| {
                    let known: Vec<_> = Self::ALL.iter().map(|(n, _)| format!("udm.{n}")).collect();
                    format!(
                        "unknown data-model field `{path}` (known: {})",
                        known.join(", ")
                    )
                }),
        )
    }

    /// The CloudTrail fields the computation reads.
    pub fn inputs(self) -> &'static [&'static str] {
        match self {
            UdmField::ActorUser => &[
                "userIdentity",
                "additionalEventData.UserName",
                "sourceIdentity",
                "eventType",
            ],
        }
    }

    /// Computes the field on a CloudTrail record.
    pub fn compute(self, record: &Value) -> Result<Value, UdmError> {
        match self {
            UdmField::ActorUser => actor_user(record).map(Value::String),
        }
    }
}

/// Panther's `get_actor_user`: the acting user by `userIdentity.type`.
fn actor_user(record: &Value) -> Result<String, UdmError> {
    let kind = get_string(record, "userIdentity.type");
    let unknown = || format!("Unknown{}", kind.as_deref().unwrap_or("None"));
    let user = match kind.as_deref() {
        Some("Root") => get_text(record, "userIdentity.userName")
            .or_else(|| get_text(record, "userIdentity.accountId"))
            .unwrap_or_else(|| "UnknownRootUser".into()),
        Some("IAMUser" | "Directory" | "Unknown" | "SAMLUser" | "WebIdentityUser") => {
            get_text(record, "userIdentity.userName").unwrap_or_else(unknown)
        }
        Some("AssumedRole" | "Role" | "FederatedUser") => role_actor(record, unknown)?,
        Some("IdentityCenterUser") => {
            get_text(record, "additionalEventData.UserName").unwrap_or_else(unknown)
        }
        Some("AWSService" | "AWSAccount") => {
            get_text(record, "sourceIdentity").unwrap_or_else(unknown)
        }
        _ if get_string(record, "eventType").as_deref() == Some("AwsServiceEvent") => {
            get_text(record, "userIdentity.invokedBy")
                .unwrap_or_else(|| "UnknownAwsServiceEvent".into())
        }
        _ => "UnknownUser".into(),
    };
    Ok(user)
}

/// Roles: the session issuer's name, except for IAM Identity Center (SSO) sessions, whose issuer
/// is a generic `AWSReservedSSO_…` role: then the person's session name from `principalId`.
fn role_actor(record: &Value, unknown: impl Fn() -> String) -> Result<String, UdmError> {
    let issuer = match first(record, "userIdentity.sessionContext.sessionIssuer.userName") {
        None => unknown(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(UdmError {
                field: "actor_user",
                reason: format!("sessionIssuer.userName is not a string: {other}"),
            })
        }
    };
    if !issuer.starts_with("AWSReservedSSO_") {
        return Ok(issuer);
    }
    let principal = get_text(record, "userIdentity.principalId").unwrap_or_else(unknown);
    principal
        .split(':')
        .nth(1)
        .map(str::to_string)
        .ok_or_else(|| UdmError {
            field: "actor_user",
            reason: format!("SSO principalId `{principal}` has no `:`"),
        })
}

fn first<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    FieldPath::parse(path).expect("static path").first(record)
}

fn get_string(record: &Value, path: &str) -> Option<String> {
    first(record, path)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A value as Python's `str()` would show it in an f-string (strings unquoted).
fn get_text(record: &Value, path: &str) -> Option<String> {
    first(record, path).map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn actor(v: Value) -> Result<String, UdmError> {
        actor_user(&v)
    }

    #[test]
    fn by_identity_type() {
        let cases = [
            (
                json!({"userIdentity": {"type": "Root", "accountId": "1"}}),
                "1",
            ),
            (json!({"userIdentity": {"type": "Root"}}), "UnknownRootUser"),
            (
                json!({"userIdentity": {"type": "IAMUser", "userName": "bob"}}),
                "bob",
            ),
            (
                json!({"userIdentity": {"type": "SAMLUser"}}),
                "UnknownSAMLUser",
            ),
            (
                json!({"userIdentity": {"type": "FederatedUser"}}),
                "UnknownFederatedUser",
            ),
            (
                json!({"userIdentity": {"type": "AssumedRole", "sessionContext": {"sessionIssuer": {"userName": "Deploy"}}}}),
                "Deploy",
            ),
            (
                json!({"userIdentity": {"type": "AssumedRole", "principalId": "AROA:alice:x",
                    "sessionContext": {"sessionIssuer": {"userName": "AWSReservedSSO_Admin_1"}}}}),
                "alice",
            ),
            (
                json!({"userIdentity": {"type": "IdentityCenterUser"}, "additionalEventData": {"UserName": "carol"}}),
                "carol",
            ),
            (
                json!({"userIdentity": {"type": "AWSService"}, "sourceIdentity": "svc"}),
                "svc",
            ),
            (
                json!({"userIdentity": {"type": "AWSAccount"}}),
                "UnknownAWSAccount",
            ),
            (
                json!({"eventType": "AwsServiceEvent", "userIdentity": {"invokedBy": "s3.amazonaws.com"}}),
                "s3.amazonaws.com",
            ),
            (
                json!({"eventType": "AwsServiceEvent"}),
                "UnknownAwsServiceEvent",
            ),
            (json!({}), "UnknownUser"),
        ];
        for (record, expected) in cases {
            assert_eq!(actor(record.clone()).unwrap(), expected, "{record}");
        }
    }

    #[test]
    fn sso_principal_without_colon_is_an_error() {
        let record = json!({"userIdentity": {"type": "AssumedRole", "principalId": "AROA",
            "sessionContext": {"sessionIssuer": {"userName": "AWSReservedSSO_Admin_1"}}}});
        assert!(actor(record).is_err());
    }

    #[test]
    fn resolves_udm_paths() {
        assert_eq!(
            UdmField::from_path("udm.actor_user"),
            Some(Ok(UdmField::ActorUser))
        );
        assert!(matches!(UdmField::from_path("udm.nope"), Some(Err(_))));
        assert_eq!(UdmField::from_path("eventName"), None);
    }
}
