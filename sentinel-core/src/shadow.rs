//! Shadow packs: evaluated beside the active packs on live traffic, never enforced. When a
//! shadow decision differs from the live one (in status or cited rules), the gateway
//! records it: an audit note on the action (actor and channel `shadow`) naming the shadow
//! status, score and rules, and the metric `sentinel_shadow_disagreements_total`.
//!
//! A shadow pack replaces the active pack of the same name (a candidate version) or, when
//! none has its name, is added to them (a candidate new pack): see [`merge`]. The risk
//! scorer is never asked twice: the shadow decision takes the live decision's score where a
//! scorer assessed the action, else the offline scorer's (the pack's base risk).

use std::sync::Arc;

use async_trait::async_trait;

use crate::action::Action;
use crate::decision::{Decision, ScorerUse};
use crate::error::{PackError, ScorerError};
use crate::metrics::Metrics;
use crate::pack::Pack;
use crate::pipeline::{OnScorerError, Pipeline, Unmatched};
use crate::policy::PolicySet;
use crate::scorer::{Assessment, OfflineScorer, RiskScorer, ScoreContext};

tokio::task_local! {
    /// The live decision's assessed score, while its shadow is decided.
    static LIVE_SCORE: Option<u8>;
}

/// The packs a shadow evaluation uses: the active packs, each replaced by the shadow pack
/// of the same name, then the shadow packs that replace none, in their order.
pub fn merge(active: &[Pack], shadow: &[Pack]) -> Vec<Pack> {
    let mut packs: Vec<Pack> = active
        .iter()
        .map(|a| {
            shadow
                .iter()
                .find(|s| s.name() == a.name())
                .unwrap_or(a)
                .clone()
        })
        .collect();
    packs.extend(
        shadow
            .iter()
            .filter(|s| !active.iter().any(|a| a.name() == s.name()))
            .cloned(),
    );
    packs
}

/// The live score, else the offline scorer.
struct LiveScore;

#[async_trait]
impl RiskScorer for LiveScore {
    fn name(&self) -> &str {
        "shadow"
    }

    fn wants_policy_notes(&self) -> bool {
        false
    }

    async fn assess(
        &self,
        action: &Action,
        context: &ScoreContext,
    ) -> Result<Assessment, ScorerError> {
        match LIVE_SCORE.try_with(|s| *s).ok().flatten() {
            Some(score) => Assessment::new(score, "The live decision's score."),
            None => OfflineScorer.assess(action, context).await,
        }
    }
}

/// The shadow side of a gateway.
pub(crate) struct Shadow {
    pipeline: Pipeline,
    /// The shadow packs, as `name@version`, for notes.
    label: String,
}

impl Shadow {
    /// The shadow of a gateway enforcing `active` with these settings.
    pub(crate) fn new(
        active: &[Pack],
        shadow: &[Pack],
        unmatched: Unmatched,
        on_scorer_error: OnScorerError,
        budgets: Option<Arc<dyn crate::store::Store>>,
    ) -> Result<Self, PackError> {
        let label = shadow
            .iter()
            .map(|p| format!("`{}@{}`", p.name(), p.version()))
            .collect::<Vec<_>>()
            .join(", ");
        let policy = PolicySet::new(merge(active, shadow))?;
        // Its own counters: shadow decisions are not decisions the gateway made.
        let metrics = Arc::new(Metrics::new(policy.packs(), "shadow"));
        Ok(Self {
            pipeline: Pipeline {
                policy,
                scorer: Arc::new(LiveScore),
                unmatched,
                on_scorer_error,
                score_timeout: std::time::Duration::from_secs(5),
                metrics,
                budgets,
            },
            label,
        })
    }

    /// The shadow decision about an action decided `live`, when it differs in status or
    /// cited rules.
    pub(crate) async fn disagreement(&self, action: &Action, live: &Decision) -> Option<Decision> {
        let score = match live.scorer {
            ScorerUse::Assessed { .. } => Some(live.risk_score),
            _ => None,
        };
        let shadow = LIVE_SCORE
            .scope(score, self.pipeline.decide(live.action_id, action))
            .await;
        (shadow.status != live.status || shadow.rules != live.rules).then_some(shadow)
    }

    /// The audit note for a disagreement.
    pub(crate) fn note(&self, live: &Decision, shadow: &Decision) -> String {
        let rules = |d: &Decision| {
            if d.rules.is_empty() {
                "no rule".to_owned()
            } else {
                d.rules.join(", ")
            }
        };
        format!(
            "shadow packs {} would decide {} (risk {}; {}) where the active packs decided {} (risk {}; {})",
            self.label,
            shadow.status,
            shadow.risk_score,
            rules(shadow),
            live.status,
            live.risk_score,
            rules(live)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(name: &str, version: &str) -> Pack {
        Pack::from_json_str(
            &serde_json::json!({"name": name, "version": version, "applies_to": ["X"]}).to_string(),
        )
        .unwrap()
    }

    #[test]
    fn shadow_packs_replace_their_namesakes_and_add_the_rest() {
        let active = [pack("A", "1.0.0"), pack("B", "1.0.0")];
        let shadow = [pack("C", "0.1.0"), pack("B", "2.0.0")];
        let merged: Vec<String> = merge(&active, &shadow)
            .iter()
            .map(|p| format!("{}@{}", p.name(), p.version()))
            .collect();
        assert_eq!(merged, ["A@1.0.0", "B@2.0.0", "C@0.1.0"]);
    }
}
