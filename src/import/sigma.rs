//! Sigma rules (YAML) → eshunt rules.
//!
//! Only `logsource: {product: aws, service: cloudtrail}` rules are read. The detection becomes
//! an eshunt condition with Sigma's semantics ([`detection`], [`value`], [`emit`]) and a query
//! DSL prefilter that is never narrower than it; upstream bugs found by general checks
//! ([`checks`]) become warnings. The README ("Importing Elastic's and Sigma's rules", "Sigma")
//! documents every choice.

pub mod checks;
pub mod detection;
pub mod emit;
pub mod value;

use super::draft::{
    version_of_date, Alert, Detection, Draft, IdName, Origin, Schedule, Source, Threat,
};
use super::Conversion;
use detection::{Node, Problem};
use yaml_rust2::{Yaml, YamlLoader};

/// The upstream rule type in summaries.
const KIND: &str = "sigma";

/// Where SigmaHQ keeps its CloudTrail rules, for URLs of files given outside a checkout.
const CLOUDTRAIL_FOLDER: &str = "rules/cloud/aws/cloudtrail";

/// Converts one Sigma rule file (`file` is its path in the checkout).
pub fn convert(text: &str, file: &str) -> Conversion {
    let docs: Vec<Yaml> = match YamlLoader::load_from_str(text) {
        // An empty document (a stray `---` at the end) is no rule.
        Ok(docs) => docs.into_iter().filter(|d| !d.is_null()).collect(),
        Err(e) => return Conversion::Malformed(format!("not YAML: {e}")),
    };
    let rule = match docs.as_slice() {
        [rule] => rule,
        [] => return Conversion::NotApplicable("an empty file".into()),
        _ => {
            return refused(
                "a rule collection (several YAML documents): import its rules one by one",
            )
        }
    };
    if !rule["correlation"].is_badvalue() {
        return refused("a correlation rule: eshunt judges one event at a time");
    }
    if let Some(why) = not_applicable(rule) {
        return Conversion::NotApplicable(why);
    }
    let node = match detection::parse(&rule["detection"]) {
        Ok(node) => node,
        Err(Problem::Refused(reason)) => return refused(&reason),
        Err(Problem::Malformed(why)) => return Conversion::Malformed(why),
    };
    match draft(rule, &node, file) {
        Ok(draft) => Conversion::Rule {
            draft: Box::new(draft),
            kind: KIND.into(),
            warnings: checks::warnings(&node),
        },
        Err(why) => Conversion::Malformed(why),
    }
}

fn refused(reason: &str) -> Conversion {
    Conversion::Refused {
        kind: KIND.into(),
        reason: reason.into(),
    }
}

/// Why the file is not a CloudTrail rule to import, if it is not.
fn not_applicable(rule: &Yaml) -> Option<String> {
    let field = |name: &str| rule["logsource"][name].as_str().unwrap_or("").to_string();
    let (product, service) = (field("product"), field("service"));
    if !rule["filter"].is_badvalue() && rule["detection"].is_badvalue() {
        return Some("a Sigma filter, not a rule".into());
    }
    if !(product.eq_ignore_ascii_case("aws") && service.eq_ignore_ascii_case("cloudtrail")) {
        return Some(format!(
            "logsource product `{product}`, service `{service}` (not aws/cloudtrail)"
        ));
    }
    let status = rule["status"].as_str().unwrap_or("");
    matches!(status, "deprecated" | "unsupported").then(|| format!("status `{status}`"))
}

