//! [`GroqScorer`]: LLM risk scoring and spoken answers over the OpenAI-compatible chat
//! completions API (Groq by default; OpenAI, vLLM, Ollama and others work too).
//!
//! - Everything sent is redacted first ([`crate::redact`]): SSNs, card numbers, e-mail
//!   addresses, phone numbers, secrets and the paths the packs declare.
//! - The agent's payload and reasoning are passed as JSON between delimiters, as data the
//!   model is told never to obey. Whatever the model answers, the pipeline keeps every
//!   pack floor and every `deny`.
//! - Replies are parsed defensively; a bad reply is retried once, then it is an error, and
//!   the gateway fails closed (by default a human is asked).
//! - Timeouts, retries with backoff and jitter on 429/5xx/timeouts (honouring
//!   `retry-after`) within a total deadline, a concurrency limit, an optional cache.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use sentinel_core::Gateway;
//! use sentinel_core::groq::GroqScorer;
//!
//! let scorer = GroqScorer::from_env()?; // GROQ_API_KEY, GROQ_BASE_URL, GROQ_MODEL
//! let gateway = Gateway::builder().scorer(scorer).build()?;
//! # Ok(()) }
//! ```

mod cache;
mod client;
mod error;
mod prompt;
mod reply;
mod stats;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::action::Action;
use crate::error::ScorerError;
use crate::scorer::{Assessment, RiskScorer, ScoreContext};

use cache::TtlMap;
use client::{ApiKey, ChatClient, Format, RetryPolicy};
pub use error::GroqError;
pub use stats::{GroqStats, ScorerTally};
use stats::Counters;

/// The default base URL: Groq's OpenAI-compatible API.
pub const DEFAULT_BASE_URL: &str = "https://api.groq.com/openai/v1";
/// The default model.
pub const DEFAULT_MODEL: &str = "llama-3.3-70b-versatile";
/// What [`explain`](RiskScorer::explain) answers when the model cannot be reached or its
/// answer cannot be used.
pub const EXPLAIN_FALLBACK: &str = "Sorry, I can't answer questions about this action right now. \
Please decide from the summary you heard, and decline if you are unsure.";

/// How long the pack-declared redaction paths of an assessed action are remembered for
/// [`explain`](RiskScorer::explain).
const REMEMBER_PATHS: Duration = Duration::from_secs(3600);

/// The LLM risk scorer. Cheap to share behind an `Arc`; build it with
/// [`GroqScorer::builder`] or [`GroqScorer::from_env`].
pub struct GroqScorer {
    client: ChatClient,
    base_url: String,
    cache: Option<TtlMap<[u8; 32], Assessment>>,
    paths: TtlMap<String, Vec<String>>,
    extra_paths: Vec<String>,
    counters: Arc<Counters>,
}

impl fmt::Debug for GroqScorer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroqScorer")
            .field("base_url", &self.base_url)
            .field("client", &self.client)
            .field("cache", &self.cache.is_some())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

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
            deadline: Duration::from_secs(30),
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

    /// Time limit of a whole assessment or answer, retries and waits included. Default 30 s.
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
        let key = self.api_key.filter(|k| !k.expose().trim().is_empty()).ok_or(GroqError::MissingApiKey)?;
        let base_url = self.base_url.trim().trim_end_matches('/').to_owned();
        let scheme_ok = ["http://", "https://"].iter().any(|s| base_url.starts_with(s) && base_url.len() > s.len());
        if !scheme_ok {
            return Err(GroqError::Config {
                setting: "base_url",
                message: format!("`{base_url}` is not an http or https URL"),
            });
        }
        if self.model.trim().is_empty() {
            return Err(GroqError::Config { setting: "model", message: "must not be empty".into() });
        }
        for (setting, d) in [("timeout", self.timeout), ("connect_timeout", self.connect_timeout), ("deadline", self.deadline)] {
            if d.is_zero() {
                return Err(GroqError::Config { setting, message: "must be longer than zero".into() });
            }
        }
        if self.concurrency == 0 {
            return Err(GroqError::Config { setting: "concurrency", message: "must be at least 1".into() });
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
            paths: TtlMap::new(REMEMBER_PATHS),
            extra_paths: self.redact_paths,
            counters,
        })
    }
}

