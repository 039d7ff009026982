//! Elasticsearch security: authentication of requests (off unless configured), and the
//! `_has_privileges` / `_authenticate` APIs answering from the configured privileges.
//! OpenSearch runs without its security plugin, as a default test cluster does.

use super::Answer;
use crate::emulator::Emulator;
use crate::error::EsError;
use crate::http::{Req, Resp};
use crate::store::Index;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use esquery::dsl::pattern::simple_match;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Who may call the server and which index privileges they lack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityConfig {
    /// Accepted `user:password` pairs (basic authentication).
    users: Vec<(String, String)>,
    /// Accepted API keys as `id:key`.
    api_keys: Vec<String>,
    /// Index privileges `_has_privileges` answers `false` for: (index pattern, privilege).
    denied: Vec<(String, String)>,
    /// Elasticsearch with `xpack.security.enabled: false`: the security APIs do not exist.
    disabled: bool,
}

impl SecurityConfig {
    /// No authentication; every privilege granted.
    pub fn open() -> SecurityConfig {
        SecurityConfig::default()
    }

    /// Elasticsearch with security switched off (`xpack.security.enabled: false`): no
    /// authentication, and `/_security/...` answers 400 "no handler found".
    pub fn disabled() -> SecurityConfig {
        SecurityConfig {
            disabled: true,
            ..SecurityConfig::default()
        }
    }

    /// Whether the security APIs are switched off.
    pub(crate) fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// Requires credentials and accepts this user.
    pub fn with_user(mut self, username: &str, password: &str) -> SecurityConfig {
        self.users
            .push((username.to_string(), password.to_string()));
        self
    }

    /// Requires credentials and accepts this API key (`id`, `key`).
    pub fn with_api_key(mut self, id: &str, key: &str) -> SecurityConfig {
        self.api_keys.push(format!("{id}:{key}"));
        self
    }

    /// `_has_privileges` answers `false` for `privilege` on indices matching `pattern`
    /// (`*` as privilege denies all); a denied `read` also applies to searches (see
    /// `readable`).
    pub fn deny(mut self, pattern: &str, privilege: &str) -> SecurityConfig {
        self.denied
            .push((pattern.to_string(), privilege.to_string()));
        self
    }

    /// Whether a security layer is there at all (users, keys or restrictions configured): on
    /// OpenSearch, whether the security plugin answers.
    fn is_installed(&self) -> bool {
        self.requires_auth() || !self.denied.is_empty()
    }

    /// Whether the user may read an index (by its name or its data stream's).
    pub(crate) fn may_read(&self, index: &Index) -> bool {
        self.granted(&index.name, "read")
            && index
                .data_stream
                .as_deref()
                .is_none_or(|ds| self.granted(ds, "read"))
    }

    fn requires_auth(&self) -> bool {
        !self.users.is_empty() || !self.api_keys.is_empty()
    }

    fn granted(&self, index: &str, privilege: &str) -> bool {
        !self
            .denied
            .iter()
            .any(|(p, pr)| simple_match(p, index) && (pr == privilege || pr == "*"))
    }

