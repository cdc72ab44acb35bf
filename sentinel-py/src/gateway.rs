//! The native `Gateway` class. `sentinel_guard.Gateway` subclasses it in Python to add the
//! `async def` methods and the `guarded` decorator.
//!
//! Both ways of making one go through the core's `GatewaySpec`: `Gateway.from_config`
//! reads a file or mapping, and the constructor writes its keyword arguments as the spec's
//! mapping (see [`config`](crate::config)).

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};
use sentinel_core::{
    ActionId, ActionRecord, GuardError, Permit, Resolution, ResolveError, TelnyxVoiceApprover,
};

use crate::aio::{self, Outcome};
use crate::config;
use crate::decision::Decision;
use crate::errors;
use crate::groq;
use crate::tools::{self, ToolVerdict};
use crate::{convert, coroutine, runtime, telnyx, trace};
use sentinel_core::telemetry;
use sentinel_core::tool_call::ToolMapping;

/// The safety gateway: decides about actions and runs guarded functions only when allowed.
///
/// `Gateway(packs=None, scorer=None, approver=None, escalation_timeout=180.0, store=None,
/// store_schema=None, *, unmatched=None, on_scorer_error=None)`: `packs` is `None` (the
/// three seed packs) or a list of built-in pack names, pack file paths and pack dicts;
/// `scorer` is `None`/`"offline"`, `"groq"`, a `GroqScorer` or an object with `assess`;
/// `approver` is `None`, `"telnyx"`, a `TelnyxApprover` or an object with `request`;
/// `escalation_timeout` is how many seconds an escalated action waits for a human; `store`
/// is `None` (in memory), a database URL or a SQLite file path; `unmatched` (`"escalate"`,
/// `"deny"`, `"score"`) decides actions no pack covers; `on_scorer_error` (`"escalate"`,
/// `"deny"`) what a scorer failure leads to. `Gateway.from_config(...)` reads all of this
/// from a TOML or JSON file or a mapping. Safe to share between threads.
#[pyclass(module = "sentinel_guard._native", name = "Gateway", subclass, frozen)]
pub struct Gateway {
    pub(crate) inner: sentinel_core::Gateway,
    pub(crate) groq: Option<Arc<sentinel_core::GroqScorer>>,
    pub(crate) telnyx: Option<TelnyxVoiceApprover>,
    pub(crate) store: &'static str,
    /// How the integrations' tool calls become actions (`[mcp]` of the configuration).
    pub(crate) tools: ToolMapping,
}

/// A gateway `from_config` built, handed to the constructor of the class it was called on
/// (so that subclasses get instances of themselves). Used once.
#[pyclass(module = "sentinel_guard._native", frozen)]
struct Prepared {
    gateway: Mutex<Option<Gateway>>,
}

