//! A rule file about to be written by an importer: the fields of `queries/*.toml` an imported
//! rule uses, serialized to TOML in the order a reader expects (metadata, origin, threat,
//! source, schedule, detection, rule type, alert). The importers fill a [`Draft`]; the loader
//! then checks the written text like any other rule file.

use serde::Serialize;

/// An imported rule, field for field as its rule file will hold it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Draft {
    /// Stable id (the upstream rule's id).
    pub id: String,
    /// Display name.
    pub name: String,
    /// eshunt version: bumped by upstream changes (see [`Origin::version`]).
    pub version: u32,
    /// Whether scheduled runs include it.
    pub enabled: bool,
    /// A building block: its matches are kept, marked, not shown as alerts.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub building_block: bool,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// 0–100.
    pub risk_score: u8,
    /// What the rule detects (upstream's text).
    pub description: String,
    /// Upstream authors.
    pub author: Vec<String>,
    /// The rule's licence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Reference URLs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// Known benign causes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub false_positives: Vec<String>,
    /// Alert fields to look at first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub investigation_fields: Vec<String>,
    /// Investigation guide.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
    /// Where the rule comes from.
    pub origin: Origin,
    /// MITRE ATT&CK.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub threat: Vec<Threat>,
    /// Indices and time field.
    pub source: Source,
    /// Interval and look-back.
    pub schedule: Schedule,
    /// Prefilter and condition.
    pub detection: Detection,
    /// Threshold rule type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
    /// New terms rule type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_terms: Option<NewTerms>,
    /// Alert suppression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppress: Option<Suppress>,
    /// Alert shaping.
    pub alert: Alert,
}

/// `[origin]`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Origin {
    /// `Elastic detection-rules`, `Sigma`.
    pub product: String,
    /// The upstream id.
    pub rule_id: String,
    /// Upstream's own version or last-modified date, as written there: a re-import that finds
    /// another one rewrites the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The upstream file, relative to the catalogue's root.
    pub file: String,
    /// Upstream's licence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Where to read the original.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// What the translation changed or could not keep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// An ATT&CK id and name.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct IdName {
    /// `TA0005`, `T1562`, `T1562.008`.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// `[[threat]]`: one tactic and its techniques.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Threat {
    /// The tactic.
    pub tactic: IdName,
    /// Its techniques.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub technique: Vec<Technique>,
}

/// A technique and its subtechniques.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Technique {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Subtechniques.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subtechnique: Vec<IdName>,
}

/// `[source]`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Source {
    /// Index patterns.
    pub index: Vec<String>,
    /// The field windows are taken on.
    pub timestamp_field: String,
}

/// `[schedule]`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Schedule {
    /// `5m`.
    pub interval: String,
    /// `6m`.
    pub lookback: String,
}

impl Source {
    /// Elastic's CloudTrail data streams, windows on ingest time: what a rule written for raw
    /// CloudTrail (Sigma's) reads in the cluster.
    pub fn cloudtrail() -> Source {
        Source {
            index: vec!["logs-aws.cloudtrail-*".into()],
            timestamp_field: "event.ingested".into(),
        }
    }
}

impl Schedule {
    /// Kibana's defaults: every 5 minutes, looking 6 minutes back.
    pub fn kibana_default() -> Schedule {
        Schedule {
            interval: "5m".into(),
            lookback: "6m".into(),
        }
    }
}

/// `[detection]`: one prefilter (KQL or DSL JSON text) and an optional condition.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Detection {
    /// KQL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kql: Option<String>,
    /// Query DSL as JSON text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dsl: Option<String>,
    /// The condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// `[threshold]`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Threshold {
    /// Group fields.
    pub group_by: Vec<String>,
    /// Events per group.
    pub count: u64,
    /// Distinct-count requirement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cardinality: Option<Cardinality>,
    /// Bucket length.
    pub window: String,
}

