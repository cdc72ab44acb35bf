//! Calling Python objects (scorers, approvers) from the Rust pipeline.
//!
//! A `def` method runs under the GIL on a tokio blocking thread. When it returns a
//! coroutine (`async def`), the coroutine runs on the caller's event loop when the call
//! came from `await gw.aguard(...)`/`aevaluate`, and on a private loop of that blocking
//! thread when it came from a blocking call. Tokio worker threads never run Python
//! callbacks (they only wait for them), and the caller's thread waits with the GIL released.
//!
//! A call awaited from asyncio (`aguard`, `aevaluate`) runs inside a [`CallContext`] (a
//! task-local) that names the caller's event loop. Blocking calls need none.
//!
//! An exception a callback raises travels inside the core's error as its source (a
//! [`PyCallbackError`] in `ScorerError::with_source` / `ApproverError::with_source`); the
//! binding finds it there again and chains the very same exception object as `__cause__`.

use std::fmt;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use sentinel_core::{ApproverError, ScorerError};
use tokio::sync::oneshot;

use crate::coroutine;

tokio::task_local! {
    static CALL: Arc<CallContext>;
}

/// Per-call state shared with the adapters: the event loop of an awaited call.
pub(crate) struct CallContext {
    event_loop: Arc<Py<PyAny>>,
}

impl CallContext {
    /// Context of a call awaited on `event_loop`.
    pub(crate) fn on_loop(event_loop: Py<PyAny>) -> Arc<Self> {
        Arc::new(Self {
            event_loop: Arc::new(event_loop),
        })
    }

    /// Runs `future` with this context visible to the adapters.
    pub(crate) async fn scope<F: Future>(self: Arc<Self>, future: F) -> F::Output {
        CALL.scope(self, future).await
    }
}

/// The exception a Python scorer or approver raised, as the source of the core's error.
///
/// Its `Display` is the text computed when it was raised (`Boom: scorer is down`), so
/// that neither `Display` nor `Debug` ever needs the GIL (the core may format errors on
/// any thread).
pub(crate) struct PyCallbackError {
    description: String,
    error: PyErr,
}

impl PyCallbackError {
    /// The exception behind `source`, when `source` is one a Python callback raised (the
    /// same object, not a copy).
    pub(crate) fn exception(
        py: Python<'_>,
        source: &(dyn std::error::Error + Send + Sync + 'static),
    ) -> Option<PyErr> {
        source.downcast_ref::<Self>().map(|e| e.error.clone_ref(py))
    }
}

impl fmt::Display for PyCallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

impl fmt::Debug for PyCallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PyCallbackError")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for PyCallbackError {}

/// A Python callback failed: the message for the core, and the exception it raised.
pub(crate) struct Failure {
    pub(crate) message: String,
    error: Option<PyCallbackError>,
}

impl Failure {
    /// A failure without a Python exception (e.g. an invalid return value).
    pub(crate) fn message(message: String) -> Self {
        Self {
            message,
            error: None,
        }
    }

    /// The core's scorer error, its source the exception raised (when there is one).
    pub(crate) fn into_scorer_error(self) -> ScorerError {
        match self.error {
            Some(source) => ScorerError::with_source(self.message, source),
            None => ScorerError::new(self.message),
        }
    }

