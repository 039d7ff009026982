//! Which cluster eshunt talks to — Elasticsearch or OpenSearch, which version — and what that
//! means for the APIs it uses (point in time, `_shard_doc`, field types).

use serde_json::Value;
use std::fmt;

/// The product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Elasticsearch (7.10+, 8, 9).
    Elasticsearch,
    /// OpenSearch (1, 2, 3).
    OpenSearch,
}

/// A `major.minor.patch` version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl Version {
    /// OpenSearch 1.0.0, the first.
    pub const OPENSEARCH_OLDEST: Version = Version {
        major: 1,
        minor: 0,
        patch: 0,
    };

    /// Parses `8.15.1`, `2.11.0`, `9.0.0-SNAPSHOT`.
    pub fn parse(text: &str) -> Option<Version> {
        let core = text.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
        Some(Version {
            major: parts.next()??,
            minor: parts.next().flatten().unwrap_or(0),
            patch: parts.next().flatten().unwrap_or(0),
        })
    }

    fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// How a window's hits are paged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// Point in time + `search_after`. `shard_doc`: the `_shard_doc` tiebreaker exists
    /// (Elasticsearch 7.12+, OpenSearch 3.3+); otherwise hits are sorted on `_id`.
    PointInTime {
        /// Whether `_shard_doc` can be sorted on.
        shard_doc: bool,
    },
    /// Scroll (Elasticsearch before 7.10, OpenSearch before 2.4: no point in time).
    Scroll,
}

/// What `GET /` says about the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    /// Product.
    pub flavor: Flavor,
    /// Version.
    pub version: Version,
    /// Cluster name.
    pub cluster_name: String,
    /// OpenSearch answering `GET /` as Elasticsearch 7.10.2
    /// (`compatibility.override_main_response_version`): `version` is 1.0.0 until the real one
    /// is read from the node info ([`ClusterInfo::set_node_version`]).
    pub compat_mode: bool,
    /// An Elasticsearch OSS build (`version.build_flavor: "oss"`, e.g. AWS Elasticsearch
    /// Service 7.10): no X-Pack, so no point in time, no `flattened`, no `_has_privileges`.
    pub oss: bool,
}

impl ClusterInfo {
    /// Reads the root endpoint's answer. OpenSearch says `version.distribution: "opensearch"`
    /// — except in compatibility mode, where only its tagline tells it from Elasticsearch.
    pub fn from_root(body: &Value) -> Result<ClusterInfo, String> {
        let version = body
            .pointer("/version/number")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the root endpoint did not return version.number: {body}"))?;
        let version =
            Version::parse(version).ok_or_else(|| format!("unreadable version `{version}`"))?;
        let distribution = body
            .pointer("/version/distribution")
            .and_then(Value::as_str);
        let opensearch_tagline = body["tagline"]
            .as_str()
            .is_some_and(|t| t.contains("OpenSearch"));
        let flavor = if distribution == Some("opensearch") || opensearch_tagline {
            Flavor::OpenSearch
        } else {
            Flavor::Elasticsearch
        };
        let compat_mode = flavor == Flavor::OpenSearch && distribution.is_none();
        let oss = flavor == Flavor::Elasticsearch
            && body
                .pointer("/version/build_flavor")
                .and_then(Value::as_str)
                == Some("oss");
        Ok(ClusterInfo {
            flavor,
            // The 7.10.2 of compatibility mode is no OpenSearch version: assume the oldest
            // (what works on every one) until the real one is read.
            version: if compat_mode {
                Version::OPENSEARCH_OLDEST
            } else {
                version
            },
            cluster_name: body["cluster_name"].as_str().unwrap_or("?").to_string(),
            compat_mode,
            oss,
        })
    }

    /// Takes the real version from a node info answer (`GET /_nodes/_local`), which
    /// compatibility mode leaves alone; `false` when the answer holds none.
    pub fn set_node_version(&mut self, nodes: &Value) -> bool {
        let version = nodes["nodes"]
            .as_object()
            .and_then(|nodes| nodes.values().find_map(|n| n["version"].as_str()))
            .and_then(Version::parse);
        match version {
            Some(v) => {
                self.version = v;
                true
            }
            None => false,
        }
    }

    /// How to page through a window on this cluster.
    pub fn paging(&self) -> Paging {
        match self.flavor {
            Flavor::Elasticsearch if self.version.at_least(7, 10) && !self.oss => {
                Paging::PointInTime {
                    shard_doc: self.version.at_least(7, 12),
                }
            }
            Flavor::OpenSearch if self.version.at_least(2, 4) => Paging::PointInTime {
                shard_doc: self.version.at_least(3, 3),
            },
            _ => Paging::Scroll,
        }
    }

    /// The mapping type for free-form objects (alert context): `flattened` on Elasticsearch
    /// (not OSS), `flat_object` on OpenSearch 2.7+, else an object that is stored but not
    /// indexed.
    pub fn free_form_mapping(&self) -> Value {
        match self.flavor {
            Flavor::Elasticsearch if !self.oss => serde_json::json!({"type": "flattened"}),
            Flavor::Elasticsearch => serde_json::json!({"type": "object", "enabled": false}),
            Flavor::OpenSearch if self.version.at_least(2, 7) => {
                serde_json::json!({"type": "flat_object"})
            }
            Flavor::OpenSearch => serde_json::json!({"type": "object", "enabled": false}),
        }
    }

