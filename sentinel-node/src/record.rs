//! Action records as JS sees them (camelCase, plain objects); the decision inside crosses
//! as every decision does, through `codec.rs`.

use napi_derive::napi;
use sentinel_core::ActionRecord;

use crate::codec::encode_decision;

/// A human decision as recorded.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ApprovalView {
    /// Approved (`true`) or declined.
    pub approved: bool,
    /// Who decided.
    pub by: String,
    /// Through which channel.
    pub channel: String,
    /// Why.
    pub reason: String,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: f64,
}

/// Where an action stands: what `status` and `resolve` return.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ActionStatus {
    /// The action's id.
    pub action_id: String,
    /// Its lifecycle state, e.g. `BLOCKED_AWAITING_AUTH`, `APPROVED`, `EXPIRED`.
    pub state: String,
    /// The gateway's decision, once made, encoded by `codec.rs` (decoded by the TypeScript
    /// layer into the same object `evaluate` gives).
    pub decision: Option<String>,
    /// The human decision, once made.
    pub approval: Option<ApprovalView>,
    /// When a pending action expires, in milliseconds since the Unix epoch.
    pub deadline_ms: Option<f64>,
    /// When the guarded function was started, in milliseconds since the Unix epoch.
    pub executed_at_ms: Option<f64>,
}

impl From<ActionRecord> for ActionStatus {
    fn from(r: ActionRecord) -> Self {
        Self {
            action_id: r.id.to_string(),
            state: r.state.as_str().to_owned(),
            decision: r.decision.as_deref().map(encode_decision),
            approval: r.approval.map(|a| ApprovalView {
                approved: a.approved,
                by: a.by,
                channel: a.channel,
                reason: a.reason,
                at_ms: a.at.timestamp_millis() as f64,
            }),
            deadline_ms: r.deadline.map(|d| d.timestamp_millis() as f64),
            executed_at_ms: r.executed_at.map(|d| d.timestamp_millis() as f64),
        }
    }
}
