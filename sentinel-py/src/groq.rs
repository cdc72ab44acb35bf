//! `GroqScorer`: configuration of the core's LLM risk scorer
//! ([`sentinel_core::groq::GroqScorer`]) over an OpenAI-compatible chat API.
//!
//! Settings left `None` come from the environment (`GROQ_API_KEY`, `GROQ_BASE_URL`,
//! `GROQ_MODEL`), then the core's defaults. Everything else (prompts, redaction, retries,
//! parsing, fail-closed) is the core's.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use sentinel_core::groq::{GroqError, GroqScorer as CoreScorer, GroqStats};

use crate::errors::{self, Kind};

/// The Groq (OpenAI-compatible) LLM risk scorer, configured; pass it as
/// `Gateway(scorer=GroqScorer(...))`. `Gateway(scorer="groq")` is
/// `Gateway(scorer=GroqScorer())`: everything from the environment.
#[pyclass(module = "sentinel_guard", name = "GroqScorer", frozen)]
pub struct GroqScorer {
    pub(crate) inner: Arc<CoreScorer>,
}

#[pymethods]
impl GroqScorer {
    #[new]
    #[pyo3(signature = (
        api_key = None, *, base_url = None, model = None, timeout = 15.0, connect_timeout = 5.0,
        deadline = 30.0, max_retries = 2, retry_backoff = 0.25, concurrency = 8, cache_ttl = None,
        redact_paths = Vec::new(),
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        api_key: Option<String>,
        base_url: Option<String>,
        model: Option<String>,
        timeout: f64,
        connect_timeout: f64,
        deadline: f64,
        max_retries: u32,
        retry_backoff: f64,
        concurrency: usize,
        cache_ttl: Option<f64>,
        redact_paths: Vec<String>,
    ) -> PyResult<Self> {
        let mut b = CoreScorer::builder_from_env()
            .timeout(seconds(py, "timeout", timeout)?)
            .connect_timeout(seconds(py, "connect_timeout", connect_timeout)?)
            .deadline(seconds(py, "deadline", deadline)?)
            .max_retries(max_retries)
            .retry_backoff(seconds(py, "retry_backoff", retry_backoff)?)
            .concurrency(concurrency)
            .redact_paths(redact_paths);
        if let Some(key) = api_key {
            b = b.api_key(key);
        }
        if let Some(url) = base_url {
            b = b.base_url(url);
        }
        if let Some(model) = model {
            b = b.model(model);
        }
        if let Some(ttl) = cache_ttl {
            b = b.cache_ttl(seconds(py, "cache_ttl", ttl)?);
        }
        let scorer = b.build().map_err(|e| config_error(py, &e))?;
        Ok(Self {
            inner: Arc::new(scorer),
        })
    }

    /// The API's base URL in use.
    #[getter]
    fn base_url(&self) -> String {
        self.inner.base_url().to_owned()
    }

    /// The model in use.
    #[getter]
    fn model(&self) -> String {
        self.inner.model().to_owned()
    }

    /// Counters since the scorer was built: `calls` (HTTP requests, retries included),
    /// `retries`, `cache_hits`, `failures`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, self.inner.stats())
    }

    fn __repr__(&self) -> String {
        format!(
            "GroqScorer(base_url={:?}, model={:?})",
            self.inner.base_url(),
            self.inner.model()
        )
    }
}

impl GroqScorer {
    /// `Gateway(scorer="groq")`: everything from the environment.
    pub(crate) fn from_env(py: Python<'_>) -> PyResult<Arc<CoreScorer>> {
        CoreScorer::from_env()
            .map(Arc::new)
            .map_err(|e| config_error(py, &e))
    }
}

/// The counters as a dict.
pub(crate) fn stats_dict(py: Python<'_>, stats: GroqStats) -> PyResult<Bound<'_, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("calls", stats.calls)?;
    dict.set_item("retries", stats.retries)?;
    dict.set_item("cache_hits", stats.cache_hits)?;
    dict.set_item("failures", stats.failures)?;
    Ok(dict)
}

/// A number of seconds as a `Duration`, or `ConfigError` naming the setting.
pub(crate) fn seconds(py: Python<'_>, setting: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        errors::new_err(
            py,
            Kind::Config,
            format!("invalid setting `{setting}`: `{value}` is not a number of seconds"),
        )
    })
}

/// The core's messages name the setting or the variable and never contain the key.
fn config_error(py: Python<'_>, e: &GroqError) -> PyErr {
    errors::new_err(py, Kind::Config, format!("groq scorer: {e}"))
}
