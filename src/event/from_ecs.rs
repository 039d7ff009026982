//! ECS document → CloudTrail record: where each CloudTrail field lives in a document made by
//! Elastic's AWS integration (`logs-aws.cloudtrail-*`), used when a document carries no
//! `event.original`. The one table [`FIELDS`] drives the reconstruction, the list of `_source`
//! fields to fetch, and which CloudTrail values reach Elasticsearch unchanged.
//!
//! The Java-map strings in `aws.cloudtrail.request_parameters` / `response_elements` are never
//! parsed: when only they exist (no `flattened` copy), the subtree is reported as *unavailable*.

use serde_json::{Map, Value};
use std::ops::ControlFlow;

/// How a CloudTrail field is stored in the ECS document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Copied unchanged (string values appear verbatim in the document).
    Verbatim,
    /// Converted on the way in (dates normalised, strings parsed as booleans, keys renamed):
    /// the value is equivalent, not byte-identical.
    Converted,
    /// A whole object kept under a `flattened` field; the named keyword field holds its
    /// Java-map string, alongside the flattened copy or alone when that copy was not kept.
    Subtree(&'static str),
}

/// When a row applies, for the one ECS field that holds two different CloudTrail fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Always.
    Always,
    /// The identity is a session (assumed role or federated user): `user.name` holds the
    /// session issuer's name.
    Session,
    /// Any other identity: `user.name` holds `userIdentity.userName`.
    NotSession,
}

/// One row of the mapping: CloudTrail path, ECS paths (the first present wins), storage.
#[derive(Debug, Clone, Copy)]
pub struct FieldMap {
    /// Dotted CloudTrail path.
    pub cloudtrail: &'static str,
    /// ECS paths holding it, preferred first.
    pub ecs: &'static [&'static str],
    /// How the value is stored.
    pub storage: Storage,
    /// When the row applies.
    pub when: When,
}

