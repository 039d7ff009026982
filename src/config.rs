//! `config.toml`: how eshunt reaches the cluster, where rules and alerts live, and how hunting
//! and scheduling behave. Read once, validated once; `ESHUNT_ES_*` environment variables
//! override the connection. Secrets are only ever read from the environment or from files and
//! are never printed (their `Debug` is redacted).

use crate::time::Span;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The cluster connection.
    #[serde(default)]
    pub elasticsearch: EsConfig,
    /// Rules.
    #[serde(default)]
    pub rules: RulesConfig,
    /// Alert writing.
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// Window searches.
    #[serde(default)]
    pub hunt: HuntConfig,
    /// Scheduling, checkpoints and leases.
    #[serde(default)]
    pub schedule: ScheduleConfig,
}

/// `[elasticsearch]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EsConfig {
    /// Node URLs (requests are spread over them round-robin).
    #[serde(default = "default_urls")]
    pub urls: Vec<String>,
    /// Elastic Cloud id (instead of `urls`).
    pub cloud_id: Option<String>,
    /// Basic-auth user name.
    pub username: Option<String>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// File holding the password (trailing newline ignored).
    pub password_file: Option<PathBuf>,
    /// Environment variable holding an API key (`id:key`, or the base64 `encoded` form).
    pub api_key_env: Option<String>,
    /// File holding an API key.
    pub api_key_file: Option<PathBuf>,
    /// PEM file of CA certificates to trust (in addition to the system's).
    pub ca_file: Option<PathBuf>,
    /// Verify TLS certificates. Turning this off is logged loudly on every start.
    #[serde(default = "yes")]
    pub verify_tls: bool,
    /// Timeout of one request.
    #[serde(default = "default_timeout")]
    pub request_timeout: Span,
    /// Requests in flight at once, across all rules.
    #[serde(default = "default_concurrency")]
    pub max_concurrent_requests: usize,
    /// Retries of a request on 429, 502, 503, 504 and connection errors.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// First retry delay (doubles each time, with jitter).
    #[serde(default = "default_backoff")]
    pub retry_backoff: Span,
}

/// `[rules]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Folder of rule files, relative to the config file.
    #[serde(default = "default_rules_dir")]
    pub dir: PathBuf,
}

/// `[alerts]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Data stream or index alerts are written to.
    #[serde(default = "default_target")]
    pub target: String,
    /// Alerts per bulk request.
    #[serde(default = "default_bulk")]
    pub bulk_size: usize,
    /// File alerts that cannot be written are appended to (a relative path is relative to the
    /// working directory, which services keep writable).
    #[serde(default = "default_dead_letter")]
    pub dead_letter: PathBuf,
}

/// `[hunt]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HuntConfig {
    /// Hits per page.
    #[serde(default = "default_page")]
    pub page_size: usize,
    /// Point-in-time keep-alive between pages.
    #[serde(default = "default_keep_alive")]
    pub keep_alive: Span,
    /// Server-side search timeout; a timed-out page makes the window incomplete.
    #[serde(default = "default_search_timeout")]
    pub search_timeout: Span,
}

/// `[schedule]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Index holding checkpoints, run records, leases and backfill progress.
    #[serde(default = "default_state_index")]
    pub state_index: String,
    /// Windows end this long before now, so documents still being indexed are not missed.
    #[serde(default = "default_settle")]
    pub settle_delay: Span,
    /// Each window starts this long before the previous one ended (late documents; alert ids
    /// make the overlap safe). Defaults to the rule's look-back minus its interval.
    pub overlap: Option<Span>,
    /// Largest window one run covers; longer catch-ups are split into windows of this size.
    #[serde(default = "default_max_window")]
    pub max_window: Span,
    /// How far back a catch-up after downtime goes; older unprocessed time is recorded as a gap.
    #[serde(default = "default_max_catch_up")]
    pub max_catch_up: Span,
    /// How long a rule lease lasts without renewal before another process may take it.
    #[serde(default = "default_lease")]
    pub lease_ttl: Span,
    /// Searches in flight at once across all rules.
    #[serde(default = "default_concurrent_searches")]
    pub max_concurrent_searches: usize,
    /// On SIGINT/SIGTERM, in-flight windows get this long to finish before they are cancelled
    /// (a cancelled window's checkpoint does not advance; it is redone on the next start).
    #[serde(default = "default_grace")]
    pub shutdown_grace: Span,
}

