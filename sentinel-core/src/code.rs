//! [`ErrorCode`]: the one list of stable error codes every host speaks.
//!
//! Rust errors say their code with [`Coded::code`]; Python exceptions carry it as `.code`
//! (`"denied"`), Node errors as `.code` with the `SENTINEL_` prefix (`"SENTINEL_DENIED"`),
//! and the HTTP server as `error.code` (`"denied"`). No host classifies an error by its
//! message. `docs/errors.md` documents the table; a test keeps it in step with this list.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A stable, machine-readable error code (snake_case on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// Policy or a human declined the action; nothing ran.
    Denied,
    /// Nobody decided before the escalation timeout; nothing ran.
    Expired,
    /// No human could be asked (the call or message could not be placed); nothing ran.
    ApproverFailed,
    /// The action already ran once (same id or idempotency key).
    AlreadyExecuted,
    /// The action was already decided (or is in a state that cannot change that way).
    AlreadyDecided,
    /// The idempotency key belongs to a different action.
    IdempotencyConflict,
    /// What is about to run is not what was approved (other arguments or changed packs).
    ReceiptMismatch,
    /// The action (or an action id) is malformed; the error names the field.
    InvalidAction,
    /// A policy pack does not load; the error names the pack, the rule and the JSON pointer.
    InvalidPack,
    /// A configuration file, option or environment variable is unusable; the error names
    /// the key.
    InvalidConfig,
    /// A request is malformed below the action (not JSON, a bad header or parameter).
    InvalidRequest,
    /// The store failed; nothing was decided or run (fails closed).
    StoreUnavailable,
    /// The risk scorer failed; the action failed closed.
    ScorerFailed,
    /// No action with this id.
    NotFound,
    /// No credentials, or credentials nobody issued.
    Unauthorized,
    /// Known credentials, not allowed to do this.
    Forbidden,
    /// The request body is larger than allowed.
    PayloadTooLarge,
    /// A webhook's signature or timestamp did not verify; nothing changed.
    WebhookUnverified,
    /// The operation is not available in this configuration.
    Unsupported,
    /// An unexpected failure inside Sentinel; nothing ran.
    Internal,
}

impl ErrorCode {
    /// Every code, in the order of the documentation table.
    pub const ALL: [ErrorCode; 20] = [
        Self::Denied,
        Self::Expired,
        Self::ApproverFailed,
        Self::AlreadyExecuted,
        Self::AlreadyDecided,
        Self::IdempotencyConflict,
        Self::ReceiptMismatch,
        Self::InvalidAction,
        Self::InvalidPack,
        Self::InvalidConfig,
        Self::InvalidRequest,
        Self::StoreUnavailable,
        Self::ScorerFailed,
        Self::NotFound,
        Self::Unauthorized,
        Self::Forbidden,
        Self::PayloadTooLarge,
        Self::WebhookUnverified,
        Self::Unsupported,
        Self::Internal,
    ];

    /// The code as every host spells it, e.g. `idempotency_conflict`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::ApproverFailed => "approver_failed",
            Self::AlreadyExecuted => "already_executed",
            Self::AlreadyDecided => "already_decided",
            Self::IdempotencyConflict => "idempotency_conflict",
            Self::ReceiptMismatch => "receipt_mismatch",
            Self::InvalidAction => "invalid_action",
            Self::InvalidPack => "invalid_pack",
            Self::InvalidConfig => "invalid_config",
            Self::InvalidRequest => "invalid_request",
            Self::StoreUnavailable => "store_unavailable",
            Self::ScorerFailed => "scorer_failed",
            Self::NotFound => "not_found",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::PayloadTooLarge => "payload_too_large",
            Self::WebhookUnverified => "webhook_unverified",
            Self::Unsupported => "unsupported",
            Self::Internal => "internal",
        }
    }

    /// The code with the Node prefix, e.g. `SENTINEL_IDEMPOTENCY_CONFLICT`.
    pub fn node_code(self) -> String {
        format!("SENTINEL_{}", self.as_str().to_ascii_uppercase())
    }

    /// The code named by `text` (`denied`, or `SENTINEL_DENIED`).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.strip_prefix("SENTINEL_").unwrap_or(text);
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(text))
    }

    /// The HTTP status the server answers with for this code.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::Denied => 403,
            Self::ApproverFailed => 502,
            Self::Expired
            | Self::AlreadyExecuted
            | Self::AlreadyDecided
            | Self::IdempotencyConflict
            | Self::ReceiptMismatch => 409,
            Self::InvalidAction | Self::InvalidPack | Self::InvalidConfig => 422,
            Self::InvalidRequest => 400,
            Self::StoreUnavailable | Self::ScorerFailed => 503,
            Self::NotFound => 404,
            Self::Unauthorized | Self::WebhookUnverified => 401,
            Self::Forbidden => 403,
            Self::PayloadTooLarge => 413,
            Self::Unsupported => 501,
            Self::Internal => 500,
        }
    }

    /// One sentence on what the code means, for the documentation table.
    pub const fn meaning(self) -> &'static str {
        match self {
            Self::Denied => "policy or a human declined the action; nothing ran",
            Self::Expired => "nobody decided before the escalation timeout; nothing ran",
            Self::ApproverFailed => "no human could be asked (call or message failed); nothing ran",
            Self::AlreadyExecuted => "the action already ran once (same id or idempotency key)",
            Self::AlreadyDecided => "the action was already decided and cannot change",
            Self::IdempotencyConflict => "the idempotency key belongs to a different action",
            Self::ReceiptMismatch => {
                "what is about to run differs from what was approved (arguments or packs)"
            }
            Self::InvalidAction => "the action or action id is malformed; `field` names the field",
            Self::InvalidPack => {
                "a policy pack does not load; the message names pack, rule and pointer"
            }
            Self::InvalidConfig => {
                "a configuration key, option or variable is unusable; `key` names it"
            }
            Self::InvalidRequest => {
                "the request is malformed (not JSON, a bad header or parameter)"
            }
            Self::StoreUnavailable => "the store failed; nothing was decided or run",
            Self::ScorerFailed => "the risk scorer failed; the action failed closed",
            Self::NotFound => "no action with this id",
            Self::Unauthorized => "no credentials, or credentials nobody issued",
            Self::Forbidden => "known credentials, not allowed to do this",
            Self::PayloadTooLarge => "the request body is larger than allowed",
            Self::WebhookUnverified => {
                "a webhook's signature or timestamp did not verify; nothing changed"
            }
            Self::Unsupported => "the operation is not available in this configuration",
            Self::Internal => "an unexpected failure inside Sentinel; nothing ran",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error that has a stable [`ErrorCode`].
pub trait Coded {
    /// The error's code.
    fn code(&self) -> ErrorCode;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert_eq!(ErrorCode::parse(&code.node_code()), Some(code));
            let json = serde_json::to_string(&code).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
        assert_eq!(ErrorCode::parse("nope"), None);
    }
}
