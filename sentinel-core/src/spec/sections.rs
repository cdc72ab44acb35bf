//! The `[gateway]`, `[[packs]]`, `[store]` and `[server]` sections.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::ConfigError;
use super::env::{Env, SecretKeys, SecretValue, resolve};
use super::units::Seconds;
use crate::pack::Pack;
use crate::pipeline::{OnScorerError, Unmatched};

/// `[gateway]`: how decisions are made and how long a human may take.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewaySection {
    /// Actions no pack covers: `escalate` (ask a human, the default), `deny`, or `score`
    /// (the scorer decides, auto-approving up to 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmatched: Option<UnmatchedSpec>,
    /// When the risk scorer fails: `escalate` (the default) or `deny`. Never approves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_scorer_error: Option<OnScorerErrorSpec>,
    /// How long an escalated action waits for a human before it expires. Default 180.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_timeout_s: Option<Seconds>,
    /// How long an action may stay `ANALYZING` before recovery decides it again (its
    /// process died); the scorer gets three quarters of it. Default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_timeout_s: Option<Seconds>,
}

/// `gateway.unmatched`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnmatchedSpec {
    /// Ask a human.
    Escalate,
    /// Decline.
    Deny,
    /// Let the scorer decide.
    Score,
}

impl From<UnmatchedSpec> for Unmatched {
    fn from(u: UnmatchedSpec) -> Self {
        match u {
            UnmatchedSpec::Escalate => Unmatched::Escalate,
            UnmatchedSpec::Deny => Unmatched::Deny,
            UnmatchedSpec::Score => Unmatched::Score,
        }
    }
}

/// `gateway.on_scorer_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnScorerErrorSpec {
    /// Ask a human.
    Escalate,
    /// Decline.
    Deny,
}

impl From<OnScorerErrorSpec> for OnScorerError {
    fn from(o: OnScorerErrorSpec) -> Self {
        match o {
            OnScorerErrorSpec::Escalate => OnScorerError::Escalate,
            OnScorerErrorSpec::Deny => OnScorerError::Deny,
        }
    }
}

/// One `[[packs]]` entry: where a pack comes from.
///
/// In a file, a table with exactly one key: `builtin = "VaultKeeper"`, `path =
/// "packs/mine.json"` or `dir = "packs/"` (every `*.json` in it, in name order; relative
/// paths are relative to the configuration file), or `inline = { ...pack document... }`.
/// A plain string is a built-in pack's name when one has that name, else a path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PackSource {
    /// A built-in pack: `VaultKeeper`, `PrivacyShield` or `OpsGuard`.
    Builtin(String),
    /// A pack file (JSON).
    Path(PathBuf),
    /// Every `*.json` file in a folder, in name order.
    Dir(PathBuf),
    /// A pack document given in place.
    Inline(Value),
}

impl PackSource {
    /// Loads the pack(s); `key` is this entry's key path, for errors.
    pub(crate) fn load(&self, base: Option<&Path>, key: &str) -> Result<Vec<Pack>, ConfigError> {
        let pack_error = |e: crate::error::PackError| {
            ConfigError::at(key, e.to_string()).with_code(crate::code::ErrorCode::InvalidPack)
        };
        match self {
            Self::Builtin(name) => Ok(vec![Pack::builtin(name).map_err(pack_error)?]),
            Self::Path(path) => {
                let file = resolve(base, path);
                // A bare word that is neither a built-in nor a file: most likely a misspelt
                // built-in name.
                let bare = path.components().count() == 1 && path.extension().is_none();
                if bare && !file.exists() {
                    return Err(ConfigError::at(
                        key,
                        format!(
                            "no built-in pack or pack file named `{}`; built-in packs are `VaultKeeper`, `PrivacyShield`, `OpsGuard`",
                            path.display()
                        ),
                    )
                    .with_code(crate::code::ErrorCode::InvalidPack));
                }
                Ok(vec![Pack::from_file(file).map_err(pack_error)?])
            }
            Self::Inline(document) => Ok(vec![
                Pack::from_json_str(&document.to_string()).map_err(pack_error)?,
            ]),
            Self::Dir(dir) => {
                let dir = resolve(base, dir);
                let entries = std::fs::read_dir(&dir).map_err(|e| {
                    ConfigError::at(
                        format!("{key}.dir"),
                        format!("cannot read folder `{}`: {e}", dir.display()),
                    )
                })?;
                let mut files: Vec<PathBuf> = entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
                    .collect();
                files.sort();
                if files.is_empty() {
                    return Err(ConfigError::at(
                        format!("{key}.dir"),
                        format!("folder `{}` holds no `*.json` pack", dir.display()),
                    ));
                }
                files
                    .iter()
                    .map(|f| Pack::from_file(f).map_err(pack_error))
                    .collect()
            }
        }
    }

