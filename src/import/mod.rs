//! Importers of public rule catalogues: a user's checkout of Elastic's detection-rules
//! ([`elastic`]) or SigmaHQ's rules ([`sigma`]) becomes eshunt rule files in a folder the user
//! keeps beside their own rules. The catalogues' licences do not let eshunt ship their rules,
//! so eshunt translates the user's copy instead.
//!
//! Each upstream file is converted on its own into a [`Conversion`]: a [`Draft`] rule (with
//! warnings about upstream bugs and what the translation could not keep), or a refusal with its
//! reason (rule types eshunt cannot run). A draft is written only after its text loads as an
//! eshunt rule, and only when it differs from the file already there: re-importing the same
//! checkout changes nothing, and an upstream change rewrites just the rules it touched.

pub mod draft;
pub mod elastic;
pub mod eql;
pub mod sigma;

use crate::rule::load_file;
use draft::Draft;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// Which catalogue a checkout holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Catalogue {
    /// elastic/detection-rules (TOML).
    Elastic,
    /// SigmaHQ/sigma (YAML).
    Sigma,
}

impl Catalogue {
    fn reads(self, path: &Path) -> bool {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match self {
            Catalogue::Elastic => ext == "toml",
            Catalogue::Sigma => ext == "yml" || ext == "yaml",
        }
    }

    fn convert(self, text: &str, file: &str) -> Conversion {
        match self {
            Catalogue::Elastic => elastic::convert(text, file),
            Catalogue::Sigma => sigma::convert(text, file),
        }
    }
}

/// What one upstream file becomes.
#[derive(Debug)]
pub enum Conversion {
    /// An eshunt rule.
    Rule {
        /// The rule.
        draft: Box<Draft>,
        /// The upstream rule type, for the summary (`query`, `new_terms`, `eql`, `sigma`…).
        kind: String,
        /// Upstream bugs and translation limits worth a reader's attention.
        warnings: Vec<String>,
    },
    /// A rule eshunt does not run, and why (one line).
    Refused {
        /// The upstream rule type.
        kind: String,
        /// Why.
        reason: String,
    },
    /// Not a CloudTrail rule of this catalogue (another log source, a deprecated rule, a file
    /// that is not a rule): left out of the counts.
    NotApplicable(String),
    /// The file cannot be read as a rule of this catalogue.
    Malformed(String),
}

/// What an import did, for the summary.
#[derive(Debug, Default)]
pub struct Report {
    /// Imported rules by upstream type.
    pub imported: BTreeMap<String, usize>,
    /// Files written for the first time.
    pub created: usize,
    /// Files rewritten because upstream changed.
    pub updated: usize,
    /// Files already up to date.
    pub unchanged: usize,
    /// `reason → files` of refused rules.
    pub refused: BTreeMap<String, Vec<String>>,
    /// Files not applicable (not CloudTrail rules), with why.
    pub not_applicable: Vec<(String, String)>,
    /// Files that could not be read or translated, with why.
    pub errors: Vec<(String, String)>,
    /// `(file, warning)` for imported rules.
    pub warnings: Vec<(String, String)>,
}

impl Report {
    /// Rules imported in all.
    pub fn imported_total(&self) -> usize {
        self.imported.values().sum()
    }

    /// The summary table: imported by type, refused by reason (with the files), errors and
    /// warnings.
    pub fn render(&self, out: &Path) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "imported {} rules into {} ({} new, {} updated, {} unchanged)",
            self.imported_total(),
            out.display(),
            self.created,
            self.updated,
            self.unchanged
        );
        for (kind, n) in &self.imported {
            let _ = writeln!(s, "  {kind:<18} {n:>4}");
        }
        let refused: usize = self.refused.values().map(Vec::len).sum();
        let _ = writeln!(s, "refused {refused} rules");
        for (reason, files) in &self.refused {
            let _ = writeln!(s, "  {:>4}  {reason}", files.len());
            for file in files {
                let _ = writeln!(s, "          {file}");
            }
        }
        if !self.not_applicable.is_empty() {
            let _ = writeln!(s, "not applicable: {} files", self.not_applicable.len());
            for (file, why) in self.not_applicable.iter().take(NOT_APPLICABLE_SHOWN) {
                let _ = writeln!(s, "  {file}: {why}");
            }
            if let Some(more) = self
                .not_applicable
                .len()
                .checked_sub(NOT_APPLICABLE_SHOWN + 1)
            {
                let _ = writeln!(s, "  … and {} more", more + 1);
            }
        }
        for (file, warning) in &self.warnings {
            let _ = writeln!(s, "warning: {file}: {warning}");
        }
        for (file, error) in &self.errors {
            let _ = writeln!(s, "error: {file}: {error}");
        }
        s
    }
}

