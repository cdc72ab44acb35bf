//! `[channels.webhooks.NAME]` and the console link key (`[channels] link_key_env` /
//! `link_key_file`): the ladder's `webhook` channel, declared in the configuration.
//!
//! ```toml
//! [channels]
//! link_key_env = "SENTINEL_LINK_KEY"      # default; or link_key_file = "/run/secrets/link-key"
//!
//! [channels.webhooks.teams-payments]
//! url_env = "TEAMS_PAYMENTS_URL"          # or url = "https://..." (Teams/Discord URLs carry keys: prefer url_env)
//! secret_env = "TEAMS_PAYMENTS_SECRET"    # or secret_file: the HMAC key of X-Sentinel-Signature
//! timeout_s = 10                          # default 10, at most 60
//! ```

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::env::SecretKeys;
use super::error::ConfigError;
use super::units::Seconds;
use super::{Env, GatewaySpec};
use crate::ladder::ConsoleLinks;
use crate::ladder::link::{LINK_KEY_ENV, MIN_KEY_BYTES};

/// How long a webhook may take to answer unless `timeout_s` says otherwise.
pub const DEFAULT_WEBHOOK_TIMEOUT_S: f64 = 10.0;
/// The longest `timeout_s` of a webhook.
pub const MAX_WEBHOOK_TIMEOUT_S: f64 = 60.0;

/// `[channels.webhooks.NAME]`: where a `webhook` step whose `to` is `NAME` POSTs, and the
/// key that signs it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// The receiver's URL (`https://...`). Set this or `url_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The variable holding the receiver's URL, for URLs that carry their own key (Teams
    /// Workflows' `sig=`, Discord's token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// The variable holding the HMAC-SHA256 key of `X-Sentinel-Signature`. Set this or
    /// `secret_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// A file holding the HMAC key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<PathBuf>,
    /// How long the receiver may take to answer before the step fails (default 10, at most
    /// 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<Seconds>,
}

/// Webhook names are letters, digits and `_-.`.
fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

fn url_ok(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// Checks the declared webhooks (without reading any variable).
pub(super) fn check_webhooks(
    webhooks: &std::collections::BTreeMap<String, WebhookSpec>,
) -> Result<(), ConfigError> {
    for (name, w) in webhooks {
        let at = |key: &str| format!("channels.webhooks.{name}{key}");
        if !name_ok(name) {
            return Err(ConfigError::at(
                at(""),
                format!("webhook name `{name}` must be letters, digits and `_-.`"),
            ));
        }
        match (&w.url, &w.url_env) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::at(
                    at(".url_env"),
                    "set `url` or `url_env`, not both",
                ));
            }
            (None, None) => {
                return Err(ConfigError::at(
                    at(".url"),
                    "a webhook needs `url` or `url_env`",
                ));
            }
            (Some(url), None) if !url_ok(url.trim()) => {
                return Err(ConfigError::at(
                    at(".url"),
                    format!("`{url}` is not an http(s) URL"),
                ));
            }
            _ => {}
        }
        if w.secret_env.is_none() && w.secret_file.is_none() {
            return Err(ConfigError::at(
                at(".secret_env"),
                "a webhook is signed: set `secret_env` or `secret_file` (the HMAC key)",
            ));
        }
        if let Some(t) = w.timeout_s
            && t.get() > MAX_WEBHOOK_TIMEOUT_S
        {
            return Err(ConfigError::at(
                at(".timeout_s"),
                format!(
                    "must be at most {MAX_WEBHOOK_TIMEOUT_S} seconds, found `{}`",
                    t.get()
                ),
            ));
        }
    }
    Ok(())
}

