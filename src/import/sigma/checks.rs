//! Upstream rule bugs worth a warning, found by general checks of each field test against what
//! CloudTrail records hold: a field no record has, a literal that names a CloudTrail field
//! (a field reference was meant), a field reference comparing an ARN with a name, and a value
//! a field never takes (`errorCode: Success`: CloudTrail writes `errorCode` only on failure).

use super::detection::{Kind, Node, Position, Test};
use super::value::Shape;

/// Top-level fields of CloudTrail records (CloudTrail record contents reference).
const RECORD: &[&str] = &[
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "eventType",
    "apiVersion",
    "managementEvent",
    "readOnly",
    "resources",
    "recipientAccountId",
    "serviceEventDetails",
    "sharedEventID",
    "vpcEndpointId",
    "vpcEndpointAccountId",
    "eventCategory",
    "addendum",
    "sessionCredentialFromConsole",
    "edgeDeviceDetails",
    "tlsDetails",
    "insightDetails",
];

/// Fields whose content varies by API or service: any path below them may exist.
const OPEN: &[&str] = &[
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
    "addendum",
    "edgeDeviceDetails",
    "insightDetails",
    "userIdentity.sessionContext",
    "userIdentity.onBehalfOf",
    "userIdentity.inScopeOf",
];

/// Fixed sub-fields of the other objects.
const NESTED: &[&str] = &[
    "userIdentity.type",
    "userIdentity.principalId",
    "userIdentity.arn",
    "userIdentity.accountId",
    "userIdentity.accessKeyId",
    "userIdentity.userName",
    "userIdentity.invokedBy",
    "userIdentity.identityProvider",
    "userIdentity.credentialId",
    "resources.ARN",
    "resources.accountId",
    "resources.type",
    "tlsDetails.tlsVersion",
    "tlsDetails.cipherSuite",
    "tlsDetails.clientProvidedHostHeader",
];

/// Fields with a closed set of values.
const VALUES: &[(&str, &[&str])] = &[
    (
        "userIdentity.type",
        &[
            "Root",
            "IAMUser",
            "AssumedRole",
            "Role",
            "FederatedUser",
            "Directory",
            "AWSAccount",
            "AWSService",
            "IdentityCenterUser",
            "SAMLUser",
            "WebIdentityUser",
            "Unknown",
        ],
    ),
    (
        "eventType",
        &[
            "AwsApiCall",
            "AwsServiceEvent",
            "AwsConsoleAction",
            "AwsConsoleSignIn",
            "AwsCloudTrailInsight",
            "AwsVpceEvent",
        ],
    ),
];

/// Words meaning success: `errorCode` never holds them, CloudTrail leaves it out on success.
const SUCCESS: &[&str] = &["success", "succeeded", "successful", "ok"];

/// Warnings about the detection's tests, one per problem, in order.
pub fn warnings(node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    walk(node, &mut |test| {
        for warning in check(test) {
            if !out.contains(&warning) {
                out.push(warning);
            }
        }
    });
    out
}

fn walk(node: &Node, f: &mut dyn FnMut(&Test)) {
    match node {
        Node::And(items) | Node::Or(items) => items.iter().for_each(|n| walk(n, f)),
        Node::Not(inner) => walk(inner, f),
        Node::Test(test) => f(test),
    }
}

fn check(test: &Test) -> Vec<String> {
    let mut out = Vec::new();
    let written = &test.written;
    if !is_record_field(&test.field) {
        out.push(format!(
            "`{written}`: CloudTrail records have no field `{}`, so this test never holds",
            test.field
        ));
    }
    let literal = match &test.kind {
        Kind::Pattern { pieces, .. } => match pieces.shape() {
            Shape::Exact(s) | Shape::Contains(s) | Shape::StartsWith(s) | Shape::EndsWith(s) => {
                Some(s)
            }
            _ => None,
        },
        Kind::Typed { text, .. } => Some(text.clone()),
        _ => None,
    };
    if let Some(value) = &literal {
        out.extend(literal_warnings(test, value));
    }
    if let Kind::FieldRef {
        other,
        how: Position::Whole,
        ..
    } = &test.kind
    {
        if let (Some(a), Some(b)) = (value_kind(&test.field), value_kind(other)) {
            if a != b {
                out.push(format!(
                    "`{written}`: `{}` holds {a}s and `{other}` {b}s, which are never equal: \
                     this comparison never holds",
                    test.field
                ));
            }
        }
    }
    out
}