    /// The core's approver error, its source the exception raised (when there is one).
    pub(crate) fn into_approver_error(self) -> ApproverError {
        match self.error {
            Some(source) => ApproverError::with_source(self.message, source),
            None => ApproverError::new(self.message),
        }
    }
}

type Finish<T> =
    Box<dyn FnOnce(Python<'_>, PyResult<Bound<'_, PyAny>>) -> Result<T, Failure> + Send>;

/// Calls Python: `call` under the GIL, then, once its result (awaited when it is a
/// coroutine) is there, `finish` under the GIL. `label` (e.g. "`MyScorer.assess`") names
/// the callback in messages.
pub(crate) async fn call_python<T, C, F>(label: String, call: C, finish: F) -> Result<T, Failure>
where
    T: Send + 'static,
    C: for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>> + Send + 'static,
    F: for<'py> FnOnce(Python<'py>, &Bound<'py, PyAny>) -> Result<T, Failure> + Send + 'static,
{
    let event_loop = CALL.try_with(|ctx| Arc::clone(&ctx.event_loop)).ok();
    let failed = {
        let label = label.clone();
        move |py: Python<'_>, e: PyErr| {
            let description = describe(py, &e);
            Failure {
                message: format!("{label} raised {description}"),
                error: Some(PyCallbackError {
                    description,
                    error: e,
                }),
            }
        }
    };
    let finish: Finish<T> = Box::new(move |py, result| match result {
        Ok(value) => finish(py, &value),
        Err(e) => Err(failed(py, e)),
    });
    let (tx, rx) = oneshot::channel::<Result<T, Failure>>();
    let started = tokio::task::spawn_blocking(move || {
        Python::attach(|py| {
            let value = match call(py) {
                Ok(value) => value,
                Err(e) => return Some(finish(py, Err(e))),
            };
            if !coroutine::is_coroutine(py, &value) {
                return Some(finish(py, Ok(value)));
            }
            match event_loop {
                None => Some(finish(py, run_private(py, value))),
                Some(event_loop) => {
                    schedule(py, value, event_loop.bind(py), finish, tx);
                    None
                }
            }
        })
    })
    .await;
    match started {
        Ok(Some(done)) => done,
        Ok(None) => rx
            .await
            .unwrap_or_else(|_| Err(Failure::message(format!("{label} was cancelled")))),
        Err(e) => Err(Failure::message(format!("{label} could not run: {e}"))),
    }
}

/// Runs a coroutine to completion on a private event loop of this thread.
fn run_private<'py>(py: Python<'py>, coroutine: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    py.import("asyncio")?.call_method1("run", (coroutine,))
}

/// Schedules the coroutine on `event_loop`; `finish` runs there when it is done and its
/// outcome goes to `tx`.
fn schedule<T: Send + 'static>(
    py: Python<'_>,
    coroutine: Bound<'_, PyAny>,
    event_loop: &Bound<'_, PyAny>,
    finish: Finish<T>,
    tx: oneshot::Sender<Result<T, Failure>>,
) {
    let deliver: Deliver = Box::new(move |py, outcome| {
        let _ = tx.send(finish(py, outcome));
    });
    // Should this fail, `tx` is dropped with it and the caller reports a cancelled call.
    let Ok(done) = Bound::new(
        py,
        Done {
            deliver: Mutex::new(Some(deliver)),
        },
    ) else {
        return;
    };
    let scheduled = py
        .import("asyncio")
        .and_then(|m| m.call_method1("run_coroutine_threadsafe", (&coroutine, event_loop)));
    match scheduled {
        Ok(future) => {
            if let Err(e) = future.call_method1("add_done_callback", (&done,)) {
                let _ = future.call_method0("cancel");
                done.get().deliver(py, Err(e));
            }
        }
        Err(e) => {
            let _ = coroutine.call_method0("close");
            done.get().deliver(py, Err(e));
        }
    }
}

type Deliver = Box<dyn for<'py> FnOnce(Python<'py>, PyResult<Bound<'py, PyAny>>) + Send>;

/// Done-callback of a coroutine scheduled on the caller's loop.
#[pyclass(module = "sentinel_guard._native", frozen)]
struct Done {
    deliver: Mutex<Option<Deliver>>,
}

impl Done {
    fn deliver(&self, py: Python<'_>, outcome: PyResult<Bound<'_, PyAny>>) {
        let deliver = self
            .deliver
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(deliver) = deliver {
            deliver(py, outcome);
        }
    }
}

#[pymethods]
impl Done {
    fn __call__(&self, py: Python<'_>, future: &Bound<'_, PyAny>) {
        self.deliver(py, future.call_method0("result"));
    }
}

/// `ExcType: message`, as Python prints it.
pub(crate) fn describe(py: Python<'_>, e: &PyErr) -> String {
    let name = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "exception".to_owned());
    match e.value(py).str() {
        Ok(text) if !text.to_string().is_empty() => format!("{name}: {text}"),
        _ => name,
    }
}
