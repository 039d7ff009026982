//! Loading rule files: parse the TOML, validate every part, compile conditions and templates,
//! and report every problem as `file:line:col: message`.

use super::condition::{Condition, Field};
use super::diagnostic::{RuleError, SourceText};
use super::file::{
    DetectionFile, ExpectedGroupFile, NewTermsFile, OriginFile, RuleFile, ScheduleFile,
    SuppressFile, TestFile, ThreatFile, ThresholdFile,
};
use super::literals::Needles;
use super::new_terms::{self, NewTerms};
use super::suppress::Suppression;
use super::template::Template;
use super::threshold::{Cardinality, Threshold};
use super::{
    AlertSpec, AttackRef, ContextField, Every, ExpectedGroup, Metadata, Prefilter, Rule,
    RuleOrigin, RuleTest, Schedule, Severity, SeverityCase, SourceSpec, Technique, TestCase,
    Threat, TitleCase,
};
use crate::event::mapping::cloudtrail_mapping;
use crate::event::to_ecs::is_added_at_ingest;
use crate::time::Span;
use serde_json::Value;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use toml::Spanned;

/// The outcome of loading a directory of rules: the valid rules and every error found.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Rules that loaded, sorted by id.
    pub rules: Vec<Rule>,
    /// Problems, in file order. A file with errors contributes no rule.
    pub errors: Vec<RuleError>,
    /// How many rule files were read.
    pub files: usize,
}

impl LoadReport {
    /// The rules with these ids, or every enabled rule when `ids` is empty. An unknown id, or
    /// nothing to run, is an error saying why there is nothing (no rule files, none valid, none
    /// enabled).
    pub fn select(&self, ids: &[String]) -> Result<Vec<&Rule>, String> {
        if let Some(missing) = ids
            .iter()
            .find(|id| !self.rules.iter().any(|r| &&r.meta.id == id))
        {
            return Err(format!("no rule with id `{missing}`"));
        }
        let selected: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| {
                if ids.is_empty() {
                    r.meta.enabled
                } else {
                    ids.contains(&r.meta.id)
                }
            })
            .collect();
        if selected.is_empty() {
            return Err(format!("no rules to run: {}", self.why_empty()));
        }
        Ok(selected)
    }

    /// Why no rule is selected by default.
    fn why_empty(&self) -> String {
        match (self.files, self.rules.len()) {
            (0, _) => "no rule files (*.toml) were found".into(),
            (files, 0) => format!("none of the {files} rule files is valid"),
            (_, rules) => format!("none of the {rules} rules is enabled"),
        }
    }
}

/// Loads every `*.toml` under `dir` (recursively, in name order). Duplicate ids are errors.
pub fn load_dir(dir: &Path) -> LoadReport {
    let mut report = LoadReport::default();
    if !dir.is_dir() {
        report.errors.push(RuleError {
            file: absolute(dir).display().to_string(),
            line: 0,
            col: 0,
            message: "the rules directory does not exist or is not a directory".into(),
            snippet: None,
        });
        return report;
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                report.errors.push(RuleError {
                    file: err.path().unwrap_or(dir).display().to_string(),
                    line: 0,
                    col: 0,
                    message: format!("cannot read: {err}"),
                    snippet: None,
                });
                continue;
            }
        };
        let is_rule =
            entry.file_type().is_file() && entry.path().extension().is_some_and(|x| x == "toml");
        if !is_rule {
            continue;
        }
        report.files += 1;
        match load_file(entry.path()) {
            Ok(rule) => report.rules.push(rule),
            Err(errors) => report.errors.extend(errors),
        }
    }
    reject_duplicate_ids(&mut report);
    report.rules.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
    report
}

/// `path` made absolute against the working directory (as is, if that cannot be read), so a
/// message says where a relative path led.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn reject_duplicate_ids(report: &mut LoadReport) {
    let mut seen: Vec<(String, PathBuf)> = Vec::new();
    let mut keep = Vec::new();
    for rule in std::mem::take(&mut report.rules) {
        match seen.iter().find(|(id, _)| *id == rule.meta.id) {
            Some((_, first)) => {
                let (line, col, snippet) = id_position(&rule.file).unwrap_or_default();
                report.errors.push(RuleError {
                    file: rule.file.display().to_string(),
                    line,
                    col,
                    message: format!(
                        "rule id `{}` is already used by {}; ids must be unique",
                        rule.meta.id,
                        first.display()
                    ),
                    snippet: (line > 0).then_some(snippet),
                })
            }
            None => {
                seen.push((rule.meta.id.clone(), rule.file.clone()));
                keep.push(rule);
            }
        }
    }
    report.rules = keep;
}

/// Where a rule file's top-level `id = …` stands: line, column of the value, and the line.
fn id_position(path: &Path) -> Option<(usize, usize, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .enumerate()
        .take_while(|(_, line)| !line.trim_start().starts_with('['))
        .find_map(|(i, line)| {
            let value = line.trim_start().strip_prefix("id")?.trim_start();
            let value = value.strip_prefix('=')?.trim_start();
            let col = line[..line.len() - value.len()].chars().count() + 1;
            Some((i + 1, col, line.to_string()))
        })
}

/// Loads and validates one rule file, returning every problem found in it.
pub fn load_file(path: &Path) -> Result<Rule, Vec<RuleError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![RuleError {
            file: path.display().to_string(),
            line: 0,
            col: 0,
            message: format!("cannot read: {e}"),
            snippet: None,
        }]
    })?;
    let src = SourceText::new(path, &text);
    let file: RuleFile = toml::from_str(&text).map_err(|e| {
        let message = e.message().trim().to_string();
        vec![match e.span() {
            Some(span) => src.error_at(span.start, message),
            None => src.error(message),
        }]
    })?;
    Builder {
        src: &src,
        path,
        errors: Vec::new(),
    }
    .build(file)
}

/// Validates a deserialized file, collecting errors rather than stopping at the first.
struct Builder<'a> {
    src: &'a SourceText<'a>,
    path: &'a Path,
    errors: Vec<RuleError>,
}

