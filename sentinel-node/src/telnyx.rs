//! The `telnyx` approver setting: configuration of the core's voice approver
//! ([`sentinel_core::TelnyxVoiceApprover`]), and the webhook entry point a Node web app
//! mounts (`POST /api/telnyx/webhook`).
//!
//! Each setting left out comes from its environment variable, then from the core's
//! default: the core's [`TelnyxConfig::from_lookup`] reads and checks them all. The call
//! flow, signature checks and decisions are the core's.

use std::collections::HashMap;

use napi::bindgen_prelude::Uint8Array;
use napi_derive::napi;
use sentinel_core::telnyx::ConfigError;
use sentinel_core::{Pack, TelnyxConfig, TelnyxVoiceApprover};

use crate::errors::config_error;
use crate::gateway::NativeGateway;

/// Settings of the Telnyx voice approver; each defaults to its environment variable.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct TelnyxOptions {
    /// `TELNYX_API_KEY`. Never printed.
    pub api_key: Option<String>,
    /// `TELNYX_CONNECTION_ID`: the Call Control application that places the call.
    pub connection_id: Option<String>,
    /// `TELNYX_PHONE_NUMBER`: the number calling (E.164).
    pub from_number: Option<String>,
    /// `ADMIN_PHONE_NUMBER`: the person asked (E.164).
    pub admin_number: Option<String>,
    /// `TELNYX_PUBLIC_KEY`: the webhook signing key, base64 of 32 bytes.
    pub public_key: Option<String>,
    /// `SENTINEL_PUBLIC_URL`: webhooks go to `{publicUrl}/api/telnyx/webhook`.
    pub public_url: Option<String>,
    /// `TELNYX_API_BASE`: default `https://api.telnyx.com/v2`.
    pub api_base: Option<String>,
    /// `TELNYX_APPROVAL_PIN`: 4 to 12 digits also needed to approve. Never printed.
    pub pin: Option<String>,
    /// `TELNYX_GATHER_TIMEOUT_SECS`: how long the menu waits for a key (1-120, default 10).
    pub gather_timeout_secs: Option<f64>,
    /// `TELNYX_MAX_REPLAYS`: menu replays after silence or a wrong key (0-10, default 2).
    pub max_replays: Option<f64>,
    /// `TELNYX_RING_TIMEOUT_SECS`: how long the phone rings (5-120, default 30).
    pub ring_timeout_secs: Option<f64>,
    /// `TELNYX_CALL_TIME_LIMIT_SECS`: the longest call (30-14400, default 600).
    pub call_time_limit_secs: Option<f64>,
    /// `TELNYX_VOICE`: text-to-speech voice (default `female`).
    pub voice: Option<String>,
    /// `TELNYX_LANGUAGE`: text-to-speech language (default `en-US`).
    pub language: Option<String>,
    /// Paths masked in what is read aloud, besides those the packs declare.
    pub redact_paths: Option<Vec<String>>,
}

/// JS option ↔ environment variable, as the core names them.
const SETTINGS: [(&str, &str); 14] = [
    ("apiKey", "TELNYX_API_KEY"),
    ("connectionId", "TELNYX_CONNECTION_ID"),
    ("fromNumber", "TELNYX_PHONE_NUMBER"),
    ("adminNumber", "ADMIN_PHONE_NUMBER"),
    ("publicKey", "TELNYX_PUBLIC_KEY"),
    ("publicUrl", "SENTINEL_PUBLIC_URL"),
    ("apiBase", "TELNYX_API_BASE"),
    ("pin", "TELNYX_APPROVAL_PIN"),
    ("gatherTimeoutSecs", "TELNYX_GATHER_TIMEOUT_SECS"),
    ("maxReplays", "TELNYX_MAX_REPLAYS"),
    ("ringTimeoutSecs", "TELNYX_RING_TIMEOUT_SECS"),
    ("callTimeLimitSecs", "TELNYX_CALL_TIME_LIMIT_SECS"),
    ("voice", "TELNYX_VOICE"),
    ("language", "TELNYX_LANGUAGE"),
];

impl TelnyxOptions {
    /// The given values, in the order of [`SETTINGS`], as the environment would spell them.
    fn values(&self) -> [Option<String>; 14] {
        let n = |v: Option<f64>| {
            v.map(|n| {
                if n.is_finite() && n.fract() == 0.0 {
                    format!("{}", n as i64)
                } else {
                    n.to_string()
                }
            })
        };
        [
            self.api_key.clone(),
            self.connection_id.clone(),
            self.from_number.clone(),
            self.admin_number.clone(),
            self.public_key.clone(),
            self.public_url.clone(),
            self.api_base.clone(),
            self.pin.clone(),
            n(self.gather_timeout_secs),
            n(self.max_replays),
            n(self.ring_timeout_secs),
            n(self.call_time_limit_secs),
            self.voice.clone(),
            self.language.clone(),
        ]
    }
}

/// Builds the approver: each setting from `options`, else from the environment; it masks
/// the `redact` paths of `packs` in what it reads aloud.
pub fn build(options: &TelnyxOptions, packs: &[Pack]) -> napi::Result<TelnyxVoiceApprover> {
    let given = options.values();
    let any_given = given.iter().any(Option::is_some);
    let index = |var: &str| SETTINGS.iter().position(|(_, v)| *v == var);
    let config = TelnyxConfig::from_lookup(|var| {
        index(var)
            .and_then(|i| given[i].clone())
            .or_else(|| std::env::var(var).ok())
    })
    .map_err(|e| {
        let (var, detail) = match &e {
            ConfigError::Missing { var } => {
                let option = index(var).map_or("", |i| SETTINGS[i].0);
                (
                    *var,
                    format!("not set: pass `approver.telnyx.{option}` or set `{var}`"),
                )
            }
            ConfigError::Invalid { var, message } => (*var, message.clone()),
            other => ("approver.telnyx", other.to_string()),
        };
        let i = index(var);
        let name = match i {
            Some(i)
                if given[i].is_some()
                    || (any_given && matches!(e, ConfigError::Missing { .. })) =>
            {
                format!("approver.telnyx.{}", SETTINGS[i].0)
            }
            _ => var.to_owned(),
        };
        config_error(&name, detail)
    })?;
    let approver =
        TelnyxVoiceApprover::new(config).map_err(|e| config_error("approver.telnyx", e))?;
    let _ = packs; // each request carries the paths its packs declare
    Ok(approver
        .with_redact_paths(options.redact_paths.clone().unwrap_or_default()))
}

#[napi]
impl NativeGateway {
    /// Verifies and handles one Telnyx webhook (`POST /api/telnyx/webhook`) with its
    /// headers and raw body; resolves to the HTTP status to answer: 200 when handled or
    /// ignored (and for an event already handled), 401 for a bad signature or timestamp,
    /// 400 for an unreadable body, 502 when a command to Telnyx failed.
    #[napi]
    pub async fn handle_telnyx_webhook(
        &self,
        headers: HashMap<String, String>,
        body: Uint8Array,
    ) -> napi::Result<u32> {
        let Some(approver) = &self.telnyx else {
            return Err(config_error(
                "approver",
                "no Telnyx approver is configured (`approver: 'telnyx'`)",
            ));
        };
        Ok(match approver.handle_webhook(&headers, &body).await {
            Ok(_) => 200,
            Err(e) => u32::from(e.http_status()),
        })
    }
}
