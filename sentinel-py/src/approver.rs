//! A Python object as the gateway's [`Approver`], and the handle it gets to answer.
//!
//! The object has `request(ticket: dict)` (`def` or `async def`); it starts asking a human
//! and returns. The answer comes later through `ticket["handle"].resolve(...)` or
//! `Gateway.resolve(...)`. An exception (or a non-`None` return) fails the action closed.

use std::sync::Arc;

use async_trait::async_trait;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use sentinel_core::{ApprovalRequest, Approver, ApproverError};

use crate::callback::{Failure, call_python};
use crate::scorer::{has_method, object_name};
use crate::{convert, gateway, runtime};

/// Adapter for a Python approver object.
pub(crate) struct PyApprover {
    name: String,
    object: Arc<Py<PyAny>>,
}

/// Wraps a Python approver object, checking that it has a callable `request`.
pub(crate) fn from_object(object: &Bound<'_, PyAny>) -> PyResult<Arc<dyn Approver>> {
    if !has_method(object, "request")? {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "approver must be None or an object with a `request(ticket)` method, found `{}`",
            convert::type_name(object)
        )));
    }
    Ok(Arc::new(PyApprover {
        name: object_name(object),
        object: Arc::new(object.clone().unbind()),
    }))
}

#[async_trait]
impl Approver for PyApprover {
    fn name(&self) -> &str {
        &self.name
    }

    async fn request(&self, request: ApprovalRequest) -> Result<(), ApproverError> {
        let label = format!("`{}.request`", self.name);
        let object = Arc::clone(&self.object);
        let result = call_python(
            label.clone(),
            move |py| {
                object
                    .bind(py)
                    .call_method1("request", (ticket(py, request)?,))
            },
            move |_py, value| {
                if value.is_none() {
                    Ok(())
                } else {
                    Err(Failure::message(format!(
                        "{label} must return None, found `{}`",
                        convert::type_name(value)
                    )))
                }
            },
        )
        .await;
        result.map_err(Failure::into_approver_error)
    }
}

/// The dict an approver receives: `action_id`, `action`, `decision` (dicts in the wire
/// form), `deadline` (ISO 8601, UTC) and `handle`.
fn ticket(py: Python<'_>, request: ApprovalRequest) -> PyResult<Bound<'_, PyDict>> {
    let ticket = PyDict::new(py);
    ticket.set_item("action_id", request.action_id.to_string())?;
    ticket.set_item("action", convert::to_py(py, &request.action.to_json())?)?;
    ticket.set_item("decision", convert::serialize(py, &request.decision)?)?;
    ticket.set_item("deadline", request.deadline.to_rfc3339())?;
    ticket.set_item(
        "handle",
        ApprovalHandle {
            inner: request.handle,
        },
    )?;
    Ok(ticket)
}

/// Delivers a human's answer for one escalated action (found in an approver's ticket).
/// It does not keep the gateway alive.
#[pyclass(module = "sentinel_guard", frozen)]
pub struct ApprovalHandle {
    inner: sentinel_core::ApprovalHandle,
}

#[pymethods]
impl ApprovalHandle {
    /// The action this handle answers for.
    #[getter]
    fn action_id(&self) -> String {
        self.inner.action_id().to_string()
    }

    /// Approves or declines the action; returns its record as a dict. Raises
    /// `ConflictError` when it was already decided.
    #[pyo3(signature = (*, approved, by, channel = "python", reason = ""))]
    fn resolve<'py>(
        &self,
        py: Python<'py>,
        approved: bool,
        by: &str,
        channel: &str,
        reason: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let handle = self.inner.clone();
        let resolution = gateway::resolution(approved, by, channel, reason);
        let record = runtime::block_on(py, async move { handle.resolve(resolution).await })?;
        gateway::record_or_raise(py, record)
    }

    fn __repr__(&self) -> String {
        format!(
            "ApprovalHandle(action_id={:?})",
            self.inner.action_id().to_string()
        )
    }
}
