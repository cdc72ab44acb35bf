//! Calling JavaScript callbacks from Rust: the reply shape every callback returns, and the
//! task-local slot that relays the id of a user error back to the JS caller as `cause`.
//!
//! The TypeScript layer wraps each user method (`assess`, `explain`, `request`) in an
//! async function that never rejects: it resolves to a [`CallbackReply`], and on failure
//! keeps the original JS error in a table under a numeric id. The Rust side turns a
//! failure into the core's error type (which fails the action closed) and notes the id in
//! [`CAUSE`], so that the binding call that triggered the callback can hand the id back and
//! the TypeScript layer can attach the original error as `cause`.

use std::cell::Cell;
use std::future::Future;

use napi::Status;
use napi::bindgen_prelude::Promise;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;

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

tokio::task_local! {
    /// The id of the last user error raised while serving the current binding call.
    static CAUSE: Cell<Option<u32>>;
}

/// Runs `fut` with a fresh cause slot; returns its output and the id of the last user
/// error a callback raised meanwhile.
pub async fn with_cause<F: Future>(fut: F) -> (F::Output, Option<u32>) {
    CAUSE
        .scope(Cell::new(None), async move {
            let out = fut.await;
            (out, CAUSE.with(Cell::get))
        })
        .await
}

/// Calls `callback` with `arg` and waits for its reply. `Err` carries the message of a
/// user error (its id noted for [`with_cause`]) or of a failed call.
pub async fn call<T>(callback: &JsCallback<T>, arg: T) -> Result<CallbackReply, String>
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
        }) => {
            if let Some(id) = cause_id {
                // Outside a `with_cause` scope there is nobody to hand the cause to.
                let _ = CAUSE.try_with(|slot| slot.set(Some(id)));
            }
            Err(message)
        }
        Ok(reply) => Ok(reply),
        Err(e) if e.status == Status::Closing => {
            Err("the node environment is shutting down".to_owned())
        }
        Err(e) => Err(format!("javascript callback failed: {}", e.reason)),
    }
}
