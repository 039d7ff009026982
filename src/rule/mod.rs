//! Rules: files in `queries/`, the condition language and alert shaping (a rule's own tests run
//! in [`crate::testing`], above the alerts they check).
//!
//! A [`Rule`] is loaded and validated once ([`load`]); everything a run needs per event —
//! compiled condition, literal needles, templates — is prepared then.

pub mod condition;
pub mod diagnostic;
pub mod dispatch;
mod file;
pub mod group;
pub mod literals;
pub mod load;
pub mod needle_index;
pub mod new_terms;
pub mod suppress;
pub mod template;
pub mod threshold;

use crate::event::direct::is_direct_field;
use crate::event::mapping::cloudtrail_mapping;
use crate::event::path::FieldPath;
use crate::event::Event;
use crate::time::Span;
use condition::{Condition, Field};
use esquery::dsl::Query;
use literals::Needles;
use serde_json::Value;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use template::Template;

pub use load::{load_dir, load_file, LoadReport};

/// Alert severity, with the numbers Elastic Security's External Alerts rule maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// `event.severity` 21.
    Low,
    /// `event.severity` 47.
    Medium,
    /// `event.severity` 73.
    High,
    /// `event.severity` 99.
    Critical,
}

impl Severity {
    /// Parses `low`, `medium`, `high` or `critical` (any case).
    pub fn parse(text: &str) -> Option<Severity> {
        match text.to_ascii_lowercase().as_str() {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// The number Kibana's `severity_mapping` on `event.severity` expects (21/47/73/99), also the
    /// default risk score.
    pub fn number(self) -> u8 {
        match self {
            Severity::Low => 21,
            Severity::Medium => 47,
            Severity::High => 73,
            Severity::Critical => 99,
        }
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Where a rule was adapted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOrigin {
    /// The product (`Panther`, `Elastic`).
    pub product: String,
    /// The rule's id there (Panther `RuleID`, Elastic `rule_id`, Sigma `id`).
    pub rule_id: String,
    /// The upstream rule's version, when it has one (Elastic's `version`, Sigma's `modified`
    /// date): an import that finds a different one updates the rule.
    pub version: Option<String>,
    /// The upstream file, relative to its catalogue's root.
    pub file: Option<String>,
    /// The upstream rule's licence (e.g. `Elastic License v2`, `DRL-1.1`, `Apache-2.0`).
    pub license: Option<String>,
    /// Where to read the original.
    pub url: Option<String>,
    /// Notes on the adaptation.
    pub notes: Option<String>,
}

/// An ATT&CK id, name and reference URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttackRef {
    /// `TA0002`, `T1648`, `T1578.005`.
    pub id: String,
    /// The name.
    pub name: String,
    /// The attack.mitre.org page.
    pub reference: String,
}

/// A technique with its subtechniques.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technique {
    /// The technique.
    pub technique: AttackRef,
    /// Its subtechniques named by the rule.
    pub subtechniques: Vec<AttackRef>,
}

/// One tactic of the rule's MITRE ATT&CK mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threat {
    /// `MITRE ATT&CK`.
    pub framework: String,
    /// The tactic.
    pub tactic: AttackRef,
    /// Techniques under it.
    pub techniques: Vec<Technique>,
}

/// Descriptive metadata: what reviewers see.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    /// Stable id, used in alert ids: never change it once alerts exist.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What the rule detects.
    pub description: String,
    /// Version, bumped when the logic changes.
    pub version: u32,
    /// Whether scheduled runs include it.
    pub enabled: bool,
    /// A building block (Panther's signal, `CreateAlert: false`): its matches are kept as
    /// documents marked so that reviewers and Kibana's External Alerts rule skip them, for
    /// other rules and hunts to build on.
    pub building_block: bool,
    /// Severity.
    pub severity: Severity,
    /// Risk score 0–100.
    pub risk_score: u8,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// Authors.
    pub author: Vec<String>,
    /// Licence of the rule text.
    pub license: Option<String>,
    /// Reference URLs.
    pub references: Vec<String>,
    /// Known benign causes.
    pub false_positives: Vec<String>,
    /// Alert fields a reviewer should look at first.
    pub investigation_fields: Vec<String>,
    /// Runbook / investigation guide (markdown).
    pub runbook: Option<String>,
    /// Where the rule was adapted from.
    pub origin: Option<RuleOrigin>,
    /// MITRE ATT&CK mapping.
    pub threat: Vec<Threat>,
}

/// Which indices a rule reads and on which time field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// Index patterns.
    pub index: Vec<String>,
    /// The field windows are taken on (e.g. `event.ingested`).
    pub timestamp_field: String,
    /// Used for documents lacking `timestamp_field` (e.g. `@timestamp`).
    pub timestamp_fallback: Option<String>,
}

