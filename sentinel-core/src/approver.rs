//! Approvers ask a human about escalated actions: the [`Approver`] trait, the
//! [`ApprovalRequest`] they receive, the [`ApproverLink`] to the gateway they serve (for
//! answers reaching a process that did not ask, and [`Approver::resume`] after a restart),
//! and the [`CallbackApprover`] for in-process use.

use std::future::Future;
use std::sync::Weak;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::action::{Action, ActionId};
use crate::decision::Decision;
use crate::error::ApproverError;
use crate::gateway::Inner;

/// Asks a human to approve or decline an escalated action.
///
/// `request` starts the approval (places the call, posts the message) and returns; the
/// human's answer comes back later through [`ApprovalHandle::resolve`] or
/// [`Gateway::resolve`](crate::Gateway::resolve). An error means no human could be asked:
/// the action fails closed with status `ERROR_APPROVER`.
#[async_trait]
pub trait Approver: Send + Sync + 'static {
    /// A short name for logs and audit records, e.g. `telnyx-voice`.
    fn name(&self) -> &str;

    /// Starts an approval for an escalated action.
    async fn request(&self, request: ApprovalRequest) -> Result<(), ApproverError>;

    /// Called once when a gateway is built with this approver: `link` reaches that gateway
    /// (its store, a handle for any action) without keeping it alive, so that an approver
    /// can act on answers about actions it did not ask about itself (a webhook reaching a
    /// restarted process, or another instance). Default: ignored.
    fn attach(&self, link: ApproverLink) {
        let _ = link;
    }

    /// Called by [`Gateway::recover`](crate::Gateway::recover) for each action still
    /// waiting for a human, with the request [`request`](Self::request) got (or would have
    /// got, when its process died before asking). The approver picks the approval up where
    /// it stands: re-attaches to what is still under way, asks again what died with the
    /// process, or does nothing. Several processes recovering one store each call it: an
    /// approver that asks again must claim the action in the store first, so that only one
    /// does. An error means no human can be asked: the action fails closed
    /// (`ERROR_APPROVER`). Default: nothing to resume.
    async fn resume(&self, request: ApprovalRequest) -> Result<(), ApproverError> {
        let _ = request;
        Ok(())
    }

    /// Called by [`Gateway::resolve`](crate::Gateway::resolve) with a person's decision
    /// about a pending action before it is recorded: an approver that needs several
    /// people (a quorum) records the vote and answers [`Vote::Counted`] until enough
    /// approved. Default: [`Vote::Decide`] with the resolution as given.
    async fn vote(
        &self,
        action_id: ActionId,
        resolution: &Resolution,
    ) -> Result<Vote, crate::error::StoreError> {
        let _ = action_id;
        Ok(Vote::Decide(resolution.clone()))
    }
}

/// What [`Approver::vote`] makes of a person's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Vote {
    /// Record this decision now.
    Decide(Resolution),
    /// The vote is recorded; the action stays pending (more approvers are needed).
    Counted,
}

/// What an approver can reach of the gateway it serves (see [`Approver::attach`]), without
/// keeping the gateway alive: its store, and an [`ApprovalHandle`] for any action.
#[derive(Debug, Clone)]
pub struct ApproverLink {
    pub(crate) gateway: Weak<Inner>,
}

impl ApproverLink {
    /// A handle delivering the human's answer about `action_id` (an action this process may
    /// never have asked about).
    pub fn handle(&self, action_id: ActionId) -> ApprovalHandle {
        ApprovalHandle {
            action_id,
            gateway: self.gateway.clone(),
        }
    }

    /// True while the gateway is alive.
    pub fn is_alive(&self) -> bool {
        self.gateway.strong_count() > 0
    }
}

impl From<&ApprovalHandle> for ApproverLink {
    fn from(handle: &ApprovalHandle) -> Self {
        Self {
            gateway: handle.gateway.clone(),
        }
    }
}

/// Everything an approver needs to ask a human.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApprovalRequest {
    /// The action's id.
    pub action_id: ActionId,
    /// The action.
    pub action: Action,
    /// Why it was escalated: score, analysis, rules.
    pub decision: Decision,
    /// Paths (`payload.<key>...`, `context.<key>...`) the packs in force declare must be
    /// masked before anything about the action leaves the process (read aloud, posted).
    pub redact_paths: Vec<String>,
    /// After this, the action expires undecided.
    pub deadline: DateTime<Utc>,
    /// Delivers the human's answer for this action.
    pub handle: ApprovalHandle,
}

/// A human decision about a pending action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Resolution {
    /// Approve (`true`) or decline.
    pub approved: bool,
    /// Who decided: a user name, an e-mail, a phone number.
    pub by: String,
    /// Through which channel: `voice/dtmf`, `voice/speech`, `web`, `cli`...
    pub channel: String,
    /// Why, in the person's words.
    #[serde(default)]
    pub reason: String,
}

impl Resolution {
    /// An approval by `by` through `channel`.
    pub fn approve(by: impl Into<String>, channel: impl Into<String>) -> Self {
        Self {
            approved: true,
            by: by.into(),
            channel: channel.into(),
            reason: String::new(),
        }
    }

    /// A decline by `by` through `channel`.
    pub fn decline(by: impl Into<String>, channel: impl Into<String>) -> Self {
        Self {
            approved: false,
            ..Self::approve(by, channel)
        }
    }

    /// Adds the person's reason.
    #[must_use]
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }
}

/// A handle an approver keeps to deliver the human's answer for one action. It does not
/// keep the gateway alive.
#[derive(Debug, Clone)]
pub struct ApprovalHandle {
    pub(crate) action_id: ActionId,
    pub(crate) gateway: Weak<Inner>,
}

impl ApprovalHandle {
    /// The action this handle resolves.
    pub fn action_id(&self) -> ActionId {
        self.action_id
    }
}

type BoxedCallback = Box<
    dyn Fn(
            ApprovalRequest,
        ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), ApproverError>> + Send>>
        + Send
        + Sync,
>;

/// An approver made from an async closure: for in-process use, tests and custom channels
/// (Slack, a web form, a CLI prompt).
///
/// ```
/// use sentinel_core::{CallbackApprover, Resolution};
///
/// let approver = CallbackApprover::new("auto-approve", |req| async move {
///     req.handle.resolve(Resolution::approve("bot", "test")).await.ok();
///     Ok(())
/// });
/// ```
pub struct CallbackApprover {
    name: String,
    callback: BoxedCallback,
}

impl CallbackApprover {
    /// Wraps `callback`, which receives each approval request.
    pub fn new<F, Fut>(name: impl Into<String>, callback: F) -> Self
    where
        F: Fn(ApprovalRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ApproverError>> + Send + 'static,
    {
        Self {
            name: name.into(),
            callback: Box::new(move |req| Box::pin(callback(req))),
        }
    }
}

impl std::fmt::Debug for CallbackApprover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackApprover")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Approver for CallbackApprover {
    fn name(&self) -> &str {
        &self.name
    }

    async fn request(&self, request: ApprovalRequest) -> Result<(), ApproverError> {
        (self.callback)(request).await
    }
}
