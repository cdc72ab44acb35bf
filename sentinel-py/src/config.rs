//! Gateways from the core's [`GatewaySpec`], the one configuration every host reads.
//!
//! `Gateway.from_config(path_or_mapping)` reads a spec from a TOML or JSON file or a
//! mapping. The `Gateway(...)` constructor writes its keyword arguments as the spec's JSON
//! mapping and reads that. Either way the core reads, checks and defaults every setting,
//! resolves relative paths and secrets, classifies store URLs and pack sources; this module
//! only translates Python values into the mapping and swaps in the scorer or approver
//! objects a caller passes.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyString};
use sentinel_core::spec::{ApproverSpec, Env, GatewaySpec, ScorerSpec};
use sentinel_core::{Approver, ConfigError, RiskScorer, TelnyxVoiceApprover};
use serde_json::{Map, Value, json};

use crate::gateway::Gateway;
use crate::groq::GroqScorer;
use crate::telnyx::TelnyxApprover;
use crate::{approver, convert, errors, runtime, scorer};

/// The scorer of a gateway: the spec's, or one the caller passed.
pub(crate) enum ScorerChoice {
    /// What the spec's `[scorer]` says.
    Spec,
    /// A configured `GroqScorer`.
    Groq(Arc<sentinel_core::GroqScorer>),
    /// A Python object with `assess`.
    Object(Arc<dyn RiskScorer>),
}

/// The approver of a gateway: the spec's, or one the caller passed.
pub(crate) enum ApproverChoice {
    /// What the spec's `[approver]` says.
    Spec,
    /// A configured `TelnyxApprover`.
    Telnyx(TelnyxVoiceApprover),
    /// A Python object with `request`.
    Object(Arc<dyn Approver>),
}

/// A scorer object (`GroqScorer` or an object with `assess`); `None` keeps the spec's.
pub(crate) fn scorer_object(object: Option<&Bound<'_, PyAny>>) -> PyResult<ScorerChoice> {
    let Some(object) = object.filter(|o| !o.is_none()) else {
        return Ok(ScorerChoice::Spec);
    };
    Ok(match object.cast::<GroqScorer>() {
        Ok(groq) => ScorerChoice::Groq(Arc::clone(&groq.get().inner)),
        Err(_) => ScorerChoice::Object(scorer::from_object(object)?),
    })
}

/// An approver object (`TelnyxApprover` or an object with `request`); `None` keeps the
/// spec's.
pub(crate) fn approver_object(object: Option<&Bound<'_, PyAny>>) -> PyResult<ApproverChoice> {
    let Some(object) = object.filter(|o| !o.is_none()) else {
        return Ok(ApproverChoice::Spec);
    };
    Ok(match object.cast::<TelnyxApprover>() {
        Ok(telnyx) => ApproverChoice::Telnyx(telnyx.get().inner.clone()),
        Err(_) => ApproverChoice::Object(approver::from_object(object)?),
    })
}

/// Reads `from_config`'s argument: a path (`str` or `os.PathLike`) to a TOML or JSON file,
/// or a mapping (relative paths in it are relative to the working directory).
pub(crate) fn read(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<GatewaySpec> {
    let spec = if config.is_instance_of::<PyString>() || config.hasattr("__fspath__")? {
        let path = fspath(py, config)?;
        GatewaySpec::from_file(path)
    } else if is_mapping(py, config)? {
        let dict = match config.cast::<PyDict>() {
            Ok(dict) => dict.clone(),
            Err(_) => py
                .import("builtins")?
                .getattr("dict")?
                .call1((config,))?
                .cast_into::<PyDict>()?,
        };
        convert::config_value(dict.as_any(), "").and_then(GatewaySpec::from_value)
    } else {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "`config` must be a path to a TOML or JSON file, or a mapping, found `{}`",
            convert::type_name(config)
        )));
    };
    spec.map_err(|e| errors::config(py, &e))
}

/// The constructor's keyword arguments, as the spec's JSON mapping.
pub(crate) struct Arguments<'a, 'py> {
    pub(crate) packs: Option<&'a Bound<'py, PyAny>>,
    /// `scorer` when it is a name (`"offline"`, `"groq"`).
    pub(crate) scorer: Option<String>,
    /// `approver` when it is a name (`"none"`, `"telnyx"`).
    pub(crate) approver: Option<String>,
    pub(crate) escalation_timeout: f64,
    pub(crate) store: Option<&'a Bound<'py, PyAny>>,
    pub(crate) store_schema: Option<String>,
    pub(crate) unmatched: Option<String>,
    pub(crate) on_scorer_error: Option<String>,
}

/// Why arguments cannot be written as a spec: a Python error (a wrong type) or a bad
/// setting.
enum Invalid {
    Python(PyErr),
    Config(ConfigError),
}

impl From<PyErr> for Invalid {
    fn from(e: PyErr) -> Self {
        Self::Python(e)
    }
}

impl From<ConfigError> for Invalid {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

impl Arguments<'_, '_> {
    /// Reads the arguments as a spec (no file: relative paths are relative to the working
    /// directory).
    pub(crate) fn spec(&self, py: Python<'_>) -> PyResult<GatewaySpec> {
        let spec = self
            .mapping(py)
            .and_then(|m| GatewaySpec::from_value(m).map_err(Invalid::from));
        spec.map_err(|e| match e {
            Invalid::Python(e) => e,
            Invalid::Config(e) => errors::config(py, &e),
        })
    }

