//! Running a rule's own tests: each test event must get the expected verdict (and title, dedup
//! key and context, when given), and no positive test may be skipped by the rule's literal needles.
//!
//! The verdict includes the rule's prefilter, evaluated on the event's ECS view with the field
//! types of Elastic's CloudTrail data stream: a prefilter that rejects a positive test fails it,
//! since the cluster would never return that event.
//!
//! A raw CloudTrail test event is also turned into the ECS document Elastic's AWS integration
//! would index — without `event.original`, by the current and the legacy pipeline — and must
//! get the same verdict and title there. `ecs = false` on a test opts out of both the ECS
//! variants and the prefilter, for records the integration cannot map (then only the condition
//! is tested).
//!
//! A threshold rule's sequence test runs its events, in order and in each of those forms,
//! through the same counting as a scan, and compares the groups that reach the threshold (values
//! and counts) with the expected ones. A suppressing rule's is compared likewise on its
//! suppressed groups (values and matches); the events it cannot suppress (a `by` field absent)
//! alert alone, outside the comparison — per-event tests show those.

use crate::alert;
use crate::event::to_ecs::{to_ecs, PipelineGeneration, ToEcsOptions};
use crate::event::{is_ecs_document, Event, Origin};
use crate::hunt::memory::{Memory, Remembered};
use crate::rule::{ExpectedGroup, PrefilterCheck, Rule, RuleTest, Severity, TestCase};
use serde_json::Value;

/// The result of one rule test.
#[derive(Debug, Clone, PartialEq)]
pub struct TestOutcome {
    /// The rule.
    pub rule_id: String,
    /// The test's name.
    pub name: String,
    /// `file:line` of the test.
    pub location: String,
    /// What went wrong; empty when the test passed.
    pub failures: Vec<String>,
}

impl TestOutcome {
    /// True when every check held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs every test of a rule.
pub fn run(rule: &Rule) -> Vec<TestOutcome> {
    rule.tests.iter().map(|t| run_one(rule, t)).collect()
}

fn run_one(rule: &Rule, test: &RuleTest) -> TestOutcome {
    let location = format!("{}:{}", rule.file.display(), test.line);
    let mut failures = Vec::new();
    if let (Err(reason), true) = (&rule.prefilter.local, test.ecs) {
        failures.push(format!(
            "the prefilter cannot be evaluated offline: {reason}"
        ));
    }
    match &test.case {
        TestCase::Event {
            expect,
            severity,
            title,
            dedup,
            context,
            log,
        } => {
            let expected = Expected {
                alert: *expect,
                severity: *severity,
                title: title.as_deref(),
                dedup: dedup.as_deref(),
                context: context.as_ref(),
            };
            for (variant, event) in variants(log, test.ecs, &location) {
                check_event(rule, test.ecs, &expected, &event, variant, &mut failures);
            }
            if *expect && !passes_needles(rule, log) {
                failures.push(needles_skip(rule, "this event"));
            }
        }
        TestCase::Sequence { logs, alerts } => {
            check_sequence(rule, test.ecs, logs, alerts, &location, &mut failures)
        }
    }
    TestOutcome {
        rule_id: rule.meta.id.clone(),
        name: test.name.clone(),
        location,
        failures,
    }
}

/// The forms of a test log to check: as written and, for a raw record when `ecs`, the ECS
/// documents of both pipelines.
fn variants(log: &Value, ecs: bool, location: &str) -> Vec<(Variant, Event)> {
    let origin = || Origin::Inline(location.into());
    let mut out = vec![(
        Variant::AsWritten,
        Event::from_document(log.clone(), origin()),
    )];
    if ecs && !is_ecs_document(log) {
        for generation in [PipelineGeneration::Current, PipelineGeneration::Legacy] {
            let options = ToEcsOptions {
                generation,
                ..ToEcsOptions::default()
            };
            let event = Event::from_ecs(to_ecs(log, &options), origin());
            out.push((Variant::Ecs(generation), event));
        }
    }
    out
}

fn passes_needles(rule: &Rule, log: &Value) -> bool {
    let text = serde_json::to_string(log).unwrap_or_default();
    rule.needles.may_match(text.as_bytes())
}

fn needles_skip(rule: &Rule, what: &str) -> String {
    format!(
        "the rule's literal needles {:?} would skip {what} before evaluating it",
        rule.needles.describe()
    )
}

fn check_mode(ecs: bool) -> PrefilterCheck {
    if ecs {
        PrefilterCheck::Local
    } else {
        PrefilterCheck::DoneByCluster
    }
}

/// Runs a sequence through the threshold rule's counting, in every form, and compares the
/// groups that reach the threshold with those expected.
fn check_sequence(
    rule: &Rule,
    ecs: bool,
    logs: &[Value],
    expected: &[ExpectedGroup],
    location: &str,
    failures: &mut Vec<String>,
) {
    if Memory::for_rule(rule).is_none() {
        return failures.push("a sequence test needs a rule that counts or remembers".into());
    }
    let forms: Vec<Vec<(Variant, Event)>> =
        logs.iter().map(|l| variants(l, ecs, location)).collect();
    let count = forms.first().map_or(1, Vec::len);
    for form in 0..count {
        let Some(mut memory) = Memory::for_rule(rule) else {
            return;
        };
        let mut variant = Variant::AsWritten;
        for (i, events) in forms.iter().enumerate() {
            let Some((v, event)) = events.get(form).or_else(|| events.first()) else {
                continue;
            };
            variant = *v;
            if !rule.evaluate(event, check_mode(ecs)).matched {
                continue;
            }
            if form == 0 && !passes_needles(rule, &logs[i]) {
                failures.push(needles_skip(rule, &format!("log {}", i + 1)));
            }
            if !memory.add(event) {
                failures.push(format!(
                    "log {} has no event time: it cannot be placed in time",
                    i + 1
                ));
            }
        }
        let mut got: Vec<ExpectedGroup> = memory
            .finish(rule, chrono::Utc::now())
            .into_iter()
            .filter(|r| suppressed_group(rule, r))
            .map(|r| ExpectedGroup {
                group: r.group,
                count: r.count,
            })
            .collect();
        got.sort();
        if got != expected {
            failures.push(format!(
                "{}expected groups {}, got {}",
                variant.prefix(),
                describe_groups(expected),
                describe_groups(&got)
            ));
        }
    }
}

/// Whether a remembered alert is a group's, as sequence tests name them: not the own alert of
/// an event a suppressing rule could not suppress (it has no group values).
fn suppressed_group(rule: &Rule, remembered: &Remembered) -> bool {
    rule.suppress
        .as_ref()
        .is_none_or(|s| remembered.group.len() == s.by.len())
}

fn describe_groups(groups: &[ExpectedGroup]) -> String {
    let items: Vec<String> = groups
        .iter()
        .map(|g| format!("{:?} × {}", g.group, g.count))
        .collect();
    format!("[{}]", items.join(", "))
}

/// What an event test expects.
struct Expected<'t> {
    alert: bool,
    severity: Option<Severity>,
    title: Option<&'t str>,
    dedup: Option<&'t str>,
    context: Option<&'t serde_json::Map<String, Value>>,
}

