//! The decision pipeline: rules → scorer (only when rules have not decided) → rule
//! adjustments → thresholds.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;

use crate::action::{Action, ActionId};
use crate::budget::{Figures, Outcome};
use crate::decision::{Decision, PackRef, ScorerUse, Timings};
use crate::error::ScorerError;
use crate::policy::{PolicySet, RuleOutcome};
use crate::rule_id::RuleId;
use crate::scorer::{RiskScorer, ScoreContext};
use crate::state::State;
use crate::store::Store;

/// What to do with actions that no pack applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unmatched {
    /// Ask a human (the secure default). The scorer is still asked, for its analysis.
    #[default]
    Escalate,
    /// Decline without asking.
    Deny,
    /// Let the scorer's score decide, with the auto-approve limit of 50.
    Score,
}

/// What to do when the risk scorer fails. Never auto-approves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnScorerError {
    /// Ask a human, with the analysis `risk scorer unavailable: <reason>` (the default).
    #[default]
    Escalate,
    /// Decline.
    Deny,
}

/// Score reported for actions declined by a `deny` rule.
const DENY_SCORE: u8 = 100;
/// Auto-approve limit for unmatched actions under [`Unmatched::Score`].
const UNMATCHED_ESCALATE_ABOVE: u8 = 50;

pub(crate) struct Pipeline {
    pub(crate) policy: PolicySet,
    pub(crate) scorer: Arc<dyn RiskScorer>,
    pub(crate) unmatched: Unmatched,
    pub(crate) on_scorer_error: OnScorerError,
    /// Longest the scorer may take; then it has failed (and the action fails closed).
    pub(crate) score_timeout: std::time::Duration,
    /// Where each decision is counted.
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
    /// The store keeping the budget ledger (`budget` and `rate` conditions); without one,
    /// budgets fail closed.
    pub(crate) budgets: Option<Arc<dyn Store>>,
}

/// The score's origin, before adjustments.
enum Base {
    Rules(u8, &'static str),
    Scored(u8, String),
    ScorerFailed(u8, ScorerError),
}

impl Pipeline {
    /// Decides about an action, reading budget figures without reserving anything (the
    /// action's own entries, if any, left out). Never fails: a failing scorer fails closed.
    pub(crate) async fn decide(&self, action_id: ActionId, action: &Action) -> Decision {
        self.decide_in(action_id, action, false).await
    }

    /// Decides about a recorded action, reserving its share of every budget it counts
    /// towards (released by the gateway if the action ends without running).
    pub(crate) async fn decide_reserving(&self, action_id: ActionId, action: &Action) -> Decision {
        self.decide_in(action_id, action, true).await
    }

    async fn decide_in(&self, action_id: ActionId, action: &Action, reserve: bool) -> Decision {
        let start = Instant::now();
        let figures = self.figures(action_id, action, reserve).await;
        let out = self.policy.evaluate(action, &figures);
        let rules_ns = elapsed_ns(start);
        let reasons = unique_reasons(&out);

        let (base, scorer_ns) = match self.base_from_rules(&out) {
            Some(base) => (base, 0),
            None => {
                let scorer_start = Instant::now();
                let base = self.score(action, &out, &reasons).await;
                (base, elapsed_ns(scorer_start))
            }
        };

        let mut scorer_failure = None;
        let (base_score, head, scorer) = match base {
            Base::Rules(n, why) => (
                n,
                None,
                ScorerUse::Skipped {
                    reason: why.to_owned(),
                },
            ),
            Base::Scored(n, analysis) => (
                n,
                Some(analysis),
                ScorerUse::Assessed {
                    scorer: self.scorer.name().to_owned(),
                },
            ),
            Base::ScorerFailed(n, error) => {
                let message = error.message.clone();
                scorer_failure = Some(error);
                (
                    n,
                    Some(format!("risk scorer unavailable: {message}")),
                    ScorerUse::Failed {
                        scorer: self.scorer.name().to_owned(),
                        error: message,
                    },
                )
            }
        };
        let risk_score = adjust(base_score, &out);
        let mut status = self.status(&out, risk_score, &scorer);
        let mut head = head;
        if let Some(failure) = &figures.failure {
            // Fail closed: without the window's figures nothing is auto-approved.
            if status == State::Executed {
                status = State::BlockedAwaitingAuth;
            }
            let note =
                format!("budget ledger unavailable ({failure}): budgets are taken as exceeded.");
            head = Some(match head {
                Some(h) => format!("{note} {h}"),
                None => note,
            });
        }

        let mut analysis = head
            .unwrap_or_else(|| String::with_capacity(reasons.iter().map(|r| r.len() + 1).sum()));
        for &reason in &reasons {
            if !analysis.contains(reason) {
                if !analysis.is_empty() {
                    analysis.push(' ');
                }
                analysis.push_str(reason);
            }
        }
        if analysis.is_empty() {
            analysis = match status {
                State::Declined => format!(
                    "No policy pack covers `{}`, and unknown actions are declined.",
                    action.action
                ),
                _ => format!("No policy pack covers `{}`.", action.action),
            };
        }

        let total_ns = elapsed_ns(start);
        self.metrics.record_decision(
            status,
            &out.packs,
            &scorer,
            std::time::Duration::from_nanos(scorer_ns),
            std::time::Duration::from_nanos(total_ns),
        );
        Decision {
            action_id,
            status,
            risk_score,
            analysis,
            rules: out.matched.iter().map(|m| RuleId::from(&m.rule)).collect(),
            packs: self.policy.refs(&out.packs),
            matched: out.matched,
            scorer,
            timings: Timings {
                rules_ns,
                scorer_ns,
                total_ns,
            },
            scorer_failure,
        }
    }

