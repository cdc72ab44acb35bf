//! Calling JavaScript callbacks from Rust: the reply shape every callback returns, and the
//! error that stands for what a user's callback threw.
//!
//! The TypeScript layer wraps each user method (`assess`, `explain`, `request`) in an
//! async function that never rejects: it resolves to a [`CallbackReply`], and on failure
//! keeps the original JS error in a table under a numeric id. That id travels back the one
//! way every error does in the core: as the *source* of the core's error. A failed callback
//! becomes a [`JsCause`] holding the id, which becomes the source of the core's
//! `ScorerError` / `ApproverError`; whatever the core then reports (a decision whose
//! scorer failed, `GuardError::ApproverFailed`) carries it, and the binding reads it back
//! from there (`errors::cause_id`, `codec::encode_decision`) so that the TypeScript layer
//! can set `cause` to the very object the user's code threw.

use napi::Status;
use napi::bindgen_prelude::Promise;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use sentinel_core::{ApproverError, ScorerError};

/// A JS callback called from any thread, awaited as a promise; weak (`unref`), so a
/// gateway holding it does not keep the Node process alive.
pub type JsCallback<T> = ThreadsafeFunction<T, Promise<CallbackReply>, T, Status, false, true>;

/// What a wrapped JS callback resolves to. Exactly one of the value fields or `error` is
/// set; which value field depends on the callback.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct CallbackReply {
    /// `assess`: the risk score, an integer 0 to 100.
    pub risk_score: Option<f64>,
    /// `assess`: the plain-language analysis.
    pub analysis: Option<String>,
    /// `explain`: the answer.
    pub text: Option<String>,
    /// The message of the error the user's method threw or rejected with.
    pub error: Option<String>,
    /// The id under which the TypeScript layer keeps that error.
    pub cause_id: Option<u32>,
}

/// What a user's JavaScript callback threw, as a Rust error: the id under which the
/// TypeScript layer keeps the thrown value, and its message. The source of the core's
/// scorer and approver errors.
#[derive(Debug, Clone)]
pub struct JsCause {
    /// The cause table id.
    pub id: u32,
    /// The thrown error's message.
    pub message: String,
}

impl std::fmt::Display for JsCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JsCause {}

/// A callback that did not reply with a value.
#[derive(Debug)]
pub struct CallbackError {
    message: String,
    cause: Option<JsCause>,
}

impl CallbackError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            cause: None,
        }
    }

    /// As the core's scorer error, with the user's error as its source.
    pub fn into_scorer_error(self) -> ScorerError {
        match self.cause {
            Some(cause) => ScorerError::with_source(self.message, cause),
            None => ScorerError::new(self.message),
        }
    }

    /// As the core's approver error, with the user's error as its source.
    pub fn into_approver_error(self) -> ApproverError {
        match self.cause {
            Some(cause) => ApproverError::with_source(self.message, cause),
            None => ApproverError::new(self.message),
        }
    }
}

/// Calls `callback` with `arg` and waits for its reply. `Err` carries the message of a
/// user error (and its id) or of a failed call.
pub async fn call<T>(callback: &JsCallback<T>, arg: T) -> Result<CallbackReply, CallbackError>
where
    T: napi::bindgen_prelude::ToNapiValue + Send + 'static,
{
    let reply = match callback.call_async_catch(arg).await {
        Ok(promise) => promise.await,
        Err(e) => Err(e),
    };
    match reply {
        Ok(CallbackReply {
            error: Some(message),
            cause_id,
            ..
        }) => Err(CallbackError {
            cause: cause_id.map(|id| JsCause {
                id,
                message: message.clone(),
            }),
            message,
        }),
        Ok(reply) => Ok(reply),
        Err(e) if e.status == Status::Closing => {
            Err(CallbackError::new("the node environment is shutting down"))
        }
        Err(e) => Err(CallbackError::new(format!(
            "javascript callback failed: {}",
            e.reason
        ))),
    }
}
