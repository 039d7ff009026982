//! The cluster's state, in memory: indices with their documents and mappings, composable
//! templates, and data streams with their backing indices.
//!
//! [`Store`] owns the catalog behind one lock that is held only to look up or change the set of
//! indices; documents are written and read under each index's own lock. Writes are visible to
//! search immediately (refresh is a no-op).

mod index;
pub(crate) mod resolve;
pub(crate) mod templates;
mod validate;

pub(crate) use index::{Condition, Doc, Index, OpType, ShardSnapshot, WriteResult, PRIMARY_TERM};
pub(crate) use resolve::{resolve, ResolveOptions};

use crate::error::EsError;
use crate::node::Node;
use esquery::dsl::Mapping;
use parking_lot::{RwLock, RwLockReadGuard};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use templates::{flatten_settings, mapping_error, Templates};

/// A data stream: a name over an ordered list of backing indices; the last one takes writes.
#[derive(Debug, Clone)]
pub(crate) struct DataStream {
    pub name: String,
    pub template: String,
    pub indices: Vec<String>,
    pub generation: u64,
    pub hidden: bool,
}

/// Everything but the documents.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub indices: BTreeMap<String, Arc<Index>>,
    pub templates: Templates,
    pub data_streams: BTreeMap<String, DataStream>,
}

/// What kind of write targets an index (data streams accept only `create`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteKind {
    /// `create` (op_type=create).
    Create,
    /// `index`, `update` or `delete`.
    Other,
}

/// The cluster state.
#[derive(Debug)]
pub(crate) struct Store {
    node: Node,
    catalog: RwLock<Catalog>,
    uuids: AtomicU64,
}

impl Store {
    /// An empty cluster (Elasticsearch has its built-in `logs` data stream template).
    pub fn new(node: Node) -> Store {
        let mut catalog = Catalog::default();
        if !node.is_opensearch() {
            let installed =
                catalog
                    .templates
                    .put_index("logs", builtin_logs_template(), false, &[]);
            debug_assert!(installed.is_ok(), "{installed:?}");
        }
        Store {
            node,
            catalog: RwLock::new(catalog),
            uuids: AtomicU64::new(1),
        }
    }

