//! `GroqScorer`: configuration of the core's LLM risk scorer
//! ([`sentinel_core::groq::GroqScorer`]) over an OpenAI-compatible chat API.
//!
//! The keyword arguments are written as the spec's `[scorer.groq]` section and read by the
//! core ([`GroqSpec`]): settings left `None` fall back to `GROQ_API_KEY`, `GROQ_BASE_URL`,
//! `GROQ_MODEL`, then the core's defaults, and every check is the core's. Everything else
//! (prompts, redaction, retries, parsing, fail-closed) is the core's too.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use sentinel_core::ConfigError;
use sentinel_core::groq::{GroqScorer as CoreScorer, GroqStats};
use sentinel_core::spec::{Env, GatewaySpec};
use serde_json::{Map, Value, json};

use crate::{config, errors};

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
        api_key = None, *, base_url = None, model = None, timeout = None, connect_timeout = None,
        deadline = None, max_retries = None, retry_backoff = None, concurrency = None,
        cache_ttl = None, redact_paths = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        api_key: Option<String>,
        base_url: Option<String>,
        model: Option<String>,
        timeout: Option<f64>,
        connect_timeout: Option<f64>,
        deadline: Option<f64>,
        max_retries: Option<i64>,
        retry_backoff: Option<f64>,
        concurrency: Option<i64>,
        cache_ttl: Option<f64>,
        redact_paths: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let built = (|| {
            let mut section = Map::new();
            for (key, value) in [("base_url", base_url), ("model", model)] {
                if let Some(value) = value {
                    section.insert(key.into(), json!(value));
                }
            }
            for (key, value) in [
                ("timeout_s", timeout),
                ("connect_timeout_s", connect_timeout),
                ("deadline_s", deadline),
                ("retry_backoff_s", retry_backoff),
                ("cache_ttl_s", cache_ttl),
            ] {
                if let Some(value) = value {
                    let value = config::number(py, &format!("scorer.groq.{key}"), value)?;
                    section.insert(key.into(), value);
                }
            }
            for (key, value) in [("max_retries", max_retries), ("concurrency", concurrency)] {
                if let Some(value) = value {
                    section.insert(key.into(), json!(value));
                }
            }
            if let Some(paths) = redact_paths {
                section.insert("redact_paths".into(), json!(paths));
            }
            let spec = GatewaySpec::from_value(
                json!({"scorer": {"kind": "groq", "groq": Value::Object(section)}}),
            )?;
            let mut groq = spec.scorer.groq.unwrap_or_default();
            if let Some(key) = api_key {
                groq = groq.with_api_key(key);
            }
            groq.build(&Env::process(), None)
        })();
        let scorer = built.map_err(|e: ConfigError| errors::config(py, &e))?;
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

/// The counters as a dict.
pub(crate) fn stats_dict(py: Python<'_>, stats: GroqStats) -> PyResult<Bound<'_, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("calls", stats.calls)?;
    dict.set_item("retries", stats.retries)?;
    dict.set_item("cache_hits", stats.cache_hits)?;
    dict.set_item("failures", stats.failures)?;
    Ok(dict)
}
