//! Raw CloudTrail record → ECS document, the way Elastic's AWS integration maps it.
//!
//! This module owns one job: given one raw CloudTrail record (the camelCase JSON object AWS
//! writes into trail files), produce the `_source` that the Elastic AWS integration's
//! `logs-aws.cloudtrail-*` ingest pipeline would store for it. It is used to build test data
//! for the Elasticsearch path (so rules can be checked on both representations of the same
//! event) and to reason about where each CloudTrail field ends up.
//!
//! The mapping follows `shared/docs/cloudtrail-in-elastic.md` (the pipeline `default.yml`, its
//! test fixtures and a transpilation of the newest version). The points that matter most:
//!
//! * **Empty values are removed first.** Before anything is copied, `null`, `""` and maps or
//!   lists that become empty are removed recursively (the [`PipelineGeneration::Current`]
//!   pipeline also drops the strings `"-"` and `"none"`). So `"layers": []` or
//!   `"errorCode": ""` vanish from every representation, and `errorCode: ""` yields
//!   `event.outcome: success`.
//! * **Two copies of the big objects.** `requestParameters`, `responseElements`,
//!   `additionalEventData` and `serviceEventDetails` become a *string* (Java `Map.toString()`,
//!   see [`java_map_string`]) under `aws.cloudtrail.<name>` and, when that string is shorter
//!   than 32766 UTF-16 units, an *object* under `aws.cloudtrail.flattened.<name>`. Which copies
//!   exist also depends on the integration's "retain" setting ([`Retain`]).
//! * **`sessionIssuer.userName` becomes `user.name`.** There is no `session_issuer.user_name`
//!   field. The legacy pipeline moves it for every identity type, the current one only for
//!   `AssumedRole` and `FederatedUser` ([`PipelineGeneration`]). An existing `user.name` is
//!   never overwritten (the ingest `rename` processor refuses to).
//! * **`event.original`** exists only when "preserve original event" is on, **`event.ingested`**
//!   only when the Fleet final pipeline ran (here: when [`ToEcsOptions::ingested`] is given).
//!
//! Not reproduced: GeoIP (`source.geo`, `source.as`), user-agent parsing (`user_agent.name`,
//! `.version`, `.os`, `.device`), the agent's `event.created`, the optional
//! `actor_target_mapping` entity fields (`related.entity`, `*.entity.id`), and CloudTrail
//! digest files (they are not events).
//!
//! Deliberate simplifications, each harmless for querying: an empty `aws.cloudtrail.flattened`
//! container is not emitted (the legacy pipeline leaves `{}`); a `user.name` that already
//! exists is kept where the newest pipeline's `rename` would fail the whole document;
//! `readOnly: "true"`/`"false"` strings are written as booleans (the mapped type); timestamps
//! with a space instead of `T` are accepted. The newest pipeline's `IdentityCenterUser`
//! `onBehalfOf.userId` → `user.id` step (seen only in the transpilation, absent from the
//! fixture) is not applied.
//!
//! `tests/to_ecs_expected.rs` compares the output field by field with Elastic's expected
//! documents in the shared corpus.
//!
//! The function never panics: any JSON value is accepted and odd shapes (a string
//! `userIdentity`, numbers where strings are expected, …) are carried over the way the ingest
//! processors would carry them, or skipped where those would fail.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::path::set_dotted;
use crate::time;
use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use serde_json::{Map, Value};

/// Fields Elastic's ingest pipeline adds that [`to_ecs`] does not reproduce (GeoIP and
/// user-agent parsing, see above): a raw record's ECS view never has them.
const NOT_REPRODUCED: [&str; 6] = [
    "source.geo",
    "source.as",
    "user_agent.name",
    "user_agent.version",
    "user_agent.os",
    "user_agent.device",
];

