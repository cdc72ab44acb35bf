//! The one tokio runtime this module owns, and how Python threads wait on it.
//!
//! Design against the interpreter-exit crash (a tokio thread inside `Python::attach` while
//! Python finalizes): the module registers an `atexit` hook that takes the runtime out of
//! reach and shuts it down with the GIL released, so every worker finishes its Python work
//! and exits before finalization starts. After a `fork()` the child builds a fresh runtime
//! (the parent's threads do not exist there).

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::{Builder, Handle, Runtime};

use crate::errors;

/// How long the exit hook waits for running work (a blocking Python callback) to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

enum Slot {
    Unstarted,
    Running(Runtime),
    ShutDown,
}

static RUNTIME: Mutex<Slot> = Mutex::new(Slot::Unstarted);
/// Set in a forked child: the runtime in [`RUNTIME`] belongs to the parent.
static FORKED: AtomicBool = AtomicBool::new(false);

/// A handle to the module's runtime, starting it on first use.
pub(crate) fn handle(py: Python<'_>) -> PyResult<Handle> {
    let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if FORKED.swap(false, Ordering::AcqRel)
        && let Slot::Running(stale) = std::mem::replace(&mut *slot, Slot::Unstarted)
    {
        // Its threads were not copied into this process: never join them.
        std::mem::forget(stale);
    }
    match &*slot {
        Slot::Running(rt) => Ok(rt.handle().clone()),
        Slot::ShutDown => Err(errors::internal(
            py,
            "the sentinel runtime has shut down (the interpreter is exiting)",
        )),
        Slot::Unstarted => {
            let rt = Builder::new_multi_thread()
                .thread_name("sentinel-worker")
                .enable_all()
                .build()
                .map_err(|e| {
                    errors::internal(py, format!("cannot start the sentinel runtime: {e}"))
                })?;
            let handle = rt.handle().clone();
            *slot = Slot::Running(rt);
            Ok(handle)
        }
    }
}

/// Runs `future` to completion on the calling thread, with the GIL released while it
/// waits.
///
/// Fast path: a future that is ready on its first poll (an `evaluate` that no Python scorer
/// takes part in, an auto-approved `guard`) never waited, so it completes without giving
/// up and retaking the GIL. Anything that would wait (a human, a Python callback, which
/// needs the GIL itself) continues in `block_on` with the GIL released.
pub(crate) fn block_on<F>(py: Python<'_>, future: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let handle = handle(py)?;
    let mut future = std::pin::pin!(future);
    {
        let _runtime = handle.enter();
        let mut cx = Context::from_waker(Waker::noop());
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Ok(output);
        }
    }
    // `block_on` polls again at once, with a waker of its own.
    Ok(py.detach(move || handle.block_on(future)))
}

/// `atexit` hook: stops the runtime and waits (GIL released) for its threads to finish.
#[pyfunction]
pub(crate) fn _shutdown(py: Python<'_>) {
    // The last spans reach the collector before the runtime goes.
    py.detach(sentinel_core::telemetry::shutdown);
    let taken = {
        let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut *slot, Slot::ShutDown)
    };
    if let Slot::Running(rt) = taken {
        if FORKED.load(Ordering::Acquire) {
            std::mem::forget(rt);
        } else {
            py.detach(move || rt.shutdown_timeout(SHUTDOWN_GRACE));
        }
    }
}

/// `os.register_at_fork(after_in_child=...)` hook: the child starts its own runtime.
#[pyfunction]
pub(crate) fn _after_fork_in_child() {
    FORKED.store(true, Ordering::Release);
}

/// Registers the exit and fork hooks.
pub(crate) fn install_hooks(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    let shutdown = wrap_pyfunction!(_shutdown, module)?;
    py.import("atexit")?.call_method1("register", (shutdown,))?;
    let after_fork = wrap_pyfunction!(_after_fork_in_child, module)?;
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("after_in_child", after_fork)?;
    py.import("os")?
        .call_method("register_at_fork", (), Some(&kwargs))?;
    Ok(())
}