/// How many not-applicable files the summary names: a whole checkout holds thousands (every
/// other platform's rules), which only the count is worth showing for.
const NOT_APPLICABLE_SHOWN: usize = 10;

/// Imports every rule file of `catalogue` found under `paths` (files or folders) into `out`.
pub fn import(catalogue: Catalogue, paths: &[PathBuf], out: &Path) -> std::io::Result<Report> {
    std::fs::create_dir_all(out)?;
    let mut report = Report::default();
    for path in paths {
        for file in rule_files(catalogue, path) {
            let name = relative_name(path, &file);
            match std::fs::read_to_string(&file) {
                Ok(text) => {
                    let conversion = catalogue.convert(&text, &name);
                    record(&mut report, conversion, &name, out)?;
                }
                Err(e) => report.errors.push((name, e.to_string())),
            }
        }
    }
    Ok(report)
}

/// The catalogue's files under `path`, in a stable order (a file given by name is taken as is).
fn rule_files(catalogue: Catalogue, path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files: Vec<PathBuf> = WalkDir::new(path)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && catalogue.reads(e.path()))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    files
}

/// The file's path below the folder given (its own name when given directly), with `/`.
fn relative_name(root: &Path, file: &Path) -> String {
    let relative = match file.strip_prefix(root) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel,
        _ => Path::new(file.file_name().unwrap_or(file.as_os_str())),
    };
    relative.to_string_lossy().replace('\\', "/")
}

fn record(
    report: &mut Report,
    conversion: Conversion,
    name: &str,
    out: &Path,
) -> std::io::Result<()> {
    match conversion {
        Conversion::Rule {
            draft,
            kind,
            warnings,
        } => match write_rule(&draft, name, out)? {
            Ok(written) => {
                match written {
                    Written::Created => report.created += 1,
                    Written::Updated => report.updated += 1,
                    Written::Unchanged => report.unchanged += 1,
                }
                *report.imported.entry(kind).or_default() += 1;
                let warned = warnings.into_iter().map(|w| (name.to_string(), w));
                report.warnings.extend(warned);
            }
            Err(e) => report.errors.push((name.to_string(), e)),
        },
        Conversion::Refused { kind, reason } => report
            .refused
            .entry(format!("{kind}: {reason}"))
            .or_default()
            .push(name.to_string()),
        Conversion::NotApplicable(why) => report.not_applicable.push((name.to_string(), why)),
        Conversion::Malformed(why) => report.errors.push((name.to_string(), why)),
    }
    Ok(())
}

/// What writing a rule file did.
enum Written {
    Created,
    Updated,
    Unchanged,
}

/// Writes the draft as `out/<stem>.toml` when its text loads as a rule and differs from what is
/// there; `Err` (inner) when the translation does not load — an importer bug, reported.
fn write_rule(draft: &Draft, name: &str, out: &Path) -> std::io::Result<Result<Written, String>> {
    let header = format!(
        "Imported by `eshunt import` from {} {name} ({}).\nLicence: {}. Re-import to update: edits here are overwritten.",
        draft.origin.product,
        draft.origin.version.as_deref().map_or_else(|| draft.origin.rule_id.clone(), |v| format!("{}, {v}", draft.origin.rule_id)),
        draft.origin.license.as_deref().unwrap_or("as upstream"),
    );
    let text = match draft.to_toml(&header) {
        Ok(text) => text,
        Err(e) => return Ok(Err(format!("cannot write the rule: {e}"))),
    };
    let stem = Path::new(name)
        .file_stem()
        .map_or_else(|| draft.id.clone(), |s| s.to_string_lossy().into_owned());
    let target = out.join(format!("{stem}.toml"));
    let before = std::fs::read_to_string(&target).ok();
    if before.as_deref() == Some(text.as_str()) {
        return Ok(Ok(Written::Unchanged));
    }
    let staging = out.join(format!(".{stem}.toml.importing"));
    std::fs::write(&staging, &text)?;
    if let Err(errors) = load_file(&staging) {
        std::fs::remove_file(&staging)?;
        let first = errors.first().map(|e| e.to_string()).unwrap_or_default();
        return Ok(Err(format!(
            "the translation does not load as an eshunt rule: {first}"
        )));
    }
    std::fs::rename(&staging, &target)?;
    Ok(Ok(match before {
        Some(_) => Written::Updated,
        None => Written::Created,
    }))
}