/// True when the ECS field is one the ingest pipeline adds by enrichment (GeoIP, user-agent
/// parsing), which only documents indexed by Elastic's integration hold.
pub fn is_added_at_ingest(field: &str) -> bool {
    NOT_REPRODUCED.iter().any(|root| {
        field
            .strip_prefix(root)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

/// The ECS version the integration writes into `ecs.version`.
pub const ECS_VERSION: &str = "8.11.0";

/// `data_stream.dataset` and `event.dataset` of CloudTrail documents.
pub const DATASET: &str = "aws.cloudtrail";

/// The flattened copy of a large object is kept only if its string form is shorter than this
/// many UTF-16 code units (Lucene's keyword term limit; checked by the pipeline's script).
pub const FLATTENED_MAX_CHARS: usize = 32766;

/// The `aws.cloudtrail.flattened.*` leaves kept with [`Retain::Minimal`] (the pipeline's fixed
/// allowlist; Lambda `layers` is not on it).
pub const MINIMAL_FLATTENED_FIELDS: &[(&str, &str)] = &[
    ("additional_eventdata", "SSEApplied"),
    ("request_parameters", "cidrIp"),
    ("request_parameters", "dryRun"),
    ("request_parameters", "fromPort"),
    ("request_parameters", "includeDeprecated"),
    ("request_parameters", "policyArn"),
    ("request_parameters", "serialNumber"),
    ("request_parameters", "withDecryption"),
    (
        "request_parameters",
        "x-amz-server-side-encryption-customer-algorithm",
    ),
];

/// Options for [`to_ecs`]: the integration settings and pipeline version being emulated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToEcsOptions {
    /// The integration's "Preserve original event" setting: when true the raw record,
    /// serialised as compact JSON, is kept in `event.original` (and the document carries the
    /// tag `preserve_original_event`). The integration default is `false`.
    pub preserve_original: bool,
    /// The integration's "retain" setting: which copies of the large objects are kept.
    pub retain: Retain,
    /// Which generation of the ingest pipeline to emulate.
    pub generation: PipelineGeneration,
    /// The ingest time written by the Fleet final pipeline into `event.ingested`, truncated to
    /// whole seconds. `None` leaves `event.ingested` unset.
    pub ingested: Option<DateTime<Utc>>,
    /// The data stream namespace (`logs-aws.cloudtrail-<namespace>`), written to
    /// `data_stream.namespace`.
    pub namespace: String,
}

impl Default for ToEcsOptions {
    /// The integration defaults: no `event.original`, [`Retain::All`], the newest pipeline,
    /// no `event.ingested`, namespace `default`.
    fn default() -> Self {
        ToEcsOptions {
            preserve_original: false,
            retain: Retain::All,
            generation: PipelineGeneration::Current,
            ingested: None,
            namespace: "default".to_string(),
        }
    }
}

/// The integration's "retain" option (elastic/integrations#14236): which of the string and
/// flattened copies of `requestParameters`, `responseElements`, `additionalEventData` and
/// `serviceEventDetails` a deployment keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retain {
    /// Keep both copies: the strings and (below the size limit) the flattened objects.
    /// This is also what pipelines older than the option do.
    #[default]
    All,
    /// Keep the flattened objects; remove the string copies of `request_parameters`,
    /// `response_elements` and `additional_eventdata` (the pipeline keeps the
    /// `service_event_details` string).
    Flattened,
    /// Keep the strings only; no `aws.cloudtrail.flattened.*`.
    Keyword,
    /// Keep the strings and only the allowlisted flattened leaves
    /// ([`MINIMAL_FLATTENED_FIELDS`]).
    Minimal,
}

/// Which version of the CloudTrail ingest pipeline to emulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PipelineGeneration {
    /// Older pipelines (package 2.x, e.g. `default.yml` @ `0046748f`): `sessionIssuer.userName`
    /// goes to `user.name` for every identity type; `related.user` holds only user names;
    /// only `null`/`""` are treated as empty.
    Legacy,
    /// The newest pipeline (elastic/integrations#20403 and backports): `sessionIssuer.userName`
    /// goes to `user.name` only for `AssumedRole`/`FederatedUser`; adds `cloud.provider`,
    /// `cloud.service.name`, `user.email`, `related.ip`, the session name and `user.id` in
    /// `related.user`; also treats `"-"`/`"none"` as empty; drops empty values at the end.
    #[default]
    Current,
}

