//! `[approver]` and `[approver.telnyx]`: who asks a human, and the voice approver's settings.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::env::SecretValue;
use super::units::Whole;

/// `[approver]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproverSpec {
    /// `none` (escalations wait for a decision through the API or console; the default)
    /// or `telnyx` (phone the admin, set up by `[approver.telnyx]`).
    #[serde(default)]
    pub kind: ApproverKind,
    /// The voice approver's settings (used when `kind = "telnyx"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telnyx: Option<TelnyxSpec>,
}

/// `approver.kind`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApproverKind {
    /// No approver.
    #[default]
    None,
    /// The Telnyx voice approver.
    Telnyx,
}

/// `[approver.telnyx]`: the voice approver. Each setting left out is read from its
/// environment variable (the names `sentinel-server` always used), then its default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TelnyxSpec {
    /// The environment variable holding the API key. Default `TELNYX_API_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// A file holding the API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_file: Option<PathBuf>,
    /// The Call Control application that places calls (`TELNYX_CONNECTION_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    /// The number calls come from, E.164 (`TELNYX_PHONE_NUMBER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_number: Option<String>,
    /// The person asked, E.164 (`ADMIN_PHONE_NUMBER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_number: Option<String>,
    /// The account's webhook signing key, base64 of 32 bytes (`TELNYX_PUBLIC_KEY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// This host's public base URL: webhooks go to `{public_url}/api/telnyx/webhook`
    /// (`SENTINEL_PUBLIC_URL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// The Call Control API (`TELNYX_API_BASE`, default `https://api.telnyx.com/v2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    /// The environment variable holding a 4-12 digit PIN also needed to approve. Default
    /// `TELNYX_APPROVAL_PIN`; no PIN when it is not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_env: Option<String>,
    /// A file holding the PIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_file: Option<PathBuf>,
    /// Seconds the menu waits for a key, 1-120 (`TELNYX_GATHER_TIMEOUT_SECS`, default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gather_timeout_s: Option<Whole>,
    /// Menu replays after silence or a wrong key, 0-10 (`TELNYX_MAX_REPLAYS`, default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replays: Option<Whole>,
    /// How many times a pending action whose call died (no answer, a restart mid-call) is
    /// called again by recovery, 0-5 (`TELNYX_MAX_REDIALS`, default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_redials: Option<Whole>,
    /// Seconds the phone rings, 5-120 (`TELNYX_RING_TIMEOUT_SECS`, default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_timeout_s: Option<Whole>,
    /// The longest call in seconds, 30-14400 (`TELNYX_CALL_TIME_LIMIT_SECS`, default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_time_limit_s: Option<Whole>,
    /// Text-to-speech voice (`TELNYX_VOICE`, default `female`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    /// Text-to-speech language (`TELNYX_LANGUAGE`, default `en-US`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Paths masked in what is read aloud besides those the packs declare.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact_paths: Vec<String>,
    /// Secrets handed over in code (Rust and binding APIs only; never read from a file).
    #[serde(skip)]
    #[schemars(skip)]
    pub secrets: TelnyxSecrets,
}

/// The voice approver's secrets when handed over in code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelnyxSecrets {
    /// The API key.
    pub api_key: Option<SecretValue>,
    /// The PIN.
    pub pin: Option<SecretValue>,
}

#[cfg(feature = "telnyx")]
mod build {
    use std::path::Path;

    use super::{SecretValue, TelnyxSpec, Whole};
    use crate::spec::ConfigError;
    use crate::spec::env::{Env, SecretKeys};

    /// The section's key path.
    const SECTION: &str = "approver.telnyx";

    /// Each plain setting: its key, and the environment variable read when it is left out.
    const SETTINGS: [(&str, &str); 13] = [
        ("connection_id", "TELNYX_CONNECTION_ID"),
        ("from_number", "TELNYX_PHONE_NUMBER"),
        ("admin_number", "ADMIN_PHONE_NUMBER"),
        ("public_key", "TELNYX_PUBLIC_KEY"),
        ("public_url", "SENTINEL_PUBLIC_URL"),
        ("api_base", "TELNYX_API_BASE"),
        ("gather_timeout_s", "TELNYX_GATHER_TIMEOUT_SECS"),
        ("max_replays", "TELNYX_MAX_REPLAYS"),
        ("max_redials", "TELNYX_MAX_REDIALS"),
        ("ring_timeout_s", "TELNYX_RING_TIMEOUT_SECS"),
        ("call_time_limit_s", "TELNYX_CALL_TIME_LIMIT_SECS"),
        ("voice", "TELNYX_VOICE"),
        ("language", "TELNYX_LANGUAGE"),
    ];

    impl TelnyxSpec {
        fn given(&self, key: &str) -> Option<String> {
            let n = |v: Option<Whole>| v.map(|n| n.get().to_string());
            match key {
                "connection_id" => self.connection_id.clone(),
                "from_number" => self.from_number.clone(),
                "admin_number" => self.admin_number.clone(),
                "public_key" => self.public_key.clone(),
                "public_url" => self.public_url.clone(),
                "api_base" => self.api_base.clone(),
                "gather_timeout_s" => n(self.gather_timeout_s),
                "max_replays" => n(self.max_replays),
                "max_redials" => n(self.max_redials),
                "ring_timeout_s" => n(self.ring_timeout_s),
                "call_time_limit_s" => n(self.call_time_limit_s),
                "voice" => self.voice.clone(),
                "language" => self.language.clone(),
                _ => None,
            }
        }

