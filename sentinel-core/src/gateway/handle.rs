//! What an approver's [`ApprovalHandle`] can do for its action.

use super::Gateway;
use crate::approver::{ApprovalHandle, Resolution};
use crate::error::{ResolveError, StoreError};
use crate::store::ActionRecord;

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
