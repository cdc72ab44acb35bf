//! The server's configuration, from the environment and an optional `.env` file.
//!
//! Every variable is read through one lookup function, so tests pass a map instead of the
//! process environment. Secrets (agent keys, the admin token, API keys) are kept in
//! [`Secret`] and never printed.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sentinel_core::TelnyxConfig;
use sentinel_core::telnyx::Secret;
use thiserror::Error;

/// Default address the server listens on.
pub const DEFAULT_BIND: &str = "127.0.0.1:8000";
/// Default store: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://sentinel.db";
/// Shortest agent key or admin token accepted.
pub const MIN_SECRET_LEN: usize = 16;

/// One configured agent key: the agent id it may act as, and the key.
#[derive(Clone)]
pub struct AgentKey {
    /// An agent id (`billing-bot`), or a prefix ending in `*` (`session_*`) that covers
    /// every agent id starting with it.
    pub agent: String,
    /// The bearer key.
    pub key: Secret,
}

impl fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentKey")
            .field("agent", &self.agent)
            .finish_non_exhaustive()
    }
}

/// The risk scorer to use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScorerSetup {
    /// The deterministic offline scorer (no network).
    Offline,
    /// The Groq LLM scorer.
    Groq {
        /// `GROQ_API_KEY`.
        api_key: Secret,
        /// `GROQ_BASE_URL`, when set.
        base_url: Option<String>,
        /// `GROQ_MODEL`, when set.
        model: Option<String>,
    },
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// `SENTINEL_BIND`: where to listen (default `127.0.0.1:8000`).
    pub bind: SocketAddr,
    /// `SENTINEL_AGENT_KEYS` (`agent_id=key,...`) and `SENTINEL_AGENT_KEYS_FILE` (one
    /// `agent_id=key` per line).
    pub agent_keys: Vec<AgentKey>,
    /// `SENTINEL_ADMIN_TOKEN`: for `resolve`, `events` and reading every action.
    pub admin_token: Option<Secret>,
    /// `SENTINEL_DATABASE_URL`: `sqlite://file`, `postgres://...` or `memory`.
    pub database_url: String,
    /// `SENTINEL_PACKS`: a directory of pack files (`*.json`); `None`: the seed packs.
    pub packs_dir: Option<PathBuf>,
    /// `SENTINEL_ESCALATION_TIMEOUT_S`: how long a human may take (default 180 s).
    pub escalation_timeout: Duration,
    /// `SENTINEL_REQUEST_TIMEOUT_S`: longest an ordinary request may take (default 10 s;
    /// long-polls and the event stream have their own limits).
    pub request_timeout: Duration,
    /// `SENTINEL_MAX_WAIT_S`: longest long-poll (default 120 s).
    pub max_wait: Duration,
    /// `SENTINEL_MAX_BODY_BYTES`: largest request body (default 65536).
    pub max_body_bytes: usize,
    /// `SENTINEL_PUBLIC_URL`: the base URL Telnyx calls back (webhooks go to
    /// `{url}/api/telnyx/webhook`).
    pub public_url: Option<String>,
    /// `GROQ_*`: the scorer.
    pub scorer: ScorerSetup,
    /// `TELNYX_*`, `ADMIN_PHONE_NUMBER`: the voice approver; `None`: off.
    pub telnyx: Option<TelnyxConfig>,
    /// `SENTINEL_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
}

/// The configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A variable has a value the server cannot use. Never quotes a secret.
    #[error("environment variable `{var}` is invalid: {message}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The Telnyx variables are incomplete or wrong.
    #[error("telnyx voice approver: {0}")]
    Telnyx(String),
}