        fn secret_keys(&self) -> [(SecretKeys<'_>, &Option<SecretValue>); 2] {
            [
                (
                    SecretKeys {
                        section: SECTION,
                        name: "api_key",
                        env: self.api_key_env.as_deref(),
                        file: self.api_key_file.as_deref(),
                        default_env: "TELNYX_API_KEY",
                    },
                    &self.secrets.api_key,
                ),
                (
                    SecretKeys {
                        section: SECTION,
                        name: "pin",
                        env: self.pin_env.as_deref(),
                        file: self.pin_file.as_deref(),
                        default_env: "TELNYX_APPROVAL_PIN",
                    },
                    &self.secrets.pin,
                ),
            ]
        }
    }

    impl TelnyxSpec {
        /// The voice approver's configuration: the settings given, else their environment
        /// variables, checked by [`TelnyxConfig`](crate::telnyx::TelnyxConfig)'s own rules.
        pub fn config(
            &self,
            env: &Env,
            base: Option<&Path>,
        ) -> Result<crate::telnyx::TelnyxConfig, ConfigError> {
            use crate::telnyx::{ConfigError as TelnyxError, TelnyxConfig};

            let [(api_key_keys, api_key), (pin_keys, pin)] = self.secret_keys();
            let api_key = match api_key {
                Some(k) => Some(k.clone()),
                None => api_key_keys.read(env, base)?,
            };
            let pin = match pin {
                Some(p) => Some(p.clone()),
                None => pin_keys.read(env, base)?,
            };
            // What the core's reader sees, by its variable names.
            let lookup = |var: &str| match var {
                "TELNYX_API_KEY" => api_key.as_ref().map(|k| k.expose().to_owned()),
                "TELNYX_APPROVAL_PIN" => pin.as_ref().map(|p| p.expose().to_owned()),
                _ => SETTINGS
                    .iter()
                    .find(|(_, v)| *v == var)
                    .and_then(|(key, _)| self.given(key).or_else(|| env.var(var))),
            };
            TelnyxConfig::from_lookup(lookup).map_err(|e| {
                let (var, problem) = match &e {
                    TelnyxError::Missing { var } => (*var, None),
                    TelnyxError::Invalid { var, message } => (*var, Some(message.clone())),
                    // Bound numbers are added after this reader, by `build_with_phones`.
                    TelnyxError::Phone { .. } => ("ADMIN_PHONE_NUMBER", Some(e.to_string())),
                };
                if var == "TELNYX_API_KEY" || var == "TELNYX_APPROVAL_PIN" {
                    let (keys, in_code) = if var == "TELNYX_API_KEY" {
                        (&api_key_keys, self.secrets.api_key.is_some())
                    } else {
                        (&pin_keys, self.secrets.pin.is_some())
                    };
                    if let (true, Some(message)) = (in_code, &problem) {
                        // Handed over in code: no variable or file was involved.
                        return ConfigError::at(
                            format!("{SECTION}.{}", keys.name),
                            message.clone(),
                        );
                    }
                    return match problem {
                        None => keys.missing("the telnyx api key"),
                        Some(message) => {
                            let key = match keys.var() {
                                Some(_) => format!("{SECTION}.{}_env", keys.name),
                                None => format!("{SECTION}.{}_file", keys.name),
                            };
                            let error = ConfigError::at(key, message);
                            match keys.var() {
                                Some(v) => error.with_env(v),
                                None => error,
                            }
                        }
                    };
                }
                let key = SETTINGS
                    .iter()
                    .find(|(_, v)| *v == var)
                    .map_or(SECTION.to_owned(), |(k, _)| format!("{SECTION}.{k}"));
                let given = SETTINGS
                    .iter()
                    .find(|(_, v)| *v == var)
                    .is_some_and(|(k, _)| self.given(k).is_some());
                match (problem, given) {
                    (None, _) => ConfigError::at(
                        key,
                        format!("is not set (nor environment variable `{var}`)"),
                    )
                    .with_env(var),
                    (Some(message), true) => ConfigError::at(key, message),
                    (Some(message), false) => ConfigError::at(
                        key,
                        format!("{message} (from environment variable `{var}`)"),
                    )
                    .with_env(var),
                }
            })
        }

        /// Builds the voice approver.
        pub fn build(
            &self,
            env: &Env,
            base: Option<&Path>,
        ) -> Result<crate::telnyx::TelnyxVoiceApprover, ConfigError> {
            self.build_with_phones(env, base, &[])
        }

        /// Builds the voice approver with the operators' phone numbers bound
        /// (`[[operators]] phone`, checked by `operators::phone_bindings`).
        pub(crate) fn build_with_phones(
            &self,
            env: &Env,
            base: Option<&Path>,
            phones: &[crate::spec::operators::PhoneBinding],
        ) -> Result<crate::telnyx::TelnyxVoiceApprover, ConfigError> {
            let mut config = self.config(env, base)?;
            for p in phones {
                config = config
                    .with_phone_operator(&p.number, &p.operator, p.pin.as_ref().map(|s| s.expose()))
                    .map_err(|e| ConfigError::at(p.key.clone(), e.to_string()))?;
            }
            let approver = crate::telnyx::TelnyxVoiceApprover::new(config)
                .map_err(|e| ConfigError::at(SECTION, e.to_string()))?;
            Ok(approver.with_redact_paths(self.redact_paths.iter().cloned()))
        }
    }
}
