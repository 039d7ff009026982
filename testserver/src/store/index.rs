//! One index: its settings, its mapping (explicit plus what documents taught it), and its
//! documents with `_seq_no`, `_primary_term` and `_version`.
//!
//! Documents live in slots in indexing order (Lucene's document order: an update appends a new
//! slot and frees the old one). A write is visible to searches as soon as it returns — there is
//! no refresh interval — and searches work on [`ShardSnapshot`]s, so a point in time keeps the
//! documents that were live when it opened.

use super::validate;
use crate::error::EsError;
use esquery::dsl::Mapping;
use parking_lot::RwLock;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The primary term of every shard (the server never fails over).
pub(crate) const PRIMARY_TERM: i64 = 1;

/// A stored document. `source` is the JSON text exactly as it was sent.
#[derive(Debug)]
pub(crate) struct Doc {
    pub id: Arc<str>,
    pub source: Box<str>,
    pub seq_no: i64,
    pub version: i64,
}

/// `index`-or-`create` semantics of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpType {
    /// Create or overwrite.
    Index,
    /// Create only; an existing `_id` is a 409.
    Create,
}

/// Optimistic concurrency conditions (`if_seq_no` + `if_primary_term`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Condition {
    pub if_seq_no: Option<i64>,
    pub if_primary_term: Option<i64>,
}

/// What a write did, for the answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WriteResult {
    pub index: String,
    pub id: String,
    pub version: i64,
    pub seq_no: i64,
    /// `created`, `updated`, `deleted`, `not_found` or `noop`.
    pub result: &'static str,
    pub status: u16,
}

impl WriteResult {
    /// The single-document API answer (bulk items add `status`).
    pub fn to_json(&self) -> Value {
        json!({
            "_index": self.index,
            "_id": self.id,
            "_version": self.version,
            "result": self.result,
            "_shards": {"total": 2, "successful": 1, "failed": 0},
            "_seq_no": self.seq_no,
            "_primary_term": PRIMARY_TERM,
        })
    }
}

/// The live documents and mapping of one index at one moment.
#[derive(Debug, Clone)]
pub(crate) struct ShardSnapshot {
    pub index: Arc<Index>,
    pub mapping: Arc<Mapping>,
    /// Live documents in index order.
    pub docs: Arc<Vec<Arc<Doc>>>,
}

#[derive(Debug, Clone, Copy)]
struct IdEntry {
    slot: Option<usize>,
    version: i64,
    seq_no: i64,
}

/// How long a write stays invisible to search without an explicit refresh: a real engine's
/// default `refresh_interval`. The emulator takes the worst case of it — every write is unseen
/// for this long — so a client that searches for what it has just written fails here as it
/// would, now and then, against a real cluster. Reads by id are real-time.
const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct State {
    mapping: Arc<Mapping>,
    slots: Vec<Option<Arc<Doc>>>,
    ids: HashMap<Arc<str>, IdEntry>,
    next_seq_no: i64,
    /// What search sees: the live documents as of the last refresh.
    searchable: Arc<Vec<Arc<Doc>>>,
    /// When the oldest write search does not see yet was made.
    unrefreshed_since: Option<Instant>,
}

impl State {
    fn changed(&mut self) {
        self.unrefreshed_since.get_or_insert_with(Instant::now);
    }

    fn refresh(&mut self) {
        if self.unrefreshed_since.take().is_some() {
            self.searchable = Arc::new(self.slots.iter().flatten().cloned().collect());
        }
    }
}

/// An index.
#[derive(Debug)]
pub(crate) struct Index {
    pub name: String,
    pub uuid: String,
    /// Flat `index.*` settings, values as strings (as ES returns them).
    pub settings: BTreeMap<String, String>,
    /// The data stream this is a backing index of.
    pub data_stream: Option<String>,
    /// The error type of a document that does not fit the mapping.
    parse_error_kind: &'static str,
    state: RwLock<State>,
}

impl Index {
    /// A new empty index.
    pub fn new(
        name: &str,
        uuid: String,
        settings: BTreeMap<String, String>,
        mapping: Mapping,
        data_stream: Option<String>,
        parse_error_kind: &'static str,
    ) -> Index {
        Index {
            name: name.to_string(),
            uuid,
            settings,
            data_stream,
            parse_error_kind,
            state: RwLock::new(State {
                mapping: Arc::new(mapping),
                slots: Vec::new(),
                ids: HashMap::new(),
                next_seq_no: 0,
                searchable: Arc::new(Vec::new()),
                unrefreshed_since: None,
            }),
        }
    }

