//! The Telnyx voice approver: phones the admin about an escalated action, reads a
//! redacted summary, takes `1` to approve or `2` for spoken questions answered by the
//! risk scorer, and accepts spoken decisions. Webhooks are Ed25519-verified.
//!
//! - [`TelnyxConfig`]: credentials and settings from the environment.
//! - [`TelnyxVoiceApprover`]: the [`Approver`](crate::Approver); its
//!   [`handle_webhook`](TelnyxVoiceApprover::handle_webhook) is what the HTTP server
//!   mounts at `POST /api/telnyx/webhook`.
//! - [`TelnyxClient`]: the Call Control commands it sends.
//! - [`WebhookVerifier`]: signature, timestamp and replay checks.
//! - Call state lives in the gateway's store (approval attempts of channel `telnyx-voice`),
//!   so a restarted process or another instance carries a call on.
//! - [`classify`](classify::classify) and [`spoken_summary`]: what the admin says and hears.
//!
//! See `docs/telnyx.md` for setup.

mod approver;
mod call;
mod channel;
pub mod classify;
pub mod client;
pub mod config;
mod conversation;
mod dial;
pub mod event;
mod persist;
pub mod summary;
pub mod verify;
mod webhook;

pub use approver::{CallReport, TelnyxVoiceApprover, WebhookError, WebhookOutcome};
pub use channel::VoiceChannel;
pub use classify::{Intent, classify};
pub use client::{HangupOutcome, RetryPolicy, TelnyxClient, TelnyxError};
pub use config::{
    ConfigError, DEFAULT_API_BASE, PhoneOperator, Secret, TelnyxConfig, WEBHOOK_PATH,
};
pub use conversation::{CHANNEL_DTMF, CHANNEL_SPEECH, CallOutcome, CallPhase, IgnoreReason};
pub use event::{CallEvent, EventKind};
pub use summary::{spoken_menu, spoken_summary};
pub use verify::{
    Clock, FixedClock, HeaderLookup, PublicKey, SystemClock, VerifyError, WebhookVerifier,
};
