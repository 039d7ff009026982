//! The source event's ECS fields an alert carries (user, source address, user agent, cloud
//! account and region, event action/provider/id/outcome, identity details), derived from the
//! CloudTrail record through the same mapping Elastic's integration uses, so an alert looks the
//! same whether its event was read from a file or from an index.

use crate::event::from_ecs::{When, FIELDS};
use crate::event::nested::Shape;
use crate::event::path::{is_nullish, FieldPath};
use crate::net::parse_ip;
use serde_json::{json, Value};
use std::sync::OnceLock;

/// ECS fields copied into alerts.
const COPIED: &[&str] = &[
    "event.action",
    "event.provider",
    "event.id",
    "cloud.region",
    "cloud.account.id",
    "user.id",
    "user.name",
    "source.address",
    "user_agent.original",
    "aws.cloudtrail.event_type",
    "aws.cloudtrail.recipient_account_id",
    "aws.cloudtrail.request_id",
    "aws.cloudtrail.error_code",
    "aws.cloudtrail.error_message",
    "aws.cloudtrail.user_identity.type",
    "aws.cloudtrail.user_identity.arn",
    "aws.cloudtrail.user_identity.access_key_id",
    "aws.cloudtrail.user_identity.invoked_by",
    "aws.cloudtrail.user_identity.session_context.session_issuer.arn",
    "aws.cloudtrail.user_identity.session_context.session_issuer.type",
];

/// The CloudTrail fields `source_fields` reads.
pub fn source_paths() -> &'static [&'static str] {
    &[
        "eventName",
        "eventSource",
        "eventID",
        "eventTime",
        "eventType",
        "awsRegion",
        "recipientAccountId",
        "requestID",
        "sourceIPAddress",
        "userAgent",
        "errorCode",
        "errorMessage",
        "userIdentity",
    ]
}

/// The ECS fields `source_fields` writes besides the copied rows.
const DERIVED: [&str; 3] = ["source.ip", "cloud.provider", "event.outcome"];

/// A row of the mapping whose first ECS field alerts copy, its CloudTrail path parsed.
struct Copied {
    from: FieldPath,
    /// The ECS field's slot in the [`Fields`] shape.
    to: usize,
    when: When,
}

/// How alerts' source fields are built: the copied rows of [`FIELDS`] in the mapping's order,
/// and the shape of the object they make (made once).
struct Fields {
    rows: Vec<Copied>,
    shape: Shape,
    /// Slots of `cloud.account.id` and of [`DERIVED`].
    account: usize,
    derived: [usize; 3],
}

/// The source fields' rows and shape, made on first use.
fn fields() -> &'static Fields {
    static BUILT: OnceLock<Fields> = OnceLock::new();
    BUILT.get_or_init(|| {
        let copied: Vec<_> = FIELDS
            .iter()
            .filter_map(|row| Some((row, *row.ecs.first().filter(|e| COPIED.contains(e))?)))
            .collect();
        let shape = Shape::new(copied.iter().map(|(_, to)| *to).chain(DERIVED));
        let slot = |path: &str| shape.slot(path).expect("a path of the shape");
        let rows = copied
            .iter()
            .filter_map(|(row, to)| {
                Some(Copied {
                    from: FieldPath::parse(row.cloudtrail).ok()?,
                    to: slot(to),
                    when: row.when,
                })
            })
            .collect();
        let account = slot("cloud.account.id");
        let derived = DERIVED.map(slot);
        Fields {
            rows,
            shape,
            account,
            derived,
        }
    })
}

