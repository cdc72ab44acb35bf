//! Error types, one enum per operation.
//!
//! Messages are lowercase, end without a period and quote user input in backticks.

use thiserror::Error;

use crate::action::ActionId;
use crate::code::{Coded, ErrorCode};
use crate::decision::Decision;
use crate::state::State;

/// Why an action could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ActionError {
    /// The text was not JSON.
    #[error("action is not valid JSON: {message}")]
    Syntax {
        /// The parser's message, with line and column.
        message: String,
    },
    /// Valid JSON that could not be kept exactly as sent: a key given twice (which one the
    /// sender meant is not guessed) or an integer beyond 64 bits (see [`crate::json`]).
    #[error(transparent)]
    Inexact(crate::json::StrictJsonError),
    /// The JSON was not an object.
    #[error("an action must be a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// A required field is absent.
    #[error("missing field `{field}`")]
    MissingField {
        /// The field's name.
        field: &'static str,
    },
    /// A field has the wrong JSON type.
    #[error("field `{field}` must be {expected}, found {found}")]
    WrongType {
        /// The field's name.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
        /// The JSON type found instead.
        found: &'static str,
    },
    /// A field that must carry text is empty.
    #[error("field `{field}` must not be empty")]
    Empty {
        /// The field's name.
        field: &'static str,
    },
    /// A field that the action format does not have.
    #[error(
        "unknown field `{field}`, expected one of `agent_id`, `action`, `payload`, `reasoning`, `idempotency_key`, `context`"
    )]
    UnknownField {
        /// The field's name as given.
        field: String,
    },
    /// An action id that is not a UUID.
    #[error("`{id}` is not an action id")]
    BadId {
        /// The text given.
        id: String,
    },
}

/// Why a policy pack could not be loaded.
///
/// Names the pack, the rule (when the problem is inside one) and the JSON pointer of the
/// offending part, e.g. ``in pack `VaultKeeper`, rule `big-unknown`, at `/rules/0/when/gte/value`: ...``.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("in pack `{pack}`{}{}: {kind}", rule.as_ref().map(|r| format!(", rule `{r}`")).unwrap_or_default(), location(pointer))]
pub struct PackError {
    /// The pack's name, or its file path when the name could not be read.
    pub pack: String,
    /// The rule's id when the problem is inside a rule.
    pub rule: Option<String>,
    /// JSON pointer (RFC 6901) to the offending part; empty for the whole document.
    pub pointer: String,
    /// What is wrong.
    pub kind: PackErrorKind,
}

/// `, at `/pointer`` for a part of the document; nothing for the whole document.
fn location(pointer: &str) -> String {
    if pointer.is_empty() {
        String::new()
    } else {
        format!(", at `{pointer}`")
    }
}

/// What is wrong with a pack.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PackErrorKind {
    /// The file could not be read.
    #[error("cannot read file: {0}")]
    Io(String),
    /// Not JSON, or JSON that does not fit the pack format (unknown field, wrong type,
    /// unknown operator or effect).
    #[error("{0}")]
    Format(String),
    /// `version` is not a semantic version.
    #[error("`{0}` is not a semantic version")]
    Version(String),
    /// A path that does not address a part of the action.
    #[error(
        "`{0}` is not an action path: use `agent_id`, `action`, `reasoning`, `idempotency_key`, `payload.<key>...` or `context.<key>...`"
    )]
    Path(String),
    /// An operator given an operand of the wrong type.
    #[error("operator `{op}` needs {expected}, found {found}")]
    Operand {
        /// The operator.
        op: &'static str,
        /// What it needs.
        expected: &'static str,
        /// What was given.
        found: String,
    },
    /// A comparison with `null`: absent and `null` fields fail every comparison, so it
    /// could never match (or, for `ne` and `not_in`, would only test presence).
    #[error(
        "operator `{op}` compares with `null`, which never matches: absent and `null` fields fail every comparison; test presence with `exists` (or `not` `exists`)"
    )]
    NullOperand {
        /// The operator.
        op: &'static str,
    },
    /// A regular expression that does not compile.
    #[error("bad regular expression `{pattern}`: {message}")]
    Regex {
        /// The pattern.
        pattern: String,
        /// The regex crate's message.
        message: String,
    },
    /// Two rules share an id.
    #[error("duplicate rule id `{0}`")]
    DuplicateRule(String),
    /// A rule names an action that the pack does not apply to.
    #[error("action `{0}` is not in the pack's `applies_to`")]
    ActionNotCovered(String),
    /// A reason template with an unclosed or empty `{}`.
    #[error("bad reason template `{template}`: {message}")]
    Template {
        /// The template.
        template: String,
        /// What is wrong.
        message: String,
    },
    /// A risk value outside 0..=100, or thresholds that contradict each other.
    #[error("{0}")]
    Range(String),
    /// Two packs with the same name were given to one gateway.
    #[error("duplicate pack name")]
    DuplicatePack,
    /// A built-in pack name that does not exist.
    #[error(
        "no built-in pack named `{0}`; built-in packs are `VaultKeeper`, `PrivacyShield`, `OpsGuard`"
    )]
    UnknownBuiltin(String),
}

