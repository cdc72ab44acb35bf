//! The `[store]` section: where actions, decisions, approvals and the audit trail are kept,
//! and the one place store URLs are classified.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::env::{Env, SecretKeys, SecretValue, resolve};
use super::units::Seconds;

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
    /// SQLite and PostgreSQL only: the most concurrent writes grouped into one transaction
    /// (group commit: one commit, one fsync, for all of them; each caller is answered once
    /// its batch is durable). Default 256; 1 writes each alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_max: Option<std::num::NonZeroUsize>,
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
    /// The SQL stores' cap on writes per transaction (`store.batch_max`).
    pub batch_max: usize,
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
            .field("batch_max", &self.batch_max)
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
        if self.batch_max.is_some() && kind == StoreKind::Memory {
            return Err(ConfigError::at(
                "store.batch_max",
                "only the SQLite and PostgreSQL stores group writes",
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
            batch_max: self
                .batch_max
                .map_or(crate::store::DEFAULT_BATCH_MAX, std::num::NonZeroUsize::get),
        })
    }
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
    fn batch_max_is_for_the_sql_stores() {
        let spec = |url: &str, batch_max: Option<usize>| StoreSpec {
            url: Some(url.to_owned()),
            batch_max: batch_max.and_then(std::num::NonZeroUsize::new),
            ..StoreSpec::default()
        };
        let t = target(&spec("s.db", None)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.batch_max, crate::store::DEFAULT_BATCH_MAX);
        let t = target(&spec("postgres://db/x", Some(1))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.batch_max, 1);
        let e = target(&spec("memory", Some(8))).unwrap_err();
        assert_eq!(e.key, "store.batch_max");
    }
}