fn yes() -> bool {
    true
}
fn span(text: &str) -> Span {
    Span::parse(text).expect("valid default")
}
fn default_urls() -> Vec<String> {
    vec!["http://localhost:9200".into()]
}
fn default_timeout() -> Span {
    span("60s")
}
fn default_concurrency() -> usize {
    4
}
fn default_retries() -> u32 {
    6
}
fn default_backoff() -> Span {
    span("500ms")
}
fn default_rules_dir() -> PathBuf {
    "queries".into()
}
fn default_target() -> String {
    "logs-eshunt.alerts-default".into()
}
fn default_bulk() -> usize {
    500
}
fn default_dead_letter() -> PathBuf {
    "eshunt-dead-letter.ndjson".into()
}
fn default_page() -> usize {
    1000
}
fn default_keep_alive() -> Span {
    span("2m")
}
fn default_search_timeout() -> Span {
    span("30s")
}
fn default_state_index() -> String {
    "eshunt-state".into()
}
fn default_settle() -> Span {
    span("30s")
}
fn default_max_window() -> Span {
    span("1h")
}
fn default_max_catch_up() -> Span {
    span("7d")
}
fn default_lease() -> Span {
    span("60s")
}
fn default_concurrent_searches() -> usize {
    2
}
fn default_grace() -> Span {
    span("20s")
}

macro_rules! defaults_from_empty_table {
    ($($t:ty),*) => {$(
        impl Default for $t {
            fn default() -> Self {
                toml::from_str("").expect("every field has a default")
            }
        }
    )*};
}
defaults_from_empty_table!(
    EsConfig,
    RulesConfig,
    AlertsConfig,
    HuntConfig,
    ScheduleConfig
);

/// A secret (password or API key): never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret's value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials.
    None,
    /// User name and password.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
    /// An API key: `id:key`, or already base64-encoded.
    ApiKey(Secret),
}

/// The environment, as far as the configuration reads it (a seam for tests).
pub trait Env {
    /// The value of a variable, if set and not empty.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// A configuration problem, naming the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    /// The config file (with `:line:col` when known), or the variable, at fault.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl Config {
    /// Reads and validates a config file; relative paths in it are resolved against its folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let error = |message: String| ConfigError {
            file: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
        let mut config: Config = toml::from_str(&text).map_err(|e| {
            let mut err = error(e.message().trim().to_string());
            if let Some(span) = e.span() {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                err.file = format!("{}:{line}:{col}", err.file);
            }
            err
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        config.validate().map_err(error)?;
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut self.rules.dir);
        for p in [
            &mut self.elasticsearch.password_file,
            &mut self.elasticsearch.api_key_file,
            &mut self.elasticsearch.ca_file,
        ]
        .into_iter()
        .flatten()
        {
            resolve(p);
        }
    }

    fn validate(&self) -> Result<(), String> {
        let es = &self.elasticsearch;
        if es.urls.is_empty() && es.cloud_id.is_none() {
            return Err("[elasticsearch] needs `urls` or `cloud_id`".into());
        }
        for url in &es.urls {
            check_url(url)?;
        }
        if es.password_env.is_some() && es.password_file.is_some() {
            return Err("[elasticsearch] give `password_env` or `password_file`, not both".into());
        }
        if es.api_key_env.is_some() && es.api_key_file.is_some() {
            return Err("[elasticsearch] give `api_key_env` or `api_key_file`, not both".into());
        }
        if es.max_concurrent_requests == 0 || self.schedule.max_concurrent_searches == 0 {
            return Err("concurrency limits must be at least 1".into());
        }
        if self.hunt.page_size == 0 || self.hunt.page_size > 10_000 {
            return Err("[hunt] page_size must be between 1 and 10000".into());
        }
        if self.alerts.bulk_size == 0 || self.alerts.bulk_size > 10_000 {
            // Each batch is also looked up with one search, and a search returns 10,000 at most.
            return Err("[alerts] bulk_size must be between 1 and 10000".into());
        }
        if crate::data_stream::is_data_stream(&self.schedule.state_index) {
            return Err(format!(
                "[schedule] state_index `{}` is named like a data stream (type-dataset-namespace): the cluster's built-in templates would refuse it as an index; name it e.g. `eshunt-state`",
                self.schedule.state_index
            ));
        }
        if self.alerts.target.is_empty() {
            return Err("[alerts] target is empty".into());
        }
        Ok(())
    }