    /// A string as a source: a built-in's name, else a path.
    fn from_text(text: &str) -> Self {
        if Pack::builtin_source(text).is_some() {
            Self::Builtin(text.to_owned())
        } else {
            Self::Path(PathBuf::from(text))
        }
    }
}

impl<'de> Deserialize<'de> for PackSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            builtin: Option<String>,
            path: Option<PathBuf>,
            dir: Option<PathBuf>,
            inline: Option<Value>,
        }

        struct SourceVisitor;

        impl<'de> Visitor<'de> for SourceVisitor {
            type Value = PackSource;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table with one of `builtin`, `path`, `dir` or `inline`, or a pack name or path")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<PackSource, E> {
                if text.trim().is_empty() {
                    return Err(E::custom("a pack name or path must not be empty"));
                }
                Ok(PackSource::from_text(text))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PackSource, A::Error> {
                let t = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let given = [
                    t.builtin.is_some(),
                    t.path.is_some(),
                    t.dir.is_some(),
                    t.inline.is_some(),
                ];
                if given.iter().filter(|g| **g).count() != 1 {
                    return Err(de::Error::custom(
                        "a pack source needs exactly one of `builtin`, `path`, `dir` or `inline`",
                    ));
                }
                Ok(match (t.builtin, t.path, t.dir, t.inline) {
                    (Some(name), ..) => PackSource::Builtin(name),
                    (_, Some(path), ..) => PackSource::Path(path),
                    (_, _, Some(dir), _) => PackSource::Dir(dir),
                    (_, _, _, Some(document)) => PackSource::Inline(document),
                    _ => return Err(de::Error::custom("a pack source needs one key")),
                })
            }
        }

        deserializer.deserialize_any(SourceVisitor)
    }
}

impl JsonSchema for PackSource {
    fn schema_name() -> Cow<'static, str> {
        "PackSource".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Where a pack comes from: exactly one of `builtin`, `path` (relative to the configuration file), `dir` (every `*.json` in it) or `inline` (a pack document); a plain string is a built-in pack's name, else a path.",
            "oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "object", "additionalProperties": false, "required": ["builtin"],
                 "properties": {"builtin": {"type": "string", "description": "`VaultKeeper`, `PrivacyShield` or `OpsGuard`"}}},
                {"type": "object", "additionalProperties": false, "required": ["path"],
                 "properties": {"path": {"type": "string", "description": "a pack file (JSON)"}}},
                {"type": "object", "additionalProperties": false, "required": ["dir"],
                 "properties": {"dir": {"type": "string", "description": "a folder of pack files"}}},
                {"type": "object", "additionalProperties": false, "required": ["inline"],
                 "properties": {"inline": {"type": "object", "description": "a pack document"}}}
            ]
        })
    }
}

