//! Fault injection, programmable at run time by the test.
//!
//! A [`Fault`] matches requests by method, path (a regular expression) and optionally a body
//! substring, and applies its [`Action`]s to the Nth..Mth matching request (or every one):
//! answer with an error status instead of the cluster, delay, drop the connection without
//! answering, turn a search page into a partial one (a failed shard, or `timed_out`), fail
//! chosen bulk items while the others go through, or expire the point in time / scroll the
//! request uses. The same faults work in emulator and proxy mode: bulk items chosen to fail are
//! taken out of the request before it is served and their errors put back in the answer, so a
//! failed item is never written (as with a real rejection).
//!
//! ```no_run
//! use eshunt_testserver::{Action, Fault, Flavor, ItemFault, TestServer};
//! let server = TestServer::start(Flavor::Elasticsearch, "8.15.0");
//! // The 2nd bulk request answers 429 for the whole request.
//! server.faults().add(Fault::on("POST", "/_bulk$").nth(2).then(Action::too_many_requests()));
//! // Every search page loses a shard.
//! server.faults().add(Fault::on("POST", "/_search$").then(Action::shard_failure()));
//! // Item `a1` of the first bulk fails with 500, the rest succeed.
//! server.faults().add(Fault::on("POST", "/_bulk$").nth(1).then(Action::fail_items(vec![ItemFault::id("a1", 500)])));
//! ```

use crate::error::EsError;
use crate::http::{Req, Resp};
use bytes::Bytes;
use parking_lot::Mutex;
use regex::Regex;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Which bulk item to fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemTarget {
    /// The item with this `_id`.
    Id(String),
    /// The item at this position (0-based, in request order).
    Position(usize),
}

/// A bulk item to fail, and with which status (429, 500, 503, 400, 409, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFault {
    /// The item.
    pub target: ItemTarget,
    /// Its status.
    pub status: u16,
}

impl ItemFault {
    /// Fails the item with `_id` `id`.
    pub fn id(id: &str, status: u16) -> ItemFault {
        ItemFault {
            target: ItemTarget::Id(id.to_string()),
            status,
        }
    }

    /// Fails the item at `position` (0-based).
    pub fn position(position: usize, status: u16) -> ItemFault {
        ItemFault {
            target: ItemTarget::Position(position),
            status,
        }
    }

    fn error(&self, id: Option<&str>) -> Value {
        let id = id.unwrap_or("");
        let e = match self.status {
            429 => EsError::new(429, "es_rejected_execution_exception", "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1, max_coordinating_and_primary_bytes=0] (injected by eshunt-testserver)"),
            400 => EsError::new(400, "mapper_parsing_exception", format!("failed to parse field [event.severity] of type [long] in document with id '{id}' (injected by eshunt-testserver)")),
            403 => EsError::new(403, "security_exception", "action [indices:data/write/bulk[s]] is unauthorized for user [eshunt] with effective roles [eshunt] on indices [logs-eshunt.alerts-default] (injected by eshunt-testserver)"),
            409 => EsError::new(409, "version_conflict_engine_exception", format!("[{id}]: version conflict, document already exists (current version [1]) (injected by eshunt-testserver)")),
            503 => EsError::new(503, "unavailable_shards_exception", "[0] primary shard is not active (injected by eshunt-testserver)"),
            s => EsError::new(s, "exception", format!("injected failure with status {s}")),
        };
        e.cause_json()
    }
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Answer with this status, content type and body instead of serving the request.
    Respond {
        /// HTTP status.
        status: u16,
        /// `Content-Type`.
        content_type: String,
        /// Body.
        body: String,
    },
    /// Wait before serving (or before the other actions).
    Delay(Duration),
    /// Close the connection without answering.
    Drop,
    /// Serve the request, then close the connection instead of answering: the work is done
    /// but the client never learns it.
    LoseAnswer,
    /// A search page with one more shard, failed, and half of its hits (or any other answer
    /// with `_shards`, such as opening a point in time, with one more failed shard).
    ShardFailure,
    /// A search page with `timed_out: true` and half of its hits.
    TimedOut,
    /// A search page whose hits come without `_source` (as from an index mapped with
    /// `_source.enabled: false`).
    WithoutSource,
    /// Fail these bulk items; the others are served.
    FailItems(Vec<ItemFault>),
    /// Expire the point in time or scroll the request uses, before serving it.
    ExpireContext,
}

