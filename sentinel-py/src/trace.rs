//! Trace context for `guard`/`evaluate`: a W3C `traceparent` given by the caller, or the
//! current context of the host's own OpenTelemetry package when it is loaded, so that
//! Sentinel's spans (exported by the core, see `sentinel_core::telemetry`) join the
//! caller's trace.

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The `traceparent` to run under: `given`, else the host's current OpenTelemetry context
/// (only when Sentinel exports traces and `opentelemetry.propagate` is already imported:
/// nothing is imported, nothing costs anything otherwise).
pub(crate) fn traceparent(py: Python<'_>, given: Option<String>) -> Option<String> {
    if given.is_some() || !sentinel_core::telemetry::enabled() {
        return given;
    }
    let modules = py.import("sys").ok()?.getattr("modules").ok()?;
    let propagate = modules.get_item("opentelemetry.propagate").ok()?;
    let carrier = PyDict::new(py);
    propagate.call_method1("inject", (&carrier,)).ok()?;
    carrier.get_item("traceparent").ok()??.extract().ok()
}

/// Exports the spans ended so far (waits for the collector, a few seconds at most).
#[pyfunction]
pub(crate) fn flush_telemetry(py: Python<'_>) {
    py.detach(sentinel_core::telemetry::flush);
}
