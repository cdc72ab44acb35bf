//! An approver written in JavaScript: an object with an async `request` method, called
//! from the gateway's tokio tasks through a thread-safe function.

use async_trait::async_trait;
use napi_derive::napi;
use sentinel_core::{ApprovalRequest, Approver, ApproverError};

use crate::callback::{JsCallback, call};
use crate::codec::encode_decision;
use crate::convert::ActionView;

/// The argument of the wrapped `request` callback.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ApprovalCall {
    /// The escalated action's id; resolve it with `gateway.resolve(actionId, ...)`.
    pub action_id: String,
    /// The action.
    pub action: ActionView,
    /// Why it was escalated, encoded by `codec.rs` (decoded by the TypeScript layer).
    pub decision: String,
    /// When it expires undecided, in milliseconds since the Unix epoch.
    pub deadline_ms: f64,
}

/// An [`Approver`] whose `request` is a JS function. A rejection means no human could be
/// asked: the action fails closed (`ERROR_APPROVER`), and what the function threw becomes
/// the source of the core's [`ApproverError`] (a [`JsCause`](crate::callback::JsCause)).
pub struct JsApprover {
    name: String,
    request: JsCallback<ApprovalCall>,
}

impl JsApprover {
    /// Wraps the JS `request` callback of an approver named `name`.
    pub fn new(name: String, request: JsCallback<ApprovalCall>) -> Self {
        Self { name, request }
    }
}

#[async_trait]
impl Approver for JsApprover {
    fn name(&self) -> &str {
        &self.name
    }

    async fn request(&self, request: ApprovalRequest) -> Result<(), ApproverError> {
        let arg = ApprovalCall {
            action_id: request.action_id.to_string(),
            action: (&request.action).into(),
            decision: encode_decision(&request.decision),
            deadline_ms: request.deadline.timestamp_millis() as f64,
        };
        call(&self.request, arg)
            .await
            .map(drop)
            .map_err(|e| e.into_approver_error())
    }
}
