//! The server's configuration, on one path: a [`GatewaySpec`] (the file `SENTINEL_CONFIG`
//! names, TOML or JSON, or the defaults), edited by the `SENTINEL_*` variables that
//! override it ([`overrides::OVERRIDES`], one table: variable → key), then by the legacy
//! activations (`GROQ_API_KEY`, `TELNYX_*`), and built by the core
//! ([`GatewaySpec::components`]). The `[server]` section is resolved here.
//!
//! Every variable is read through an [`Env`], so tests pass a map instead of the process
//! environment. Secrets (agent keys, the admin token, API keys) are only ever named by the
//! spec (`*_env`, `*_file`), kept in [`Secret`] and never printed.

mod operators;
pub mod overrides;
mod secrets;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sentinel_core::spec::{
    ApproverKind, ApproverSpec, Components, Env, GatewaySpec, Seconds, StoreSpec, TelnyxSpec,
};
pub use sentinel_core::spec::{ConfigError, LogFormatSpec as LogFormat};
use sentinel_core::telnyx::Secret;

pub use operators::{OPERATORS_VAR, Operator};
pub use overrides::Applied;
pub use secrets::AgentKey;

/// The variable naming the configuration file.
pub const CONFIG_VAR: &str = "SENTINEL_CONFIG";
/// Default address the server listens on.
pub const DEFAULT_BIND: &str = "127.0.0.1:8000";
/// The server's default store when neither the file nor `SENTINEL_DATABASE_URL` names one:
/// a SQLite file in the working directory (the core's default is `memory`; a server
/// should keep what it decided).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://sentinel.db";
/// Shortest agent key or admin token accepted.
pub const MIN_SECRET_LEN: usize = 16;

const DEFAULT_REQUEST_TIMEOUT_S: f64 = 10.0;
const MAX_REQUEST_TIMEOUT_S: f64 = 600.0;
const DEFAULT_MAX_WAIT_S: f64 = 120.0;
const MAX_MAX_WAIT_S: f64 = 3600.0;
const DEFAULT_MAX_BODY_BYTES: u64 = 64 * 1024;
const BODY_LIMITS: (u64, u64) = (256, 16 << 20);
const DEFAULT_ESCALATION_TIMEOUT: Duration = Duration::from_secs(180);
const DEFAULT_HEADER_TIMEOUT_S: f64 = 5.0;
const DEFAULT_BODY_TIMEOUT_S: f64 = 5.0;
const MAX_CLIENT_TIMEOUT_S: f64 = 300.0;
const DEFAULT_MAX_CONNECTIONS: u32 = 1024;
const CONNECTION_LIMITS: (u32, u32) = (1, 1 << 20);
const DEFAULT_SESSION_TTL_S: f64 = 8.0 * 3600.0;
const MAX_SESSION_TTL_S: f64 = 7.0 * 24.0 * 3600.0;

/// Where the configuration came from, for the start-up banner. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Origin {
    /// The file `SENTINEL_CONFIG` named, if any.
    pub file: Option<PathBuf>,
    /// What the configuration is when there is no file (`built-in defaults`, the demo's).
    pub name: String,
    /// The variables that overrode the file, in table order, with the key each one set.
    pub overrides: Vec<Applied>,
    /// The legacy activations: `GROQ_API_KEY` → `scorer`, `TELNYX_*` → `approver`.
    pub activated: Vec<Applied>,
}