/// A distinct-count requirement.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cardinality {
    /// The field counted.
    pub field: String,
    /// Distinct values needed.
    pub min: u64,
}

/// `[new_terms]`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewTerms {
    /// The fields whose combination must be new.
    pub fields: Vec<String>,
    /// `now-7d`.
    pub history_window_start: String,
}

/// `[suppress]`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Suppress {
    /// Group fields.
    pub by: Vec<String>,
    /// Period.
    #[serde(rename = "for")]
    pub period: String,
}

/// `[alert]`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Alert {
    /// Title template.
    pub title: String,
    /// Context fields: name → field.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "ordered_table"
    )]
    pub context: Vec<(String, String)>,
}

fn ordered_table<S: serde::Serializer>(
    entries: &[(String, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(entries.len()))?;
    for (k, v) in entries {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

impl Draft {
    /// The rule file's text: a header comment naming its origin, then the TOML.
    pub fn to_toml(&self, header: &str) -> Result<String, String> {
        let body = toml::to_string_pretty(self).map_err(|e| e.to_string())?;
        let comments: String = header.lines().map(|l| format!("# {l}\n")).collect();
        Ok(format!("{comments}\n{body}"))
    }
}

/// The eshunt version of an upstream date (`2026/07/27`, `2026-07-27`): `20260727`, so that a
/// later upstream change gives a higher version.
pub fn version_of_date(date: &str) -> Option<u32> {
    let digits: String = date.chars().filter(char::is_ascii_digit).collect();
    (digits.len() == 8).then(|| digits.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_becomes_a_loadable_rule_file() {
        let draft = Draft {
            id: "abc".into(),
            name: "A \"quoted\" name".into(),
            version: 20260727,
            enabled: true,
            severity: "high".into(),
            risk_score: 73,
            description: "Line one.\nLine two with ''' quotes.".into(),
            author: vec!["Someone".into()],
            origin: Origin {
                product: "Sigma".into(),
                rule_id: "abc".into(),
                file: "x.yml".into(),
                ..Origin::default()
            },
            threat: vec![Threat {
                tactic: IdName {
                    id: "TA0005".into(),
                    name: "Defense Evasion".into(),
                },
                technique: vec![Technique {
                    id: "T1562".into(),
                    name: "Impair Defenses".into(),
                    subtechnique: vec![IdName {
                        id: "T1562.008".into(),
                        name: "Disable or Modify Cloud Logs".into(),
                    }],
                }],
            }],
            source: Source::cloudtrail(),
            schedule: Schedule::kibana_default(),
            detection: Detection {
                kql: Some("event.action: StopLogging".into()),
                condition: Some("eventName ieq \"stoplogging\"".into()),
                ..Detection::default()
            },
            alert: Alert {
                title: "{eventName} by {userIdentity.arn}".into(),
                context: vec![
                    ("z".into(), "eventName".into()),
                    ("a".into(), "eventSource".into()),
                ],
            },
            ..Draft::default()
        };
        let text = draft.to_toml("Imported from Sigma.\nSecond line.").unwrap();
        assert!(text.starts_with("# Imported from Sigma.\n# Second line.\n"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc.toml");
        std::fs::write(&path, &text).unwrap();
        let rule = crate::rule::load_file(&path).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        assert_eq!(rule.meta.name, draft.name);
        assert_eq!(rule.meta.description, draft.description);
        assert_eq!(
            rule.meta.threat[0].techniques[0].subtechniques[0].id,
            "T1562.008"
        );
        let names: Vec<&str> = rule.alert.context.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["z", "a"], "context keeps its order");
        assert_eq!(rule.meta.origin.unwrap().file.as_deref(), Some("x.yml"));
    }

    #[test]
    fn dates_become_increasing_versions() {
        assert_eq!(version_of_date("2026/07/27"), Some(20260727));
        assert_eq!(version_of_date("2020-01-21"), Some(20200121));
        assert_eq!(version_of_date("soon"), None);
    }
}
