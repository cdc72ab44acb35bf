//! Releasing an action's budget entries when it ends without running.

use super::Gateway;
use crate::state::State;
use crate::store::ActionRecord;

impl Gateway {
    /// Removes the budget entries of an action that has ended without running (declined,
    /// expired, no approver could be asked): what it reserved when it was decided no longer
    /// counts. A store that cannot release is logged; the entries then keep counting until
    /// they leave their windows (the safe side).
    pub(super) async fn release_budgets(&self, record: &ActionRecord) {
        if !self.inner.pipeline.policy.has_budgets()
            || !matches!(
                record.state,
                State::Declined | State::Expired | State::ErrorApprover
            )
        {
            return;
        }
        if let Err(e) = self.inner.store.release_budgets(record.id).await {
            tracing::warn!(action_id = %record.id, error = %e, "cannot release the action's budget entries");
        }
    }
}
