//! The emulated cluster: node identity, state, search contexts and security, answering requests
//! through [`crate::api`].

use crate::api;
use crate::api::security::SecurityConfig;
use crate::http::{Req, Resp};
use crate::node::Node;
use crate::pit::{ContextPolicy, Contexts};
use crate::store::Store;

/// An in-memory cluster.
#[derive(Debug)]
pub(crate) struct Emulator {
    pub node: Node,
    pub store: Store,
    pub contexts: Contexts,
    pub security: SecurityConfig,
}

impl Emulator {
    /// A fresh cluster.
    pub fn new(node: Node, policy: ContextPolicy, security: SecurityConfig) -> Emulator {
        Emulator {
            store: Store::new(node.clone()),
            node,
            contexts: Contexts::new(policy),
            security,
        }
    }

    /// Answers one request (blocking: run it off the async threads).
    pub fn handle(&self, req: &Req) -> Resp {
        if let Err(e) = self.security.authenticate(req) {
            if self.node.is_opensearch() {
                return Resp::raw_json(401, "\"Unauthorized\"".to_string());
            }
            return Resp::error(&e).header(
                "WWW-Authenticate",
                "Basic realm=\"security\" charset=\"UTF-8\"",
            );
        }
        api::handle(self, req)
    }
}

impl Emulator {
    /// Writes one document with `create` semantics (direct loading, no HTTP).
    pub fn load_one(
        &self,
        target: &str,
        id: Option<String>,
        source: String,
    ) -> Result<(), crate::error::EsError> {
        let doc: serde_json::Value =
            serde_json::from_str(&source).map_err(|e| crate::error::EsError::bad_json(&e))?;
        let index = self
            .store
            .write_target(target, crate::store::WriteKind::Create)?;
        let id = id.unwrap_or_else(crate::ids::auto_id);
        index.put(
            &id,
            source.into_boxed_str(),
            &doc,
            crate::store::OpType::Create,
            crate::store::Condition::default(),
        )?;
        Ok(())
    }
}