/// Reads an environment variable; unset and empty are the same.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl GroqScorer {
    /// Starts configuring a scorer.
    pub fn builder() -> GroqScorerBuilder {
        GroqScorerBuilder::default()
    }

    /// A builder preset from the environment: `GROQ_API_KEY` (required by `build`),
    /// `GROQ_BASE_URL` and `GROQ_MODEL` (optional).
    pub fn builder_from_env() -> GroqScorerBuilder {
        let mut b = Self::builder();
        if let Some(key) = env_var("GROQ_API_KEY") {
            b = b.api_key(key);
        }
        if let Some(url) = env_var("GROQ_BASE_URL") {
            b = b.base_url(url);
        }
        if let Some(model) = env_var("GROQ_MODEL") {
            b = b.model(model);
        }
        b
    }

    /// A scorer configured from the environment (see [`builder_from_env`](Self::builder_from_env)),
    /// other settings at their defaults.
    pub fn from_env() -> Result<Self, GroqError> {
        Self::builder_from_env().build()
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The model in use.
    pub fn model(&self) -> &str {
        self.client.model()
    }

    /// Calls made, cache hits and failures since the scorer was built.
    pub fn stats(&self) -> GroqStats {
        self.counters.snapshot()
    }

    fn paths_for(&self, context_paths: &[String]) -> Vec<String> {
        let mut paths = self.extra_paths.clone();
        paths.extend(context_paths.iter().filter(|p| !self.extra_paths.contains(p)).cloned());
        paths
    }

    /// Assesses, retrying a bad reply once.
    async fn assess_uncached(&self, body: &serde_json::Value) -> Result<Assessment, GroqError> {
        let deadline = Instant::now() + self.client.policy().deadline;
        let mut last = None;
        for round in 0..2 {
            let text = self.client.complete(body, deadline, round > 0).await?;
            match reply::assessment(&text) {
                Ok(a) => return Ok(a),
                Err(e) => {
                    tracing::warn!(error = %e, round, "unusable reply from the model");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| GroqError::BadReply("no reply".into())))
    }
}

/// The cache key: a digest of the model and the exact (redacted, canonical) request.
fn cache_key(body: &serde_json::Value) -> [u8; 32] {
    Sha256::digest(serde_json::to_vec(body).unwrap_or_default()).into()
}

#[async_trait]
impl RiskScorer for GroqScorer {
    fn name(&self) -> &str {
        "groq"
    }

    async fn assess(&self, action: &Action, context: &ScoreContext) -> Result<Assessment, ScorerError> {
        let paths = self.paths_for(&context.redact_paths);
        if !context.redact_paths.is_empty() {
            self.paths.insert(action.canonical_hash(), context.redact_paths.clone());
        }
        let scoped = ScoreContext { redact_paths: paths, ..context.clone() };
        let body = self.client.body(&prompt::assess(action, &scoped), Format::Json);
        let key = self.cache.as_ref().map(|_| cache_key(&body));
        if let (Some(cache), Some(key)) = (&self.cache, &key)
            && let Some(hit) = cache.get(key)
        {
            self.counters.cache_hit();
            return Ok(hit);
        }
        match self.assess_uncached(&body).await {
            Ok(a) => {
                if let (Some(cache), Some(key)) = (&self.cache, key) {
                    cache.insert(key, a.clone());
                }
                Ok(a)
            }
            Err(e) => {
                self.counters.failure();
                tracing::warn!(kind = e.kind(), error = %e, action = %action.action, "groq assessment failed");
                Err(e.into())
            }
        }
    }

    /// Answers in 2-4 spoken sentences; on any failure, [`EXPLAIN_FALLBACK`] (never an error).
    async fn explain(&self, action: &Action, assessment: &Assessment, question: &str) -> Result<String, ScorerError> {
        let remembered = self.paths.get(&action.canonical_hash()).unwrap_or_default();
        let paths = self.paths_for(&remembered);
        let body = self.client.body(&prompt::explain(action, assessment, question, &paths), Format::Text);
        let deadline = Instant::now() + self.client.policy().deadline;
        let result = match self.client.complete(&body, deadline, false).await {
            Ok(text) => reply::answer(&text),
            Err(e) => Err(e),
        };
        Ok(result.unwrap_or_else(|e| {
            self.counters.failure();
            tracing::warn!(kind = e.kind(), error = %e, "groq answer failed; using the fallback");
            EXPLAIN_FALLBACK.to_owned()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_checks_settings() {
        let ok = || GroqScorer::builder().api_key("k");
        assert_eq!(GroqScorer::builder().build().err(), Some(GroqError::MissingApiKey));
        assert_eq!(GroqScorer::builder().api_key("  ").build().err(), Some(GroqError::MissingApiKey));
        let err = |b: GroqScorerBuilder| b.build().err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(err(ok().base_url("ftp://x")), "invalid setting `base_url`: `ftp://x` is not an http or https URL");
        assert_eq!(err(ok().concurrency(0)), "invalid setting `concurrency`: must be at least 1");
        assert_eq!(err(ok().timeout(Duration::ZERO)), "invalid setting `timeout`: must be longer than zero");
        assert_eq!(err(ok().model(" ")), "invalid setting `model`: must not be empty");
        let s = ok().base_url("http://localhost:11434/v1/").build().map(|s| s.base_url().to_owned());
        assert_eq!(s.ok().as_deref(), Some("http://localhost:11434/v1"));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = "gsk_abcdefghijklmnopqrstuvwxyz0123456789";
        let b = GroqScorer::builder().api_key(key);
        assert!(!format!("{b:?}").contains(key));
        let s = b.build().map(|s| format!("{s:?}")).unwrap_or_default();
        assert!(s.contains("***") && !s.contains(key) && s.contains(DEFAULT_MODEL), "{s}");
    }
}