/// How often a rule runs.
#[derive(Debug, Clone)]
pub enum Every {
    /// A fixed interval.
    Interval(Span),
    /// A cron expression (six fields with seconds, or five classic fields).
    Cron {
        /// The expression as written.
        text: String,
        /// The parsed schedule.
        schedule: Box<cron::Schedule>,
    },
}

/// When a rule runs and how far back each run looks.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Interval or cron.
    pub every: Every,
    /// How far back a run looks (Elastic's `from = now-6m` is `6m`).
    pub lookback: Span,
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.every {
            Every::Interval(span) => write!(f, "every {span}")?,
            Every::Cron { text, .. } => write!(f, "cron \"{text}\"")?,
        }
        write!(f, ", look-back {}", self.lookback)
    }
}

/// The coarse query Elasticsearch evaluates before the condition.
#[derive(Debug, Clone)]
pub struct Prefilter {
    /// The KQL text, when given as KQL.
    pub kql: Option<String>,
    /// The query DSL Elasticsearch runs: the KQL translated as Kibana does, or the DSL given.
    pub dsl: Value,
    /// The DSL compiled for local evaluation on ECS documents, with the field types of Elastic's
    /// CloudTrail data stream — or why it cannot be evaluated locally.
    pub local: Result<Arc<Query>, String>,
    /// The local query reads only direct fields ([`crate::event::direct`]): a raw record is
    /// checked on its direct view, not its whole ECS view.
    pub direct: bool,
}

impl Prefilter {
    /// A prefilter of `dsl` (translated from `kql` when given), compiled for local checks.
    pub fn new(kql: Option<String>, dsl: Value) -> Prefilter {
        let local = Query::compile(&dsl, cloudtrail_mapping())
            .map(Arc::new)
            .map_err(|e| e.to_string());
        let direct = local.as_ref().is_ok_and(|query| {
            let fields = query.fields();
            !fields.is_empty() && fields.iter().all(|f| is_direct_field(f))
        });
        Prefilter {
            kql,
            dsl,
            local,
            direct,
        }
    }
}

/// Whether a verdict must check the prefilter itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefilterCheck {
    /// Evaluate the prefilter locally on the event's ECS view (files, rule tests).
    Local,
    /// The cluster already applied it (search hits).
    DoneByCluster,
}

/// A rule's verdict on one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict<'r> {
    /// Whether the rule fires.
    pub matched: bool,
    /// The local prefilter's answer: `None` when it was not evaluated (done by the cluster,
    /// not evaluable offline, or the condition already said no).
    pub prefilter: Option<bool>,
    /// Fields the condition needed that the event holds only in unreadable form.
    pub unavailable: Vec<&'r FieldPath>,
}

/// One named alert context field.
#[derive(Debug, Clone)]
pub struct ContextField {
    /// The key in `eshunt.context`.
    pub name: String,
    /// The field read.
    pub field: Field,
    /// The value when the field is absent (JSON null if not given).
    pub default: Value,
    /// `{ template = "…" }`: the value is this template rendered as a string (`field` is then
    /// its first field); a field without a value or default gives `default`.
    pub template: Option<Template>,
}

/// A severity that depends on the event (`[[alert.severity]]`).
#[derive(Debug, Clone)]
pub struct SeverityCase {
    /// When it applies.
    pub when: Condition,
    /// The alert's severity then.
    pub severity: Severity,
    /// The alert's risk score then.
    pub risk_score: u8,
}

/// A title (and dedup key) that depends on the event (`[[alert.titles]]`).
#[derive(Debug, Clone)]
pub struct TitleCase {
    /// When it applies.
    pub when: Condition,
    /// The alert's title then.
    pub title: Template,
    /// The alert's dedup key then (else the rule's dedup template, else this title).
    pub dedup: Option<Template>,
}

/// How alerts of a rule are shaped.
#[derive(Debug, Clone)]
pub struct AlertSpec {
    /// Title template (the alert's `message`).
    pub title: Template,
    /// Dedup key template (defaults to the title).
    pub dedup: Option<Template>,
    /// Context fields, in order.
    pub context: Vec<ContextField>,
    /// Event-dependent severities, first match wins (else the rule's).
    pub severity: Vec<SeverityCase>,
    /// Event-dependent titles, first match wins (else `title` and `dedup`).
    pub titles: Vec<TitleCase>,
}