/// Maps one raw CloudTrail record to the ECS document the Elastic AWS integration stores.
///
/// `record` should be a CloudTrail record object; any other value yields a document with
/// only the constant fields (and `event.original` if asked for). See the module docs for what
/// is and is not reproduced.
pub fn to_ecs(record: &Value, opts: &ToEcsOptions) -> Value {
    let gen = opts.generation;
    let mut doc = Map::new();

    // `date` processor on the raw eventTime (runs before the empty-value cleanup).
    if let Some(ts) = record
        .get("eventTime")
        .and_then(Value::as_str)
        .and_then(time::parse_timestamp)
    {
        set_dotted(&mut doc, "@timestamp", Value::String(time::format(ts)));
    }

    let json = match prune(record, gen) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut related_user: Vec<String> = Vec::new();

    set_dotted(&mut doc, "ecs.version", Value::from(ECS_VERSION));
    copy(
        &mut doc,
        &json,
        &["eventVersion"],
        "aws.cloudtrail.event_version",
    );
    map_identity(&mut doc, &json, gen, &mut related_user);
    if gen == PipelineGeneration::Current {
        copy(
            &mut doc,
            &json,
            &["sessionCredentialFromConsole"],
            "aws.cloudtrail.session_credential_from_console",
        );
    }
    copy(&mut doc, &json, &["eventSource"], "event.provider");
    if let Some(v) = json.get("eventName") {
        let action = template(v);
        if !action.is_empty() {
            set_dotted(&mut doc, "event.action", Value::String(action));
        }
    }
    copy(
        &mut doc,
        &json,
        &["eventCategory"],
        "aws.cloudtrail.event_category",
    );

    // Newest pipeline: the Identity Center user name moves out of additionalEventData.
    let mut moved_user_name = false;
    if gen == PipelineGeneration::Current
        && get_str(&doc, "event.action") == Some("UserAuthentication")
        && get(&doc, "user.name").is_none()
    {
        if let Some(v) = get_path(&json, &["additionalEventData", "UserName"]) {
            set_dotted(&mut doc, "user.name", v.clone());
            moved_user_name = true;
        }
    }

    copy(&mut doc, &json, &["awsRegion"], "cloud.region");
    if let Some(addr) = json.get("sourceIPAddress") {
        set_dotted(&mut doc, "source.address", addr.clone());
        if let Some(s) = addr.as_str() {
            if s.parse::<std::net::IpAddr>().is_ok() {
                set_dotted(&mut doc, "source.ip", Value::from(s));
            }
        }
    }
    copy(&mut doc, &json, &["userAgent"], "user_agent.original");
    copy(&mut doc, &json, &["errorCode"], "aws.cloudtrail.error_code");
    copy(
        &mut doc,
        &json,
        &["errorMessage"],
        "aws.cloudtrail.error_message",
    );

    map_large_objects(&mut doc, record, &json, opts, moved_user_name);

    copy(&mut doc, &json, &["requestID"], "aws.cloudtrail.request_id");
    copy(&mut doc, &json, &["eventID"], "event.id");
    copy(&mut doc, &json, &["eventType"], "aws.cloudtrail.event_type");
    copy(
        &mut doc,
        &json,
        &["apiVersion"],
        "aws.cloudtrail.api_version",
    );
    if let Some(v) = json.get("managementEvent") {
        let v = match gen {
            PipelineGeneration::Current => Value::String(template(v)),
            PipelineGeneration::Legacy => v.clone(),
        };
        set_dotted(&mut doc, "aws.cloudtrail.management_event", v);
    }
    if let Some(v) = json.get("readOnly") {
        // Mapped `boolean`: Elasticsearch indexes "true"/"false" strings as booleans.
        let v = match v {
            Value::String(s) if s == "true" => Value::Bool(true),
            Value::String(s) if s == "false" => Value::Bool(false),
            other => other.clone(),
        };
        set_dotted(&mut doc, "aws.cloudtrail.read_only", v);
    }
    if let Some(resources) = json.get("resources") {
        set_dotted(
            &mut doc,
            "aws.cloudtrail.resources",
            dedup_resources(resources),
        );
    }
    copy(
        &mut doc,
        &json,
        &["recipientAccountId"],
        "aws.cloudtrail.recipient_account_id",
    );
    if get(&doc, "cloud.account.id").is_none() {
        if let Some(v) = json.get("recipientAccountId") {
            set_dotted(&mut doc, "cloud.account.id", v.clone());
        }
    }
    // The pipeline spells it `sharedEventId`; CloudTrail's `sharedEventID` is not mapped.
    copy(
        &mut doc,
        &json,
        &["sharedEventId"],
        "aws.cloudtrail.shared_event_id",
    );
    copy(
        &mut doc,
        &json,
        &["vpcEndpointId"],
        "aws.cloudtrail.vpc_endpoint_id",
    );

    // Where the later steps read request/response values from: the legacy pipeline reads
    // its own flattened copies (absent when not kept), the current one the parsed record.
    let source_of = |raw: &str, flat: &str| -> Option<Cow<'_, Value>> {
        match gen {
            PipelineGeneration::Current => json.get(raw).map(Cow::Borrowed),
            PipelineGeneration::Legacy => get(&doc, &format!("aws.cloudtrail.flattened.{flat}"))
                .map(|v| Cow::Owned(v.clone())),
        }
    };
    let req = source_of("requestParameters", "request_parameters");
    let resp = source_of("responseElements", "response_elements");
    let aed = source_of("additionalEventData", "additional_eventdata");

    for key in ["userName", "newUserName"] {
        if let Some(v) = req.as_ref().and_then(|r| r.get(key)) {
            push_unique(&mut related_user, template(v));
        }
    }
    if gen == PipelineGeneration::Current {
        if let Some(v) = get_path(&json, &["responseElements", "user", "userId"]) {
            push_unique(&mut related_user, template(v));
        }
    }

    if json.get("eventName").and_then(Value::as_str) == Some("ConsoleLogin") {
        let mut aed_map = Map::new();
        if let Some(v) = aed.as_ref().and_then(|a| a.get("MobileVersion")) {
            aed_map.insert(
                "mobile_version".into(),
                Value::Bool(v.as_str() != Some("No")),
            );
        }
        if let Some(v) = aed.as_ref().and_then(|a| a.get("LoginTo")) {
            aed_map.insert("login_to".into(), v.clone());
        }
        if let Some(v) = aed.as_ref().and_then(|a| a.get("MFAUsed")) {
            aed_map.insert("mfa_used".into(), Value::Bool(v.as_str() != Some("No")));
        }
        if !aed_map.is_empty() {
            set_dotted(
                &mut doc,
                "aws.cloudtrail.console_login.additional_eventdata",
                Value::Object(aed_map),
            );
        }
    }

    categorize(&mut doc, resp.as_deref(), gen);

    // Fields derived from well-known request/response keys.
    let derived: [(&Source, &[&str], &str); 5] = [
        (&resp, &["group", "groupId"], "group.id"),
        (&resp, &["user", "userId"], "user.target.id"),
        (&req, &["newUserName"], "user.changes.name"),
        (&req, &["groupName"], "group.name"),
        (&req, &["userName"], "user.target.name"),
    ];
    for (src, path, target) in derived {
        if let Some(v) = src.as_deref().and_then(|s| get_path_value(s, path)) {
            let v = match gen {
                PipelineGeneration::Legacy => Value::String(template(v)),
                PipelineGeneration::Current => v.clone(),
            };
            if !is_empty_value(&v) {
                set_dotted(&mut doc, target, v);
            }
        }
    }

    if let Some(v) = json.get("insightDetails") {
        if gen == PipelineGeneration::Legacy || keeps_flattened(opts.retain) {
            set_dotted(
                &mut doc,
                "aws.cloudtrail.flattened.insight_details",
                v.clone(),
            );
        }
    }

    map_tls(&mut doc, &json, gen);

    if gen == PipelineGeneration::Current {
        if get(&doc, "user.email").is_none() {
            if let Some(name) = get_str(&doc, "user.name") {
                if name.find('@').is_some_and(|i| i > 0) {
                    let name = name.to_string();
                    set_dotted(&mut doc, "user.email", Value::String(name));
                }
            }
        }
        for path in ["user.id", "user.name", "user.changes.name"] {
            if let Some(v) = get(&doc, path) {
                push_unique(&mut related_user, template(v));
            }
        }
        if let Some(ip) = get_str(&doc, "source.ip") {
            let ip = ip.to_string();
            set_dotted(
                &mut doc,
                "related.ip",
                Value::Array(vec![Value::String(ip)]),
            );
        }
        set_dotted(&mut doc, "cloud.provider", Value::from("aws"));
        if let Some(src) = get_str(&doc, "event.provider") {
            if let Some((service, _)) = src.split_once('.') {
                if !service.is_empty() {
                    let service = service.to_string();
                    set_dotted(&mut doc, "cloud.service.name", Value::String(service));
                }
            }
        }
    }
    related_user.retain(|u| !u.is_empty());
    if !related_user.is_empty() {
        let users = related_user.into_iter().map(Value::String).collect();
        set_dotted(&mut doc, "related.user", Value::Array(users));
    }

    apply_retain(&mut doc, opts.retain);

    // Constants added by the agent / integration, and the final pipelines.
    set_dotted(&mut doc, "data_stream.type", Value::from("logs"));
    set_dotted(&mut doc, "data_stream.dataset", Value::from(DATASET));
    set_dotted(
        &mut doc,
        "data_stream.namespace",
        Value::from(opts.namespace.as_str()),
    );
    set_dotted(&mut doc, "event.dataset", Value::from(DATASET));
    set_dotted(&mut doc, "event.module", Value::from("aws"));
    if opts.preserve_original {
        let original = serde_json::to_string(record).unwrap_or_default();
        set_dotted(&mut doc, "event.original", Value::String(original));
        set_dotted(
            &mut doc,
            "tags",
            Value::Array(vec![Value::from("preserve_original_event")]),
        );
    }
    if let Some(ingested) = opts.ingested {
        let secs = ingested.with_nanosecond(0).unwrap_or(ingested);
        let text = secs.to_rfc3339_opts(SecondsFormat::Secs, true);
        set_dotted(&mut doc, "event.ingested", Value::String(text));
    }

    // An empty flattened container is not worth keeping (the newest pipeline drops it too).
    if let Some(Value::Object(ct)) = doc.get_mut("aws").and_then(|a| a.get_mut("cloudtrail")) {
        if ct
            .get("flattened")
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            ct.remove("flattened");
        }
    }
    if gen == PipelineGeneration::Current {
        // The newest pipeline ends with another empty-value cleanup over the whole document.
        doc.retain(|_, v| !prune_in_place(v));
    }
    let mut doc = Value::Object(doc);
    sort_keys(&mut doc, 0);
    doc
}

