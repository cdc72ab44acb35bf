#![doc = include_str!("../README.md")]

pub mod action;
pub mod approver;
mod budget;
mod canonical;
pub mod code;
mod condition;
pub mod corpus;
pub mod coverage;
pub mod decision;
pub mod error;
mod gateway;
#[cfg(feature = "groq")]
pub mod groq;
pub mod json;
pub mod ladder;
pub mod lint;
pub mod metrics;
mod name_map;
pub mod pack;
mod path;
mod pipeline;
mod policy;
pub mod redact;
pub mod replay;
pub mod rule;
mod rule_id;
pub mod scorer;
pub mod shadow;
#[cfg(feature = "slack")]
pub mod slack;
pub mod spec;
pub mod state;
pub mod store;
pub mod telemetry;
#[cfg(feature = "telnyx")]
pub mod telnyx;
mod template;
pub mod tool_call;
#[cfg(feature = "webhook")]
pub mod webhook;

pub use action::{Action, ActionId};
pub use approver::{ApprovalHandle, ApprovalRequest, Approver, CallbackApprover, Resolution, Vote};
pub use code::{Coded, ErrorCode};
pub use decision::{Decision, PackRef, ScorerUse, Timings};
pub use error::{
    ActionError, ApproverError, BuildError, GuardError, PackError, PackErrorKind, ResolveError,
    ScorerError, StoreError, SubmitError, TransitionError,
};
pub use gateway::{Gateway, GatewayBuilder, Permit, Ticket};
#[cfg(feature = "groq")]
pub use groq::{GroqError, GroqScorer, GroqScorerBuilder, GroqStats, ScorerTally};
pub use metrics::{Metrics, MetricsSnapshot};
pub use pack::Pack;
pub use pack::format::{Effect, PackDocument};
pub use pipeline::{OnScorerError, Unmatched};
pub use rule::RuleMatch;
pub use rule_id::RuleId;
pub use scorer::{Assessment, OfflineScorer, RiskScorer, ScoreContext};
pub use spec::{ConfigError, GatewaySpec};
pub use state::State;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use store::SqlStore;
pub use store::{
    ActionRecord, Approval, AuditEvent, AuditKind, Created, MemoryStore, Store, Transition,
};
#[cfg(feature = "telnyx")]
pub use telnyx::{TelnyxConfig, TelnyxVoiceApprover, WebhookError, WebhookOutcome};

/// The JSON Schema of the policy pack format, as generated from [`PackDocument`].
pub fn pack_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(PackDocument)).unwrap_or_default()
}

/// The repository README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct RepositoryReadme;
