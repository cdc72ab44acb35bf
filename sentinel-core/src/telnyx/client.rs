//! A small Telnyx Call Control client: dial, gather using speak, speak, transcription
//! start/stop and hang up, with typed errors and retries of 429/5xx.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use super::config::Secret;

/// Telnyx's code for "call has already ended".
pub const CALL_ALREADY_ENDED: &str = "90018";

/// `POST /calls`: place the approval call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DialRequest {
    /// The Call Control application.
    pub connection_id: String,
    /// The admin's number.
    pub to: String,
    /// The Telnyx number calling.
    pub from: String,
    /// Where this call's webhooks go (else the application's URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// Always `POST` when `webhook_url` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url_method: Option<String>,
    /// Seconds to ring before giving up.
    pub timeout_secs: u64,
    /// Longest call, in seconds.
    pub time_limit_secs: u64,
    /// Answering machine detection mode.
    pub answering_machine_detection: String,
    /// Base64 state echoed in webhooks.
    pub client_state: String,
    /// Idempotency key.
    pub command_id: String,
}

/// `actions/gather_using_speak`: speak the menu and collect one key.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct GatherUsingSpeakRequest {
    /// What is said.
    pub payload: String,
    /// Always `text`.
    pub payload_type: String,
    /// The voice.
    pub voice: String,
    /// The language.
    pub language: String,
    /// Keys accepted.
    pub valid_digits: String,
    /// Fewest keys.
    pub minimum_digits: u32,
    /// Most keys.
    pub maximum_digits: u32,
    /// Wait after speaking, in milliseconds.
    pub timeout_millis: u64,
    /// Plays of the prompt without input before the gather ends (Sentinel replays itself).
    pub maximum_tries: u32,
    /// Key that ends the input early.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminating_digit: Option<String>,
    /// Base64 state echoed in webhooks.
    pub client_state: String,
    /// Idempotency key.
    pub command_id: String,
}

/// `actions/speak`: say something.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SpeakRequest {
    /// What is said.
    pub payload: String,
    /// Always `text`.
    pub payload_type: String,
    /// The voice.
    pub voice: String,
    /// The language.
    pub language: String,
    /// Base64 state echoed in webhooks.
    pub client_state: String,
    /// Idempotency key.
    pub command_id: String,
}

/// `actions/transcription_start`: listen to the admin.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TranscriptionStartRequest {
    /// The speech recogniser.
    pub transcription_engine: String,
    /// `inbound`: only the admin's voice, not Sentinel's.
    pub transcription_tracks: String,
    /// Base64 state echoed in webhooks.
    pub client_state: String,
    /// Idempotency key.
    pub command_id: String,
}

/// `actions/transcription_stop` and `actions/hangup`: no options but state and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CommandRequest {
    /// Base64 state echoed in webhooks.
    pub client_state: String,
    /// Idempotency key.
    pub command_id: String,
}

/// The ids of a placed call.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct DialedCall {
    /// Where commands go.
    pub call_control_id: String,
    /// The leg id.
    #[serde(default)]
    pub call_leg_id: Option<String>,
    /// The session id.
    #[serde(default)]
    pub call_session_id: Option<String>,
}

/// One entry of Telnyx's `{"errors": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ApiErrorDetail {
    /// Telnyx's error code, e.g. `90018`.
    #[serde(default, deserialize_with = "code_as_string")]
    pub code: String,
    /// Short title.
    #[serde(default)]
    pub title: String,
    /// Longer explanation.
    #[serde(default)]
    pub detail: Option<String>,
}

fn code_as_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

/// A Telnyx request failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TelnyxError {
    /// Telnyx answered with an error status.
    #[error("telnyx refused `{path}` with HTTP {status}: {}", describe(.errors))]
    Api {
        /// The request path (no secrets).
        path: String,
        /// The HTTP status.
        status: u16,
        /// The errors Telnyx listed.
        errors: Vec<ApiErrorDetail>,
    },
    /// Telnyx could not be reached (after retries).
    #[error("telnyx request `{path}` failed: {message}")]
    Transport {
        /// The request path.
        path: String,
        /// What failed.
        message: String,
    },
    /// Telnyx answered 2xx with a body this client cannot read.
    #[error("telnyx response to `{path}` is unreadable: {message}")]
    Decode {
        /// The request path.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl TelnyxError {
    /// True when Telnyx says the call has already ended (code 90018).
    pub fn is_call_ended(&self) -> bool {
        matches!(self, TelnyxError::Api { errors, .. } if errors.iter().any(|e| e.code == CALL_ALREADY_ENDED))
    }
}

