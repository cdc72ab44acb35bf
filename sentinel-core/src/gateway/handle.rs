//! What an approver's [`ApprovalHandle`] can do for its action, and what its
//! [`ApproverLink`] reaches of the gateway.

use std::sync::Arc;

use super::{Gateway, SYSTEM};
use crate::action::ActionId;
use crate::approver::{ApprovalHandle, ApproverLink, Resolution, Vote};
use crate::error::{ResolveError, StoreError};
use crate::state::State;
use crate::store::{ActionRecord, AuditEvent, Store, Transition};

impl ApproverLink {
    /// The gateway's store; `None` once the gateway is dropped.
    pub fn store(&self) -> Option<Arc<dyn Store>> {
        Gateway::from_weak(&self.gateway).map(|g| Arc::clone(&g.inner.store))
    }
}

impl ApprovalHandle {
    fn gateway(&self) -> Result<Gateway, StoreError> {
        Gateway::from_weak(&self.gateway)
            .ok_or_else(|| StoreError::Backend("the gateway was dropped".to_owned()))
    }

    /// Delivers the human's decision for this action.
    pub async fn resolve(&self, resolution: Resolution) -> Result<ActionRecord, ResolveError> {
        self.gateway()?.resolve(self.action_id, resolution).await
    }

    /// Marks the action as being discussed (`true`) or back to waiting (`false`).
    pub async fn set_qna_mode(
        &self,
        on: bool,
        actor: &str,
        channel: &str,
    ) -> Result<ActionRecord, ResolveError> {
        self.gateway()?
            .set_qna_mode(self.action_id, on, actor, channel)
            .await
    }

    /// Adds a note about this action to its audit trail (see [`Gateway::note`]): what the
    /// approver did that the record should show, e.g. that it asked again after a restart.
    pub async fn note(
        &self,
        actor: &str,
        channel: &str,
        text: &str,
    ) -> Result<AuditEvent, StoreError> {
        self.gateway()?
            .note(self.action_id, actor, channel, text)
            .await
    }

    /// Answers the human's question through the gateway's scorer.
    pub async fn explain(&self, question: &str) -> Result<String, StoreError> {
        self.gateway()?.explain(self.action_id, question).await
    }

    /// Answers a question asked by `by` through `channel`, and records both in the audit
    /// trail (a note), so the record shows what the human knew when deciding.
    pub async fn ask(&self, question: &str, by: &str, channel: &str) -> Result<String, StoreError> {
        let gateway = self.gateway()?;
        let answer = gateway.explain(self.action_id, question).await?;
        let text = format!("asked: \"{question}\"; answered: \"{answer}\"");
        gateway.note(self.action_id, by, channel, &text).await?;
        Ok(answer)
    }
}

impl ApprovalHandle {
    /// Ends the wait at once: the action expires undecided (fail closed), with `reason`
    /// in its audit trail, recorded through `channel`. For approvers that give up before
    /// the escalation deadline (every step of a ladder ended). Fails when the action is no
    /// longer pending.
    pub async fn expire(&self, channel: &str, reason: &str) -> Result<ActionRecord, ResolveError> {
        let step = Transition::new(State::Expired, SYSTEM, channel, reason);
        let (record, _) = self.gateway()?.transition(self.action_id, step).await?;
        Ok(record)
    }

    /// No human could be reached: the action fails closed (`ERROR_APPROVER`), with
    /// `reason` in its audit trail. Fails when the action is no longer pending.
    pub async fn fail(&self, channel: &str, reason: &str) -> Result<ActionRecord, ResolveError> {
        let step = Transition::new(State::ErrorApprover, SYSTEM, channel, reason);
        let (record, _) = self.gateway()?.transition(self.action_id, step).await?;
        Ok(record)
    }
}

impl Gateway {
    /// Hands a person's decision to the approver's [`vote`](crate::Approver::vote) first:
    /// the resolution to record, or the record as it stands when the vote was only counted.
    pub(super) async fn screen(
        &self,
        id: ActionId,
        resolution: Resolution,
    ) -> Result<Result<Resolution, ActionRecord>, ResolveError> {
        let Some(approver) = &self.inner.approver else {
            return Ok(Ok(resolution));
        };
        match approver.vote(id, &resolution).await? {
            Vote::Decide(r) => Ok(Ok(r)),
            Vote::Counted => Ok(Err(self.inner.store.get(id).await?)),
        }
    }
}
