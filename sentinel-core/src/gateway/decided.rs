//! `guard`'s submission in one store write: the action is decided first and then recorded
//! with its decision (and, when auto-approved, the claim of its single execution) through
//! [`Store::create_decided`](crate::Store::create_decided), instead of four round trips
//! (create, transition, re-read, claim).

use tracing::Instrument;

use super::follow_up::Followed;
use super::{Gateway, Ticket, replayed_ticket, traced};
use crate::action::{Action, ActionId};
use crate::error::SubmitError;
use crate::state::State;
use crate::store::{ActionRecord, AuditEvent, AuditKind, Created, Decided};

/// What [`Gateway::submit_decided`] did.
#[allow(
    clippy::large_enum_variant,
    reason = "the large variant is the hot path (every new action); boxing it would cost an allocation per call"
)]
pub(super) enum Submitted {
    /// An earlier submission under the idempotency key: nothing was written.
    Replayed(Ticket),
    /// Recorded and decided by this call.
    New {
        /// What the ticket will tell.
        followed: Followed,
        /// The record as this call left it.
        record: ActionRecord,
        /// The single execution was claimed in the same write (an auto-approved action).
        claimed: bool,
    },
}

impl Submitted {
    /// As [`Gateway::submit`] returns it.
    pub(super) fn into_ticket(self) -> Ticket {
        match self {
            Submitted::Replayed(ticket) => ticket,
            Submitted::New {
                followed, record, ..
            } => followed.into_ticket(record.state),
        }
    }

    /// What the submission span records.
    fn traced(&self) -> traced::Submission<'_> {
        match self {
            Submitted::Replayed(ticket) => traced::Submission::of(ticket),
            Submitted::New { followed, .. } => traced::Submission {
                decision: followed.decision(),
                replayed: false,
                approver_error: followed.approver_error.as_ref(),
            },
        }
    }
}

impl Gateway {
    /// [`submit`](Gateway::submit) for `guard`, in one store write: decides, then records
    /// the action, its decision and, when it is auto-approved, the claim of its execution
    /// at once. An escalation then goes to the approver as after `submit`.
    ///
    /// Only for actions without an idempotency key (the caller checks): with one, an
    /// earlier submission must be found before deciding again.
    pub(super) async fn submit_decided(&self, action: Action) -> Result<Submitted, SubmitError> {
        let span = crate::telemetry::ActionSpan::start(&action, "submit");
        let result = span
            .scope(self.submit_decided_in(action, &span, true, |_| {}))
            .await;
        traced::submitted(&span, result.as_ref().map(Submitted::traced));
        result
    }

    /// The submission in one write; with `claim`, an auto-approved action's execution is
    /// claimed in the same write (`guard`), otherwise it is left to the caller (`submit`).
    /// `recorded` is called with the id once the write is durable, before the approver is
    /// started: a caller that stops waiting (a dial that hangs) can still name the action.
    pub(super) async fn submit_decided_in(
        &self,
        action: Action,
        span: &crate::telemetry::ActionSpan,
        claim: bool,
        recorded: impl FnOnce(ActionId) + Send,
    ) -> Result<Submitted, SubmitError> {
        self.start_sweeping();
        let received_at = crate::store::now();
        let id = ActionId::new();
        span.set_id(id);
        let log_span = tracing::info_span!("action", action_id = %id, agent = %action.agent_id, action = %action.action);
        async move {
            let decision = self.inner.pipeline.decide_reserving(id, &action).await;
            tracing::info!(risk = decision.risk_score, status = %decision.status, rules = ?decision.rules, "decided");
            let (step, recording) = self.decided_step(decision);
            let claim = claim && step.to == State::Executed;
            let store_step = traced::store_step(id, "create_decided", Some(step.to));
            // The events' copies only for subscribers: the store keeps them either way.
            let decided = Decided::new(received_at, step, claim)
                .with_events(self.inner.events.receiver_count() > 0);
            let written = store_step
                .scope(self.inner.store.create_decided(id, action, decided))
                .await;
            if let Err(e) = &written {
                store_step.fail("store_unavailable", &e.to_string());
            }
            drop(store_step);
            let (record, events) = match written? {
                Created::New(record, events) => (record, events),
                Created::Existing(record) => {
                    // Decided for nothing: what this decision reserved does not count.
                    Box::pin(self.release_unrecorded(id)).await;
                    recorded(record.id);
                    return Ok(Submitted::Replayed(replayed_ticket(record)));
                }
            };
            recorded(id);
            let claimed = self.recorded_events(&record, events).await;
            let (followed, record) = self.follow_up(recording, record).await?;
            Ok(Submitted::New {
                followed,
                record,
                claimed,
            })
        }
        .instrument(log_span)
        .await
    }

    /// Publishes the events of a [`create_decided`](crate::Store::create_decided) write
    /// and does what follows the decision's transition; true when the execution was
    /// claimed.
    async fn recorded_events(&self, record: &ActionRecord, events: Vec<AuditEvent>) -> bool {
        if events.is_empty() {
            // Left out (nobody subscribed): what the decision's event would tell, from the
            // record it left. It leaves `ANALYZING`, so it resolves nothing pending.
            let at = record.updated_at;
            self.after_transition(record, Some(State::Analyzing), "policy", at, None)
                .await;
            return record.executed_at.is_some();
        }
        let mut claimed = false;
        for event in events {
            match (event.kind, event.from) {
                (AuditKind::Execution, _) => {
                    claimed = true;
                    self.publish(event);
                }
                // The decision: leaves `ANALYZING`.
                (AuditKind::Transition, Some(State::Analyzing)) => {
                    self.transitioned(record, &event).await;
                }
                _ => self.publish(event),
            }
        }
        claimed
    }

    /// Removes the budget entries an action that was never recorded reserved.
    async fn release_unrecorded(&self, id: ActionId) {
        if !self.inner.pipeline.policy.has_budgets() {
            return;
        }
        if let Err(e) = self.inner.store.release_budgets(id).await {
            tracing::warn!(action_id = %id, error = %e, "cannot release the budget entries of an unrecorded decision");
        }
    }
}