    /// What the ledger says about the budgets the action counts towards; reserving its
    /// share when `reserve`. Unmeasurable shares and a failing store leave figures
    /// unknown (budgets then hold).
    async fn figures(&self, id: ActionId, action: &Action, reserve: bool) -> Figures {
        let mut figures = Figures::default();
        let budgets = self.policy.budgets_for(action);
        if budgets.is_empty() {
            return figures;
        }
        let mut demands = Vec::with_capacity(budgets.len());
        let mut asked = Vec::with_capacity(budgets.len());
        for budget in budgets {
            match budget.demand(action) {
                Ok(demand) => {
                    demands.push(demand);
                    asked.push(Arc::clone(&budget.id));
                }
                Err(why) => figures.insert(Arc::clone(&budget.id), Outcome::Unknown(why)),
            }
        }
        if demands.is_empty() {
            return figures;
        }
        let answer = match &self.budgets {
            Some(store) if reserve => store.reserve_budgets(id, &demands, Utc::now()).await,
            Some(store) => store.budget_figures(id, &demands, Utc::now()).await,
            None => Err(crate::error::StoreError::Backend(
                "no store keeps the budget ledger".to_owned(),
            )),
        };
        match answer {
            Ok(list) if list.len() == demands.len() => {
                for ((id, demand), before) in asked.into_iter().zip(&demands).zip(list) {
                    let share = demand.amount;
                    figures.insert(id, Outcome::Known { before, share });
                }
            }
            answer => {
                let why = match answer {
                    Err(e) => e.to_string(),
                    Ok(_) => "the store answered for other budgets than asked".to_owned(),
                };
                tracing::warn!(action = %action.action, error = %why, "budget ledger unavailable; failing closed");
                for id in asked {
                    figures.insert(
                        id,
                        Outcome::Unknown(format!("the store did not answer: {why}")),
                    );
                }
                figures.failure = Some(why);
            }
        }
        figures
    }

    /// The base score when the rules already decided (the scorer is then not called).
    fn base_from_rules(&self, out: &RuleOutcome) -> Option<Base> {
        if out.deny {
            return Some(Base::Rules(out.set_risk.unwrap_or(DENY_SCORE), "deny"));
        }
        if out.packs.is_empty() && self.unmatched == Unmatched::Deny {
            return Some(Base::Rules(DENY_SCORE, "unmatched"));
        }
        if let Some(n) = out.set_risk {
            return Some(Base::Rules(n, "set_risk"));
        }
        if out.allow {
            return Some(Base::Rules(0, "allow"));
        }
        None
    }

    /// What the policy knows about an action, for the scorer. `matched_at` locates the
    /// rules that matched, for the fenced notes.
    fn context(
        &self,
        action: &Action,
        packs: &[usize],
        reasons: Vec<String>,
        matched: &[crate::rule::RuleMatch],
        matched_at: &[(usize, Option<usize>)],
    ) -> ScoreContext {
        let default = packs
            .first()
            .map(|&p| self.policy.pack(p).default_for(action));
        let mut policy_notes = Vec::new();
        if self.scorer.wants_policy_notes() {
            if let Some(&p) = packs.first() {
                policy_notes.push(self.policy.pack(p).fenced_default(action));
            }
            for (m, &(p, r)) in matched.iter().zip(matched_at) {
                let note = match r {
                    Some(r) => self.policy.pack(p).rules[r].fenced_reason(action),
                    // Built from the action's own value: fenced whole.
                    None => {
                        let mut fenced = String::new();
                        crate::template::fence(&m.reason, &mut fenced);
                        fenced
                    }
                };
                if !policy_notes.contains(&note) {
                    policy_notes.push(note);
                }
            }
        }
        ScoreContext {
            default_risk: default.as_ref().map(|(risk, _)| *risk),
            default_reason: default.map(|(_, reason)| reason),
            policy_reasons: reasons,
            policy_notes,
            redact_paths: self.policy.redact_paths(packs),
        }
    }

