//! `eshunt setup`: what eshunt needs in the cluster, installed idempotently — the alert data
//! stream's templates (mappings for every field eshunt writes, on Elasticsearch and OpenSearch)
//! and the state index — and a check of the configured user's privileges.

use super::flavor::{ClusterInfo, Flavor};
use super::{Cluster, EsError, Request};
use crate::data_stream::{is_data_stream, target_pattern};
use serde_json::{json, Value};

/// Name of the component template holding the alert mappings.
pub const ALERT_COMPONENT: &str = "eshunt-alerts@mappings";
/// Name of the index template for the default alert target (`logs-eshunt.alerts-*`).
pub const ALERT_TEMPLATE: &str = "eshunt-alerts";
/// Version stamped into the templates' `_meta`, bumped when the mappings change.
pub const TEMPLATE_VERSION: u64 = 3;

/// The index template's name: [`ALERT_TEMPLATE`] for the default target's pattern, else
/// derived from the pattern, so differently named targets get their own templates.
pub fn template_name(target: &str) -> String {
    let pattern = target_pattern(target);
    if pattern == "logs-eshunt.alerts-*" {
        return ALERT_TEMPLATE.to_string();
    }
    let safe: String = pattern
        .chars()
        .filter(|c| *c != '*')
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{ALERT_TEMPLATE}-{}", safe.trim_matches('-'))
}

/// Mappings for every field eshunt writes into an alert.
pub fn alert_mappings(info: &ClusterInfo) -> Value {
    let keyword = || json!({"type": "keyword", "ignore_above": 1024});
    let text = if info.has_match_only_text() {
        json!({"type": "match_only_text"})
    } else {
        json!({"type": "text"})
    };
    let date = || json!({"type": "date"});
    let object = |fields: &[(&str, Value)]| {
        let props: serde_json::Map<String, Value> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        json!({"properties": props})
    };
    let ids = || {
        object(&[
            ("id", keyword()),
            ("name", keyword()),
            ("reference", keyword()),
        ])
    };
    json!({
        "dynamic": false,
        "_meta": {"managed_by": "eshunt", "version": TEMPLATE_VERSION},
        "properties": {
            "@timestamp": date(),
            "message": text.clone(),
            "tags": keyword(),
            "event": object(&[
                ("kind", keyword()), ("module", keyword()), ("dataset", keyword()),
                ("severity", json!({"type": "long"})), ("risk_score", json!({"type": "float"})),
                ("created", date()), ("ingested", date()),
                ("action", keyword()), ("provider", keyword()), ("id", keyword()), ("outcome", keyword()),
            ]),
            "rule": object(&[
                ("id", keyword()), ("name", keyword()), ("description", text.clone()), ("version", keyword()),
                ("ruleset", keyword()), ("author", keyword()), ("license", keyword()),
                ("reference", keyword()), ("category", keyword()),
            ]),
            "threat": object(&[
                ("framework", keyword()),
                ("tactic", ids()),
                ("technique", {
                    let mut technique = ids();
                    technique["properties"]["subtechnique"] = ids();
                    technique
                }),
            ]),
            "user": object(&[("id", keyword()), ("name", keyword())]),
            "kibana": object(&[("alert", object(&[("building_block_type", keyword())]))]),
            "source": object(&[("ip", json!({"type": "ip"})), ("address", keyword())]),
            "user_agent": object(&[("original", keyword())]),
            "cloud": object(&[
                ("provider", keyword()), ("region", keyword()),
                ("account", object(&[("id", keyword())])),
            ]),
            "aws": object(&[("cloudtrail", object(&[
                ("event_type", keyword()), ("recipient_account_id", keyword()), ("request_id", keyword()),
                ("error_code", keyword()), ("error_message", keyword()),
                ("user_identity", object(&[
                    ("type", keyword()), ("arn", keyword()), ("access_key_id", keyword()), ("invoked_by", keyword()),
                    ("session_context", object(&[("session_issuer", object(&[("arn", keyword()), ("type", keyword())]))])),
                ])),
            ]))]),
            "eshunt": object(&[
                ("alert_id", keyword()), ("severity", keyword()), ("dedup", keyword()),
                ("building_block", json!({"type": "boolean"})),
                ("context", info.free_form_mapping()),
                ("rule", object(&[
                    ("id", keyword()), ("version", json!({"type": "long"})), ("file", keyword()),
                    ("origin", object(&[
                        ("product", keyword()), ("rule_id", keyword()), ("version", keyword()),
                        ("file", keyword()), ("license", keyword()), ("url", keyword()),
                    ])),
                    ("references", keyword()), ("false_positives", text.clone()),
                    ("investigation_fields", keyword()), ("runbook", text.clone()),
                ])),
                ("threshold", object(&[
                    ("window", date()), ("group", info.free_form_mapping()),
                    ("count", json!({"type": "long"})), ("cardinality", json!({"type": "long"})),
                    ("first", date()), ("last", date()), ("samples", keyword()),
                ])),
                ("new_terms", object(&[("fields", info.free_form_mapping())])),
                ("source", object(&[
                    ("event_id", keyword()), ("identity", keyword()), ("index", keyword()), ("id", keyword()),
                    ("file", keyword()), ("line", json!({"type": "long"})), ("record", json!({"type": "long"})),
                    ("shape", keyword()), ("timestamp", date()), ("ingested", date()),
                ])),
                ("suppressed", object(&[
                    ("count", json!({"type": "long"})), ("first", date()), ("last", date()),
                    ("first_id", keyword()), ("period", date()), ("group", info.free_form_mapping()),
                    // Slice → matches, merged by eshunt: not searched.
                    ("windows", json!({"type": "object", "enabled": false})),
                ])),
            ]),
        },
    })
}