impl Builder<'_> {
    fn fail<T>(&mut self, error: RuleError) -> Option<T> {
        self.errors.push(error);
        None
    }

    fn build(mut self, file: RuleFile) -> Result<Rule, Vec<RuleError>> {
        let id = self.id(&file.id);
        let severity = self.severity(&file.severity);
        // Checked even when the severity is invalid, so both problems are reported at once.
        let risk_score =
            self.risk_score(file.risk_score.as_ref(), severity.unwrap_or(Severity::Low));
        let threat = self.threats(&file.threat);
        let schedule = self.schedule(file.schedule.as_ref());
        let prefilter = self.prefilter(&file.detection);
        let condition = file
            .detection
            .get_ref()
            .condition
            .as_ref()
            .and_then(|c| self.condition(c));
        let alert = self.alert(&file.alert);
        let threshold = file.threshold.as_ref().and_then(|t| self.threshold(t));
        let new_terms = file.new_terms.as_ref().and_then(|n| self.new_terms(n));
        let suppress = file.suppress.as_ref().and_then(|s| self.suppress(s));
        self.one_kind(&file);
        let memory = RuleKind::of(threshold.as_ref(), new_terms.as_ref(), suppress.as_ref());
        let tests = self.tests(&file.tests);
        if let Some(tests) = &tests {
            self.sequences_need_memory(tests, memory, &file);
        }
        let source = SourceSpec {
            index: file.source.index,
            timestamp_field: file.source.timestamp_field,
            timestamp_fallback: file.source.timestamp_fallback,
        };
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        let (
            Some(id),
            Some(severity),
            Some(risk_score),
            Some(schedule),
            Some(prefilter),
            Some(alert),
            Some(tests),
        ) = (id, severity, risk_score, schedule, prefilter, alert, tests)
        else {
            unreachable!("every None was recorded as an error");
        };
        let condition_needles = condition
            .as_ref()
            .map(|c| Needles::from_condition(c.expr()))
            .unwrap_or_default();
        let needles = condition_needles
            .clone()
            .and(Needles::from_dsl(&prefilter.dsl, cloudtrail_mapping()));
        let mut rule = Rule {
            meta: Metadata {
                id,
                name: file.name,
                description: file.description,
                version: file.version,
                enabled: file.enabled,
                building_block: file.building_block,
                severity,
                risk_score,
                tags: file.tags,
                author: file.author,
                license: file.license,
                references: file.references,
                false_positives: file.false_positives,
                investigation_fields: file.investigation_fields,
                runbook: file.runbook,
                origin: file.origin.map(origin),
                threat: threat.unwrap_or_default(),
            },
            source,
            schedule,
            prefilter,
            condition,
            alert,
            threshold,
            new_terms,
            suppress,
            tests,
            needles,
            condition_needles,
            ingest_only: Vec::new(),
            file: self.path.to_path_buf(),
        };
        rule.ingest_only = ingest_only_fields(&rule);
        Ok(rule)
    }

    fn id(&mut self, id: &Spanned<String>) -> Option<String> {
        let valid = id
            .get_ref()
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && id
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c));
        if valid {
            Some(id.get_ref().clone())
        } else {
            self.fail(self.src.error_at(
                id.span().start,
                "a rule id must start with a letter or digit and use only letters, digits and . _ : -",
            ))
        }
    }

    fn severity(&mut self, severity: &Spanned<String>) -> Option<Severity> {
        Severity::parse(severity.get_ref()).or_else(|| {
            self.fail(self.src.error_at(
                severity.span().start,
                format!(
                    "unknown severity `{}` (use low, medium, high or critical)",
                    severity.get_ref()
                ),
            ))
        })
    }

    fn risk_score(&mut self, score: Option<&Spanned<i64>>, severity: Severity) -> Option<u8> {
        match score {
            None => Some(severity.number()),
            Some(s) => u8::try_from(*s.get_ref())
                .ok()
                .filter(|v| *v <= 100)
                .or_else(|| {
                    self.fail(self.src.error_at(
                        s.span().start,
                        format!("risk_score must be between 0 and 100, not {}", s.get_ref()),
                    ))
                }),
        }
    }

    fn threats(&mut self, threats: &[Spanned<ThreatFile>]) -> Option<Vec<Threat>> {
        let mut out = Vec::new();
        for t in threats {
            match threat(t.get_ref()) {
                Ok(threat) => out.push(threat),
                Err(message) => {
                    self.errors.push(self.src.error_at(t.span().start, message));
                }
            }
        }
        Some(out)
    }

    fn schedule(&mut self, schedule: Option<&Spanned<ScheduleFile>>) -> Option<Schedule> {
        let Some(schedule) = schedule else {
            let interval = Span::parse("5m").expect("valid");
            return Some(Schedule {
                every: Every::Interval(interval),
                lookback: Span::parse("6m").expect("valid"),
            });
        };
        let at = schedule.span().start;
        match parse_schedule(schedule.get_ref()) {
            Ok(s) => Some(s),
            Err(message) => self.fail(self.src.error_at(at, message)),
        }
    }

    fn prefilter(&mut self, detection: &Spanned<DetectionFile>) -> Option<Prefilter> {
        let d = detection.get_ref();
        if d.kql.is_some() == d.dsl.is_some() {
            return self.fail(self.src.error_at(
                detection.span().start,
                "[detection] needs exactly one prefilter: `kql = '…'` (KQL) or `dsl = '{…}'` (query DSL JSON)",
            ));
        }
        let dsl = match (&d.kql, &d.dsl) {
            (Some(kql), _) => self.kql(kql)?,
            (None, Some(text)) => match self.json(text, "prefilter DSL")? {
                v @ Value::Object(_) => v,
                _ => {
                    return self.fail(
                        self.src
                            .error_at(text.span().start, "the prefilter DSL must be a JSON object"),
                    )
                }
            },
            (None, None) => unreachable!("checked above"),
        };
        // OpenSearch's flat_object misreads Kibana's wildcard query_strings on flattened keys.
        let dsl = esquery::dsl::portable::portable(&dsl, cloudtrail_mapping());
        Some(Prefilter::new(
            d.kql.as_ref().map(|k| k.get_ref().clone()),
            dsl,
        ))
    }

    /// Translates KQL to query DSL as Kibana does; syntax errors point into the file.
    fn kql(&mut self, kql: &Spanned<String>) -> Option<Value> {
        if kql.get_ref().trim().is_empty() {
            return self.fail(
                self.src
                    .error_at(kql.span().start, "the KQL prefilter is empty"),
            );
        }
        match esquery::kql::translate(kql.get_ref()) {
            Ok(dsl) => Some(dsl),
            Err(e) => {
                let (line, col) = line_col_in(kql.get_ref(), e.offset());
                let span = kql.span();
                self.fail(self.src.error_in_string(
                    &span,
                    line,
                    col,
                    format!("invalid KQL: {}", e.short()),
                ))
            }
        }
    }

    fn condition(&mut self, text: &Spanned<String>) -> Option<Condition> {
        match Condition::parse(text.get_ref()) {
            Ok(c) => Some(c),
            Err(e) => {
                let span = text.span();
                self.fail(
                    self.src
                        .error_in_string(&span, e.pos.line, e.pos.col, e.message),
                )
            }
        }
    }

    fn template(&mut self, text: &Spanned<String>, what: &str) -> Option<Template> {
        match Template::parse(text.get_ref()) {
            Ok(t) => Some(t),
            Err(e) => {
                let (line, col) = line_col_in(text.get_ref(), e.offset);
                let span = text.span();
                self.fail(self.src.error_in_string(
                    &span,
                    line,
                    col,
                    format!("in the {what} template: {}", e.message),
                ))
            }
        }
    }

    fn alert(&mut self, alert: &super::file::AlertFile) -> Option<AlertSpec> {
        let title = self.template(&alert.title, "title");
        let dedup = match &alert.dedup {
            Some(d) => Some(self.template(d, "dedup")?),
            None => None,
        };
        let mut context = Vec::new();
        for (name, value) in &alert.context.0 {
            match context_field(name, value.get_ref()) {
                Ok(field) => context.push(field),
                Err(message) => {
                    self.errors
                        .push(self.src.error_at(value.span().start, message));
                }
            }
        }
        let mut severity = Vec::new();
        for case in &alert.severity {
            let when = self.condition(&case.when);
            let level = self.severity(&case.severity);
            let risk = self.risk_score(case.risk_score.as_ref(), level.unwrap_or(Severity::Low));
            if let (Some(when), Some(severity_level), Some(risk_score)) = (when, level, risk) {
                severity.push(SeverityCase {
                    when,
                    severity: severity_level,
                    risk_score,
                });
            }
        }
        let mut titles = Vec::new();
        for case in &alert.titles {
            let when = self.condition(&case.when);
            let title = self.template(&case.title, "title");
            let dedup = match &case.dedup {
                Some(d) => self.template(d, "dedup").map(Some),
                None => Some(None),
            };
            if let (Some(when), Some(title), Some(dedup)) = (when, title, dedup) {
                titles.push(TitleCase { when, title, dedup });
            }
        }
        Some(AlertSpec {
            title: title?,
            dedup,
            context,
            severity,
            titles,
        })
    }

    fn threshold(&mut self, file: &Spanned<ThresholdFile>) -> Option<Threshold> {
        match parse_threshold(file.get_ref()) {
            Ok(threshold) => Some(threshold),
            Err(message) => self.fail(
                self.src
                    .error_at(file.span().start, format!("[threshold]: {message}")),
            ),
        }
    }

    fn new_terms(&mut self, file: &Spanned<NewTermsFile>) -> Option<NewTerms> {
        match parse_new_terms(file.get_ref()) {
            Ok(new_terms) => Some(new_terms),
            Err(message) => self.fail(
                self.src
                    .error_at(file.span().start, format!("[new_terms]: {message}")),
            ),
        }
    }

    fn suppress(&mut self, file: &Spanned<SuppressFile>) -> Option<Suppression> {
        match parse_suppress(file.get_ref()) {
            Ok(suppression) => Some(suppression),
            Err(message) => self.fail(
                self.src
                    .error_at(file.span().start, format!("suppress: {message}")),
            ),
        }
    }

    /// A rule counts (`[threshold]`), looks for new terms (`[new_terms]`) or suppresses repeats
    /// of its per-event alerts (`suppress`): one of them at most, as each already makes one
    /// alert stand for many events.
    fn one_kind(&mut self, file: &RuleFile) {
        let given: Vec<(&str, usize)> = [
            (
                "[threshold]",
                file.threshold.as_ref().map(|t| t.span().start),
            ),
            (
                "[new_terms]",
                file.new_terms.as_ref().map(|n| n.span().start),
            ),
            ("suppress", file.suppress.as_ref().map(|s| s.span().start)),
        ]
        .into_iter()
        .filter_map(|(name, at)| Some((name, at?)))
        .collect();
        if let [(first, _), (second, at), ..] = given[..] {
            self.errors.push(self.src.error_at(
                at,
                format!("{second}: a rule has {first} or {second}, not both (each already makes one alert stand for many events)"),
            ));
        }
    }

    /// Sequence tests belong to rules that count or remember, and name as many values per
    /// expected alert as the rule's group has fields.
    fn sequences_need_memory(
        &mut self,
        tests: &[RuleTest],
        kind: Option<RuleKind>,
        file: &RuleFile,
    ) {
        for (test, written) in tests.iter().zip(&file.tests) {
            let TestCase::Sequence { alerts, .. } = &test.case else {
                continue;
            };
            let problem = match kind {
                None => Some(
                    "a sequence test (`logs`, `alerts`) needs a `[threshold]`, `[new_terms]` or `suppress`"
                        .to_string(),
                ),
                Some(kind) => alerts
                    .iter()
                    .find(|a| a.group.len() != kind.group_len)
                    .map(|a| {
                        format!(
                            "an expected alert has {} group values, the rule's {} has {} fields",
                            a.group.len(),
                            kind.name,
                            kind.group_len
                        )
                    }),
            };
            if let Some(problem) = problem {
                let at = written.span().start;
                self.errors.push(
                    self.src
                        .error_at(at, format!("test `{}`: {problem}", test.name)),
                );
            }
        }
    }

    fn tests(&mut self, tests: &[Spanned<TestFile>]) -> Option<Vec<RuleTest>> {
        let mut out = Vec::new();
        for test in tests {
            let line = self.src.line_col(test.span().start).0;
            if let Some(t) = self.test(test.get_ref(), line, test.span()) {
                out.push(t);
            }
        }
        Some(out)
    }

    fn test(&mut self, test: &TestFile, line: usize, span: Range<usize>) -> Option<RuleTest> {
        let case = match (&test.logs, &test.alerts) {
            (None, None) => self.event_case(test, span)?,
            (Some(logs), Some(alerts)) if test.log.is_none() && test.log_file.is_none() => {
                self.sequence_case(logs, alerts)?
            }
            _ => {
                return self.fail(self.src.error_at(
                    span.start,
                    format!(
                    "test `{}`: a sequence test has `logs` and `alerts` (and no `log`, `log_file`)",
                    test.name
                ),
                ))
            }
        };
        Some(RuleTest {
            name: test.name.clone(),
            line,
            ecs: test.ecs,
            case,
        })
    }

    fn event_case(&mut self, test: &TestFile, span: Range<usize>) -> Option<TestCase> {
        let log = match (&test.log, &test.log_file) {
            (Some(text), None) => self.json(text, "test log")?,
            (None, Some(file)) => self.log_file(file, span.start)?,
            _ => {
                return self.fail(self.src.error_at(
                    span.start,
                    format!(
                        "test `{}` needs exactly one of `log` or `log_file`",
                        test.name
                    ),
                ))
            }
        };
        let Some(expect) = test.expect else {
            return self.fail(self.src.error_at(
                span.start,
                format!("test `{}` needs `expect = true` or `false`", test.name),
            ));
        };
        let context = match &test.context {
            Some(value) => Some(self.expected_context(value)?),
            None => None,
        };
        let severity = match &test.severity {
            Some(level) => Some(self.severity(level)?),
            None => None,
        };
        Some(TestCase::Event {
            expect,
            severity,
            title: test.title.clone(),
            dedup: test.dedup.clone(),
            context,
            log,
        })
    }

    fn sequence_case(
        &mut self,
        logs: &[Spanned<String>],
        alerts: &[ExpectedGroupFile],
    ) -> Option<TestCase> {
        let mut events = Vec::new();
        for log in logs {
            events.push(self.json(log, "test log")?);
        }
        let mut alerts: Vec<ExpectedGroup> = alerts
            .iter()
            .map(|a| ExpectedGroup {
                group: a.group.clone(),
                count: a.count,
            })
            .collect();
        alerts.sort();
        Some(TestCase::Sequence {
            logs: events,
            alerts,
        })
    }

    /// Expected context: a TOML table, or a JSON object in a string (JSON can say `null`).
    fn expected_context(
        &mut self,
        value: &Spanned<toml::Value>,
    ) -> Option<serde_json::Map<String, Value>> {
        let json = match value.get_ref() {
            toml::Value::String(_) => {
                let text = Spanned::new(
                    value.span(),
                    value.get_ref().as_str().unwrap_or_default().to_string(),
                );
                self.json(&text, "test context")?
            }
            other => serde_json::to_value(other).unwrap_or(Value::Null),
        };
        match json {
            Value::Object(map) => Some(map),
            _ => self.fail(self.src.error_at(
                value.span().start,
                "a test's context must be a table or a JSON object in a string",
            )),
        }
    }

    fn log_file(&mut self, file: &str, at: usize) -> Option<Value> {
        let path = self.path.parent().unwrap_or(Path::new(".")).join(file);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                return self.fail(
                    self.src
                        .error_at(at, format!("cannot read {}: {e}", path.display())),
                )
            }
        };
        serde_json::from_str(&text)
            .map_err(|e| {
                self.errors.push(self.src.error_at(
                    at,
                    format!(
                        "{}:{}:{}: invalid JSON: {e}",
                        path.display(),
                        e.line(),
                        e.column()
                    ),
                ))
            })
            .ok()
    }

    /// Parses JSON held in a TOML string, locating syntax errors inside the string.
    fn json(&mut self, text: &Spanned<String>, what: &str) -> Option<Value> {
        match serde_json::from_str(text.get_ref()) {
            Ok(v) => Some(v),
            Err(e) => {
                let span = text.span();
                self.fail(self.src.error_in_string(
                    &span,
                    e.line(),
                    e.column(),
                    format!("invalid JSON in the {what}: {e}"),
                ))
            }
        }
    }
}