/// Renders a JSON value the way Java's `toString()` renders the `HashMap`/`ArrayList` tree an
/// Elasticsearch ingest pipeline parses it into: `{key=value, list=[a, b], nested={k=v}}`.
///
/// This is the text of `aws.cloudtrail.request_parameters`, `response_elements`,
/// `additional_eventdata` and `service_event_details`. Strings are written without quotes or
/// escaping, numbers as Java writes `Integer`/`Long`/`Double`, and the keys of each map in
/// `java.util.HashMap` iteration order (by the bucket of the key's `String.hashCode()` in a
/// table sized for the map's entry count, ties in insertion order), which is what makes the
/// order look random. The value is rendered exactly as given: [`to_ecs`] applies the
/// pipeline's empty-value removal while rendering, with the table sized for the entry count
/// before removal, as the pipeline does.
pub fn java_map_string(v: &Value) -> String {
    let mut out = String::new();
    render_java(v, &|_| false, None, &mut out);
    out
}

/// Where a derived field is read from (a borrowed part of the record or a copy).
type Source<'a> = Option<Cow<'a, Value>>;

// ---------------------------------------------------------------------------------------------
// Identity

fn map_identity(
    doc: &mut Map<String, Value>,
    json: &Map<String, Value>,
    gen: PipelineGeneration,
    related_user: &mut Vec<String>,
) {
    let Some(ui) = json.get("userIdentity").and_then(Value::as_object) else {
        return;
    };
    let ui_path = |p: &[&str]| get_path(ui, p).cloned();
    const UI: &str = "aws.cloudtrail.user_identity";

    if let Some(v) = ui_path(&["type"]) {
        set_dotted(doc, &format!("{UI}.type"), v);
    }
    if let Some(v) = ui_path(&["userName"]) {
        if gen == PipelineGeneration::Legacy {
            push_unique(related_user, template(&v));
        }
        set_dotted(doc, "user.name", v);
    }
    if let Some(v) = ui_path(&["principalId"]) {
        set_dotted(doc, "user.id", v);
    }
    if let Some(v) = ui_path(&["arn"]) {
        set_dotted(doc, &format!("{UI}.arn"), v);
    }
    if let Some(v) = ui_path(&["accountId"]) {
        set_dotted(doc, "cloud.account.id", v);
    }
    if let Some(v) = ui_path(&["accessKeyId"]) {
        set_dotted(doc, &format!("{UI}.access_key_id"), v);
    }
    if let Some(v) = ui_path(&["sessionContext", "attributes", "mfaAuthenticated"]) {
        set_dotted(doc, &format!("{UI}.session_context.mfa_authenticated"), v);
    }
    if let Some(ts) = ui_path(&["sessionContext", "attributes", "creationDate"])
        .as_ref()
        .and_then(Value::as_str)
        .and_then(time::parse_timestamp)
    {
        set_dotted(
            doc,
            &format!("{UI}.session_context.creation_date"),
            Value::String(time::format(ts)),
        );
    }
    if let Some(v) = ui_path(&["sessionContext", "sessionIssuer", "type"]) {
        set_dotted(doc, &format!("{UI}.session_context.session_issuer.type"), v);
    }
    let ui_type = get_str(doc, &format!("{UI}.type")).map(str::to_string);
    let role_like = matches!(ui_type.as_deref(), Some("AssumedRole" | "FederatedUser"));
    if let Some(v) = ui_path(&["sessionContext", "sessionIssuer", "userName"]) {
        if (gen == PipelineGeneration::Legacy || role_like) && get(doc, "user.name").is_none() {
            set_dotted(doc, "user.name", v);
        }
    }
    if let Some(v) = ui_path(&["sessionContext", "sessionIssuer", "principalId"]) {
        set_dotted(
            doc,
            &format!("{UI}.session_context.session_issuer.principal_id"),
            v,
        );
    }
    if gen == PipelineGeneration::Current && role_like {
        if let Some(session) = get_str(doc, &format!("{UI}.arn")).and_then(session_name) {
            let session = session.to_string();
            push_unique(related_user, session.clone());
            if let Some((prefix, _)) = session.split_once('@') {
                if !prefix.is_empty() {
                    push_unique(related_user, prefix.to_string());
                    if get(doc, "user.email").is_none() {
                        set_dotted(doc, "user.email", Value::String(session.clone()));
                    }
                }
            }
        }
    }
    if let Some(v) = ui_path(&["sessionContext", "sessionIssuer", "arn"]) {
        set_dotted(doc, &format!("{UI}.session_context.session_issuer.arn"), v);
    }
    if let Some(v) = ui_path(&["sessionContext", "sessionIssuer", "accountId"]) {
        set_dotted(
            doc,
            &format!("{UI}.session_context.session_issuer.account_id"),
            v,
        );
    }
    if let Some(v) = ui_path(&["invokedBy"]) {
        set_dotted(doc, &format!("{UI}.invoked_by"), v);
    }
}

