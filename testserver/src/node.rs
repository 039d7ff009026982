//! Who the emulated node says it is: flavour, version and names, and what depends on them.

use eshunt::es::flavor::{Flavor, Version};
use serde_json::{json, Value};

/// The emulated cluster's identity.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub flavor: Flavor,
    pub version: Version,
    pub cluster_name: String,
    pub cluster_uuid: String,
    pub node_name: String,
    /// OpenSearch's `compatibility.override_main_response_version`: `GET /` says 7.10.2 and no
    /// distribution.
    pub compat_mode: bool,
    /// How far this node's clock is from the host's, in milliseconds (negative: behind).
    pub clock_offset_ms: i64,
    /// An Elasticsearch OSS build (no X-Pack: no point in time, no `flattened`, no security).
    pub oss: bool,
}

impl Node {
    /// A node of `flavor` and `version`.
    pub fn new(flavor: Flavor, version: Version) -> Node {
        Node {
            flavor,
            version,
            cluster_name: "eshunt-testserver".to_string(),
            cluster_uuid: crate::ids::uuid_like(0),
            node_name: "eshunt-testserver-0".to_string(),
            compat_mode: false,
            clock_offset_ms: 0,
            oss: false,
        }
    }

    /// OpenSearch rather than Elasticsearch.
    pub fn is_opensearch(&self) -> bool {
        self.flavor == Flavor::OpenSearch
    }

    fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.version.major, self.version.minor) >= (major, minor)
    }

    /// The error type of a document that does not fit its mapping.
    pub fn parse_error_kind(&self) -> &'static str {
        if !self.is_opensearch() && self.at_least(8, 8) {
            "document_parsing_exception"
        } else {
            "mapper_parsing_exception"
        }
    }

    /// Whether `_shard_doc` can be sorted on (Elasticsearch 7.12+, OpenSearch 3.3+).
    pub fn has_shard_doc(&self) -> bool {
        if self.is_opensearch() {
            self.at_least(3, 3)
        } else {
            self.at_least(7, 12)
        }
    }

    /// Whether sorting on `_id` is refused (Elasticsearch 8+: no fielddata on `_id`).
    pub fn id_fielddata_disabled(&self) -> bool {
        !self.is_opensearch() && self.version.major >= 8
    }

    /// Whether destructive operations need explicit names (Elasticsearch 8+).
    pub fn destructive_requires_name(&self) -> bool {
        !self.is_opensearch() && self.version.major >= 8
    }

    /// Whether the point-in-time API of this flavour exists (ES 7.10+ with X-Pack, OpenSearch
    /// 2.4+).
    pub fn has_pit(&self) -> bool {
        if self.is_opensearch() {
            self.at_least(2, 4)
        } else {
            self.at_least(7, 10) && !self.oss
        }
    }

    /// The `GET /` answer.
    pub fn root(&self) -> Value {
        let number = self.version.to_string();
        if self.is_opensearch() && self.compat_mode {
            let mut root = self.opensearch_root("7.10.2");
            if let Some(version) = root["version"].as_object_mut() {
                version.remove("distribution");
            }
            root
        } else if self.is_opensearch() {
            self.opensearch_root(&number)
        } else {
            self.elasticsearch_root(&number)
        }
    }

    /// `GET /_nodes/_local`: this node, with its real version.
    pub fn nodes_info(&self) -> Value {
        json!({
            "_nodes": {"total": 1, "successful": 1, "failed": 0},
            "cluster_name": self.cluster_name,
            "nodes": {
                self.cluster_uuid.clone(): {
                    "name": self.node_name,
                    "version": self.version.to_string(),
                    "build_type": "tar",
                    "build_hash": "eshunt-testserver",
                },
            },
        })
    }

    /// `GET /_nodes/_local/stats`: this node and its clock (`timestamp`, epoch milliseconds).
    pub fn nodes_stats(&self) -> Value {
        let now = chrono::Utc::now().timestamp_millis() + self.clock_offset_ms;
        json!({
            "_nodes": {"total": 1, "successful": 1, "failed": 0},
            "cluster_name": self.cluster_name,
            "nodes": {
                self.cluster_uuid.clone(): {"timestamp": now, "name": self.node_name},
            },
        })
    }

    fn opensearch_root(&self, number: &str) -> Value {
        json!({
                "name": self.node_name,
                "cluster_name": self.cluster_name,
                "cluster_uuid": self.cluster_uuid,
                "version": {
                    "distribution": "opensearch",
                    "number": number,
                    "build_type": "tar",
                    "build_hash": "eshunt-testserver",
                    "build_date": "2024-01-01T00:00:00.000000Z",
                    "build_snapshot": false,
                    "lucene_version": "9.7.0",
                    "minimum_wire_compatibility_version": "7.10.0",
                    "minimum_index_compatibility_version": "7.0.0",
                },
                "tagline": "The OpenSearch Project: https://opensearch.org/",
        })
    }

    fn elasticsearch_root(&self, number: &str) -> Value {
        json!({
                "name": self.node_name,
                "cluster_name": self.cluster_name,
                "cluster_uuid": self.cluster_uuid,
                "version": {
                    "number": number,
                    "build_flavor": if self.oss { "oss" } else { "default" },
                    "build_type": "tar",
                    "build_hash": "eshunt-testserver",
                    "build_date": "2024-01-01T00:00:00.000000000Z",
                    "build_snapshot": false,
                    "lucene_version": "9.11.1",
                    "minimum_wire_compatibility_version": "7.17.0",
                    "minimum_index_compatibility_version": "7.0.0",
                },
                "tagline": "You Know, for Search",
        })
    }
}