impl crate::code::Coded for TelnyxError {
    fn code(&self) -> crate::code::ErrorCode {
        crate::code::ErrorCode::ApproverFailed
    }
}

fn describe(errors: &[ApiErrorDetail]) -> String {
    if errors.is_empty() {
        return "no error details".to_owned();
    }
    errors
        .iter()
        .map(|e| match &e.detail {
            Some(d) if !d.is_empty() => format!("{} {} ({d})", e.code, e.title),
            _ => format!("{} {}", e.code, e.title),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// How a hang-up went: both count as success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupOutcome {
    /// Telnyx hung up the call.
    HungUp,
    /// The call had already ended (90018).
    AlreadyEnded,
}

/// Retries of 429 and 5xx answers and of connection failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Total attempts, at least 1.
    pub attempts: u32,
    /// First backoff; doubles each time.
    pub base_delay: Duration,
    /// Longest wait between attempts, whatever the rate-limit headers ask.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// The Telnyx Call Control client. Cheap to clone.
#[derive(Clone)]
pub struct TelnyxClient {
    http: reqwest::Client,
    base: String,
    api_key: Secret,
    retry: RetryPolicy,
}

impl fmt::Debug for TelnyxClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelnyxClient")
            .field("base", &self.base)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl TelnyxClient {
    /// A client for `base` (e.g. `https://api.telnyx.com/v2`) with `api_key`.
    pub fn new(base: &str, api_key: Secret) -> Result<Self, TelnyxError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| TelnyxError::Transport {
                path: String::new(),
                message: e.to_string(),
            })?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            api_key,
            retry: RetryPolicy::default(),
        })
    }

    /// Sets the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// `POST /calls`.
    pub async fn dial(&self, request: &DialRequest) -> Result<DialedCall, TelnyxError> {
        let path = "/calls".to_owned();
        let data = self.post(&path, request).await?;
        serde_json::from_value(data).map_err(|e| TelnyxError::Decode {
            path,
            message: e.to_string(),
        })
    }

    /// `POST /calls/{id}/actions/gather_using_speak`.
    pub async fn gather_using_speak(
        &self,
        call_control_id: &str,
        request: &GatherUsingSpeakRequest,
    ) -> Result<(), TelnyxError> {
        self.post(&action_path(call_control_id, "gather_using_speak"), request)
            .await
            .map(drop)
    }

    /// `POST /calls/{id}/actions/speak`.
    pub async fn speak(
        &self,
        call_control_id: &str,
        request: &SpeakRequest,
    ) -> Result<(), TelnyxError> {
        self.post(&action_path(call_control_id, "speak"), request)
            .await
            .map(drop)
    }

    /// `POST /calls/{id}/actions/transcription_start`.
    pub async fn transcription_start(
        &self,
        call_control_id: &str,
        request: &TranscriptionStartRequest,
    ) -> Result<(), TelnyxError> {
        self.post(
            &action_path(call_control_id, "transcription_start"),
            request,
        )
        .await
        .map(drop)
    }

    /// `POST /calls/{id}/actions/transcription_stop`.
    pub async fn transcription_stop(
        &self,
        call_control_id: &str,
        request: &CommandRequest,
    ) -> Result<(), TelnyxError> {
        self.post(&action_path(call_control_id, "transcription_stop"), request)
            .await
            .map(drop)
    }

    /// `POST /calls/{id}/actions/hangup`. A call that already ended is not an error.
    pub async fn hangup(
        &self,
        call_control_id: &str,
        request: &CommandRequest,
    ) -> Result<HangupOutcome, TelnyxError> {
        match self
            .post(&action_path(call_control_id, "hangup"), request)
            .await
        {
            Ok(_) => Ok(HangupOutcome::HungUp),
            Err(e) if e.is_call_ended() => Ok(HangupOutcome::AlreadyEnded),
            Err(e) => Err(e),
        }
    }

    /// Sends one command, retrying 429, 5xx and connection failures (the same
    /// `command_id` makes the retries idempotent). Returns the response's `data`.
    async fn post(&self, path: &str, body: &impl Serialize) -> Result<Value, TelnyxError> {
        let url = format!("{}{path}", self.base);
        let attempts = self.retry.attempts.max(1);
        let mut backoff = self.retry.base_delay;
        for attempt in 1..=attempts {
            let last = attempt == attempts;
            let sent = self
                .http
                .post(&url)
                .bearer_auth(self.api_key.expose())
                .json(body)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) if !last && (e.is_connect() || e.is_timeout()) => {
                    tracing::warn!(path, attempt, "telnyx unreachable; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.retry.max_delay);
                    continue;
                }
                // reqwest errors carry the URL (no key: it is in a header), never the key.
                Err(e) => {
                    return Err(TelnyxError::Transport {
                        path: path.to_owned(),
                        message: e.without_url().to_string(),
                    });
                }
            };
            let status = response.status();
            if status.is_success() {
                let value: Value = response.json().await.map_err(|e| TelnyxError::Decode {
                    path: path.to_owned(),
                    message: e.without_url().to_string(),
                })?;
                return Ok(value.get("data").cloned().unwrap_or(Value::Null));
            }
            let retryable = status.as_u16() == 429 || status.is_server_error();
            let wait = rate_limit_wait(response.headers())
                .unwrap_or(backoff)
                .min(self.retry.max_delay);
            let text = response.text().await.unwrap_or_default();
            if retryable && !last {
                tracing::warn!(
                    path,
                    attempt,
                    status = status.as_u16(),
                    wait_ms = wait.as_millis() as u64,
                    "telnyx busy; retrying"
                );
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).min(self.retry.max_delay);
                continue;
            }
            return Err(TelnyxError::Api {
                path: path.to_owned(),
                status: status.as_u16(),
                errors: parse_errors(&text),
            });
        }
        Err(TelnyxError::Transport {
            path: path.to_owned(),
            message: "no attempt was made".to_owned(),
        })
    }
}