/// The session name of an STS ARN (`arn:aws:sts::…:assumed-role/Role/<session>`): the part
/// after the last `/`, as the pipeline's grok `arn:(aws|aws-us-gov):sts:.*/%{GREEDYDATA}$`.
fn session_name(arn: &str) -> Option<&str> {
    let start = ["arn:aws:sts:", "arn:aws-us-gov:sts:"]
        .iter()
        .filter_map(|p| arn.find(p).map(|i| i + p.len()))
        .min()?;
    let slash = arn.rfind('/')?;
    if slash < start {
        return None;
    }
    let name = &arn[slash + 1..];
    (!name.is_empty() && !name.contains('\n')).then_some(name)
}

// ---------------------------------------------------------------------------------------------
// requestParameters / responseElements / additionalEventData / serviceEventDetails

const LARGE_OBJECTS: [(&str, &str); 4] = [
    ("requestParameters", "request_parameters"),
    ("responseElements", "response_elements"),
    ("additionalEventData", "additional_eventdata"),
    ("serviceEventDetails", "service_event_details"),
];

fn keeps_flattened(retain: Retain) -> bool {
    retain != Retain::Keyword
}

fn map_large_objects(
    doc: &mut Map<String, Value>,
    record: &Value,
    json: &Map<String, Value>,
    opts: &ToEcsOptions,
    moved_user_name: bool,
) {
    let gen = opts.generation;
    let dropped = |v: &Value| is_dropped(v, gen);
    for (raw_key, field) in LARGE_OBJECTS {
        let Some(pruned) = json.get(raw_key) else {
            continue;
        };
        let raw = record.get(raw_key).unwrap_or(pruned);
        let skip = (moved_user_name && raw_key == "additionalEventData").then_some("UserName");
        let mut text = String::new();
        render_java(raw, &dropped, skip, &mut text);
        let mut flat = pruned.clone();
        if let (Some(key), Value::Object(m)) = (skip, &mut flat) {
            m.remove(key);
        }
        let short = text.encode_utf16().count() < FLATTENED_MAX_CHARS;
        set_dotted(doc, &format!("aws.cloudtrail.{field}"), Value::String(text));
        if keeps_flattened(opts.retain) && short {
            set_dotted(doc, &format!("aws.cloudtrail.flattened.{field}"), flat);
        }
    }
}

fn apply_retain(doc: &mut Map<String, Value>, retain: Retain) {
    let Some(Value::Object(ct)) = doc.get_mut("aws").and_then(|a| a.get_mut("cloudtrail")) else {
        return;
    };
    match retain {
        Retain::All | Retain::Keyword => {}
        Retain::Flattened => {
            for f in [
                "response_elements",
                "request_parameters",
                "additional_eventdata",
            ] {
                ct.remove(f);
            }
        }
        Retain::Minimal => {
            let Some(Value::Object(flat)) = ct.get("flattened") else {
                return;
            };
            let mut kept = Map::new();
            for (group, key) in MINIMAL_FLATTENED_FIELDS {
                if let Some(v) = flat.get(*group).and_then(|g| g.get(*key)) {
                    let entry = kept
                        .entry(group.to_string())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(m) = entry {
                        m.insert(key.to_string(), v.clone());
                    }
                }
            }
            ct.insert("flattened".into(), Value::Object(kept));
        }
    }
}

