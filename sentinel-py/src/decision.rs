//! The `Decision` class: what the gateway decided about an action, and why.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert;

/// What the gateway decided about an action (read-only).
///
/// `status` is `"EXECUTED"` (auto-approved), `"BLOCKED_AWAITING_AUTH"` (a human must
/// decide) or `"DECLINED"`. `rules` lists the matched rules as `"Pack/rule-id"`.
#[pyclass(module = "sentinel_guard", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    inner: sentinel_core::Decision,
}

impl From<sentinel_core::Decision> for Decision {
    fn from(inner: sentinel_core::Decision) -> Self {
        Self { inner }
    }
}

impl Decision {
    /// The core decision.
    pub(crate) fn inner(&self) -> &sentinel_core::Decision {
        &self.inner
    }
}

#[pymethods]
impl Decision {
    /// The action's id (a UUID string).
    #[getter]
    fn action_id(&self) -> String {
        self.inner.action_id.to_string()
    }

    /// `"EXECUTED"`, `"BLOCKED_AWAITING_AUTH"` or `"DECLINED"`.
    #[getter]
    fn status(&self) -> &'static str {
        self.inner.status.as_str()
    }

    /// Final risk, 0 (harmless) to 100.
    #[getter]
    fn risk_score(&self) -> u8 {
        self.inner.risk_score
    }

    /// Plain-language explanation for the person who may be asked.
    #[getter]
    fn analysis(&self) -> &str {
        &self.inner.analysis
    }

    /// Matched rules as `"Pack/rule-id"`, in evaluation order.
    #[getter]
    fn rules(&self) -> Vec<&str> {
        self.inner.rules.iter().map(|r| &**r).collect()
    }

    /// True when the action may run without asking anyone.
    #[getter]
    fn auto_approved(&self) -> bool {
        self.inner.is_auto_approved()
    }

    /// True when a human must decide.
    #[getter]
    fn needs_approval(&self) -> bool {
        self.inner.needs_approval()
    }

    /// True when the action was refused.
    #[getter]
    fn declined(&self) -> bool {
        self.inner.is_declined()
    }

    /// The whole decision as a dict (the JSON wire form: adds `matched`, `packs`,
    /// `scorer` and `timings`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        Ok(convert::serialize(py, &self.inner)?.cast_into::<PyDict>()?)
    }

    fn __repr__(&self) -> String {
        format!(
            "Decision(status={:?}, risk_score={}, rules={:?}, action_id={:?})",
            self.inner.status.as_str(),
            self.inner.risk_score,
            self.inner.rules,
            self.inner.action_id.to_string()
        )
    }
}
