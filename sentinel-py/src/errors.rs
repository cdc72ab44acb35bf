//! The exception hierarchy (`SentinelError` and its subclasses) and how core errors map
//! onto it.
//!
//! Every exception carries `.code`, the core's [`ErrorCode`] string (`"denied"`,
//! `"idempotency_conflict"`...), taken from the error's [`Coded::code`]. The class follows
//! from the code through one table ([`class_of`]); only `ActionTypeError` refines it (an
//! `invalid_action` that is a wrong type, from the core's [`ActionError`] variant). Nothing
//! here looks at a message.
//!
//! The classes are created at import time with `type(...)` so that input errors can also
//! be `ValueError`/`TypeError` and a timeout a `TimeoutError`, as Python code expects.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use sentinel_core::{
    ActionError, Coded, ConfigError, Decision as CoreDecision, ErrorCode, GuardError, ResolveError,
    ScorerUse, StoreError, TransitionError,
};

use sentinel_core::tool_call::ToolCallError;

use crate::callback::PyCallbackError;
use crate::decision::Decision;

/// One exception class of the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sentinel,
    InvalidAction,
    ActionType,
    Policy,
    Config,
    Denied,
    ApprovalTimeout,
    Approver,
    Scorer,
    AlreadyExecuted,
    UnknownAction,
    Conflict,
    ReceiptMismatch,
}

/// The class an error with `code` is raised as: the one table from code to class.
pub(crate) fn class_of(code: ErrorCode) -> Kind {
    match code {
        ErrorCode::Denied => Kind::Denied,
        ErrorCode::Expired => Kind::ApprovalTimeout,
        ErrorCode::ApproverFailed => Kind::Approver,
        ErrorCode::AlreadyExecuted => Kind::AlreadyExecuted,
        ErrorCode::AlreadyDecided | ErrorCode::IdempotencyConflict => Kind::Conflict,
        ErrorCode::ReceiptMismatch => Kind::ReceiptMismatch,
        ErrorCode::InvalidAction => Kind::InvalidAction,
        ErrorCode::InvalidPack => Kind::Policy,
        ErrorCode::InvalidConfig | ErrorCode::Unsupported => Kind::Config,
        ErrorCode::ScorerFailed => Kind::Scorer,
        ErrorCode::NotFound => Kind::UnknownAction,
        // store_unavailable, internal, and the server's own codes (unauthorized, forbidden,
        // payload_too_large, webhook_unverified, invalid_request) have no class of their own.
        _ => Kind::Sentinel,
    }
}

struct Spec {
    kind: Kind,
    name: &'static str,
    /// The `SentinelError` class it derives from (`None` only for the base itself).
    parent: Option<Kind>,
    /// A built-in exception it also derives from.
    builtin: Option<&'static str>,
    /// `.code` of the class itself (what an instance raised by user code reports); every
    /// instance the binding raises sets its own.
    code: Option<ErrorCode>,
    /// Attributes every instance has (`None` unless set when raised).
    attributes: &'static [&'static str],
    doc: &'static str,
}

