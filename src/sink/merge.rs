//! Suppressed alerts in the cluster: one document per group and period, into which every window
//! holding some of the group's matches merges what it saw, so the stored alert ends the same
//! whatever windows count it, in whatever order, however often.
//!
//! A window sends the alert as it sees it — built from its own first event of the group — with
//! its matches counted per slice of the window (`eshunt.suppressed.windows`: `"start/end"` →
//! matches, see [`crate::hunt::suppress::SLICE`]). A new alert is created with that document; a
//! stored one is updated by [`SCRIPT`], which:
//!
//! - drops the stored slices lying inside the window (this window counted them again), then adds
//!   the window's slices except those lying inside a stored one (counted already): a retried or
//!   re-run window overwrites its own slices, a wider one (a backfill chunk) replaces the
//!   slices of the narrower ones it covers, and windows overlapping by at least a slice count
//!   their overlap once;
//! - sets `count` to the sum of the slices minus one and `last` to the latest time seen;
//! - when the window's first event is earlier (ties: the smaller own alert id), replaces the
//!   document by the window's (keeping the merged counts and `event.created`; the parameters
//!   themselves are copied, never changed), so the alert always shows the group's earliest
//!   event;
//! - answers `noop` when nothing changed (a re-run).
//!
//! Times and slice keys are RFC 3339 UTC with milliseconds ([`crate::time::format`]): equal
//! width, so the script compares them as strings.

use crate::alert::Alert;
use crate::time::{self, Window};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The painless update merging a window's part into a stored suppressed alert.
pub const SCRIPT: &str = r#"
Map s = ctx._source.eshunt.suppressed;
Map windows = new HashMap(s.windows);
String start = params.window[0];
String end = params.window[1];
windows.keySet().removeIf(k -> {
  def r = k.splitOnToken('/');
  return r[0].compareTo(start) >= 0 && r[1].compareTo(end) <= 0;
});
for (def slice : params.windows.entrySet()) {
  def r = slice.getKey().splitOnToken('/');
  boolean counted = false;
  for (def k : windows.keySet()) {
    def o = k.splitOnToken('/');
    if (o[0].compareTo(r[0]) <= 0 && o[1].compareTo(r[1]) >= 0) { counted = true; break; }
  }
  if (!counted) { windows.put(slice.getKey(), slice.getValue()); }
}
String last = params.last.compareTo(s.last) > 0 ? params.last : s.last;
int order = params.first.compareTo(s.first);
boolean earlier = order < 0 || (order == 0 && params.first_id.compareTo(s.first_id) < 0);
if (!earlier && last == s.last && windows.equals(s.windows)) { ctx.op = 'none'; return; }
if (earlier) {
  def created = ctx._source.event.created;
  ctx._source.clear();
  ctx._source.putAll(params.doc);
  Map event = new HashMap(params.doc.event);
  event.created = created;
  ctx._source.event = event;
  Map eshunt = new HashMap(params.doc.eshunt);
  s = new HashMap(params.doc.eshunt.suppressed);
  eshunt.suppressed = s;
  ctx._source.eshunt = eshunt;
}
long total = 0;
for (def n : windows.values()) { total += n; }
s.windows = windows;
s.count = total - 1;
s.last = last;
"#;

/// One window's part of a suppressed alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Merge {
    /// The alert as the window sees it, its slices in `eshunt.suppressed.windows`: the document
    /// written when the alert is new.
    pub alert: Alert,
    /// The window.
    pub window: Window,
}

impl Merge {
    /// The part of `window` whose matches of the alert's group were counted in `slices`.
    pub fn new(mut alert: Alert, window: Window, slices: &BTreeMap<Window, u64>) -> Merge {
        let windows: Map<String, Value> = slices
            .iter()
            .map(|(slice, n)| (key(*slice), json!(n)))
            .collect();
        alert.doc["eshunt"]["suppressed"]["windows"] = Value::Object(windows);
        Merge { alert, window }
    }

    /// The bulk `update` body merging this part into the stored alert.
    pub fn update(&self) -> Value {
        let suppressed = &self.alert.doc["eshunt"]["suppressed"];
        json!({"script": {
            "lang": "painless",
            "source": SCRIPT,
            "params": {
                "window": [time::format(self.window.start), time::format(self.window.end)],
                "windows": suppressed["windows"],
                "first": suppressed["first"],
                "first_id": suppressed["first_id"],
                "last": suppressed["last"],
                "doc": self.alert.doc,
            },
        }})
    }
}

/// A slice's key: `start/end`.
fn key(slice: Window) -> String {
    format!("{}/{}", time::format(slice.start), time::format(slice.end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_timestamp;

    fn window(start: &str, end: &str) -> Window {
        Window {
            start: parse_timestamp(start).unwrap(),
            end: parse_timestamp(end).unwrap(),
        }
    }

    #[test]
    fn a_part_carries_its_slices_and_the_script_its_window() {
        let alert = Alert {
            id: "x".into(),
            rule_id: "r".into(),
            doc: json!({"eshunt": {"suppressed": {"count": 2, "first": "a", "first_id": "f",
                                                   "last": "b"}}}),
        };
        let w = window("2026-03-14T10:04:30Z", "2026-03-14T10:09:30Z");
        let slices = BTreeMap::from([
            (window("2026-03-14T10:04:30Z", "2026-03-14T10:05:00Z"), 1),
            (window("2026-03-14T10:07:00Z", "2026-03-14T10:08:00Z"), 2),
        ]);
        let merge = Merge::new(alert, w, &slices);
        let windows = json!({
            "2026-03-14T10:04:30.000Z/2026-03-14T10:05:00.000Z": 1,
            "2026-03-14T10:07:00.000Z/2026-03-14T10:08:00.000Z": 2,
        });
        assert_eq!(merge.alert.doc["eshunt"]["suppressed"]["windows"], windows);
        let params = &merge.update()["script"]["params"];
        assert_eq!(
            params["window"],
            json!(["2026-03-14T10:04:30.000Z", "2026-03-14T10:09:30.000Z"])
        );
        assert_eq!(params["windows"], windows);
        assert_eq!(
            (&params["first"], &params["first_id"], &params["last"]),
            (&json!("a"), &json!("f"), &json!("b"))
        );
        assert_eq!(params["doc"], merge.alert.doc);
    }
}
