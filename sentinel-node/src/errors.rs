//! Core errors as JS errors, with the core's stable codes.
//!
//! Every error the addon throws or rejects with is a JS `Error` built here, on the JS
//! thread, whose `code` is `SENTINEL_` plus the core's code ([`ErrorCode::node_code`]),
//! taken from the error's [`Coded::code`]; it carries the structured details the core has
//! (`field`, `key`, `file`, `line`, `env`, `setting`, `actionId`, the encoded `decision`,
//! the `causeId` of what a user's callback threw). The TypeScript layer picks the error
//! class from the code through one table and copies the details; nothing looks at a
//! message.
//!
//! Synchronous methods return `Err(failure.throw(&env))`; async methods resolve to a
//! [`Reply`], whose conversion to JS rejects the promise with the error object.

use napi::bindgen_prelude::{JsObjectValue, Object, ToNapiValue, TypeName, Unknown};
use napi::{Env, JsError, ValueType, sys};
use sentinel_core::{
    ActionError, Coded, ConfigError, ErrorCode, GuardError, ResolveError, StoreError,
    TransitionError,
};

use crate::callback::JsCause;
use crate::codec::encode_decision;

/// An error on its way to JS: a code, a message and what the core knows about it (boxed:
/// it travels in `Result`s on the hot path).
#[derive(Debug, Clone)]
pub struct Failure(Box<Details>);

#[derive(Debug, Clone)]
struct Details {
    code: ErrorCode,
    message: String,
    field: Option<String>,
    key: Option<String>,
    file: Option<String>,
    line: Option<u32>,
    env: Option<String>,
    setting: Option<String>,
    action_id: Option<String>,
    decision: Option<String>,
    cause_id: Option<u32>,
}

impl Failure {
    /// A failure with `code` and `message` and no details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self(Box::new(Details {
            code,
            message: message.into(),
            field: None,
            key: None,
            file: None,
            line: None,
            env: None,
            setting: None,
            action_id: None,
            decision: None,
            cause_id: None,
        }))
    }

    /// Any coded core error, by its code and message.
    pub fn coded<E: Coded + std::fmt::Display + ?Sized>(e: &E) -> Self {
        Self::new(e.code(), e.to_string())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The core's code.
    pub fn code(&self) -> ErrorCode {
        self.0.code
    }

    /// The action concerned, when there is one.
    pub fn action_id(&self) -> Option<&str> {
        self.0.action_id.as_deref()
    }

    /// The cause table id of what a user's callback threw, when there is one.
    pub fn cause_id(&self) -> Option<u32> {
        self.0.cause_id
    }

    /// Names the field at fault (bad input).
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.0.field = Some(field.into());
        self
    }

    /// A configuration error from a file or mapping (`Gateway.fromConfig`): `setting` is
    /// the environment variable when the value came from the environment, else the key.
    pub fn config(e: &ConfigError) -> Self {
        let setting = match &e.env {
            Some(var) if std::env::var_os(var).is_some() => var.clone(),
            _ => e.key.clone(),
        };
        Self::config_as(e, e.to_string(), setting)
    }

    /// A configuration error worded by the caller, naming `setting`.
    pub fn config_as(e: &ConfigError, message: String, setting: String) -> Self {
        let mut f = Self::new(e.code(), message);
        let d = &mut f.0;
        d.key = Some(e.key.clone());
        d.file = e.file.as_ref().map(|p| p.display().to_string());
        d.line = e.line.and_then(|l| u32::try_from(l).ok());
        d.env = e.env.clone();
        d.setting = Some(setting);
        f
    }

    /// Converts to the JS error object, as a `napi::Error` that throws (or rejects with)
    /// that very object.
    pub fn throw(self, env: &Env) -> napi::Error {
        // SAFETY: `env` is the live environment of the current call, on its JS thread.
        match unsafe { self.into_js(env.raw()) } {
            Ok(value) => {
                // SAFETY: `value` was just created in `env`.
                let unknown = unsafe { Unknown::from_raw_unchecked(env.raw(), value) };
                napi::Error::from_unknown_without_coercion(unknown)
            }
            Err(e) => e,
        }
    }

    /// Builds the JS error object.
    ///
    /// # Safety
    ///
    /// `env` must be a live environment and this the JS thread that owns it.
    unsafe fn into_js(self, env: sys::napi_env) -> napi::Result<sys::napi_value> {
        let d = *self.0;
        let error = napi::Error::new(d.code.node_code(), d.message);
        // SAFETY: per this function's contract.
        let value = unsafe { JsError::from(error).into_value(env) };
        if value.is_null() {
            return Err(napi::Error::from_reason("cannot create an error object"));
        }
        let mut object = Object::from_raw(env, value);
        if let Some(v) = d.field {
            object.set_named_property("field", v)?;
        }
        if let Some(v) = d.key {
            object.set_named_property("key", v)?;
        }
        if let Some(v) = d.file {
            object.set_named_property("file", v)?;
        }
        if let Some(v) = d.line {
            object.set_named_property("line", v)?;
        }
        if let Some(v) = d.env {
            object.set_named_property("env", v)?;
        }
        if let Some(v) = d.setting {
            object.set_named_property("setting", v)?;
        }
        if let Some(v) = d.action_id {
            object.set_named_property("actionId", v)?;
        }
        if let Some(v) = d.decision {
            object.set_named_property("decision", v)?;
        }
        if let Some(v) = d.cause_id {
            object.set_named_property("causeId", v)?;
        }
        Ok(value)
    }
}

