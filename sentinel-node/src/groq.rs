//! The counters of the core's LLM risk scorer ([`sentinel_core::groq::GroqScorer`]), when
//! it is the gateway's scorer. Its settings are the core spec's `[scorer.groq]`
//! (`Gateway.fromConfig`, or the options of `new Gateway`, see [`crate::options`]).

use napi_derive::napi;
use sentinel_core::groq::GroqStats;

use crate::gateway::NativeGateway;

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

#[napi]
impl NativeGateway {
    /// The Groq scorer's counters, when it is the gateway's scorer.
    #[napi]
    pub fn groq_stats(&self) -> Option<GroqStatsView> {
        self.components.groq.as_ref().map(|g| g.stats().into())
    }
}
