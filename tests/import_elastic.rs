//! `eshunt import elastic` on the snapshot of elastic/detection-rules in
//! `../shared/upstream-rules/elastic` (read in place, never copied into the repository): the
//! counts match what the upstream files themselves say, every imported rule loads and its
//! prefilter runs offline, re-importing is idempotent, an upstream change rewrites just its
//! rule, and each single-event EQL rule matches a document built to match its query.

use eshunt::event::{Event, Origin};
use eshunt::import::eql::{self, Expr, Leaf, Literal, StrFn, Test};
use eshunt::import::{import, Catalogue, Report};
use eshunt::rule::{load_dir, PrefilterCheck, Rule};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn upstream() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/upstream-rules/elastic")
}

/// Every detection-rules TOML file of the snapshot, parsed.
fn upstream_rules() -> Vec<(PathBuf, toml::Value)> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(upstream())
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no rules under {}", upstream().display());
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let value = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, value)
        })
        .collect()
}

fn text<'a>(v: &'a toml::Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, key| v.get(key))
        .and_then(toml::Value::as_str)
}

/// What the upstream files say, independently of the importer: the type of each CloudTrail
/// rule (`eql` split into single-event and `sequence`), from `type`, `index` (without one, as
/// ES|QL and machine learning rules: the `aws` integration or a query naming CloudTrail) and
/// the query's first word.
fn census() -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (_, rule) in upstream_rules() {
        if text(&rule, &["metadata", "maturity"]) == Some("deprecated") {
            continue;
        }
        let index: Vec<&str> = rule["rule"]
            .get("index")
            .and_then(toml::Value::as_array)
            .map(|a| a.iter().filter_map(toml::Value::as_str).collect())
            .unwrap_or_default();
        let aws = rule["metadata"]
            .get("integration")
            .and_then(toml::Value::as_array)
            .is_some_and(|a| a.iter().any(|i| i.as_str() == Some("aws")));
        let query = text(&rule, &["rule", "query"]).unwrap_or("").trim_start();
        let cloudtrail = match index.is_empty() {
            true => aws || query.contains("cloudtrail"),
            false => index.iter().any(|i| i.contains("cloudtrail")),
        };
        if !cloudtrail {
            continue;
        }
        let kind = text(&rule, &["rule", "type"]).unwrap().to_string();
        let kind = match kind.as_str() {
            "eql" if query.starts_with("sequence") => "eql sequence".to_string(),
            _ => kind,
        };
        *counts.entry(kind).or_default() += 1;
    }
    counts
}

/// The counts of `../shared/docs/rule-catalogues.md`'s Elastic table (`| query (KQL) | 90 …`).
fn documented_census() -> BTreeMap<String, usize> {
    let doc = std::fs::read_to_string(upstream().join("../../docs/rule-catalogues.md")).unwrap();
    let table = doc
        .split("## Elastic")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    table
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let kind = cells.get(1)?.split_whitespace().next()?;
            let count = cells.get(2)?.split_whitespace().next()?.parse().ok()?;
            Some((kind.to_string(), count))
        })
        .collect()
}

fn import_into(paths: &[PathBuf], out: &Path) -> Report {
    import(Catalogue::Elastic, paths, out).expect("import")
}

fn refused_count(report: &Report, prefix: &str) -> usize {
    report
        .refused
        .iter()
        .filter(|(reason, _)| reason.starts_with(prefix))
        .map(|(_, files)| files.len())
        .sum()
}

fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

fn eshunt(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eshunt"))
        .args(args)
        .env_remove("ESHUNT_RULES")
        .output()
        .expect("run eshunt")
}