#[pymethods]
impl Gateway {
    #[new]
    #[pyo3(signature = (
        packs = None, scorer = None, approver = None, escalation_timeout = 180.0, store = None,
        store_schema = None, *, unmatched = None, on_scorer_error = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        packs: Option<&Bound<'_, PyAny>>,
        scorer: Option<&Bound<'_, PyAny>>,
        approver: Option<&Bound<'_, PyAny>>,
        escalation_timeout: f64,
        store: Option<&Bound<'_, PyAny>>,
        store_schema: Option<String>,
        unmatched: Option<String>,
        on_scorer_error: Option<String>,
    ) -> PyResult<Self> {
        if let Some(prepared) = packs.and_then(|p| p.cast::<Prepared>().ok()) {
            let taken = prepared
                .get()
                .gateway
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            return taken
                .ok_or_else(|| errors::internal(py, "this configuration was already used"));
        }
        // Names go into the spec (the core knows them); objects replace the spec's.
        let (scorer_name, scorer) = name_or_object(scorer)?;
        let (approver_name, approver) = name_or_object(approver)?;
        let arguments = config::Arguments {
            packs,
            scorer: scorer_name,
            approver: approver_name,
            escalation_timeout,
            store,
            store_schema,
            unmatched,
            on_scorer_error,
        };
        let scorer = config::scorer_object(scorer)?;
        let approver = config::approver_object(approver)?;
        let spec = arguments.spec(py)?;
        config::build(py, spec, scorer, approver)
    }

    /// Builds a gateway from a configuration: a path (`str` or `os.PathLike`) to a TOML or
    /// JSON file, or a mapping in the same form (see `fixtures/sentinel.toml`). Relative
    /// paths in a file are relative to the file; secrets come from the environment
    /// variables or files it names. `scorer`/`approver` objects (a `GroqScorer`, a
    /// `TelnyxApprover`, or objects as the constructor takes them) replace the
    /// configuration's. A durable store is opened and its pending approvals recovered.
    /// Raises `ConfigError` naming the file, line and key.
    #[classmethod]
    #[pyo3(signature = (config, /, *, scorer = None, approver = None))]
    fn from_config<'py>(
        cls: &Bound<'py, PyType>,
        config: &Bound<'py, PyAny>,
        scorer: Option<&Bound<'py, PyAny>>,
        approver: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        // Names (`"groq"`) belong in the configuration: only objects replace its parts.
        let refuse_name = |o: Option<&Bound<'py, PyAny>>, what: &str| -> PyResult<()> {
            match o {
                Some(o) if o.is_instance_of::<PyString>() => {
                    Err(pyo3::exceptions::PyTypeError::new_err(format!(
                        "`{what}` must be an object here: name the {what} in the configuration (`{what}.kind`)"
                    )))
                }
                _ => Ok(()),
            }
        };
        refuse_name(scorer, "scorer")?;
        refuse_name(approver, "approver")?;
        let scorer = config::scorer_object(scorer)?;
        let approver = config::approver_object(approver)?;
        let spec = config::read(py, config)?;
        let gateway = config::build(py, spec, scorer, approver)?;
        let prepared = Prepared {
            gateway: Mutex::new(Some(gateway)),
        };
        cls.call1((prepared,))
    }

    /// Decides about an action (a dict in the wire form) without recording or running
    /// anything. Raises `InvalidActionError`/`ActionTypeError` on bad input and
    /// `ScorerError` when the risk scorer failed (the decision then fails closed).
    /// `traceparent`: a W3C trace context the decision's span joins (default: the current
    /// OpenTelemetry context, when the `opentelemetry` package is in use).
    #[pyo3(signature = (action, *, traceparent = None))]
    fn evaluate(
        &self,
        py: Python<'_>,
        action: &Bound<'_, PyAny>,
        traceparent: Option<String>,
    ) -> PyResult<Decision> {
        let action = convert::action(action)?;
        let gateway = self.inner.clone();
        let tp = trace::traceparent(py, traceparent);
        let decision = runtime::block_on(py, async move {
            telemetry::with_traceparent(tp.as_deref(), gateway.evaluate(&action)).await
        })?;
        checked(py, Decision::from(decision))
    }

    /// `evaluate` as an asyncio future (use `await gw.aevaluate(action)`).
    #[pyo3(signature = (action, traceparent = None))]
    fn _aevaluate<'py>(
        &self,
        py: Python<'py>,
        action: &Bound<'py, PyAny>,
        traceparent: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let action = convert::action(action)?;
        let gateway = self.inner.clone();
        let tp = trace::traceparent(py, traceparent);
        aio::spawn(py, async move {
            let deciding = gateway.evaluate(&action);
            let decision =
                Decision::from(telemetry::with_traceparent(tp.as_deref(), deciding).await);
            Box::new(move |py: Python<'_>| {
                Ok(Bound::new(py, checked(py, decision)?)?.into_any().unbind())
            }) as Outcome
        })
    }

    /// Runs `func(*args, **kwargs)` only when the action is allowed: at once when policy
    /// auto-approves, after a human approves (waiting up to `escalation_timeout`, with the
    /// GIL released), never when declined. Returns what `func` returns. Raises `Denied`,
    /// `ApprovalTimeout`, `ApproverError` or `AlreadyExecuted` (then `func` did not run).
    /// The keyword `traceparent` is Sentinel's, not `func`'s: as in `evaluate`.
    #[pyo3(signature = (action, func, /, *args, traceparent = None, **kwargs))]
    fn guard(
        &self,
        py: Python<'_>,
        action: &Bound<'_, PyAny>,
        func: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        traceparent: Option<String>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        if coroutine::is_coroutine_function(py, func)? {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "`func` is an async function: use `await gateway.aguard(...)`",
            ));
        }
        let action = convert::action(action)?;
        let gateway = self.inner.clone();
        let tp = trace::traceparent(py, traceparent);
        let permit = runtime::block_on(py, async move {
            telemetry::with_traceparent(tp.as_deref(), gateway.authorize(action)).await
        })?;
        if let Err(e) = permit {
            return Err(errors::guard(py, e)?);
        }
        Ok(func.call(args, kwargs)?.unbind())
    }

    /// The waiting half of `aguard` as an asyncio future: resolves to the action id once
    /// the action may run, or raises like `guard`.
    #[pyo3(signature = (action, traceparent = None))]
    fn _aauthorize<'py>(
        &self,
        py: Python<'py>,
        action: &Bound<'py, PyAny>,
        traceparent: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let action = convert::action(action)?;
        let gateway = self.inner.clone();
        let tp = trace::traceparent(py, traceparent);
        aio::spawn(py, async move {
            let authorizing = gateway.authorize(action);
            let permit = telemetry::with_traceparent(tp.as_deref(), authorizing).await;
            Box::new(move |py: Python<'_>| permitted(py, permit)) as Outcome
        })
    }

    /// The action a framework's tool call is, as a dict in the wire form: the tool's name
    /// upper-cased unless `[mcp.tools.NAME] action` of the configuration names another,
    /// the arguments as the payload, `agent_id` (default: `[mcp] agent_id`, else
    /// `mcp-client`), `reasoning`, and the context `{"tool": tool, "integration":
    /// integration}` — the MCP proxy's mapping. `arguments` is a mapping, `None`, or JSON
    /// text (parsed strictly). Raises `InvalidActionError`/`ActionTypeError`.
    #[pyo3(signature = (integration, tool, arguments = None, *, reasoning = None, agent_id = None))]
    fn tool_action<'py>(
        &self,
        py: Python<'py>,
        integration: &str,
        tool: &str,
        arguments: Option<&Bound<'py, PyAny>>,
        reasoning: Option<String>,
        agent_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = tools::Call {
            integration,
            tool,
            arguments,
            reasoning,
            agent_id,
        };
        let action = tools::action(py, &self.tools, call)?;
        convert::serialize(py, &action)
    }

    /// Decides whether a framework's tool call may run (the action as `tool_action` maps
    /// it), waiting for a human when it is escalated (with the GIL released), and claims
    /// its one execution. Never raises for a refusal: returns a `ToolVerdict` whose
    /// `allowed` says whether the tool may run and whose `message` tells the model why not.
    /// `approved_by`: a human already approved this call through the framework's own
    /// approval flow (OpenAI Agents' `needs_approval`); if Sentinel escalates it, the
    /// approval is recorded as theirs (channel: the integration) instead of asking again.
    #[pyo3(signature = (
        integration, tool, arguments = None, *, reasoning = None, agent_id = None,
        approved_by = None, traceparent = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn authorize_tool(
        &self,
        py: Python<'_>,
        integration: &str,
        tool: &str,
        arguments: Option<&Bound<'_, PyAny>>,
        reasoning: Option<String>,
        agent_id: Option<String>,
        approved_by: Option<String>,
        traceparent: Option<String>,
    ) -> PyResult<ToolVerdict> {
        let call = tools::Call {
            integration,
            tool,
            arguments,
            reasoning,
            agent_id,
        };
        let (tool, action) = match tools::prepare(py, &self.tools, call) {
            Ok(prepared) => prepared,
            Err(refused) => return Ok(refused),
        };
        let gateway = self.inner.clone();
        let tp = trace::traceparent(py, traceparent);
        let submitted = action.clone();
        let approved = approved_by.map(|by| (by, integration.to_owned()));
        let permit = runtime::block_on(py, async move {
            let authorizing = tools::authorize(gateway, submitted, approved);
            telemetry::with_traceparent(tp.as_deref(), authorizing).await
        })?;
        tools::verdict(py, tool, &action, permit)
    }

    /// `authorize_tool` as an asyncio future (use `await gw.aauthorize_tool(...)`).
    #[pyo3(signature = (integration, tool, arguments, reasoning, agent_id, approved_by, traceparent))]
    #[allow(clippy::too_many_arguments)]
    fn _aauthorize_tool<'py>(
        &self,
        py: Python<'py>,
        integration: &str,
        tool: &str,
        arguments: Option<&Bound<'py, PyAny>>,
        reasoning: Option<String>,
        agent_id: Option<String>,
        approved_by: Option<String>,
        traceparent: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = tools::Call {
            integration,
            tool,
            arguments,
            reasoning,
            agent_id,
        };
        let (tool, action) = match tools::prepare(py, &self.tools, call) {
            Ok(prepared) => prepared,
            Err(refused) => {
                return aio::spawn(py, async move {
                    Box::new(move |py: Python<'_>| Ok(Bound::new(py, refused)?.into_any().unbind()))
                        as Outcome
                });
            }
        };
        let gateway = self.inner.clone();
        let tp = trace::traceparent(py, traceparent);
        let approved = approved_by.map(|by| (by, integration.to_owned()));
        aio::spawn(py, async move {
            let authorizing = tools::authorize(gateway, action.clone(), approved);
            let permit = telemetry::with_traceparent(tp.as_deref(), authorizing).await;
            Box::new(move |py: Python<'_>| {
                let verdict = tools::verdict(py, tool, &action, permit)?;
                Ok(Bound::new(py, verdict)?.into_any().unbind())
            }) as Outcome
        })
    }

    /// Records a human decision for a pending action and returns its record (a dict).
    /// Raises `UnknownActionError` for an unknown id and `ConflictError` when the action was
    /// already decided.
    #[pyo3(signature = (action_id, *, approved, by, channel = "python", reason = ""))]
    fn resolve<'py>(
        &self,
        py: Python<'py>,
        action_id: &str,
        approved: bool,
        by: &str,
        channel: &str,
        reason: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_id(py, action_id)?;
        let resolution = resolution(approved, by, channel, reason);
        let gateway = self.inner.clone();
        let record = runtime::block_on(py, async move { gateway.resolve(id, resolution).await })?;
        record_or_raise(py, record)
    }

    /// The action's record (a dict: `id`, `action`, `state`, `decision`, `approval`,
    /// timestamps). Raises `UnknownActionError` for an unknown id.
    fn status<'py>(&self, py: Python<'py>, action_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_id(py, action_id)?;
        let gateway = self.inner.clone();
        let record = runtime::block_on(py, async move { gateway.status(id).await })?;
        let record = record.map_err(|e| errors::store(py, &e))?;
        convert::serialize(py, &record)
    }

    /// Answers a human's question about a recorded action, through the scorer's `explain`.
    fn explain(&self, py: Python<'_>, action_id: &str, question: &str) -> PyResult<String> {
        let id = parse_id(py, action_id)?;
        let gateway = self.inner.clone();
        let question = question.to_owned();
        let answer = runtime::block_on(py, async move { gateway.explain(id, &question).await })?;
        answer.map_err(|e| errors::store(py, &e))
    }

    /// The action's audit trail, oldest first: a list of dicts (`seq`, `kind`, `from`,
    /// `to`, `actor`, `channel`, `reason`, `at`, `prev_hash`, `hash`...).
    fn audit_trail<'py>(&self, py: Python<'py>, action_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_id(py, action_id)?;
        let gateway = self.inner.clone();
        let trail = runtime::block_on(py, async move { gateway.audit_trail(id).await })?;
        let trail = trail.map_err(|e| errors::store(py, &e))?;
        convert::serialize(py, &trail)
    }

    /// Marks a pending action as being discussed with a human (`QNA_MODE`), or, with
    /// `on=False`, back to waiting. Returns its record; raises like `resolve`.
    #[pyo3(signature = (action_id, on, *, by, channel = "python"))]
    fn set_qna_mode<'py>(
        &self,
        py: Python<'py>,
        action_id: &str,
        on: bool,
        by: &str,
        channel: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_id(py, action_id)?;
        let (gateway, by, channel) = (self.inner.clone(), by.to_owned(), channel.to_owned());
        let record = runtime::block_on(py, async move {
            gateway.set_qna_mode(id, on, &by, &channel).await
        })?;
        record_or_raise(py, record)
    }

    /// Verifies and handles one Telnyx webhook (`POST /api/telnyx/webhook`) for this
    /// gateway's `TelnyxApprover`: `headers` is any mapping with `items()`, `body` the raw
    /// request body (bytes). Returns the HTTP status to answer with: 200 handled or
    /// ignored, 401 bad signature or timestamp, 400 unreadable body, 502 a command to
    /// Telnyx failed. Raises `ConfigError` when the approver is not a Telnyx one.
    fn handle_telnyx_webhook(
        &self,
        py: Python<'_>,
        headers: &Bound<'_, PyAny>,
        body: &Bound<'_, PyAny>,
    ) -> PyResult<u16> {
        telnyx::handle(py, self.telnyx_approver(py)?, headers, body)
    }

    /// `handle_telnyx_webhook` as an asyncio future.
    fn _ahandle_telnyx_webhook<'py>(
        &self,
        py: Python<'py>,
        headers: &Bound<'py, PyAny>,
        body: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let approver = self.telnyx_approver(py)?.clone();
        let (headers, body) = telnyx::request(headers, body)?;
        aio::spawn(py, async move {
            let status = telnyx::status(approver.handle_webhook(&headers, &body).await);
            Box::new(move |py: Python<'_>| Ok(status.into_pyobject(py)?.into_any().unbind()))
                as Outcome
        })
    }

    /// The Groq scorer's counters (`calls`, `retries`, `cache_hits`, `failures`), or `None`
    /// when the scorer is not the Groq one.
    fn scorer_stats<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.groq
            .as_ref()
            .map(|g| groq::stats_dict(py, g.stats()))
            .transpose()
    }

    /// What this gateway has counted, as the core keeps it (the same families
    /// `sentinel-server` serves at `GET /metrics`): a dict keyed by metric name, each
    /// `{"type", "help", "samples"}`; a sample is `{"labels", "value"}`, or for a histogram
    /// `{"labels", "count", "sum", "buckets"}` (`buckets`: upper bound -> cumulative count).
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::serialize(py, &self.inner.metrics().snapshot())
    }

    /// Where actions are kept: `"memory"`, `"sqlite"` or `"postgres"`.
    #[getter]
    fn store(&self) -> &'static str {
        self.store
    }

    /// Names of the packs this gateway enforces.
    #[getter]
    fn packs(&self) -> Vec<String> {
        self.inner
            .packs()
            .iter()
            .map(|p| p.name().to_owned())
            .collect()
    }

    /// The scorer's name (`"offline"` or the object's `name`/class name).
    #[getter]
    fn scorer(&self) -> String {
        self.inner.scorer_name().to_owned()
    }

    /// The approver's name, or `None`.
    #[getter]
    fn approver(&self) -> Option<String> {
        self.inner.approver_name().map(str::to_owned)
    }

    /// Seconds an escalated action waits for a human.
    #[getter]
    fn escalation_timeout(&self) -> f64 {
        self.inner.escalation_timeout().as_secs_f64()
    }

    fn __repr__(&self) -> String {
        format!(
            "Gateway(packs={:?}, scorer={:?}, approver={:?}, escalation_timeout={}, store={:?})",
            self.packs(),
            self.scorer(),
            self.approver(),
            self.escalation_timeout(),
            self.store
        )
    }
}

