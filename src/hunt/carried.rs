//! The state file of `eshunt scan --state`: what the new terms rules of one scan of files carry to
//! the next, so daily scans of a trail share one history instead of each learning it afresh.
//!
//! The file is JSON — `{"version": 1, "rules": {rule id: carried terms}}` — read before the scan
//! and replaced (written aside, then renamed) after it. A rule whose entry no longer fits it
//! (fields or history changed) starts afresh, with a warning; rules absent from the scan keep
//! their entries.

use crate::hunt::files::Scanner;
use crate::hunt::new_terms::Carried;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The state file's format version.
const VERSION: u32 = 1;

/// The state file's contents.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct StateFile {
    version: u32,
    rules: BTreeMap<String, Carried>,
}

impl StateFile {
    /// Reads `path`; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<StateFile, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StateFile::default()),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let state: StateFile = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not an eshunt state file: {e}", path.display()))?;
        if state.version != VERSION {
            return Err(format!(
                "{}: state file version {} (this eshunt reads version {VERSION})",
                path.display(),
                state.version
            ));
        }
        Ok(state)
    }

    /// Hands each rule of `scanner` what it carried. An entry that no longer fits its rule is
    /// dropped with a warning (the rule starts afresh).
    pub fn resume(&mut self, scanner: &mut Scanner<'_, '_>) {
        for (rule, memory) in scanner.memories() {
            let Some(carried) = self.rules.remove(&rule.meta.id) else {
                continue;
            };
            if let Err(why) = memory.resume(carried) {
                tracing::warn!(rule = %rule.meta.id, "state not used, the rule starts afresh: {why}");
            }
        }
    }

    /// Takes what the rules of `scanner` carry (before [`Scanner::finish`]).
    pub fn carry(&mut self, scanner: &mut Scanner<'_, '_>) {
        for (rule, memory) in scanner.memories() {
            if let Some(carried) = memory.carry() {
                self.rules.insert(rule.meta.id.clone(), carried);
            }
        }
    }

    /// Writes the state to `path`, replacing it only once the new contents are complete.
    pub fn save(&mut self, path: &Path) -> std::io::Result<()> {
        self.version = VERSION;
        let mut aside = path.as_os_str().to_owned();
        aside.push(".tmp");
        let aside = std::path::PathBuf::from(aside);
        let text = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        std::fs::write(&aside, text)?;
        std::fs::rename(&aside, path)
    }
}