/// The console links of the ladder's `webhook` steps: under `server.public_url`, signed
/// with the link key (a random key of this process when none is configured).
pub(super) fn console_links(spec: &GatewaySpec, env: &Env) -> Result<ConsoleLinks, ConfigError> {
    let base = match spec.server.public_url.as_deref().map(str::trim) {
        Some(url) if url_ok(url) => url.trim_end_matches('/').to_owned(),
        Some(url) if !url.is_empty() => {
            return Err(ConfigError::at(
                "server.public_url",
                format!("`{url}` is not an http(s) URL"),
            ));
        }
        _ => {
            return Err(ConfigError::at(
                "server.public_url",
                "a `webhook` step sends a link to the console: set `server.public_url` (for sentinel-server also `SENTINEL_PUBLIC_URL`)",
            ));
        }
    };
    let c = &spec.channels;
    let keys = SecretKeys {
        section: "channels",
        name: "link_key",
        env: c.link_key_env.as_deref(),
        file: c.link_key_file.as_deref(),
        default_env: LINK_KEY_ENV,
    };
    match keys.read(env, spec.base_dir())? {
        Some(key) if key.expose().len() >= MIN_KEY_BYTES => {
            Ok(ConsoleLinks::new(&base, key.expose().as_bytes()))
        }
        Some(_) => {
            let key = if c.link_key_file.is_some() {
                "channels.link_key_file".to_owned()
            } else {
                "channels.link_key_env".to_owned()
            };
            let from = keys
                .var()
                .map_or_else(|| "the file".to_owned(), |v| format!("`{v}`"));
            Err(ConfigError::at(
                key,
                format!("the console link key in {from} must be at least {MIN_KEY_BYTES} bytes"),
            ))
        }
        None if c.link_key_env.is_some() => Err(ConfigError::at(
            "channels.link_key_env",
            format!(
                "the variable `{}` is not set",
                c.link_key_env.as_deref().unwrap_or(LINK_KEY_ENV)
            ),
        )),
        None => {
            tracing::warn!(
                "no console link key (`{LINK_KEY_ENV}`): links are signed with a random key of this process; they stop working when it restarts and other instances cannot check them"
            );
            ConsoleLinks::ephemeral(&base)
                .map_err(|e| ConfigError::at("channels.link_key_env", e.to_string()))
        }
    }
}

/// The `webhook` channel over the declared webhooks, their URLs and secrets read from the
/// variables and files they name.
#[cfg(feature = "webhook")]
pub(super) fn webhook_channel(
    spec: &GatewaySpec,
    env: &Env,
    links: std::sync::Arc<ConsoleLinks>,
) -> Result<crate::webhook::WebhookChannel, ConfigError> {
    use crate::spec::SecretValue;
    use crate::webhook::{WebhookChannel, WebhookTarget};
    let mut targets = Vec::new();
    for (name, w) in &spec.channels.webhooks {
        let section = format!("channels.webhooks.{name}");
        let url = match (&w.url, &w.url_env) {
            (Some(url), _) => url.trim().to_owned(),
            (None, Some(var)) => {
                let url = env.var(var).ok_or_else(|| {
                    ConfigError::at(
                        format!("{section}.url_env"),
                        format!("the variable `{var}` is not set"),
                    )
                })?;
                if !url_ok(&url) {
                    // Not the value: it may carry the receiver's key.
                    return Err(ConfigError::at(
                        format!("{section}.url_env"),
                        format!("the variable `{var}` does not hold an http(s) URL"),
                    ));
                }
                url
            }
            (None, None) => {
                return Err(ConfigError::at(
                    format!("{section}.url"),
                    "a webhook needs `url` or `url_env`",
                ));
            }
        };
        let keys = SecretKeys {
            section: &section,
            name: "secret",
            env: w.secret_env.as_deref(),
            file: w.secret_file.as_deref(),
            default_env: "",
        };
        let secret = keys.read(env, spec.base_dir())?.ok_or_else(|| {
            ConfigError::at(
                format!("{section}.secret_env"),
                format!(
                    "the variable `{}` is not set",
                    w.secret_env.as_deref().unwrap_or_default()
                ),
            )
        })?;
        let timeout = w.timeout_s.map_or(DEFAULT_WEBHOOK_TIMEOUT_S, Seconds::get);
        targets.push(WebhookTarget::new(
            name.clone(),
            SecretValue::new(url),
            secret,
            std::time::Duration::from_secs_f64(timeout),
        ));
    }
    WebhookChannel::new(targets, links)
        .map_err(|e| ConfigError::at("channels.webhooks", e.to_string()))
}
