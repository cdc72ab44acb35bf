//! Error types, one enum per operation.
//!
//! Messages are lowercase, end without a period and quote user input in backticks.

use thiserror::Error;

use crate::action::ActionId;
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
#[error("in pack `{pack}`{}, at `{pointer}`: {kind}", rule.as_ref().map(|r| format!(", rule `{r}`")).unwrap_or_default())]
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

/// A scorer could not assess an action or answer a question.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ScorerError {
    /// What went wrong (never contains a secret).
    pub message: String,
}

impl ScorerError {
    /// Creates a scorer error from a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// An approver could not start an approval (e.g. the phone call could not be placed).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ApproverError {
    /// What went wrong (never contains a secret).
    pub message: String,
}

impl ApproverError {
    /// Creates an approver error from a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
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
    },
    /// The approver could not ask a human (the call failed): fails closed.
    #[error("action `{action_id}` could not be sent for approval: {message}")]
    ApproverFailed {
        /// The action.
        action_id: ActionId,
        /// The approver's message.
        message: String,
    },
    /// The action was already executed once (same id or idempotency key).
    #[error("action `{action_id}` was already executed")]
    AlreadyExecuted {
        /// The action.
        action_id: ActionId,
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
