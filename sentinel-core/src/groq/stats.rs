//! Counters: LLM calls made, cache hits, failures; and a tally of decisions that needed no
//! scorer at all.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::decision::{Decision, ScorerUse};

/// A snapshot of a [`GroqScorer`](super::GroqScorer)'s counters since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroqStats {
    /// HTTP requests sent to the API, retries included (what is billed).
    pub calls: u64,
    /// Of `calls`, those that were retries (after a 429, a 5xx, a timeout or a bad reply).
    pub retries: u64,
    /// Assessments answered from the cache, without a call.
    pub cache_hits: u64,
    /// Assessments and answers that failed (the gateway then failed closed).
    pub failures: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    calls: AtomicU64,
    retries: AtomicU64,
    cache_hits: AtomicU64,
    failures: AtomicU64,
}

impl Counters {
    pub(crate) fn call(&self, retry: bool) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if retry {
            self.retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn cache_hit(&self) {
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn failure(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> GroqStats {
        GroqStats {
            calls: self.calls.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }
}

/// Counts how decisions used the scorer, e.g. over a corpus: `skipped` is the number of
/// scorer (LLM) calls avoided because the rules decided.
///
/// ```
/// # use sentinel_core::groq::ScorerTally;
/// let mut tally = ScorerTally::default();
/// // for each decision: tally.record(&decision);
/// assert_eq!(tally.decisions(), 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScorerTally {
    /// Rules decided (deny, allow, set_risk, unmatched): no scorer call.
    pub skipped: u64,
    /// The scorer assessed the action (a call, or a cache hit).
    pub assessed: u64,
    /// The scorer failed and the action failed closed.
    pub failed: u64,
}

impl ScorerTally {
    /// Adds one decision.
    pub fn record(&mut self, decision: &Decision) {
        match decision.scorer {
            ScorerUse::Skipped { .. } => self.skipped += 1,
            ScorerUse::Assessed { .. } => self.assessed += 1,
            ScorerUse::Failed { .. } => self.failed += 1,
        }
    }

    /// All decisions recorded.
    pub fn decisions(&self) -> u64 {
        self.skipped + self.assessed + self.failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_snapshot() {
        let c = Counters::default();
        c.call(false);
        c.call(true);
        c.cache_hit();
        c.failure();
        assert_eq!(
            c.snapshot(),
            GroqStats {
                calls: 2,
                retries: 1,
                cache_hits: 1,
                failures: 1
            }
        );
    }
}
