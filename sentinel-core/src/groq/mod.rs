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

mod builder;
mod cache;
mod client;
mod error;
mod prompt;
mod reply;
mod stats;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::action::Action;
use crate::error::ScorerError;
use crate::scorer::{Assessment, RiskScorer, ScoreContext};

pub use builder::GroqScorerBuilder;
use builder::env_var;
use cache::TtlMap;
use client::{ChatClient, Format};
pub use error::GroqError;
use stats::Counters;
pub use stats::{GroqStats, ScorerTally};

/// The default base URL: Groq's OpenAI-compatible API.
pub const DEFAULT_BASE_URL: &str = "https://api.groq.com/openai/v1";
/// The default model.
pub const DEFAULT_MODEL: &str = "llama-3.3-70b-versatile";
/// What [`explain`](RiskScorer::explain) answers when the model cannot be reached or its
/// answer cannot be used.
pub use crate::scorer::EXPLAIN_FALLBACK;

/// The LLM risk scorer. Cheap to share behind an `Arc`; build it with
/// [`GroqScorer::builder`] or [`GroqScorer::from_env`].
pub struct GroqScorer {
    client: ChatClient,
    base_url: String,
    cache: Option<TtlMap<[u8; 32], Assessment>>,
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
        paths.extend(
            context_paths
                .iter()
                .filter(|p| !self.extra_paths.contains(p))
                .cloned(),
        );
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

    fn model(&self) -> Option<&str> {
        Some(GroqScorer::model(self))
    }

    async fn assess(
        &self,
        action: &Action,
        context: &ScoreContext,
    ) -> Result<Assessment, ScorerError> {
        let paths = self.paths_for(&context.redact_paths);
        let scoped = ScoreContext {
            redact_paths: paths,
            ..context.clone()
        };
        let body = self
            .client
            .body(&prompt::assess(action, &scoped), Format::Json);
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
    async fn explain(
        &self,
        action: &Action,
        assessment: &Assessment,
        question: &str,
        context: &ScoreContext,
    ) -> Result<String, ScorerError> {
        let paths = self.paths_for(&context.redact_paths);
        let body = self.client.body(
            &prompt::explain(action, assessment, question, &paths),
            Format::Text,
        );
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
    use std::time::Duration;

    use super::*;

    #[test]
    fn builder_checks_settings() {
        let ok = || GroqScorer::builder().api_key("k");
        assert_eq!(
            GroqScorer::builder().build().err(),
            Some(GroqError::MissingApiKey)
        );
        assert_eq!(
            GroqScorer::builder().api_key("  ").build().err(),
            Some(GroqError::MissingApiKey)
        );
        let err = |b: GroqScorerBuilder| b.build().err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            err(ok().base_url("ftp://x")),
            "invalid setting `base_url`: `ftp://x` is not an http or https URL"
        );
        assert_eq!(
            err(ok().concurrency(0)),
            "invalid setting `concurrency`: must be at least 1"
        );
        assert_eq!(
            err(ok().timeout(Duration::ZERO)),
            "invalid setting `timeout`: must be longer than zero"
        );
        assert_eq!(
            err(ok().model(" ")),
            "invalid setting `model`: must not be empty"
        );
        let s = ok()
            .base_url("http://localhost:11434/v1/")
            .build()
            .map(|s| s.base_url().to_owned());
        assert_eq!(s.ok().as_deref(), Some("http://localhost:11434/v1"));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = "gsk_abcdefghijklmnopqrstuvwxyz0123456789";
        let b = GroqScorer::builder().api_key(key);
        assert!(!format!("{b:?}").contains(key));
        let s = b.build().map(|s| format!("{s:?}")).unwrap_or_default();
        assert!(
            s.contains("***") && !s.contains(key) && s.contains(DEFAULT_MODEL),
            "{s}"
        );
    }
}
