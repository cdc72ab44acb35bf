//! The exception hierarchy (`SentinelError` and its subclasses) and how core errors map
//! onto it.
//!
//! The classes are created at import time with `type(...)` so that input errors can also
//! be `ValueError`/`TypeError` and a timeout a `TimeoutError`, as Python code expects.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use sentinel_core::{
    ActionError, ActionId, BuildError, GuardError, PackError, ResolveError, StoreError,
};

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
}

struct Spec {
    kind: Kind,
    name: &'static str,
    /// The `SentinelError` class it derives from (`None` only for the base itself).
    parent: Option<Kind>,
    /// A built-in exception it also derives from.
    builtin: Option<&'static str>,
    /// Attributes every instance has (`None` unless set when raised).
    attributes: &'static [&'static str],
    doc: &'static str,
}

/// In creation order: parents first. Indexed by `Kind as usize`.
const SPECS: [Spec; 12] = [
    Spec {
        kind: Kind::Sentinel,
        name: "SentinelError",
        parent: None,
        builtin: Some("Exception"),
        attributes: &[],
        doc: "Base class of every error raised by sentinel_guard.",
    },
    Spec {
        kind: Kind::InvalidAction,
        name: "InvalidActionError",
        parent: Some(Kind::Sentinel),
        builtin: Some("ValueError"),
        attributes: &["field"],
        doc: "The action is malformed: a missing, empty or unknown field, or a bad action id. `field` names the field when there is one.",
    },
    Spec {
        kind: Kind::ActionType,
        name: "ActionTypeError",
        parent: Some(Kind::InvalidAction),
        builtin: Some("TypeError"),
        attributes: &[],
        doc: "The action, or one of its fields, has the wrong type (also a TypeError).",
    },
    Spec {
        kind: Kind::Policy,
        name: "PolicyError",
        parent: Some(Kind::Sentinel),
        builtin: Some("ValueError"),
        attributes: &[],
        doc: "A policy pack could not be loaded; the message names the pack, the rule and the JSON pointer.",
    },
    Spec {
        kind: Kind::Config,
        name: "ConfigError",
        parent: Some(Kind::Sentinel),
        builtin: Some("ValueError"),
        attributes: &[],
        doc: "A Gateway setting is invalid (e.g. a non-positive escalation_timeout).",
    },
    Spec {
        kind: Kind::Denied,
        name: "Denied",
        parent: Some(Kind::Sentinel),
        builtin: None,
        attributes: &["decision", "action_id"],
        doc: "Policy or a human declined the action; the function did not run. `decision` is the Decision.",
    },
    Spec {
        kind: Kind::ApprovalTimeout,
        name: "ApprovalTimeout",
        parent: Some(Kind::Sentinel),
        builtin: Some("TimeoutError"),
        attributes: &["action_id"],
        doc: "Nobody decided before the escalation timeout; the function did not run.",
    },
    Spec {
        kind: Kind::Approver,
        name: "ApproverError",
        parent: Some(Kind::Sentinel),
        builtin: None,
        attributes: &["action_id"],
        doc: "The approver could not ask a human; the action failed closed. An exception raised by a Python approver is chained as __cause__.",
    },
    Spec {
        kind: Kind::Scorer,
        name: "ScorerError",
        parent: Some(Kind::Sentinel),
        builtin: None,
        attributes: &["decision", "action_id"],
        doc: "The risk scorer failed; the action failed closed. `decision` is the fail-closed Decision; an exception raised by a Python scorer is chained as __cause__.",
    },
    Spec {
        kind: Kind::AlreadyExecuted,
        name: "AlreadyExecuted",
        parent: Some(Kind::Sentinel),
        builtin: None,
        attributes: &["action_id"],
        doc: "The action (same idempotency key) was already executed once; the function did not run again.",
    },
    Spec {
        kind: Kind::UnknownAction,
        name: "UnknownActionError",
        parent: Some(Kind::Sentinel),
        builtin: Some("LookupError"),
        attributes: &["action_id"],
        doc: "No action with this id.",
    },
    Spec {
        kind: Kind::Conflict,
        name: "ConflictError",
        parent: Some(Kind::Sentinel),
        builtin: None,
        attributes: &[],
        doc: "The action was already decided, or its idempotency key belongs to a different action.",
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
        let class = type_
            .call1((spec.name, PyTuple::new(py, bases)?, namespace))?
            .cast_into::<PyType>()?;
        module.add(spec.name, &class)?;
        made.push(class.unbind());
    }
    let _ = TYPES.set(py, made);
    Ok(())
}