/// The component template and index template bodies for `target`.
pub fn alert_templates(info: &ClusterInfo, target: &str) -> (Value, Value) {
    let component =
        json!({"template": {"mappings": alert_mappings(info)}, "_meta": {"managed_by": "eshunt"}});
    let mut index = json!({
        "index_patterns": [target_pattern(target)],
        "priority": 500,
        "composed_of": [ALERT_COMPONENT],
        "_meta": {"managed_by": "eshunt", "version": TEMPLATE_VERSION},
    });
    if is_data_stream(target) {
        index["data_stream"] = json!({});
    }
    (component, index)
}

/// Installs (or updates) the alert templates. Returns what was done, one line each.
pub async fn install_alert_templates(
    cluster: &Cluster,
    target: &str,
) -> Result<Vec<String>, EsError> {
    let (component, index) = alert_templates(cluster.info(), target);
    cluster
        .execute(&Request::put(format!("/_component_template/{ALERT_COMPONENT}")).json(&component))
        .await?
        .ok("installing the alert component template")?;
    cluster
        .execute(&Request::put(format!("/_index_template/{}", template_name(target))).json(&index))
        .await?
        .ok("installing the alert index template")?;
    let kind = if is_data_stream(target) {
        "data stream"
    } else {
        "index"
    };
    Ok(vec![
        format!("component template {ALERT_COMPONENT}: installed (alert field mappings, version {TEMPLATE_VERSION})"),
        format!("index template {}: installed for {} ({kind} {target})", template_name(target), target_pattern(target)),
    ])
}

/// One privilege the configured user lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// `cluster`, or the index pattern.
    pub resource: String,
    /// The privilege.
    pub privilege: String,
    /// What eshunt needs it for.
    pub purpose: &'static str,
}

/// The privileges eshunt needs, checked against the configured user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrivilegeReport {
    /// Everything is granted.
    AllGranted,
    /// These are missing.
    Missing(Vec<Missing>),
    /// The cluster has no security to check (Elasticsearch security disabled, OpenSearch
    /// without the security plugin).
    SecurityDisabled,
    /// The cluster cannot answer the question (OpenSearch's security plugin has no
    /// "has privileges" API); the text says what was checked instead.
    Unchecked(String),
}

/// What eshunt needs, as `(resource, privileges, purpose)`.
pub fn required_privileges(
    source_indices: &[String],
    target: &str,
    state_index: &str,
) -> Vec<(Vec<String>, Vec<&'static str>, &'static str)> {
    vec![
        (
            source_indices.to_vec(),
            vec!["read", "view_index_metadata"],
            "searching the rules' source indices",
        ),
        (
            vec![target.to_string()],
            vec!["create_doc", "auto_configure", "read"],
            "writing alerts (and finding those already written)",
        ),
        (
            vec![state_index.to_string()],
            vec!["read", "write", "create_index"],
            "checkpoints, leases and run records",
        ),
    ]
}

/// Asks Elasticsearch `_has_privileges` for what eshunt needs (OpenSearch: see
/// [`PrivilegeReport::Unchecked`]).
pub async fn check_privileges(
    cluster: &Cluster,
    source_indices: &[String],
    target: &str,
    state_index: &str,
) -> Result<PrivilegeReport, EsError> {
    if cluster.info().flavor == Flavor::OpenSearch {
        return probed_privileges(cluster, source_indices, "/_plugins/_security/api/account").await;
    }
    if cluster.info().oss {
        // No X-Pack: a security layer, if any, is Open Distro's (AWS fine-grained access).
        return probed_privileges(
            cluster,
            source_indices,
            "/_opendistro/_security/api/account",
        )
        .await;
    }
    let needed = required_privileges(source_indices, target, state_index);
    let body = json!({
        "cluster": ["monitor"],
        "index": needed.iter().map(|(names, privileges, _)| json!({"names": names, "privileges": privileges})).collect::<Vec<_>>(),
    });
    let reply = cluster
        .execute(&Request::post("/_security/user/_has_privileges").json(&body))
        .await?;
    if is_security_disabled(reply.status, &reply.body) {
        return Ok(PrivilegeReport::SecurityDisabled);
    }
    let answer = reply.ok("checking privileges")?.body;
    if answer["has_all_requested"] == true {
        return Ok(PrivilegeReport::AllGranted);
    }
    let mut missing = Vec::new();
    if answer["cluster"]["monitor"] == false {
        missing.push(Missing {
            resource: "cluster".into(),
            privilege: "monitor".into(),
            purpose: "reading the cluster's version at connect",
        });
    }
    for (names, privileges, purpose) in &needed {
        for name in names {
            for privilege in privileges {
                if answer["index"][name][*privilege] == false {
                    missing.push(Missing {
                        resource: name.clone(),
                        privilege: privilege.to_string(),
                        purpose,
                    });
                }
            }
        }
    }
    Ok(if missing.is_empty() {
        PrivilegeReport::AllGranted
    } else {
        PrivilegeReport::Missing(missing)
    })
}

