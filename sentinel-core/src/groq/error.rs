//! Typed errors of the Groq scorer.

use std::time::Duration;

use thiserror::Error;

use crate::error::ScorerError;

/// Why the Groq scorer could not be built or could not get an answer.
///
/// Messages never contain the API key: server messages are redacted and scrubbed of it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum GroqError {
    /// No API key was given (`GROQ_API_KEY` unset or empty).
    #[error("no api key: set `GROQ_API_KEY` or call `api_key` on the builder")]
    MissingApiKey,
    /// A builder setting or environment variable is invalid.
    #[error("invalid setting `{setting}`: {message}")]
    Config {
        /// The setting's name.
        setting: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The server refused the key (HTTP 401 or 403). Not retried.
    #[error("the api refused the key (http {status}){}", detail(.message))]
    Auth {
        /// The HTTP status.
        status: u16,
        /// The server's message, redacted.
        message: String,
    },
    /// The server kept answering HTTP 429.
    #[error("rate limited (http 429){}", .retry_after.map(|d| format!(", retry after {} s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The last `retry-after` the server sent.
        retry_after: Option<Duration>,
    },
    /// No answer within the per-attempt timeout or the total deadline.
    #[error("no answer within {} ms", .after.as_millis())]
    Timeout {
        /// The time limit that was hit.
        after: Duration,
    },
    /// The server answered with another error status (400, 404, 5xx...).
    #[error("the api answered http {status}{}", detail(.message))]
    Status {
        /// The HTTP status.
        status: u16,
        /// The server's message, redacted.
        message: String,
    },
    /// The reply could not be used: not JSON, a missing key, a score out of range.
    #[error("bad reply from the model: {0}")]
    BadReply(String),
    /// The request could not be sent or the answer not read (DNS, connection, TLS).
    #[error("cannot reach the api: {0}")]
    Transport(String),
}

fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

impl GroqError {
    /// True when another attempt may succeed (429, 5xx, timeouts, connection errors).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Timeout { .. } | Self::Transport(_) => true,
            Self::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// A short stable name of the kind: `auth`, `rate_limited`, `timeout`, `bad_reply`,
    /// `transport`, `status`, `config` or `missing_api_key`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingApiKey => "missing_api_key",
            Self::Config { .. } => "config",
            Self::Auth { .. } => "auth",
            Self::RateLimited { .. } => "rate_limited",
            Self::Timeout { .. } => "timeout",
            Self::Status { .. } => "status",
            Self::BadReply(_) => "bad_reply",
            Self::Transport(_) => "transport",
        }
    }
}

impl From<GroqError> for ScorerError {
    fn from(e: GroqError) -> Self {
        ScorerError::with_source(format!("groq: {e}"), e)
    }
}

impl crate::code::Coded for GroqError {
    fn code(&self) -> crate::code::ErrorCode {
        match self {
            Self::MissingApiKey | Self::Config { .. } => crate::code::ErrorCode::InvalidConfig,
            _ => crate::code::ErrorCode::ScorerFailed,
        }
    }
}