impl Action {
    /// An ES-shaped error answer.
    pub fn error(status: u16, error_type: &str, reason: &str) -> Action {
        let body = EsError::new(status, error_type, reason)
            .to_json()
            .to_string();
        Action::Respond {
            status,
            content_type: "application/json".to_string(),
            body,
        }
    }

    /// 429 `es_rejected_execution_exception`.
    pub fn too_many_requests() -> Action {
        Action::error(429, "es_rejected_execution_exception", "rejected execution of org.elasticsearch.common.util.concurrent.TimedRunnable on EsThreadPoolExecutor[name = eshunt-testserver/search, queue capacity = 1000] (injected)")
    }

    /// 503 `unavailable_shards_exception`.
    pub fn unavailable() -> Action {
        Action::error(
            503,
            "unavailable_shards_exception",
            "[0] primary shard is not active Timeout: [1m] (injected)",
        )
    }

    /// 503 `cluster_block_exception`.
    pub fn cluster_block() -> Action {
        Action::error(
            503,
            "cluster_block_exception",
            "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized]; (injected)",
        )
    }

    /// 502 from a proxy in front of the cluster (plain text).
    pub fn bad_gateway() -> Action {
        Action::Respond {
            status: 502,
            content_type: "text/plain".to_string(),
            body: "Bad Gateway".to_string(),
        }
    }

    /// 504 from a proxy in front of the cluster (plain text).
    pub fn gateway_timeout() -> Action {
        Action::Respond {
            status: 504,
            content_type: "text/plain".to_string(),
            body: "Gateway Timeout".to_string(),
        }
    }

    /// Waits `d` first.
    pub fn delay(d: Duration) -> Action {
        Action::Delay(d)
    }

    /// Closes the connection without an answer.
    pub fn drop_connection() -> Action {
        Action::Drop
    }

    /// Serves the request and closes the connection before the answer.
    pub fn lose_answer() -> Action {
        Action::LoseAnswer
    }

    /// A partial page: a failed shard.
    pub fn shard_failure() -> Action {
        Action::ShardFailure
    }

    /// A partial page: timed out.
    pub fn timed_out() -> Action {
        Action::TimedOut
    }

    /// A page whose hits lack `_source`.
    pub fn without_source() -> Action {
        Action::WithoutSource
    }

    /// Fails some bulk items.
    pub fn fail_items(items: Vec<ItemFault>) -> Action {
        Action::FailItems(items)
    }

    /// Expires the point in time or scroll of the request now.
    pub fn expire_context() -> Action {
        Action::ExpireContext
    }
}

/// A fault rule; see the module documentation.
#[derive(Debug, Clone)]
pub struct Fault {
    method: Option<String>,
    path: Regex,
    body: Option<String>,
    first: u64,
    last: Option<u64>,
    actions: Vec<Action>,
}

impl Fault {
    /// Matches `method` (`*` for any) and a path regular expression (searched, not anchored;
    /// the path has no query string). Panics on an invalid expression (a test bug).
    pub fn on(method: &str, path_regex: &str) -> Fault {
        Fault {
            method: (method != "*").then(|| method.to_ascii_uppercase()),
            path: Regex::new(path_regex)
                .unwrap_or_else(|e| panic!("invalid fault path regex `{path_regex}`: {e}")),
            body: None,
            first: 1,
            last: None,
            actions: Vec::new(),
        }
    }

    /// Only requests whose body contains `text`.
    pub fn body_contains(mut self, text: &str) -> Fault {
        self.body = Some(text.to_string());
        self
    }

    /// Only the `n`th matching request (1-based).
    pub fn nth(mut self, n: u64) -> Fault {
        self.first = n;
        self.last = Some(n);
        self
    }