/// Which form of the test event is checked.
#[derive(Clone, Copy)]
enum Variant {
    /// The log as written in the rule file.
    AsWritten,
    /// The ECS document the integration makes of it (no `event.original`): verdict and title
    /// must match; context is not compared (the rebuilt record keeps only mapped fields).
    Ecs(PipelineGeneration),
}

impl Variant {
    fn prefix(self) -> &'static str {
        match self {
            Variant::AsWritten => "",
            Variant::Ecs(PipelineGeneration::Current) => "as an ECS document (current pipeline): ",
            Variant::Ecs(PipelineGeneration::Legacy) => "as an ECS document (legacy pipeline): ",
        }
    }
}

/// Checks verdict, title and context of `event`.
fn check_event(
    rule: &Rule,
    ecs: bool,
    expected: &Expected<'_>,
    event: &Event,
    variant: Variant,
    failures: &mut Vec<String>,
) {
    let prefix = variant.prefix();
    let verdict = rule.evaluate(event, check_mode(ecs));
    if !verdict.unavailable.is_empty() {
        let fields: Vec<_> = verdict.unavailable.iter().map(|p| p.as_str()).collect();
        failures.push(format!(
            "{prefix}fields unavailable in this document: {}",
            fields.join(", ")
        ));
    }
    if verdict.matched != expected.alert {
        let why = if verdict.prefilter == Some(false) {
            " (the prefilter rejects it: the cluster would never return this event)"
        } else {
            ""
        };
        failures.push(format!(
            "{prefix}expected {}, got {}{why}",
            describe(expected.alert),
            describe(verdict.matched)
        ));
        return;
    }
    if !verdict.matched {
        return;
    }
    if let Some(want) = expected.severity {
        let (actual, _) = rule.severity_for(event);
        if actual != want {
            failures.push(format!(
                "{prefix}severity: expected {}, got {}",
                want.as_str(),
                actual.as_str()
            ));
        }
    }
    let (title, dedup) = alert::title_and_dedup(rule, event);
    if let Some(want) = expected.title {
        if title != want {
            failures.push(format!("{prefix}title: expected {want:?}, got {title:?}"));
        }
    }
    if let Some(want) = expected.dedup {
        if dedup != want {
            failures.push(format!("{prefix}dedup: expected {want:?}, got {dedup:?}"));
        }
    }
    if let (Some(context), Variant::AsWritten) = (expected.context, variant) {
        let actual = alert::context(rule, event);
        for (key, want) in context {
            let got = actual.get(key).unwrap_or(&Value::Null);
            if got != want {
                failures.push(format!("{prefix}context.{key}: expected {want}, got {got}"));
            }
        }
    }
}

fn describe(alert: bool) -> &'static str {
    if alert {
        "an alert"
    } else {
        "no alert"
    }
}
