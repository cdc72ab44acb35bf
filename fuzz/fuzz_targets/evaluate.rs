//! The condition evaluator: packs built from random condition trees (random paths,
//! operators and operands), compiled, then evaluating random actions through
//! `Gateway::evaluate` with a random scorer and settings.
//!
//! Invariants: a pack that loads evaluates every action without panicking; the status is
//! EXECUTED, BLOCKED_AWAITING_AUTH or DECLINED; the risk is at most 100; a decision is
//! deterministic; a matched `deny` declines; a matched `escalate` never auto-approves;
//! floors hold (and ceilings when no floor matched); a failed scorer never auto-approves;
//! unmatched actions follow `unmatched`.

#![no_main]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use libfuzzer_sys::fuzz_target;
use sentinel_core::{
    Action, Assessment, Effect, Gateway, OnScorerError, Pack, RiskScorer, ScoreContext,
    ScorerError, ScorerUse, State, Unmatched,
};
use sentinel_fuzz::scenario::{Scenario, ScorerGen};
use sentinel_fuzz::{block_on, is_decision_state};

struct Scripted(ScorerGen);

#[async_trait]
impl RiskScorer for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }

    async fn assess(&self, _: &Action, context: &ScoreContext) -> Result<Assessment, ScorerError> {
        // Touch what the pipeline prepared (fenced notes, redaction paths).
        let _ = (context.policy_notes.len(), context.redact_paths.len());
        match self.0 {
            ScorerGen::Fixed(n) => Assessment::new(n % 101, "scripted"),
            _ => Err(ScorerError::new("scripted failure")),
        }
    }
}

fuzz_target!(|s: Scenario| {
    let packs: Vec<Pack> = s
        .packs
        .iter()
        .take(3)
        .filter_map(|p| Pack::from_json_str(&p.json().to_string()).ok())
        .collect();
    let unmatched =
        [Unmatched::Escalate, Unmatched::Deny, Unmatched::Score][usize::from(s.unmatched % 3)];
    let on_error = if s.deny_on_scorer_error {
        OnScorerError::Deny
    } else {
        OnScorerError::Escalate
    };
    let mut builder = Gateway::builder()
        .packs(packs)
        .unmatched(unmatched)
        .on_scorer_error(on_error);
    if !matches!(s.scorer, ScorerGen::Offline) {
        builder = builder.scorer(Scripted(s.scorer));
    }
    // Two packs of one name are refused: not a finding.
    let Ok(gateway) = builder.build() else { return };

    for generated in s.actions.iter().take(4) {
        let action = generated.action();
        let d = block_on(gateway.evaluate(&action));
        assert!(is_decision_state(d.status), "status {}", d.status);
        assert!(d.risk_score <= 100, "risk {}", d.risk_score);
        let again = block_on(gateway.evaluate(&action));
        assert_eq!(
            (d.status, d.risk_score, &d.rules, &d.analysis),
            (
                again.status,
                again.risk_score,
                &again.rules,
                &again.analysis
            ),
            "not deterministic"
        );
        let effects: Vec<Effect> = d.matched.iter().map(|m| m.effect).collect();
        if effects.contains(&Effect::Deny) {
            assert_eq!(d.status, State::Declined, "deny matched: {d:?}");
        }
        if effects.contains(&Effect::Escalate) {
            assert_ne!(d.status, State::Executed, "escalate matched: {d:?}");
        }
        let floor = effects
            .iter()
            .filter_map(|e| match e {
                Effect::RiskFloor(n) => Some(*n),
                _ => None,
            })
            .max();
        let ceiling = effects
            .iter()
            .filter_map(|e| match e {
                Effect::RiskCeiling(n) => Some(*n),
                _ => None,
            })
            .min();
        if let Some(f) = floor {
            assert!(d.risk_score >= f, "floor {f} > risk {}", d.risk_score);
        } else if let Some(c) = ceiling {
            assert!(d.risk_score <= c, "ceiling {c} < risk {}", d.risk_score);
        }
        if matches!(d.scorer, ScorerUse::Failed { .. }) {
            assert_ne!(
                d.status,
                State::Executed,
                "scorer failed, yet auto-approved"
            );
        }
        if d.packs.is_empty() && d.scorer_error().is_none() {
            let expected = match unmatched {
                Unmatched::Deny => Some(State::Declined),
                Unmatched::Escalate => Some(State::BlockedAwaitingAuth),
                _ => None,
            };
            if let Some(expected) = expected {
                assert_eq!(d.status, expected, "unmatched {unmatched:?}");
            }
        }
        assert!(!d.analysis.is_empty());
        serde_json::to_string(&d).expect("a decision serializes");
    }
});