/// `resources[]`: `ARN`→`arn`, `accountId`→`account_id`, duplicates (same arn, account and
/// type) removed; the list comes out in the iteration order of the pipeline's `HashMap`.
fn dedup_resources(resources: &Value) -> Value {
    let Value::Array(items) = resources else {
        return resources.clone();
    };
    let mut keys: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    for item in items {
        let Value::Object(orig) = item else { continue };
        let mut res = Map::new();
        for (k, v) in orig {
            let k = match k.as_str() {
                "ARN" => "arn",
                "accountId" => "account_id",
                other => other,
            };
            res.insert(k.to_string(), v.clone());
        }
        let part = |k: &str| res.get(k).map(template).unwrap_or_default();
        let key = format!("{}_{}_{}", part("arn"), part("account_id"), part("type"));
        match keys.iter().position(|k| *k == key) {
            Some(i) => values[i] = Value::Object(res),
            None => {
                keys.push(key);
                values.push(Value::Object(res));
            }
        }
    }
    let order = java_hash_order(keys.iter().map(String::as_str), keys.len());
    Value::Array(order.into_iter().map(|i| values[i].clone()).collect())
}

// ---------------------------------------------------------------------------------------------
// Categorisation, TLS

/// The pipeline's per-action `event.category`/`event.type` table. The third column says
/// whether the legacy pipeline has the entry too.
#[rustfmt::skip]
const CATEGORIES: &[(&str, &[&str], &[&str], bool)] = &[
    ("AddUserToGroup", &["iam"], &["group", "change"], true),
    ("AssumeRole", &["authentication"], &["info"], true),
    ("AttachGroupPolicy", &["iam"], &["group", "change"], true),
    ("AttachRolePolicy", &["iam"], &["change"], false),
    ("AttachUserPolicy", &["iam"], &["user", "change"], true),
    ("AuthorizeSecurityGroupIngress", &["network"], &["access"], false),
    ("ChangePassword", &["iam"], &["user", "change"], true),
    ("ConsoleLogin", &["authentication"], &["info"], true),
    ("Converse", &["api"], &[], false),
    ("CreateAccessKey", &["iam"], &["user", "change"], true),
    ("CreateBucket", &["file"], &["creation"], true),
    ("CreateControlChannel", &["session"], &["start"], false),
    ("CreateDataChannel", &["session"], &["start"], false),
    ("CreateDocument", &["file"], &["creation"], false),
    ("CreateGroup", &["iam"], &["group", "creation"], true),
    ("CreateKeyPair", &["iam"], &["admin", "creation"], true),
    ("CreatePolicy", &["iam"], &["creation"], false),
    ("CreateTopic", &["configuration"], &["creation"], false),
    ("CreateUser", &["iam"], &["user", "creation"], true),
    ("CreateVirtualMFADevice", &["iam"], &["user", "change"], true),
    ("DeactivateMFADevice", &["iam"], &["user", "change"], true),
    ("DeleteAccessKey", &["iam"], &["user", "change"], true),
    ("DeleteBucket", &["file"], &["deletion"], true),
    ("DeleteGroup", &["iam"], &["group", "deletion"], true),
    ("DeleteGroupPolicy", &["iam"], &["group", "change"], true),
    ("DeleteObject", &["file"], &["delete"], false),
    ("DeleteSSHPublicKey", &["iam"], &["user", "change"], true),
    ("DeleteTrail", &["configuration"], &["deletion"], false),
    ("DeleteUser", &["iam"], &["user", "deletion"], true),
    ("DeleteUserPermissionsBoundary", &["iam"], &["user", "change"], true),
    ("DeleteUserPolicy", &["iam"], &["user", "change"], true),
    ("DeleteVirtualMFADevice", &["iam"], &["user", "change"], true),
    ("DescribeDBInstances", &["database"], &["info"], false),
    ("DescribeInstances", &["host"], &["info"], false),
    ("DescribeLoadBalancers", &["network"], &["info"], false),
    ("DescribeNetworkAcls", &["network"], &["info"], false),
    ("DescribeNetworkInterfaces", &["network"], &["info"], false),
    ("DescribeRegions", &["api"], &["info"], false),
    ("DescribeSecurityGroups", &["network"], &["info"], false),
    ("DescribeTrails", &["configuration"], &["info"], false),
    ("DescribeVolumes", &["host"], &["info"], false),
    ("DescribeVpcs", &["network"], &["info"], false),
    ("DetachGroupPolicy", &["iam"], &["group", "change"], true),
    ("DetachUserPolicy", &["iam"], &["user", "change"], true),
    ("EnableMFADevice", &["iam"], &["user", "change"], true),
    ("GetCallerIdentity", &["authentication"], &["info"], false),
    ("GetGroup", &["iam"], &["group", "info"], true),
    ("GetGroupPolicy", &["iam"], &["group", "info"], true),
    ("GetObject", &["file"], &["info"], false),
    ("GetPolicy", &["iam"], &["info"], false),
    ("GetUser", &["iam"], &["user", "info"], true),
    ("GetUserPolicy", &["iam"], &["user", "info"], true),
    ("HeadObject", &["file"], &["info"], false),
    ("ListAttachedGroupPolicies", &["iam"], &["group", "info"], true),
    ("ListAttachedRolePolicies", &["iam"], &["info"], false),
    ("ListAttachedUserPolicies", &["iam"], &["user", "info"], true),
    ("ListBuckets", &["file"], &["info"], false),
    ("ListFunctions", &["package"], &["info"], false),
    ("ListGroupPolicies", &["iam"], &["group", "info"], true),
    ("ListGroups", &["iam"], &["group", "info"], true),
    ("ListGroupsForUser", &["iam"], &["user", "info"], true),
    ("ListInstanceAssociations", &["host"], &["info"], false),
    ("ListObjects", &["file"], &["info"], false),
    ("ListRoles", &["iam"], &["info"], false),
    ("ListTables", &["database"], &["info"], false),
    ("ListUserPolicies", &["iam"], &["user", "info"], true),
    ("ListUserTags", &["iam"], &["user", "info"], true),
    ("ListUsers", &["iam"], &["user", "info"], true),
    ("OpenControlChannel", &["session"], &["start"], false),
    ("OpenDataChannel", &["session"], &["start"], false),
    ("Publish", &["api"], &[], false),
    ("PutGroupPolicy", &["iam"], &["group", "change"], true),
    ("PutObject", &["file"], &["change"], false),
    ("PutUserPermissionsBoundary", &["iam"], &["user", "change"], true),
    ("PutUserPolicy", &["iam"], &["user", "change"], true),
    ("RemoveUserFromGroup", &["iam"], &["group", "change"], true),
    ("SendCommand", &["process"], &[], false),
    ("SetDefaultPolicyVersion", &["iam"], &["admin", "change"], true),
    ("SetSecurityTokenServicePreferences", &["iam"], &["admin", "change"], true),
    ("StartSession", &["session"], &["start"], false),
    ("Subscribe", &["configuration"], &["change"], false),
    ("TagUser", &["iam"], &["user", "change"], true),
    ("TerminateSession", &["session"], &["end"], false),
    ("UntagUser", &["iam"], &["user", "change"], true),
    ("UpdateAccessKey", &["iam"], &["user", "change"], true),
    ("UpdateAccountPasswordPolicy", &["iam"], &["admin", "change"], true),
    ("UpdateGroup", &["iam"], &["group", "change"], true),
    ("UpdateLoginProfile", &["iam"], &["user", "change"], true),
    ("UpdateRole", &["iam"], &["admin", "change"], true),
    ("UpdateSSHPublicKey", &["iam"], &["user", "change"], true),
    ("UpdateUser", &["iam"], &["user", "change"], true),
];