    /// Applies `ESHUNT_ES_URL` (comma-separated) and `ESHUNT_ES_USERNAME`, and checks the URLs
    /// again. (`ESHUNT_ES_PASSWORD` and `ESHUNT_ES_API_KEY` are read by [`Config::auth`].)
    pub fn apply_env(&mut self, env: &dyn Env) -> Result<(), ConfigError> {
        if let Some(urls) = env.var("ESHUNT_ES_URL") {
            self.elasticsearch.urls = urls.split(',').map(|u| u.trim().to_string()).collect();
            self.elasticsearch.cloud_id = None;
        }
        if let Some(user) = env.var("ESHUNT_ES_USERNAME") {
            self.elasticsearch.username = Some(user);
        }
        for url in &self.elasticsearch.urls {
            check_url(url).map_err(|message| ConfigError {
                file: "$ESHUNT_ES_URL".into(),
                message,
            })?;
        }
        Ok(())
    }

    /// The credentials to use: the `ESHUNT_ES_API_KEY` / `ESHUNT_ES_PASSWORD` variables win over
    /// the configured variables and files; an API key wins over a password.
    pub fn auth(&self, env: &dyn Env) -> Result<Auth, ConfigError> {
        let es = &self.elasticsearch;
        let api_key = match env.var("ESHUNT_ES_API_KEY") {
            Some(k) => Some(k),
            None => read_secret(es.api_key_env.as_deref(), es.api_key_file.as_deref(), env)?,
        };
        if let Some(key) = api_key {
            return Ok(Auth::ApiKey(Secret(key)));
        }
        let password = match env.var("ESHUNT_ES_PASSWORD") {
            Some(p) => Some(p),
            None => read_secret(es.password_env.as_deref(), es.password_file.as_deref(), env)?,
        };
        match (&es.username, password) {
            (Some(username), Some(password)) => Ok(Auth::Basic {
                username: username.clone(),
                password: Secret(password),
            }),
            (Some(username), None) => Err(ConfigError {
                file: "[elasticsearch]".into(),
                message: format!(
                    "user `{username}` has no password: set ESHUNT_ES_PASSWORD, `password_env` or `password_file`"
                ),
            }),
            (None, _) => Ok(Auth::None),
        }
    }
}

/// A node URL: `http(s)://host[:port][/path]`, without credentials (they belong in the
/// environment or a file, never in the config).
fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let rest_or_all = rest.unwrap_or(url);
    let authority = rest_or_all.split('/').next().unwrap_or("");
    // Checked first, so no error below echoes a password — also one holding a `/`.
    let before_query = rest_or_all.split(['?', '#']).next().unwrap_or("");
    if before_query.contains('@') {
        return Err("[elasticsearch] a url holds credentials (user:password@): give them with ESHUNT_ES_USERNAME/ESHUNT_ES_PASSWORD or the config's *_env/*_file settings".into());
    }
    if rest.is_none() {
        return Err(format!(
            "[elasticsearch] url `{url}` must start with http:// or https://"
        ));
    }
    if authority.is_empty() {
        return Err(format!("[elasticsearch] url `{url}` has no host"));
    }
    Ok(())
}