    /// The `from`th to `to`th matching requests (1-based, inclusive).
    pub fn requests(mut self, from: u64, to: u64) -> Fault {
        self.first = from;
        self.last = Some(to);
        self
    }

    /// The first `n` matching requests.
    pub fn first(self, n: u64) -> Fault {
        self.requests(1, n)
    }

    /// Adds an action (a fault may delay and then answer 504, for instance).
    pub fn then(mut self, action: Action) -> Fault {
        self.actions.push(action);
        self
    }

    fn matches(&self, req: &Req) -> bool {
        self.method.as_ref().is_none_or(|m| *m == req.method)
            && self.path.is_match(&req.path)
            && self.body.as_ref().is_none_or(|b| {
                std::str::from_utf8(&req.body).is_ok_and(|text| text.contains(b.as_str()))
            })
    }
}

/// The id of an installed fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaultId(u64);

#[derive(Debug)]
struct Installed {
    id: FaultId,
    fault: Fault,
    seen: u64,
    applied: u64,
}

/// The fault rules of a server; cheap to clone, shared with the server.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    rules: Arc<Mutex<Vec<Installed>>>,
    next: Arc<AtomicU64>,
}

/// What the server does differently for one request.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub delay: Duration,
    pub respond: Option<Resp>,
    pub drop: bool,
    pub lose_answer: bool,
    pub shard_failure: bool,
    pub timed_out: bool,
    pub without_source: bool,
    pub items: Vec<ItemFault>,
    pub expire: bool,
    /// Some fault applied.
    pub applied: bool,
}

impl Faults {
    /// Installs a fault.
    pub fn add(&self, fault: Fault) -> FaultId {
        let id = FaultId(self.next.fetch_add(1, Ordering::SeqCst));
        self.rules.lock().push(Installed {
            id,
            fault,
            seen: 0,
            applied: 0,
        });
        id
    }

    /// Removes a fault.
    pub fn remove(&self, id: FaultId) {
        self.rules.lock().retain(|r| r.id != id);
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.rules.lock().clear();
    }

    /// How many requests a fault was applied to.
    pub fn applied(&self, id: FaultId) -> u64 {
        self.rules
            .lock()
            .iter()
            .find(|r| r.id == id)
            .map_or(0, |r| r.applied)
    }

    /// The plan for `req`; counts it against every matching fault.
    pub(crate) fn plan(&self, req: &Req) -> Plan {
        let mut plan = Plan::default();
        for rule in self.rules.lock().iter_mut() {
            if !rule.fault.matches(req) {
                continue;
            }
            rule.seen += 1;
            let in_range =
                rule.seen >= rule.fault.first && rule.fault.last.is_none_or(|l| rule.seen <= l);
            if !in_range {
                continue;
            }
            rule.applied += 1;
            plan.applied = true;
            for action in &rule.fault.actions {
                plan.add(action);
            }
        }
        plan
    }
}

impl Plan {
    fn add(&mut self, action: &Action) {
        match action {
            Action::Respond {
                status,
                content_type,
                body,
            } => {
                let mut r = Resp::raw_json(*status, body.clone());
                r.content_type = content_type.clone();
                self.respond.get_or_insert(r);
            }
            Action::Delay(d) => self.delay += *d,
            Action::Drop => self.drop = true,
            Action::LoseAnswer => self.lose_answer = true,
            Action::ShardFailure => self.shard_failure = true,
            Action::TimedOut => self.timed_out = true,
            Action::WithoutSource => self.without_source = true,
            Action::FailItems(items) => self.items.extend(items.iter().cloned()),
            Action::ExpireContext => self.expire = true,
        }
    }
}

/// Bulk items taken out of a request, to be answered as failed.
#[derive(Debug, Default)]
pub(crate) struct Injected {
    /// (position, item answer), by position.
    items: Vec<(usize, Value)>,
    /// Whether anything is left to send.
    pub remaining: usize,
}