    /// The context in force for a question about a recorded action: the packs that apply
    /// to it now and those named in its decision (`decided`), so that every path either
    /// declares redacted stays redacted.
    pub(crate) fn explain_context(&self, action: &Action, decided: &[PackRef]) -> ScoreContext {
        let mut packs = self.policy.applying(&action.action).to_vec();
        for name in decided.iter().map(|p| &*p.name) {
            if let Some(i) = self.policy.index_of(name)
                && !packs.contains(&i)
            {
                packs.push(i);
            }
        }
        self.context(action, &packs, Vec::new(), &[], &[])
    }

    async fn score(&self, action: &Action, out: &RuleOutcome, reasons: &[&str]) -> Base {
        let context = self.context(
            action,
            &out.packs,
            reasons.iter().map(|&r| r.to_owned()).collect(),
            &out.matched,
            &out.matched_at,
        );
        // An LLM's call is a `chat {model}` span of its own.
        let llm = self.scorer.model().map(|model| {
            crate::telemetry::StepSpan::start(
                None,
                || format!("chat {model}"),
                || {
                    vec![
                        ("gen_ai.operation.name", "chat".into()),
                        ("gen_ai.request.model", model.into()),
                        ("gen_ai.provider.name", self.scorer.name().into()),
                    ]
                },
            )
        });
        let assess = self.scorer.assess(action, &context);
        let mut assessing = std::pin::pin!(match &llm {
            Some(span) => span.scope(assess),
            None => crate::telemetry::unscoped(assess),
        });
        // A scorer that answers at once (the offline one) needs no timer: this also keeps
        // `evaluate` usable outside a tokio runtime with such a scorer.
        let assessed = match poll_once(assessing.as_mut()) {
            Some(done) => done,
            None => tokio::time::timeout(self.score_timeout, assessing)
                .await
                .unwrap_or_else(|_| {
                    Err(ScorerError::new(format!(
                        "no assessment within {} ms",
                        self.score_timeout.as_millis()
                    )))
                }),
        };
        if let (Some(span), Err(e)) = (&llm, &assessed) {
            span.fail("scorer_failed", &e.message);
        }
        drop(llm);
        match assessed {
            Ok(a) if a.risk_score <= 100 => Base::Scored(a.risk_score, a.analysis),
            Ok(a) => Base::ScorerFailed(
                context.default_risk.unwrap_or(DENY_SCORE),
                ScorerError::new(format!("risk score `{}` is outside 0..=100", a.risk_score)),
            ),
            Err(e) => {
                tracing::warn!(scorer = self.scorer.name(), action = %action.action, error = %e, "risk scorer failed; failing closed");
                Base::ScorerFailed(context.default_risk.unwrap_or(DENY_SCORE), e)
            }
        }
    }

    fn status(&self, out: &RuleOutcome, score: u8, scorer: &ScorerUse) -> State {
        if out.deny {
            return State::Declined;
        }
        if matches!(scorer, ScorerUse::Failed { .. }) {
            return match self.on_scorer_error {
                OnScorerError::Escalate => State::BlockedAwaitingAuth,
                OnScorerError::Deny => State::Declined,
            };
        }
        if out.packs.is_empty() {
            return match self.unmatched {
                Unmatched::Deny => State::Declined,
                Unmatched::Escalate => State::BlockedAwaitingAuth,
                Unmatched::Score if score > UNMATCHED_ESCALATE_ABOVE => State::BlockedAwaitingAuth,
                Unmatched::Score => State::Executed,
            };
        }
        if out.deny_at_or_above.is_some_and(|d| score >= d) {
            return State::Declined;
        }
        if out.escalate {
            return State::BlockedAwaitingAuth;
        }
        if out.allow {
            return State::Executed;
        }
        if score > out.escalate_above {
            State::BlockedAwaitingAuth
        } else {
            State::Executed
        }
    }
}

/// Ceiling first, then floor: a floor always wins.
fn adjust(base: u8, out: &RuleOutcome) -> u8 {
    let capped = out.ceiling.map_or(base, |c| base.min(c));
    out.floor.map_or(capped, |f| capped.max(f)).min(100)
}

fn unique_reasons(out: &RuleOutcome) -> Vec<&str> {
    let mut reasons: Vec<&str> = Vec::with_capacity(out.matched.len());
    for m in &out.matched {
        if !reasons.contains(&m.reason.as_str()) {
            reasons.push(&m.reason);
        }
    }
    reasons
}

/// Polls a future once (with a waker that does nothing): its output when it is ready at
/// once. A pending future must then be polled again with a real waker.
fn poll_once<F: std::future::Future + ?Sized>(future: std::pin::Pin<&mut F>) -> Option<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.poll(&mut cx) {
        std::task::Poll::Ready(out) => Some(out),
        std::task::Poll::Pending => None,
    }
}

fn elapsed_ns(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
