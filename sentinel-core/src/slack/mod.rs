//! The Slack channel of the approval ladder (feature `slack`): a message with Approve /
//! Decline buttons posted with `chat.postMessage`, interaction callbacks verified with
//! Slack's request signing ([`verify`]), the Slack user mapped to an operator, the decision
//! made through the gateway (quorum included), and the message updated with the outcome
//! (`chat.update`).
//!
//! Hosts receive Slack's interaction requests (`sentinel-server`: `POST
//! /api/slack/interactions`), call [`SlackChannel::interaction`] with the raw body and the
//! two headers (answer 401 on an error, 200 at once otherwise) and then, from a task of
//! their own, [`SlackChannel::decide`].

mod channel;
mod client;
mod message;
mod verify;

pub use channel::{Decided, Interaction, SlackChannel};
pub use client::SlackClient;
pub use message::{APPROVE, BLOCK, DECLINE, approval_message, escape_mrkdwn, outcome_update};
pub use verify::{MAX_AGE_S, VerifyError, sign, verify};

use thiserror::Error;

/// A Slack operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SlackError {
    /// Slack could not be reached, or answered something that is not the Web API's JSON.
    #[error("slack unreachable: {0}")]
    Http(String),
    /// Slack refused a call (`{"ok": false, "error": ...}`).
    #[error("slack refused `{method}`: {error}")]
    Api {
        /// The Web API method.
        method: &'static str,
        /// Slack's error code (`channel_not_found`, `invalid_auth`...).
        error: String,
    },
    /// An interaction request's signature or age was refused.
    #[error("interaction refused: {0}")]
    Unverified(#[from] VerifyError),
    /// A verified interaction that is not one of Sentinel's buttons.
    #[error("unexpected interaction: {0}")]
    Payload(String),
}
