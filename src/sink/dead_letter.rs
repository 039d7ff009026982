//! The dead-letter file: alerts the cluster refused for good (a mapping conflict…), appended
//! as JSON lines with the reason, so no alert is ever lost. Each append is flushed and synced to
//! disk before the alert counts as handled. An alert already in the file (a window re-read by
//! the overlap, or redone) is not appended again.

use crate::alert::Alert;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// An append-only JSON-lines file of refused alerts.
#[derive(Debug)]
pub struct DeadLetter {
    path: PathBuf,
    /// The alert ids in the file, read at the first append.
    recorded: Mutex<Option<HashSet<String>>>,
}

impl DeadLetter {
    /// A dead-letter file at `path` (created on first use).
    pub fn new(path: &Path) -> DeadLetter {
        DeadLetter {
            path: path.to_path_buf(),
            recorded: Mutex::new(None),
        }
    }

    /// Checks that the file can be appended to, so a refused alert cannot stop hunting later.
    /// An existing file is opened for appending; otherwise a uniquely named probe file is
    /// created and removed in its folder (the dead-letter file itself is never removed: another
    /// process may be appending to it).
    pub fn check_writable(&self) -> io::Result<()> {
        if self.path.exists() {
            OpenOptions::new().append(true).open(&self.path)?;
            return Ok(());
        }
        let folder = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let probe = folder.join(format!(".eshunt-write-check-{}", std::process::id()));
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)?;
        std::fs::remove_file(&probe)
    }

    /// Appends one refused alert with the target, status and error, and syncs the file —
    /// unless the file already holds it.
    pub fn append(
        &self,
        alert: &Alert,
        target: &str,
        status: u16,
        error: &Value,
    ) -> io::Result<()> {
        let line = json!({
            "alert_id": alert.id,
            "rule_id": alert.rule_id,
            "target": target,
            "status": status,
            "error": error,
            "written_at": crate::time::format(chrono::Utc::now()),
            "alert": alert.doc,
        });
        let mut recorded = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
        if recorded.is_none() {
            *recorded = Some(super::ndjson::ids_in(&self.path, "/alert_id")?);
        }
        let ids = recorded.get_or_insert_with(HashSet::new);
        if ids.contains(&alert.id) {
            return Ok(());
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(format!("{line}\n").as_bytes())?;
        file.sync_data()?;
        ids.insert(alert.id.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_writability_without_leaving_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let dl = DeadLetter::new(&dir.path().join("d.ndjson"));
        dl.check_writable().unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no file left behind"
        );
        assert!(DeadLetter::new(&dir.path().join("missing/d.ndjson"))
            .check_writable()
            .is_err());
    }

    #[test]
    fn appends_lines_with_reason_and_document() {
        let dir = tempfile::tempdir().unwrap();
        let dl = DeadLetter::new(&dir.path().join("dead.ndjson"));
        let alert = Alert {
            id: "a1".into(),
            rule_id: "r".into(),
            doc: json!({"message": "m"}),
        };
        dl.append(
            &alert,
            "logs-x-default",
            400,
            &json!({"type": "mapper_parsing_exception"}),
        )
        .unwrap();
        dl.append(&alert, "logs-x-default", 400, &json!(null))
            .unwrap();
        dl.check_writable().unwrap();
        // Another process (or a restart) finds what the file holds.
        let again = DeadLetter::new(&dir.path().join("dead.ndjson"));
        again
            .append(&alert, "logs-x-default", 400, &json!(null))
            .unwrap();
        let other = Alert {
            id: "a2".into(),
            ..alert.clone()
        };
        again
            .append(&other, "logs-x-default", 400, &json!(null))
            .unwrap();
        let text = std::fs::read_to_string(dir.path().join("dead.ndjson")).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "each refused alert once: {text}");
        assert_eq!(lines[1]["alert_id"], "a2");
        assert_eq!(lines[0]["alert_id"], "a1");
        assert_eq!(lines[0]["error"]["type"], "mapper_parsing_exception");
        assert_eq!(lines[0]["alert"]["message"], "m");
    }
}