impl Origin {
    /// A configuration made in code, called `name` in the banner.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            file: None,
            name: name.into(),
            overrides: Vec::new(),
            activated: Vec::new(),
        }
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The gateway's configuration: packs, store, scorer, approver and `[gateway]`, with
    /// the overrides applied. Its `[server]` section is resolved into the fields below.
    pub spec: GatewaySpec,
    /// Where the secrets the spec names and the core's fallback variables (`GROQ_*`,
    /// `TELNYX_*`) are read: the process environment for [`from_env`](Self::from_env),
    /// nothing at all for [`new`](Self::new).
    pub env: Env,
    /// `server.bind` / `SENTINEL_BIND`: where to listen (default `127.0.0.1:8000`).
    pub bind: SocketAddr,
    /// `server.agent_keys_env` (default `SENTINEL_AGENT_KEYS`: `agent_id=key,...`) and
    /// `server.agent_keys_file` / `SENTINEL_AGENT_KEYS_FILE` (one `agent_id=key` a line).
    pub agent_keys: Vec<AgentKey>,
    /// `server.admin_token_env` (default `SENTINEL_ADMIN_TOKEN`) or
    /// `server.admin_token_file`: for `resolve`, `events` and reading every action.
    pub admin_token: Option<Secret>,
    /// `server.request_timeout_s` / `SENTINEL_REQUEST_TIMEOUT_S`: longest an ordinary
    /// request may take (default 10 s; long-polls and the event stream have their own).
    pub request_timeout: Duration,
    /// `server.max_wait_s` / `SENTINEL_MAX_WAIT_S`: longest long-poll (default 120 s).
    pub max_wait: Duration,
    /// `server.max_body_bytes` / `SENTINEL_MAX_BODY_BYTES`: largest body (default 65536).
    pub max_body_bytes: usize,
    /// `server.header_timeout_s` / `SENTINEL_HEADER_TIMEOUT_S`: longest a client may take
    /// to send a request's headers, idle keep-alive time included (default 5 s); the
    /// connection is then closed.
    pub header_timeout: Duration,
    /// `server.body_timeout_s` / `SENTINEL_BODY_TIMEOUT_S`: longest a client may take to
    /// send a request's body (default 5 s); then 408 and the connection is closed.
    pub body_timeout: Duration,
    /// `server.max_connections` / `SENTINEL_MAX_CONNECTIONS`: most connections served at
    /// once (default 1024); a connection beyond it is answered 503 and closed.
    pub max_connections: usize,
    /// `server.public_url` / `SENTINEL_PUBLIC_URL`: the base URL Telnyx calls back
    /// (webhooks go to `{url}/api/telnyx/webhook`), unless `approver.telnyx.public_url`
    /// names another.
    pub public_url: Option<String>,
    /// `server.log_format` / `SENTINEL_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `[[operators]]` and `SENTINEL_OPERATORS` (`name=token,...`): who may sign in to the
    /// console at `/console`.
    pub operators: Vec<Operator>,
    /// `server.cors_origins` / `SENTINEL_CORS_ORIGINS` (comma-separated): origins whose
    /// pages may call the API from a browser (with a bearer key; never with the console's
    /// cookie). None by default.
    pub cors_origins: Vec<String>,
    /// `server.session_ttl_s` / `SENTINEL_SESSION_TTL_S`: how long a console sign-in
    /// lasts (default 8 hours, at most a week).
    pub session_ttl: Duration,
    /// Demo mode: the console offers the demo's module triggers.
    pub demo: bool,
    /// Where all this came from.
    pub origin: Origin,
}

impl Config {
    /// Defaults for everything: no keys, no admin token, the seed packs, the offline
    /// scorer, no approver, the SQLite file `sentinel.db` in the working directory. Reads
    /// no environment variable.
    pub fn new() -> Self {
        Self::from_parts(GatewaySpec::default(), Env::from_map(Default::default()))
            .unwrap_or_else(|_| Self::fallback())
    }

    /// The defaults without checking anything (they cannot fail; this keeps `new` total).
    fn fallback() -> Self {
        Self {
            spec: GatewaySpec::default(),
            env: Env::from_map(Default::default()),
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            agent_keys: Vec::new(),
            admin_token: None,
            request_timeout: Duration::from_secs_f64(DEFAULT_REQUEST_TIMEOUT_S),
            max_wait: Duration::from_secs_f64(DEFAULT_MAX_WAIT_S),
            max_body_bytes: 64 * 1024,
            header_timeout: Duration::from_secs_f64(DEFAULT_HEADER_TIMEOUT_S),
            body_timeout: Duration::from_secs_f64(DEFAULT_BODY_TIMEOUT_S),
            max_connections: DEFAULT_MAX_CONNECTIONS as usize,
            public_url: None,
            log_format: LogFormat::Text,
            operators: Vec::new(),
            cors_origins: Vec::new(),
            session_ttl: Duration::from_secs_f64(DEFAULT_SESSION_TTL_S),
            demo: false,
            origin: Origin::named("built-in defaults"),
        }
    }