/// What an async method resolves to: its value, or (rejecting the promise) the JS error
/// object of a [`Failure`].
pub struct Reply<T>(pub Result<T, Failure>);

impl<T> From<Result<T, Failure>> for Reply<T> {
    fn from(r: Result<T, Failure>) -> Self {
        Self(r)
    }
}

impl<T: TypeName> TypeName for Reply<T> {
    fn type_name() -> &'static str {
        T::type_name()
    }

    fn value_type() -> ValueType {
        T::value_type()
    }
}

impl<T: ToNapiValue> ToNapiValue for Reply<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        match val.0 {
            // SAFETY: napi calls this on the JS thread of `env`.
            Ok(value) => unsafe { T::to_napi_value(env, value) },
            Err(failure) => {
                // SAFETY: as above.
                let value = unsafe { failure.into_js(env)? };
                // SAFETY: `value` was just created in `env`.
                let unknown = unsafe { Unknown::from_raw_unchecked(env, value) };
                // An `Err` holding the object: the promise rejects with it.
                Err(napi::Error::from_unknown_without_coercion(unknown))
            }
        }
    }
}

/// Bad input: an ill-formed action or action id (`SENTINEL_INVALID_ACTION`), naming the
/// field when the core does.
pub fn action_error(e: &ActionError) -> Failure {
    let field = match e {
        ActionError::MissingField { field }
        | ActionError::WrongType { field, .. }
        | ActionError::Empty { field } => Some((*field).to_owned()),
        ActionError::UnknownField { field } => Some(field.clone()),
        _ => None,
    };
    let failure = Failure::coded(e);
    match field {
        Some(f) => failure.with_field(f),
        None => failure,
    }
}

/// A malformed argument below the action (a resolution, a Q&A switch):
/// `SENTINEL_INVALID_REQUEST`, naming the field.
pub fn request_error(field: &str, message: impl Into<String>) -> Failure {
    Failure::new(ErrorCode::InvalidRequest, message).with_field(field)
}

/// A failed store operation (`status`, `explain`, `auditTrail`): not found, already decided,
/// an idempotency conflict, the backend down. Names the action when the core does.
pub fn store_error(e: &StoreError) -> Failure {
    let id = match e {
        StoreError::NotFound(id) | StoreError::IdempotencyConflict { existing: id, .. } => {
            Some(*id)
        }
        StoreError::Transition(
            TransitionError::Terminal { id, .. } | TransitionError::Illegal { id, .. },
        ) => Some(*id),
        _ => None,
    };
    let mut failure = Failure::coded(e);
    failure.0.action_id = id.map(|id| id.to_string());
    failure
}

/// A failed `resolve` or `setQnaMode`.
pub fn resolve_error(e: &ResolveError) -> Failure {
    match e {
        ResolveError::Store(s) => store_error(s),
        other => Failure::coded(other),
    }
}

/// A refused guard: the code, the action, the decision it was refused under and the cause
/// id of what a JS approver or scorer threw.
pub fn guard_error(e: &GuardError) -> Failure {
    if let GuardError::Store(s) = e {
        return store_error(s);
    }
    let mut failure = Failure::coded(e);
    let d = &mut failure.0;
    d.action_id = e.action_id().map(|id| id.to_string());
    d.decision = e.decision().map(encode_decision);
    d.cause_id = cause_id(e);
    failure
}

/// The cause table id of what a user's callback threw, read from the core's error: the
/// approver's error behind `ApproverFailed`, else the scorer's error behind the decision.
fn cause_id(e: &GuardError) -> Option<u32> {
    let source = match e {
        GuardError::ApproverFailed {
            source: Some(source),
            ..
        } => source.cause(),
        _ => e
            .decision()
            .and_then(|d| d.scorer_error())
            .and_then(|s| s.cause()),
    };
    source
        .and_then(|s| s.downcast_ref::<JsCause>())
        .map(|c| c.id)
}