#[test]
fn the_whole_snapshot_imports_loads_and_counts_as_upstream_says() {
    let out = tempfile::tempdir().unwrap();
    let report = import_into(&[upstream()], out.path());
    assert!(report.errors.is_empty(), "{}", report.render(out.path()));

    let census = census();
    let n = |kind: &str| census.get(kind).copied().unwrap_or(0);
    let imported = |kind: &str| report.imported.get(kind).copied().unwrap_or(0);
    assert_eq!(imported("query"), n("query"));
    assert_eq!(imported("new_terms"), n("new_terms"));
    assert_eq!(imported("threshold"), n("threshold"));
    assert_eq!(imported("eql"), n("eql"));
    assert_eq!(
        refused_count(&report, "eql: EQL not translated: `sequence`"),
        n("eql sequence")
    );
    assert_eq!(refused_count(&report, "esql:"), n("esql"));
    assert_eq!(
        refused_count(&report, "machine_learning:"),
        n("machine_learning")
    );
    let refused: usize = report.refused.values().map(Vec::len).sum();
    assert_eq!(
        report.imported_total() + refused,
        census.values().sum::<usize>()
    );

    // The census document agrees with the files (eql counts single-event and sequence rules).
    let documented = documented_census();
    for kind in [
        "query",
        "new_terms",
        "threshold",
        "esql",
        "machine_learning",
    ] {
        assert_eq!(documented.get(kind), Some(&n(kind)), "{kind}");
    }
    assert_eq!(documented.get("eql"), Some(&(n("eql") + n("eql sequence"))));

    // Every imported rule loads, and its prefilter can be evaluated offline.
    let loaded = load_dir(out.path());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    assert_eq!(loaded.rules.len(), report.imported_total());
    let offline: Vec<String> = loaded
        .rules
        .iter()
        .filter_map(|r| {
            r.prefilter
                .local
                .as_ref()
                .err()
                .map(|e| format!("{}: {e}", r.meta.id))
        })
        .collect();
    assert!(
        offline.is_empty(),
        "prefilters not evaluable offline: {offline:?}"
    );

    // Warned exactly when eshunt sees the rule needs fields added at ingest.
    let warned: BTreeSet<String> = report
        .warnings
        .iter()
        .filter(|(_, w)| w.contains("added by Elastic's ingest pipeline"))
        .map(|(file, _)| file.clone())
        .collect();
    let ingest_only: BTreeSet<String> = loaded
        .rules
        .iter()
        .filter(|r| !r.ingest_only.is_empty())
        .map(|r| r.meta.origin.as_ref().unwrap().file.clone().unwrap())
        .collect();
    assert_eq!(warned, ingest_only);

    // Building blocks stay building blocks; origins point at the upstream file.
    let building_blocks: Vec<&Rule> = loaded
        .rules
        .iter()
        .filter(|r| r.meta.building_block)
        .collect();
    assert!(!building_blocks.is_empty());
    for rule in &loaded.rules {
        let origin = rule.meta.origin.as_ref().unwrap();
        let file = origin.file.as_deref().unwrap();
        assert!(upstream().join(file).is_file(), "{file}");
        assert_eq!(
            origin.url.as_deref(),
            Some(format!("https://github.com/elastic/detection-rules/blob/main/{file}").as_str())
        );
        assert_eq!(
            rule.meta.building_block,
            file.starts_with("rules_building_block/"),
            "{file}"
        );
    }

    // The CLI agrees: the rules list, and their (absent) tests pass.
    let dir = out.path().to_str().unwrap();
    let rules = eshunt(&["rules", "--rules", dir, "-v"]);
    assert!(
        rules.status.success(),
        "{}",
        String::from_utf8_lossy(&rules.stderr)
    );
    let test = eshunt(&["test", dir]);
    let stdout = String::from_utf8_lossy(&test.stdout);
    assert!(
        test.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&test.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "0 passed; 0 failed; {} rules",
            report.imported_total()
        )),
        "{stdout}"
    );
}