    /// Reads the catalog.
    pub fn catalog(&self) -> RwLockReadGuard<'_, Catalog> {
        self.catalog.read()
    }

    /// Resolves a target expression to indices.
    pub fn resolve(&self, expr: &str, opts: ResolveOptions) -> Result<Vec<Arc<Index>>, EsError> {
        resolve(&self.catalog.read(), expr, opts)
    }

    fn uuid(&self) -> String {
        let n = self.uuids.fetch_add(1, Ordering::Relaxed);
        crate::ids::uuid_like(n)
    }

    /// Field types this flavour refuses.
    fn forbidden_types(&self) -> &'static [&'static str] {
        if self.node.is_opensearch() || self.node.oss {
            &["flattened"]
        } else {
            &[]
        }
    }

    /// `PUT /{index}` with optional `settings`/`mappings`/`aliases`.
    /// Makes every write so far visible to search, in every index (`?refresh` on a write:
    /// wider than the written shards a real engine refreshes, which only refresh sooner).
    pub fn refresh_all(&self) {
        for index in self.catalog().indices.values() {
            index.refresh();
        }
    }

    pub fn create_index(&self, name: &str, body: &Value) -> Result<Arc<Index>, EsError> {
        validate_index_name(name)?;
        let mut cat = self.catalog.write();
        if cat.indices.contains_key(name) || cat.data_streams.contains_key(name) {
            let uuid = cat
                .indices
                .get(name)
                .map_or("_na_".to_string(), |i| i.uuid.clone());
            return Err(EsError::new(
                400,
                "resource_already_exists_exception",
                format!("index [{name}/{uuid}] already exists"),
            )
            .with("index_uuid", uuid)
            .with("index", name));
        }
        let composed = cat
            .templates
            .find(name)
            .filter(|t| !t.data_stream)
            .map(|t| cat.templates.compose(t))
            .transpose()?;
        let (mut settings, mut mapping) = composed.map_or_else(
            || (BTreeMap::new(), Mapping::new()),
            |c| (c.settings, c.mapping),
        );
        if let Some(s) = body.get("settings") {
            settings.extend(flatten_settings(s));
        }
        if let Some(m) = body.get("mappings") {
            templates::check_types(m, self.forbidden_types(), "")?;
            let explicit = Mapping::from_json(&json!({ "mappings": m })).map_err(mapping_error)?;
            mapping.merge(&explicit);
        }
        Ok(self.insert_index(&mut cat, name, settings, mapping, None))
    }

    fn insert_index(
        &self,
        cat: &mut Catalog,
        name: &str,
        mut settings: BTreeMap<String, String>,
        mapping: Mapping,
        data_stream: Option<String>,
    ) -> Arc<Index> {
        let uuid = self.uuid();
        settings
            .entry("index.number_of_shards".into())
            .or_insert_with(|| "1".into());
        settings
            .entry("index.number_of_replicas".into())
            .or_insert_with(|| "1".into());
        settings.insert("index.uuid".into(), uuid.clone());
        settings.insert("index.provided_name".into(), name.to_string());
        settings.insert(
            "index.creation_date".into(),
            chrono::Utc::now().timestamp_millis().to_string(),
        );
        if data_stream.is_some() {
            settings.insert("index.hidden".into(), "true".into());
        }
        let ix = Arc::new(Index::new(
            name,
            uuid,
            settings,
            mapping,
            data_stream,
            self.node.parse_error_kind(),
        ));
        cat.indices.insert(name.to_string(), ix.clone());
        ix
    }

    /// `DELETE /{index}`: wildcards only when `allow_wildcards`; write indices of data streams
    /// cannot be deleted.
    pub fn delete_indices(
        &self,
        expr: &str,
        opts: ResolveOptions,
        allow_wildcards: bool,
    ) -> Result<(), EsError> {
        if !allow_wildcards && resolve::has_wildcards(expr) {
            return Err(EsError::illegal_argument(
                "Wildcard expressions or all indices are not allowed",
            ));
        }
        let mut cat = self.catalog.write();
        for name in expr.split(',') {
            if cat.data_streams.contains_key(name) {
                return Err(EsError::illegal_argument(format!(
                    "The provided expression [{name}] matches a data stream, specify the corresponding concrete indices instead."
                )));
            }
        }
        let doomed = resolve(&cat, expr, opts)?;
        for ix in &doomed {
            if let Some(ds) = ix
                .data_stream
                .as_ref()
                .and_then(|d| cat.data_streams.get(d))
            {
                if ds.indices.last() == Some(&ix.name) {
                    return Err(EsError::illegal_argument(format!(
                        "index [{}] is the write index for data stream [{}] and cannot be deleted",
                        ix.name, ds.name
                    )));
                }
            }
        }
        for ix in doomed {
            cat.indices.remove(&ix.name);
            if let Some(ds) = ix
                .data_stream
                .as_ref()
                .and_then(|d| cat.data_streams.get_mut(d))
            {
                ds.indices.retain(|n| n != &ix.name);
            }
        }
        Ok(())
    }

    /// Runs `f` with the templates, for changes.
    pub fn with_templates<T>(
        &self,
        f: impl FnOnce(&mut Templates, &[&str]) -> Result<T, EsError>,
    ) -> Result<T, EsError> {
        let forbidden = self.forbidden_types();
        f(&mut self.catalog.write().templates, forbidden)
    }

    /// `PUT /_data_stream/{name}`.
    pub fn create_data_stream(&self, name: &str) -> Result<(), EsError> {
        validate_index_name(name)?;
        let mut cat = self.catalog.write();
        if cat.data_streams.contains_key(name) || cat.indices.contains_key(name) {
            return Err(EsError::new(
                400,
                "resource_already_exists_exception",
                format!("data_stream [{name}] already exists"),
            ));
        }
        self.new_data_stream(&mut cat, name)
    }

    fn new_data_stream(&self, cat: &mut Catalog, name: &str) -> Result<(), EsError> {
        let Some(template) = cat.templates.find(name).filter(|t| t.data_stream).cloned() else {
            return Err(EsError::illegal_argument(format!(
                "no matching index template found for data stream [{name}]"
            )));
        };
        let composed = cat.templates.compose(&template)?;
        let backing = backing_index_name(name, 1);
        self.insert_index(
            cat,
            &backing,
            composed.settings,
            composed.mapping,
            Some(name.to_string()),
        );
        cat.data_streams.insert(
            name.to_string(),
            DataStream {
                name: name.to_string(),
                template: template.name.clone(),
                indices: vec![backing],
                generation: 1,
                hidden: template.body["data_stream"]["hidden"].as_bool() == Some(true),
            },
        );
        Ok(())
    }

    /// `DELETE /_data_stream/{names}` (wildcards only when `allow_wildcards`).
    pub fn delete_data_streams(&self, names: &str, allow_wildcards: bool) -> Result<(), EsError> {
        if !allow_wildcards && resolve::has_wildcards(names) {
            return Err(EsError::illegal_argument(
                "Wildcard expressions or all indices are not allowed",
            ));
        }
        let mut cat = self.catalog.write();
        let doomed: Vec<String> = cat
            .data_streams
            .keys()
            .filter(|k| templates::name_matches(names, k))
            .cloned()
            .collect();
        if doomed.is_empty() && !resolve::has_wildcards(names) {
            return Err(EsError::index_not_found(names));
        }
        for name in doomed {
            if let Some(ds) = cat.data_streams.remove(&name) {
                for ix in ds.indices {
                    cat.indices.remove(&ix);
                }
            }
        }
        Ok(())
    }

    /// `GET /_data_stream[/{names}]`.
    pub fn describe_data_streams(&self, names: Option<&str>) -> Result<Value, EsError> {
        let cat = self.catalog.read();
        let found: Vec<Value> = cat
            .data_streams
            .values()
            .filter(|ds| names.is_none_or(|n| templates::name_matches(n, &ds.name)))
            .map(|ds| describe_data_stream(&cat, ds))
            .collect();
        match names {
            Some(n) if found.is_empty() && !resolve::has_wildcards(n) => {
                Err(EsError::index_not_found(n))
            }
            _ => Ok(json!({ "data_streams": found })),
        }
    }

    /// `POST /{data stream}/_rollover`: a new write index.
    pub fn rollover(&self, name: &str) -> Result<Value, EsError> {
        let mut cat = self.catalog.write();
        let Some(ds) = cat.data_streams.get(name).cloned() else {
            return Err(EsError::illegal_argument(format!(
                "rollover target [{name}] does not exist"
            )));
        };
        let template = cat
            .templates
            .index_template(&ds.template)
            .or_else(|| cat.templates.find(name).cloned())
            .ok_or_else(|| {
                EsError::illegal_argument(format!(
                    "no matching index template found for data stream [{name}]"
                ))
            })?;
        let composed = cat.templates.compose(&template)?;
        let generation = ds.generation + 1;
        let backing = backing_index_name(name, generation);
        self.insert_index(
            &mut cat,
            &backing,
            composed.settings,
            composed.mapping,
            Some(name.to_string()),
        );
        let old = ds.indices.last().cloned().unwrap_or_default();
        if let Some(ds) = cat.data_streams.get_mut(name) {
            ds.indices.push(backing.clone());
            ds.generation = generation;
        }
        Ok(json!({
            "acknowledged": true,
            "shards_acknowledged": true,
            "old_index": old,
            "new_index": backing,
            "rolled_over": true,
            "dry_run": false,
            "lazy": false,
            "conditions": {},
        }))
    }

    /// The index a write to `name` goes to, creating the index or data stream when a write
    /// may create it (`auto_create_index` is on, as by default).
    pub fn write_target(&self, name: &str, kind: WriteKind) -> Result<Arc<Index>, EsError> {
        if let Some(found) = self.existing_target(&self.catalog.read(), name, kind) {
            return found;
        }
        validate_index_name(name)?;
        let mut cat = self.catalog.write();
        if let Some(found) = self.existing_target(&cat, name, kind) {
            return found;
        }
        let template = cat.templates.find(name).cloned();
        match template {
            Some(t) if t.data_stream => {
                self.new_data_stream(&mut cat, name)?;
                self.existing_target(&cat, name, kind)
                    .unwrap_or_else(|| Err(EsError::index_not_found(name)))
            }
            Some(t) => {
                let c = cat.templates.compose(&t)?;
                Ok(self.insert_index(&mut cat, name, c.settings, c.mapping, None))
            }
            None => Ok(self.insert_index(&mut cat, name, BTreeMap::new(), Mapping::new(), None)),
        }
    }

    fn existing_target(
        &self,
        cat: &Catalog,
        name: &str,
        kind: WriteKind,
    ) -> Option<Result<Arc<Index>, EsError>> {
        if let Some(ds) = cat.data_streams.get(name) {
            if kind != WriteKind::Create {
                return Some(Err(EsError::illegal_argument(
                    "only write ops with an op_type of create are allowed in data streams",
                )));
            }
            let write = ds.indices.last().and_then(|n| cat.indices.get(n)).cloned();
            return Some(write.ok_or_else(|| EsError::index_not_found(name)));
        }
        let ix = cat.indices.get(name)?;
        if kind == WriteKind::Create {
            if let Some(ds) = &ix.data_stream {
                return Some(Err(EsError::illegal_argument(format!(
                    "index request with op_type=create targeting backing indices is disallowed, target corresponding data stream [{ds}] instead"
                ))));
            }
        }
        Some(Ok(ix.clone()))
    }

    /// An existing index or data stream's write index, for single-document reads and deletes
    /// (a data stream name is refused as ES does).
    pub fn single_index(&self, name: &str) -> Result<Arc<Index>, EsError> {
        let cat = self.catalog.read();
        if cat.data_streams.contains_key(name) {
            return Err(EsError::illegal_argument(format!(
                "The provided expression [{name}] matches a data stream, specify the corresponding concrete indices instead."
            )));
        }
        cat.indices
            .get(name)
            .cloned()
            .ok_or_else(|| EsError::index_not_found(name))
    }
}

