//! The build without the `otel` feature: the same calls, doing nothing (and costing
//! nothing: every handle is empty and every scope is the future itself).

use std::future::Future;

use super::{Attrs, TelemetryError};
use crate::action::{Action, ActionId};

pub(crate) fn is_on() -> bool {
    false
}

pub(crate) fn start(endpoint: &str, _service: &str) -> Result<(), TelemetryError> {
    Err(TelemetryError::NotBuilt {
        endpoint: endpoint.to_owned(),
    })
}

pub(crate) fn flush_spans() {}

pub(crate) fn shutdown_spans() {}

pub(crate) async fn in_remote_parent<F: Future>(_traceparent: &str, f: F) -> F::Output {
    f.await
}

/// A future running inside a span's context: itself.
pub(crate) type Scoped<F> = F;

/// `f` itself.
pub(crate) fn unscoped<F: Future>(f: F) -> Scoped<F> {
    f
}

/// Nothing to annotate.
#[cfg_attr(not(feature = "groq"), allow(dead_code))]
pub(crate) fn annotate(_attrs: impl FnOnce() -> Attrs) {}

/// No span.
pub(crate) struct ActionSpan;

impl ActionSpan {
    pub(crate) fn start(_action: &Action, _mode: &'static str) -> Self {
        ActionSpan
    }

    pub(crate) fn scope<F: Future>(&self, f: F) -> Scoped<F> {
        f
    }

    pub(crate) fn set_id(&self, _id: ActionId) {}

    pub(crate) fn set(&self, _attrs: impl FnOnce() -> Attrs) {}

    pub(crate) fn fail(&self, _error_type: &str, _message: &str) {}

    pub(crate) fn end(&self) {}
}

/// No span.
pub(crate) struct StepSpan;

impl StepSpan {
    pub(crate) fn start(
        _id: Option<ActionId>,
        _name: impl FnOnce() -> String,
        _attrs: impl FnOnce() -> Attrs,
    ) -> Self {
        StepSpan
    }

    pub(crate) fn scope<F: Future>(&self, f: F) -> Scoped<F> {
        f
    }

    pub(crate) fn fail(&self, _error_type: &str, _message: &str) {}
}

pub(crate) fn forget(_id: ActionId) {}
