//! Channels: how a step reaches people (`voice`, `slack`, `webhook`, `console`).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::sync::mpsc;

use crate::approver::{ApprovalRequest, Approver, ApproverLink};

/// The kinds of channel a step can use (`routes[].steps[].channel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChannelKind {
    /// A phone call (the Telnyx voice approver).
    Voice,
    /// A Slack message with Approve / Decline buttons.
    Slack,
    /// A signed HTTPS POST carrying a console link (Teams Workflows, Discord, e-mail
    /// relays, pagers): people decide in the console.
    Webhook,
    /// Nobody is contacted: the console's operators decide.
    Console,
}

impl ChannelKind {
    /// `voice`, `slack`, `webhook` or `console`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voice => "voice",
            Self::Slack => "slack",
            Self::Webhook => "webhook",
            Self::Console => "console",
        }
    }

    /// True when a decision recorded through `channel` (`voice/dtmf`, `slack`, `console`,
    /// `web`) came through this kind of channel: such a decision ends the step.
    pub fn owns(self, channel: &str) -> bool {
        let head = channel.split('/').next().unwrap_or_default();
        match self {
            Self::Console => head == "console" || head == "web",
            kind => head == kind.as_str(),
        }
    }
}

/// A channel could not ask anyone (a dial error, a Slack API error, a call unanswered).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("channel `{channel}` failed: {message}")]
pub struct ChannelError {
    /// The channel.
    pub channel: String,
    /// What went wrong (never a secret).
    pub message: String,
}

impl ChannelError {
    /// A failure of `channel`.
    pub fn new(channel: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            channel: channel.into(),
            message: message.into(),
        }
    }
}

/// What a channel gets for one step.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StepRequest {
    /// The approval: the action, its decision, the redaction paths, the handle that
    /// delivers a person's decision.
    pub request: ApprovalRequest,
    /// The route's name.
    pub route: String,
    /// The step's index in the route (0 for the first).
    pub index: usize,
    /// How many steps the route has.
    pub of: usize,
    /// Whom the step reaches.
    pub to: String,
    /// When the step ends if nobody decided.
    pub ends_at: DateTime<Utc>,
    /// Tells the ladder that the channel failed after it started (a call not answered).
    pub reporter: StepReporter,
}

/// Reports a channel's failure after [`Channel::start`] returned: the step ends at once
/// and the next one starts.
#[derive(Debug, Clone)]
pub struct StepReporter {
    pub(crate) tx: mpsc::UnboundedSender<String>,
}

impl StepReporter {
    /// A reporter and the receiver the ladder reads.
    pub(crate) fn channel() -> (Self, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, rx)
    }

    /// The channel failed (`reason` is recorded in the audit trail: no secrets).
    pub fn failed(&self, reason: impl Into<String>) {
        // The step is over already when nobody listens.
        let _ = self.tx.send(reason.into());
    }
}

/// Reaches people for one step of the ladder. A person's decision is delivered through
/// `step.request.handle.resolve(...)` with `by` set to the person's identity (the operator
/// name a phone number or Slack user is bound to), so quorum counts people, not channels.
#[async_trait]
pub trait Channel: Send + Sync + 'static {
    /// The kind of channel this is.
    fn kind(&self) -> ChannelKind;

    /// Starts the step (places the call, posts the message) and returns. An error ends
    /// the step at once.
    async fn start(&self, step: StepRequest) -> Result<(), ChannelError>;

    /// After a restart, for a step that was under way when the process stopped: pick it up
    /// (re-attach to the call). Default: nothing.
    async fn resume(&self, step: StepRequest) -> Result<(), ChannelError> {
        let _ = step;
        Ok(())
    }

    /// Called once with the gateway the ladder serves. Default: ignored.
    fn attach(&self, link: ApproverLink) {
        let _ = link;
    }
}

/// The `console` channel: contacts nobody; the step waits for an operator.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleChannel;

#[async_trait]
impl Channel for ConsoleChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Console
    }

    async fn start(&self, _: StepRequest) -> Result<(), ChannelError> {
        Ok(())
    }
}

/// An [`Approver`] used as a channel (e.g. the Telnyx voice approver as `voice`): the step
/// starts with [`Approver::request`]; its error ends the step.
pub struct ApproverChannel {
    kind: ChannelKind,
    approver: Arc<dyn Approver>,
}

impl ApproverChannel {
    /// `approver` as a channel of `kind`.
    pub fn new(kind: ChannelKind, approver: Arc<dyn Approver>) -> Self {
        Self { kind, approver }
    }
}

impl std::fmt::Debug for ApproverChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApproverChannel")
            .field("kind", &self.kind)
            .field("approver", &self.approver.name())
            .finish()
    }
}

#[async_trait]
impl Channel for ApproverChannel {
    fn kind(&self) -> ChannelKind {
        self.kind
    }

    async fn start(&self, step: StepRequest) -> Result<(), ChannelError> {
        self.approver
            .request(step.request)
            .await
            .map_err(|e| ChannelError::new(self.kind.as_str(), e.to_string()))
    }

    async fn resume(&self, step: StepRequest) -> Result<(), ChannelError> {
        self.approver
            .resume(step.request)
            .await
            .map_err(|e| ChannelError::new(self.kind.as_str(), e.to_string()))
    }

    fn attach(&self, link: ApproverLink) {
        self.approver.attach(link);
    }
}
