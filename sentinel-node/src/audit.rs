//! The audit trail of an action as JS sees it (camelCase, plain objects).

use napi_derive::napi;
use sentinel_core::AuditEvent;

use crate::convert::parse_id;
use crate::errors::{Reply, store_error};
use crate::gateway::NativeGateway;

/// One entry of the append-only audit trail.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct AuditEventView {
    /// Position in the store's trail, starting at 1.
    pub seq: f64,
    /// `transition` (a state change) or `execution` (the guarded function started).
    pub kind: String,
    /// The action.
    pub action_id: String,
    /// The acting agent.
    pub agent_id: String,
    /// The action name.
    pub action: String,
    /// The state before (absent when the action was received).
    pub from: Option<String>,
    /// The state after.
    pub to: String,
    /// Who caused it: `sentinel` for the gateway itself, else the person.
    pub actor: String,
    /// Through which channel: `policy`, `timeout`, `voice/dtmf`, `web`...
    pub channel: String,
    /// Why.
    pub reason: String,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: f64,
    /// Hash of the previous event of the store.
    pub prev_hash: String,
    /// Hash of this event.
    pub hash: String,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        Self {
            seq: e.seq as f64,
            kind: e.kind.as_str().to_owned(),
            action_id: e.action_id.to_string(),
            agent_id: e.agent_id,
            action: e.action,
            from: e.from.map(|s| s.as_str().to_owned()),
            to: e.to.as_str().to_owned(),
            actor: e.actor,
            channel: e.channel,
            reason: e.reason,
            at_ms: e.at.timestamp_millis() as f64,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

#[napi]
impl NativeGateway {
    /// The audit trail of one action, oldest first.
    #[napi(ts_return_type = "Promise<Array<AuditEventView>>")]
    pub async fn audit_trail(&self, action_id: String) -> Reply<Vec<AuditEventView>> {
        Reply(
            async {
                let id = parse_id(&action_id)?;
                let trail = self
                    .gateway()?
                    .audit_trail(id)
                    .await
                    .map_err(|e| store_error(&e))?;
                Ok(trail.into_iter().map(AuditEventView::from).collect())
            }
            .await,
        )
    }
}