/// In creation order: parents first. Indexed by `Kind as usize`.
const SPECS: [Spec; 13] = [
    Spec {
        kind: Kind::Sentinel,
        name: "SentinelError",
        parent: None,
        builtin: Some("Exception"),
        code: Some(ErrorCode::Internal),
        attributes: &[],
        doc: "Base class of every error raised by sentinel_guard. `code` is the stable error code (docs/errors.md), the same in every host, e.g. \"denied\" or \"idempotency_conflict\".",
    },
    Spec {
        kind: Kind::InvalidAction,
        name: "InvalidActionError",
        parent: Some(Kind::Sentinel),
        builtin: Some("ValueError"),
        code: Some(ErrorCode::InvalidAction),
        attributes: &["field"],
        doc: "The action is malformed: a missing, empty or unknown field, or a bad action id. `field` names the field when there is one.",
    },
    Spec {
        kind: Kind::ActionType,
        name: "ActionTypeError",
        parent: Some(Kind::InvalidAction),
        builtin: Some("TypeError"),
        code: Some(ErrorCode::InvalidAction),
        attributes: &[],
        doc: "The action, or one of its fields, has the wrong type (also a TypeError).",
    },
    Spec {
        kind: Kind::Policy,
        name: "PolicyError",
        parent: Some(Kind::Sentinel),
        builtin: Some("ValueError"),
        code: Some(ErrorCode::InvalidPack),
        attributes: &[],
        doc: "A policy pack could not be loaded (code \"invalid_pack\"); the message names the pack, the rule and the JSON pointer.",
    },
    Spec {
        kind: Kind::Config,
        name: "ConfigError",
        parent: Some(Kind::Sentinel),
        builtin: Some("ValueError"),
        code: Some(ErrorCode::InvalidConfig),
        attributes: &["key", "file", "line", "env"],
        doc: "A configuration file, mapping, keyword argument or environment variable is unusable. `key` is the key path (e.g. \"store.url\"), `file` and `line` where it is, `env` the environment variable behind the value.",
    },
    Spec {
        kind: Kind::Denied,
        name: "Denied",
        parent: Some(Kind::Sentinel),
        builtin: None,
        code: Some(ErrorCode::Denied),
        attributes: &["decision", "action_id"],
        doc: "Policy or a human declined the action; the function did not run. `decision` is the Decision.",
    },
    Spec {
        kind: Kind::ApprovalTimeout,
        name: "ApprovalTimeout",
        parent: Some(Kind::Sentinel),
        builtin: Some("TimeoutError"),
        code: Some(ErrorCode::Expired),
        attributes: &["decision", "action_id"],
        doc: "Nobody decided before the escalation timeout; the function did not run. `decision` is why it was escalated.",
    },
    Spec {
        kind: Kind::Approver,
        name: "ApproverError",
        parent: Some(Kind::Sentinel),
        builtin: None,
        code: Some(ErrorCode::ApproverFailed),
        attributes: &["decision", "action_id"],
        doc: "The approver could not ask a human; the action failed closed. An exception raised by a Python approver is chained as __cause__.",
    },
    Spec {
        kind: Kind::Scorer,
        name: "ScorerError",
        parent: Some(Kind::Sentinel),
        builtin: None,
        code: Some(ErrorCode::ScorerFailed),
        attributes: &["decision", "action_id"],
        doc: "The risk scorer failed; the action failed closed. `decision` is the fail-closed Decision; an exception raised by a Python scorer is chained as __cause__.",
    },
    Spec {
        kind: Kind::AlreadyExecuted,
        name: "AlreadyExecuted",
        parent: Some(Kind::Sentinel),
        builtin: None,
        code: Some(ErrorCode::AlreadyExecuted),
        attributes: &["decision", "action_id"],
        doc: "The action (same idempotency key) was already executed once; the function did not run again.",
    },
    Spec {
        kind: Kind::UnknownAction,
        name: "UnknownActionError",
        parent: Some(Kind::Sentinel),
        builtin: Some("LookupError"),
        code: Some(ErrorCode::NotFound),
        attributes: &["action_id"],
        doc: "No action with this id.",
    },
    Spec {
        kind: Kind::Conflict,
        name: "ConflictError",
        parent: Some(Kind::Sentinel),
        builtin: None,
        code: Some(ErrorCode::AlreadyDecided),
        attributes: &["action_id"],
        doc: "The action was already decided (code \"already_decided\"), or its idempotency key belongs to another action (\"idempotency_conflict\"; `action_id` is that action).",
    },
    Spec {
        kind: Kind::ReceiptMismatch,
        name: "ReceiptMismatch",
        parent: Some(Kind::Conflict),
        builtin: None,
        code: Some(ErrorCode::ReceiptMismatch),
        attributes: &[],
        doc: "What is about to run is not what was approved (other arguments, or packs that changed since the decision); the function did not run.",
    },
];

static TYPES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