const fn row(cloudtrail: &'static str, ecs: &'static [&'static str], storage: Storage) -> FieldMap {
    FieldMap {
        cloudtrail,
        ecs,
        storage,
        when: When::Always,
    }
}

use Storage::{Converted, Subtree, Verbatim};

const UI_TYPE: &str = "aws.cloudtrail.user_identity.type";
const UI_ISSUER: &str = "aws.cloudtrail.user_identity.session_context.session_issuer";
const UI_ISSUER_ARN: &str = "aws.cloudtrail.user_identity.session_context.session_issuer.arn";

/// Every CloudTrail field Elastic's integration keeps, and where (see
/// `shared/docs/cloudtrail-in-elastic.md` §1.2). `resources` is handled apart ([`RESOURCES`]).
pub const FIELDS: &[FieldMap] = &[
    row("eventTime", &["@timestamp"], Converted),
    row("eventVersion", &["aws.cloudtrail.event_version"], Verbatim),
    row("eventSource", &["event.provider"], Verbatim),
    row("eventName", &["event.action"], Verbatim),
    row(
        "eventCategory",
        &["aws.cloudtrail.event_category"],
        Verbatim,
    ),
    row("eventType", &["aws.cloudtrail.event_type"], Verbatim),
    row("eventID", &["event.id"], Verbatim),
    row("requestID", &["aws.cloudtrail.request_id"], Verbatim),
    row("apiVersion", &["aws.cloudtrail.api_version"], Verbatim),
    row("readOnly", &["aws.cloudtrail.read_only"], Converted),
    row(
        "managementEvent",
        &["aws.cloudtrail.management_event"],
        Converted,
    ),
    row("awsRegion", &["cloud.region"], Verbatim),
    row(
        "recipientAccountId",
        &["aws.cloudtrail.recipient_account_id"],
        Verbatim,
    ),
    row(
        "sourceIPAddress",
        &["source.address", "source.ip"],
        Verbatim,
    ),
    row("userAgent", &["user_agent.original"], Verbatim),
    row("errorCode", &["aws.cloudtrail.error_code"], Verbatim),
    row("errorMessage", &["aws.cloudtrail.error_message"], Verbatim),
    row(
        "sharedEventID",
        &["aws.cloudtrail.shared_event_id"],
        Verbatim,
    ),
    row(
        "vpcEndpointId",
        &["aws.cloudtrail.vpc_endpoint_id"],
        Verbatim,
    ),
    row(
        "userIdentity.type",
        &["aws.cloudtrail.user_identity.type"],
        Verbatim,
    ),
    row(
        "userIdentity.arn",
        &["aws.cloudtrail.user_identity.arn"],
        Verbatim,
    ),
    row("userIdentity.principalId", &["user.id"], Verbatim),
    row("userIdentity.accountId", &["cloud.account.id"], Verbatim),
    row(
        "userIdentity.accessKeyId",
        &["aws.cloudtrail.user_identity.access_key_id"],
        Verbatim,
    ),
    row(
        "userIdentity.invokedBy",
        &["aws.cloudtrail.user_identity.invoked_by"],
        Verbatim,
    ),
    FieldMap {
        cloudtrail: "userIdentity.userName",
        ecs: &["user.name"],
        storage: Verbatim,
        when: When::NotSession,
    },
    FieldMap {
        cloudtrail: "userIdentity.sessionContext.sessionIssuer.userName",
        ecs: &["user.name"],
        storage: Verbatim,
        when: When::Session,
    },
    row(
        "userIdentity.sessionContext.attributes.mfaAuthenticated",
        &["aws.cloudtrail.user_identity.session_context.mfa_authenticated"],
        Verbatim,
    ),
    row(
        "userIdentity.sessionContext.attributes.creationDate",
        &["aws.cloudtrail.user_identity.session_context.creation_date"],
        Converted,
    ),
    row(
        "userIdentity.sessionContext.sessionIssuer.type",
        &["aws.cloudtrail.user_identity.session_context.session_issuer.type"],
        Verbatim,
    ),
    row(
        "userIdentity.sessionContext.sessionIssuer.principalId",
        &["aws.cloudtrail.user_identity.session_context.session_issuer.principal_id"],
        Verbatim,
    ),
    row(
        "userIdentity.sessionContext.sessionIssuer.arn",
        &["aws.cloudtrail.user_identity.session_context.session_issuer.arn"],
        Verbatim,
    ),
    row(
        "userIdentity.sessionContext.sessionIssuer.accountId",
        &["aws.cloudtrail.user_identity.session_context.session_issuer.account_id"],
        Verbatim,
    ),
    row(
        "requestParameters",
        &["aws.cloudtrail.flattened.request_parameters"],
        Subtree("aws.cloudtrail.request_parameters"),
    ),
    row(
        "responseElements",
        &["aws.cloudtrail.flattened.response_elements"],
        Subtree("aws.cloudtrail.response_elements"),
    ),
    row(
        "additionalEventData",
        &["aws.cloudtrail.flattened.additional_eventdata"],
        Subtree("aws.cloudtrail.additional_eventdata"),
    ),
    row(
        "serviceEventDetails",
        &["aws.cloudtrail.flattened.service_event_details"],
        Subtree("aws.cloudtrail.service_event_details"),
    ),
    row("tlsDetails.cipherSuite", &["tls.cipher"], Verbatim),
    row(
        "tlsDetails.clientProvidedHostHeader",
        &["tls.client.server_name"],
        Verbatim,
    ),
];

/// The ECS field holding CloudTrail `resources[]` (`ARN`→`arn`, `accountId`→`account_id`).
pub const RESOURCES: &str = "aws.cloudtrail.resources";

/// A CloudTrail record rebuilt from an ECS document.
#[derive(Debug, Clone, PartialEq)]
pub struct Rebuilt {
    /// The record, with every field the document holds under its CloudTrail name.
    pub record: Value,
    /// CloudTrail subtrees present in the document only as unparseable Java-map strings.
    pub unavailable: Vec<&'static str>,
}

/// Rebuilds the CloudTrail record an ECS document was made from, as far as the document allows.
pub fn rebuild(doc: &Value) -> Rebuilt {
    let mut record = Map::new();
    let mut unavailable = Vec::new();
    let session = is_session(doc);
    for field in FIELDS {
        let applies = match field.when {
            When::Always => true,
            When::Session => session,
            When::NotSession => !session,
        };
        if !applies {
            continue;
        }
        match field.ecs.iter().find_map(|path| lookup(doc, path)) {
            Some(value) => insert(&mut record, field.cloudtrail, value.clone()),
            None => {
                if let Subtree(string_copy) = field.storage {
                    if lookup(doc, string_copy).is_some() {
                        unavailable.push(field.cloudtrail);
                    }
                }
            }
        }
    }
    if let Some(resources) = lookup(doc, RESOURCES) {
        record.insert("resources".into(), rename_resources(resources));
    }
    if session && !record_has_issuer_name(&record) {
        if let Some(name) = issuer_name_from_arn(doc) {
            insert(
                &mut record,
                "userIdentity.sessionContext.sessionIssuer.userName",
                Value::String(name),
            );
        }
    }
    Rebuilt {
        record: Value::Object(record),
        unavailable,
    }
}

/// Whether `user.name` holds the session issuer: the identity is an assumed role or federated
/// user, or (older pipelines, which renamed unconditionally) a session issuer is recorded.
fn is_session(doc: &Value) -> bool {
    let kind = lookup(doc, UI_TYPE).and_then(Value::as_str);
    matches!(kind, Some("AssumedRole" | "FederatedUser")) || lookup(doc, UI_ISSUER).is_some()
}

fn record_has_issuer_name(record: &Map<String, Value>) -> bool {
    record
        .get("userIdentity")
        .and_then(|u| u.get("sessionContext"))
        .and_then(|s| s.get("sessionIssuer"))
        .and_then(|i| i.get("userName"))
        .is_some()
}

/// The role name is the last segment of the issuer ARN (`arn:aws:iam::1:role/path/Name`).
fn issuer_name_from_arn(doc: &Value) -> Option<String> {
    let arn = lookup(doc, UI_ISSUER_ARN)?.as_str()?;
    let (_, resource) = arn.rsplit_once(':')?;
    let name = resource.rsplit('/').next()?;
    (!name.is_empty() && resource.contains('/')).then(|| name.to_string())
}

fn rename_resources(resources: &Value) -> Value {
    let rename = |item: &Value| match item {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k.as_str() {
                        "arn" => "ARN",
                        "account_id" => "accountId",
                        other => other,
                    };
                    (key.to_string(), v.clone())
                })
                .collect(),
        ),
        other => other.clone(),
    };
    match resources {
        Value::Array(items) => Value::Array(items.iter().map(rename).collect()),
        single => Value::Array(vec![rename(single)]),
    }
}