#[test]
fn re_importing_changes_nothing_and_an_upstream_change_rewrites_its_rule() {
    let checkout = tempfile::tempdir().unwrap();
    let root = checkout.path().join("detection-rules");
    fresh_checkout(&root);
    let out = tempfile::tempdir().unwrap();
    let paths = [root.join("rules"), root.join("rules_building_block")];
    let first = import_into(&paths, out.path());
    assert!(first.errors.is_empty(), "{}", first.render(out.path()));
    assert_eq!(first.created, first.imported_total());
    assert!(
        first
            .not_applicable
            .iter()
            .any(|(f, _)| f == "windows/not_cloudtrail.toml"),
        "{:?}",
        first.not_applicable
    );
    let before = contents(out.path());

    let second = import_into(&paths, out.path());
    assert_eq!((second.created, second.updated), (0, 0));
    assert_eq!(second.unchanged, first.imported_total());
    assert_eq!(contents(out.path()), before, "files are byte-identical");

    // Upstream changes one rule: its date and its query.
    let changed =
        root.join("rules/integrations/aws/persistence_iam_create_login_profile_for_root.toml");
    let text = std::fs::read_to_string(&changed).unwrap();
    let date = text
        .lines()
        .find_map(|l| l.strip_prefix("updated_date = "))
        .unwrap()
        .to_string();
    let text = text
        .replace(
            &format!("updated_date = {date}"),
            "updated_date = \"2099/01/02\"",
        )
        .replace("\"CreateLoginProfile\"", "\"UpdateLoginProfile\"");
    std::fs::write(&changed, text).unwrap();

    let third = import_into(&paths, out.path());
    assert_eq!((third.created, third.updated), (0, 1));
    let after = contents(out.path());
    let differing: Vec<&String> = after.keys().filter(|k| after[*k] != before[*k]).collect();
    assert_eq!(
        differing,
        ["persistence_iam_create_login_profile_for_root.toml"]
    );
    let rule = eshunt::rule::load_file(&out.path().join(differing[0])).unwrap();
    assert_eq!(rule.meta.version, 20990102);
    assert!(rule
        .condition
        .unwrap()
        .text()
        .contains("\"UpdateLoginProfile\""));
    // Names relative to the folders given still find the upstream file on GitHub.
    assert_eq!(
        rule.meta.origin.unwrap().url.as_deref(),
        Some("https://github.com/elastic/detection-rules/blob/main/rules/integrations/aws/persistence_iam_create_login_profile_for_root.toml")
    );
}

/// A folder laid out as a detection-rules checkout: the snapshot's rules where upstream keeps
/// them, with files the importer must skip (the Python package, docs, a Windows rule).
fn fresh_checkout(root: &Path) {
    for (file, _) in upstream_rules() {
        let relative = file.strip_prefix(upstream()).unwrap();
        let target = root.join(relative);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&file, &target).unwrap();
    }
    let extra = [
        ("detection_rules/etc/packages.yaml", "package: {}\n"),
        ("rules/integrations/aws/NOTICE.txt", "notice\n"),
        ("README.md", "# detection-rules\n"),
        (
            "rules/windows/not_cloudtrail.toml",
            "[metadata]\nmaturity = \"production\"\nupdated_date = \"2026/01/01\"\nintegration = [\"endpoint\"]\n\n\
             [rule]\nrule_id = \"x\"\nname = \"x\"\ndescription = \"x\"\nseverity = \"low\"\nrisk_score = 21\n\
             type = \"query\"\nlanguage = \"kuery\"\nindex = [\"logs-endpoint.events.*\"]\nquery = 'process.name: x'\n",
        ),
    ];
    for (path, content) in extra {
        let target = root.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, content).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Each single-event EQL rule matches a document built from its query