    /// Whether the `match_only_text` type exists (Elasticsearch 7.14+).
    pub fn has_match_only_text(&self) -> bool {
        self.flavor == Flavor::Elasticsearch && !self.oss && self.version.at_least(7, 14)
    }

    /// Whether this version is one eshunt supports (Elasticsearch 7.10+, OpenSearch 1+).
    pub fn is_supported(&self) -> bool {
        match self.flavor {
            Flavor::Elasticsearch => self.version.at_least(7, 10),
            Flavor::OpenSearch => self.version.major >= 1,
        }
    }
}

impl fmt::Display for ClusterInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let product = match self.flavor {
            Flavor::Elasticsearch => "Elasticsearch",
            Flavor::OpenSearch => "OpenSearch",
        };
        let compat = if self.compat_mode {
            ", in Elasticsearch compatibility mode"
        } else {
            ""
        };
        let oss = if self.oss { " OSS" } else { "" };
        write!(
            f,
            "{product}{oss} {} (cluster {}{compat})",
            self.version, self.cluster_name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(number: &str, distribution: Option<&str>) -> ClusterInfo {
        let mut version = json!({"number": number, "build_flavor": "default"});
        if let Some(d) = distribution {
            version["distribution"] = json!(d);
        }
        ClusterInfo::from_root(&json!({"cluster_name": "c", "version": version, "tagline": "x"}))
            .unwrap()
    }

    #[test]
    fn detects_flavor_and_paging() {
        assert_eq!(
            info("8.15.1", None).paging(),
            Paging::PointInTime { shard_doc: true }
        );
        assert_eq!(
            info("9.1.0", None).paging(),
            Paging::PointInTime { shard_doc: true }
        );
        assert_eq!(
            info("7.10.2", None).paging(),
            Paging::PointInTime { shard_doc: false }
        );
        assert_eq!(info("7.9.0", None).paging(), Paging::Scroll);
        let os = info("2.11.0", Some("opensearch"));
        assert_eq!(os.flavor, Flavor::OpenSearch);
        assert_eq!(os.paging(), Paging::PointInTime { shard_doc: false });
        assert_eq!(
            info("3.3.0", Some("opensearch")).paging(),
            Paging::PointInTime { shard_doc: true }
        );
        assert_eq!(info("1.3.0", Some("opensearch")).paging(), Paging::Scroll);
        assert!(!info("6.8.0", None).is_supported());
        assert_eq!(
            info("2.11.0", Some("opensearch")).to_string(),
            "OpenSearch 2.11.0 (cluster c)"
        );
    }

    #[test]
    fn opensearch_in_compatibility_mode_is_told_by_its_tagline() {
        let root = json!({"cluster_name": "c", "version": {"number": "7.10.2"},
                          "tagline": "The OpenSearch Project: https://opensearch.org/"});
        let mut os = ClusterInfo::from_root(&root).unwrap();
        assert_eq!(os.flavor, Flavor::OpenSearch);
        assert!(os.compat_mode);
        assert_eq!(
            os.paging(),
            Paging::Scroll,
            "until the real version is known"
        );
        assert!(os.set_node_version(&json!({"nodes": {"n1": {"version": "2.17.0"}}})));
        assert_eq!(os.paging(), Paging::PointInTime { shard_doc: false });
        assert_eq!(
            os.to_string(),
            "OpenSearch 2.17.0 (cluster c, in Elasticsearch compatibility mode)"
        );
        assert!(!os.set_node_version(&json!({"error": "forbidden"})));
        let es = info("7.10.2", None);
        assert_eq!(es.flavor, Flavor::Elasticsearch);
        assert!(!es.compat_mode);
    }

    #[test]
    fn elasticsearch_oss_has_no_point_in_time_nor_flattened() {
        let root = json!({"cluster_name": "c", "tagline": "You Know, for Search",
                          "version": {"number": "7.10.2", "build_flavor": "oss"}});
        let oss = ClusterInfo::from_root(&root).unwrap();
        assert!(oss.oss);
        assert_eq!(oss.paging(), Paging::Scroll);
        assert_eq!(oss.free_form_mapping()["type"], "object");
        assert_eq!(oss.to_string(), "Elasticsearch OSS 7.10.2 (cluster c)");
        assert!(!info("7.10.2", None).oss, "the default distribution");
    }

    #[test]
    fn versions() {
        assert_eq!(
            Version::parse("9.0.0-SNAPSHOT"),
            Some(Version {
                major: 9,
                minor: 0,
                patch: 0
            })
        );
        assert_eq!(
            Version::parse("8"),
            Some(Version {
                major: 8,
                minor: 0,
                patch: 0
            })
        );
        assert_eq!(Version::parse("x"), None);
        assert!(ClusterInfo::from_root(&json!({})).is_err());
    }
}