/// Removes the faulted items from a bulk body; `None` when the body is not a readable bulk.
pub(crate) fn split_bulk(body: &[u8], faults: &[ItemFault]) -> Option<(Bytes, Injected)> {
    let text = std::str::from_utf8(body).ok()?;
    let mut lines = text.split('\n').filter(|l| !l.trim().is_empty());
    let mut kept = String::new();
    let mut injected = Injected::default();
    let mut position = 0;
    while let Some(action_line) = lines.next() {
        let action: Value = serde_json::from_str(action_line).ok()?;
        let (name, meta) = action.as_object()?.iter().next()?;
        let source = if name == "delete" {
            None
        } else {
            Some(lines.next()?)
        };
        let id = meta.get("_id").and_then(Value::as_str);
        let fault = faults.iter().find(|f| match &f.target {
            ItemTarget::Id(want) => Some(want.as_str()) == id,
            ItemTarget::Position(p) => *p == position,
        });
        match fault {
            Some(f) => {
                let answer = json!({ name.as_str(): {
                    "_index": meta.get("_index"),
                    "_id": id,
                    "status": f.status,
                    "error": f.error(id),
                }});
                injected.items.push((position, answer));
            }
            None => {
                kept.push_str(action_line);
                kept.push('\n');
                if let Some(s) = source {
                    kept.push_str(s);
                    kept.push('\n');
                }
                injected.remaining += 1;
            }
        }
        position += 1;
    }
    Some((Bytes::from(kept), injected))
}

/// Puts the injected item failures back into a bulk answer (or makes one when nothing was sent).
pub(crate) fn merge_bulk(resp: Option<Resp>, injected: Injected) -> Resp {
    let mut body = resp
        .as_ref()
        .and_then(Resp::body_json)
        .unwrap_or_else(|| json!({"errors": false, "took": 0, "items": []}));
    if let Some(r) = &resp {
        if r.status != 200 || !body["items"].is_array() {
            return r.clone();
        }
    }
    if let Some(items) = body["items"].as_array_mut() {
        for (pos, item) in injected.items {
            let at = pos.min(items.len());
            items.insert(at, item);
        }
    }
    body["errors"] = json!(true);
    let mut out = Resp::json(200, &body);
    if let Some(r) = resp {
        out.headers = r.headers;
    }
    out
}

/// Makes a search answer partial: a failed shard, or a timeout; half of the hits are dropped.
/// A failed shard also applies to other answers with `_shards` (opening a point in time).
pub(crate) fn degrade_search(resp: Resp, shard_failure: bool, timed_out: bool) -> Resp {
    if resp.status != 200 {
        return resp;
    }
    let Some(mut body) = resp.body_json() else {
        return resp;
    };
    let mut index = "unknown".to_string();
    if let Some(hits) = body.pointer_mut("/hits/hits").and_then(Value::as_array_mut) {
        hits.truncate(hits.len() / 2);
        if let Some(name) = hits.first().and_then(|h| h["_index"].as_str()) {
            index = name.to_string();
        }
    } else if body.get("_shards").is_none() {
        return resp;
    }
    if timed_out {
        body["timed_out"] = json!(true);
    }
    if shard_failure {
        let shards = &mut body["_shards"];
        let bump = |v: &Value| v.as_u64().unwrap_or(0) + 1;
        shards["total"] = json!(bump(&shards["total"]));
        shards["failed"] = json!(bump(&shards["failed"]));
        let failure = json!({
            "shard": 1,
            "index": index,
            "node": "eshunt-testserver-0",
            "reason": {"type": "node_not_connected_exception", "reason": "[eshunt-testserver-1][127.0.0.1:9300] Node not connected (injected)"},
        });
        match shards["failures"].as_array_mut() {
            Some(list) => list.push(failure),
            None => shards["failures"] = json!([failure]),
        }
    }
    let mut out = Resp::json(200, &body);
    out.headers = resp.headers;
    out
}