impl AlertSpec {
    /// The title and dedup templates for `event`: those of the first `[[alert.titles]]` case
    /// whose condition holds (its dedup, else the rule's), else the rule's own.
    pub fn templates_for(&self, event: &Event) -> (&Template, Option<&Template>) {
        match self.titles.iter().find(|c| c.when.evaluate(event).matched) {
            Some(case) => (&case.title, case.dedup.as_ref().or(self.dedup.as_ref())),
            None => (&self.title, self.dedup.as_ref()),
        }
    }
}

impl Rule {
    /// The severity and risk score of this rule's alert for `event`: the first
    /// `[[alert.severity]]` case whose condition holds, else the rule's own.
    pub fn severity_for(&self, event: &Event) -> (Severity, u8) {
        self.alert
            .severity
            .iter()
            .find(|c| c.when.evaluate(event).matched)
            .map_or((self.meta.severity, self.meta.risk_score), |c| {
                (c.severity, c.risk_score)
            })
    }
}

/// A rule test.
#[derive(Debug, Clone)]
pub struct RuleTest {
    /// The test's name.
    pub name: String,
    /// Line of the test in the rule file.
    pub line: usize,
    /// Also check the ECS documents the integration makes of raw logs.
    pub ecs: bool,
    /// What is tested.
    pub case: TestCase,
}

/// What a rule test checks.
#[derive(Debug, Clone)]
pub enum TestCase {
    /// One event and the rule's verdict on it (for a threshold rule: whether it counts).
    Event {
        /// Whether an alert (a count) is expected.
        expect: bool,
        /// The expected title, when given.
        title: Option<String>,
        /// The expected dedup key, when given.
        dedup: Option<String>,
        /// The expected alert severity, when given.
        severity: Option<Severity>,
        /// Expected context values (only the keys given are compared).
        context: Option<serde_json::Map<String, Value>>,
        /// The event: a raw CloudTrail record or an ECS document.
        log: Value,
    },
    /// Events in order, and the groups of a threshold rule expected to reach the threshold.
    Sequence {
        /// The events.
        logs: Vec<Value>,
        /// The expected groups, with their counts.
        alerts: Vec<ExpectedGroup>,
    },
}

/// A group a sequence test expects to reach the threshold.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExpectedGroup {
    /// Its values, in `group_by` order.
    pub group: Vec<String>,
    /// Its count.
    pub count: u64,
}

/// A loaded, validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Metadata.
    pub meta: Metadata,
    /// Indices and time field.
    pub source: SourceSpec,
    /// Schedule.
    pub schedule: Schedule,
    /// The coarse prefilter.
    pub prefilter: Prefilter,
    /// The fine condition (optional: a KQL-only rule fires on every prefilter match).
    pub condition: Option<Condition>,
    /// Alert shaping.
    pub alert: AlertSpec,
    /// When set, the rule alerts on groups of matching events reaching a count, not on each.
    pub threshold: Option<threshold::Threshold>,
    /// When set, the rule alerts on events whose terms are new, not on each match.
    pub new_terms: Option<new_terms::NewTerms>,
    /// When set, repeats of an alert's group within a period are counted on it, not alerted.
    pub suppress: Option<suppress::Suppression>,
    /// Tests.
    pub tests: Vec<RuleTest>,
    /// Literal strings an event must contain for the rule to match (skips parsing): from the
    /// condition and the prefilter, for events read from files.
    pub needles: Needles,
    /// The condition's needles alone, for search hits (the cluster applied the prefilter, and
    /// a hit's `_source` holds only the fields the rule reads).
    pub condition_needles: Needles,
    /// ECS fields the rule reads (prefilter or `ecs(…)`) that only Elastic's ingest pipeline
    /// adds (GeoIP `source.as.*`, parsed user agents): raw CloudTrail records lack them, so the
    /// rule is not evaluated on raw records (it runs in the cluster, or on ECS exports).
    pub ingest_only: Vec<String>,
    /// The file the rule was loaded from.
    pub file: PathBuf,
}