/// The eshunt rule.
fn draft(rule: &Yaml, node: &Node, file: &str) -> Result<Draft, String> {
    let text = |key: &str| rule[key].as_str().map(str::trim).map(str::to_string);
    let id = text("id").ok_or("the rule has no `id`")?;
    let title = text("title").ok_or("the rule has no `title`")?;
    let level = text("level").unwrap_or_else(|| "medium".into());
    let (severity, building_block) = severity(&level)?;
    let date = text("modified").or_else(|| text("date"));
    let dsl = emit::prefilter(node);
    let prefilter = dsl.clone().unwrap_or_else(emit::broad_prefilter);
    Ok(Draft {
        // Sigma rules sometimes reuse the id of the Elastic rule they were written from: the
        // prefix keeps both imports loadable side by side.
        id: format!("sigma.{id}"),
        name: title.clone(),
        version: date.as_deref().and_then(version_of_date).unwrap_or(1),
        enabled: true,
        building_block,
        severity: severity.as_str().into(),
        risk_score: severity.number(),
        description: text("description").unwrap_or_else(|| title.clone()),
        author: text("author").into_iter().collect(),
        license: Some(text("license").unwrap_or_else(|| "DRL-1.1".into())),
        tags: tags(rule, &level),
        references: strings(&rule["references"]),
        false_positives: strings(&rule["falsepositives"]),
        origin: Origin {
            product: "Sigma".into(),
            rule_id: id,
            version: date,
            file: file.into(),
            license: Some("DRL-1.1".into()),
            url: Some(url(file)),
            notes: Some(notes(node, dsl.is_none())),
        },
        threat: threat(rule),
        source: Source::cloudtrail(),
        schedule: Schedule::kibana_default(),
        detection: Detection {
            dsl: Some(serde_json::to_string_pretty(&prefilter).map_err(|e| e.to_string())?),
            condition: Some(emit::condition(node)),
            ..Detection::default()
        },
        alert: Alert {
            title: format!(
                "{}: {{eventName}} by {{userIdentity.arn|unknown}}",
                title.replace('{', "{{").replace('}', "}}")
            ),
            context: [
                "eventSource",
                "eventName",
                "userIdentity.arn",
                "sourceIPAddress",
            ]
            .iter()
            .map(|f| (f.to_string(), f.to_string()))
            .collect(),
        },
        ..Draft::default()
    })
}

/// Sigma's level as an eshunt severity; `informational` rules become building blocks (Sigma:
/// "no case or alerting should be triggered by such rules").
fn severity(level: &str) -> Result<(crate::rule::Severity, bool), String> {
    use crate::rule::Severity;
    match level.to_ascii_lowercase().as_str() {
        "informational" => Ok((Severity::Low, true)),
        other => Severity::parse(other)
            .map(|s| (s, false))
            .ok_or_else(|| format!("unknown level `{level}`")),
    }
}

