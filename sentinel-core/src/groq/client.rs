//! The HTTP client: `POST {base}/chat/completions` with timeouts, retries (exponential
//! backoff with jitter, `retry-after`), a total deadline and a concurrency limit.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::error::GroqError;
use super::prompt::Message;
use super::reply;
use super::stats::Counters;
use crate::redact::redact_text;

/// The API key. Its `Debug` prints `***`; it is never formatted anywhere else.
#[derive(Clone)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    pub(crate) fn new(key: String) -> Self {
        Self(key)
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How long to wait and how often to try.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt (429, 5xx, timeouts, connection errors).
    pub(crate) max_retries: u32,
    /// Time limit of one attempt.
    pub(crate) timeout: Duration,
    /// Time limit of a whole assessment, retries and waits included.
    pub(crate) deadline: Duration,
    /// First backoff; doubled each retry, capped at 8 times this, with jitter.
    pub(crate) backoff: Duration,
}

/// An OpenAI-compatible chat completions client.
pub(crate) struct ChatClient {
    http: reqwest::Client,
    endpoint: String,
    key: ApiKey,
    model: String,
    policy: RetryPolicy,
    limit: Semaphore,
    counters: Arc<Counters>,
}

impl fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatClient")
            .field("endpoint", &self.endpoint)
            .field("key", &self.key)
            .field("model", &self.model)
            .field("policy", &self.policy)
            .field("concurrency", &self.limit.available_permits())
            .finish_non_exhaustive()
    }
}

/// What the caller wants back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `response_format: {"type": "json_object"}`.
    Json,
    /// Plain text.
    Text,
}

impl ChatClient {
    pub(crate) fn new(
        base_url: &str,
        key: ApiKey,
        model: String,
        policy: RetryPolicy,
        connect_timeout: Duration,
        concurrency: usize,
        counters: Arc<Counters>,
    ) -> Result<Self, GroqError> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .user_agent(concat!("sentinel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GroqError::Config {
                setting: "client",
                message: e.to_string(),
            })?;
        Ok(Self {
            http,
            endpoint: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            key,
            model,
            policy,
            limit: Semaphore::new(concurrency),
            counters,
        })
    }

    pub(crate) fn model(&self) -> &str {
        &self.model
    }

    pub(crate) fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// The request body.
    pub(crate) fn body(&self, messages: &[Message], format: Format) -> Value {
        let mut body = json!({"model": self.model, "messages": messages, "temperature": 0});
        if format == Format::Json {
            body["response_format"] = json!({"type": "json_object"});
        }
        body
    }

    /// Sends the request, retrying transient failures until `deadline`, and returns the
    /// first choice's text. `retried` says whether an earlier call for the same question
    /// was already made (for the stats).
    pub(crate) async fn complete(
        &self,
        body: &Value,
        deadline: Instant,
        mut retried: bool,
    ) -> Result<String, GroqError> {
        let mut attempt: u32 = 0;
        loop {
            let result = self.attempt(body, deadline, retried).await;
            retried = true;
            let err = match result {
                Ok(text) => return Ok(text),
                Err(e) => e,
            };
            if !err.is_retryable() || attempt >= self.policy.max_retries {
                return Err(err);
            }
            let wait = match &err {
                GroqError::RateLimited {
                    retry_after: Some(after),
                } => *after,
                _ => backoff(self.policy.backoff, attempt),
            };
            if Instant::now() + wait >= deadline {
                tracing::warn!(error = %err, "giving up: the next retry would pass the deadline");
                return Err(err);
            }
            tracing::info!(error = %err, wait_ms = wait.as_millis() as u64, attempt = attempt + 1, "retrying the llm call");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One HTTP request under the concurrency limit and the time limits.
    async fn attempt(
        &self,
        body: &Value,
        deadline: Instant,
        retry: bool,
    ) -> Result<String, GroqError> {
        let now = Instant::now();
        if now >= deadline {
            return Err(GroqError::Timeout {
                after: self.policy.deadline,
            });
        }
        let remaining = deadline - now;
        let (limit, limit_err) = if remaining < self.policy.timeout {
            (
                remaining,
                GroqError::Timeout {
                    after: self.policy.deadline,
                },
            )
        } else {
            (
                self.policy.timeout,
                GroqError::Timeout {
                    after: self.policy.timeout,
                },
            )
        };
        let run = async {
            let _permit = self
                .limit
                .acquire()
                .await
                .map_err(|_| GroqError::Transport("the client is shut down".into()))?;
            self.counters.call(retry);
            self.send(body).await
        };
        tokio::time::timeout(limit, run)
            .await
            .unwrap_or(Err(limit_err))
    }

    async fn send(&self, body: &Value) -> Result<String, GroqError> {
        let mut auth =
            HeaderValue::try_from(format!("Bearer {}", self.key.expose())).map_err(|_| {
                GroqError::Config {
                    setting: "api_key",
                    message: "contains characters not allowed in a header".into(),
                }
            })?;
        auth.set_sensitive(true);
        let response = self
            .http
            .post(&self.endpoint)
            .header(AUTHORIZATION, auth)
            .json(body)
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(3600.0)));
        let bytes = response.bytes().await.map_err(|e| self.transport(&e))?;
        if status.is_success() {
            return reply::message_content(&bytes);
        }
        let message = self.server_message(&bytes);
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => GroqError::Auth {
                status: status.as_u16(),
                message,
            },
            StatusCode::TOO_MANY_REQUESTS => GroqError::RateLimited { retry_after },
            _ => GroqError::Status {
                status: status.as_u16(),
                message,
            },
        })
    }

    /// A transport error, without the key (reqwest never prints headers, but be sure).
    fn transport(&self, e: &reqwest::Error) -> GroqError {
        if e.is_timeout() {
            return GroqError::Timeout {
                after: self.policy.timeout,
            };
        }
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        GroqError::Transport(self.scrub(&text))
    }

    /// The `error.message` of an error body (or its start), redacted, at most 200 characters.
    fn server_message(&self, body: &[u8]) -> String {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let text = match parsed
            .as_ref()
            .and_then(|v| v.pointer("/error/message"))
            .and_then(Value::as_str)
        {
            Some(m) => m.to_owned(),
            None => String::from_utf8_lossy(body).into_owned(),
        };
        let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let short: String = one_line.chars().take(200).collect();
        self.scrub(&short)
    }

    /// Removes the key (and anything looking like a secret) from text.
    fn scrub(&self, text: &str) -> String {
        let key = self.key.expose();
        let without = if key.is_empty() {
            text.to_owned()
        } else {
            text.replace(key, "***")
        };
        redact_text(&without).into_owned()
    }
}

/// `base * 2^attempt`, capped at `8 * base`, with "equal jitter": half fixed, half random.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let full = base.saturating_mul(1 << attempt.min(3));
    let half = full / 2;
    let random = RandomState::new().hash_one(attempt);
    let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(if jitter_nanos == 0 {
        0
    } else {
        random % jitter_nanos
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_never_shows_in_debug() {
        assert_eq!(
            format!("{:?}", ApiKey::new("gsk_live_secret".into())),
            "***"
        );
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let base = Duration::from_millis(100);
        for attempt in 0..6 {
            let d = backoff(base, attempt);
            let full = base * (1 << attempt.min(3));
            assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
        }
        assert_eq!(backoff(Duration::ZERO, 2), Duration::ZERO);
    }
}
