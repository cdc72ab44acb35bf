//! [`TelnyxConfig`]: credentials, numbers and call settings, usually read from the
//! environment with [`TelnyxConfig::from_env`].

use std::fmt;
use std::time::Duration;

use thiserror::Error;

use super::verify::PublicKey;

/// The Telnyx Call Control API base URL.
pub const DEFAULT_API_BASE: &str = "https://api.telnyx.com/v2";
/// The path the HTTP server mounts the webhook handler at.
pub const WEBHOOK_PATH: &str = "/api/telnyx/webhook";

/// A secret (the API key, the PIN): never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Everything the voice approver needs to place calls and check webhooks.
///
/// The API key and the PIN never appear in `Debug` output or logs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TelnyxConfig {
    /// `TELNYX_API_KEY`: sent as `Authorization: Bearer ...`.
    pub api_key: Secret,
    /// `TELNYX_CONNECTION_ID`: the Call Control application that places the call.
    pub connection_id: String,
    /// `TELNYX_PHONE_NUMBER`: the number the call comes from (E.164).
    pub from_number: String,
    /// `ADMIN_PHONE_NUMBER`: the person who is asked (E.164). Recorded as the actor of
    /// every decision made on the call.
    pub admin_number: String,
    /// `TELNYX_PUBLIC_KEY`: the account's webhook signing key (base64 of 32 bytes).
    pub public_key: PublicKey,
    /// `TELNYX_API_BASE`: default [`DEFAULT_API_BASE`]; tests point it at a fake.
    pub api_base: String,
    /// Where Telnyx sends this call's webhooks: `SENTINEL_PUBLIC_URL` +
    /// [`WEBHOOK_PATH`]. `None` uses the URL configured on the connection.
    pub webhook_url: Option<String>,
    /// How long the menu waits for a key press after speaking (`TELNYX_GATHER_TIMEOUT_SECS`,
    /// default 10 s).
    pub gather_timeout: Duration,
    /// How many times the menu is replayed after a timeout or a wrong key
    /// (`TELNYX_MAX_REPLAYS`, default 2) before the call ends undecided.
    pub max_replays: u32,
    /// When set (`TELNYX_APPROVAL_PIN`, 4 to 12 digits), approving needs this PIN too.
    pub pin: Option<Secret>,
    /// How long the phone rings before the attempt counts as unanswered
    /// (`TELNYX_RING_TIMEOUT_SECS`, default 30 s).
    pub ring_timeout: Duration,
    /// The longest a call may last (`TELNYX_CALL_TIME_LIMIT_SECS`, 30 to 14400, default 600).
    pub call_time_limit: Duration,
    /// Text-to-speech voice (`TELNYX_VOICE`, default `female`).
    pub voice: String,
    /// Text-to-speech language (`TELNYX_LANGUAGE`, default `en-US`).
    pub language: String,
    /// Answering machine detection mode sent with the dial (`detect` by default; a
    /// machine ends the attempt undecided).
    pub answering_machine_detection: String,
    /// How far a webhook's timestamp may be from now (300 s).
    pub webhook_tolerance: Duration,
    /// How many times [`Gateway::recover`](crate::Gateway::recover) may call the admin
    /// again about one action whose call died (the process stopped mid-call, nobody
    /// answered, the call was cut), across restarts and instances (`TELNYX_MAX_REDIALS`,
    /// 0 to 5, default 1; 0 never calls again). Calls the admin ended on purpose (goodbye, no answer to the menu, a wrong
    /// PIN) are never repeated.
    pub max_redials: u32,
    /// Phone numbers bound to operators (`[[operators]] phone`): a decision on a call to
    /// one of them is recorded under the operator's name, and the operator's own PIN (when
    /// set) is asked for instead of [`pin`](Self::pin). Set with
    /// [`with_phone_operator`](Self::with_phone_operator).
    pub phones: std::collections::BTreeMap<String, PhoneOperator>,
}