    fn mapping(&self, py: Python<'_>) -> Result<Value, Invalid> {
        let mut gateway = Map::new();
        let timeout = number(py, "gateway.escalation_timeout_s", self.escalation_timeout)?;
        gateway.insert("escalation_timeout_s".into(), timeout);
        for (key, value) in [
            ("unmatched", &self.unmatched),
            ("on_scorer_error", &self.on_scorer_error),
        ] {
            if let Some(value) = value {
                gateway.insert(key.into(), json!(value));
            }
        }
        let mut mapping = Map::new();
        mapping.insert("gateway".into(), Value::Object(gateway));
        if let Some(packs) = self.packs.filter(|p| !p.is_none()) {
            mapping.insert("packs".into(), pack_sources(py, packs)?);
        }
        let mut store = Map::new();
        if let Some(url) = self.store.filter(|s| !s.is_none()) {
            if !url.is_instance_of::<PyString>() && !url.hasattr("__fspath__")? {
                return Err(Invalid::Python(pyo3::exceptions::PyTypeError::new_err(
                    format!(
                        "`store` must be None, a database URL or a path to a SQLite file, found `{}`",
                        convert::type_name(url)
                    ),
                )));
            }
            store.insert("url".into(), json!(fspath(py, url)?));
        }
        if let Some(schema) = &self.store_schema {
            store.insert("schema".into(), json!(schema));
        }
        mapping.insert("store".into(), Value::Object(store));
        if let Some(kind) = &self.scorer {
            mapping.insert("scorer".into(), json!({ "kind": kind }));
        }
        if let Some(kind) = &self.approver {
            mapping.insert("approver".into(), json!({ "kind": kind }));
        }
        Ok(Value::Object(mapping))
    }
}

/// `packs=[...]` as the spec's sources: a dict is `{"inline": dict}`, a name or path a
/// plain string (the core tells built-in names from paths).
fn pack_sources(py: Python<'_>, packs: &Bound<'_, PyAny>) -> Result<Value, Invalid> {
    if packs.is_instance_of::<PyString>()
        || packs.is_instance_of::<PyDict>()
        || packs.hasattr("__fspath__")?
    {
        return Err(Invalid::Python(pyo3::exceptions::PyTypeError::new_err(
            "`packs` must be a list of pack names, paths or dicts",
        )));
    }
    let mut sources = Vec::new();
    for (i, item) in packs.try_iter()?.enumerate() {
        let item = item?;
        if item.is_instance_of::<PyDict>() {
            let document = convert::config_value(&item, &format!("packs[{i}].inline"))?;
            sources.push(json!({ "inline": document }));
        } else {
            sources.push(json!(fspath(py, &item)?));
        }
    }
    Ok(Value::Array(sources))
}

/// A float keyword argument as the spec's JSON number (the spec checks its range); NaN
/// and infinities, which JSON cannot carry, are refused at `key`, as in a mapping.
pub(crate) fn number(py: Python<'_>, key: &str, value: f64) -> Result<Value, ConfigError> {
    convert::config_value(PyFloat::new(py, value).as_any(), key)
}

/// `os.fspath(obj)` as a `str`.
fn fspath(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<String> {
    py.import("os")?
        .call_method1("fspath", (obj,))?
        .extract::<String>()
}

/// True for a `collections.abc.Mapping`.
fn is_mapping(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    if obj.is_instance_of::<PyDict>() {
        return Ok(true);
    }
    let mapping = py.import("collections.abc")?.getattr("Mapping")?;
    obj.is_instance(&mapping)
}

/// Builds the gateway a spec describes, in the process environment, with `scorer` and
/// `approver` in place of the spec's when given: opens the store and, on a durable one,
/// recovers the approvals earlier processes left pending.
pub(crate) fn build(
    py: Python<'_>,
    mut spec: GatewaySpec,
    scorer: ScorerChoice,
    approver: ApproverChoice,
) -> PyResult<Gateway> {
    // A scorer or approver passed in replaces the spec's: the spec's is not even built.
    if !matches!(scorer, ScorerChoice::Spec) {
        spec.scorer = ScorerSpec::default();
    }
    if !matches!(approver, ApproverChoice::Spec) {
        spec.approver = ApproverSpec::default();
    }
    // The integrations' tool calls map to actions as `[mcp]` says, like the MCP proxy's.
    let tools = spec.mcp.mapping();
    let built = runtime::block_on(py, async move {
        let mut c = spec.components(&Env::process())?;
        match scorer {
            ScorerChoice::Spec => {}
            ScorerChoice::Groq(groq) => {
                c.scorer = Some(Arc::clone(&groq) as Arc<dyn RiskScorer>);
                c.groq = Some(groq);
            }
            ScorerChoice::Object(object) => c.scorer = Some(object),
        }
        match approver {
            ApproverChoice::Spec => {}
            ApproverChoice::Telnyx(telnyx) => {
                c.approver = Some(Arc::new(telnyx.clone()) as Arc<dyn Approver>);
                c.telnyx = Some(telnyx);
            }
            ApproverChoice::Object(object) => c.approver = Some(object),
        }
        let (groq, telnyx, store) = (c.groq.clone(), c.telnyx.clone(), c.store.kind.as_str());
        let inner = c.build().await.map_err(|e| e.in_file(spec.file()))?;
        Ok::<_, ConfigError>(Gateway {
            inner,
            groq,
            telnyx,
            store,
            tools,
        })
    })?;
    built.map_err(|e| errors::config(py, &e))
}
