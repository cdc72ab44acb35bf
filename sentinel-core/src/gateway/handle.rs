//! What an approver's [`ApprovalHandle`] can do for its action, and what its
//! [`ApproverLink`] reaches of the gateway.

use std::sync::Arc;

use super::Gateway;
use crate::approver::{ApprovalHandle, ApproverLink, Resolution};
use crate::error::{ResolveError, StoreError};
use crate::store::{ActionRecord, AuditEvent, Store};

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