#[test]
fn each_imported_eql_rule_matches_a_document_built_to_match_it() {
    let out = tempfile::tempdir().unwrap();
    let report = import_into(&[upstream()], out.path());
    let rules = load_dir(out.path()).rules;
    let mut checked = 0;
    for (path, upstream_rule) in upstream_rules() {
        let query = text(&upstream_rule, &["rule", "query"]).unwrap_or("");
        if text(&upstream_rule, &["rule", "type"]) != Some("eql")
            || query.trim_start().starts_with("sequence")
        {
            continue;
        }
        let id = text(&upstream_rule, &["rule", "rule_id"]).unwrap();
        let rule = rules
            .iter()
            .find(|r| r.meta.id == format!("elastic.{id}"))
            .unwrap_or_else(|| panic!("{id} not imported"));
        let parsed = eql::parse(query).unwrap();
        let category_field =
            text(&upstream_rule, &["rule", "event_category_override"]).unwrap_or("event.category");
        let mut witness = Witness::default();
        if let Some(category) = &parsed.category {
            witness.set(category_field, category);
        }
        assert!(
            witness.satisfy(&parsed.condition),
            "{}: no document built",
            path.display()
        );
        let doc = witness.document();
        let event = Event::from_ecs(doc.clone(), Origin::Inline("witness".into()));
        let verdict = rule.evaluate(&event, PrefilterCheck::Local);
        assert!(
            verdict.matched,
            "{}: {} does not match {doc}",
            path.display(),
            rule.meta.id
        );
        assert_eq!(verdict.prefilter, Some(true));
        if parsed.category.is_some() {
            let mut other = doc.clone();
            set_dotted(&mut other, category_field, Value::from("another-category"));
            let event = Event::from_ecs(other, Origin::Inline("witness".into()));
            assert!(
                !rule.evaluate(&event, PrefilterCheck::Local).matched,
                "{}: category",
                path.display()
            );
        }
        checked += 1;
    }
    assert_eq!(checked, report.imported["eql"]);
}

/// An ECS document under construction: dotted fields with one string each, and fields that
/// must stay absent.
#[derive(Debug, Clone, Default)]
struct Witness {
    fields: BTreeMap<String, String>,
    absent: BTreeSet<String>,
}

impl Witness {
    fn set(&mut self, field: &str, value: &str) -> bool {
        if self.absent.contains(field) {
            return false;
        }
        match self.fields.get(field) {
            Some(v) => v == value,
            None => {
                self.fields.insert(field.to_string(), value.to_string());
                true
            }
        }
    }

    /// Makes `expr` hold: conjuncts (positive ones first), the first alternative that can.
    fn satisfy(&mut self, expr: &Expr) -> bool {
        match expr {
            Expr::And(items) => {
                let (negative, positive): (Vec<&Expr>, Vec<&Expr>) =
                    items.iter().partition(|e| matches!(e, Expr::Not(_)));
                positive
                    .into_iter()
                    .chain(negative)
                    .all(|e| self.satisfy(e))
            }
            Expr::Or(items) => self.first_that(items, Self::satisfy),
            Expr::Not(inner) => self.refute(inner),
            Expr::Leaf(leaf) => self.make_true(leaf),
        }
    }

    /// Makes `expr` fail.
    fn refute(&mut self, expr: &Expr) -> bool {
        match expr {
            Expr::And(items) => self.first_that(items, Self::refute),
            Expr::Or(items) => items.iter().all(|e| self.refute(e)),
            Expr::Not(inner) => self.satisfy(inner),
            // A test of a field left out is false (the document's own value is checked by the
            // rule in the end).
            Expr::Leaf(Leaf { field, test }) => match test {
                Test::Eq(Literal::Null) => {
                    self.fields.contains_key(field) || self.set(field, "present")
                }
                _ => {
                    if !self.fields.contains_key(field) {
                        self.absent.insert(field.clone());
                    }
                    true
                }
            },
        }
    }

    fn first_that(&mut self, items: &[Expr], mut f: impl FnMut(&mut Self, &Expr) -> bool) -> bool {
        for item in items {
            let mut attempt = self.clone();
            if f(&mut attempt, item) {
                *self = attempt;
                return true;
            }
        }
        false
    }

    fn make_true(&mut self, leaf: &Leaf) -> bool {
        let f = leaf.field.as_str();
        match &leaf.test {
            Test::Eq(Literal::Str(s)) => self.set(f, s),
            Test::Eq(Literal::Num(n)) => self.set(f, n),
            Test::In(values, _) => match &values[0] {
                Literal::Str(s) | Literal::Num(s) => self.set(f, s),
                _ => false,
            },
            Test::Glob(patterns, _) => self.set(f, &patterns[0].replace('*', "").replace('?', "x")),
            Test::Regex(patterns, _) => self.set(f, &example_of_regex(&patterns[0])),
            Test::Str(function, Literal::Str(s), _) => self.add_text(f, *function, s),
            Test::Str(function, Literal::Field(other), _) => {
                let value = self
                    .fields
                    .get(other)
                    .cloned()
                    .unwrap_or_else(|| "needle".into());
                self.set(other, &value) && self.add_text(f, *function, &value)
            }
            _ => false,
        }
    }

