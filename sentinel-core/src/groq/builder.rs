//! [`GroqScorerBuilder`]: settings, their defaults and checks, and the environment.

use std::sync::Arc;
use std::time::Duration;

use super::cache::TtlMap;
use super::client::{ApiKey, ChatClient, RetryPolicy};
use super::stats::Counters;
use super::{DEFAULT_BASE_URL, DEFAULT_MODEL, GroqError, GroqScorer};

/// Configures a [`GroqScorer`].
#[derive(Debug, Clone)]
#[must_use]
pub struct GroqScorerBuilder {
    api_key: Option<ApiKey>,
    base_url: String,
    model: String,
    timeout: Duration,
    connect_timeout: Duration,
    deadline: Duration,
    max_retries: u32,
    backoff: Duration,
    concurrency: usize,
    cache_ttl: Option<Duration>,
    redact_paths: Vec<String>,
}

impl Default for GroqScorerBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            model: DEFAULT_MODEL.to_owned(),
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(20),
            max_retries: 2,
            backoff: Duration::from_millis(250),
            concurrency: 8,
            cache_ttl: None,
            redact_paths: Vec::new(),
        }
    }
}

impl GroqScorerBuilder {
    /// The API key (required). Sent only as `Authorization: Bearer ...`; never printed.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key.into()));
        self
    }

    /// The API's base URL, e.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`.
    /// Default [`DEFAULT_BASE_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The model. Default [`DEFAULT_MODEL`].
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Time limit of one HTTP attempt, connection included. Default 15 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time limit for opening a connection. Default 5 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time limit of a whole assessment or answer, retries and waits included. Default 20 s
    /// (inside the gateway's default scoring limit of 22.5 s: three quarters of its analysis
    /// timeout).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Retries after a 429, a 5xx, a timeout or a connection error. Default 2. A bad reply
    /// is retried once more, independently; 400, 401 and 403 are never retried.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The first wait between retries; doubled each time (at most 8 times), with jitter.
    /// A `retry-after` header replaces it. Default 250 ms.
    pub fn retry_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// Requests in flight at most; more wait their turn (within the deadline). Default 8.
    pub fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = limit;
        self
    }

    /// Caches assessments of identical actions (same redacted prompt) for `ttl`. Default:
    /// no cache; a zero `ttl` also disables it.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = Some(ttl).filter(|t| !t.is_zero());
        self
    }

    /// Paths masked in every prompt, in addition to those the packs declare, e.g.
    /// `payload.account.iban`.
    pub fn redact_paths(mut self, paths: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.redact_paths = paths.into_iter().map(Into::into).collect();
        self
    }

    /// Checks the settings and builds the scorer.
    pub fn build(self) -> Result<GroqScorer, GroqError> {
        let key = self
            .api_key
            .filter(|k| !k.expose().trim().is_empty())
            .ok_or(GroqError::MissingApiKey)?;
        let base_url = self.base_url.trim().trim_end_matches('/').to_owned();
        let scheme_ok = ["http://", "https://"]
            .iter()
            .any(|s| base_url.starts_with(s) && base_url.len() > s.len());
        if !scheme_ok {
            return Err(GroqError::Config {
                setting: "base_url",
                message: format!("`{base_url}` is not an http or https URL"),
            });
        }
        if self.model.trim().is_empty() {
            return Err(GroqError::Config {
                setting: "model",
                message: "must not be empty".into(),
            });
        }
        for (setting, d) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
            ("deadline", self.deadline),
        ] {
            if d.is_zero() {
                return Err(GroqError::Config {
                    setting,
                    message: "must be longer than zero".into(),
                });
            }
        }
        if self.concurrency == 0 {
            return Err(GroqError::Config {
                setting: "concurrency",
                message: "must be at least 1".into(),
            });
        }
        let counters = Arc::new(Counters::default());
        let policy = RetryPolicy {
            max_retries: self.max_retries,
            timeout: self.timeout,
            deadline: self.deadline,
            backoff: self.backoff,
        };
        let client = ChatClient::new(
            &base_url,
            key,
            self.model.trim().to_owned(),
            policy,
            self.connect_timeout,
            self.concurrency,
            Arc::clone(&counters),
        )?;
        Ok(GroqScorer {
            client,
            base_url,
            cache: self.cache_ttl.map(TtlMap::new),
            extra_paths: self.redact_paths,
            counters,
        })
    }
}

/// Reads an environment variable; unset and empty are the same.
pub(super) fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}
