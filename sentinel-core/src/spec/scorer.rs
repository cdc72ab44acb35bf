//! `[scorer]` and `[scorer.groq]`: which risk scorer decides, and the LLM scorer's settings.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::env::SecretValue;
use super::units::{Count, Seconds, Whole};

/// `[scorer]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScorerSpec {
    /// `offline` (the packs' base risk, no network; the default) or `groq` (an
    /// OpenAI-compatible chat API, set up by `[scorer.groq]`).
    #[serde(default)]
    pub kind: ScorerKind,
    /// The LLM scorer's settings (used when `kind = "groq"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groq: Option<GroqSpec>,
}

/// `scorer.kind`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScorerKind {
    /// The deterministic scorer.
    #[default]
    Offline,
    /// Groq (Llama 3.3) or any OpenAI-compatible chat API.
    Groq,
}

/// `[scorer.groq]`: the LLM scorer. Each setting left out falls back to its environment
/// variable where it has one (`GROQ_BASE_URL`, `GROQ_MODEL`), then to the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroqSpec {
    /// The model. Default `GROQ_MODEL`, else `llama-3.3-70b-versatile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The API's base URL. Default `GROQ_BASE_URL`, else `https://api.groq.com/openai/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The environment variable holding the API key. Default `GROQ_API_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// A file holding the API key (instead of `api_key_env`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_file: Option<PathBuf>,
    /// Time limit of one HTTP attempt. Default 15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<Seconds>,
    /// Time limit for opening a connection. Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_s: Option<Seconds>,
    /// Time limit of a whole assessment, retries included. Default 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_s: Option<Seconds>,
    /// Retries after a 429, a 5xx, a timeout or a connection error. Default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<Whole>,
    /// The first wait between retries (doubled each time). Default 0.25.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_backoff_s: Option<Seconds>,
    /// Requests in flight at most. Default 8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Count>,
    /// Cache assessments of identical (redacted) actions this long. Default: no cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_ttl_s: Option<Seconds>,
    /// Paths masked in every prompt besides those the packs declare, e.g. `payload.iban`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact_paths: Vec<String>,
    /// An API key handed over in code (Rust and binding APIs only; never read from a file).
    #[serde(skip)]
    #[schemars(skip)]
    pub api_key: Option<SecretValue>,
}

impl GroqSpec {
    /// Hands over the API key in code (it then wins over `api_key_env`/`api_key_file`).
    #[must_use]
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretValue::new(key));
        self
    }
}

#[cfg(feature = "groq")]
mod build {
    use std::path::Path;

    use super::GroqSpec;
    use crate::spec::ConfigError;
    use crate::spec::env::{Env, SecretKeys};

    /// The section's key path.
    const SECTION: &str = "scorer.groq";

    impl GroqSpec {
        /// Builds the scorer.
        pub fn build(
            &self,
            env: &Env,
            base: Option<&Path>,
        ) -> Result<crate::groq::GroqScorer, ConfigError> {
            use crate::groq::{GroqError, GroqScorer};

            let keys = self.key_source();
            let key = match &self.api_key {
                Some(key) => key.clone(),
                None => keys
                    .read(env, base)?
                    .ok_or_else(|| keys.missing("the groq api key"))?,
            };
            let mut b = GroqScorer::builder().api_key(key.expose());
            let mut from_env = Vec::new();
            for (setting, given, var) in [
                ("base_url", &self.base_url, "GROQ_BASE_URL"),
                ("model", &self.model, "GROQ_MODEL"),
            ] {
                let value = match given {
                    Some(v) => Some(v.clone()),
                    None => env.var(var).inspect(|_| from_env.push((setting, var))),
                };
                if let Some(value) = value {
                    b = match setting {
                        "base_url" => b.base_url(value),
                        _ => b.model(value),
                    };
                }
            }
            if let Some(t) = self.timeout_s {
                b = b.timeout(t.duration());
            }
            if let Some(t) = self.connect_timeout_s {
                b = b.connect_timeout(t.duration());
            }
            if let Some(t) = self.deadline_s {
                b = b.deadline(t.duration());
            }
            if let Some(n) = self.max_retries {
                b = b.max_retries(u32::try_from(n.get()).unwrap_or(u32::MAX));
            }
            if let Some(t) = self.retry_backoff_s {
                b = b.retry_backoff(t.duration());
            }
            if let Some(n) = self.concurrency {
                b = b.concurrency(usize::try_from(n.get()).unwrap_or(usize::MAX));
            }
            if let Some(t) = self.cache_ttl_s {
                b = b.cache_ttl(t.duration());
            }
            b = b.redact_paths(self.redact_paths.iter().cloned());
            b.build().map_err(|e| match e {
                GroqError::Config { setting, message } => {
                    let key = match setting {
                        "timeout" | "connect_timeout" | "deadline" => {
                            format!("{SECTION}.{setting}_s")
                        }
                        other => format!("{SECTION}.{other}"),
                    };
                    let error = ConfigError::at(key, message);
                    match from_env.iter().find(|(s, _)| *s == setting) {
                        Some((_, var)) => ConfigError {
                            message: format!(
                                "{} (from environment variable `{var}`)",
                                error.message
                            ),
                            ..error.with_env(*var)
                        },
                        None => error,
                    }
                }
                GroqError::MissingApiKey => keys.missing("the groq api key"),
                other => ConfigError::at(SECTION, other.to_string()),
            })
        }

        fn key_source(&self) -> SecretKeys<'_> {
            SecretKeys {
                section: SECTION,
                name: "api_key",
                env: self.api_key_env.as_deref(),
                file: self.api_key_file.as_deref(),
                default_env: "GROQ_API_KEY",
            }
        }
    }
}