/// Creates the exception classes and adds them to the module.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    let builtins = py.import("builtins")?;
    let type_ = builtins.getattr("type")?;
    let mut made: Vec<Py<PyType>> = Vec::with_capacity(SPECS.len());
    for (index, spec) in SPECS.iter().enumerate() {
        debug_assert_eq!(spec.kind as usize, index);
        let mut bases = Vec::new();
        if let Some(parent) = spec.parent {
            bases.push(made[parent as usize].bind(py).clone().into_any());
        }
        if let Some(builtin) = spec.builtin {
            bases.push(builtins.getattr(builtin)?);
        }
        let namespace = PyDict::new(py);
        namespace.set_item("__module__", "sentinel_guard")?;
        namespace.set_item("__doc__", spec.doc)?;
        for attribute in spec.attributes {
            namespace.set_item(*attribute, py.None())?;
        }
        if let Some(code) = spec.code {
            namespace.set_item("code", code.as_str())?;
        }
        let class = type_
            .call1((spec.name, PyTuple::new(py, bases)?, namespace))?
            .cast_into::<PyType>()?;
        module.add(spec.name, &class)?;
        made.push(class.unbind());
    }
    let _ = TYPES.set(py, made);
    Ok(())
}

/// A new exception with `code` and `message`, of the class the code maps to.
pub(crate) fn new_err(py: Python<'_>, code: ErrorCode, message: impl Into<String>) -> PyErr {
    of_kind(py, class_of(code), code, message)
}

/// A new exception of class `kind` with `code` and `message`.
fn of_kind(py: Python<'_>, kind: Kind, code: ErrorCode, message: impl Into<String>) -> PyErr {
    let message = message.into();
    let err = match TYPES.get(py) {
        Some(types) => PyErr::from_type(types[kind as usize].bind(py).clone(), (message,)),
        None => pyo3::exceptions::PyRuntimeError::new_err(message),
    };
    with_attr(py, err, "code", code.as_str())
}

/// A core error, as the class its code maps to, with its message.
pub(crate) fn coded<E: Coded + std::fmt::Display>(py: Python<'_>, e: &E) -> PyErr {
    new_err(py, e.code(), e.to_string())
}

/// Sets an attribute on the exception's value (best effort: the message stays right).
fn with_attr<'py, V: IntoPyObject<'py>>(
    py: Python<'py>,
    err: PyErr,
    name: &str,
    value: V,
) -> PyErr {
    // Force the exception object into existence so that attributes stick to it.
    let _ = err.value(py).setattr(name, value);
    err
}

/// `InvalidActionError`, or `ActionTypeError` (also a `TypeError`) for a wrong type;
/// `field` names the field.
pub(crate) fn action(py: Python<'_>, e: &ActionError) -> PyErr {
    action_said(py, e, e.to_string())
}

/// [`action`] with another message.
fn action_said(py: Python<'_>, e: &ActionError, message: String) -> PyErr {
    let (kind, field) = match e {
        ActionError::NotAnObject { .. } => (Kind::ActionType, None),
        ActionError::WrongType { field, .. } => (Kind::ActionType, Some((*field).to_owned())),
        ActionError::MissingField { field } | ActionError::Empty { field } => {
            (Kind::InvalidAction, Some((*field).to_owned()))
        }
        ActionError::UnknownField { field } => (Kind::InvalidAction, Some(field.clone())),
        _ => (Kind::InvalidAction, None),
    };
    with_attr(py, of_kind(py, kind, e.code(), message), "field", field)
}

/// `InvalidActionError` (`ActionTypeError` for arguments that are no object) for a tool
/// call that cannot become an action.
pub(crate) fn tool_call(py: Python<'_>, e: &ToolCallError) -> PyErr {
    match e {
        // The message names the tool too.
        ToolCallError::Action { source, .. } => action_said(py, source, e.to_string()),
        _ => of_kind(
            py,
            Kind::ActionType,
            ErrorCode::InvalidAction,
            e.to_string(),
        ),
    }
}

/// `InvalidActionError` with `message` (a tool call's arguments that are not strict JSON).
pub(crate) fn invalid_action(py: Python<'_>, message: String) -> PyErr {
    of_kind(py, Kind::InvalidAction, ErrorCode::InvalidAction, message)
}

/// `ActionTypeError` for a value of the action that is not JSON (found by the binding
/// while converting it).
pub(crate) fn not_json(py: Python<'_>, message: String) -> PyErr {
    of_kind(py, Kind::ActionType, ErrorCode::InvalidAction, message)
}

/// A configuration error: `ConfigError` with `key` (`None` for the whole document),
/// `file`, `line` and `env`.
pub(crate) fn config(py: Python<'_>, e: &ConfigError) -> PyErr {
    let err = coded(py, e);
    let key = (!e.key.is_empty()).then_some(e.key.as_str());
    let err = with_attr(py, err, "key", key);
    let file = e.file.as_ref().map(|f| f.display().to_string());
    let err = with_attr(py, err, "file", file);
    let err = with_attr(py, err, "line", e.line);
    with_attr(py, err, "env", e.env.as_deref())
}

