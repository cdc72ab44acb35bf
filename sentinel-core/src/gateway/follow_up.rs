//! What follows a decision once it is recorded: the decision log, the expiry and the
//! approver of an escalation, the shadow packs; and the [`Ticket`] the caller gets, made
//! only when someone asks for it (an auto-approved `guard` does not), since it owns a copy
//! of the decision the record shares.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Gateway, SYSTEM, Ticket, traced};
use crate::action::{Action, ActionId};
use crate::approver::{ApprovalHandle, ApprovalRequest, Approver};
use crate::decision::Decision;
use crate::error::{ApproverError, ScorerError, StoreError, SubmitError};
use crate::state::State;
use crate::store::{ActionRecord, Transition};

/// A recorded decision, as the caller's [`Ticket`] will tell it.
#[derive(Debug)]
pub(super) struct Followed {
    action_id: ActionId,
    /// Shared with the transition that recorded it (and so with the stored record).
    decision: Arc<Decision>,
    /// What only this process knows about the decision (the transition leaves it out).
    scorer_failure: Option<ScorerError>,
    deadline: Option<DateTime<Utc>>,
    /// The approver's failure, when no human could be asked.
    pub(super) approver_error: Option<ApproverError>,
}

impl Followed {
    /// The decision as recorded (without the scorer's error).
    pub(super) fn decision(&self) -> &Decision {
        &self.decision
    }

    /// The caller's ticket, for an action now in `status`.
    pub(super) fn into_ticket(self, status: State) -> Ticket {
        let mut decision = Arc::unwrap_or_clone(self.decision);
        decision.scorer_failure = self.scorer_failure;
        Ticket {
            action_id: self.action_id,
            status,
            decision,
            deadline: self.deadline,
            replayed: false,
            approver_error: self.approver_error,
        }
    }
}

/// A decision on its way to the store, as what follows it needs it: the decision (shared
/// with the transition recording it), the scorer's error, the deadline of an escalation.
pub(super) struct Recording {
    decision: Arc<Decision>,
    scorer_failure: Option<ScorerError>,
    deadline: Option<DateTime<Utc>>,
}

impl Gateway {
    /// The transition that records `decision` (with the deadline of an escalation), and
    /// the decision as what follows needs it, shared with the transition.
    pub(super) fn decided_step(&self, mut decision: Decision) -> (Transition, Recording) {
        let scorer_failure = decision.scorer_failure.take();
        let deadline = (decision.status == State::BlockedAwaitingAuth).then(|| {
            Utc::now()
                + chrono::Duration::from_std(self.inner.escalation_timeout)
                    .unwrap_or(chrono::Duration::MAX)
        });
        let decision = Arc::new(decision);
        let mut step = Transition::new(decision.status, SYSTEM, "policy", &*decision.analysis)
            .with_shared_decision(Arc::clone(&decision));
        if let Some(deadline) = deadline {
            step = step.with_deadline(deadline);
        }
        let recording = Recording {
            decision,
            scorer_failure,
            deadline,
        };
        (step, recording)
    }

    /// What follows a recorded decision: the decision log, the expiry and the approver of
    /// an escalation, the shadow packs. Returns what the ticket will tell and the record as
    /// it stands (`ERROR_APPROVER` when no human could be asked). The action is the
    /// record's (the store keeps it as submitted).
    pub(super) async fn follow_up(
        &self,
        recording: Recording,
        mut record: ActionRecord,
    ) -> Result<(Followed, ActionRecord), SubmitError> {
        let Recording {
            decision,
            scorer_failure,
            deadline,
        } = recording;
        let id = record.id;
        let inner = &self.inner;
        if let Some(log) = &inner.decision_log {
            let action = &record.action;
            let redact = inner.pipeline.explain_context(action, &decision.packs);
            let approver = inner.approver.as_deref().map(Approver::name);
            log.decision(action, &decision, &redact.redact_paths, approver, deadline);
        }
        let mut approver_error = None;
        if let Some(deadline) = deadline {
            self.schedule_expiry(id, deadline);
            // The approver's request updates the record: it reads a copy of the action
            // (an escalation's cost is a human's answer, not this copy).
            let action = record.action.clone();
            // Boxed: an auto-approved decision's future need not hold the approver's.
            approver_error =
                Box::pin(self.ask_approver(id, &action, &decision, deadline, &mut record)).await?;
        }
        if let Some(shadow) = &inner.shadow {
            // Boxed: the future of every decision holds what only the shadow packs need.
            Box::pin(self.shadow_check(shadow, id, &record.action, &decision)).await;
        }
        let followed = Followed {
            action_id: id,
            decision,
            scorer_failure,
            deadline,
            approver_error,
        };
        Ok((followed, record))
    }

    /// Asks the approver about an escalated action; on its failure, moves the action to
    /// `ERROR_APPROVER` (failing closed) and returns the error, updating `record`.
    async fn ask_approver(
        &self,
        id: ActionId,
        action: &Action,
        decision: &Decision,
        deadline: DateTime<Utc>,
        record: &mut ActionRecord,
    ) -> Result<Option<ApproverError>, SubmitError> {
        let inner = &self.inner;
        let Some(approver) = &inner.approver else {
            return Ok(None);
        };
        let redact_paths = inner
            .pipeline
            .explain_context(action, &decision.packs)
            .redact_paths;
        let request = ApprovalRequest {
            action_id: id,
            action: action.clone(),
            decision: decision.clone(),
            redact_paths,
            deadline,
            handle: ApprovalHandle {
                action_id: id,
                gateway: Arc::downgrade(&self.inner),
            },
        };
        let asking = traced::approval_step(id, "request", approver.name());
        let asked = asking.scope(approver.request(request)).await;
        if let Err(e) = &asked {
            asking.fail("approver_failed", &e.to_string());
        }
        drop(asking);
        let Err(e) = asked else {
            return Ok(None);
        };
        tracing::warn!(approver = approver.name(), error = %e, "approver failed; failing closed");
        let failed = Transition::new(State::ErrorApprover, SYSTEM, approver.name(), e.to_string());
        match Box::pin(self.transition(id, failed)).await {
            Ok((r, _)) => *record = r,
            // Decided or moved on meanwhile (a fast human, a Q&A already started): what
            // the store says stands; nothing was approved by the failure.
            Err(StoreError::Transition(_)) => {
                *record = inner.store.get(id).await?;
            }
            Err(other) => return Err(other.into()),
        }
        Ok(Some(e))
    }

    /// Decides `action` under the shadow packs and records a disagreement with the live
    /// `decision` (a note, a metric). Never changes the action; a note that cannot be
    /// written is logged.
    async fn shadow_check(
        &self,
        shadow: &crate::shadow::Shadow,
        id: ActionId,
        action: &Action,
        decision: &Decision,
    ) {
        let Some(theirs) = shadow.disagreement(action, decision).await else {
            return;
        };
        self.inner
            .pipeline
            .metrics
            .record_shadow_disagreement(theirs.status);
        let text = shadow.note(decision, &theirs);
        if let Err(e) = self.note(id, "shadow", "shadow", &text).await {
            tracing::warn!(error = %e, "cannot record the shadow packs' disagreement");
        }
    }
}
