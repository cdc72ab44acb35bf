//! Handing pending actions back to the approver after a restart ([`Approver::resume`]).

use std::sync::Arc;

use chrono::Utc;

use super::{Gateway, SYSTEM};
use crate::action::Action;
use crate::approver::{ApprovalHandle, ApprovalRequest, Approver};
use crate::error::StoreError;
use crate::state::State;
use crate::store::{ActionRecord, Transition};

impl Gateway {
    /// Asks the approver to resume each of `records` still pending (deadline ahead), one
    /// after the other. An approver that cannot ask anyone fails the action closed
    /// (`ERROR_APPROVER`), as when [`Approver::request`] fails.
    pub(super) async fn resume_approvals(&self, records: &[ActionRecord]) {
        let Some(approver) = self.inner.approver.clone() else {
            return;
        };
        let now = Utc::now();
        for record in records {
            let Some(request) = self.approval_request(record) else {
                continue;
            };
            if request.deadline <= now {
                continue;
            }
            if let Err(e) = approver.resume(request).await {
                tracing::warn!(action_id = %record.id, approver = approver.name(), error = %e, "approver could not resume; failing closed");
                self.fail_approver(record, approver.as_ref(), e.to_string())
                    .await;
            }
        }
    }

    /// The request the approver got (or would have got) for a pending record.
    pub(super) fn approval_request(&self, record: &ActionRecord) -> Option<ApprovalRequest> {
        let decision = record.decision.as_deref().cloned()?;
        let deadline = record.deadline?;
        let redact_paths = self
            .inner
            .pipeline
            .explain_context(&record.action, &decision.packs)
            .redact_paths;
        Some(ApprovalRequest {
            action_id: record.id,
            action: Action::clone(&record.action),
            decision,
            redact_paths,
            deadline,
            handle: ApprovalHandle {
                action_id: record.id,
                gateway: Arc::downgrade(&self.inner),
            },
        })
    }

    async fn fail_approver(&self, record: &ActionRecord, approver: &dyn Approver, reason: String) {
        let failed = Transition::new(State::ErrorApprover, SYSTEM, approver.name(), reason);
        match self.transition(record.id, failed).await {
            // Decided or moved on meanwhile: what the store says stands.
            Ok(_) | Err(StoreError::Transition(_)) => {}
            Err(e) => {
                tracing::warn!(action_id = %record.id, error = %e, "could not record the approver's failure");
            }
        }
    }
}