/// A store failure (unknown id, already decided, idempotency conflict, backend down).
pub(crate) fn store(py: Python<'_>, e: &StoreError) -> PyErr {
    let action_id = match e {
        StoreError::NotFound(id) | StoreError::IdempotencyConflict { existing: id, .. } => {
            Some(id.to_string())
        }
        StoreError::Transition(
            TransitionError::Terminal { id, .. } | TransitionError::Illegal { id, .. },
        ) => Some(id.to_string()),
        _ => None,
    };
    let err = coded(py, e);
    match action_id {
        Some(id) => with_attr(py, err, "action_id", id),
        None => err,
    }
}

/// `resolve` failed.
pub(crate) fn resolve(py: Python<'_>, e: &ResolveError) -> PyErr {
    match e {
        ResolveError::Store(s) => store(py, s),
        other => coded(py, other),
    }
}

/// `authorize` refused: the guarded function does not run. Carries `.decision` and
/// `.action_id`; the exception a Python approver (for `approver_failed`) or scorer (for the
/// others) raised is chained as `__cause__`.
pub(crate) fn guard(py: Python<'_>, e: GuardError) -> PyResult<PyErr> {
    if let GuardError::Store(s) = &e {
        return Ok(store(py, s));
    }
    let cause = match &e {
        GuardError::ApproverFailed { source, .. } => source
            .as_ref()
            .and_then(|s| s.cause())
            .and_then(|c| PyCallbackError::exception(py, c.as_ref())),
        other => other.decision().and_then(|d| scorer_cause(py, d)),
    };
    let mut err = coded(py, &e);
    if let Some(id) = e.action_id() {
        err = with_attr(py, err, "action_id", id.to_string());
    }
    let decision = match e {
        GuardError::Denied(d)
        | GuardError::Expired { decision: d, .. }
        | GuardError::ApproverFailed { decision: d, .. }
        | GuardError::AlreadyExecuted { decision: d, .. } => Some(*d),
        _ => None,
    };
    if let Some(decision) = decision {
        err = with_attr(
            py,
            err,
            "decision",
            Bound::new(py, Decision::from(decision))?,
        );
    }
    Ok(caused_by(py, err, cause))
}

/// `ScorerError` for a decision the scorer failed in (it failed closed), chained to the
/// exception a Python scorer raised; `None` when the scorer did not fail.
pub(crate) fn scorer_failed(py: Python<'_>, decision: &Decision) -> PyResult<Option<PyErr>> {
    let inner = decision.inner();
    let ScorerUse::Failed { error, .. } = &inner.scorer else {
        return Ok(None);
    };
    let code = inner
        .scorer_error()
        .map_or(ErrorCode::ScorerFailed, Coded::code);
    let message = format!(
        "risk scorer failed: {error}; the action fails closed ({})",
        inner.status.as_str()
    );
    let err = with_attr(
        py,
        new_err(py, code, message),
        "action_id",
        inner.action_id.to_string(),
    );
    let cause = scorer_cause(py, inner);
    let err = with_attr(py, err, "decision", Bound::new(py, decision.clone())?);
    Ok(Some(caused_by(py, err, cause)))
}

/// The exception a Python scorer raised while `decision` was made, if any.
fn scorer_cause(py: Python<'_>, decision: &CoreDecision) -> Option<PyErr> {
    decision
        .scorer_error()
        .and_then(|e| e.cause())
        .and_then(|c| PyCallbackError::exception(py, c.as_ref()))
}

/// Chains `cause` (an exception raised by user code) as `err.__cause__`.
fn caused_by(py: Python<'_>, err: PyErr, cause: Option<PyErr>) -> PyErr {
    if let Some(cause) = cause {
        err.set_cause(py, Some(cause));
    }
    err
}

/// A failure of the binding itself, not of the caller's input (code `internal`).
pub(crate) fn internal(py: Python<'_>, message: impl Into<String>) -> PyErr {
    new_err(py, ErrorCode::Internal, message)
}