fn read_secret(
    var: Option<&str>,
    file: Option<&Path>,
    env: &dyn Env,
) -> Result<Option<String>, ConfigError> {
    if let Some(name) = var {
        return env.var(name).map(Some).ok_or_else(|| ConfigError {
            file: format!("${name}"),
            message: "the environment variable named in the config is not set".into(),
        });
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            message: format!("cannot read the secret file: {e}"),
        })?;
        let secret = text.trim_end_matches(['\n', '\r']).to_string();
        if secret.is_empty() {
            return Err(ConfigError {
                file: path.display().to_string(),
                message: "the secret file is empty".into(),
            });
        }
        return Ok(Some(secret));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct FakeEnv(HashMap<&'static str, &'static str>);
    impl Env for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn defaults_and_relative_paths() {
        let (dir, path) = write("[elasticsearch]\nurls = [\"https://es:9200\"]\n");
        let config = Config::load(&path).unwrap();
        assert!(config.elasticsearch.verify_tls);
        assert_eq!(config.alerts.target, "logs-eshunt.alerts-default");
        assert_eq!(config.rules.dir, dir.path().join("queries"));
        assert_eq!(config.hunt.keep_alive.to_string(), "2m");
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let (_dir, path) = write("[elasticsearch]\nurls = [\"https://es\"]\nverify = false\n");
        let err = Config::load(&path).unwrap_err().to_string();
        let expected = format!("{}:3:1: unknown field `verify`", path.display());
        assert!(err.starts_with(&expected), "{err}");
        let (_dir, path) = write("[hunt]\npage_size = 0\n");
        assert!(Config::load(&path)
            .unwrap_err()
            .message
            .contains("page_size"));
        let (_dir, path) = write("[schedule]\nstate_index = \"logs-eshunt.state-default\"\n");
        assert!(Config::load(&path)
            .unwrap_err()
            .message
            .contains("named like a data stream"));
        let (_dir, path) = write("[alerts]\nbulk_size = 20000\n");
        assert!(Config::load(&path)
            .unwrap_err()
            .message
            .contains("bulk_size"));
        let (_dir, path) = write("[elasticsearch]\nurls = [\"es:9200\"]\n");
        assert!(Config::load(&path).unwrap_err().message.contains("http://"));
        let (_dir, path) =
            write("[elasticsearch]\nurls = [\"https://elastic:changeme@es:9200\"]\n");
        let err = Config::load(&path).unwrap_err().message;
        assert!(
            err.contains("credentials") && !err.contains("changeme"),
            "{err}"
        );
    }

    #[test]
    fn env_overrides_and_secrets() {
        let (_dir, path) = write("[elasticsearch]\nusername = \"svc\"\npassword_env = \"MY_PW\"\n");
        let mut config = Config::load(&path).unwrap();
        let env = FakeEnv(HashMap::from([
            ("MY_PW", "hunter2"),
            ("ESHUNT_ES_URL", "https://a:9200, https://b:9200"),
        ]));
        config.apply_env(&env).unwrap();
        assert_eq!(
            config.elasticsearch.urls,
            vec!["https://a:9200", "https://b:9200"]
        );
        let auth = config.auth(&env).unwrap();
        assert_eq!(
            auth,
            Auth::Basic {
                username: "svc".into(),
                password: Secret("hunter2".into())
            }
        );
        assert!(
            !format!("{auth:?}").contains("hunter2"),
            "secrets must not be printed"
        );
        let env = FakeEnv(HashMap::from([
            ("MY_PW", "x"),
            ("ESHUNT_ES_API_KEY", "id:key"),
        ]));
        assert_eq!(
            config.auth(&env).unwrap(),
            Auth::ApiKey(Secret("id:key".into()))
        );
        let env = FakeEnv(HashMap::new());
        assert!(
            config.auth(&env).is_err(),
            "a named but unset variable is an error"
        );
        for url in ["https://u:pw@a:9200", "u:pw@a:9200", "https://u:p/w@a:9200"] {
            let env = FakeEnv(HashMap::from([("ESHUNT_ES_URL", url)]));
            let err = config.apply_env(&env).unwrap_err().message;
            assert!(err.contains("credentials") && !err.contains("pw@"), "{err}");
        }
    }

    #[test]
    fn the_shipped_config_states_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
        let shipped = Config::load(&path).unwrap();
        let mut defaults = Config::default();
        defaults.resolve_paths(path.parent().unwrap());
        assert_eq!(format!("{shipped:?}"), format!("{defaults:?}"));
    }

    #[test]
    fn secret_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), "abc:def\n").unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[elasticsearch]\napi_key_file = \"key\"\n").unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(
            config.auth(&FakeEnv(HashMap::new())).unwrap(),
            Auth::ApiKey(Secret("abc:def".into()))
        );
    }
}
