//! The console's operators: `[[operators]]` in the file (each token read from the variable
//! or file it names) and `SENTINEL_OPERATORS` (`name=token,...`, role `approver`), which
//! overrides the file's token for a name it repeats. Error messages name the operator and
//! where the token came from, never the token.

use std::fmt;

use sentinel_core::spec::{ConfigError, Env, GatewaySpec, OperatorRole};
use sentinel_core::telnyx::Secret;

use super::MIN_SECRET_LEN;
use super::secrets::read;

/// The variable holding operators as `name=token,...`.
pub const OPERATORS_VAR: &str = "SENTINEL_OPERATORS";

/// One operator who may sign in to the console.
#[derive(Clone)]
pub struct Operator {
    /// The name recorded with the operator's decisions.
    pub name: String,
    /// The sign-in token.
    pub token: Secret,
    /// What the operator may do.
    pub role: OperatorRole,
}

impl fmt::Debug for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Operator")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The operators the spec names, then those of `SENTINEL_OPERATORS`.
pub(super) fn operators(spec: &GatewaySpec, env: &Env) -> Result<Vec<Operator>, ConfigError> {
    let mut found: Vec<Operator> = Vec::new();
    for (i, o) in spec.operators.iter().enumerate() {
        let key = format!("operators[{i}]");
        let at = |field: &str, message: String| {
            ConfigError::at(format!("{key}.{field}"), message).in_file(spec.file())
        };
        check_name(&o.name).map_err(|m| at("name", m))?;
        if found.iter().any(|f| f.name == o.name) {
            return Err(at("name", format!("operator `{}` is named twice", o.name)));
        }
        let token = match (&o.token_env, &o.token_file) {
            (Some(_), Some(_)) => {
                return Err(at(
                    "token_file",
                    "set `token_env` or `token_file`, not both".to_owned(),
                ));
            }
            (None, None) => {
                return Err(at(
                    "token_env",
                    format!(
                        "operator `{}` needs `token_env` or `token_file` (the token never sits in the file)",
                        o.name
                    ),
                ));
            }
            (Some(var), None) => env.var(var).ok_or_else(|| {
                at(
                    "token_env",
                    format!(
                        "environment variable `{var}` (the token of operator `{}`) is not set",
                        o.name
                    ),
                )
                .with_env(var.clone())
            })?,
            (None, Some(path)) => read(spec, path, &format!("{key}.token_file"))?
                .trim()
                .to_owned(),
        };
        if token.len() < MIN_SECRET_LEN {
            let field = if o.token_env.is_some() {
                "token_env"
            } else {
                "token_file"
            };
            return Err(at(
                field,
                format!(
                    "the token of operator `{}` must be at least {MIN_SECRET_LEN} characters",
                    o.name
                ),
            ));
        }
        found.push(Operator {
            name: o.name.clone(),
            token: Secret::new(token),
            role: o.role,
        });
    }
    if let Some(text) = env.var(OPERATORS_VAR) {
        let at = |message: String| {
            ConfigError::at(
                "operators",
                format!("{message} (from environment variable `{OPERATORS_VAR}`)"),
            )
            .with_env(OPERATORS_VAR)
        };
        for (i, entry) in text
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let Some((name, token)) = entry.split_once('=') else {
                return Err(at(format!("entry {} is not `name=token`", i + 1)));
            };
            let (name, token) = (name.trim(), token.trim());
            check_name(name).map_err(at)?;
            if token.len() < MIN_SECRET_LEN {
                return Err(at(format!(
                    "the token of operator `{name}` must be at least {MIN_SECRET_LEN} characters"
                )));
            }
            match found.iter_mut().find(|f| f.name == name) {
                Some(existing) => existing.token = Secret::new(token),
                None => found.push(Operator {
                    name: name.to_owned(),
                    token: Secret::new(token),
                    role: OperatorRole::Approver,
                }),
            }
        }
    }
    Ok(found)
}

fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.@".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "operator name `{name}` must be 1 to 64 letters, digits and `_-.@`"
        ))
    }
}

/// Origins allowed to call the API from a browser: `scheme://host[:port]`, no path.
pub(super) fn cors_origins(spec: &GatewaySpec) -> Result<Vec<String>, ConfigError> {
    let mut origins = Vec::new();
    for (i, given) in spec.server.cors_origins.iter().flatten().enumerate() {
        let origin = given.trim().trim_end_matches('/').to_ascii_lowercase();
        let rest = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        let valid = rest.is_some_and(|host| {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        });
        if !valid {
            return Err(ConfigError::at(
                format!("server.cors_origins[{i}]"),
                format!(
                    "`{given}` is not an origin like `https://dash.example.com` (scheme, host and optional port; no path, no `*`)"
                ),
            )
            .in_file(spec.file()));
        }
        origins.push(origin);
    }
    Ok(origins)
}