/// `/calls/{id}/actions/{action}`, the id percent-encoded.
fn action_path(call_control_id: &str, action: &str) -> String {
    let mut id = String::with_capacity(call_control_id.len());
    for b in call_control_id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            id.push(char::from(b));
        } else {
            id.push_str(&format!("%{b:02X}"));
        }
    }
    format!("/calls/{id}/actions/{action}")
}

/// The wait asked by `Retry-After` or `x-ratelimit-reset` (both in seconds).
fn rate_limit_wait(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    ["retry-after", "x-ratelimit-reset"]
        .iter()
        .find_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?.trim();
            value
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64)
        })
}

/// Reads `{"errors":[...]}`; anything else becomes one entry with the text's start.
pub fn parse_errors(text: &str) -> Vec<ApiErrorDetail> {
    #[derive(Deserialize)]
    struct Body {
        errors: Vec<ApiErrorDetail>,
    }
    match serde_json::from_str::<Body>(text) {
        Ok(body) => body.errors,
        Err(_) => vec![ApiErrorDetail {
            code: String::new(),
            title: "unreadable error body".to_owned(),
            detail: Some(text.chars().take(200).collect()),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_error_bodies_and_spots_ended_calls() {
        let errors = parse_errors(
            r#"{"errors":[{"code":"90018","title":"Call has already ended","detail":"This call is no longer active."}]}"#,
        );
        assert_eq!(errors[0].code, "90018");
        let e = TelnyxError::Api {
            path: "/calls/x/actions/hangup".into(),
            status: 422,
            errors,
        };
        assert!(e.is_call_ended());
        assert_eq!(
            e.to_string(),
            "telnyx refused `/calls/x/actions/hangup` with HTTP 422: 90018 Call has already ended (This call is no longer active.)"
        );
        let numeric = parse_errors(r#"{"errors":[{"code":10011,"title":"Too many requests"}]}"#);
        assert_eq!(numeric[0].code, "10011");
        assert_eq!(
            parse_errors("<html>bad gateway</html>")[0].title,
            "unreadable error body"
        );
    }

    #[test]
    fn encodes_call_ids_in_paths() {
        assert_eq!(
            action_path("v3:ab_C-1", "speak"),
            "/calls/v3:ab_C-1/actions/speak"
        );
        assert_eq!(
            action_path("a/b c", "hangup"),
            "/calls/a%2Fb%20c/actions/hangup"
        );
    }
}
