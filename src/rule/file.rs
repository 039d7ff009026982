//! The rule file format (`queries/*.toml`), as deserialized before validation. Field by field
//! documentation lives in the README ("Rule files"); [`super::load`] turns this into a
//! [`super::Rule`].

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;
use toml::Spanned;

/// A rule file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub id: Spanned<String>,
    pub name: String,
    pub description: String,
    #[serde(default = "one")]
    pub version: u32,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub building_block: bool,
    pub severity: Spanned<String>,
    pub risk_score: Option<Spanned<i64>>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub author: Vec<String>,
    pub license: Option<String>,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub false_positives: Vec<String>,
    #[serde(default)]
    pub investigation_fields: Vec<String>,
    pub runbook: Option<String>,
    pub origin: Option<OriginFile>,
    #[serde(default)]
    pub threat: Vec<Spanned<ThreatFile>>,
    #[serde(default)]
    pub source: SourceFile,
    pub schedule: Option<Spanned<ScheduleFile>>,
    pub detection: Spanned<DetectionFile>,
    pub threshold: Option<Spanned<ThresholdFile>>,
    pub new_terms: Option<Spanned<NewTermsFile>>,
    pub suppress: Option<Spanned<SuppressFile>>,
    pub alert: AlertFile,
    #[serde(default)]
    pub tests: Vec<Spanned<TestFile>>,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// Where the rule comes from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginFile {
    pub product: String,
    pub rule_id: String,
    pub version: Option<String>,
    pub file: Option<String>,
    pub license: Option<String>,
    pub url: Option<String>,
    pub notes: Option<String>,
}

/// One MITRE ATT&CK tactic with its techniques.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreatFile {
    #[serde(default = "mitre")]
    pub framework: String,
    pub tactic: IdName,
    #[serde(default)]
    pub technique: Vec<TechniqueFile>,
}

fn mitre() -> String {
    "MITRE ATT&CK".into()
}

/// A technique and its subtechniques.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TechniqueFile {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub subtechnique: Vec<IdName>,
}

/// An ATT&CK id and its name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdName {
    pub id: String,
    pub name: String,
}

/// Which indices a rule reads, and on which time field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFile {
    #[serde(default = "default_index")]
    pub index: Vec<String>,
    #[serde(default = "default_timestamp")]
    pub timestamp_field: String,
    #[serde(default = "default_timestamp_fallback")]
    pub timestamp_fallback: Option<String>,
}

impl Default for SourceFile {
    fn default() -> Self {
        SourceFile {
            index: default_index(),
            timestamp_field: default_timestamp(),
            timestamp_fallback: default_timestamp_fallback(),
        }
    }
}

fn default_index() -> Vec<String> {
    vec!["logs-aws.cloudtrail-*".into()]
}

/// Windows are on ingest time, as Elastic's rules for CloudTrail (`timestamp_override`): late
/// deliveries are hunted when they arrive.
fn default_timestamp() -> String {
    "event.ingested".into()
}

/// Documents without the timestamp field are matched on `@timestamp` (ignored when it is the
/// timestamp field).
fn default_timestamp_fallback() -> Option<String> {
    Some("@timestamp".into())
}

/// When a rule runs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFile {
    pub interval: Option<String>,
    pub cron: Option<String>,
    pub lookback: Option<String>,
}

/// The detection logic: the coarse prefilter Elasticsearch evaluates (`kql` or `dsl`) and the
/// fine condition eshunt evaluates.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionFile {
    pub kql: Option<Spanned<String>>,
    pub dsl: Option<Spanned<String>>,
    pub condition: Option<Spanned<String>>,
}

/// A threshold: alert once per group of matching events reaching `count` in a bucket.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdFile {
    #[serde(default)]
    pub group_by: Vec<String>,
    pub count: i64,
    pub cardinality: Option<CardinalityFile>,
    pub window: String,
}

/// A distinct-count requirement of a threshold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardinalityFile {
    pub field: String,
    pub min: i64,
}

/// New terms: alert on an event whose combination of `fields` values did not occur in the
/// history before it (`history_window_start = "now-10d"`, as Elastic writes it).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTermsFile {
    pub fields: Vec<String>,
    pub history_window_start: String,
}

/// Alert suppression: one alert per group of `by` values per `for` period; repeats are counted
/// on it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressFile {
    #[serde(default)]
    pub by: Vec<String>,
    #[serde(rename = "for")]
    pub period: String,
}

/// Alert shaping.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertFile {
    pub title: Spanned<String>,
    pub dedup: Option<Spanned<String>>,
    #[serde(default)]
    pub context: Ordered<Spanned<toml::Value>>,
    /// Severities that depend on the event (`[[alert.severity]]`): the first case whose
    /// condition holds sets the alert's severity and risk score.
    #[serde(default)]
    pub severity: Vec<SeverityCaseFile>,
    /// Titles that depend on the event (`[[alert.titles]]`): the first case whose condition
    /// holds gives the alert's title (and dedup key, when it has one).
    #[serde(default)]
    pub titles: Vec<TitleCaseFile>,
}

/// One `[[alert.titles]]` case: `when` (condition text) → `title` (and `dedup`, defaulting to
/// the rule's dedup template, else this title).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TitleCaseFile {
    pub when: Spanned<String>,
    pub title: Spanned<String>,
    pub dedup: Option<Spanned<String>>,
}

/// One `[[alert.severity]]` case: `when` (condition text) → `severity` (and `risk_score`,
/// defaulting to the severity's number).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityCaseFile {
    pub when: Spanned<String>,
    pub severity: Spanned<String>,
    pub risk_score: Option<Spanned<i64>>,
}

/// A rule test: an event and the expected verdict, or (threshold rules) a sequence of events
/// and the groups expected to reach the threshold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    pub name: String,
    pub expect: Option<bool>,
    pub title: Option<String>,
    pub dedup: Option<String>,
    pub severity: Option<Spanned<String>>,
    pub context: Option<Spanned<toml::Value>>,
    pub log: Option<Spanned<String>>,
    pub log_file: Option<String>,
    pub logs: Option<Vec<Spanned<String>>>,
    pub alerts: Option<Vec<ExpectedGroupFile>>,
    #[serde(default = "yes")]
    pub ecs: bool,
}

/// An alert a sequence test expects: its group's values (threshold `group_by`, new terms
/// `fields`, suppression `by`, in order) and how many events it stands for (1 unless given).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedGroupFile {
    #[serde(default)]
    pub group: Vec<String>,
    #[serde(default = "one_event")]
    pub count: u64,
}

fn one_event() -> u64 {
    1
}

/// A TOML table read as an ordered list of entries (document order is kept).
#[derive(Debug)]
pub struct Ordered<V>(pub Vec<(String, V)>);

impl<V> Default for Ordered<V> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        d.deserialize_map(OrderedVisitor(PhantomData))
    }
}