/// A new exception of `kind` with `message`.
pub(crate) fn new_err(py: Python<'_>, kind: Kind, message: impl Into<String>) -> PyErr {
    let message = message.into();
    match TYPES.get(py) {
        Some(types) => PyErr::from_type(types[kind as usize].bind(py).clone(), (message,)),
        None => pyo3::exceptions::PyRuntimeError::new_err(message),
    }
}

/// Sets an attribute on the exception's value (best effort: the message stays right).
fn with_attr<'py, V: IntoPyObject<'py>>(
    py: Python<'py>,
    err: PyErr,
    name: &str,
    value: V,
) -> PyErr {
    let _ = err.value(py).setattr(name, value);
    err
}

/// Chains `cause` (an exception raised by user code) as `err.__cause__`.
pub(crate) fn caused_by(py: Python<'_>, err: PyErr, cause: Option<PyErr>) -> PyErr {
    if let Some(cause) = cause {
        err.set_cause(py, Some(cause));
    }
    err
}

/// `ValueError` or `TypeError` subclass for a malformed action, naming the field.
pub(crate) fn action(py: Python<'_>, e: &ActionError) -> PyErr {
    let (kind, field) = match e {
        ActionError::NotAnObject { .. } => (Kind::ActionType, None),
        ActionError::WrongType { field, .. } => (Kind::ActionType, Some(*field)),
        ActionError::MissingField { field } | ActionError::Empty { field } => {
            (Kind::InvalidAction, Some(*field))
        }
        ActionError::UnknownField { field } => {
            let err = new_err(py, Kind::InvalidAction, e.to_string());
            return with_attr(py, err, "field", field.as_str());
        }
        _ => (Kind::InvalidAction, None),
    };
    with_attr(py, new_err(py, kind, e.to_string()), "field", field)
}

/// A pack that failed to load.
pub(crate) fn pack(py: Python<'_>, e: &PackError) -> PyErr {
    new_err(py, Kind::Policy, e.to_string())
}

/// The gateway could not be built.
pub(crate) fn build(py: Python<'_>, e: &BuildError) -> PyErr {
    match e {
        BuildError::Pack(p) => pack(py, p),
        other => new_err(py, Kind::Config, other.to_string()),
    }
}

/// A store failure (unknown id, already decided, backend down).
pub(crate) fn store(py: Python<'_>, e: &StoreError) -> PyErr {
    match e {
        StoreError::NotFound(id) => with_attr(
            py,
            new_err(py, Kind::UnknownAction, e.to_string()),
            "action_id",
            id.to_string(),
        ),
        StoreError::Transition(_) | StoreError::IdempotencyConflict { .. } => {
            new_err(py, Kind::Conflict, e.to_string())
        }
        other => new_err(py, Kind::Sentinel, other.to_string()),
    }
}

/// `resolve` failed.
pub(crate) fn resolve(py: Python<'_>, e: &ResolveError) -> PyErr {
    match e {
        ResolveError::Store(s) => store(py, s),
        other => new_err(py, Kind::Sentinel, other.to_string()),
    }
}

/// `authorize` refused: the guarded function does not run.
pub(crate) fn guard(py: Python<'_>, e: GuardError) -> PyResult<PyErr> {
    let message = e.to_string();
    let id = |id: &ActionId| id.to_string();
    Ok(match e {
        GuardError::Denied(decision) => {
            let action_id = decision.action_id.to_string();
            let err = new_err(py, Kind::Denied, message);
            let err = with_attr(py, err, "action_id", action_id);
            with_attr(
                py,
                err,
                "decision",
                Bound::new(py, Decision::from(*decision))?,
            )
        }
        GuardError::Expired { action_id, .. } => with_attr(
            py,
            new_err(py, Kind::ApprovalTimeout, message),
            "action_id",
            id(&action_id),
        ),
        GuardError::ApproverFailed { action_id, .. } => with_attr(
            py,
            new_err(py, Kind::Approver, message),
            "action_id",
            id(&action_id),
        ),
        GuardError::AlreadyExecuted { action_id, .. } => with_attr(
            py,
            new_err(py, Kind::AlreadyExecuted, message),
            "action_id",
            id(&action_id),
        ),
        GuardError::Store(s) => store(py, &s),
        _ => new_err(py, Kind::Sentinel, message),
    })
}

/// The scorer failed while deciding: the fail-closed decision rides along.
pub(crate) fn scorer_failed(
    py: Python<'_>,
    message: String,
    decision: Decision,
) -> PyResult<PyErr> {
    let action_id = decision.inner().action_id.to_string();
    let err = with_attr(
        py,
        new_err(py, Kind::Scorer, message),
        "action_id",
        action_id,
    );
    Ok(with_attr(py, err, "decision", Bound::new(py, decision)?))
}