    /// Makes the field contain / start with / end with `s`, keeping what it holds.
    fn add_text(&mut self, field: &str, function: StrFn, s: &str) -> bool {
        if self.absent.contains(field) {
            return false;
        }
        let current = self.fields.remove(field).unwrap_or_default();
        let value = match function {
            StrFn::Contains if current.contains(s) => current,
            StrFn::StartsWith if current.starts_with(s) => current,
            StrFn::EndsWith if current.ends_with(s) => current,
            StrFn::StartsWith => format!("{s}{current}"),
            StrFn::Contains | StrFn::EndsWith => format!("{current}{s}"),
        };
        self.set(field, &value)
    }

    fn document(&self) -> Value {
        let mut doc = Value::Object(Map::new());
        for (field, value) in &self.fields {
            set_dotted(&mut doc, field, Value::from(value.as_str()));
        }
        doc
    }
}

fn set_dotted(doc: &mut Value, path: &str, value: Value) {
    let mut at = doc;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        let map = at.as_object_mut().unwrap();
        if keys.peek().is_none() {
            map.insert(key.to_string(), value);
            return;
        }
        at = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// A short string a regular expression matches as a whole (shortest repetitions, first
/// alternatives, a letter of each class where it has one).
fn example_of_regex(pattern: &str) -> String {
    use regex_syntax::hir::{Class, Hir, HirKind};
    fn walk(hir: &Hir, out: &mut String) {
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => {}
            HirKind::Literal(lit) => out.push_str(std::str::from_utf8(&lit.0).unwrap()),
            HirKind::Class(Class::Unicode(class)) => {
                let ranges = class.ranges();
                let letter =
                    ('a'..='z').find(|c| ranges.iter().any(|r| r.start() <= *c && *c <= r.end()));
                out.push(letter.unwrap_or_else(|| ranges[0].start()));
            }
            HirKind::Class(Class::Bytes(class)) => out.push(char::from(class.ranges()[0].start())),
            HirKind::Repetition(rep) => (0..rep.min).for_each(|_| walk(&rep.sub, out)),
            HirKind::Capture(capture) => walk(&capture.sub, out),
            HirKind::Concat(items) => items.iter().for_each(|h| walk(h, out)),
            HirKind::Alternation(items) => walk(&items[0], out),
        }
    }
    let hir = regex_syntax::Parser::new().parse(pattern).unwrap();
    let mut out = String::new();
    walk(&hir, &mut out);
    out
}

#[test]
fn both_catalogues_load_side_by_side_with_the_shipped_rules() {
    let sigma = upstream().parent().unwrap().join("sigma");
    let out = tempfile::tempdir().unwrap();
    import_into(&[upstream()], &out.path().join("elastic"));
    import(Catalogue::Sigma, &[sigma], &out.path().join("sigma")).expect("import");
    std::fs::create_dir(out.path().join("shipped")).unwrap();
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    for entry in walkdir::WalkDir::new(&queries)
        .into_iter()
        .map(Result::unwrap)
    {
        if entry.path().extension().is_some_and(|e| e == "toml") {
            let name = entry
                .path()
                .strip_prefix(&queries)
                .unwrap()
                .to_string_lossy()
                .replace('/', "_");
            std::fs::copy(entry.path(), out.path().join("shipped").join(name)).unwrap();
        }
    }
    let loaded = load_dir(out.path());
    assert!(
        loaded.errors.is_empty(),
        "ids shared between catalogues must not clash: {:?}",
        loaded.errors
    );
    let origins: BTreeSet<&str> = loaded
        .rules
        .iter()
        .filter_map(|r| r.meta.origin.as_ref().map(|o| o.product.as_str()))
        .collect();
    assert!(
        origins.contains("Sigma") && origins.contains("Elastic detection-rules"),
        "{origins:?}"
    );
}