    /// `index.hidden` (backing indices of data streams are hidden).
    pub fn hidden(&self) -> bool {
        self.settings
            .get("index.hidden")
            .is_some_and(|v| v == "true")
    }

    /// `index.max_result_window` (default 10,000).
    pub fn max_result_window(&self) -> usize {
        self.settings
            .get("index.max_result_window")
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000)
    }

    /// The current mapping.
    pub fn mapping(&self) -> Arc<Mapping> {
        self.state.read().mapping.clone()
    }

    /// Adds fields to the mapping (`PUT /{index}/_mapping`).
    pub fn merge_mapping(&self, extra: &Mapping) {
        let mut st = self.state.write();
        Arc::make_mut(&mut st.mapping).merge(extra);
    }

    /// What search sees now: the documents as of the last refresh (taken by itself once the
    /// oldest unseen write is [`REFRESH_INTERVAL`] old).
    pub fn snapshot(self: &Arc<Self>) -> ShardSnapshot {
        let mut st = self.state.write();
        if st
            .unrefreshed_since
            .is_some_and(|t| t.elapsed() >= REFRESH_INTERVAL)
        {
            st.refresh();
        }
        ShardSnapshot {
            index: self.clone(),
            mapping: st.mapping.clone(),
            docs: st.searchable.clone(),
        }
    }

    /// Makes every write so far visible to search (`_refresh`, `?refresh`).
    pub fn refresh(&self) {
        self.state.write().refresh();
    }

    /// The live document with this `_id`.
    pub fn get(&self, id: &str) -> Option<Arc<Doc>> {
        let st = self.state.read();
        let slot = st.ids.get(id)?.slot?;
        st.slots[slot].clone()
    }

    /// Writes a document (`source` is its JSON text, `doc` the parsed value).
    pub fn put(
        &self,
        id: &str,
        source: Box<str>,
        doc: &Value,
        op: OpType,
        cond: Condition,
    ) -> Result<WriteResult, EsError> {
        let mut st = self.state.write();
        let existing = st.ids.get(id).copied();
        let live = existing.filter(|e| e.slot.is_some());
        self.check_condition(id, live, cond)?;
        if op == OpType::Create {
            if let Some(e) = live {
                return Err(self.conflict(format!(
                    "[{id}]: version conflict, document already exists (current version [{}])",
                    e.version
                )));
            }
        }
        validate::document(
            &st.mapping,
            doc,
            id,
            self.parse_error_kind,
            self.data_stream.is_some(),
        )?;
        learn(&mut st.mapping, doc);
        let version = existing.map_or(1, |e| e.version + 1);
        let seq_no = st.next_seq_no;
        st.next_seq_no += 1;
        if let Some(slot) = live.and_then(|e| e.slot) {
            st.slots[slot] = None;
        }
        let id: Arc<str> = Arc::from(id);
        st.slots.push(Some(Arc::new(Doc {
            id: id.clone(),
            source,
            seq_no,
            version,
        })));
        let slot = st.slots.len() - 1;
        st.changed();
        st.ids.insert(
            id.clone(),
            IdEntry {
                slot: Some(slot),
                version,
                seq_no,
            },
        );
        let (result, status) = if live.is_some() {
            ("updated", 200)
        } else {
            ("created", 201)
        };
        Ok(self.result(&id, version, seq_no, result, status))
    }

    /// Deletes a document; a missing one answers `not_found` (404) as ES does.
    pub fn delete(&self, id: &str, cond: Condition) -> Result<WriteResult, EsError> {
        let mut st = self.state.write();
        let existing = st.ids.get(id).copied();
        let live = existing.filter(|e| e.slot.is_some());
        self.check_condition(id, live, cond)?;
        let seq_no = st.next_seq_no;
        st.next_seq_no += 1;
        let version = existing.map_or(1, |e| e.version + 1);
        let Some(slot) = live.and_then(|e| e.slot) else {
            return Ok(self.result(id, version, seq_no, "not_found", 404));
        };
        st.slots[slot] = None;
        st.changed();
        st.ids.insert(
            Arc::from(id),
            IdEntry {
                slot: None,
                version,
                seq_no,
            },
        );
        Ok(self.result(id, version, seq_no, "deleted", 200))
    }

    /// Partial update: merges `partial` into the document (`upsert` when it is missing).
    pub fn update(
        &self,
        id: &str,
        partial: &Value,
        upsert: Option<&Value>,
        cond: Condition,
    ) -> Result<WriteResult, EsError> {
        let current = self.get(id);
        let merged = match (&current, upsert) {
            (Some(doc), _) => {
                let mut value: Value = serde_json::from_str(&doc.source).unwrap_or(json!({}));
                let before = value.clone();
                merge(&mut value, partial);
                if value == before {
                    let st = self.state.read();
                    let e = st.ids.get(id).copied();
                    let (version, seq_no) = e.map_or((1, 0), |e| (e.version, e.seq_no));
                    return Ok(self.result(id, version, seq_no, "noop", 200));
                }
                value
            }
            (None, Some(doc)) => doc.clone(),
            (None, None) => {
                return Err(EsError::new(
                    404,
                    "document_missing_exception",
                    format!("[{id}]: document missing"),
                )
                .with("index_uuid", self.uuid.as_str())
                .with("shard", "0")
                .with("index", self.name.as_str()))
            }
        };
        let text = merged.to_string().into_boxed_str();
        self.put(id, text, &merged, OpType::Index, cond)
    }

    fn check_condition(
        &self,
        id: &str,
        live: Option<IdEntry>,
        cond: Condition,
    ) -> Result<(), EsError> {
        let (Some(seq), Some(term)) = (cond.if_seq_no, cond.if_primary_term) else {
            return Ok(());
        };
        match live {
            Some(e) if e.seq_no == seq && term == PRIMARY_TERM => Ok(()),
            Some(e) => Err(self.conflict(format!(
                "[{id}]: version conflict, required seqNo [{seq}], primary term [{term}]. current document has seqNo [{}] and primary term [{PRIMARY_TERM}]",
                e.seq_no
            ))),
            None => Err(self.conflict(format!(
                "[{id}]: version conflict, required seqNo [{seq}], primary term [{term}]. but no document was found"
            ))),
        }
    }

    fn conflict(&self, reason: String) -> EsError {
        EsError::version_conflict(&self.name, &self.uuid, reason)
    }

    fn result(
        &self,
        id: &str,
        version: i64,
        seq_no: i64,
        result: &'static str,
        status: u16,
    ) -> WriteResult {
        WriteResult {
            index: self.name.clone(),
            id: id.to_string(),
            version,
            seq_no,
            result,
            status,
        }
    }

    /// `GET /{index}` body for this index.
    pub fn describe(&self) -> Value {
        let mut body = json!({
            "aliases": {},
            "mappings": self.mapping().to_json(),
            "settings": nested_settings(&self.settings),
        });
        if let Some(ds) = &self.data_stream {
            body["data_stream"] = json!(ds);
        }
        body
    }
}

