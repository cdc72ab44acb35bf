//! The server's secrets: agent keys and the admin token, read from the variable or the
//! file `[server]` names (`*_env`, `*_file`). Error messages name the agent, the key path
//! and the variable or file, never the secret.

use std::fmt;
use std::path::Path;

use sentinel_core::spec::{ConfigError, Env, GatewaySpec};
use sentinel_core::telnyx::Secret;

use super::MIN_SECRET_LEN;

/// The variable holding the admin token unless `server.admin_token_env` names another.
pub const DEFAULT_ADMIN_TOKEN_ENV: &str = "SENTINEL_ADMIN_TOKEN";
/// The variable holding agent keys unless `server.agent_keys_env` names another.
pub const DEFAULT_AGENT_KEYS_ENV: &str = "SENTINEL_AGENT_KEYS";

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

/// The admin token: from `server.admin_token_file`, else the variable
/// `server.admin_token_env` names (default `SENTINEL_ADMIN_TOKEN`); `None` when unset.
pub(super) fn admin_token(spec: &GatewaySpec, env: &Env) -> Result<Option<Secret>, ConfigError> {
    let s = &spec.server;
    let (token, key, from) = match (&s.admin_token_env, &s.admin_token_file) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::at(
                "server.admin_token_file",
                "set `admin_token_env` or `admin_token_file`, not both",
            )
            .in_file(spec.file()));
        }
        (_, Some(path)) => {
            let key = "server.admin_token_file";
            let text = read(spec, path, key)?;
            (Some(text.trim().to_owned()), key, Source::File(path))
        }
        (var, None) => {
            let name = var.as_deref().unwrap_or(DEFAULT_ADMIN_TOKEN_ENV);
            let source = Source::Var(name, var.is_some());
            (env.var(name), "server.admin_token_env", source)
        }
    };
    match token {
        Some(t) if t.len() < MIN_SECRET_LEN => Err(source_error(
            spec,
            key,
            &from,
            format!("the admin token must be at least {MIN_SECRET_LEN} characters"),
        )),
        Some(t) => Ok(Some(Secret::new(t))),
        None => Ok(None),
    }
}

/// Agent keys: `agent_id=key,...` from the variable `server.agent_keys_env` names
/// (default `SENTINEL_AGENT_KEYS`), plus one `agent_id=key` a line (`#` comments) from
/// `server.agent_keys_file`.
pub(super) fn agent_keys(spec: &GatewaySpec, env: &Env) -> Result<Vec<AgentKey>, ConfigError> {
    let s = &spec.server;
    let mut keys = Vec::new();
    let var = s
        .agent_keys_env
        .as_deref()
        .unwrap_or(DEFAULT_AGENT_KEYS_ENV);
    if let Some(text) = env.var(var) {
        let from = Source::Var(var, s.agent_keys_env.is_some());
        keys.extend(
            parse_keys(text.split(','))
                .map_err(|m| source_error(spec, "server.agent_keys_env", &from, m))?,
        );
    }
    if let Some(path) = &s.agent_keys_file {
        let key = "server.agent_keys_file";
        let text = read(spec, path, key)?;
        let lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        keys.extend(
            parse_keys(lines).map_err(|m| source_error(spec, key, &Source::File(path), m))?,
        );
    }
    Ok(keys)
}

/// A token must name one principal: no key is shared by two agents, the admin or an
/// operator.
pub(super) fn check_unique(
    keys: &[AgentKey],
    admin: Option<&Secret>,
    operators: &[super::Operator],
) -> Result<(), ConfigError> {
    for (i, o) in operators.iter().enumerate() {
        let shared = operators[..i].iter().any(|p| p.token == o.token)
            || admin == Some(&o.token)
            || keys.iter().any(|k| k.key == o.token);
        if shared {
            return Err(ConfigError::at(
                "operators",
                format!(
                    "the token of operator `{}` must differ from every other token and key",
                    o.name
                ),
            ));
        }
    }
    for (i, a) in keys.iter().enumerate() {
        if keys[..i].iter().any(|b| b.key == a.key) {
            return Err(ConfigError::at(
                "server.agent_keys_env",
                format!("agent `{}` shares its key with another agent", a.agent),
            ));
        }
        if admin == Some(&a.key) {
            return Err(ConfigError::at(
                "server.admin_token_env",
                format!(
                    "the admin token must differ from the key of agent `{}`",
                    a.agent
                ),
            ));
        }
    }
    Ok(())
}

/// Where a secret was read.
enum Source<'a> {
    /// A variable; `true` when the file named it (rather than the default name).
    Var(&'a str, bool),
    /// A file.
    File(&'a Path),
}

/// An error about a secret's value, naming where it came from (never the value).
fn source_error(spec: &GatewaySpec, key: &str, from: &Source<'_>, message: String) -> ConfigError {
    match from {
        Source::Var(var, named_in_file) => {
            let e = ConfigError::at(
                key,
                format!("{message} (from environment variable `{var}`)"),
            )
            .with_env(*var);
            if *named_in_file {
                e.in_file(spec.file())
            } else {
                e
            }
        }
        Source::File(path) => ConfigError::at(key, format!("{message} (in `{}`)", path.display()))
            .in_file(spec.file()),
    }
}

/// A secret file, relative to the configuration file's folder.
pub(super) fn read(spec: &GatewaySpec, path: &Path, key: &str) -> Result<String, ConfigError> {
    let full = match spec.base_dir() {
        Some(base) if path.is_relative() => base.join(path),
        _ => path.to_path_buf(),
    };
    std::fs::read_to_string(&full).map_err(|e| {
        ConfigError::at(key, format!("cannot read `{}`: {e}", full.display())).in_file(spec.file())
    })
}

/// Parses `agent_id=key` entries. Error messages name the agent, never the key.
fn parse_keys<'a>(entries: impl Iterator<Item = &'a str>) -> Result<Vec<AgentKey>, String> {
    let mut keys = Vec::new();
    for (i, entry) in entries.map(str::trim).filter(|e| !e.is_empty()).enumerate() {
        let Some((agent, key)) = entry.split_once('=') else {
            return Err(format!("entry {} is not `agent_id=key`", i + 1));
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
            return Err(format!(
                "agent id `{agent}` must be letters, digits and `_-.:@`, optionally ending in `*`"
            ));
        }
        if key.len() < MIN_SECRET_LEN {
            return Err(format!(
                "the key of agent `{agent}` must be at least {MIN_SECRET_LEN} characters"
            ));
        }
        keys.push(AgentKey {
            agent: agent.to_owned(),
            key: Secret::new(key),
        });
    }
    Ok(keys)
}