fn categorize(doc: &mut Map<String, Value>, resp: Option<&Value>, gen: PipelineGeneration) {
    set_dotted(doc, "event.kind", Value::from("event"));
    set_dotted(doc, "event.type", Value::Array(vec![Value::from("info")]));
    let failed = get(doc, "aws.cloudtrail.error_code").is_some()
        || get(doc, "aws.cloudtrail.error_message").is_some();
    set_dotted(
        doc,
        "event.outcome",
        Value::from(if failed { "failure" } else { "success" }),
    );
    let Some(action) = get_str(doc, "event.action").map(str::to_string) else {
        return;
    };
    if action == "ConsoleLogin" {
        if let Some(s) = resp
            .and_then(|r| r.get("ConsoleLogin"))
            .and_then(Value::as_str)
        {
            set_dotted(doc, "event.outcome", Value::String(s.to_lowercase()));
        }
    }
    let entry = CATEGORIES.iter().find(|(name, _, _, legacy)| {
        *name == action && (*legacy || gen == PipelineGeneration::Current)
    });
    if let Some((_, category, types, _)) = entry {
        let list = |xs: &[&str]| Value::Array(xs.iter().map(|x| Value::from(*x)).collect());
        set_dotted(doc, "event.category", list(category));
        set_dotted(doc, "event.type", list(types));
    }
}

fn map_tls(doc: &mut Map<String, Value>, json: &Map<String, Value>, gen: PipelineGeneration) {
    let Some(tls) = json.get("tlsDetails").and_then(Value::as_object) else {
        return;
    };
    let version = tls.get("tlsVersion");
    if gen == PipelineGeneration::Current && version.and_then(Value::as_str) == Some("tlsVersion") {
        return; // placeholder record: the newest pipeline drops tlsDetails
    }
    if let Some(v) = version {
        match v.as_str().and_then(|s| s.split_once('v')) {
            Some((protocol, number)) => {
                if !protocol.is_empty() {
                    set_dotted(
                        doc,
                        "tls.version_protocol",
                        Value::String(protocol.to_lowercase()),
                    );
                }
                set_dotted(doc, "tls.version", Value::from(number));
            }
            None => set_dotted(doc, "tls.version", v.clone()),
        }
    }
    if let Some(v) = tls.get("cipherSuite") {
        set_dotted(doc, "tls.cipher", v.clone());
    }
    if let Some(v) = tls.get("clientProvidedHostHeader") {
        set_dotted(doc, "tls.client.server_name", v.clone());
    }
}

// ---------------------------------------------------------------------------------------------
// Empty-value removal

fn is_dropped(v: &Value, gen: PipelineGeneration) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => {
            s.is_empty() || (gen == PipelineGeneration::Current && (s == "-" || s == "none"))
        }
        _ => false,
    }
}

/// The newest pipeline's removal of empty values ([`PipelineGeneration::Current`], what the
/// default options map with): `None` if `v` itself goes away.
pub(super) fn prune_current(v: &Value) -> Option<Value> {
    prune(v, PipelineGeneration::Current)
}

/// The pipeline's recursive removal of empty values: `None` if `v` itself goes away.
fn prune(v: &Value, gen: PipelineGeneration) -> Option<Value> {
    prune_with(v, &|x| is_dropped(x, gen))
}