/// The operator a phone number is bound to (`[[operators]] phone`, `pin_env`/`pin_file`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PhoneOperator {
    /// The operator's name: the `by` of every decision made on a call to the number.
    pub operator: String,
    /// The operator's own PIN (4 to 12 digits), asked for before an approval counts.
    pub pin: Option<Secret>,
}

/// The configuration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is not set (or empty).
    #[error("environment variable `{var}` is not set")]
    Missing {
        /// The variable.
        var: &'static str,
    },
    /// A variable is set but unusable.
    #[error("environment variable `{var}` is invalid: {message}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// What is wrong (never the value of a secret).
        message: String,
    },
    /// A phone number bound to an operator is unusable.
    #[error("phone number `{number}`: {message}")]
    Phone {
        /// The number as given.
        number: String,
        /// What is wrong (never the PIN).
        message: String,
    },
}

impl TelnyxConfig {
    /// A configuration with the defaults for everything optional.
    pub fn new(
        api_key: impl Into<String>,
        connection_id: impl Into<String>,
        from_number: impl Into<String>,
        admin_number: impl Into<String>,
        public_key: PublicKey,
    ) -> Self {
        Self {
            api_key: Secret::new(api_key),
            connection_id: connection_id.into(),
            from_number: from_number.into(),
            admin_number: admin_number.into(),
            public_key,
            api_base: DEFAULT_API_BASE.to_owned(),
            webhook_url: None,
            gather_timeout: Duration::from_secs(10),
            max_replays: 2,
            pin: None,
            ring_timeout: Duration::from_secs(30),
            call_time_limit: Duration::from_secs(600),
            voice: "female".to_owned(),
            language: "en-US".to_owned(),
            answering_machine_detection: "detect".to_owned(),
            webhook_tolerance: Duration::from_secs(300),
            max_redials: 1,
            phones: std::collections::BTreeMap::new(),
        }
    }

    /// Reads the configuration from the process environment (see the field docs for the
    /// variable names).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (a map in tests, the environment in
    /// [`from_env`](Self::from_env)).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &'static str| {
            lookup(var)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let need = |var: &'static str| get(var).ok_or(ConfigError::Missing { var });

