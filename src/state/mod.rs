//! State in the cluster: checkpoints, leases, run records, gaps and backfill progress, in one
//! index (`[schedule] state_index`). Documents that several processes may change are written
//! with optimistic concurrency (`if_seq_no` / `if_primary_term`): a conflict means another
//! process got there first, and the caller backs off. Run records and gaps are plain documents
//! Kibana can chart.

pub mod records;

use crate::es::{Cluster, EsError, Request};
use records::Record;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashSet;

/// A document's version, for optimistic concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// `_seq_no`.
    pub seq_no: u64,
    /// `_primary_term`.
    pub primary_term: u64,
}

/// A document with its version.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    /// The document.
    pub value: T,
    /// Its version.
    pub version: Version,
}

/// A conditional write lost the race: the document changed (or appeared) since it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the state document changed concurrently")]
pub struct Conflict;

/// The state index.
#[derive(Clone)]
pub struct StateStore {
    cluster: Cluster,
    index: String,
}

impl StateStore {
    /// The store in `index`.
    pub fn new(cluster: Cluster, index: &str) -> StateStore {
        StateStore {
            cluster,
            index: index.to_string(),
        }
    }

    /// The index name.
    pub fn index(&self) -> &str {
        &self.index
    }

    /// Creates the index with its mappings if it does not exist. Returns whether it created it.
    pub async fn install(&self) -> Result<bool, EsError> {
        let body = json!({"mappings": records::mappings()});
        let reply = self
            .cluster
            .execute(&Request::put(format!("/{}", self.index)).json(&body))
            .await?;
        if reply.status == 400 && reply.body["error"]["type"] == "resource_already_exists_exception"
        {
            return Ok(false);
        }
        reply.ok("creating the state index")?;
        Ok(true)
    }

    /// Reads a document by id (real-time: no refresh needed).
    pub async fn get<T: DeserializeOwned>(
        &self,
        id: &str,
    ) -> Result<Option<Versioned<T>>, EsError> {
        let reply = self
            .cluster
            .execute(&Request::get(self.doc_path("_doc", id)))
            .await?;
        if reply.status == 404 {
            return Ok(None);
        }
        let body = reply.ok("reading state")?.body;
        if body["found"] == false {
            return Ok(None);
        }
        let value = serde_json::from_value(body["_source"].clone())
            .map_err(|e| EsError::protocol("reading state", format!("{id}: {e}")))?;
        Ok(Some(Versioned {
            value,
            version: version_of(&body)?,
        }))
    }

