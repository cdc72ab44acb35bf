//! The gateway's spans ([`crate::telemetry`]): what each one says about an action and its
//! steps. Without the `otel` feature every call here is empty.

use super::{Gateway, Permit, Ticket};
use crate::action::{Action, ActionId};
use crate::code::Coded as _;
use crate::decision::Decision;
use crate::error::{ApproverError, GuardError, SubmitError};
use crate::state::State;
use crate::store::Transition;
use crate::telemetry::{ActionSpan, Attrs, StepSpan, decision_attrs};

impl Gateway {
    /// [`evaluate`](Gateway::evaluate) in a span of its own (`sentinel.mode = evaluate`).
    pub(super) async fn evaluate_traced(&self, action: &Action) -> Decision {
        let span = ActionSpan::start(action, "evaluate");
        let id = ActionId::new();
        span.set(|| vec![("gen_ai.tool.call.id", id.to_string().into())]);
        let decision = span.scope(self.inner.pipeline.decide(id, action)).await;
        span.set(|| decision_attrs(&decision));
        span.end();
        decision
    }
}

/// After `submit`: the decision, or the error.
pub(super) fn submitted(span: &ActionSpan, result: Result<Submission<'_>, &SubmitError>) {
    match result {
        Ok(submission) => {
            span.set(|| {
                let mut attrs = decision_attrs(submission.decision);
                if submission.replayed {
                    attrs.push(("sentinel.replayed", "true".into()));
                }
                attrs
            });
            if let Some(e) = submission.approver_error {
                span.fail("approver_failed", &e.to_string());
            }
        }
        Err(e) => span.fail(&e.code().to_string(), &e.to_string()),
    }
    span.end();
}

/// What a submission's span records of its outcome (a [`Ticket`], or what one will tell).
pub(super) struct Submission<'a> {
    pub(super) decision: &'a Decision,
    pub(super) replayed: bool,
    pub(super) approver_error: Option<&'a ApproverError>,
}

impl<'a> Submission<'a> {
    pub(super) fn of(ticket: &'a Ticket) -> Self {
        Self {
            decision: &ticket.decision,
            replayed: ticket.replayed,
            approver_error: ticket.approver_error.as_ref(),
        }
    }
}

/// After `guard`/`authorize`: where the action ended and who decided.
pub(super) fn authorized(span: &ActionSpan, result: &Result<Permit, GuardError>) {
    match result {
        Ok(permit) => span.set(|| {
            let mut attrs: Attrs =
                vec![("sentinel.final_status", permit.record.state.as_str().into())];
            if let Some(a) = &permit.record.approval {
                attrs.push(("sentinel.decided_by", a.by.as_str().into()));
                attrs.push(("sentinel.approver.channel", a.channel.as_str().into()));
            }
            attrs
        }),
        Err(e) => {
            let final_status = match e {
                GuardError::Denied(_) => Some(State::Declined),
                GuardError::Expired { .. } => Some(State::Expired),
                GuardError::ApproverFailed { .. } => Some(State::ErrorApprover),
                _ => None,
            };
            if let Some(status) = final_status {
                span.set(|| vec![("sentinel.final_status", status.as_str().into())]);
            }
            // A refusal by policy or a human is the gateway working, not an error.
            if !matches!(e, GuardError::Denied(_) | GuardError::Expired { .. }) {
                span.fail(&e.code().to_string(), &e.to_string());
            }
        }
    }
    span.end();
}

/// A store write: `store {op}`.
pub(super) fn store_step(id: ActionId, op: &'static str, to: Option<State>) -> StepSpan {
    StepSpan::start(
        Some(id),
        || format!("store {op}"),
        || {
            let mut attrs: Attrs = vec![("db.operation.name", op.into())];
            if let Some(to) = to {
                attrs.push(("sentinel.state.to", to.as_str().into()));
            }
            attrs
        },
    )
}

/// An approval step (`request`, `qna`, `qna_end`, `note`): `approval {step}`, with the
/// approver or channel.
pub(super) fn approval_step(id: ActionId, step: &'static str, channel: &str) -> StepSpan {
    StepSpan::start(
        Some(id),
        || match step {
            "request" => format!("approval request {channel}"),
            other => format!("approval {other}"),
        },
        || {
            vec![
                ("sentinel.approval.step", step.into()),
                ("sentinel.approver.channel", channel.into()),
            ]
        },
    )
}

/// A human's question, answered by the scorer: `approval question` (never its text).
pub(super) fn question_step(id: ActionId, scorer: &str) -> StepSpan {
    StepSpan::start(
        Some(id),
        || "approval question".to_owned(),
        || {
            vec![
                ("sentinel.approval.step", "question".into()),
                ("sentinel.scorer.name", scorer.into()),
            ]
        },
    )
}

/// A human's decision: `approval decision`.
pub(super) fn decision_step(id: ActionId, step: &Transition) -> StepSpan {
    StepSpan::start(
        Some(id),
        || "approval decision".to_owned(),
        || {
            vec![
                ("sentinel.approval.step", "decision".into()),
                ("sentinel.status", step.to.as_str().into()),
                ("sentinel.decided_by", step.actor.as_str().into()),
                ("sentinel.approver.channel", step.channel.as_str().into()),
            ]
        },
    )
}