fn prune_with(v: &Value, dropped: &dyn Fn(&Value) -> bool) -> Option<Value> {
    match v {
        Value::Object(m) => {
            let out: Map<String, Value> = m
                .iter()
                .filter_map(|(k, x)| prune_with(x, dropped).map(|x| (k.clone(), x)))
                .collect();
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(a) => {
            let out: Vec<Value> = a.iter().filter_map(|x| prune_with(x, dropped)).collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
        other => (!dropped(other)).then(|| other.clone()),
    }
}

/// The final cleanup of the newest pipeline (`null`, `""`, empty maps and lists), in place;
/// returns whether `v` itself is to be removed.
fn prune_in_place(v: &mut Value) -> bool {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !prune_in_place(x));
            m.is_empty()
        }
        Value::Array(a) => {
            a.retain_mut(|x| !prune_in_place(x));
            a.is_empty()
        }
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Whether `v` survives the empty-value removal (without building the pruned copy).
fn survives(v: &Value, dropped: &dyn Fn(&Value) -> bool) -> bool {
    match v {
        Value::Object(m) => m.values().any(|x| survives(x, dropped)),
        Value::Array(a) => a.iter().any(|x| survives(x, dropped)),
        other => !dropped(other),
    }
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Java rendering

/// Java `String.hashCode()` over UTF-16 code units.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
}

/// The order in which `java.util.HashMap` iterates `keys` (given in insertion order) when the
/// map received `inserted` entries in total (this sizes its table).
fn java_hash_order<'a>(keys: impl Iterator<Item = &'a str>, inserted: usize) -> Vec<usize> {
    let mut capacity = 16usize;
    // The table doubles when the size exceeds 0.75 × capacity.
    while inserted * 4 > capacity * 3 {
        capacity *= 2;
    }
    let mut idx: Vec<(usize, usize)> = keys
        .enumerate()
        .map(|(i, k)| {
            let h = java_string_hash(k) as u32;
            let spread = h ^ (h >> 16);
            (spread as usize & (capacity - 1), i)
        })
        .collect();
    idx.sort_unstable();
    idx.into_iter().map(|(_, i)| i).collect()
}

fn render_java(
    v: &Value,
    dropped: &dyn Fn(&Value) -> bool,
    skip_key: Option<&str>,
    out: &mut String,
) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => render_java_number(n, out),
        Value::String(s) => out.push_str(s),
        Value::Array(a) => {
            out.push('[');
            let mut first = true;
            for x in a.iter().filter(|x| survives(x, dropped)) {
                if !first {
                    out.push_str(", ");
                }
                first = false;
                render_java(x, dropped, None, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let entries: Vec<(&String, &Value)> = m.iter().collect();
            let order = java_hash_order(entries.iter().map(|(k, _)| k.as_str()), entries.len());
            out.push('{');
            let mut first = true;
            for i in order {
                let (k, x) = entries[i];
                if skip_key == Some(k.as_str()) || !survives(x, dropped) {
                    continue;
                }
                if !first {
                    out.push_str(", ");
                }
                first = false;
                out.push_str(k);
                out.push('=');
                render_java(x, dropped, None, out);
            }
            out.push('}');
        }
    }
}

fn render_java_number(n: &serde_json::Number, out: &mut String) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        out.push_str(&java_double(f));
    }
}

/// Java's `Double.toString`: plain notation for 1e-3 ≤ |d| < 1e7 (always with a fraction
/// digit), otherwise `d.dddE±n`; shortest round-trip digits.
fn java_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let sign = if d < 0.0 { "-" } else { "" };
    let abs = d.abs();
    let sci = format!("{abs:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (1e-3..1e7).contains(&abs) {
        let point = exp + 1;
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        };
        format!("{sign}{body}")
    } else {
        let frac = if digits.len() > 1 { &digits[1..] } else { "0" };
        format!("{sign}{}.{}E{}", &digits[..1], frac, exp)
    }
}

/// How an ingest `{{template}}` renders a value: strings as they are, everything else as Java
/// would print it.
fn template(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => {
            let mut out = String::new();
            render_java(other, &|_| false, None, &mut out);
            out
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Small map helpers

fn get_path<'a>(m: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut cur = m.get(*first)?;
    for key in rest {
        cur = cur.as_object()?.get(*key)?;
    }
    Some(cur)
}

fn get_path_value<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    get_path(v.as_object()?, path)
}

fn copy(doc: &mut Map<String, Value>, json: &Map<String, Value>, from: &[&str], to: &str) {
    if let Some(v) = get_path(json, from) {
        set_dotted(doc, to, v.clone());
    }
}

fn get<'a>(doc: &'a Map<String, Value>, dotted: &str) -> Option<&'a Value> {
    let parts: Vec<&str> = dotted.split('.').collect();
    get_path(doc, &parts)
}

fn get_str<'a>(doc: &'a Map<String, Value>, dotted: &str) -> Option<&'a str> {
    get(doc, dotted).and_then(Value::as_str)
}

fn push_unique(list: &mut Vec<String>, v: String) {
    if !list.contains(&v) {
        list.push(v);
    }
}

/// Sorts object keys alphabetically (as Elastic's expected-document fixtures are), except
/// inside `aws.cloudtrail.flattened.*` and `event.original`, which keep the record's order.
fn sort_keys(v: &mut Value, depth: usize) {
    if let Value::Object(m) = v {
        m.sort_keys();
        for (k, x) in m.iter_mut() {
            let keep_order = depth == 2 && (k == "flattened" || k == "resources");
            if !keep_order && x.is_object() {
                sort_keys(x, depth + 1);
            }
        }
    }
}
