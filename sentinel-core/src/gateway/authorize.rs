//! Running a tool only after approval: [`Gateway::guard`], its first half
//! [`Gateway::authorize`] for the bindings, and the receipt check that refuses to run
//! anything but what was decided on.

use std::future::Future;

use super::decided::Submitted;
use super::{Gateway, Permit, traced};
use crate::action::{Action, ActionId};
use crate::decision::Decision;
use crate::error::{ApproverError, GuardError, StoreError};
use crate::state::State;
use crate::store::ActionRecord;

impl Gateway {
    /// Runs `f` only when the action is approved (automatically or by a human, waiting up
    /// to the escalation timeout), at most once per action and idempotency key.
    ///
    /// Returns [`GuardError::Denied`] when policy or a human declined,
    /// [`GuardError::Expired`] when nobody decided in time, and
    /// [`GuardError::ApproverFailed`] when no human could be asked. `f` does not run then.
    pub async fn guard<F, Fut, T>(&self, action: Action, f: F) -> Result<T, GuardError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        self.authorize(action).await?;
        Ok(f().await)
    }

    /// The first half of [`guard`](Self::guard): submits, waits for a decision and claims
    /// the single execution. Bindings use it to run a function in their own language.
    pub async fn authorize(&self, action: Action) -> Result<Permit, GuardError> {
        let span = crate::telemetry::ActionSpan::start(&action, "guard");
        // Boxed once here: the submission's future is about 4 KB, and every layer above it
        // (this span, the caller's `guard`, a binding's `block_on`) would otherwise copy
        // all of it as it is built and moved; they now move a pointer.
        let result = span.scope(Box::pin(self.authorize_in(action))).await;
        traced::authorized(&span, &result);
        result
    }

    async fn authorize_in(&self, action: Action) -> Result<Permit, GuardError> {
        if action.idempotency_key.is_some() {
            // An earlier submission under the key must be found before deciding again.
            // Boxed, as every path but the auto-approved one below: `block_on` and the
            // callers move this future, and its size is that of its largest path.
            return Box::pin(self.authorize_keyed(action)).await;
        }
        let (followed, record) = match self.submit_decided(action).await? {
            // Auto-approved: recorded, decided and claimed in one write (no ticket made).
            Submitted::New {
                record,
                claimed: true,
                ..
            } => {
                return Ok(Permit {
                    action_id: record.id,
                    record,
                });
            }
            Submitted::New {
                followed, record, ..
            } => (followed, record),
            Submitted::Replayed(ticket) => {
                let record = Box::pin(self.wait(ticket.action_id, None)).await?;
                return Box::pin(self.finish(ticket, record)).await;
            }
        };
        let ticket = followed.into_ticket(record.state);
        let record = if record.state.is_terminal() {
            // Decided for good: the record as written is the record.
            record
        } else {
            Box::pin(self.wait(ticket.action_id, None)).await?
        };
        Box::pin(self.finish(ticket, record)).await
    }

    /// `authorize` of an action with an idempotency key: submitted (returning the earlier
    /// submission under the key, if any), then waited for and claimed.
    async fn authorize_keyed(&self, action: Action) -> Result<Permit, GuardError> {
        let ticket = self.submit(action.clone()).await?;
        if ticket.replayed {
            // An earlier submission: check that this is what it decided on.
            return self.authorize_submitted(ticket.action_id, &action).await;
        }
        // Decided on this very action just now: only the packs could differ, and they cannot.
        let record = if ticket.status.is_terminal() {
            self.inner.store.get(ticket.action_id).await?
        } else {
            self.wait(ticket.action_id, None).await?
        };
        self.finish(ticket, record).await
    }

    /// The permit for an action decided in this call, or the refusal carrying what only
    /// this process knows (the scorer's and the approver's errors).
    async fn finish(
        &self,
        ticket: super::Ticket,
        record: ActionRecord,
    ) -> Result<Permit, GuardError> {
        let scorer_failure = ticket.decision.scorer_failure;
        let result = self.permit(record, None, ticket.approver_error).await;
        // Keep the scorer's error (and what raised it) with the decision the caller sees.
        result.map_err(|mut e| {
            if let Some(d) = decision_mut(&mut e) {
                d.scorer_failure = scorer_failure;
            }
            e
        })
    }

    /// Waits for the decision on an action submitted earlier (by this process or another,
    /// before a restart...) and claims its single execution, checking the approval receipt:
    /// `action` must be exactly what was decided on, and the packs in force must be those
    /// the decision was made under. Otherwise [`GuardError::ReceiptMismatch`].
    pub async fn authorize_submitted(
        &self,
        id: ActionId,
        action: &Action,
    ) -> Result<Permit, GuardError> {
        let record = self.wait(id, None).await?;
        self.permit(record, Some(action), None).await
    }

    /// Turns a decided record into a permit (claiming the single execution) or the error
    /// that says why not; checks the receipt against `action` when given. `approver_error`
    /// is the approver's failure when it happened in this call.
    async fn permit(
        &self,
        record: ActionRecord,
        action: Option<&Action>,
        approver_error: Option<ApproverError>,
    ) -> Result<Permit, GuardError> {
        let id = record.id;
        let Some(decided) = record.decision.as_deref().cloned() else {
            return Err(GuardError::Store(StoreError::Backend(format!(
                "action `{id}` has no decision"
            ))));
        };
        let decision = Box::new(decided);
        match record.state {
            State::Executed | State::Approved => {
                if let Some(action) = action {
                    self.check_receipt(&record, action)?;
                }
                let store_step = traced::store_step(id, "claim_execution", None);
                let claimed = store_step.scope(self.inner.store.claim_execution(id)).await;
                drop(store_step);
                match claimed? {
                    Some(event) => {
                        self.publish(event);
                        Ok(Permit {
                            action_id: id,
                            record,
                        })
                    }
                    None => Err(GuardError::AlreadyExecuted {
                        action_id: id,
                        decision,
                    }),
                }
            }
            State::Expired => Err(GuardError::Expired {
                action_id: id,
                decision,
            }),
            State::ErrorApprover => Err(GuardError::ApproverFailed {
                action_id: id,
                message: match &approver_error {
                    Some(e) => e.to_string(),
                    None => self.last_reason(id).await,
                },
                decision,
                source: approver_error,
            }),
            _ => Err(GuardError::Denied(Box::new(declined_decision(
                &record, *decision,
            )))),
        }
    }

    /// Refuses to run anything but what was decided on, under the packs it was decided under.
    fn check_receipt(&self, record: &ActionRecord, action: &Action) -> Result<(), GuardError> {
        let mismatch = |reason: String| GuardError::ReceiptMismatch {
            action_id: record.id,
            reason,
        };
        if action.canonical_hash() != record.action_hash {
            return Err(mismatch(
                "the agent, action, payload or reasoning differ from what was decided on"
                    .to_owned(),
            ));
        }
        let decided = record
            .decision
            .as_ref()
            .map(|d| d.packs.as_slice())
            .unwrap_or_default();
        for pack in decided {
            match self.packs().iter().find(|p| p.name() == &*pack.name) {
                Some(now) if now.content_hash() == &*pack.hash => {}
                Some(now) => {
                    return Err(mismatch(format!(
                        "pack `{}` changed since the decision ({} → {})",
                        pack.name,
                        pack.version,
                        now.version()
                    )));
                }
                None => {
                    return Err(mismatch(format!(
                        "pack `{}` is no longer in force",
                        pack.name
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The decision a refusal carries, to attach what only this process knows.
fn decision_mut(e: &mut GuardError) -> Option<&mut Decision> {
    match e {
        GuardError::Denied(d)
        | GuardError::Expired { decision: d, .. }
        | GuardError::ApproverFailed { decision: d, .. }
        | GuardError::AlreadyExecuted { decision: d, .. } => Some(d),
        _ => None,
    }
}

/// The decision as the caller of `guard` sees it after a human declined.
fn declined_decision(record: &ActionRecord, mut decision: Decision) -> Decision {
    if let Some(a) = &record.approval {
        let why = if a.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", a.reason)
        };
        decision.analysis = format!(
            "Declined by {} via {}{why}. {}",
            a.by, a.channel, decision.analysis
        );
    }
    decision.status = State::Declined;
    decision
}