/// `[store]`: where actions, decisions, approvals and the audit trail are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreSpec {
    /// `memory` (the default: lost on exit, for development and tests),
    /// `sqlite://PATH` (relative to this file), a plain file path (SQLite), or
    /// `postgres://...`. A URL with a password belongs in `url_env` or `url_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The environment variable holding the URL (e.g. `DATABASE_URL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// A file holding the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_file: Option<PathBuf>,
    /// PostgreSQL only: keep Sentinel's tables in this schema (created if missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The in-memory store only: actions kept at most (decided ones are evicted first,
    /// oldest first; when all are undecided, new actions are refused). Default 100000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_capacity: Option<std::num::NonZeroUsize>,
    /// The environment variable holding the key that signs the audit chain's checkpoints
    /// (HMAC-SHA256, at least 16 bytes; keep it outside the database). Default
    /// `SENTINEL_AUDIT_KEY`; unsigned checkpoints when it is not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_key_env: Option<String>,
    /// A file holding the audit key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_key_file: Option<PathBuf>,
    /// How often a checkpoint of the audit chain is written. Default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_interval_s: Option<Seconds>,
}

/// The kind of store a [`StoreSpec`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreKind {
    /// In memory.
    Memory,
    /// A SQLite file.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl StoreKind {
    /// `memory`, `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// True for the stores that survive a restart.
    pub fn is_durable(self) -> bool {
        self != Self::Memory
    }
}

/// A store location resolved from a [`StoreSpec`]: the kind and the URL to connect to.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreTarget {
    /// The kind.
    pub kind: StoreKind,
    /// The URL (`sqlite://...` or `postgres://...`; empty for memory). May hold a password:
    /// print [`display`](Self::display) instead.
    pub url: SecretValue,
    /// The PostgreSQL schema.
    pub schema: Option<String>,
    /// The in-memory store's capacity (actions).
    pub memory_capacity: usize,
}

impl StoreTarget {
    /// The URL with any password masked, for banners and logs.
    pub fn display(&self) -> String {
        mask_password(self.url.expose())
    }
}

impl std::fmt::Debug for StoreTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreTarget")
            .field("kind", &self.kind)
            .field("url", &self.display())
            .field("schema", &self.schema)
            .field("memory_capacity", &self.memory_capacity)
            .finish()
    }
}

/// `scheme://user:password@host` → `scheme://user:***@host`.
pub(crate) fn mask_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn has_password(url: &str) -> bool {
    mask_password(url) != url
}

impl StoreSpec {
    /// The key that signs checkpoints, when one is configured (read through `env`).
    pub fn audit_key(
        &self,
        env: &Env,
        base: Option<&Path>,
    ) -> Result<Option<crate::store::checkpoint::AuditKey>, ConfigError> {
        let keys = SecretKeys {
            section: "store",
            name: "audit_key",
            env: self.audit_key_env.as_deref(),
            file: self.audit_key_file.as_deref(),
            default_env: "SENTINEL_AUDIT_KEY",
        };
        let Some(secret) = keys.read(env, base)? else {
            return Ok(None);
        };
        let key = crate::store::checkpoint::AuditKey::new(secret.expose()).ok_or_else(|| {
            let e = keys.missing("the audit key");
            ConfigError {
                message: format!(
                    "the audit key must be at least {} bytes",
                    crate::store::checkpoint::MIN_KEY_LEN
                ),
                ..e
            }
        })?;
        Ok(Some(key))
    }