    /// Which of `ids` exist (real-time, like [`StateStore::get`]; none before the index exists).
    pub async fn existing(&self, ids: &[String]) -> Result<HashSet<String>, EsError> {
        let mut found = HashSet::new();
        for batch in ids.chunks(500) {
            let request = Request::post(format!("/{}/_mget", self.index))
                .param("_source", "false")
                .json(&json!({"ids": batch}));
            let reply = self.cluster.execute(&request).await?;
            if reply.status == 404 {
                continue;
            }
            let body = reply.ok("reading state")?.body;
            found.extend(
                body["docs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|d| d["found"] == true)
                    .filter_map(|d| d["_id"].as_str().map(str::to_string)),
            );
        }
        Ok(found)
    }

    /// Creates a document that must not exist yet.
    pub async fn create<T: Serialize>(
        &self,
        id: &str,
        value: &T,
    ) -> Result<Result<Version, Conflict>, EsError> {
        let value = to_json(value)?;
        let request = Request::put(self.doc_path("_create", id)).json(&value);
        self.conditional(id, &value, request).await
    }

    /// Replaces a document if it is still at `expected`.
    pub async fn update<T: Serialize>(
        &self,
        id: &str,
        value: &T,
        expected: Version,
    ) -> Result<Result<Version, Conflict>, EsError> {
        let value = to_json(value)?;
        let request = Request::put(self.doc_path("_doc", id))
            .param("if_seq_no", expected.seq_no)
            .param("if_primary_term", expected.primary_term)
            .json(&value);
        self.conditional(id, &value, request).await
    }

    /// Writes a document unconditionally (run records, gaps).
    pub async fn put<T: Serialize>(&self, id: &str, value: &T) -> Result<(), EsError> {
        let request = Request::put(self.doc_path("_doc", id)).json(&to_json(value)?);
        self.cluster.execute(&request).await?.ok("writing state")?;
        Ok(())
    }

    /// All records of a kind matching `filters` (term filters on keyword fields), newest first
    /// by `sort_field`, at most `size`. Refreshes the index first so recent writes are seen
    /// (best effort: a refresh the user may not run is skipped).
    pub async fn search<R: Record + DeserializeOwned>(
        &self,
        filters: &[(&str, &str)],
        sort_field: &str,
        size: usize,
    ) -> Result<Vec<R>, EsError> {
        self.refresh().await?;
        let body = json!({
            "size": size,
            "query": filter_query::<R>(filters),
            "sort": [{sort_field: {"order": "desc", "unmapped_type": "date"}}],
        });
        let reply = self
            .cluster
            .execute(&Request::post(format!("/{}/_search", self.index)).json(&body))
            .await?;
        if reply.status == 404 {
            return Ok(Vec::new());
        }
        let hits = reply.ok("searching state")?.body["hits"]["hits"].clone();
        hits.as_array()
            .into_iter()
            .flatten()
            .map(|h| {
                serde_json::from_value(h["_source"].clone())
                    .map_err(|e| EsError::protocol("searching state", e.to_string()))
            })
            .collect()
    }

    /// How many records of a kind match `filters`, exactly (no 10,000 cap).
    pub async fn count<R: Record>(&self, filters: &[(&str, &str)]) -> Result<u64, EsError> {
        self.refresh().await?;
        let body = json!({"query": filter_query::<R>(filters)});
        let reply = self
            .cluster
            .execute(&Request::post(format!("/{}/_count", self.index)).json(&body))
            .await?;
        if reply.status == 404 {
            return Ok(0);
        }
        let body = reply.ok("counting state")?.body;
        body["count"]
            .as_u64()
            .ok_or_else(|| EsError::protocol("counting state", format!("no count in {body}")))
    }

    async fn refresh(&self) -> Result<(), EsError> {
        self.cluster
            .execute(&Request::post(format!("/{}/_refresh", self.index)))
            .await?;
        Ok(())
    }

    fn doc_path(&self, endpoint: &str, id: &str) -> String {
        format!("/{}/{endpoint}/{}", self.index, crate::es::path_segment(id))
    }

    /// Sends a conditional write of `value` to `id`. A 409 may answer a resend of a write that
    /// did succeed (its answer was lost): when the document now holds exactly `value`, the
    /// write is ours.
    async fn conditional(
        &self,
        id: &str,
        value: &Value,
        request: Request,
    ) -> Result<Result<Version, Conflict>, EsError> {
        let reply = self.cluster.execute(&request).await?;
        if reply.status == 409 {
            return Ok(match self.get::<Value>(id).await? {
                Some(current) if current.value == *value => Ok(current.version),
                _ => Err(Conflict),
            });
        }
        let body = reply.ok("writing state")?.body;
        Ok(Ok(version_of(&body)?))
    }
}

/// A `bool` filter on a record kind and `field = value` terms.
fn filter_query<R: Record>(filters: &[(&str, &str)]) -> Value {
    let mut must = vec![json!({"term": {"type": R::KIND}})];
    must.extend(filters.iter().map(|(k, v)| json!({"term": {*k: v}})));
    json!({"bool": {"filter": must}})
}

fn version_of(body: &Value) -> Result<Version, EsError> {
    match (body["_seq_no"].as_u64(), body["_primary_term"].as_u64()) {
        (Some(seq_no), Some(primary_term)) => Ok(Version {
            seq_no,
            primary_term,
        }),
        _ => Err(EsError::protocol(
            "state",
            format!("no _seq_no/_primary_term in {body}"),
        )),
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, EsError> {
    serde_json::to_value(value).map_err(|e| EsError::protocol("encoding state", e.to_string()))
}