impl Rule {
    /// Whether the rule fires on an event: the prefilter lets it through (checked here when
    /// `check` is [`PrefilterCheck::Local`]) and the condition holds (a rule without a
    /// condition fires on everything its prefilter lets through, and never when that
    /// prefilter must be checked here but cannot be).
    pub fn evaluate(&self, event: &Event, check: PrefilterCheck) -> Verdict<'_> {
        let (condition, unavailable) = match &self.condition {
            Some(c) => {
                let e = c.evaluate(event);
                (e.matched, e.unavailable)
            }
            None => (true, Vec::new()),
        };
        let prefilter = match (check, &self.prefilter.local) {
            (PrefilterCheck::Local, Ok(query)) if condition => {
                let view = match self.prefilter.direct {
                    true => event.direct_view(),
                    false => event.ecs_view(),
                };
                Some(query.matches(view, chrono::Utc::now()))
            }
            _ => None,
        };
        // A rule that is all prefilter says nothing where its prefilter goes unchecked.
        let unchecked_only = check == PrefilterCheck::Local
            && self.condition.is_none()
            && self.prefilter.local.is_err();
        Verdict {
            matched: condition && prefilter != Some(false) && !unchecked_only,
            prefilter,
            unavailable,
        }
    }

    /// Whether the rule can judge this event: not when it reads fields added at ingest and the
    /// event is a raw CloudTrail record.
    pub fn can_judge(&self, event: &Event) -> bool {
        self.ingest_only.is_empty() || event.shape() != crate::event::Shape::CloudTrail
    }

    /// Whether the rule counts or remembers (threshold, new terms, suppression): its matches
    /// make alerts only together.
    pub fn remembers(&self) -> bool {
        self.threshold.is_some() || self.new_terms.is_some() || self.suppress.is_some()
    }

    /// The CloudTrail field paths the condition reads (with the inputs of data-model fields)
    /// and the fields the rule groups by (threshold group and distinct-count fields, new terms
    /// fields, suppression fields), without duplicates: what deciding a verdict, and counting
    /// or remembering it, needs — a suppressing rule also reads what identifies an event, as it
    /// orders events of the same time by their alert ids.
    pub fn condition_paths(&self) -> Vec<String> {
        let mut paths = paths_of(self.condition_fields());
        if self.suppress.is_some() {
            for path in crate::alert::IDENTITY_PATHS {
                if !paths.iter().any(|p| p == path) {
                    paths.push(path.to_string());
                }
            }
        }
        paths
    }

    /// The ECS fields (`ecs(…)`) the condition and the grouping read, without duplicates.
    pub fn condition_ecs_fields(&self) -> Vec<String> {
        ecs_fields_of(self.condition_fields())
    }

    fn condition_fields(&self) -> Vec<&Field> {
        let mut fields: Vec<&Field> = self
            .condition
            .iter()
            .flat_map(|c| c.predicates())
            .flat_map(|p| p.fields())
            .collect();
        fields.extend(self.group_fields());
        fields
    }

    /// The fields the rule's threshold, new terms or suppression key their state on.
    fn group_fields(&self) -> impl Iterator<Item = &Field> {
        let threshold = self.threshold.iter().flat_map(|t| {
            t.group_by
                .iter()
                .chain(t.cardinality.as_ref().map(|c| &c.field))
        });
        let new_terms = self.new_terms.iter().flat_map(|n| &n.fields);
        let suppress = self.suppress.iter().flat_map(|s| &s.by);
        threshold.chain(new_terms).chain(suppress)
    }

    /// Every CloudTrail field path the rule reads (condition, title, dedup, context, and the
    /// inputs of data-model fields), without duplicates: what building an alert needs.
    pub fn field_paths(&self) -> Vec<String> {
        paths_of(self.all_fields())
    }

    /// Every ECS field (`ecs(…)`) the rule reads, without duplicates.
    pub fn ecs_fields(&self) -> Vec<String> {
        ecs_fields_of(self.all_fields())
    }

    fn all_fields(&self) -> Vec<&Field> {
        let mut fields = self.condition_fields();
        fields.extend(self.alert.title.fields());
        if let Some(d) = &self.alert.dedup {
            fields.extend(d.fields());
        }
        fields.extend(self.alert.context.iter().map(|c| &c.field));
        for c in &self.alert.context {
            fields.extend(c.template.iter().flat_map(|t| t.fields()));
        }
        for case in &self.alert.severity {
            fields.extend(case.when.predicates().into_iter().flat_map(|p| p.fields()));
        }
        for case in &self.alert.titles {
            fields.extend(case.when.predicates().into_iter().flat_map(|p| p.fields()));
            fields.extend(case.title.fields());
            fields.extend(case.dedup.iter().flat_map(|d| d.fields()));
        }
        fields
    }
}

fn ecs_fields_of<'a>(fields: impl IntoIterator<Item = &'a Field>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for field in fields {
        if let Field::Ecs(path) = field {
            if !names.iter().any(|n| n == path.as_str()) {
                names.push(path.as_str().to_string());
            }
        }
    }
    names
}

fn paths_of<'a>(fields: impl IntoIterator<Item = &'a Field>) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    let mut push = |p: &str| {
        if !paths.iter().any(|q| q == p) {
            paths.push(p.to_string());
        }
    };
    for field in fields {
        match field {
            Field::Path(p) | Field::Arn(_, p) => push(p.as_str()),
            Field::Udm(u) => u.inputs().iter().for_each(|p| push(p)),
            Field::Ecs(_) => {}
        }
    }
    paths
}