impl Gateway {
    fn telnyx_approver(&self, py: Python<'_>) -> PyResult<&TelnyxVoiceApprover> {
        self.telnyx.as_ref().ok_or_else(|| {
            errors::new_err(
                py,
                sentinel_core::ErrorCode::Unsupported,
                "this gateway has no Telnyx approver: build it with `approver=\"telnyx\"` or a `TelnyxApprover`",
            )
        })
    }
}

/// Raises `ScorerError` (chained to the scorer's own exception) when the scorer failed.
fn checked(py: Python<'_>, decision: Decision) -> PyResult<Decision> {
    match errors::scorer_failed(py, &decision)? {
        Some(err) => Err(err),
        None => Ok(decision),
    }
}

/// `Ok(action_id)` when the action may run; otherwise the exception, chained to what a
/// Python scorer or approver raised during the call.
fn permitted(py: Python<'_>, permit: Result<Permit, GuardError>) -> PyResult<Py<PyAny>> {
    match permit {
        Ok(permit) => Ok(PyString::new(py, &permit.action_id.to_string())
            .into_any()
            .unbind()),
        Err(e) => Err(errors::guard(py, e)?),
    }
}

/// A human decision.
pub(crate) fn resolution(approved: bool, by: &str, channel: &str, reason: &str) -> Resolution {
    let resolution = if approved {
        Resolution::approve(by, channel)
    } else {
        Resolution::decline(by, channel)
    };
    resolution.with_reason(reason)
}

/// The record as a dict, or the resolve error as an exception.
pub(crate) fn record_or_raise<'py>(
    py: Python<'py>,
    record: Result<ActionRecord, ResolveError>,
) -> PyResult<Bound<'py, PyAny>> {
    let record = record.map_err(|e| errors::resolve(py, &e))?;
    convert::serialize(py, &record)
}

fn parse_id(py: Python<'_>, text: &str) -> PyResult<ActionId> {
    text.parse().map_err(|e| errors::action(py, &e))
}

/// `scorer=`/`approver=`: a name (for the spec) or an object (replacing the spec's).
fn name_or_object<'a, 'py>(
    value: Option<&'a Bound<'py, PyAny>>,
) -> PyResult<(Option<String>, Option<&'a Bound<'py, PyAny>>)> {
    match value {
        Some(v) if v.is_instance_of::<PyString>() => Ok((Some(v.extract()?), None)),
        other => Ok((None, other)),
    }
}