/// Whether `_has_privileges` failed because the cluster runs without security: 8.x/9.x have no
/// such endpoint then (400 "no handler found", the error a plain string), 7.x read the path as
/// an index name, older builds said so in words; a 404 is no security plugin either.
fn is_security_disabled(status: u16, body: &Value) -> bool {
    let error = &body["error"];
    let text = error["reason"]
        .as_str()
        .or(error.as_str())
        .unwrap_or_default();
    let error_type = error["type"].as_str().unwrap_or_default();
    matches!(status, 400 | 403 | 500) && text.contains("Security must be explicitly enabled")
        || status == 400 && text.starts_with("no handler found for uri")
        || status == 400 && error_type == "invalid_index_name_exception"
        || status == 404 && error_type != "security_exception"
}

/// Without a privilege query (OpenSearch's and Open Distro's security plugins): the plugin's
/// account API tells whether security is on, then each source pattern is searched once.
async fn probed_privileges(
    cluster: &Cluster,
    source_indices: &[String],
    account_path: &str,
) -> Result<PrivilegeReport, EsError> {
    let account = cluster.execute(&Request::get(account_path)).await?;
    if account.status == 404 || account.status == 400 {
        return Ok(PrivilegeReport::SecurityDisabled);
    }
    let mut denied = Vec::new();
    for index in source_indices {
        let probe = cluster
            .execute(
                &Request::post(format!("/{}/_search", super::index_path(index)))
                    .json(&json!({"size": 0})),
            )
            .await?;
        if probe.status == 403 {
            denied.push(index.clone());
        }
    }
    if !denied.is_empty() {
        return Ok(PrivilegeReport::Missing(
            denied
                .into_iter()
                .map(|resource| Missing {
                    resource,
                    privilege: "read".into(),
                    purpose: "searching the rules' source indices",
                })
                .collect(),
        ));
    }
    let roles = account.body["roles"].to_string();
    Ok(PrivilegeReport::Unchecked(format!(
        "the security plugin has no privilege query; roles {roles}; searching the source indices works; writing alerts and state is not checked"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::es::flavor::Version;

    fn info(flavor: Flavor, major: u32, minor: u32) -> ClusterInfo {
        ClusterInfo {
            flavor,
            version: Version {
                major,
                minor,
                patch: 0,
            },
            cluster_name: "c".into(),
            compat_mode: false,
            oss: false,
        }
    }

    #[test]
    fn template_names() {
        assert_eq!(template_name("logs-eshunt.alerts-default"), "eshunt-alerts");
        assert_eq!(
            template_name("eshunt-1a-7-alerts"),
            "eshunt-alerts-eshunt-1a-7-alerts"
        );
        assert_eq!(
            template_name("logs-acme.alerts-prod"),
            "eshunt-alerts-logs-acme.alerts"
        );
    }

    #[test]
    fn mappings_differ_by_flavor_only_where_they_must() {
        let es = alert_mappings(&info(Flavor::Elasticsearch, 8, 15));
        let os = alert_mappings(&info(Flavor::OpenSearch, 2, 11));
        let old_os = alert_mappings(&info(Flavor::OpenSearch, 2, 3));
        assert_eq!(
            es["properties"]["eshunt"]["properties"]["context"]["type"],
            "flattened"
        );
        assert_eq!(
            os["properties"]["eshunt"]["properties"]["context"]["type"],
            "flat_object"
        );
        assert_eq!(
            old_os["properties"]["eshunt"]["properties"]["context"]["enabled"],
            false
        );
        assert_eq!(es["properties"]["message"]["type"], "match_only_text");
        assert_eq!(os["properties"]["message"]["type"], "text");
        let es_7_10 = alert_mappings(&info(Flavor::Elasticsearch, 7, 10));
        assert_eq!(
            es_7_10["properties"]["message"]["type"], "text",
            "match_only_text exists from 7.14"
        );
        assert_eq!(
            es["properties"]["event"]["properties"]["severity"]["type"],
            "long"
        );
    }

    #[test]
    fn index_template_is_a_data_stream_template_for_data_stream_targets() {
        let (_, t) = alert_templates(
            &info(Flavor::Elasticsearch, 8, 15),
            "logs-eshunt.alerts-default",
        );
        assert_eq!(t["index_patterns"][0], "logs-eshunt.alerts-*");
        assert!(t["data_stream"].is_object());
        assert!(
            t["priority"].as_u64().unwrap() > 100,
            "must win over the built-in logs template"
        );
        let (_, t) = alert_templates(&info(Flavor::Elasticsearch, 8, 15), "eshunt-alerts");
        assert!(t.get("data_stream").is_none());
    }
}