/// A source error as the core keeps it: shared, so errors stay cheap to clone.
pub type Source = std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Defines a failure of a pluggable part (scorer, approver): a message, and the error
/// behind it when there is one (an HTTP failure, or the exception a Python or JavaScript
/// callback raised): [`std::error::Error::source`] returns it, and the bindings hand a
/// user's own exception back as itself from there. Equal when the messages are.
macro_rules! failure {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Error)]
        #[error("{message}")]
        pub struct $name {
            /// What went wrong (never contains a secret).
            pub message: String,
            #[source]
            source: Option<Source>,
        }

        impl $name {
            /// Creates the error from a message.
            pub fn new(message: impl Into<String>) -> Self {
                Self {
                    message: message.into(),
                    source: None,
                }
            }

            /// Creates the error, caused by `source`.
            pub fn with_source(
                message: impl Into<String>,
                source: impl std::error::Error + Send + Sync + 'static,
            ) -> Self {
                Self {
                    message: message.into(),
                    source: Some(std::sync::Arc::new(source)),
                }
            }

            /// The error behind this one, if any.
            pub fn cause(&self) -> Option<&Source> {
                self.source.as_ref()
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.message == other.message
            }
        }

        impl Eq for $name {}
    };
}

failure! {
    /// A scorer could not assess an action or answer a question.
    ScorerError
}

failure! {
    /// An approver could not start an approval (e.g. the phone call could not be placed).
    ApproverError
}

/// A store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No action with this id.
    #[error("no action with id `{0}`")]
    NotFound(ActionId),
    /// The state machine refuses this transition.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The idempotency key was used before for a different action.
    #[error("idempotency key `{key}` was already used for a different action (`{existing}`)")]
    IdempotencyConflict {
        /// The key.
        key: String,
        /// The action that holds it.
        existing: ActionId,
    },
    /// The storage backend failed.
    #[error("store unavailable: {0}")]
    Backend(String),
}

/// A state change the lifecycle does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TransitionError {
    /// The action is already in a terminal state.
    #[error("action `{id}` is already {state} and can no longer change")]
    Terminal {
        /// The action.
        id: ActionId,
        /// Its terminal state.
        state: State,
    },
    /// No edge from `from` to `to`.
    #[error("action `{id}` cannot go from {from} to {to}")]
    Illegal {
        /// The action.
        id: ActionId,
        /// Its current state.
        from: State,
        /// The state asked for.
        to: State,
    },
}

