//! The `groq` scorer setting: configuration of the core's LLM risk scorer
//! ([`sentinel_core::groq::GroqScorer`]), and its counters.
//!
//! Each setting left out comes from its environment variable (`GROQ_API_KEY`,
//! `GROQ_BASE_URL`, `GROQ_MODEL`), then from the core's default. Prompts, redaction,
//! retries, parsing and failing closed are all the core's.

use std::sync::Arc;
use std::time::Duration;

use napi_derive::napi;
use sentinel_core::groq::{GroqError, GroqScorer, GroqStats};

use crate::errors::config_error;
use crate::gateway::NativeGateway;

/// Settings of the Groq (OpenAI-compatible) scorer; all optional.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct GroqOptions {
    /// The API key; default `GROQ_API_KEY`. Never printed.
    pub api_key: Option<String>,
    /// The API's base URL; default `GROQ_BASE_URL`, else `https://api.groq.com/openai/v1`.
    pub base_url: Option<String>,
    /// The model; default `GROQ_MODEL`, else `llama-3.3-70b-versatile`.
    pub model: Option<String>,
    /// Time limit of one HTTP attempt, in milliseconds (core default 15000).
    pub timeout_ms: Option<f64>,
    /// Time limit for opening a connection, in milliseconds (core default 5000).
    pub connect_timeout_ms: Option<f64>,
    /// Time limit of a whole assessment, retries included, in milliseconds (core default 30000).
    pub deadline_ms: Option<f64>,
    /// Retries after a 429, a 5xx, a timeout or a connection error (core default 2).
    pub max_retries: Option<f64>,
    /// The first wait between retries, in milliseconds (core default 250).
    pub retry_backoff_ms: Option<f64>,
    /// Requests in flight at most (core default 8).
    pub concurrency: Option<f64>,
    /// Caches assessments of identical actions for this long, in milliseconds (default: no cache).
    pub cache_ttl_ms: Option<f64>,
    /// Paths masked in every prompt besides those the packs declare, e.g. `payload.iban`.
    pub redact_paths: Option<Vec<String>>,
}

/// What the Groq scorer did since the gateway was built.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct GroqStatsView {
    /// HTTP requests sent, retries included (what is billed).
    pub calls: f64,
    /// Of `calls`, the retries.
    pub retries: f64,
    /// Assessments answered from the cache.
    pub cache_hits: f64,
    /// Assessments and answers that failed (the gateway failed closed).
    pub failures: f64,
}

impl From<GroqStats> for GroqStatsView {
    fn from(s: GroqStats) -> Self {
        Self {
            calls: s.calls as f64,
            retries: s.retries as f64,
            cache_hits: s.cache_hits as f64,
            failures: s.failures as f64,
        }
    }
}

/// Builds the scorer: the environment first, then `options` on top.
pub fn build(options: &GroqOptions) -> napi::Result<Arc<GroqScorer>> {
    let o = options;
    let mut b = GroqScorer::builder_from_env();
    if let Some(key) = &o.api_key {
        b = b.api_key(key.clone());
    }
    if let Some(url) = &o.base_url {
        b = b.base_url(url.clone());
    }
    if let Some(model) = &o.model {
        b = b.model(model.clone());
    }
    if let Some(ms) = o.timeout_ms {
        b = b.timeout(millis("timeoutMs", ms)?);
    }
    if let Some(ms) = o.connect_timeout_ms {
        b = b.connect_timeout(millis("connectTimeoutMs", ms)?);
    }
    if let Some(ms) = o.deadline_ms {
        b = b.deadline(millis("deadlineMs", ms)?);
    }
    if let Some(n) = o.max_retries {
        b = b.max_retries(whole("maxRetries", n, 0, 100)?);
    }
    if let Some(ms) = o.retry_backoff_ms {
        b = b.retry_backoff(millis("retryBackoffMs", ms)?);
    }
    if let Some(n) = o.concurrency {
        b = b.concurrency(whole("concurrency", n, 1, 10_000)? as usize);
    }
    if let Some(ms) = o.cache_ttl_ms {
        b = b.cache_ttl(millis("cacheTtlMs", ms)?);
    }
    if let Some(paths) = &o.redact_paths {
        b = b.redact_paths(paths.iter().cloned());
    }
    b.build().map(Arc::new).map_err(|e| build_error(o, e))
}

/// Names the option, or the environment variable the value came from.
fn build_error(o: &GroqOptions, e: GroqError) -> napi::Error {
    match e {
        GroqError::MissingApiKey => config_error(
            if o.api_key.is_some() {
                "scorer.groq.apiKey"
            } else {
                "GROQ_API_KEY"
            },
            "no API key: pass `scorer.groq.apiKey` or set `GROQ_API_KEY`",
        ),
        GroqError::Config { setting, message } => {
            let name = match setting {
                "base_url" if o.base_url.is_none() => "GROQ_BASE_URL".to_owned(),
                "model" if o.model.is_none() => "GROQ_MODEL".to_owned(),
                other => format!("scorer.groq.{}", option_name(other)),
            };
            config_error(&name, message)
        }
        other => config_error("scorer.groq", other),
    }
}

/// The JS option of a core builder setting.
fn option_name(setting: &str) -> &str {
    match setting {
        "api_key" => "apiKey",
        "base_url" => "baseUrl",
        "timeout" => "timeoutMs",
        "connect_timeout" => "connectTimeoutMs",
        "deadline" => "deadlineMs",
        "max_retries" => "maxRetries",
        other => other,
    }
}

fn millis(option: &str, ms: f64) -> napi::Result<Duration> {
    if ms.is_finite() && ms >= 0.0 {
        Ok(Duration::from_secs_f64(ms / 1000.0))
    } else {
        Err(config_error(
            &format!("scorer.groq.{option}"),
            format!("must be a number of milliseconds, found `{ms}`"),
        ))
    }
}

fn whole(option: &str, n: f64, min: u32, max: u32) -> napi::Result<u32> {
    if n.fract() == 0.0 && n >= f64::from(min) && n <= f64::from(max) {
        Ok(n as u32)
    } else {
        Err(config_error(
            &format!("scorer.groq.{option}"),
            format!("must be a whole number from {min} to {max}, found `{n}`"),
        ))
    }
}

#[napi]
impl NativeGateway {
    /// The Groq scorer's counters, when it is the gateway's scorer.
    #[napi]
    pub fn groq_stats(&self) -> Option<GroqStatsView> {
        self.groq.as_ref().map(|g| g.stats().into())
    }
}
