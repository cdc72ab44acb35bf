//! Core errors as JS errors.
//!
//! Errors a JS caller should catch by kind cross the boundary either as a rejected napi
//! error whose `code` is a napi status (`InvalidArg` for bad input, `GenericFailure` for
//! the rest; the TypeScript layer maps them to `InputError`, `PolicyError`...) or, for
//! `authorize`, as a [`GuardOutcome`] value that names the kind, so that the TypeScript
//! layer can throw `DeniedError`, `TimeoutError`... with the decision and the cause.

use napi::Status;
use napi_derive::napi;
use sentinel_core::{BuildError, GuardError, ResolveError, StoreError};

use crate::decision::Decision;

/// Bad input from JS (an ill-formed action, id or option): becomes a `TypeError`.
pub fn input_error(message: impl Into<String>) -> napi::Error {
    napi::Error::new(Status::InvalidArg, message.into())
}

/// A failure that is not the caller's input (store, policy): becomes a `SentinelError`.
pub fn failure(message: impl Into<String>) -> napi::Error {
    napi::Error::new(Status::GenericFailure, message.into())
}

/// A bad scorer, approver or store setting (or its environment variable): becomes a
/// `ConfigError` (`SENTINEL_CONFIG`) whose `setting` is the backquoted name that follows
/// the fixed prefix. Callers never put a secret's value in `message`.
pub fn config_error(setting: &str, message: impl std::fmt::Display) -> napi::Error {
    failure(format!("{CONFIG_PREFIX}`{setting}`: {message}"))
}

/// How every configuration error message starts (the TypeScript layer keys on it).
pub const CONFIG_PREFIX: &str = "invalid configuration ";

/// A gateway that cannot be built: a bad setting is bad input; a pack that does not load
/// is a policy error (`GenericFailure`, message naming pack, rule and JSON pointer).
pub fn build_error(e: BuildError) -> napi::Error {
    match e {
        BuildError::Setting { .. } => input_error(e.to_string()),
        other => failure(other.to_string()),
    }
}

/// A failed `resolve` or `status`: an unknown action or one already decided.
pub fn store_error(e: StoreError) -> napi::Error {
    failure(e.to_string())
}

/// A failed `resolve`.
pub fn resolve_error(e: ResolveError) -> napi::Error {
    failure(e.to_string())
}

/// The result of `authorize`: permission to run the guarded function, or why not.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct GuardOutcome {
    /// The action's id (empty when the store failed before one was known).
    pub action_id: String,
    /// `null` when the function may run; else `denied`, `expired`, `approver`,
    /// `already_executed` or `store`.
    pub error: Option<String>,
    /// The error message (lowercase, as the core words it).
    pub message: Option<String>,
    /// The decision (always for `denied`; the decision made, otherwise).
    pub decision: Option<Decision>,
    /// The lifecycle state when permission was granted: `EXECUTED` or `APPROVED`.
    pub state: Option<String>,
    /// The id of the user error (scorer or approver) behind this outcome, if any.
    pub cause_id: Option<u32>,
}

impl GuardOutcome {
    /// Describes a refused guard.
    pub fn refused(e: GuardError, cause_id: Option<u32>) -> Self {
        let message = Some(e.to_string());
        let (kind, action_id, decision) = match e {
            GuardError::Denied(d) => ("denied", d.action_id.to_string(), Some(Decision::from(*d))),
            GuardError::Expired { action_id, .. } => ("expired", action_id.to_string(), None),
            GuardError::ApproverFailed { action_id, .. } => {
                ("approver", action_id.to_string(), None)
            }
            GuardError::AlreadyExecuted { action_id, .. } => {
                ("already_executed", action_id.to_string(), None)
            }
            _ => ("store", String::new(), None),
        };
        Self {
            action_id,
            error: Some(kind.to_owned()),
            message,
            decision,
            state: None,
            cause_id,
        }
    }
}