/// Looks a dotted ECS path up in `_source`, which may nest objects (`{"event":{"action":…}}`),
/// use dotted keys (`{"event.action":…}`), or mix both. `null` counts as absent.
pub fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let map = doc.as_object()?;
    if let Some(value) = map.get(path) {
        return (!value.is_null()).then_some(value);
    }
    map.iter().find_map(|(key, value)| {
        let rest = path.strip_prefix(key.as_str())?.strip_prefix('.')?;
        lookup(value, rest)
    })
}

/// A dotted field path of an ECS document (`cloud.account.id`, `source.as.organization.name`),
/// as rules read it with `ecs(…)`: segments of letters, digits, `_`, `-` and `@`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsPath {
    text: String,
    /// A field of the direct view ([`super::direct`]).
    direct: bool,
}

impl EcsPath {
    /// Validates a dotted ECS path.
    pub fn parse(text: &str) -> Result<EcsPath, String> {
        let valid_segment = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-@".contains(c))
        };
        match text.split('.').all(valid_segment) {
            true => Ok(EcsPath {
                text: text.to_string(),
                direct: super::direct::is_direct_field(text),
            }),
            false => Err(format!("`{text}` is not a dotted ECS field path")),
        }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the direct view of a raw record holds this field as the full ECS view does
    /// ([`super::direct::is_direct_field`]).
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// Calls `f` with every non-null value the path reaches in an ECS document, whose objects
    /// may nest (`{"cloud":{"account":…}}`) or use dotted keys (`{"cloud.account.id":…}`), and
    /// fanning out through arrays met on the way (`aws.cloudtrail.resources.arn`). A value at
    /// the end of the path is passed as is (arrays included), as for CloudTrail paths.
    pub fn visit<'a, B>(
        &self,
        doc: &'a Value,
        f: &mut dyn FnMut(&'a Value) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        visit_dotted(doc, &self.text, f)
    }
}

