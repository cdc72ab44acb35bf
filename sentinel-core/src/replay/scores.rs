//! The scorer of `sentinel replay --reuse-scores`: the score a stored decision had, where a
//! scorer assessed it, instead of asking one again.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::action::Action;
use crate::decision::{Decision, ScorerUse};
use crate::error::ScorerError;
use crate::scorer::{Assessment, OfflineScorer, RiskScorer, ScoreContext};

/// Answers with the score of the stored decision being replayed, when a scorer assessed
/// it; otherwise (rules decided, or the scorer failed) asks `fallback` (the offline scorer
/// by default).
///
/// The stored score is the decision's final one, after the floors and ceilings of the
/// packs of the time (the raw assessment is not kept): unchanged packs give it back
/// unchanged, as floors and ceilings applied twice change nothing.
///
/// Replays run one action at a time: [`replay`](super::replay) sets the score before
/// each decision. Give the scorer to the gateway that replays (and to no other).
pub struct StoredScores {
    fallback: Arc<dyn RiskScorer>,
    current: Mutex<Option<u8>>,
}

impl std::fmt::Debug for StoredScores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredScores")
            .field("fallback", &self.fallback.name())
            .finish_non_exhaustive()
    }
}

impl Default for StoredScores {
    fn default() -> Self {
        Self::new(Arc::new(OfflineScorer))
    }
}

impl StoredScores {
    /// Falls back to `fallback` for decisions no scorer assessed.
    pub fn new(fallback: Arc<dyn RiskScorer>) -> Self {
        Self {
            fallback,
            current: Mutex::new(None),
        }
    }

    /// Takes the score to give from the stored decision about to be replayed.
    pub(crate) fn load(&self, stored: &Decision) {
        let score = match stored.scorer {
            ScorerUse::Assessed { .. } => Some(stored.risk_score),
            _ => None,
        };
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = score;
    }
}

#[async_trait]
impl RiskScorer for StoredScores {
    fn name(&self) -> &str {
        "stored"
    }

    fn wants_policy_notes(&self) -> bool {
        false
    }

    async fn assess(
        &self,
        action: &Action,
        context: &ScoreContext,
    ) -> Result<Assessment, ScorerError> {
        let current = *self.current.lock().unwrap_or_else(PoisonError::into_inner);
        match current {
            Some(score) => Assessment::new(score, "The score the action had when it was decided."),
            None => self.fallback.assess(action, context).await,
        }
    }
}
