//! Risk scorers: the [`RiskScorer`] trait and the deterministic [`OfflineScorer`].

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::error::ScorerError;

/// A scorer's judgement of an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Assessment {
    /// 0 (harmless) to 100.
    pub risk_score: u8,
    /// Two or three plain sentences for a busy on-call manager.
    pub analysis: String,
}

impl Assessment {
    /// Creates an assessment; scores above 100 are an error, never clamped silently.
    pub fn new(risk_score: u8, analysis: impl Into<String>) -> Result<Self, ScorerError> {
        if risk_score > 100 {
            return Err(ScorerError::new(format!(
                "risk score `{risk_score}` is outside 0..=100"
            )));
        }
        Ok(Self {
            risk_score,
            analysis: analysis.into(),
        })
    }
}

/// What the policy already knows when a scorer is asked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScoreContext {
    /// The applying pack's base risk for this action, when a pack applies.
    pub default_risk: Option<u8>,
    /// The pack's reason for that base risk.
    pub default_reason: Option<String>,
    /// Reasons of the rules that matched (floors, ceilings, escalations).
    pub policy_reasons: Vec<String>,
    /// The same reasons (and the default reason first, when there is one) for a prompt:
    /// the pack's words as written, every value taken from the action fenced as `«...»`
    /// (untrusted). Filled only for scorers that
    /// [want them](RiskScorer::wants_policy_notes).
    pub policy_notes: Vec<String>,
    /// Paths the applying packs declare must be masked before the action leaves the
    /// process (see [`redact_action`](crate::redact::redact_action)).
    pub redact_paths: Vec<String>,
}

/// What is said when a question about an action cannot be answered (the scorer failed):
/// honest, and pointing the human at a safe choice.
pub const EXPLAIN_FALLBACK: &str = "I could not get an answer to that right now. \
    Please decide based on the summary you heard, or decline if unsure.";

/// Judges the risk of actions, and answers questions about them (voice Q&A).
///
/// Implementations must treat the action's payload and reasoning as untrusted data. The
/// pipeline guarantees that a scorer can never lower a score below a pack's floor nor undo
/// a `deny`, whatever it returns. An error fails closed (by default: a human is asked).
#[async_trait]
pub trait RiskScorer: Send + Sync + 'static {
    /// A short name for logs and decisions, e.g. `offline` or `groq`.
    fn name(&self) -> &str;

    /// The model an LLM scorer asks (`gen_ai.request.model` of its `chat {model}` span);
    /// `None` for scorers that call no model (the default).
    fn model(&self) -> Option<&str> {
        None
    }

    /// True when [`ScoreContext::policy_notes`] should be filled for this scorer (prompt
    /// builders want them; the offline scorer does not, and skips the work).
    fn wants_policy_notes(&self) -> bool {
        true
    }

    /// True when [`assess`](Self::assess) answers at once, without I/O (the offline
    /// scorer). The gateway then decides before it records an action, and records it with
    /// its decision in one store write; otherwise the action is recorded first (`ANALYZING`,
    /// visible and recoverable while the scorer works). Default: false.
    fn scores_at_once(&self) -> bool {
        false
    }

    /// Scores an action.
    async fn assess(
        &self,
        action: &Action,
        context: &ScoreContext,
    ) -> Result<Assessment, ScorerError>;

    /// Answers a human's question about an assessed action in a few spoken sentences.
    ///
    /// `context` carries what is in force for the action now, above all the paths to
    /// redact before anything leaves the process: an implementation never needs to
    /// remember them from [`assess`](Self::assess).
    ///
    /// The default answer restates the assessment.
    async fn explain(
        &self,
        action: &Action,
        assessment: &Assessment,
        question: &str,
        context: &ScoreContext,
    ) -> Result<String, ScorerError> {
        let _ = (question, context);
        Ok(format!(
            "{} is rated {} out of 100. {}",
            action.action, assessment.risk_score, assessment.analysis
        ))
    }
}

/// The deterministic scorer: the pack's base risk for the action, no network.
///
/// Actions no pack covers score 100 ("unknown is high risk").
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineScorer;

#[async_trait]
impl RiskScorer for OfflineScorer {
    fn name(&self) -> &str {
        "offline"
    }

    fn wants_policy_notes(&self) -> bool {
        false
    }

    fn scores_at_once(&self) -> bool {
        true
    }

    async fn assess(
        &self,
        action: &Action,
        context: &ScoreContext,
    ) -> Result<Assessment, ScorerError> {
        let analysis = if context.policy_reasons.is_empty() {
            context.default_reason.clone().unwrap_or_else(|| {
                format!(
                    "No policy pack covers `{}`, so it is treated as high risk.",
                    action.action
                )
            })
        } else {
            context.policy_reasons.join(" ")
        };
        Assessment::new(context.default_risk.unwrap_or(100), analysis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn offline_uses_the_pack_default_or_treats_unknown_as_high() {
        let a = Action::new("a", "PAY_INVOICE");
        let ctx = ScoreContext {
            default_risk: Some(60),
            default_reason: Some("default".into()),
            ..ScoreContext::default()
        };
        let got = OfflineScorer.assess(&a, &ctx).await.unwrap();
        assert_eq!((got.risk_score, got.analysis.as_str()), (60, "default"));
        let got = OfflineScorer
            .assess(&a, &ScoreContext::default())
            .await
            .unwrap();
        assert_eq!(got.risk_score, 100);
        let ctx = ScoreContext {
            policy_reasons: vec!["A.".into(), "B.".into()],
            ..ctx
        };
        assert_eq!(
            OfflineScorer.assess(&a, &ctx).await.unwrap().analysis,
            "A. B."
        );
    }

    #[test]
    fn assessments_refuse_out_of_range_scores() {
        assert!(Assessment::new(101, "x").is_err());
        assert!(Assessment::new(100, "x").is_ok());
    }
}
