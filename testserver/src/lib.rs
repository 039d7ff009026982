//! An Elasticsearch/OpenSearch-compatible HTTP server for eshunt's integration tests and
//! benchmarks.
//!
//! [`TestServer::start`] runs an in-memory cluster on a random loopback port that answers the
//! REST APIs eshunt uses the way Elasticsearch 8/9 (or OpenSearch 2) documents them: index
//! management, composable templates and data streams, document and bulk APIs, search with the
//! query DSL (evaluated by [`esquery::dsl`]), sorting, `search_after`, `_source` filtering,
//! points in time (both flavours' APIs), scroll, and the security APIs eshunt calls. Faults
//! ([`Faults`]) are programmable at run time and every request is recorded ([`Requests`]).
//!
//! By default the same call starts a proxy that forwards every request to a real cluster,
//! applying the same faults on the way, so the very same tests run against a real engine: the
//! OpenSearch node `scripts/engine` starts for the test run, or the cluster named by
//! `ESHUNT_TEST_ES_URL` (with optional `ESHUNT_TEST_ES_USERNAME`, `ESHUNT_TEST_ES_PASSWORD`,
//! `ESHUNT_TEST_ES_API_KEY`, and `ESHUNT_TEST_ES_INSECURE=1` for a self-signed cluster); see
//! the `engine` module for the choice, and [`TestServerBuilder::emulator_only`] and
//! [`TestServerBuilder::exact_flavor`] for tests that need the emulator. [`TestCluster`] gives each test its own name prefix and cleans up after it,
//! so tests can share a real cluster.
//!
//! ```
//! use eshunt_testserver::{Flavor, TestServer};
//! let server = TestServer::builder(Flavor::Elasticsearch, "8.15.0")
//!     .emulator_only()
//!     .start()
//!     .unwrap();
//! assert!(server.url().starts_with("http://127.0.0.1:"));
//! ```
//!
//! # Emulation notes
//! - Search sees writes only after a refresh: `_refresh`, a write's `refresh` parameter, or by
//!   itself one second after the write (a real engine's default interval, taken as the worst
//!   case). Reads by id are real-time.
//! - One primary shard per index (`_shards.total` counts indices); primary term is always 1.
//! - Scores are not computed: hits score 1.0 (0.0 under a pure filter); which hits match and
//!   their order under an explicit sort are exact.
//! - Elasticsearch 8+ defaults are followed: sorting on `_id` is refused (no fielddata),
//!   wildcard deletes of indices and data streams are refused (`destructive_requires_name`),
//!   sorted point-in-time searches get the implicit `_shard_doc` tiebreaker. OpenSearch before
//!   3.3 has no `_shard_doc`.
//! - Point-in-time ids change every few searches and superseded ids are refused by default
//!   ([`ContextPolicy`]), to catch clients that do not carry the newest id.
//! - Security ([`SecurityConfig`]): users and API keys (401 otherwise), `_has_privileges`, and
//!   indices denied `read`: searches, counts and points in time naming one get a 403
//!   `security_exception` — on Elasticsearch only by a concrete name (a wildcard silently leaves
//!   it out), on OpenSearch by any expression. OpenSearch's security plugin answers
//!   `_plugins/_security/api/account` only when security is configured.
//! - Not supported (answered 400 with an ES-shaped error naming them): aggregations,
//!   highlighting, suggesters, collapse, scripts, aliases, ingest pipelines, and any endpoint
//!   not listed in the `api` module.

mod api;
mod emulator;
mod engine;
mod error;
mod faults;
mod harness;
mod http;
mod ids;
mod log;
mod node;
mod pit;
mod proxy;
mod record;
mod search;
mod server;
mod store;

pub use api::security::SecurityConfig;
pub use eshunt::es::flavor::{ClusterInfo, Flavor, Version};
pub use faults::{Action, Fault, FaultId, Faults, ItemFault, ItemTarget};
pub use harness::{cloudtrail_template, TestCluster};
pub use pit::ContextPolicy;
pub use proxy::ProxyConfig;
pub use record::{RecordedRequest, Requests};
pub use server::{TestServer, TestServerBuilder};