fn visit_dotted<'a, B>(
    value: &'a Value,
    path: &str,
    f: &mut dyn FnMut(&'a Value) -> ControlFlow<B>,
) -> ControlFlow<B> {
    match value {
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| visit_dotted(item, path, f)),
        Value::Object(map) => {
            if let Some(v) = map.get(path).filter(|v| !v.is_null()) {
                f(v)?;
            }
            map.iter().try_for_each(|(key, child)| {
                match path
                    .strip_prefix(key.as_str())
                    .and_then(|r| r.strip_prefix('.'))
                {
                    Some(rest) => visit_dotted(child, rest, f),
                    None => ControlFlow::Continue(()),
                }
            })
        }
        _ => ControlFlow::Continue(()),
    }
}

fn insert(record: &mut Map<String, Value>, path: &str, value: Value) {
    let mut keys = path.split('.').peekable();
    let mut map = record;
    while let Some(key) = keys.next() {
        if keys.peek().is_none() {
            map.insert(key.to_string(), value);
            return;
        }
        let slot = map
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        map = slot.as_object_mut().expect("just made an object");
    }
}

/// What a search must fetch so that [`rebuild`] can serve some CloudTrail paths.
#[derive(Debug, Clone, Default)]
pub struct FetchPlan {
    /// `_source` fields: the ECS fields holding the paths (for subtrees, just the needed part
    /// of the flattened copy).
    pub fields: Vec<String>,
    /// Some path has no ECS home: only `event.original` holds it.
    pub original: bool,
    /// The subtree rows involved: a document holding one of them only as its Java-map string
    /// cannot serve the paths under it (see [`unreadable_query`]).
    pub subtrees: Vec<&'static FieldMap>,
}

impl FetchPlan {
    fn push(&mut self, field: &str) {
        if !self.fields.iter().any(|f| f == field) {
            self.fields.push(field.to_string());
        }
    }

    /// Also fetches these ECS fields (those a rule reads with `ecs(…)`).
    pub fn add_fields(&mut self, fields: impl IntoIterator<Item = String>) {
        fields.into_iter().for_each(|f| self.push(&f));
    }
}

/// The fetch plan for `cloudtrail_paths`.
pub fn fetch_plan<'a>(cloudtrail_paths: impl IntoIterator<Item = &'a str>) -> FetchPlan {
    let mut plan = FetchPlan::default();
    for path in cloudtrail_paths {
        if overlaps("resources", path) {
            plan.push(RESOURCES);
            continue;
        }
        let rows: Vec<&'static FieldMap> = FIELDS
            .iter()
            .filter(|f| overlaps(f.cloudtrail, path))
            .collect();
        if rows.is_empty() {
            plan.original = true;
        }
        for row in rows {
            match row.storage {
                Subtree(_) => {
                    let rest = path.get(row.cloudtrail.len()..).unwrap_or("");
                    plan.push(&format!("{}{rest}", row.ecs[0]));
                    if !plan.subtrees.iter().any(|r| std::ptr::eq(*r, row)) {
                        plan.subtrees.push(row);
                    }
                }
                _ => row.ecs.iter().for_each(|e| plan.push(e)),
            }
            if row.when != When::Always {
                plan.push(UI_TYPE);
                plan.push(UI_ISSUER);
            }
        }
    }
    plan
}

/// The name [`unreadable_query`] gives its clause for a subtree row.
pub fn unreadable_name(row: &FieldMap) -> String {
    format!("eshunt-unreadable:{}", row.cloudtrail)
}