        let public_key = PublicKey::from_base64(&need("TELNYX_PUBLIC_KEY")?).map_err(|e| {
            ConfigError::Invalid {
                var: "TELNYX_PUBLIC_KEY",
                message: e.to_string(),
            }
        })?;
        let mut config = Self::new(
            need("TELNYX_API_KEY")?,
            need("TELNYX_CONNECTION_ID")?,
            phone("TELNYX_PHONE_NUMBER", need("TELNYX_PHONE_NUMBER")?)?,
            phone("ADMIN_PHONE_NUMBER", need("ADMIN_PHONE_NUMBER")?)?,
            public_key,
        );
        if let Some(base) = get("TELNYX_API_BASE") {
            config.api_base = url("TELNYX_API_BASE", &base)?;
        }
        if let Some(public) = get("SENTINEL_PUBLIC_URL") {
            config.webhook_url = Some(format!(
                "{}{WEBHOOK_PATH}",
                url("SENTINEL_PUBLIC_URL", &public)?
            ));
        }
        if let Some(v) = get("TELNYX_GATHER_TIMEOUT_SECS") {
            config.gather_timeout =
                Duration::from_secs(number("TELNYX_GATHER_TIMEOUT_SECS", &v, 1, 120)?);
        }
        if let Some(v) = get("TELNYX_MAX_REDIALS") {
            config.max_redials =
                u32::try_from(number("TELNYX_MAX_REDIALS", &v, 0, 5)?).unwrap_or(1);
        }
        if let Some(v) = get("TELNYX_MAX_REPLAYS") {
            config.max_replays =
                u32::try_from(number("TELNYX_MAX_REPLAYS", &v, 0, 10)?).unwrap_or(2);
        }
        if let Some(v) = get("TELNYX_RING_TIMEOUT_SECS") {
            config.ring_timeout =
                Duration::from_secs(number("TELNYX_RING_TIMEOUT_SECS", &v, 5, 120)?);
        }
        if let Some(v) = get("TELNYX_CALL_TIME_LIMIT_SECS") {
            config.call_time_limit =
                Duration::from_secs(number("TELNYX_CALL_TIME_LIMIT_SECS", &v, 30, 14_400)?);
        }
        if let Some(pin) = get("TELNYX_APPROVAL_PIN") {
            config.pin = Some(check_pin(&pin).map_err(|message| ConfigError::Invalid {
                var: "TELNYX_APPROVAL_PIN",
                message,
            })?);
        }
        if let Some(voice) = get("TELNYX_VOICE") {
            config.voice = voice;
        }
        if let Some(language) = get("TELNYX_LANGUAGE") {
            config.language = language;
        }
        Ok(config)
    }

    /// Sets the webhook URL from the server's public base URL (e.g.
    /// `https://sentinel.example.com`): `{base}/api/telnyx/webhook`.
    #[must_use]
    pub fn with_public_url(mut self, base: &str) -> Self {
        self.webhook_url = Some(format!("{}{WEBHOOK_PATH}", base.trim_end_matches('/')));
        self
    }

    /// Sets how many times recovery may call the admin again about one action (see
    /// [`max_redials`](Self::max_redials)).
    #[must_use]
    pub fn with_max_redials(mut self, redials: u32) -> Self {
        self.max_redials = redials;
        self
    }

    /// Sets the API base URL (tests use a fake Telnyx on localhost).
    #[must_use]
    pub fn with_api_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = base.into().trim_end_matches('/').to_owned();
        self
    }

    /// Requires a PIN (4 to 12 digits) after the approval key or spoken approval.
    pub fn with_pin(mut self, pin: &str) -> Result<Self, ConfigError> {
        self.pin = Some(check_pin(pin).map_err(|message| ConfigError::Invalid {
            var: "TELNYX_APPROVAL_PIN",
            message,
        })?);
        Ok(self)
    }

    /// Binds `number` (E.164) to `operator`: decisions on calls to it are recorded under
    /// the operator's name, and `pin` (4 to 12 digits), when given, must be entered before
    /// an approval counts. A number bound twice, a bad number or PIN is an error (never
    /// showing the PIN).
    pub fn with_phone_operator(
        mut self,
        number: &str,
        operator: &str,
        pin: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let fail = |message: String| ConfigError::Phone {
            number: number.to_owned(),
            message,
        };
        if !is_e164(number) {
            return Err(fail(
                "is not an E.164 number like `+15551234567`".to_owned(),
            ));
        }
        if let Some(other) = self.phones.get(number) {
            return Err(fail(format!(
                "is bound to operator `{}` already",
                other.operator
            )));
        }
        if operator.is_empty() {
            return Err(fail("needs an operator name".to_owned()));
        }
        let pin = pin.map(check_pin).transpose().map_err(fail)?;
        self.phones.insert(
            number.to_owned(),
            PhoneOperator {
                operator: operator.to_owned(),
                pin,
            },
        );
        Ok(self)
    }

    /// Who answers a call to `number`: the operator it is bound to, else the number itself.
    pub fn identity<'a>(&'a self, number: &'a str) -> &'a str {
        self.phones
            .get(number)
            .map_or(number, |p| p.operator.as_str())
    }

    /// The PIN a call to `number` asks for: the bound operator's own PIN, else the
    /// approver-wide [`pin`](Self::pin) (unbound numbers, and operators without a PIN).
    pub(crate) fn pin_for(&self, number: &str) -> Option<Secret> {
        self.phones
            .get(number)
            .and_then(|p| p.pin.clone())
            .or_else(|| self.pin.clone())
    }

    /// Sets how long the menu waits for a key press.
    #[must_use]
    pub fn with_gather_timeout(mut self, timeout: Duration) -> Self {
        self.gather_timeout = timeout;
        self
    }

    /// Sets how many times the menu is replayed after a timeout or a wrong key.
    #[must_use]
    pub fn with_max_replays(mut self, replays: u32) -> Self {
        self.max_replays = replays;
        self
    }
}