/// The ECS fields of the source event, as a nested object.
pub fn source_fields(record: &Value) -> Value {
    let fields = fields();
    let session = is_session(record);
    let mut values = fields.shape.values();
    for row in fields.rows.iter().filter(|r| applies(r.when, session)) {
        if let Some(value) = row.from.first(record) {
            values.set(row.to, value.clone());
        }
    }
    if !values.has(fields.account) {
        if let Some(account) = first_value(record, "recipientAccountId") {
            values.set(fields.account, account.clone());
        }
    }
    let [ip_slot, provider_slot, outcome_slot] = fields.derived;
    if let Some(address) = first_value(record, "sourceIPAddress")
        .and_then(Value::as_str)
        .and_then(parse_ip)
    {
        values.set(ip_slot, json!(address.to_string()));
    }
    values.set(provider_slot, json!("aws"));
    values.set(outcome_slot, json!(outcome(record)));
    Value::Object(fields.shape.build(values))
}

/// Elastic's rule: `failure` when `errorCode` or `errorMessage` has a value.
fn outcome(record: &Value) -> &'static str {
    let failed = ["errorCode", "errorMessage"]
        .iter()
        .any(|f| first_value(record, f).is_some_and(|v| !is_nullish(v)));
    if failed {
        "failure"
    } else {
        "success"
    }
}

fn applies(when: When, session: bool) -> bool {
    match when {
        When::Always => true,
        When::Session => session,
        When::NotSession => !session,
    }
}

fn is_session(record: &Value) -> bool {
    let kind = first_value(record, "userIdentity.type").and_then(Value::as_str);
    matches!(kind, Some("AssumedRole" | "FederatedUser"))
        || first_value(record, "userIdentity.sessionContext.sessionIssuer").is_some()
}

/// The CloudTrail fields read besides the copied rows.
const READ: [&str; 6] = [
    "sourceIPAddress",
    "recipientAccountId",
    "errorCode",
    "errorMessage",
    "userIdentity.type",
    "userIdentity.sessionContext.sessionIssuer",
];

/// The first non-null value at `path` (one of [`READ`]), through arrays.
fn first_value<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    static PATHS: OnceLock<Vec<Option<FieldPath>>> = OnceLock::new();
    let paths = PATHS.get_or_init(|| READ.iter().map(|p| FieldPath::parse(p).ok()).collect());
    let at = READ.iter().position(|p| *p == path)?;
    paths.get(at)?.as_ref()?.first(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_user_event() {
        let record = json!({
            "eventName": "UpdateFunctionConfiguration20150331v2", "eventSource": "lambda.amazonaws.com",
            "eventID": "e1", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.5",
            "userAgent": "aws-cli/2", "recipientAccountId": "111122223333",
            "userIdentity": {"type": "IAMUser", "userName": "alice", "principalId": "AIDA1",
                "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333"}
        });
        let doc = source_fields(&record);
        assert_eq!(
            doc["event"]["action"],
            "UpdateFunctionConfiguration20150331v2"
        );
        assert_eq!(doc["event"]["outcome"], "success");
        assert_eq!(doc["user"]["name"], "alice");
        assert_eq!(doc["source"]["ip"], "203.0.113.5");
        assert_eq!(doc["cloud"]["account"]["id"], "111122223333");
        assert_eq!(doc["aws"]["cloudtrail"]["user_identity"]["type"], "IAMUser");
    }

    #[test]
    fn sso_session_and_failure() {
        let record = json!({
            "errorCode": "AccessDenied", "sourceIPAddress": "lambda.amazonaws.com",
            "recipientAccountId": "1",
            "userIdentity": {"type": "AssumedRole", "sessionContext": {"sessionIssuer": {"userName": "AWSReservedSSO_A_1"}}}
        });
        let doc = source_fields(&record);
        assert_eq!(doc["user"]["name"], "AWSReservedSSO_A_1");
        assert_eq!(doc["event"]["outcome"], "failure");
        assert_eq!(doc["source"]["address"], "lambda.amazonaws.com");
        assert!(doc["source"].get("ip").is_none());
        assert_eq!(doc["cloud"]["account"]["id"], "1");
    }

    #[test]
    fn empty_error_code_is_success() {
        assert_eq!(outcome(&json!({"errorCode": ""})), "success");
        assert_eq!(outcome(&json!({"errorMessage": "x"})), "failure");
    }
}
