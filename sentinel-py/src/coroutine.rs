//! Telling Python's async apart: functions that return coroutines (which `guard` refuses,
//! pointing to `aguard`) and the coroutines themselves (which a callback's result may be).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// `inspect.iscoroutinefunction(func)`. A plain function (what `guard` is nearly always
/// given) is answered from its code's `CO_COROUTINE` flag, without the call into `inspect`
/// (about a third of `guard`'s own work in the binding); one that carries
/// `inspect.markcoroutinefunction`'s marker (Python 3.12+), and every other callable
/// (methods, partials, objects with `__call__`), are left to `inspect`.
pub(crate) fn is_coroutine_function(py: Python<'_>, func: &Bound<'_, PyAny>) -> PyResult<bool> {
    /// `inspect.CO_COROUTINE`, the same in every Python 3.
    const CO_COROUTINE: u32 = 0x0080;
    static FUNCTION_TYPE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static CHECK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    if func
        .get_type()
        .is(FUNCTION_TYPE.import(py, "types", "FunctionType")?)
    {
        let flags: u32 = func
            .getattr(pyo3::intern!(py, "__code__"))?
            .getattr(pyo3::intern!(py, "co_flags"))?
            .extract()?;
        if flags & CO_COROUTINE != 0 {
            return Ok(true);
        }
        let marked = func
            .getattr(pyo3::intern!(py, "__dict__"))?
            .cast_into::<PyDict>()?
            .contains(pyo3::intern!(py, "_is_coroutine_marker"))?;
        if !marked {
            return Ok(false);
        }
    }
    CHECK
        .import(py, "inspect", "iscoroutinefunction")?
        .call1((func,))?
        .is_truthy()
}

/// True for coroutines (what calling an `async def` returns).
pub(crate) fn is_coroutine(py: Python<'_>, value: &Bound<'_, PyAny>) -> bool {
    static ISCOROUTINE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    ISCOROUTINE
        .import(py, "asyncio", "iscoroutine")
        .and_then(|f| f.call1((value,)))
        .and_then(|r| r.is_truthy())
        .unwrap_or(false)
}