/// A query (named with [`unreadable_name`]) matching documents that hold a subtree only as its
/// Java-map string: the string exists (its keyword, or its `.text` sub-field when longer than
/// the keyword's `ignore_above`) and the flattened copy does not. Added as an optional clause
/// to a search, it tells per hit — through `matched_queries` — which subtrees are unreadable,
/// without fetching the strings.
pub fn unreadable_query(row: &FieldMap) -> Option<Value> {
    let Subtree(string_copy) = row.storage else {
        return None;
    };
    Some(serde_json::json!({"bool": {
        "filter": [{"bool": {
            "should": [
                {"exists": {"field": string_copy}},
                {"exists": {"field": format!("{string_copy}.text")}},
            ],
            "minimum_should_match": 1,
        }}],
        "must_not": [{"exists": {"field": row.ecs[0]}}],
        "_name": unreadable_name(row),
    }}))
}

/// True when one dotted path is a prefix of the other (case-insensitively, at a segment boundary).
fn overlaps(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long.get(..short.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(short))
        && (long.len() == short.len() || long.as_bytes()[short.len()] == b'.')
}

/// True when the ECS field holds a CloudTrail string value unchanged (a verbatim row, or a leaf
/// under a flattened copy of a subtree), so the value also appears in the raw record's text.
pub fn is_verbatim_ecs_field(ecs_path: &str) -> bool {
    FIELDS.iter().any(|f| match f.storage {
        Verbatim => f.ecs.contains(&ecs_path),
        Subtree(_) => f.ecs.iter().any(|root| {
            ecs_path
                .strip_prefix(root)
                .is_some_and(|rest| rest.starts_with('.'))
        }),
        Converted => false,
    })
}