/// The gateway could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A pack failed to load.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// A builder setting is out of range.
    #[error("invalid setting `{setting}`: {message}")]
    Setting {
        /// The setting's name.
        setting: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// `submit` failed before a decision was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The store failed or refused the action (e.g. an idempotency conflict).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `guard` did not run the function.
///
/// Every variant but [`Store`](Self::Store) names the action; those about a decided action
/// carry its decision (why it was escalated, by which rules and packs).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum GuardError {
    /// Policy or a human declined the action.
    #[error("action `{}` was declined: {}", .0.action_id, .0.analysis)]
    Denied(Box<Decision>),
    /// Nobody decided before the escalation timeout.
    #[error("action `{action_id}` expired waiting for approval")]
    Expired {
        /// The action.
        action_id: ActionId,
        /// Why it was escalated.
        decision: Box<Decision>,
    },
    /// The approver could not ask a human (the call failed): fails closed.
    #[error("action `{action_id}` could not be sent for approval: {message}")]
    ApproverFailed {
        /// The action.
        action_id: ActionId,
        /// The approver's message.
        message: String,
        /// Why it was escalated.
        decision: Box<Decision>,
        /// The approver's error, when it failed in this process.
        #[source]
        source: Option<ApproverError>,
    },
    /// The action was already executed once (same id or idempotency key).
    #[error("action `{action_id}` was already executed")]
    AlreadyExecuted {
        /// The action.
        action_id: ActionId,
        /// The decision it ran under.
        decision: Box<Decision>,
    },
    /// What is about to run is not what was approved: other arguments, or packs that
    /// changed since the decision.
    #[error("action `{action_id}` does not match its approval: {reason}")]
    ReceiptMismatch {
        /// The action.
        action_id: ActionId,
        /// What differs.
        reason: String,
    },
    /// The store failed: fails closed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl GuardError {
    /// The action, when one was recorded.
    pub fn action_id(&self) -> Option<ActionId> {
        match self {
            Self::Denied(d) => Some(d.action_id),
            Self::Expired { action_id, .. }
            | Self::ApproverFailed { action_id, .. }
            | Self::AlreadyExecuted { action_id, .. }
            | Self::ReceiptMismatch { action_id, .. } => Some(*action_id),
            Self::Store(_) => None,
        }
    }

    /// The decision the action was refused under, when there is one.
    pub fn decision(&self) -> Option<&Decision> {
        match self {
            Self::Denied(d)
            | Self::Expired { decision: d, .. }
            | Self::ApproverFailed { decision: d, .. }
            | Self::AlreadyExecuted { decision: d, .. } => Some(d),
            Self::ReceiptMismatch { .. } | Self::Store(_) => None,
        }
    }
}

impl From<SubmitError> for GuardError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Store(s) => Self::Store(s),
        }
    }
}

/// `resolve` could not record a human decision.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// No pending action with this id, or it has already been decided.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Coded for ActionError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidAction
    }
}

impl Coded for PackError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidPack
    }
}

impl Coded for ScorerError {
    fn code(&self) -> ErrorCode {
        ErrorCode::ScorerFailed
    }
}

impl Coded for ApproverError {
    fn code(&self) -> ErrorCode {
        ErrorCode::ApproverFailed
    }
}

impl Coded for TransitionError {
    fn code(&self) -> ErrorCode {
        ErrorCode::AlreadyDecided
    }
}

impl Coded for StoreError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Transition(_) => ErrorCode::AlreadyDecided,
            Self::IdempotencyConflict { .. } => ErrorCode::IdempotencyConflict,
            Self::Backend(_) => ErrorCode::StoreUnavailable,
        }
    }
}

impl Coded for BuildError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Pack(_) => ErrorCode::InvalidPack,
            Self::Setting { .. } => ErrorCode::InvalidConfig,
        }
    }
}

impl Coded for SubmitError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Store(e) => e.code(),
        }
    }
}

impl Coded for GuardError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Denied(_) => ErrorCode::Denied,
            Self::Expired { .. } => ErrorCode::Expired,
            Self::ApproverFailed { .. } => ErrorCode::ApproverFailed,
            Self::AlreadyExecuted { .. } => ErrorCode::AlreadyExecuted,
            Self::ReceiptMismatch { .. } => ErrorCode::ReceiptMismatch,
            Self::Store(e) => e.code(),
        }
    }
}

impl Coded for ResolveError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Store(e) => e.code(),
        }
    }
}