/// The fields a rule reads, in its prefilter or with `ecs(…)`, that only the ingest pipeline
/// adds ([`is_added_at_ingest`]).
fn ingest_only_fields(rule: &Rule) -> Vec<String> {
    let mut fields = rule.ecs_fields();
    dsl_fields(&rule.prefilter.dsl, &mut fields);
    fields.retain(|f| is_added_at_ingest(f));
    fields.sort();
    fields.dedup();
    fields
}

/// Collects the field names a query DSL names: the keys of leaf queries
/// (`{"term": {"source.as.organization.name": …}}`) and `field`/`fields` values.
fn dsl_fields(dsl: &Value, out: &mut Vec<String>) {
    match dsl {
        Value::Object(map) => {
            for (key, value) in map {
                if key.contains('.') {
                    out.push(key.clone());
                }
                match (key.as_str(), value) {
                    ("field", Value::String(f)) => out.push(f.clone()),
                    ("fields", Value::Array(list)) => {
                        out.extend(list.iter().filter_map(|f| f.as_str().map(str::to_string)))
                    }
                    _ => dsl_fields(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| dsl_fields(item, out)),
        _ => {}
    }
}

fn origin(o: OriginFile) -> RuleOrigin {
    RuleOrigin {
        product: o.product,
        rule_id: o.rule_id,
        version: o.version,
        file: o.file,
        license: o.license,
        url: o.url,
        notes: o.notes,
    }
}

fn threat(t: &ThreatFile) -> Result<Threat, String> {
    let tactic = attack(&t.tactic.id, &t.tactic.name, AttackKind::Tactic)?;
    let mut techniques = Vec::new();
    for tech in &t.technique {
        let technique = attack(&tech.id, &tech.name, AttackKind::Technique)?;
        let mut subtechniques = Vec::new();
        for sub in &tech.subtechnique {
            if !sub.id.starts_with(&format!("{}.", tech.id)) {
                return Err(format!(
                    "subtechnique {} does not belong to technique {}",
                    sub.id, tech.id
                ));
            }
            subtechniques.push(attack(&sub.id, &sub.name, AttackKind::Subtechnique)?);
        }
        techniques.push(Technique {
            technique,
            subtechniques,
        });
    }
    Ok(Threat {
        framework: t.framework.clone(),
        tactic,
        techniques,
    })
}

#[derive(Clone, Copy)]
enum AttackKind {
    Tactic,
    Technique,
    Subtechnique,
}

fn attack(id: &str, name: &str, kind: AttackKind) -> Result<AttackRef, String> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let (valid, reference) = match kind {
        AttackKind::Tactic => (
            id.strip_prefix("TA").is_some_and(|d| digits(d, 4)),
            format!("https://attack.mitre.org/tactics/{id}/"),
        ),
        AttackKind::Technique => (
            id.strip_prefix('T').is_some_and(|d| digits(d, 4)),
            format!("https://attack.mitre.org/techniques/{id}/"),
        ),
        AttackKind::Subtechnique => (
            id.strip_prefix('T')
                .and_then(|d| d.split_once('.'))
                .is_some_and(|(a, b)| digits(a, 4) && digits(b, 3)),
            format!(
                "https://attack.mitre.org/techniques/{}/",
                id.replace('.', "/")
            ),
        ),
    };
    if !valid {
        let shape = match kind {
            AttackKind::Tactic => "TA0000",
            AttackKind::Technique => "T0000",
            AttackKind::Subtechnique => "T0000.000",
        };
        return Err(format!(
            "invalid ATT&CK id `{id}` (expected the form {shape})"
        ));
    }
    Ok(AttackRef {
        id: id.to_string(),
        name: name.to_string(),
        reference,
    })
}

fn parse_schedule(s: &ScheduleFile) -> Result<Schedule, String> {
    let every = match (&s.interval, &s.cron) {
        (Some(_), Some(_)) => return Err("[schedule] takes `interval` or `cron`, not both".into()),
        (Some(i), None) => Every::Interval(Span::parse(i).map_err(|e| e.to_string())?),
        (None, Some(c)) => Every::Cron {
            text: c.clone(),
            schedule: Box::new(parse_cron(c)?),
        },
        (None, None) => Every::Interval(Span::parse("5m").expect("valid")),
    };
    let lookback = match &s.lookback {
        Some(l) => Span::parse(l).map_err(|e| e.to_string())?,
        None => match &every {
            Every::Interval(i) => Span::from_delta(i.delta() + chrono::TimeDelta::minutes(1)),
            Every::Cron { .. } => {
                return Err("a cron schedule needs an explicit `lookback` (e.g. \"6m\")".into())
            }
        },
    };
    match &every {
        Every::Interval(interval) if lookback < *interval => {
            return Err(format!(
                "lookback ({lookback}) is shorter than the interval ({interval}): events between runs would be missed"
            ));
        }
        Every::Cron { text, schedule } => {
            if let Some(gap) = longest_gap(schedule).filter(|gap| lookback.delta() < *gap) {
                return Err(format!(
                    "lookback ({lookback}) is shorter than the longest time between runs of `{text}` ({}): events between runs would be missed",
                    Span::from_delta(gap)
                ));
            }
        }
        Every::Interval(_) => {}
    }
    Ok(Schedule { every, lookback })
}

/// The longest time between two runs of a cron schedule, over its next thousand runs (from a
/// fixed date, so loading is deterministic) or a year, whichever comes first.
fn longest_gap(schedule: &cron::Schedule) -> Option<chrono::TimeDelta> {
    let start = chrono::DateTime::from_timestamp(1_767_225_600, 0)?; // 2026-01-01
    let horizon = start + chrono::TimeDelta::days(366);
    let runs: Vec<_> = schedule
        .after(&start)
        .take(1000)
        .take_while(|t| *t < horizon)
        .collect();
    runs.windows(2).map(|w| w[1] - w[0]).max()
}

/// Parses a cron expression: six or seven fields (with seconds), or the classic five (a `0`
/// seconds field is prepended).
pub fn parse_cron(text: &str) -> Result<cron::Schedule, String> {
    let fields = text.split_whitespace().count();
    let expr = if fields == 5 {
        format!("0 {text}")
    } else {
        text.to_string()
    };
    cron::Schedule::from_str(&expr).map_err(|e| format!("invalid cron expression `{text}`: {e}"))
}

fn parse_threshold(file: &ThresholdFile) -> Result<Threshold, String> {
    let group_by = parse_fields(&file.group_by)?;
    let count = u64::try_from(file.count)
        .ok()
        .filter(|n| *n >= 1)
        .ok_or("`count` must be 1 or more")?;
    let cardinality = match &file.cardinality {
        Some(c) => Some(Cardinality {
            field: Field::parse(&c.field)?,
            min: u64::try_from(c.min)
                .ok()
                .filter(|n| *n >= 1)
                .ok_or("`cardinality.min` must be 1 or more")?,
        }),
        None => None,
    };
    let window = Span::parse(&file.window).map_err(|e| format!("`window`: {e}"))?;
    Ok(Threshold {
        group_by,
        count,
        cardinality,
        window,
    })
}

/// What a sequence test of a rule that counts or remembers checks against.
#[derive(Debug, Clone, Copy)]
struct RuleKind {
    name: &'static str,
    group_len: usize,
}

impl RuleKind {
    fn of(
        threshold: Option<&Threshold>,
        new_terms: Option<&NewTerms>,
        suppress: Option<&Suppression>,
    ) -> Option<RuleKind> {
        let (name, group_len) = match (threshold, new_terms, suppress) {
            (Some(t), _, _) => ("[threshold] group_by", t.group_by.len()),
            (_, Some(n), _) => ("[new_terms]", n.fields.len()),
            (_, _, Some(s)) => ("suppress by", s.by.len()),
            _ => return None,
        };
        Some(RuleKind { name, group_len })
    }
}

fn parse_fields(paths: &[String]) -> Result<Vec<Field>, String> {
    paths.iter().map(|p| Field::parse(p)).collect()
}

fn parse_new_terms(file: &NewTermsFile) -> Result<NewTerms, String> {
    let fields = parse_fields(&file.fields)?;
    if fields.is_empty() || fields.len() > new_terms::MAX_FIELDS {
        return Err(format!(
            "`fields` names 1 to {} fields (it names {})",
            new_terms::MAX_FIELDS,
            fields.len()
        ));
    }
    let start = file.history_window_start.trim();
    let history = start
        .strip_prefix("now-")
        .ok_or_else(|| format!("`history_window_start` is `now-` and a duration, such as `now-10d` (not `{start}`)"))
        .and_then(|span| Span::parse(span).map_err(|e| format!("`history_window_start`: {e}")))?;
    Ok(NewTerms { fields, history })
}

fn parse_suppress(file: &SuppressFile) -> Result<Suppression, String> {
    Ok(Suppression {
        by: parse_fields(&file.by)?,
        period: Span::parse(&file.period).map_err(|e| format!("`for`: {e}"))?,
    })
}

fn context_field(name: &str, value: &toml::Value) -> Result<ContextField, String> {
    if let Some(text) = value.get("template") {
        return context_template(name, value, text);
    }
    let (path, default) = match value {
        toml::Value::String(path) => (path.as_str(), Value::Null),
        toml::Value::Table(t) => {
            if let Some(key) = t.keys().find(|k| *k != "field" && *k != "default") {
                return Err(format!(
                    "context `{name}`: unknown key `{key}` (use `field` and `default`, or `template`)"
                ));
            }
            let path = t
                .get("field")
                .and_then(toml::Value::as_str)
                .ok_or_else(|| format!("context `{name}` needs `field = \"path\"`"))?;
            let default = match t.get("default") {
                Some(d) => serde_json::to_value(d).map_err(|e| e.to_string())?,
                None => Value::Null,
            };
            (path, default)
        }
        _ => {
            return Err(format!(
                "context `{name}` must be a field path or {{ field = \"…\", default = … }}"
            ))
        }
    };
    let field = Field::parse(path).map_err(|e| format!("context `{name}`: {e}"))?;
    Ok(ContextField {
        name: name.to_string(),
        field,
        default,
        template: None,
    })
}

/// `{ template = "…", default = … }`: a context value made of text and fields, as a title is.
fn context_template(
    name: &str,
    value: &toml::Value,
    text: &toml::Value,
) -> Result<ContextField, String> {
    let table = value.as_table().expect("only a table has a `template` key");
    if let Some(key) = table.keys().find(|k| *k != "template" && *k != "default") {
        return Err(format!(
            "context `{name}`: unknown key `{key}` (a template takes `default` only)"
        ));
    }
    let text = text
        .as_str()
        .ok_or_else(|| format!("context `{name}`: `template` must be a string"))?;
    let template = Template::parse(text).map_err(|e| format!("context `{name}`: {e}"))?;
    let field = template
        .fields()
        .next()
        .cloned()
        .ok_or_else(|| format!("context `{name}`: the template names no field"))?;
    let default = match table.get("default") {
        Some(d) => serde_json::to_value(d).map_err(|e| e.to_string())?,
        None => Value::Null,
    };
    Ok(ContextField {
        name: name.to_string(),
        field,
        default,
        template: Some(template),
    })
}

/// 1-based line and column of a character offset in `text`.
fn line_col_in(text: &str, char_offset: usize) -> (usize, usize) {
    let before: String = text.chars().take(char_offset).collect();
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schedule(
        interval: Option<&str>,
        cron: Option<&str>,
        lookback: Option<&str>,
    ) -> Result<Schedule, String> {
        parse_schedule(&ScheduleFile {
            interval: interval.map(str::to_string),
            cron: cron.map(str::to_string),
            lookback: lookback.map(str::to_string),
        })
    }

    fn rule_file(condition: &str, context: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.toml");
        let text = format!(
            "id = \"r\"\nname = \"n\"\nversion = 1\nseverity = \"low\"\ndescription = \"d\"\n\n\
             [detection]\nkql = 'event.action: AssumeRole'\ncondition = '''\n{condition}\n'''\n\n\
             [alert]\ntitle = \"{{arn_account(requestParameters.roleArn)|none}}\"\n\n\
             [alert.context]\n{context}\n"
        );
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn cloudtrail(record: serde_json::Value) -> crate::event::Event {
        crate::event::Event::from_cloudtrail(record, crate::event::Origin::Inline("t".into()))
    }

    #[test]
    fn severity_cases_apply_in_order_and_fall_back_to_the_rule() {
        let (_dir, path) = rule_file(
            "eventName eq \"AssumeRole\"",
            "[[alert.severity]]\nwhen = 'errorCode is_truthy'\nseverity = \"high\"\n\n\
             [[alert.severity]]\nwhen = 'awsRegion eq \"us-east-1\"'\nseverity = \"critical\"\nrisk_score = 95\n\n\
             [[alert.severity]]\nwhen = 'eventName eq \"AssumeRole\"'\nseverity = \"medium\"",
        );
        let rule = load_file(&path).unwrap();
        let failed = cloudtrail(
            json!({"eventName": "AssumeRole", "errorCode": "X", "awsRegion": "us-east-1"}),
        );
        assert_eq!(rule.severity_for(&failed), (Severity::High, 73));
        let east = cloudtrail(json!({"eventName": "AssumeRole", "awsRegion": "us-east-1"}));
        assert_eq!(rule.severity_for(&east), (Severity::Critical, 95));
        let west = cloudtrail(json!({"eventName": "AssumeRole", "awsRegion": "us-west-2"}));
        assert_eq!(rule.severity_for(&west), (Severity::Medium, 47));
        let other = cloudtrail(json!({"eventName": "GetCallerIdentity"}));
        assert_eq!(rule.severity_for(&other), (Severity::Low, 21));
        let alert = crate::alert::build(&rule, &east, chrono::Utc::now());
        assert_eq!(alert.doc["event"]["severity"], 99);
        assert_eq!(alert.doc["event"]["risk_score"], 95);
        assert_eq!(alert.doc["eshunt"]["severity"], "critical");
    }

    #[test]
    fn severity_case_errors_point_into_the_case() {
        let (_dir, path) = rule_file(
            "eventName eq \"AssumeRole\"",
            "[[alert.severity]]\nwhen = 'errorCode is_truthy and'\nseverity = \"urgent\"",
        );
        let errors: String = load_file(&path)
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert!(errors.contains("unknown severity `urgent`"), "{errors}");
        assert!(errors.contains("expected a predicate"), "{errors}");
    }

    #[test]
    fn title_cases_apply_in_order_and_fall_back_to_the_rule() {
        let (_dir, path) = rule_file(
            "eventName in [\"AssumeRole\", \"GetCallerIdentity\"]",
            "[[alert.titles]]\nwhen = 'errorCode is_truthy'\ntitle = \"{eventName} failed: {errorCode}\"\n\
             dedup = \"failed:{errorCode}\"\n\n\
             [[alert.titles]]\nwhen = 'eventName eq \"AssumeRole\"'\ntitle = \"Role [{requestParameters.roleArn ?? userIdentity.arn|?}]\"",
        );
        let rule = load_file(&path).unwrap();
        let title_and_dedup = |record| crate::alert::title_and_dedup(&rule, &cloudtrail(record));
        // The first case that holds gives the title, and its own dedup key.
        assert_eq!(
            title_and_dedup(json!({"eventName": "AssumeRole", "errorCode": "Denied"})),
            ("AssumeRole failed: Denied".into(), "failed:Denied".into())
        );
        // A case without dedup: the rule's dedup template (none here), so the case's title.
        assert_eq!(
            title_and_dedup(json!({"eventName": "AssumeRole", "userIdentity": {"arn": "u"}})),
            ("Role [u]".into(), "Role [u]".into())
        );
        // No case holds: the rule's title.
        let other = json!({"eventName": "GetCallerIdentity",
            "requestParameters": {"roleArn": "arn:aws:iam::123456789012:role/r"}});
        assert_eq!(
            title_and_dedup(other),
            ("123456789012".into(), "123456789012".into())
        );
        let fields = rule.field_paths();
        assert!(fields.contains(&"errorCode".to_string()), "{fields:?}");
        assert!(
            fields.contains(&"userIdentity.arn".to_string()),
            "{fields:?}"
        );
    }

    #[test]
    fn title_case_errors_point_into_the_case() {
        let (_dir, path) = rule_file(
            "eventName eq \"AssumeRole\"",
            "[[alert.titles]]\nwhen = 'errorCode is_truthy and'\ntitle = \"{a\"\ndedup = \"b}\"",
        );
        let errors: String = load_file(&path)
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert!(errors.contains("expected a predicate"), "{errors}");
        assert!(errors.contains("in the title template"), "{errors}");
        assert!(errors.contains("in the dedup template"), "{errors}");
    }

    #[test]
    fn context_templates_render_text_and_fields() {
        let (_dir, path) = rule_file(
            "eventName eq \"AssumeRole\"",
            "pair = { template = \"{recipientAccountId|None}_{eventRegion|None}\" }\n\
             ip_user = { template = \"{sourceIPAddress}{userIdentity.userName}\", default = \"?\" }",
        );
        let rule = load_file(&path).unwrap();
        let event = cloudtrail(
            json!({"eventName": "AssumeRole", "recipientAccountId": "1", "sourceIPAddress": "1.2.3.4"}),
        );
        let context = crate::alert::context(&rule, &event);
        assert_eq!(context["pair"], "1_None");
        assert_eq!(context["ip_user"], "?");
        assert!(rule
            .field_paths()
            .contains(&"userIdentity.userName".to_string()));
        let (_dir, path) = rule_file("eventName eq \"AssumeRole\"", "x = { template = \"text\" }");
        let errors: String = load_file(&path)
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert!(errors.contains("names no field"), "{errors}");
    }

    #[test]
    fn referenced_fields_are_read_by_the_rule() {
        let (_dir, path) = rule_file(
            "eventName eq \"AssumeRole\"\narn_account(requestParameters.roleArn) ne field(userIdentity.accountId)",
            "caller = \"arn_account(userIdentity.arn)\"",
        );
        let rule = load_file(&path).unwrap();
        assert_eq!(
            rule.condition_paths(),
            [
                "eventName",
                "requestParameters.roleArn",
                "userIdentity.accountId"
            ]
        );
        assert!(rule.field_paths().contains(&"userIdentity.arn".to_string()));
        assert_eq!(rule.condition_needles.describe(), [["AssumeRole"]]);
    }

    #[test]
    fn field_reference_errors_name_file_line_and_column() {
        let (_dir, path) = rule_file(
            "eventName eq \"AssumeRole\"\nrecipientAccountId ne field(a..b)",
            "",
        );
        let errors = load_file(&path).unwrap_err();
        assert_eq!((errors[0].line, errors[0].col), (11, 29), "{}", errors[0]);
        assert!(errors[0].message.contains("invalid field path `a..b`"));
        let (_dir, path) = rule_file(
            "eventName eq \"X\"",
            "caller = \"arn_acount(userIdentity.arn)\"",
        );
        let errors = load_file(&path).unwrap_err();
        assert!(
            errors[0].message.contains("unknown function `arn_acount`"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn look_back_must_cover_the_time_between_runs() {
        let default = schedule(None, None, None).unwrap();
        assert_eq!(default.lookback.to_string(), "6m");
        assert_eq!(
            schedule(Some("10m"), None, None)
                .unwrap()
                .lookback
                .to_string(),
            "11m"
        );
        let short = schedule(Some("10m"), None, Some("5m")).unwrap_err();
        assert!(short.contains("shorter than the interval"), "{short}");
        assert!(schedule(None, Some("*/5 * * * *"), Some("6m")).is_ok());
        let cron = schedule(None, Some("*/5 * * * *"), Some("1m")).unwrap_err();
        assert!(cron.contains("longest time between runs"), "{cron}");
        // Business hours only: the night between runs is the longest gap.
        let nights = schedule(None, Some("0 */5 9-17 * * *"), Some("1h")).unwrap_err();
        assert!(
            nights.contains("15h") || nights.contains("905m"),
            "{nights}"
        );
        assert!(
            schedule(None, Some("*/5 * * * *"), None).is_err(),
            "cron needs a look-back"
        );
        assert!(schedule(Some("5m"), Some("*/5 * * * *"), None).is_err());
    }

    /// A minimal rule file with this `[detection]` body and `extra` tables, loaded.
    fn load_with(detection: &str, extra: &str) -> Result<Rule, Vec<RuleError>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.toml");
        let text = format!(
            "id = \"r\"\nname = \"n\"\nseverity = \"low\"\ndescription = \"d\"\n\n\
             [detection]\n{detection}\n\n[alert]\ntitle = \"t\"\n\n{extra}\n"
        );
        std::fs::write(&path, text).unwrap();
        load_file(&path)
    }

    fn load_text(extra: &str) -> Result<Rule, Vec<RuleError>> {
        load_with("kql = 'event.action: AssumeRole'", extra)
    }

    fn first_error(extra: &str) -> String {
        let errors = load_text(extra).unwrap_err();
        errors[0].to_string()
    }

    fn loaded(detection: &str) -> Rule {
        load_with(detection, "").unwrap()
    }

    #[test]
    fn ecs_fields_are_read_from_the_ecs_view_of_raw_records_and_documents() {
        use crate::event::{Event, Origin};
        let rule = loaded(
            "kql = 'event.action: AssumeRole'\ncondition = 'ecs(cloud.account.id) eq \"111122223333\"'",
        );
        let raw = serde_json::json!({"eventName": "AssumeRole", "eventSource": "sts.amazonaws.com",
            "eventTime": "2026-01-01T00:00:00Z", "recipientAccountId": "111122223333",
            "userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}});
        let event = Event::from_document(raw, Origin::Inline("test".into()));
        assert!(
            rule.evaluate(&event, crate::rule::PrefilterCheck::Local)
                .matched,
            "the integration fills cloud.account.id with the recipient account"
        );
        let dotted = serde_json::json!({"event.action": "AssumeRole", "cloud": {"account.id": "111122223333"},
            "@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": "aws.cloudtrail"}});
        let event = Event::from_document(dotted, Origin::Inline("test".into()));
        assert!(
            rule.evaluate(&event, crate::rule::PrefilterCheck::DoneByCluster)
                .matched
        );
        assert_eq!(rule.ecs_fields(), ["cloud.account.id"]);
        assert_eq!(rule.condition_ecs_fields(), ["cloud.account.id"]);
        assert!(rule.field_paths().is_empty(), "no CloudTrail path is read");
        assert!(rule.ingest_only.is_empty());
    }

    #[test]
    fn rules_reading_fields_added_at_ingest_are_not_judged_on_raw_records() {
        use crate::event::{Event, Origin};
        let rule = loaded(
            "kql = 'event.action: ConsoleLogin and not source.as.organization.name: Amazon*'",
        );
        assert_eq!(rule.ingest_only, ["source.as.organization.name"]);
        let raw =
            serde_json::json!({"eventName": "ConsoleLogin", "eventTime": "2026-01-01T00:00:00Z"});
        assert!(!rule.can_judge(&Event::from_document(raw, Origin::Inline("test".into()))));
        let doc = serde_json::json!({"event": {"action": "ConsoleLogin"}, "@timestamp": "2026-01-01T00:00:00Z",
            "data_stream": {"dataset": "aws.cloudtrail"}, "source": {"as": {"organization": {"name": "Example"}}}});
        assert!(rule.can_judge(&Event::from_document(doc, Origin::Inline("test".into()))));
        let by_condition = loaded(
            "kql = 'event.action: X'\ncondition = 'ecs(source.geo.country_iso_code) eq \"FR\"'",
        );
        assert_eq!(by_condition.ingest_only, ["source.geo.country_iso_code"]);
        assert!(loaded("kql = 'source.address: 1.2.3.4'")
            .ingest_only
            .is_empty());
    }

    #[test]
    fn new_terms_and_suppression_are_read_and_checked() {
        let rule = load_text(
            "[new_terms]\nfields = [\"userIdentity.arn\", \"sourceIPAddress\"]\nhistory_window_start = \"now-10d\"",
        )
        .unwrap();
        let new_terms = rule.new_terms.as_ref().unwrap();
        assert_eq!(
            new_terms.field_names(),
            ["userIdentity.arn", "sourceIPAddress"]
        );
        assert_eq!(new_terms.history.to_string(), "10d");
        assert!(rule.remembers());
        let rule = load_text("[suppress]\nby = [\"userIdentity.arn\"]\nfor = \"1h\"").unwrap();
        assert_eq!(
            rule.suppress.unwrap().to_string(),
            "one alert per userIdentity.arn per 1h"
        );

        let error = first_error("[new_terms]\nfields = []\nhistory_window_start = \"now-10d\"");
        assert!(
            error.contains("[new_terms]: `fields` names 1 to 3 fields"),
            "{error}"
        );
        let error = first_error("[new_terms]\nfields = [\"a\"]\nhistory_window_start = \"10d\"");
        assert!(error.contains("`now-` and a duration"), "{error}");
        let error = first_error("[suppress]\nfor = \"soon\"");
        assert!(error.contains("suppress: `for`"), "{error}");
        let error =
            first_error("[suppress]\nfor = \"1h\"\n\n[threshold]\ncount = 2\nwindow = \"1h\"");
        assert!(
            error.contains("a rule has [threshold] or suppress, not both"),
            "{error}"
        );
        assert!(
            error.contains(":12:"),
            "the error names the line of the second: {error}"
        );
    }

    #[test]
    fn nothing_to_run_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let why = |report: &LoadReport| report.select(&[]).unwrap_err();
        let empty = load_dir(dir.path());
        assert!(why(&empty).contains("no rule files (*.toml) were found"));
        std::fs::write(dir.path().join("broken.toml"), "id = ").unwrap();
        let broken = load_dir(dir.path());
        assert!(why(&broken).contains("none of the 1 rule files is valid"));
        let missing = load_dir(&dir.path().join("nope"));
        assert!(Path::new(&missing.errors[0].file).is_absolute());
    }
}