/// Takes `_source` out of every hit of a search answer.
pub(crate) fn strip_source(resp: Resp) -> Resp {
    let Some(mut body) = resp.body_json().filter(|_| resp.status == 200) else {
        return resp;
    };
    let Some(hits) = body.pointer_mut("/hits/hits").and_then(Value::as_array_mut) else {
        return resp;
    };
    for hit in hits.iter_mut().filter_map(Value::as_object_mut) {
        hit.remove("_source");
    }
    let mut out = Resp::json(200, &body);
    out.headers = resp.headers;
    out
}

/// The point-in-time or scroll id a request uses, for [`Action::ExpireContext`].
pub(crate) fn context_id_of(req: &Req) -> Option<String> {
    if let Some(id) = req.param("scroll_id") {
        return Some(id.to_string());
    }
    let body: Value = serde_json::from_slice(&req.body).ok()?;
    ["/pit/id", "/scroll_id", "/id", "/pit_id/0"]
        .iter()
        .find_map(|p| body.pointer(p).and_then(Value::as_str).map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, path: &str, body: &str) -> Req {
        Req::new(method, path, "", Bytes::from(body.to_string()))
    }

    #[test]
    fn rules_apply_to_their_range() {
        let faults = Faults::default();
        let id = faults.add(
            Fault::on("POST", "/_bulk$")
                .requests(2, 3)
                .then(Action::too_many_requests()),
        );
        let plans: Vec<bool> = (0..4)
            .map(|_| faults.plan(&req("POST", "/_bulk", "")).respond.is_some())
            .collect();
        assert_eq!(plans, vec![false, true, true, false]);
        assert_eq!(faults.applied(id), 2);
        assert!(!faults.plan(&req("GET", "/_bulk", "")).applied);
        faults.clear();
        assert!(!faults.plan(&req("POST", "/_bulk", "")).applied);
    }

    #[test]
    fn body_filters_and_combined_actions() {
        let faults = Faults::default();
        faults.add(
            Fault::on("*", "_search")
                .body_contains("pit")
                .then(Action::delay(Duration::from_millis(5)))
                .then(Action::shard_failure()),
        );
        let p = faults.plan(&req("POST", "/_search", "{\"pit\":{}}"));
        assert_eq!(p.delay, Duration::from_millis(5));
        assert!(p.shard_failure);
        assert!(!faults.plan(&req("POST", "/_search", "{}")).applied);
    }

    #[test]
    fn bulk_items_are_split_out_and_merged_back() {
        let body = "{\"create\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{}\n{\"delete\":{\"_index\":\"a\",\"_id\":\"2\"}}\n{\"create\":{\"_index\":\"a\",\"_id\":\"3\"}}\n{}\n";
        let (kept, injected) = split_bulk(
            body.as_bytes(),
            &[ItemFault::id("1", 429), ItemFault::position(2, 400)],
        )
        .unwrap();
        assert_eq!(
            std::str::from_utf8(&kept).unwrap(),
            "{\"delete\":{\"_index\":\"a\",\"_id\":\"2\"}}\n"
        );
        assert_eq!(injected.remaining, 1);
        let served = Resp::json(
            200,
            &json!({"errors": false, "took": 1, "items": [{"delete": {"status": 200}}]}),
        );
        let merged = merge_bulk(Some(served), injected).body_json().unwrap();
        assert_eq!(merged["errors"], true);
        let statuses: Vec<u64> = merged["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                i.as_object().unwrap().values().next().unwrap()["status"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(statuses, vec![429, 200, 400]);
    }

    #[test]
    fn searches_degrade() {
        let page = Resp::json(
            200,
            &json!({"took": 1, "timed_out": false, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"hits": [{"_index": "i", "_id": "1"}, {"_index": "i", "_id": "2"}]}}),
        );
        let out = degrade_search(page, true, true).body_json().unwrap();
        assert_eq!(out["timed_out"], true);
        assert_eq!(out["_shards"]["failed"], 1);
        assert_eq!(out["_shards"]["total"], 2);
        assert_eq!(out["hits"]["hits"].as_array().unwrap().len(), 1);
    }
}
