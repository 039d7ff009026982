//! The dead-letter file: alerts the cluster refused for good (a mapping conflict, a closed
//! index…), appended as JSON lines with the reason, so no alert is ever lost. Each append is
//! flushed and synced to disk before the alert counts as handled.

use crate::alert::Alert;
use serde_json::{json, Value};
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// An append-only JSON-lines file of refused alerts.
#[derive(Debug)]
pub struct DeadLetter {
    path: PathBuf,
    lock: Mutex<()>,
}

impl DeadLetter {
    /// A dead-letter file at `path` (created on first use).
    pub fn new(path: &Path) -> DeadLetter {
        DeadLetter {
            path: path.to_path_buf(),
            lock: Mutex::new(()),
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

    /// Appends one refused alert with the target, status and error, and syncs the file.
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
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(format!("{line}\n").as_bytes())?;
        file.sync_data()
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
        let text = std::fs::read_to_string(dir.path().join("dead.ndjson")).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["alert_id"], "a1");
        assert_eq!(lines[0]["error"]["type"], "mapper_parsing_exception");
        assert_eq!(lines[0]["alert"]["message"], "m");
    }
}
