//! Elastic detection-rules (TOML) → eshunt rules.
//!
//! A detection-rules file is `[metadata]` (dates, maturity) and `[rule]` (the Kibana rule).
//! KQL rules keep their query verbatim as the prefilter (it is the whole rule); new terms and
//! threshold rules keep it too, with `[new_terms]` / `[threshold]` on ECS fields (`ecs(…)`);
//! single-event EQL rules become a condition on ECS fields with a DSL prefilter derived from
//! them ([`super::eql`]). ES|QL, machine learning and sequence rules are refused.

use super::draft::{
    self, Alert, Cardinality, Detection, Draft, IdName, NewTerms, Origin, Schedule, Source,
    Suppress, Technique, Threat, Threshold,
};
use super::{eql, Conversion};
use crate::event::from_ecs::EcsPath;
use crate::event::to_ecs::is_added_at_ingest;
use serde::Deserialize;

/// `[origin] product` of imported rules.
pub const PRODUCT: &str = "Elastic detection-rules";

/// Where the catalogue's files are read on GitHub.
const REPOSITORY_URL: &str = "https://github.com/elastic/detection-rules/blob/main/";

/// Converts one detection-rules file (`file` is its path in the checkout).
pub fn convert(text: &str, file: &str) -> Conversion {
    let parsed: RuleFile = match toml::from_str(text) {
        Ok(parsed) => parsed,
        Err(e) => return Conversion::Malformed(format!("not a detection-rules TOML file: {e}")),
    };
    if let Some(why) = not_applicable(&parsed) {
        return Conversion::NotApplicable(why);
    }
    let kind = parsed.rule.kind.clone();
    match build(&parsed, file) {
        Ok((draft, warnings)) => Conversion::Rule {
            draft: Box::new(draft),
            kind,
            warnings,
        },
        Err(Refusal::Refused(reason)) => Conversion::Refused { kind, reason },
        Err(Refusal::Malformed(why)) => Conversion::Malformed(why),
    }
}

// ---------------------------------------------------------------------------------------------
// The detection-rules file, as far as the import reads it