impl Config {
    /// Defaults for everything: no keys, no admin token, seed packs, offline scorer, no
    /// voice approver, the SQLite file `sentinel.db` in the working directory.
    pub fn new() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            agent_keys: Vec::new(),
            admin_token: None,
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            packs_dir: None,
            escalation_timeout: Duration::from_secs(180),
            request_timeout: Duration::from_secs(10),
            max_wait: Duration::from_secs(120),
            max_body_bytes: 64 * 1024,
            public_url: None,
            scorer: ScorerSetup::Offline,
            telnyx: None,
            log_format: LogFormat::Text,
        }
    }

    /// Reads `.env` (when present; variables already set win) and the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing `.env` is normal; a broken one is worth saying.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => {
                return Err(ConfigError::Invalid {
                    var: "SENTINEL_*",
                    message: format!("cannot read `.env`: {e}"),
                });
            }
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads every variable through `lookup` (unset and empty are alike).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &str| {
            lookup(var)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut c = Self::new();
        if let Some(bind) = get("SENTINEL_BIND") {
            c.bind = bind.parse().map_err(|_| {
                invalid(
                    "SENTINEL_BIND",
                    format!("`{bind}` is not an address like `127.0.0.1:8000`"),
                )
            })?;
        }
        if let Some(keys) = get("SENTINEL_AGENT_KEYS") {
            c.agent_keys
                .extend(parse_keys("SENTINEL_AGENT_KEYS", keys.split(','))?);
        }
        if let Some(path) = get("SENTINEL_AGENT_KEYS_FILE") {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                invalid(
                    "SENTINEL_AGENT_KEYS_FILE",
                    format!("cannot read `{path}`: {e}"),
                )
            })?;
            let lines = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'));
            c.agent_keys
                .extend(parse_keys("SENTINEL_AGENT_KEYS_FILE", lines)?);
        }
        if let Some(token) = get("SENTINEL_ADMIN_TOKEN") {
            if token.len() < MIN_SECRET_LEN {
                return Err(invalid(
                    "SENTINEL_ADMIN_TOKEN",
                    format!("must be at least {MIN_SECRET_LEN} characters"),
                ));
            }
            c.admin_token = Some(Secret::new(token));
        }
        check_unique(&c)?;
        if let Some(url) = get("SENTINEL_DATABASE_URL") {
            c.database_url = url;
        }
        c.packs_dir = get("SENTINEL_PACKS").map(PathBuf::from);
        if let Some(v) = get("SENTINEL_ESCALATION_TIMEOUT_S") {
            c.escalation_timeout =
                Duration::from_secs(number("SENTINEL_ESCALATION_TIMEOUT_S", &v, 1, 86_400)?);
        }
        if let Some(v) = get("SENTINEL_REQUEST_TIMEOUT_S") {
            c.request_timeout =
                Duration::from_secs(number("SENTINEL_REQUEST_TIMEOUT_S", &v, 1, 600)?);
        }
        if let Some(v) = get("SENTINEL_MAX_WAIT_S") {
            c.max_wait = Duration::from_secs(number("SENTINEL_MAX_WAIT_S", &v, 1, 3600)?);
        }
        if let Some(v) = get("SENTINEL_MAX_BODY_BYTES") {
            c.max_body_bytes =
                usize::try_from(number("SENTINEL_MAX_BODY_BYTES", &v, 256, 16 << 20)?)
                    .unwrap_or(64 * 1024);
        }
        if let Some(url) = get("SENTINEL_PUBLIC_URL") {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(invalid(
                    "SENTINEL_PUBLIC_URL",
                    format!("`{url}` is not an http(s) URL"),
                ));
            }
            c.public_url = Some(url.trim_end_matches('/').to_owned());
        }
        if let Some(api_key) = get("GROQ_API_KEY") {
            c.scorer = ScorerSetup::Groq {
                api_key: Secret::new(api_key),
                base_url: get("GROQ_BASE_URL"),
                model: get("GROQ_MODEL"),
            };
        }
        let telnyx_vars = [
            "TELNYX_API_KEY",
            "TELNYX_CONNECTION_ID",
            "TELNYX_PHONE_NUMBER",
            "ADMIN_PHONE_NUMBER",
            "TELNYX_PUBLIC_KEY",
        ];
        if telnyx_vars.iter().any(|v| get(v).is_some()) {
            let config = TelnyxConfig::from_lookup(&lookup)
                .map_err(|e| ConfigError::Telnyx(e.to_string()))?;
            c.telnyx = Some(config);
        }
        if let Some(format) = get("SENTINEL_LOG_FORMAT") {
            c.log_format = match format.to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(invalid(
                        "SENTINEL_LOG_FORMAT",
                        format!("`{format}` is neither `text` nor `json`"),
                    ));
                }
            };
        }
        Ok(c)
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

    /// Where the database is, with any password removed, for printing.
    pub fn database_display(&self) -> String {
        let url = &self.database_url;
        match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}://***@{}", &url[..scheme], &url[at + 1..])
            }
            _ => url.clone(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

fn invalid(var: &'static str, message: String) -> ConfigError {
    ConfigError::Invalid { var, message }
}

fn number(var: &'static str, value: &str, min: u64, max: u64) -> Result<u64, ConfigError> {
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(invalid(
            var,
            format!("`{value}` is not a whole number from {min} to {max}"),
        )),
    }
}

