//! Running a rule's own tests: each test event must get the expected verdict (and title and
//! context, when given), and no positive test may be skipped by the rule's literal needles.
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

use crate::alert;
use crate::event::to_ecs::{to_ecs, PipelineGeneration, ToEcsOptions};
use crate::event::{is_ecs_document, Event, Origin};
use crate::rule::{PrefilterCheck, Rule, RuleTest};
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
    let event = Event::from_document(test.log.clone(), Origin::Inline(location.as_str().into()));
    let mut failures = Vec::new();
    if let (Err(reason), true) = (&rule.prefilter.local, test.ecs) {
        failures.push(format!(
            "the prefilter cannot be evaluated offline: {reason}"
        ));
    }
    check_event(rule, test, &event, Variant::AsWritten, &mut failures);
    if test.ecs && !is_ecs_document(&test.log) {
        for generation in [PipelineGeneration::Current, PipelineGeneration::Legacy] {
            let options = ToEcsOptions {
                generation,
                ..ToEcsOptions::default()
            };
            let doc = to_ecs(&test.log, &options);
            let event = Event::from_ecs(doc, Origin::Inline(location.as_str().into()));
            check_event(rule, test, &event, Variant::Ecs(generation), &mut failures);
        }
    }
    let text = serde_json::to_string(&test.log).unwrap_or_default();
    if test.expect && !rule.needles.may_match(text.as_bytes()) {
        failures.push(format!(
            "the rule's literal needles {:?} would skip this event before evaluating it",
            rule.needles.describe()
        ));
    }
    TestOutcome {
        rule_id: rule.meta.id.clone(),
        name: test.name.clone(),
        location,
        failures,
    }
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
    test: &RuleTest,
    event: &Event,
    variant: Variant,
    failures: &mut Vec<String>,
) {
    let prefix = variant.prefix();
    let check = if test.ecs {
        PrefilterCheck::Local
    } else {
        PrefilterCheck::DoneByCluster
    };
    let verdict = rule.evaluate(event, check);
    if !verdict.unavailable.is_empty() {
        let fields: Vec<_> = verdict.unavailable.iter().map(|p| p.as_str()).collect();
        failures.push(format!(
            "{prefix}fields unavailable in this document: {}",
            fields.join(", ")
        ));
    }
    if verdict.matched != test.expect {
        let why = if verdict.prefilter == Some(false) {
            " (the prefilter rejects it: the cluster would never return this event)"
        } else {
            ""
        };
        failures.push(format!(
            "{prefix}expected {}, got {}{why}",
            describe(test.expect),
            describe(verdict.matched)
        ));
        return;
    }
    if !verdict.matched {
        return;
    }
    if let Some(expected) = &test.title {
        let actual = alert::title(rule, event);
        if &actual != expected {
            failures.push(format!(
                "{prefix}title: expected {expected:?}, got {actual:?}"
            ));
        }
    }
    if let (Some(expected), Variant::AsWritten) = (&test.context, variant) {
        let actual = alert::context(rule, event);
        for (key, want) in expected {
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