fn check_pin(pin: &str) -> Result<Secret, String> {
    if (4..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(Secret::new(pin))
    } else {
        Err("the PIN must be 4 to 12 digits".to_owned())
    }
}

/// True for an E.164 number: `+` and 8 to 15 digits.
pub(crate) fn is_e164(value: &str) -> bool {
    let digits = value.strip_prefix('+').unwrap_or("");
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

fn phone(var: &'static str, value: String) -> Result<String, ConfigError> {
    if is_e164(&value) {
        Ok(value)
    } else {
        Err(ConfigError::Invalid {
            var,
            message: format!("`{value}` is not an E.164 number like `+15551234567`"),
        })
    }
}

fn url(var: &'static str, value: &str) -> Result<String, ConfigError> {
    if value.starts_with("https://") || value.starts_with("http://") {
        Ok(value.trim_end_matches('/').to_owned())
    } else {
        Err(ConfigError::Invalid {
            var,
            message: format!("`{value}` is not an http(s) URL"),
        })
    }
}

fn number(var: &'static str, value: &str, min: u64, max: u64) -> Result<u64, ConfigError> {
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid {
            var,
            message: format!("`{value}` is not a whole number from {min} to {max}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const KEY: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

    fn env(extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut m: HashMap<String, String> = [
            ("TELNYX_API_KEY", "KEY0123456789abcdefghijklmnop"),
            ("TELNYX_CONNECTION_ID", "1234567890"),
            ("TELNYX_PHONE_NUMBER", "+15550000001"),
            ("ADMIN_PHONE_NUMBER", "+15550000002"),
            ("TELNYX_PUBLIC_KEY", KEY),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in extra {
            m.insert((*k).to_owned(), (*v).to_owned());
        }
        m
    }

    fn load(m: &HashMap<String, String>) -> Result<TelnyxConfig, ConfigError> {
        TelnyxConfig::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn reads_required_and_optional_variables() {
        let c = load(&env(&[
            ("SENTINEL_PUBLIC_URL", "https://sentinel.example.com/"),
            ("TELNYX_API_BASE", "http://127.0.0.1:9/v2"),
            ("TELNYX_APPROVAL_PIN", "4321"),
            ("TELNYX_MAX_REPLAYS", "3"),
        ]))
        .unwrap();
        assert_eq!(
            c.webhook_url.as_deref(),
            Some("https://sentinel.example.com/api/telnyx/webhook")
        );
        assert_eq!(c.api_base, "http://127.0.0.1:9/v2");
        assert_eq!(c.max_replays, 3);
        assert_eq!(c.pin.as_ref().map(Secret::expose), Some("4321"));
        let shown = format!("{c:?}");
        assert!(!shown.contains("KEY0123456789"), "{shown}");
        assert!(!shown.contains("4321"), "{shown}");
    }

    #[test]
    fn defaults_and_missing_variables() {
        let c = load(&env(&[])).unwrap();
        assert_eq!(c.api_base, DEFAULT_API_BASE);
        assert_eq!(c.webhook_url, None);
        let mut m = env(&[]);
        m.remove("ADMIN_PHONE_NUMBER");
        assert_eq!(
            load(&m).unwrap_err(),
            ConfigError::Missing {
                var: "ADMIN_PHONE_NUMBER"
            }
        );
    }

    #[test]
    fn rejects_bad_values_without_echoing_secrets() {
        let bad = [
            ("TELNYX_PUBLIC_KEY", "not base64!"),
            ("ADMIN_PHONE_NUMBER", "555-1234"),
            ("TELNYX_APPROVAL_PIN", "12ab"),
            ("TELNYX_GATHER_TIMEOUT_SECS", "0"),
            ("SENTINEL_PUBLIC_URL", "sentinel.example.com"),
        ];
        for (var, value) in bad {
            let err = load(&env(&[(var, value)])).unwrap_err();
            assert!(
                matches!(err, ConfigError::Invalid { var: v, .. } if v == var),
                "{var}: {err}"
            );
            if var == "TELNYX_APPROVAL_PIN" {
                assert!(!err.to_string().contains(value));
            }
        }
    }
}