    /// The authenticated user name, or the 401 answer.
    pub(crate) fn authenticate(&self, req: &Req) -> Result<String, EsError> {
        if !self.requires_auth() {
            return Ok("elastic".to_string());
        }
        let path = &req.path;
        let Some(header) = &req.authorization else {
            return Err(unauthorized(format!(
                "missing authentication credentials for REST request [{path}]"
            )));
        };
        let decoded = |b64: &str| {
            STANDARD
                .decode(b64.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
        };
        if let Some(b64) = header.strip_prefix("Basic ") {
            let text = decoded(b64).unwrap_or_default();
            let (user, pass) = text.split_once(':').unwrap_or((&text, ""));
            if self.users.iter().any(|(u, p)| u == user && p == pass) {
                return Ok(user.to_string());
            }
            return Err(unauthorized(format!(
                "unable to authenticate user [{user}] for REST request [{path}]"
            )));
        }
        if let Some(b64) = header.strip_prefix("ApiKey ") {
            if let Some(key) = decoded(b64).filter(|k| self.api_keys.contains(k)) {
                return Ok(key.split(':').next().unwrap_or("api_key").to_string());
            }
            return Err(unauthorized("unable to authenticate with provided credentials and anonymous access is not allowed for this request".to_string()));
        }
        Err(unauthorized(format!(
            "missing authentication credentials for REST request [{path}]"
        )))
    }
}

fn unauthorized(reason: String) -> EsError {
    EsError::new(401, "security_exception", reason).with(
        "header",
        json!({"WWW-Authenticate": ["Basic realm=\"security\" charset=\"UTF-8\"", "ApiKey"]}),
    )
}

/// `GET|POST /_security/user/_has_privileges`.
pub(super) fn has_privileges(em: &Emulator, req: &Req) -> Answer {
    let user = em.security.authenticate(req)?;
    let body = req.json_object()?;
    let mut all = true;
    let mut cluster = Map::new();
    for p in body
        .get("cluster")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(p) = p.as_str() {
            cluster.insert(p.to_string(), json!(true));
        }
    }
    let mut index = Map::new();
    for entry in body
        .get("index")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let names = strings(entry.get("names"));
        let privileges = strings(entry.get("privileges"));
        for name in names {
            let slot = index.entry(name.clone()).or_insert_with(|| json!({}));
            for p in &privileges {
                let ok = em.security.granted(&name, p);
                all &= ok;
                slot[p.as_str()] = json!(ok);
            }
        }
    }
    Ok(Resp::json(
        200,
        &json!({"username": user, "has_all_requested": all, "cluster": cluster, "index": index, "application": {}}),
    ))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The resolved `indices` of `target` the user may read, or a 403 as the flavour answers: on
/// Elasticsearch for a concrete name (a wildcard silently leaves such indices out); on
/// OpenSearch for any denied expression or index (its default, `do_not_fail_on_forbidden:
/// false`).
pub(super) fn readable(
    em: &Emulator,
    req: &Req,
    target: &str,
    indices: Vec<Arc<Index>>,
) -> Result<Vec<Arc<Index>>, EsError> {
    let user = em.security.authenticate(req)?;
    let os = em.node.is_opensearch();
    let mut denied: Vec<String> = target
        .split(',')
        .filter(|t| (os || !t.contains('*')) && !em.security.granted(t, "read"))
        .map(str::to_string)
        .collect();
    if os {
        denied.extend(
            indices
                .iter()
                .filter(|ix| !em.security.may_read(ix))
                .map(|ix| ix.name.clone()),
        );
    }
    if denied.is_empty() {
        return Ok(indices
            .into_iter()
            .filter(|ix| em.security.may_read(ix))
            .collect());
    }
    let action = "indices:data/read/search";
    let reason = if os {
        format!("no permissions for [{action}] and User [name={user}, backend_roles=[], requestedTenant=null]")
    } else {
        format!(
            "action [{action}] is unauthorized for user [{user}] with effective roles [eshunt] on indices [{}], this action is granted by the index privileges [read,all]",
            denied.join(",")
        )
    };
    Err(EsError::new(403, "security_exception", reason))
}

/// OpenSearch `GET /_plugins/_security/api/account`; `None` (no handler) without the plugin.
pub(super) fn os_account(em: &Emulator, req: &Req) -> Option<Answer> {
    if !em.security.is_installed() {
        return None;
    }
    Some(em.security.authenticate(req).map(|user| {
        Resp::json(
            200,
            &json!({
                "user_name": user,
                "is_reserved": false,
                "is_hidden": false,
                "is_internal_user": true,
                "user_requested_tenant": null,
                "backend_roles": [],
                "custom_attribute_names": [],
                "tenants": {},
                "roles": ["eshunt"],
            }),
        )
    }))
}

/// `GET /_security/_authenticate`.
pub(super) fn authenticate(em: &Emulator, req: &Req) -> Answer {
    let user = em.security.authenticate(req)?;
    Ok(Resp::json(
        200,
        &json!({
            "username": user,
            "roles": ["superuser"],
            "full_name": null,
            "email": null,
            "metadata": {},
            "enabled": true,
            "authentication_realm": {"name": "reserved", "type": "reserved"},
            "lookup_realm": {"name": "reserved", "type": "reserved"},
            "authentication_type": "realm",
        }),
    ))
}
