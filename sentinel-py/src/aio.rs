//! Rust futures as asyncio futures, without blocking the event loop.
//!
//! The future runs as a task on the module's runtime. When it finishes, the worker takes
//! the GIL once, only to hand a completion to the loop with `call_soon_threadsafe`, and
//! drops every Python reference it held in that same moment: no Python work happens on a
//! tokio thread after the result is handed back. The completion converts the result on the
//! loop's thread. Cancelling the asyncio future aborts the task.

use std::future::Future;
use std::sync::Mutex;

use pyo3::prelude::*;
use tokio::task::AbortHandle;

use crate::callback::CallContext;
use crate::runtime;

/// Turns a finished Rust result into a Python value (or exception), on the loop's thread.
pub(crate) type Outcome = Box<dyn for<'py> FnOnce(Python<'py>) -> PyResult<Py<PyAny>> + Send>;

/// Starts `work` on the runtime and returns an asyncio future for its outcome. Python
/// callbacks it needs run on the running event loop. Must be called from a running event
/// loop (inside a coroutine).
pub(crate) fn spawn<'py, F>(py: Python<'py>, work: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Outcome> + Send + 'static,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let future = event_loop.call_method0("create_future")?;
    let work = CallContext::on_loop(event_loop.clone().unbind()).scope(work);
    let handle = runtime::handle(py)?;
    let (loop_ref, future_ref) = (event_loop.unbind(), future.clone().unbind());
    let task = handle.spawn(async move {
        let outcome = work.await;
        Python::attach(move |py| {
            let completion = Completion {
                future: future_ref,
                outcome: Mutex::new(Some(outcome)),
            };
            // Fails only when the loop is closed: nobody is waiting any more.
            let _ = loop_ref
                .bind(py)
                .call_method1("call_soon_threadsafe", (completion,));
            drop(loop_ref);
        });
    });
    future.call_method1(
        "add_done_callback",
        (AbortOnDone {
            task: task.abort_handle(),
        },),
    )?;
    Ok(future)
}

/// Sets the asyncio future's result or exception, unless it was cancelled meanwhile.
#[pyclass(module = "sentinel_guard._native", frozen)]
struct Completion {
    future: Py<PyAny>,
    outcome: Mutex<Option<Outcome>>,
}

#[pymethods]
impl Completion {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let future = self.future.bind(py);
        let outcome = self
            .outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(outcome) = outcome else {
            return Ok(());
        };
        if future.call_method0("done")?.is_truthy()? {
            return Ok(());
        }
        match outcome(py) {
            Ok(value) => future.call_method1("set_result", (value,))?,
            Err(e) => future.call_method1("set_exception", (e.into_value(py),))?,
        };
        Ok(())
    }
}

/// Aborts the Rust task when the asyncio future is done (a no-op unless it was cancelled).
#[pyclass(module = "sentinel_guard._native", frozen)]
struct AbortOnDone {
    task: AbortHandle,
}

#[pymethods]
impl AbortOnDone {
    fn __call__(&self, _future: &Bound<'_, PyAny>) {
        self.task.abort();
    }
}