#[derive(Debug, Deserialize)]
struct RuleFile {
    metadata: Metadata,
    rule: UpstreamRule,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    updated_date: Option<String>,
    maturity: Option<String>,
    #[serde(default)]
    integration: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct UpstreamRule {
    rule_id: String,
    name: String,
    description: String,
    severity: String,
    risk_score: i64,
    #[serde(rename = "type")]
    kind: String,
    language: Option<String>,
    query: Option<String>,
    #[serde(default)]
    author: Vec<String>,
    license: Option<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    false_positives: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    threat: Vec<UpstreamThreat>,
    note: Option<String>,
    setup: Option<String>,
    investigation_fields: Option<InvestigationFields>,
    index: Option<Vec<String>>,
    timestamp_override: Option<String>,
    interval: Option<String>,
    from: Option<String>,
    building_block_type: Option<String>,
    event_category_override: Option<String>,
    alert_suppression: Option<AlertSuppression>,
    new_terms: Option<UpstreamNewTerms>,
    threshold: Option<UpstreamThreshold>,
}

#[derive(Debug, Deserialize)]
struct UpstreamThreat {
    tactic: UpstreamIdName,
    #[serde(default)]
    technique: Vec<UpstreamTechnique>,
}

#[derive(Debug, Deserialize)]
struct UpstreamIdName {
    id: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct UpstreamTechnique {
    id: String,
    name: String,
    #[serde(default)]
    subtechnique: Vec<UpstreamIdName>,
}

#[derive(Debug, Deserialize)]
struct InvestigationFields {
    #[serde(default)]
    field_names: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct AlertSuppression {
    #[serde(default)]
    group_by: Vec<String>,
    duration: Option<Duration>,
    missing_fields_strategy: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Duration {
    value: u64,
    unit: String,
}

#[derive(Debug, Deserialize)]
struct UpstreamNewTerms {
    #[serde(default)]
    value: Vec<String>,
    #[serde(default)]
    history_window_start: Vec<FieldValue>,
}

#[derive(Debug, Deserialize)]
struct FieldValue {
    value: String,
}

#[derive(Debug, Deserialize)]
struct UpstreamThreshold {
    #[serde(default)]
    field: Vec<String>,
    value: u64,
    #[serde(default)]
    cardinality: Vec<UpstreamCardinality>,
}

#[derive(Debug, Deserialize)]
struct UpstreamCardinality {
    field: String,
    value: u64,
}

// ---------------------------------------------------------------------------------------------
// Which files are CloudTrail rules

/// Why the file is left out of the counts: a deprecated rule, or one that reads no CloudTrail
/// data (another integration's index; without an index — ES|QL, machine learning — neither of
/// the AWS integration nor naming CloudTrail).
fn not_applicable(parsed: &RuleFile) -> Option<String> {
    let rule = &parsed.rule;
    if parsed.metadata.maturity.as_deref() == Some("deprecated") {
        return Some("deprecated upstream".into());
    }
    let aws = parsed.metadata.integration.iter().any(|i| i == "aws");
    let cloudtrail = match &rule.index {
        Some(index) => index.iter().any(|i| i.contains("cloudtrail")),
        None => {
            aws || rule
                .query
                .as_deref()
                .is_some_and(|q| q.contains("cloudtrail"))
        }
    };
    match cloudtrail {
        true => None,
        false => Some(match &rule.index {
            Some(index) => format!("reads no CloudTrail index ({})", index.join(", ")),
            None => "reads no CloudTrail data".into(),
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Translation

/// Why a rule is not imported.
enum Refusal {
    /// A rule eshunt cannot run (one line).
    Refused(String),
    /// A file whose content is not what detection-rules writes.
    Malformed(String),
}

/// The rule-type specific part of a translation.
#[derive(Default)]
struct Logic {
    detection: Detection,
    threshold: Option<Threshold>,
    new_terms: Option<NewTerms>,
    notes: Vec<String>,
}

fn build(parsed: &RuleFile, file: &str) -> Result<(Draft, Vec<String>), Refusal> {
    let rule = &parsed.rule;
    let (schedule, mut notes) = schedule(rule).map_err(Refusal::Malformed)?;
    let logic = logic(rule, &schedule.lookback)?;
    notes.extend(logic.notes);
    let suppress = match &rule.alert_suppression {
        Some(s) => Some(suppression(s, &mut notes).map_err(Refusal::Malformed)?),
        None => None,
    };
    let mut warnings = ingest_only_warning(rule, &logic.detection);
    warnings.extend(notes.iter().filter(|n| n.starts_with("look-back")).cloned());
    let version = parsed.metadata.updated_date.clone();
    let draft = Draft {
        // Prefixed: eshunt's own ports of Elastic rules keep the bare rule_id (the shipped
        // Lambda layer rule does), and Sigma rules sometimes reuse Elastic's ids.
        id: format!("elastic.{}", rule.rule_id),
        name: rule.name.clone(),
        version: version
            .as_deref()
            .and_then(draft::version_of_date)
            .unwrap_or(1),
        enabled: true,
        building_block: rule.building_block_type.is_some(),
        severity: rule.severity.clone(),
        risk_score: rule.risk_score.clamp(0, 100) as u8,
        description: rule.description.trim_end().to_string(),
        author: rule.author.clone(),
        license: rule.license.clone(),
        tags: rule.tags.clone(),
        references: rule.references.clone(),
        false_positives: rule
            .false_positives
            .iter()
            .map(|f| f.trim().to_string())
            .collect(),
        investigation_fields: investigation_fields(rule),
        runbook: runbook(rule),
        origin: Origin {
            product: PRODUCT.into(),
            rule_id: rule.rule_id.clone(),
            version,
            file: file.to_string(),
            license: rule.license.clone(),
            url: url(parsed, file),
            notes: (!notes.is_empty()).then(|| notes.join("\n")),
        },
        threat: rule.threat.iter().map(threat).collect(),
        source: Source {
            index: rule.index.clone().unwrap_or_default(),
            timestamp_field: rule
                .timestamp_override
                .clone()
                .unwrap_or_else(|| "@timestamp".into()),
        },
        schedule,
        detection: logic.detection,
        alert: alert(rule, logic.threshold.as_ref(), logic.new_terms.as_ref()),
        threshold: logic.threshold,
        new_terms: logic.new_terms,
        suppress,
    };
    Ok((draft, warnings))
}

/// The detection of each rule type; the types eshunt does not run are refused.
fn logic(rule: &UpstreamRule, lookback: &str) -> Result<Logic, Refusal> {
    let refused = |reason: &str| Err(Refusal::Refused(reason.into()));
    match (rule.kind.as_str(), rule.language.as_deref()) {
        ("esql", _) => {
            refused("ES|QL queries (aggregations, DISSECT/GROK/EVAL) have no eshunt equivalent")
        }
        ("machine_learning", _) => {
            refused("machine learning rules need Elastic's anomaly detection jobs")
        }
        ("eql", _) => eql_logic(rule),
        ("query" | "new_terms" | "threshold", Some("kuery")) => {
            let mut logic = Logic {
                detection: Detection {
                    kql: Some(query(rule)?.to_string()),
                    ..Detection::default()
                },
                ..Logic::default()
            };
            match rule.kind.as_str() {
                "new_terms" => logic.new_terms = Some(new_terms(rule)?),
                "threshold" => {
                    logic.threshold = Some(threshold(rule, lookback)?);
                    logic
                        .notes
                        .push(THRESHOLD_NOTE.replace("{window}", lookback));
                }
                _ => {}
            }
            Ok(logic)
        }
        (kind, language) => Err(Refusal::Refused(format!(
            "{kind} rules in {} are not supported",
            language.unwrap_or("no language")
        ))),
    }
}

const THRESHOLD_NOTE: &str = "Threshold: Elastic counts each run's window (its look-back, {window}, overlapping the previous run's); eshunt counts fixed {window} buckets aligned to the epoch, each judged once (README, \"Threshold rules\"): a burst spanning two buckets may be counted in neither.";

fn query(rule: &UpstreamRule) -> Result<&str, Refusal> {
    rule.query
        .as_deref()
        .ok_or_else(|| Refusal::Malformed("the rule has no query".into()))
}

fn eql_logic(rule: &UpstreamRule) -> Result<Logic, Refusal> {
    let category_field = rule
        .event_category_override
        .as_deref()
        .unwrap_or("event.category");
    let translation = eql::translate(query(rule)?, category_field)
        .map_err(|e| Refusal::Refused(format!("EQL not translated: {e}")))?;
    let dsl = serde_json::to_string_pretty(&translation.prefilter)
        .map_err(|e| Refusal::Malformed(e.to_string()))?;
    let category = match &translation.category {
        Some(c) => format!("; the event category `{c}` is `{category_field}: {c}`"),
        None => String::new(),
    };
    let prefilter = match translation.prefilter_derived {
        true => "the prefilter (query DSL) is what the query requires that the cluster checks exactly",
        false => "nothing in the query could be checked by the cluster: the prefilter takes the CloudTrail data set",
    };
    Ok(Logic {
        detection: Detection {
            dsl: Some(dsl),
            condition: Some(translation.condition),
            ..Detection::default()
        },
        notes: vec![format!(
            "EQL translated into a condition on ECS fields (ecs(…)), with EQL's case rules{category}; {prefilter}."
        )],
        ..Logic::default()
    })
}

fn ecs_field(field: &str) -> Result<String, Refusal> {
    EcsPath::parse(field).map_err(Refusal::Malformed)?;
    Ok(format!("ecs({field})"))
}

fn ecs_fields(fields: &[String]) -> Result<Vec<String>, Refusal> {
    fields.iter().map(|f| ecs_field(f)).collect()
}

fn new_terms(rule: &UpstreamRule) -> Result<NewTerms, Refusal> {
    let terms = rule
        .new_terms
        .as_ref()
        .ok_or_else(|| Refusal::Malformed("a new_terms rule without [rule.new_terms]".into()))?;
    let history = terms.history_window_start.first().ok_or_else(|| {
        Refusal::Malformed("[rule.new_terms] without history_window_start".into())
    })?;
    Ok(NewTerms {
        fields: ecs_fields(&terms.value)?,
        history_window_start: history.value.clone(),
    })
}

fn threshold(rule: &UpstreamRule, lookback: &str) -> Result<Threshold, Refusal> {
    let t = rule
        .threshold
        .as_ref()
        .ok_or_else(|| Refusal::Malformed("a threshold rule without [rule.threshold]".into()))?;
    let cardinality = match t.cardinality.as_slice() {
        [] => None,
        [one] => Some(Cardinality {
            field: ecs_field(&one.field)?,
            min: one.value,
        }),
        _ => {
            return Err(Refusal::Refused(
                "a threshold with several cardinality fields".into(),
            ))
        }
    };
    Ok(Threshold {
        group_by: ecs_fields(&t.field)?,
        count: t.value.max(1),
        cardinality,
        window: lookback.to_string(),
    })
}

/// `[suppress]`: Elastic's group fields and duration; what `missing_fields_strategy` becomes
/// is noted (eshunt never groups events missing a field: each gets its own alert).
fn suppression(s: &AlertSuppression, notes: &mut Vec<String>) -> Result<Suppress, String> {
    let duration = s.duration.as_ref().ok_or(
        "alert suppression without a duration (per rule execution) has no eshunt equivalent",
    )?;
    let by = s
        .group_by
        .iter()
        .map(|f| EcsPath::parse(f).map(|_| format!("ecs({f})")))
        .collect::<Result<Vec<_>, _>>()?;
    let period = format!("{}{}", duration.value, duration.unit);
    let missing = match s.missing_fields_strategy.as_deref() {
        Some("suppress") => "Elastic suppresses events missing a group field together (missing_fields_strategy = suppress); eshunt alerts on each of them",
        _ => "events missing a group field are alerted on each, as Elastic's doNotSuppress",
    };
    notes.push(format!(
        "Alert suppression: one alert per group per {period} period aligned to the epoch (Elastic: {period} from the group's first alert); {missing}."
    ));
    Ok(Suppress { by, period })
}

/// `interval` and `from` (`now-6m`) as eshunt's interval and look-back; Kibana's defaults
/// (5m, now-6m) when absent. A look-back shorter than the interval is raised to it (eshunt
/// refuses gaps between runs), with a note.
fn schedule(rule: &UpstreamRule) -> Result<(Schedule, Vec<String>), String> {
    let interval = rule.interval.clone().unwrap_or_else(|| "5m".into());
    let from = rule.from.as_deref().unwrap_or("now-6m");
    let lookback =
        date_math_span(from).ok_or_else(|| format!("cannot read `from = \"{from}\"`"))?;
    let seconds = |span: &str| crate::time::Span::parse(span).map(|s| s.delta().num_seconds());
    let mut notes = Vec::new();
    let lookback = match (seconds(&lookback), seconds(&interval)) {
        (Ok(l), Ok(i)) if l < i => {
            notes.push(format!(
                "look-back {lookback} (from = {from}) is shorter than the interval {interval}: raised to {interval}, as eshunt runs leave no gaps"
            ));
            interval.clone()
        }
        (Ok(_), Ok(_)) => lookback,
        (Err(e), _) | (_, Err(e)) => return Err(format!("cannot read the schedule: {e}")),
    };
    Ok((Schedule { interval, lookback }, notes))
}

/// `now-6m` → `6m` (Elastic's date math for a look-back: `now-` and a span).
fn date_math_span(from: &str) -> Option<String> {
    let span = from.trim().strip_prefix("now-")?;
    let digits = span.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &span[digits.len()..];
    let valid = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && ["s", "m", "h", "d"].contains(&unit);
    valid.then(|| span.to_string())
}

/// A warning when the rule reads fields Elastic's ingest pipeline adds (GeoIP `source.as.*`,
/// parsed user agents): raw CloudTrail records lack them, so the rule runs in the cluster and on
/// ECS exports only.
fn ingest_only_warning(rule: &UpstreamRule, detection: &Detection) -> Vec<String> {
    let text = [detection.kql.as_deref(), detection.condition.as_deref()];
    let mut fields: Vec<String> = text
        .into_iter()
        .flatten()
        .flat_map(field_names)
        .filter(|f| is_added_at_ingest(f))
        .collect();
    fields.extend(
        rule.new_terms
            .iter()
            .flat_map(|t| &t.value)
            .filter(|f| is_added_at_ingest(f))
            .cloned(),
    );
    fields.sort();
    fields.dedup();
    match fields.is_empty() {
        true => Vec::new(),
        false => vec![format!(
            "reads {}, added by Elastic's ingest pipeline: runs in the cluster and on ECS exports, not on raw CloudTrail files",
            fields.join(", ")
        )],
    }
}

/// The dotted names in a query that look like ECS fields (`source.as.organization.name:`,
/// `ecs(source.geo.country_iso_code)`).
fn field_names(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || "._@".contains(c)))
        .filter(|w| w.contains('.') && w.starts_with(|c: char| c.is_ascii_lowercase()))
        .map(str::to_string)
        .collect()
}

fn threat(t: &UpstreamThreat) -> Threat {
    Threat {
        tactic: IdName {
            id: t.tactic.id.clone(),
            name: t.tactic.name.clone(),
        },
        technique: t
            .technique
            .iter()
            .map(|tech| Technique {
                id: tech.id.clone(),
                name: tech.name.clone(),
                subtechnique: tech
                    .subtechnique
                    .iter()
                    .map(|s| IdName {
                        id: s.id.clone(),
                        name: s.name.clone(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn investigation_fields(rule: &UpstreamRule) -> Vec<String> {
    rule.investigation_fields
        .as_ref()
        .map(|i| i.field_names.clone())
        .unwrap_or_default()
}

/// The investigation guide (`note`), with the setup instructions after it (under a `## Setup`
/// heading unless they start with one).
fn runbook(rule: &UpstreamRule) -> Option<String> {
    let note = rule
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let setup = rule
        .setup
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let setup = setup.map(|s| match s.starts_with('#') {
        true => s.to_string(),
        false => format!("## Setup\n\n{s}"),
    });
    match (note, setup) {
        (Some(note), Some(setup)) => Some(format!("{note}\n\n{setup}")),
        (Some(note), None) => Some(note.to_string()),
        (None, setup) => setup,
    }
}

/// The file on GitHub: its path from the checkout's `rules/` or `rules_building_block/` folder
/// when the name given has one, else where detection-rules keeps such a rule.
fn url(parsed: &RuleFile, file: &str) -> Option<String> {
    let parts: Vec<&str> = file.split('/').collect();
    let root = parts
        .iter()
        .rposition(|p| *p == "rules" || *p == "rules_building_block");
    let path = match root {
        Some(at) => parts[at..].join("/"),
        None => {
            let name = parts.last()?;
            if parsed.rule.building_block_type.is_some() {
                format!("rules_building_block/{name}")
            } else if parsed.metadata.integration.iter().any(|i| i == "aws") {
                format!("rules/integrations/aws/{name}")
            } else {
                return None;
            }
        }
    };
    Some(format!("{REPOSITORY_URL}{path}"))
}

// ---------------------------------------------------------------------------------------------
// Alert

/// The title (the rule name and what identifies the match) and a context of up to six
/// investigation fields a raw record has too.
fn alert(
    rule: &UpstreamRule,
    threshold: Option<&Threshold>,
    new_terms: Option<&NewTerms>,
) -> Alert {
    let name = rule.name.replace('{', "{{").replace('}', "}}");
    let group = |fields: &[String]| -> String {
        fields
            .iter()
            .map(|f| format!("{{{f}|none}}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let title = match (threshold, new_terms) {
        (Some(t), _) if t.group_by.is_empty() => name,
        (Some(t), _) => format!("{name}: {}", group(&t.group_by)),
        (_, Some(n)) => format!("{name}: {}", group(&n.fields)),
        _ => format!("{name}: {{eventName|unknown}} by {{userIdentity.arn|unknown}}"),
    };
    let context = match threshold {
        Some(_) => Vec::new(),
        None => investigation_fields(rule)
            .iter()
            .filter(|f| context_worthy(f))
            .take(6)
            .map(|f| (f.replace('.', "_"), format!("ecs({f})")))
            .collect(),
    };
    Alert { title, context }
}

/// A field worth the alert context: an ECS field of the event that raw records have too.
fn context_worthy(field: &str) -> bool {
    field != "@timestamp"
        && !field.starts_with("Esql")
        && !is_added_at_ingest(field)
        && EcsPath::parse(field).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Origin as EventOrigin};
    use crate::rule::{load_file, PrefilterCheck, Rule};

    /// A detection-rules file: `[metadata]`, then `[rule]` with `rule_lines` added.
    fn upstream(rule_lines: &str) -> String {
        format!(
            "[metadata]\nupdated_date = \"2026/05/04\"\nmaturity = \"production\"\nintegration = [\"aws\"]\n\n\
             [rule]\nrule_id = \"r-1\"\nname = \"A {{braced}} rule\"\ndescription = \"d\"\nseverity = \"high\"\n\
             risk_score = 73\nauthor = [\"Elastic\"]\nlicense = \"Elastic License v2\"\n{rule_lines}\n"
        )
    }

    fn imported(text: &str) -> (Draft, Vec<String>) {
        match convert(text, "rules/integrations/aws/r.toml") {
            Conversion::Rule {
                draft, warnings, ..
            } => (*draft, warnings),
            other => panic!("not imported: {other:?}"),
        }
    }

    /// The draft written and loaded as eshunt loads it.
    fn loaded(draft: &Draft) -> Rule {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.toml");
        std::fs::write(&path, draft.to_toml("test").unwrap()).unwrap();
        load_file(&path).unwrap_or_else(|e| panic!("{e:?}"))
    }

    const KQL: &str =
        "type = \"query\"\nlanguage = \"kuery\"\nindex = [\"logs-aws.cloudtrail-*\"]\n\
                       query = 'event.provider: iam.amazonaws.com and event.action: CreateUser'";

    #[test]
    fn a_kql_rule_keeps_its_query_and_kibanas_defaults() {
        let (draft, warnings) = imported(&upstream(KQL));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            draft.detection.kql.as_deref(),
            Some("event.provider: iam.amazonaws.com and event.action: CreateUser")
        );
        assert_eq!(draft.detection.condition, None);
        assert_eq!(
            draft.source.timestamp_field, "@timestamp",
            "Kibana's default, written out"
        );
        assert_eq!(draft.schedule.interval, "5m");
        assert_eq!(draft.schedule.lookback, "6m");
        assert_eq!(draft.version, 20260504);
        assert_eq!(draft.origin.version.as_deref(), Some("2026/05/04"));
        assert_eq!(
            draft.alert.title,
            "A {{braced}} rule: {eventName|unknown} by {userIdentity.arn|unknown}"
        );
        let rule = loaded(&draft);
        assert_eq!(rule.meta.name, "A {braced} rule");
        assert!(!rule.meta.building_block);
    }

    #[test]
    fn a_short_look_back_is_raised_to_the_interval() {
        let lines = format!(
            "{KQL}\ninterval = \"10m\"\nfrom = \"now-5m\"\nbuilding_block_type = \"default\""
        );
        let (draft, warnings) = imported(&upstream(&lines));
        assert_eq!(draft.schedule.lookback, "10m");
        assert!(
            warnings[0].contains("shorter than the interval"),
            "{warnings:?}"
        );
        assert!(draft.building_block);
        assert!(loaded(&draft).meta.building_block);
    }

    #[test]
    fn suppression_groups_on_ecs_fields_and_notes_missing_fields() {
        let lines = format!(
            "{KQL}\n[rule.alert_suppression]\ngroup_by = [\"source.ip\"]\n\
             duration = {{value = 5, unit = \"m\"}}\nmissing_fields_strategy = \"suppress\""
        );
        let (draft, _) = imported(&upstream(&lines));
        let suppress = draft.suppress.as_ref().unwrap();
        assert_eq!(suppress.by, ["ecs(source.ip)"]);
        assert_eq!(suppress.period, "5m");
        let notes = draft.origin.notes.as_deref().unwrap();
        assert!(notes.contains("eshunt alerts on each of them"), "{notes}");
        loaded(&draft);
    }

    #[test]
    fn an_eql_rule_runs_on_raw_cloudtrail_records() {
        let eql = r#"type = "eql"
language = "eql"
index = ["logs-aws.cloudtrail-*"]
query = '''
iam where data_stream.dataset == "aws.cloudtrail" and event.action == "AttachUserPolicy"
  and stringContains(aws.cloudtrail.request_parameters, "policyArn=arn:aws:iam::aws:policy/AdministratorAccess")
'''"#;
        let (draft, _) = imported(&upstream(eql));
        let rule = loaded(&draft);
        let verdict = |policy: &str| {
            let record = serde_json::json!({
                "eventVersion": "1.08", "eventTime": "2026-05-04T10:00:00Z",
                "eventSource": "iam.amazonaws.com", "eventName": "AttachUserPolicy",
                "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2",
                "eventID": "e1", "recipientAccountId": "111122223333",
                "userIdentity": { "type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/a",
                                  "accountId": "111122223333" },
                "requestParameters": { "userName": "b", "policyArn": policy }
            });
            let event = Event::from_cloudtrail(record, EventOrigin::Inline("t".into()));
            rule.evaluate(&event, PrefilterCheck::Local).matched
        };
        assert!(verdict("arn:aws:iam::aws:policy/AdministratorAccess"));
        assert!(!verdict("arn:aws:iam::aws:policy/ReadOnlyAccess"));
    }

    #[test]
    fn refused_and_not_applicable_rules_say_why() {
        let refused = |lines: &str| match convert(&upstream(lines), "x.toml") {
            Conversion::Refused { kind, reason } => format!("{kind}: {reason}"),
            other => panic!("{other:?}"),
        };
        let esql = "type = \"esql\"\nlanguage = \"esql\"\nquery = 'FROM logs-aws.cloudtrail-* | STATS c = COUNT(*)'";
        assert!(refused(esql).starts_with("esql: ES|QL"));
        assert!(refused("type = \"machine_learning\"").starts_with("machine_learning:"));
        let lucene = "type = \"query\"\nlanguage = \"lucene\"\nindex = [\"logs-aws.cloudtrail-*\"]\nquery = 'a:b'";
        assert!(refused(lucene).contains("lucene"));
        let endpoint = upstream(
            "type = \"query\"\nlanguage = \"kuery\"\nindex = [\"logs-endpoint.events.*\"]\nquery = 'a: b'",
        );
        let why = |text: &str| match convert(text, "x.toml") {
            Conversion::NotApplicable(why) => why,
            other => panic!("{other:?}"),
        };
        assert!(why(&endpoint).contains("no CloudTrail index"));
        let deprecated = upstream(KQL).replace("\"production\"", "\"deprecated\"");
        assert!(why(&deprecated).contains("deprecated"));
        assert!(matches!(
            convert("not toml [", "x.toml"),
            Conversion::Malformed(_)
        ));
    }

    #[test]
    fn date_math_look_backs() {
        assert_eq!(date_math_span("now-6m").as_deref(), Some("6m"));
        assert_eq!(date_math_span("now-60m").as_deref(), Some("60m"));
        assert_eq!(date_math_span("now-2h").as_deref(), Some("2h"));
        assert_eq!(date_math_span("now-7d").as_deref(), Some("7d"));
        assert_eq!(date_math_span("now-1w"), None);
        assert_eq!(date_math_span("2026-01-01"), None);
    }

    #[test]
    fn field_names_of_a_query() {
        let names = field_names("source.as.organization.name: (\"A\" or B) and event.action: X and not ecs(user.name) eq \"1.2\"");
        assert_eq!(
            names,
            ["source.as.organization.name", "event.action", "user.name"]
        );
    }
}