    /// Reads `.env` (when present; variables already set win), then the file
    /// `SENTINEL_CONFIG` names and the overriding variables of the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing `.env` is normal; a broken one is worth saying.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => {
                return Err(ConfigError::at("", format!("cannot read `.env`: {e}")));
            }
        }
        Self::from_lookup(Env::process())
    }

    /// Reads the file `SENTINEL_CONFIG` names (or starts from the defaults), applies the
    /// overriding variables and the legacy activations, and resolves `[server]`, every
    /// variable read through `env` (unset and empty are alike).
    pub fn from_lookup(env: Env) -> Result<Self, ConfigError> {
        let (mut spec, file) = match env.var(CONFIG_VAR) {
            Some(path) => (GatewaySpec::from_file(&path)?, Some(PathBuf::from(path))),
            None => (GatewaySpec::default(), None),
        };
        let applied = overrides::apply(&mut spec, &env)?;
        let activated = overrides::activate(&mut spec, &env);
        let origin = Origin {
            file,
            name: format!("built-in defaults ({CONFIG_VAR} not set)"),
            overrides: applied,
            activated,
        };
        let mut config = Self::from_parts(spec, env).map_err(|e| origin.explain(e))?;
        config.origin = origin;
        Ok(config)
    }

    /// A configuration from a spec made in code (the demo's embedded one): resolves its
    /// `[server]` section, reading the secrets it names through `env`. No override applies.
    pub fn from_spec(
        spec: GatewaySpec,
        env: Env,
        name: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        let mut config = Self::from_parts(spec, env)?;
        config.origin = Origin::named(name);
        Ok(config)
    }

    fn from_parts(spec: GatewaySpec, env: Env) -> Result<Self, ConfigError> {
        let server = &spec.server;
        let at = |key: &str, message: String| ConfigError::at(key, message).in_file(spec.file());
        let bind = match server.bind.as_deref().map(str::trim) {
            None => SocketAddr::from(([127, 0, 0, 1], 8000)),
            Some(text) => text.parse().map_err(|_| {
                at(
                    "server.bind",
                    format!("`{text}` is not an address like `{DEFAULT_BIND}`"),
                )
            })?,
        };
        let public_url = match server.public_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                Some(url.trim_end_matches('/').to_owned())
            }
            Some(url) => {
                return Err(at(
                    "server.public_url",
                    format!("`{url}` is not an http(s) URL"),
                ));
            }
        };
        let seconds = |key: &str, given: Option<Seconds>, default: f64, max: f64| {
            let s = given.map_or(default, Seconds::get);
            if s > max {
                return Err(at(
                    key,
                    format!("must be at most {max} seconds, found `{s}`"),
                ));
            }
            Ok(Duration::from_secs_f64(s))
        };
        let request_timeout = seconds(
            "server.request_timeout_s",
            server.request_timeout_s,
            DEFAULT_REQUEST_TIMEOUT_S,
            MAX_REQUEST_TIMEOUT_S,
        )?;
        let max_wait = seconds(
            "server.max_wait_s",
            server.max_wait_s,
            DEFAULT_MAX_WAIT_S,
            MAX_MAX_WAIT_S,
        )?;
        let header_timeout = seconds(
            "server.header_timeout_s",
            server.header_timeout_s,
            DEFAULT_HEADER_TIMEOUT_S,
            MAX_CLIENT_TIMEOUT_S,
        )?;
        let body_timeout = seconds(
            "server.body_timeout_s",
            server.body_timeout_s,
            DEFAULT_BODY_TIMEOUT_S,
            MAX_CLIENT_TIMEOUT_S,
        )?;
        let connections = server.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        let (fewest, most) = CONNECTION_LIMITS;
        if !(fewest..=most).contains(&connections) {
            return Err(at(
                "server.max_connections",
                format!("must be from {fewest} to {most}, found `{connections}`"),
            ));
        }
        let body = server.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
        let (least, most) = BODY_LIMITS;
        if !(least..=most).contains(&body) {
            return Err(at(
                "server.max_body_bytes",
                format!("must be from {least} to {most} bytes, found `{body}`"),
            ));
        }
        let max_body_bytes = usize::try_from(body).unwrap_or(64 * 1024);
        let admin_token = secrets::admin_token(&spec, &env)?;
        let agent_keys = secrets::agent_keys(&spec, &env)?;
        let operators = operators::operators(&spec, &env)?;
        secrets::check_unique(&agent_keys, admin_token.as_ref(), &operators)?;
        let cors_origins = operators::cors_origins(&spec)?;
        let session_ttl = seconds(
            "server.session_ttl_s",
            server.session_ttl_s,
            DEFAULT_SESSION_TTL_S,
            MAX_SESSION_TTL_S,
        )?;
        Ok(Self {
            bind,
            agent_keys,
            admin_token,
            request_timeout,
            max_wait,
            max_body_bytes,
            header_timeout,
            body_timeout,
            max_connections: usize::try_from(connections).unwrap_or(1024),
            public_url,
            log_format: server.log_format.unwrap_or(LogFormat::Text),
            operators,
            cors_origins,
            session_ttl,
            demo: false,
            origin: Origin::named("built-in defaults"),
            spec,
            env,
        })
    }

    /// Adds an agent key (used by the demo and tests).
    #[must_use]
    pub fn with_agent_key(mut self, agent: impl Into<String>, key: impl Into<String>) -> Self {
        self.agent_keys.push(AgentKey {
            agent: agent.into(),
            key: Secret::new(key),
        });
        self
    }

    /// Sets the admin token (used by the demo and tests).
    #[must_use]
    pub fn with_admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(Secret::new(token));
        self
    }

    /// Adds a console operator with role `approver` (used by the demo and tests).
    #[must_use]
    pub fn with_operator(mut self, name: impl Into<String>, token: impl Into<String>) -> Self {
        self.operators.push(Operator {
            name: name.into(),
            token: Secret::new(token),
            role: sentinel_core::spec::OperatorRole::Approver,
        });
        self
    }

    /// Sets `store.url` (`memory`, `sqlite://<file>`, `postgres://...`).
    #[must_use]
    pub fn with_store(mut self, url: impl Into<String>) -> Self {
        self.spec.store = StoreSpec {
            url: Some(url.into()),
            ..StoreSpec::default()
        };
        self
    }

    /// Sets `gateway.escalation_timeout_s` (ignored unless positive and at most a year).
    #[must_use]
    pub fn with_escalation_timeout(mut self, timeout: Duration) -> Self {
        if let Some(s) = Seconds::new(timeout.as_secs_f64()) {
            self.spec.gateway.escalation_timeout_s = Some(s);
        }
        self
    }

    /// Turns the Telnyx voice approver on with these settings (`[approver.telnyx]`).
    #[must_use]
    pub fn with_telnyx(mut self, telnyx: TelnyxSpec) -> Self {
        self.spec.approver = ApproverSpec {
            kind: ApproverKind::Telnyx,
            telnyx: Some(telnyx),
        };
        self
    }

    /// `gateway.escalation_timeout_s`: how long a human may take (default 180 s).
    pub fn escalation_timeout(&self) -> Duration {
        self.spec
            .gateway
            .escalation_timeout_s
            .map_or(DEFAULT_ESCALATION_TIMEOUT, Seconds::duration)
    }

    /// The spec as the server builds it: the server's default store when none is named,
    /// and the webhook base URL of the voice approver from `public_url` when its own
    /// section names none.
    pub fn effective_spec(&self) -> Result<GatewaySpec, ConfigError> {
        let mut spec = self.spec.clone();
        let store = &spec.store;
        if store.url.is_none() && store.url_env.is_none() && store.url_file.is_none() {
            spec.store.url = Some(default_store(&spec)?);
        }
        if spec.approver.kind == ApproverKind::Telnyx {
            let telnyx = spec.approver.telnyx.get_or_insert_with(TelnyxSpec::default);
            if telnyx.public_url.is_none() {
                telnyx.public_url.clone_from(&self.public_url);
            }
        }
        Ok(spec)
    }

    /// Builds and checks the gateway's parts through the core: packs, scorer, approver,
    /// settings and where the store is (not opened yet). An error names the file, line and
    /// key, or the variable the value came from.
    pub fn components(&self) -> Result<Components, ConfigError> {
        self.effective_spec()?
            .components(&self.env)
            .map_err(|e| self.origin.explain(e))
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

/// [`DEFAULT_DATABASE_URL`], in the working directory even when relative paths of the spec
/// are relative to its file.
fn default_store(spec: &GatewaySpec) -> Result<String, ConfigError> {
    if spec.file().is_none() {
        return Ok(DEFAULT_DATABASE_URL.to_owned());
    }
    let path = overrides::from_cwd(spec, Path::new("sentinel.db"))
        .map_err(|message| ConfigError::at("store.url", message))?;
    Ok(format!("sqlite://{}", path.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