/// A list of strings (or one string).
fn strings(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::Array(items) => items
            .iter()
            .filter_map(Yaml::as_str)
            .map(str::to_string)
            .collect(),
        Yaml::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Sigma's tags but the tactics (which become `[[threat]]`), then `sigma-status:…` and
/// `sigma-level:…`.
fn tags(rule: &Yaml, level: &str) -> Vec<String> {
    let mut tags: Vec<String> = strings(&rule["tags"])
        .into_iter()
        .filter(|t| tactic(t).is_none())
        .collect();
    if let Some(status) = rule["status"].as_str() {
        tags.push(format!("sigma-status:{status}"));
    }
    tags.push(format!("sigma-level:{}", level.to_ascii_lowercase()));
    tags
}

/// ATT&CK tactics by Sigma tag (`attack.defense-impairment`), as of ATT&CK v19 (which split
/// Defense Evasion into Stealth, keeping TA0005, and Defense Impairment).
const TACTICS: &[(&str, &str, &str)] = &[
    ("reconnaissance", "TA0043", "Reconnaissance"),
    ("resource-development", "TA0042", "Resource Development"),
    ("initial-access", "TA0001", "Initial Access"),
    ("execution", "TA0002", "Execution"),
    ("persistence", "TA0003", "Persistence"),
    ("privilege-escalation", "TA0004", "Privilege Escalation"),
    ("defense-evasion", "TA0005", "Defense Evasion"),
    ("stealth", "TA0005", "Stealth"),
    ("defense-impairment", "TA0112", "Defense Impairment"),
    ("credential-access", "TA0006", "Credential Access"),
    ("discovery", "TA0007", "Discovery"),
    ("lateral-movement", "TA0008", "Lateral Movement"),
    ("collection", "TA0009", "Collection"),
    ("command-and-control", "TA0011", "Command and Control"),
    ("exfiltration", "TA0010", "Exfiltration"),
    ("impact", "TA0040", "Impact"),
];

fn tactic(tag: &str) -> Option<IdName> {
    let name = tag.strip_prefix("attack.")?;
    TACTICS
        .iter()
        .find(|(t, _, _)| t.eq_ignore_ascii_case(name))
        .map(|(_, id, name)| IdName {
            id: id.to_string(),
            name: name.to_string(),
        })
}

/// One `[[threat]]` per tactic tag. Sigma's tags do not say which tactic a technique serves,
/// so techniques stay tags (`attack.t1098`) rather than being attached by guess.
fn threat(rule: &Yaml) -> Vec<Threat> {
    let mut out: Vec<Threat> = Vec::new();
    for tactic in strings(&rule["tags"]).iter().filter_map(|t| tactic(t)) {
        if !out.iter().any(|t| t.tactic == tactic) {
            out.push(Threat {
                tactic,
                technique: Vec::new(),
            });
        }
    }
    out
}

/// The file on SigmaHQ's GitHub: its path from the checkout's `rules…` folder, or (a file
/// given outside a checkout) in the CloudTrail rules' folder.
fn url(file: &str) -> String {
    let segments: Vec<&str> = file.split('/').collect();
    let path = match segments.iter().position(|s| s.starts_with("rules")) {
        Some(i) => segments[i..].join("/"),
        None => format!("{CLOUDTRAIL_FOLDER}/{}", segments.last().unwrap_or(&file)),
    };
    format!("https://github.com/SigmaHQ/sigma/blob/master/{path}")
}

/// What the translation changed or could not keep.
fn notes(node: &Node, broad: bool) -> String {
    let mut notes = vec![
        "Translated by eshunt from Sigma's detection: matching is case-insensitive unless \
         `cased`, as Sigma's; ATT&CK techniques are kept as tags."
            .to_string(),
    ];
    if emit::condition(node).contains("ecs(aws.cloudtrail.") {
        notes.push(
            "A whole object (`requestParameters`, `responseElements`…) matched as a string is \
             read as the Java-map text Elastic's integration stores (`ecs(aws.cloudtrail.…)`)."
                .into(),
        );
    }
    if broad {
        notes.push(
            "No prefilter could be derived from the detection: the prefilter is every \
             CloudTrail document (`data_stream.dataset: aws.cloudtrail`), the condition does \
             all the work."
                .into(),
        );
    }
    notes.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_point_at_sigmahq() {
        let base = "https://github.com/SigmaHQ/sigma/blob/master/";
        assert_eq!(
            url("rules/cloud/aws/cloudtrail/a.yml"),
            format!("{base}rules/cloud/aws/cloudtrail/a.yml")
        );
        assert_eq!(
            url("sigma/rules-emerging-threats/x/b.yml"),
            format!("{base}rules-emerging-threats/x/b.yml")
        );
        assert_eq!(
            url("cloudtrail/c.yml"),
            format!("{base}rules/cloud/aws/cloudtrail/c.yml")
        );
    }

    #[test]
    fn informational_rules_are_building_blocks() {
        let (low, block) = severity("informational").unwrap();
        assert_eq!((low.as_str(), block), ("low", true));
        let (critical, block) = severity("Critical").unwrap();
        assert_eq!((critical.as_str(), block), ("critical", false));
        assert!(severity("urgent").is_err());
    }

    #[test]
    fn a_trailing_document_marker_is_not_a_rule_collection() {
        let text = "title: T\nid: x\nlogsource: {product: gcp}\ndetection: {a: {b: c}, condition: a}\n---\n";
        assert!(matches!(
            convert(text, "t.yml"),
            Conversion::NotApplicable(_)
        ));
        let two = format!("{text}title: U\n");
        assert!(matches!(convert(&two, "t.yml"), Conversion::Refused { .. }));
    }

    #[test]
    fn tactic_tags_become_threat_and_techniques_stay_tags() {
        let rule = &YamlLoader::load_from_str(
            "tags: [attack.stealth, attack.t1078.004, attack.STEALTH, attack.defense-impairment, cve.2024-1]\nstatus: test",
        )
        .unwrap()[0];
        let ids: Vec<String> = threat(rule).into_iter().map(|t| t.tactic.id).collect();
        assert_eq!(ids, ["TA0005", "TA0112"]);
        assert_eq!(
            tags(rule, "High"),
            [
                "attack.t1078.004",
                "cve.2024-1",
                "sigma-status:test",
                "sigma-level:high"
            ]
        );
    }
}