/// Warnings about a literal value.
fn literal_warnings(test: &Test, value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let written = &test.written;
    if looks_like_field(value) {
        out.push(format!(
            "`{written}` compares with the literal text `{value}`, which names a CloudTrail \
             field: a field reference (`|fieldref`) was probably meant"
        ));
    }
    let exact = matches!(&test.kind, Kind::Pattern { pieces, .. } if pieces.is_literal())
        || matches!(test.kind, Kind::Typed { .. });
    if !exact {
        return out;
    }
    if test.field.eq_ignore_ascii_case("errorCode")
        && SUCCESS.iter().any(|s| s.eq_ignore_ascii_case(value))
    {
        out.push(format!(
            "`{written}` never holds: CloudTrail writes `errorCode` only when a call fails"
        ));
    }
    let closed = VALUES
        .iter()
        .find(|(field, _)| field.eq_ignore_ascii_case(&test.field));
    if let Some((field, values)) = closed {
        if !values.iter().any(|v| v.eq_ignore_ascii_case(value)) {
            out.push(format!(
                "`{written}` never holds: `{field}` is one of {}",
                values.join(", ")
            ));
        }
    }
    out
}

/// Whether CloudTrail records can have this field.
fn is_record_field(path: &str) -> bool {
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let under = |prefix: &str| {
        path.len() > prefix.len()
            && eq(&path[..prefix.len()], prefix)
            && path.as_bytes()[prefix.len()] == b'.'
    };
    let top = path.split('.').next().unwrap_or(path);
    let known_top = RECORD.iter().any(|f| eq(f, top));
    match path.contains('.') {
        false => known_top,
        true => {
            NESTED.iter().any(|f| eq(f, path))
                || OPEN
                    .iter()
                    .any(|f| eq(f, path) || (path.is_char_boundary(f.len()) && under(f)))
        }
    }
}

/// A dotted path starting with a CloudTrail record field (`responseElements.accessKey.userName`).
fn looks_like_field(value: &str) -> bool {
    let mut segments = value.split('.');
    let top = segments.next().unwrap_or_default();
    let rest: Vec<&str> = segments.collect();
    RECORD.contains(&top)
        && !rest.is_empty()
        && rest
            .iter()
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// What a field holds, judged by its name: ARNs (`…Arn`, `arn`) or names (`…Name`).
fn value_kind(path: &str) -> Option<&'static str> {
    let last = path.rsplit('.').next().unwrap_or(path).to_ascii_lowercase();
    match () {
        _ if last.ends_with("arn") => Some("ARN"),
        _ if last.ends_with("name") => Some("name"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_fields() {
        assert!(is_record_field("eventName"));
        assert!(is_record_field("requestParameters.layers"));
        assert!(is_record_field(
            "userIdentity.sessionContext.sessionIssuer.type"
        ));
        assert!(is_record_field("userIdentity.arn"));
        assert!(is_record_field("responseElements"));
        assert!(!is_record_field("status"));
        assert!(!is_record_field("eventName.x"));
        assert!(!is_record_field("userIdentity.bogus"));
    }

    #[test]
    fn field_like_literals_and_value_kinds() {
        assert!(looks_like_field("responseElements.accessKey.userName"));
        assert!(!looks_like_field("iam.amazonaws.com"));
        assert!(!looks_like_field("userIdentity"));
        assert_eq!(value_kind("userIdentity.arn"), Some("ARN"));
        assert_eq!(value_kind("requestParameters.userName"), Some("name"));
        assert_eq!(value_kind("requestParameters.roleArn"), Some("ARN"));
        assert_eq!(value_kind("eventSource"), None);
    }
}