/// Parses `agent_id=key` entries. Error messages name the agent, never the key.
fn parse_keys<'a>(
    var: &'static str,
    entries: impl Iterator<Item = &'a str>,
) -> Result<Vec<AgentKey>, ConfigError> {
    let mut keys = Vec::new();
    for (i, entry) in entries.map(str::trim).filter(|e| !e.is_empty()).enumerate() {
        let Some((agent, key)) = entry.split_once('=') else {
            return Err(invalid(
                var,
                format!("entry {} is not `agent_id=key`", i + 1),
            ));
        };
        let (agent, key) = (agent.trim(), key.trim());
        let valid_agent = !agent.is_empty()
            && agent != "*"
            && agent
                .trim_end_matches('*')
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.:@".contains(c))
            && agent.matches('*').count() <= 1;
        if !valid_agent {
            return Err(invalid(
                var,
                format!(
                    "agent id `{agent}` must be letters, digits and `_-.:@`, optionally ending in `*`"
                ),
            ));
        }
        if key.len() < MIN_SECRET_LEN {
            return Err(invalid(
                var,
                format!("the key of agent `{agent}` must be at least {MIN_SECRET_LEN} characters"),
            ));
        }
        keys.push(AgentKey {
            agent: agent.to_owned(),
            key: Secret::new(key),
        });
    }
    Ok(keys)
}

/// A token must name one principal: no key is shared by two agents or by the admin.
fn check_unique(c: &Config) -> Result<(), ConfigError> {
    for (i, a) in c.agent_keys.iter().enumerate() {
        if c.agent_keys[..i].iter().any(|b| b.key == a.key) {
            return Err(invalid(
                "SENTINEL_AGENT_KEYS",
                format!("agent `{}` shares its key with another agent", a.agent),
            ));
        }
        if c.admin_token.as_ref() == Some(&a.key) {
            return Err(invalid(
                "SENTINEL_ADMIN_TOKEN",
                format!("must differ from the key of agent `{}`", a.agent),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_without_variables() {
        let c = load(&[]).unwrap();
        assert_eq!(c.bind.to_string(), DEFAULT_BIND);
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.scorer, ScorerSetup::Offline);
        assert!(c.telnyx.is_none() && c.admin_token.is_none() && c.agent_keys.is_empty());
    }

    #[test]
    fn reads_keys_and_refuses_weak_or_shared_ones_without_quoting_them() {
        let c = load(&[(
            "SENTINEL_AGENT_KEYS",
            "billing-bot=k-billing-0123456789, session_*=k-session-0123456789",
        )])
        .unwrap();
        assert_eq!(
            c.agent_keys
                .iter()
                .map(|k| k.agent.as_str())
                .collect::<Vec<_>>(),
            ["billing-bot", "session_*"]
        );
        let err = load(&[("SENTINEL_AGENT_KEYS", "bot=short")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("agent `bot`") && !err.contains("short"),
            "{err}"
        );
        let err = load(&[(
            "SENTINEL_AGENT_KEYS",
            "a=same-key-0123456789,b=same-key-0123456789",
        )])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("shares its key") && !err.contains("same-key"),
            "{err}"
        );
        assert!(load(&[("SENTINEL_AGENT_KEYS", "*=k-everyone-0123456789")]).is_err());
        assert!(
            format!("{c:?}").contains("billing-bot") && !format!("{c:?}").contains("k-billing")
        );
    }

    #[test]
    fn rejects_bad_values_and_partial_telnyx_settings() {
        for (var, value) in [
            ("SENTINEL_BIND", "localhost"),
            ("SENTINEL_ESCALATION_TIMEOUT_S", "0"),
            ("SENTINEL_PUBLIC_URL", "example.com"),
            ("SENTINEL_LOG_FORMAT", "xml"),
        ] {
            let err = load(&[(var, value)]).unwrap_err();
            assert!(err.to_string().contains(var), "{err}");
        }
        let err = load(&[("TELNYX_API_KEY", "KEY-secret-value")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("telnyx voice approver: ") && !err.contains("secret-value"),
            "{err}"
        );
    }

    #[test]
    fn hides_database_passwords() {
        let c = load(&[(
            "SENTINEL_DATABASE_URL",
            "postgres://sentinel:hunter2@db:5432/sentinel",
        )])
        .unwrap();
        assert_eq!(c.database_display(), "postgres://***@db:5432/sentinel");
    }
}
