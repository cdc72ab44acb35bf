//! The environment variables that override the configuration file, as one table
//! (variable → key), and the legacy activations of the scorer and the approver.
//!
//! Each override edits the [`GatewaySpec`] before anything is built, so a value is checked
//! on the same path whether it came from the file or from a variable; an error about it
//! then names the variable instead of the file. Secrets are never copied into the spec:
//! `SENTINEL_ADMIN_TOKEN`, `SENTINEL_AGENT_KEYS` and `SENTINEL_DATABASE_URL` become the
//! variable the spec reads them from (`*_env`).

use std::path::{Path, PathBuf};

use sentinel_core::spec::{
    ApproverKind, ApproverSpec, ConfigError, Env, GatewaySpec, LogFormatSpec, PackSource,
    ScorerKind, ScorerSpec, Seconds, StoreSpec,
};

use super::Origin;

/// A variable that was applied, and the key it set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The environment variable.
    pub var: &'static str,
    /// The configuration key it set (`server.bind`, `packs`, `store`...).
    pub key: &'static str,
}

/// Sets the key from the variable's (trimmed, non-empty) value; an error says why the
/// value is unusable.
type Setter = fn(&mut GatewaySpec, String) -> Result<(), String>;

/// One overriding variable.
pub struct Override {
    /// The environment variable.
    pub var: &'static str,
    /// The key it overrides.
    pub key: &'static str,
    set: Setter,
}