/// How the CloudTrail field at `path` is stored in ECS, `None` when Elastic's integration does
/// not keep it (then a rule needing it can only be served by `event.original`).
pub fn storage_of(path: &str) -> Option<Storage> {
    if overlaps("resources", path) {
        return Some(Converted);
    }
    FIELDS
        .iter()
        .filter(|f| overlaps(f.cloudtrail, path))
        .map(|f| f.storage)
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_handles_nested_dotted_and_mixed_keys() {
        let doc = json!({"event": {"action": "A"}, "user.name": "u", "aws": {"cloudtrail.user_identity": {"type": "T"}}});
        assert_eq!(lookup(&doc, "event.action"), Some(&json!("A")));
        assert_eq!(lookup(&doc, "user.name"), Some(&json!("u")));
        assert_eq!(
            lookup(&doc, "aws.cloudtrail.user_identity.type"),
            Some(&json!("T"))
        );
        assert_eq!(lookup(&doc, "event.missing"), None);
    }

    #[test]
    fn paths_overlap_at_segment_boundaries_whatever_the_characters() {
        assert!(overlaps("responseElements", "responseElements.layers"));
        assert!(overlaps("userIdentity.Type", "useridentity.type"));
        assert!(!overlaps("eventName", "eventNameX"));
        // A multi-byte character where the shorter path ends must not panic.
        assert!(!overlaps("resources", "resourceé.arn"));
        assert!(!overlaps("é", "ab"));
        assert_eq!(storage_of("requestParameteré.x"), None);
    }

    #[test]
    fn rebuilds_an_sso_session_and_response_elements() {
        let doc = json!({
            "@timestamp": "2026-03-14T10:00:00.000Z",
            "event": {"action": "UpdateFunctionConfiguration20150331v2", "provider": "lambda.amazonaws.com", "id": "e1"},
            "user": {"name": "AWSReservedSSO_Admin_abc", "id": "AROA1:alice"},
            "aws": {"cloudtrail": {
                "user_identity": {"type": "AssumedRole", "session_context": {"session_issuer": {"type": "Role"}}},
                "flattened": {"response_elements": {"layers": [{"arn": "arn:1"}]}},
                "response_elements": "{layers=[{arn=arn:1}]}"
            }}
        });
        let rebuilt = rebuild(&doc);
        assert!(rebuilt.unavailable.is_empty());
        let r = &rebuilt.record;
        assert_eq!(r["eventName"], "UpdateFunctionConfiguration20150331v2");
        assert_eq!(
            r["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"],
            "AWSReservedSSO_Admin_abc"
        );
        assert!(r["userIdentity"].get("userName").is_none());
        assert_eq!(r["userIdentity"]["principalId"], "AROA1:alice");
        assert_eq!(r["responseElements"]["layers"][0]["arn"], "arn:1");
    }

    #[test]
    fn iam_user_name_goes_to_user_name() {
        let doc = json!({"user": {"name": "bob"}, "aws": {"cloudtrail": {"user_identity": {"type": "IAMUser"}}}});
        let r = rebuild(&doc).record;
        assert_eq!(r["userIdentity"]["userName"], "bob");
    }

    #[test]
    fn string_only_subtree_is_unavailable() {
        let doc = json!({"aws": {"cloudtrail": {"response_elements": "{layers=[{arn=x}]}"}}});
        assert_eq!(rebuild(&doc).unavailable, vec!["responseElements"]);
    }

    #[test]
    fn issuer_name_falls_back_to_arn() {
        let doc = json!({"aws": {"cloudtrail": {"user_identity": {"type": "AssumedRole",
            "session_context": {"session_issuer": {"arn": "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_X_1"}}}}}});
        let r = rebuild(&doc).record;
        assert_eq!(
            r["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"],
            "AWSReservedSSO_X_1"
        );
    }

    #[test]
    fn resources_are_renamed_back() {
        let doc = json!({"aws": {"cloudtrail": {"resources": [{"arn": "a", "account_id": "1", "type": "t"}]}}});
        assert_eq!(
            rebuild(&doc).record["resources"],
            json!([{"ARN": "a", "accountId": "1", "type": "t"}])
        );
    }

    #[test]
    fn fetch_plans_name_fields_subpaths_and_subtrees() {
        let plan = fetch_plan([
            "responseElements.layers",
            "eventName",
            "userIdentity.sessionContext.sessionIssuer.userName",
        ]);
        for f in [
            "aws.cloudtrail.flattened.response_elements.layers",
            "event.action",
            "user.name",
            UI_TYPE,
        ] {
            assert!(
                plan.fields.iter().any(|x| x == f),
                "missing {f} in {plan:?}"
            );
        }
        assert!(
            !plan
                .fields
                .iter()
                .any(|x| x == "aws.cloudtrail.response_elements"),
            "strings are never fetched"
        );
        assert!(!plan.original);
        assert_eq!(plan.subtrees.len(), 1);
        assert_eq!(
            unreadable_name(plan.subtrees[0]),
            "eshunt-unreadable:responseElements"
        );
        assert!(
            fetch_plan(["sourceIdentity"]).original,
            "no ECS home: event.original"
        );
        assert!(unreadable_query(plan.subtrees[0]).is_some());
    }

    #[test]
    fn verbatim_ecs_fields() {
        assert!(is_verbatim_ecs_field("event.provider"));
        assert!(is_verbatim_ecs_field("user.name"));
        assert!(is_verbatim_ecs_field(
            "aws.cloudtrail.flattened.response_elements.layers.arn"
        ));
        assert!(!is_verbatim_ecs_field(
            "aws.cloudtrail.flattened.response_elements"
        ));
        assert!(!is_verbatim_ecs_field("event.outcome"));
        assert!(!is_verbatim_ecs_field("data_stream.dataset"));
        assert!(!is_verbatim_ecs_field("@timestamp"));
    }

    #[test]
    fn storage_is_known_per_path() {
        assert_eq!(storage_of("eventName"), Some(Verbatim));
        assert_eq!(
            storage_of("responseElements.layers.arn"),
            Some(Subtree("aws.cloudtrail.response_elements"))
        );
        assert_eq!(storage_of("eventTime"), Some(Converted));
        assert_eq!(storage_of("insightDetails"), None);
    }
}