fn describe_data_stream(cat: &Catalog, ds: &DataStream) -> Value {
    let indices: Vec<Value> = ds
        .indices
        .iter()
        .map(|n| {
            let uuid = cat.indices.get(n).map(|i| i.uuid.clone());
            json!({"index_name": n, "index_uuid": uuid, "prefer_ilm": true, "managed_by": "Unmanaged"})
        })
        .collect();
    json!({
        "name": ds.name,
        "timestamp_field": {"name": "@timestamp"},
        "indices": indices,
        "generation": ds.generation,
        "status": "GREEN",
        "template": ds.template,
        "hidden": ds.hidden,
        "system": false,
        "allow_custom_routing": false,
        "replicated": false,
        "rollover_on_write": false,
        "next_generation_managed_by": "Unmanaged",
        "prefer_ilm": true,
    })
}

/// Elasticsearch's built-in `logs` template (`logs-*-*`, priority 100, a data stream), reduced
/// to its mapping essentials: strings map to `keyword` as with `ecs@mappings`. Its default
/// ingest pipeline (which fills a missing `@timestamp`) is not emulated.
fn builtin_logs_template() -> Value {
    json!({
        "index_patterns": ["logs-*-*"],
        "priority": 100,
        "data_stream": {},
        "composed_of": [],
        "template": {
            "settings": {"index": {"lifecycle": {"name": "logs"}}},
            "mappings": {
                "dynamic_templates": [
                    {"strings_as_keyword": {"match_mapping_type": "string", "mapping": {"type": "keyword", "ignore_above": 1024}}}
                ],
                "properties": {
                    "@timestamp": {"type": "date"},
                    "data_stream": {"properties": {
                        "type": {"type": "constant_keyword"},
                        "dataset": {"type": "constant_keyword"},
                        "namespace": {"type": "constant_keyword"},
                    }},
                },
            },
        },
        "_meta": {"description": "default logs template installed by x-pack", "managed": true},
        "version": 1,
    })
}

/// `.ds-{name}-{yyyy.MM.dd}-{generation:06}`.
fn backing_index_name(name: &str, generation: u64) -> String {
    format!(
        ".ds-{name}-{}-{generation:06}",
        chrono::Utc::now().format("%Y.%m.%d")
    )
}

/// ES's index naming rules.
pub(crate) fn validate_index_name(name: &str) -> Result<(), EsError> {
    let invalid = |why: &str| {
        Err(EsError::new(
            400,
            "invalid_index_name_exception",
            format!("Invalid index name [{name}], {why}"),
        )
        .with("index_uuid", "_na_")
        .with("index", name))
    };
    if name.is_empty() || name == "." || name == ".." {
        return invalid("must not be empty, '.' or '..'");
    }
    if name.chars().any(|c| c.is_uppercase()) {
        return invalid("must be lowercase");
    }
    if name.starts_with(['_', '-', '+']) {
        return invalid("must not start with '_', '-', or '+'");
    }
    if let Some(c) = name.chars().find(|c| {
        matches!(
            c,
            '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ' ' | ',' | '#' | ':'
        )
    }) {
        return invalid(&format!("must not contain the following characters [{c}]"));
    }
    if name.len() > 255 {
        return invalid("index name is too long");
    }
    Ok(())
}