    /// Where the store is: reads `url_env`/`url_file` when set, classifies the URL, and
    /// makes a SQLite path relative to `base`. `from_file`: the spec came from a file, where
    /// a password in `url` is refused.
    pub fn target(
        &self,
        env: &Env,
        base: Option<&Path>,
        from_file: bool,
    ) -> Result<StoreTarget, ConfigError> {
        let given = [
            self.url.is_some(),
            self.url_env.is_some(),
            self.url_file.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(ConfigError::at(
                "store",
                "set one of `url`, `url_env` or `url_file`",
            ));
        }
        let (text, key) = match (&self.url, &self.url_env, &self.url_file) {
            (Some(url), ..) => {
                if from_file && has_password(url) {
                    return Err(ConfigError::at(
                        "store.url",
                        "the URL holds a password: secrets never sit in the file; put the URL in an environment variable and name it with `store.url_env` (or `store.url_file`)",
                    ));
                }
                (url.trim().to_owned(), "store.url")
            }
            (_, Some(var), _) => {
                let url = env.var(var).ok_or_else(|| {
                    ConfigError::at(
                        "store.url_env",
                        format!("environment variable `{var}` is not set (the store URL)"),
                    )
                    .with_env(var.clone())
                })?;
                (url, "store.url_env")
            }
            (_, _, Some(_)) => {
                let keys = SecretKeys {
                    section: "store",
                    name: "url",
                    env: None,
                    file: self.url_file.as_deref(),
                    default_env: "",
                };
                let url = keys
                    .read(env, base)?
                    .ok_or_else(|| keys.missing("the store URL"))?;
                (url.expose().to_owned(), "store.url_file")
            }
            _ => ("memory".to_owned(), "store.url"),
        };
        let kind = if text.is_empty() || text == "memory" {
            StoreKind::Memory
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            StoreKind::Postgres
        } else if text.starts_with("sqlite:") || !text.contains("://") {
            StoreKind::Sqlite
        } else {
            let scheme = text.split("://").next().unwrap_or_default();
            return Err(ConfigError::at(
                key,
                format!(
                    "unsupported store `{scheme}://...`: use `memory`, `sqlite://<file>`, a file path or `postgres://...`"
                ),
            ));
        };
        if self.memory_capacity.is_some() && kind != StoreKind::Memory {
            return Err(ConfigError::at(
                "store.memory_capacity",
                "only the in-memory store has a capacity",
            ));
        }
        if self.schema.is_some() && kind != StoreKind::Postgres {
            return Err(ConfigError::at(
                "store.schema",
                "schemas need a PostgreSQL store",
            ));
        }
        let url = match kind {
            StoreKind::Memory => String::new(),
            StoreKind::Postgres => text,
            StoreKind::Sqlite => {
                let path = text
                    .strip_prefix("sqlite://")
                    .or_else(|| text.strip_prefix("sqlite:"))
                    .unwrap_or(&text);
                let (path, query) = path
                    .split_once('?')
                    .map_or((path, None), |(p, q)| (p, Some(q)));
                if path.is_empty() {
                    return Err(ConfigError::at(key, "a SQLite store needs a file path"));
                }
                let path = if path == ":memory:" {
                    PathBuf::from(path)
                } else {
                    resolve(base, Path::new(path))
                };
                match query {
                    Some(q) => format!("sqlite://{}?{q}", path.display()),
                    None => format!("sqlite://{}", path.display()),
                }
            }
        };
        Ok(StoreTarget {
            kind,
            url: SecretValue::new(url),
            schema: self.schema.clone(),
            memory_capacity: self.memory_capacity.map_or(
                crate::store::DEFAULT_MEMORY_CAPACITY,
                std::num::NonZeroUsize::get,
            ),
        })
    }
}

/// `[server]`: settings read by `sentinel-server` only (other hosts ignore them).
///
/// Each one can also be set by its `SENTINEL_*` environment variable, which wins over the
/// file (see `sentinel-server`'s README).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Where to listen, e.g. `127.0.0.1:8000` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// The server's public base URL (Telnyx webhooks go to `{public_url}/api/telnyx/webhook`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Longest an ordinary request may take. Default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout_s: Option<Seconds>,
    /// Longest long-poll. Default 120.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait_s: Option<Seconds>,
    /// Largest request body in bytes. Default 65536.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<u64>,
    /// Longest a client may take to send a request's headers (from the connection's
    /// first byte, or the end of its previous request); the connection is then closed.
    /// Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_timeout_s: Option<Seconds>,
    /// Longest a client may take to send a request's body; then 408 and the connection
    /// is closed. Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_timeout_s: Option<Seconds>,
    /// Most connections served at once; beyond it a new connection is answered 503 and
    /// closed. Default 1024.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// `text` (the default) or `json` log lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormatSpec>,
    /// The environment variable holding the admin token (default `SENTINEL_ADMIN_TOKEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token_env: Option<String>,
    /// A file holding the admin token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token_file: Option<PathBuf>,
    /// The environment variable holding agent keys as `agent_id=key,...` (default
    /// `SENTINEL_AGENT_KEYS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_keys_env: Option<String>,
    /// A file of agent keys, one `agent_id=key` per line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_keys_file: Option<PathBuf>,
    /// Origins (`https://dash.example.com`) whose pages may call the API from a browser
    /// with an agent key or the admin token (CORS). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors_origins: Option<Vec<String>>,
    /// How long a console sign-in lasts. Default 28800 (8 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_ttl_s: Option<Seconds>,
}