/// Every overriding variable, in the order they are applied. When a variable is set, its
/// value replaces what the file says at its key.
pub const OVERRIDES: [Override; 17] = [
    Override {
        var: "SENTINEL_BIND",
        key: "server.bind",
        set: |s, v| {
            s.server.bind = Some(v);
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_PUBLIC_URL",
        key: "server.public_url",
        set: |s, v| {
            s.server.public_url = Some(v);
            // The variable wins over the approver's own URL too: it inherits this one.
            if let Some(telnyx) = s.approver.telnyx.as_mut() {
                telnyx.public_url = None;
            }
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_REQUEST_TIMEOUT_S",
        key: "server.request_timeout_s",
        set: |s, v| {
            s.server.request_timeout_s = Some(seconds(&v)?);
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_MAX_WAIT_S",
        key: "server.max_wait_s",
        set: |s, v| {
            s.server.max_wait_s = Some(seconds(&v)?);
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_MAX_BODY_BYTES",
        key: "server.max_body_bytes",
        set: |s, v| {
            let n = v
                .parse()
                .map_err(|_| format!("`{v}` is not a whole number of bytes"))?;
            s.server.max_body_bytes = Some(n);
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_HEADER_TIMEOUT_S",
        key: "server.header_timeout_s",
        set: |s, v| {
            s.server.header_timeout_s = Some(seconds(&v)?);
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_BODY_TIMEOUT_S",
        key: "server.body_timeout_s",
        set: |s, v| {
            s.server.body_timeout_s = Some(seconds(&v)?);
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_MAX_CONNECTIONS",
        key: "server.max_connections",
        set: |s, v| {
            let n = v
                .parse()
                .map_err(|_| format!("`{v}` is not a whole number of connections"))?;
            s.server.max_connections = Some(n);
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_LOG_FORMAT",
        key: "server.log_format",
        set: |s, v| {
            s.server.log_format = Some(match v.to_ascii_lowercase().as_str() {
                "text" => LogFormatSpec::Text,
                "json" => LogFormatSpec::Json,
                _ => return Err(format!("`{v}` is neither `text` nor `json`")),
            });
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_CORS_ORIGINS",
        key: "server.cors_origins",
        set: |s, v| {
            s.server.cors_origins = Some(
                v.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_SESSION_TTL_S",
        key: "server.session_ttl_s",
        set: |s, v| {
            s.server.session_ttl_s = Some(seconds(&v)?);
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_ADMIN_TOKEN",
        key: "server.admin_token_env",
        set: |s, _| {
            s.server.admin_token_env = Some("SENTINEL_ADMIN_TOKEN".to_owned());
            s.server.admin_token_file = None;
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_AGENT_KEYS",
        key: "server.agent_keys_env",
        set: |s, _| {
            s.server.agent_keys_env = Some("SENTINEL_AGENT_KEYS".to_owned());
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_AGENT_KEYS_FILE",
        key: "server.agent_keys_file",
        set: |s, v| {
            s.server.agent_keys_file = Some(from_cwd(s, Path::new(&v))?);
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_DATABASE_URL",
        key: "store",
        set: |s, v| {
            let postgres = v.starts_with("postgres://") || v.starts_with("postgresql://");
            let schema = if postgres {
                s.store.schema.take()
            } else {
                None
            };
            s.store = match sqlite_path(&v) {
                _ if v == "memory" || v == "memory:" => StoreSpec {
                    url: Some("memory".to_owned()),
                    ..StoreSpec::default()
                },
                // A relative SQLite file stays relative to the working directory.
                Some((path, query)) => StoreSpec {
                    url: Some(format!("sqlite://{}{query}", from_cwd(s, &path)?.display())),
                    ..StoreSpec::default()
                },
                // `memory`, or a URL that may hold a password: read from the variable, so
                // the value never enters the spec.
                None => StoreSpec {
                    url_env: Some("SENTINEL_DATABASE_URL".to_owned()),
                    schema,
                    ..StoreSpec::default()
                },
            };
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_PACKS",
        key: "packs",
        set: |s, v| {
            s.packs = Some(vec![PackSource::Dir(from_cwd(s, Path::new(&v))?)]);
            Ok(())
        },
    },
    Override {
        var: "SENTINEL_ESCALATION_TIMEOUT_S",
        key: "gateway.escalation_timeout_s",
        set: |s, v| {
            s.gateway.escalation_timeout_s = Some(seconds(&v)?);
            Ok(())
        },
    },
];

/// The variable whose presence turns the Groq scorer on when the file says nothing about
/// `[scorer]` (the core then reads it, `GROQ_BASE_URL` and `GROQ_MODEL`).
pub const GROQ_ACTIVATION: &str = "GROQ_API_KEY";

/// The variables whose presence turns the Telnyx approver on when the file says nothing
/// about `[approver]` (the ones it cannot work without; the core then reads every
/// `TELNYX_*` setting). An environment can only be asked by name, hence the list.
pub const TELNYX_ACTIVATION: [&str; 5] = [
    "TELNYX_API_KEY",
    "TELNYX_CONNECTION_ID",
    "TELNYX_PHONE_NUMBER",
    "ADMIN_PHONE_NUMBER",
    "TELNYX_PUBLIC_KEY",
];

/// Applies every set variable of [`OVERRIDES`] to `spec`; returns those applied.
pub fn apply(spec: &mut GatewaySpec, env: &Env) -> Result<Vec<Applied>, ConfigError> {
    let mut applied = Vec::new();
    for o in &OVERRIDES {
        let Some(value) = env.var(o.var) else {
            continue;
        };
        (o.set)(spec, value).map_err(|message| {
            ConfigError::at(
                o.key,
                format!("{message} (from environment variable `{}`)", o.var),
            )
            .with_env(o.var)
        })?;
        applied.push(Applied {
            var: o.var,
            key: o.key,
        });
    }
    Ok(applied)
}

/// The legacy activations: `GROQ_API_KEY` turns the Groq scorer on unless the file has a
/// `scorer` section; any of [`TELNYX_ACTIVATION`] turns the Telnyx approver on unless it
/// has an `approver` section. `sections`: the file's top-level keys.
pub fn activate(spec: &mut GatewaySpec, env: &Env) -> Vec<Applied> {
    let mut activated = Vec::new();
    if !spec.names("scorer") && env.var(GROQ_ACTIVATION).is_some() {
        spec.scorer = ScorerSpec {
            kind: ScorerKind::Groq,
            groq: None,
        };
        activated.push(Applied {
            var: GROQ_ACTIVATION,
            key: "scorer",
        });
    }
    if !spec.names("approver")
        && let Some(var) = TELNYX_ACTIVATION.into_iter().find(|v| env.var(v).is_some())
    {
        spec.approver = ApproverSpec {
            kind: ApproverKind::Telnyx,
            telnyx: None,
        };
        activated.push(Applied {
            var,
            key: "approver",
        });
    }
    activated
}

impl Origin {
    /// Says where a value at fault came from: an error about a key a variable set names
    /// that variable instead of the file; one about a section the environment turned on
    /// says which variable did.
    pub fn explain(&self, mut e: ConfigError) -> ConfigError {
        if let Some(a) = self.overrides.iter().find(|a| covers(a.key, &e.key)) {
            e.file = None;
            e.line = None;
            if !e.message.contains(&format!("`{}`", a.var)) {
                e.message = format!("{} (from environment variable `{}`)", e.message, a.var);
            }
            e.env = Some(a.var.to_owned());
        } else if let Some(a) = self.activated.iter().find(|a| covers(a.key, &e.key)) {
            e.file = None;
            e.line = None;
            e.message = format!(
                "{}; the {} is on because environment variable `{}` is set",
                e.message, a.key, a.var
            );
        }
        e
    }
}

/// True when `error_key` is `key` or inside it (`store` covers `store.url`, `packs` covers
/// `packs[0].dir`).
fn covers(key: &str, error_key: &str) -> bool {
    error_key
        .strip_prefix(key)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

fn seconds(value: &str) -> Result<Seconds, String> {
    value
        .parse::<f64>()
        .ok()
        .and_then(Seconds::new)
        .ok_or_else(|| format!("`{value}` is not a positive number of seconds"))
}

/// The file and query of a SQLite store URL or plain path (`None` for anything else).
fn sqlite_path(url: &str) -> Option<(PathBuf, String)> {
    if url == "memory" || url == "memory:" || (url.contains("://") && !url.starts_with("sqlite:")) {
        return None;
    }
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = rest
        .split_once('?')
        .map_or((rest, String::new()), |(p, q)| (p, format!("?{q}")));
    (!path.is_empty() && path != ":memory:").then(|| (PathBuf::from(path), query))
}

/// A path given by a variable, relative to the working directory. Relative paths in a
/// spec read from a file are relative to the file, so a relative one is made absolute
/// then; without a file it is left as given.
pub(crate) fn from_cwd(spec: &GatewaySpec, path: &Path) -> Result<PathBuf, String> {
    if path.is_absolute() || spec.file().is_none() {
        return Ok(path.to_path_buf());
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .map_err(|e| format!("cannot tell the working directory: {e}"))
}