/// Teaches the mapping a document's new fields (copy-on-write: searches keep their copy).
fn learn(mapping: &mut Arc<Mapping>, doc: &Value) {
    if needs_learning(mapping, doc) {
        Arc::make_mut(mapping).update_dynamic(doc);
    }
}

/// Whether some leaf path of `doc` is not mapped yet (cheap check before cloning the mapping).
fn needs_learning(mapping: &Mapping, doc: &Value) -> bool {
    let mut unseen = false;
    esquery::dsl::source::visit_paths(doc, &mut |path, _| {
        if mapping.field(path).is_none() && !under_flattened(mapping, path) {
            unseen = true;
        }
        unseen
    });
    unseen
}

fn under_flattened(mapping: &Mapping, path: &str) -> bool {
    path.match_indices('.').any(|(i, _)| {
        mapping
            .field(&path[..i])
            .is_some_and(|f| f.ty == esquery::dsl::FieldType::Flattened)
    })
}

/// Recursive merge of a partial document (objects merge, everything else replaces).
fn merge(target: &mut Value, partial: &Value) {
    match (target, partial) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// `{"index.a.b": "1"}` → `{"index": {"a": {"b": "1"}}}`.
pub(crate) fn nested_settings(flat: &BTreeMap<String, String>) -> Value {
    let mut root = Map::new();
    for (key, value) in flat {
        let mut node = &mut root;
        let parts: Vec<&str> = key.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            let entry = node
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let Value::Object(next) = entry else {
                unreachable!("just made an object")
            };
            node = next;
        }
        node.insert(parts[parts.len() - 1].to_string(), json!(value));
    }
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> Index {
        Index::new(
            "i",
            "u".into(),
            BTreeMap::new(),
            Mapping::new(),
            None,
            "mapper_parsing_exception",
        )
    }

    fn put(ix: &Index, id: &str, doc: Value, op: OpType) -> Result<WriteResult, EsError> {
        ix.put(id, doc.to_string().into(), &doc, op, Condition::default())
    }

    #[test]
    fn versions_and_seq_nos() {
        let ix = index();
        let a = put(&ix, "1", json!({"a": 1}), OpType::Index).unwrap();
        assert_eq!((a.version, a.seq_no, a.result), (1, 0, "created"));
        let b = put(&ix, "1", json!({"a": 2}), OpType::Index).unwrap();
        assert_eq!((b.version, b.seq_no, b.result), (2, 1, "updated"));
        let c = put(&ix, "1", json!({"a": 3}), OpType::Create).unwrap_err();
        assert_eq!(c.status, 409);
        ix.refresh();
        assert_eq!(Arc::new(ix).snapshot().docs.len(), 1);
        let ix = index();
        put(&ix, "1", json!({"a": 1}), OpType::Index).unwrap();
        put(&ix, "1", json!({"a": 2}), OpType::Index).unwrap();
        let d = ix.delete("1", Condition::default()).unwrap();
        assert_eq!((d.version, d.result), (3, "deleted"));
        assert_eq!(ix.delete("1", Condition::default()).unwrap().status, 404);
        let e = put(&ix, "1", json!({"a": 4}), OpType::Create).unwrap();
        assert_eq!(e.version, 4);
    }

    #[test]
    fn conditional_writes() {
        let ix = index();
        let a = put(&ix, "1", json!({"a": 1}), OpType::Index).unwrap();
        let stale = Condition {
            if_seq_no: Some(a.seq_no + 5),
            if_primary_term: Some(1),
        };
        let doc = json!({"a": 2});
        let err = ix
            .put("1", doc.to_string().into(), &doc, OpType::Index, stale)
            .unwrap_err();
        assert_eq!(err.status, 409);
        assert!(err.reason.contains("required seqNo [5]"), "{}", err.reason);
        let ok = Condition {
            if_seq_no: Some(a.seq_no),
            if_primary_term: Some(1),
        };
        assert!(ix
            .put("1", doc.to_string().into(), &doc, OpType::Index, ok)
            .is_ok());
    }

    #[test]
    fn updates_merge_and_detect_noops() {
        let ix = index();
        put(&ix, "1", json!({"a": {"b": 1, "c": 2}}), OpType::Index).unwrap();
        let r = ix
            .update("1", &json!({"a": {"b": 5}}), None, Condition::default())
            .unwrap();
        assert_eq!(r.result, "updated");
        let doc: Value = serde_json::from_str(&ix.get("1").unwrap().source).unwrap();
        assert_eq!(doc, json!({"a": {"b": 5, "c": 2}}));
        let r = ix
            .update("1", &json!({"a": {"b": 5}}), None, Condition::default())
            .unwrap();
        assert_eq!(r.result, "noop");
        let missing = ix
            .update("2", &json!({}), None, Condition::default())
            .unwrap_err();
        assert_eq!(missing.kind, "document_missing_exception");
    }

    #[test]
    fn snapshots_keep_their_documents() {
        let ix = Arc::new(index());
        put(&ix, "1", json!({"a": 1}), OpType::Index).unwrap();
        ix.refresh();
        let snap = ix.snapshot();
        put(&ix, "2", json!({"a": 2}), OpType::Index).unwrap();
        ix.delete("1", Condition::default()).unwrap();
        assert_eq!(snap.docs.len(), 1);
        assert_eq!(&*snap.docs[0].id, "1");
        ix.refresh();
        assert_eq!(ix.snapshot().docs.len(), 1);
        assert_eq!(&*ix.snapshot().docs[0].id, "2");
    }

    #[test]
    fn search_sees_writes_after_a_refresh_or_the_interval() {
        let ix = Arc::new(index());
        put(&ix, "1", json!({"a": 1}), OpType::Index).unwrap();
        assert!(ix.snapshot().docs.is_empty(), "not refreshed yet");
        assert!(ix.get("1").is_some(), "reads by id are real-time");
        std::thread::sleep(REFRESH_INTERVAL);
        assert_eq!(ix.snapshot().docs.len(), 1);
    }

    #[test]
    fn settings_nest() {
        let mut flat = BTreeMap::new();
        flat.insert("index.number_of_shards".to_string(), "1".to_string());
        flat.insert("index.hidden".to_string(), "true".to_string());
        assert_eq!(
            nested_settings(&flat),
            json!({"index": {"hidden": "true", "number_of_shards": "1"}})
        );
    }
}