/// `server.log_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogFormatSpec {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(spec: &StoreSpec) -> Result<StoreTarget, ConfigError> {
        spec.target(
            &Env::from_map(Default::default()),
            Some(Path::new("/etc/sentinel")),
            true,
        )
    }

    #[test]
    fn store_urls_are_classified_once() {
        let t = target(&StoreSpec::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.kind, StoreKind::Memory);
        let sqlite = |url: &str| StoreSpec {
            url: Some(url.to_owned()),
            ..StoreSpec::default()
        };
        for (given, expected) in [
            ("sqlite://data/s.db", "sqlite:///etc/sentinel/data/s.db"),
            ("sqlite:s.db", "sqlite:///etc/sentinel/s.db"),
            ("s.db", "sqlite:///etc/sentinel/s.db"),
            ("/var/s.db", "sqlite:///var/s.db"),
            ("sqlite:///var/s.db?mode=ro", "sqlite:///var/s.db?mode=ro"),
        ] {
            let t = target(&sqlite(given)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                (t.kind, t.url.expose()),
                (StoreKind::Sqlite, expected),
                "{given}"
            );
        }
        let e = target(&sqlite("mysql://db/x")).unwrap_err();
        assert_eq!(e.key, "store.url");
        assert!(
            e.message.starts_with("unsupported store `mysql://...`"),
            "{e}"
        );
        let e = target(&sqlite("postgres://u:hunter2@db/x")).unwrap_err();
        assert!(
            e.message.contains("password") && !e.to_string().contains("hunter2"),
            "{e}"
        );
        let e = target(&StoreSpec {
            schema: Some("s".into()),
            ..sqlite("s.db")
        })
        .unwrap_err();
        assert_eq!(e.key, "store.schema");
    }

    #[test]
    fn store_urls_from_the_environment_may_hold_passwords() {
        let env = Env::from_map([("DB".to_owned(), "postgres://u:pw@db/x".to_owned())].into());
        let spec = StoreSpec {
            url_env: Some("DB".into()),
            ..StoreSpec::default()
        };
        let t = spec
            .target(&env, None, true)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.kind, StoreKind::Postgres);
        assert_eq!(t.display(), "postgres://u:***@db/x");
        assert!(!format!("{t:?}").contains("pw@"));
        let missing = StoreSpec {
            url_env: Some("NOPE".into()),
            ..StoreSpec::default()
        };
        let e = missing.target(&env, None, true).unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.env.as_deref()),
            ("store.url_env", Some("NOPE"))
        );
    }

    #[test]
    fn pack_sources_read_tables_and_plain_strings() {
        let got: Vec<PackSource> = serde_json::from_value(serde_json::json!([
            "VaultKeeper", "packs/x.json", {"builtin": "OpsGuard"}, {"dir": "p"}, {"inline": {"name": "I"}}
        ]))
        .unwrap_or_default();
        assert_eq!(
            got,
            [
                PackSource::Builtin("VaultKeeper".into()),
                PackSource::Path("packs/x.json".into()),
                PackSource::Builtin("OpsGuard".into()),
                PackSource::Dir("p".into()),
                PackSource::Inline(serde_json::json!({"name": "I"})),
            ]
        );
        for bad in [
            serde_json::json!({"builtin": "A", "path": "b"}),
            serde_json::json!({}),
            serde_json::json!({"file": "x"}),
        ] {
            assert!(
                serde_json::from_value::<PackSource>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }
}
