//! The native `Gateway` class. `sentinel_guard.Gateway` subclasses it in Python to add the
//! `async def` methods and the `guarded` decorator.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple};
use sentinel_core::{
    ActionId, ActionRecord, GuardError, Pack, Permit, Resolution, ResolveError, TelnyxVoiceApprover,
};

use crate::aio::{self, Outcome};
use crate::callback::CallContext;
use crate::decision::Decision;
use crate::errors::{self, Kind};
use crate::groq::{self, GroqScorer};
use crate::telnyx::{self, TelnyxApprover};
use crate::{approver, convert, runtime, scorer, store};

/// The safety gateway: decides about actions and runs guarded functions only when allowed.
///
/// `Gateway(packs=None, scorer=None, approver=None, escalation_timeout=180.0, store=None,
/// store_schema=None)`: `packs` is `None` (the three seed packs) or a list of built-in pack
/// names, pack file paths and pack dicts; `scorer` is `None`/`"offline"`, `"groq"`, a
/// `GroqScorer` or an object with `assess`; `approver` is `None`, `"telnyx"`, a
/// `TelnyxApprover` or an object with `request`; `escalation_timeout` is how many seconds
/// an escalated action waits for a human; `store` is `None` (in memory), a database URL or
/// a SQLite file path. Safe to share between threads.
#[pyclass(module = "sentinel_guard._native", name = "Gateway", subclass, frozen)]
pub struct Gateway {
    inner: sentinel_core::Gateway,
    groq: Option<Arc<sentinel_core::GroqScorer>>,
    telnyx: Option<Arc<TelnyxVoiceApprover>>,
    store: &'static str,
}

#[pymethods]
impl Gateway {
    #[new]
    #[pyo3(signature = (packs = None, scorer = None, approver = None, escalation_timeout = 180.0, store = None, store_schema = None))]
    fn new(
        py: Python<'_>,
        packs: Option<&Bound<'_, PyAny>>,
        scorer: Option<&Bound<'_, PyAny>>,
        approver: Option<&Bound<'_, PyAny>>,
        escalation_timeout: f64,
        store: Option<&Bound<'_, PyAny>>,
        store_schema: Option<String>,
    ) -> PyResult<Self> {
        let packs = match packs.filter(|p| !p.is_none()) {
            Some(packs) => load_packs(py, packs)?,
            None => Pack::seed_packs().map_err(|e| errors::pack(py, &e))?,
        };
        let mut builder = sentinel_core::Gateway::builder().packs(packs.clone());
        let mut groq = None;
        match scorer.filter(|s| !s.is_none()) {
            None => {}
            Some(s) if s.is_instance_of::<PyString>() => match s.extract::<String>()?.as_str() {
                "offline" => {}
                "groq" => groq = Some(GroqScorer::from_env(py)?),
                name => {
                    return Err(errors::new_err(
                        py,
                        Kind::Config,
                        format!(
                            "unknown scorer `{name}`; use \"offline\", \"groq\" or a scorer object"
                        ),
                    ));
                }
            },
            Some(s) => match s.cast::<GroqScorer>() {
                Ok(configured) => groq = Some(Arc::clone(&configured.get().inner)),
                Err(_) => builder = builder.scorer_arc(scorer::from_object(s)?),
            },
        }
        if let Some(groq) = &groq {
            builder = builder.scorer_arc(Arc::clone(groq) as Arc<dyn sentinel_core::RiskScorer>);
        }
        let mut telnyx = None;
        match approver.filter(|a| !a.is_none()) {
            None => {}
            Some(a) if a.is_instance_of::<PyString>() => match a.extract::<String>()?.as_str() {
                "telnyx" => {
                    telnyx = Some(telnyx::for_gateway(&TelnyxApprover::from_env(py)?, &packs))
                }
                name => {
                    return Err(errors::new_err(
                        py,
                        Kind::Config,
                        format!("unknown approver `{name}`; use \"telnyx\" or an approver object"),
                    ));
                }
            },
            Some(a) => match a.cast::<TelnyxApprover>() {
                Ok(configured) => {
                    telnyx = Some(telnyx::for_gateway(&configured.get().inner, &packs))
                }
                Err(_) => builder = builder.approver_arc(approver::from_object(a)?),
            },
        }
        if let Some(telnyx) = &telnyx {
            builder = builder.approver_arc(Arc::clone(telnyx) as Arc<dyn sentinel_core::Approver>);
        }
        let timeout = Duration::try_from_secs_f64(escalation_timeout).map_err(|_| {
            errors::new_err(py, Kind::Config, format!("invalid setting `escalation_timeout`: `{escalation_timeout}` is not a number of seconds"))
        })?;
        let mut kind = "memory";
        let mut durable = false;
        match store.filter(|s| !s.is_none()) {
            Some(s) => {
                let opened = store::open(py, s, store_schema)?;
                builder = builder.store_arc(opened.store);
                (kind, durable) = (opened.kind, true);
            }
            None if store_schema.is_some() => {
                return Err(errors::new_err(
                    py,
                    Kind::Config,
                    "invalid setting `store_schema`: schemas need a PostgreSQL `store`",
                ));
            }
            None => {}
        }
        let inner = builder
            .escalation_timeout(timeout)
            .build()
            .map_err(|e| errors::build(py, &e))?;
        if durable {
            // Pending approvals of earlier processes: expiries rescheduled, waits woken.
            let gateway = inner.clone();
            runtime::block_on(py, async move { gateway.recover().await })?
                .map_err(|e| errors::store(py, &e))?;
        }
        Ok(Self {
            inner,
            groq,
            telnyx,
            store: kind,
        })
    }

    /// Decides about an action (a dict in the wire form) without recording or running
    /// anything. Raises `InvalidActionError`/`ActionTypeError` on bad input and
    /// `ScorerError` when the risk scorer failed (the decision then fails closed).
    fn evaluate(&self, py: Python<'_>, action: &Bound<'_, PyAny>) -> PyResult<Decision> {
        let action = convert::action(action)?;
        let gateway = self.inner.clone();
        let context = CallContext::blocking();
        let decision = runtime::block_on(
            py,
            Arc::clone(&context).scope(async move { gateway.evaluate(&action).await }),
        )?;
        checked(py, Decision::from(decision), &context)
    }

    /// `evaluate` as an asyncio future (use `await gw.aevaluate(action)`).
    fn _aevaluate<'py>(
        &self,
        py: Python<'py>,
        action: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let action = convert::action(action)?;
        let gateway = self.inner.clone();
        aio::spawn(py, move |context| async move {
            let decision = Decision::from(gateway.evaluate(&action).await);
            Box::new(move |py: Python<'_>| {
                Ok(Bound::new(py, checked(py, decision, &context)?)?
                    .into_any()
                    .unbind())
            }) as Outcome
        })
    }

    /// Runs `func(*args, **kwargs)` only when the action is allowed: at once when policy
    /// auto-approves, after a human approves (waiting up to `escalation_timeout`, with the
    /// GIL released), never when declined. Returns what `func` returns. Raises `Denied`,
    /// `ApprovalTimeout`, `ApproverError` or `AlreadyExecuted` (then `func` did not run).
    #[pyo3(signature = (action, func, /, *args, **kwargs))]
    fn guard(
        &self,
        py: Python<'_>,
        action: &Bound<'_, PyAny>,
        func: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        if is_coroutine_function(py, func)? {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "`func` is an async function: use `await gateway.aguard(...)`",
            ));
        }
        let action = convert::action(action)?;
        let gateway = self.inner.clone();
        let context = CallContext::blocking();
        let permit = runtime::block_on(
            py,
            Arc::clone(&context).scope(async move { gateway.authorize(action).await }),
        )?;
        permitted(py, permit, &context)?;
        Ok(func.call(args, kwargs)?.unbind())
    }

    /// The waiting half of `aguard` as an asyncio future: resolves to the action id once
    /// the action may run, or raises like `guard`.
    fn _aauthorize<'py>(
        &self,
        py: Python<'py>,
        action: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let action = convert::action(action)?;
        let gateway = self.inner.clone();
        aio::spawn(py, move |context| async move {
            let permit = gateway.authorize(action).await;
            Box::new(move |py: Python<'_>| permitted(py, permit, &context)) as Outcome
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
        let context = CallContext::blocking();
        let answer = runtime::block_on(
            py,
            Arc::clone(&context).scope(async move { gateway.explain(id, &question).await }),
        )?;
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
        aio::spawn(py, move |_context| async move {
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
        self.telnyx.as_deref().ok_or_else(|| {
            errors::new_err(py, Kind::Config, "this gateway has no Telnyx approver: build it with `approver=\"telnyx\"` or a `TelnyxApprover`")
        })
    }
}

/// Raises `ScorerError` (chained to the scorer's own exception) when the scorer failed.
fn checked(py: Python<'_>, decision: Decision, context: &CallContext) -> PyResult<Decision> {
    let Some(error) = decision.scorer_error().map(str::to_owned) else {
        return Ok(decision);
    };
    let message = format!(
        "risk scorer failed: {error}; the action fails closed ({})",
        decision.inner().status.as_str()
    );
    let err = errors::scorer_failed(py, message, decision)?;
    Err(errors::caused_by(py, err, context.take_scorer_failure()))
}

/// `Ok(action_id)` when the action may run; otherwise the exception, chained to what a
/// Python scorer or approver raised during the call.
fn permitted(
    py: Python<'_>,
    permit: Result<Permit, GuardError>,
    context: &CallContext,
) -> PyResult<Py<PyAny>> {
    match permit {
        Ok(permit) => Ok(PyString::new(py, &permit.action_id.to_string())
            .into_any()
            .unbind()),
        Err(e) => {
            let cause = match &e {
                GuardError::ApproverFailed { .. } => context.take_approver_failure(),
                _ => context.take_scorer_failure(),
            };
            Err(errors::caused_by(py, errors::guard(py, e)?, cause))
        }
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

/// Loads packs from a list of built-in names, file paths (`str` or `os.PathLike`) and dicts.
fn load_packs(py: Python<'_>, packs: &Bound<'_, PyAny>) -> PyResult<Vec<Pack>> {
    if packs.is_instance_of::<PyString>()
        || packs.is_instance_of::<PyDict>()
        || packs.hasattr("__fspath__")?
    {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "`packs` must be a list of pack names, paths or dicts",
        ));
    }
    let mut loaded = Vec::new();
    for item in packs.try_iter()? {
        let item = item?;
        let pack = if item.is_instance_of::<PyDict>() {
            let document = convert::value(&item, "pack")?;
            Pack::from_json_str(&document.to_string())
        } else {
            let text = py
                .import("os")?
                .call_method1("fspath", (&item,))?
                .extract::<String>()?;
            if Pack::builtin_source(&text).is_some() {
                Pack::builtin(&text)
            } else {
                Pack::from_file(&text)
            }
        };
        loaded.push(pack.map_err(|e| errors::pack(py, &e))?);
    }
    Ok(loaded)
}

fn is_coroutine_function(py: Python<'_>, func: &Bound<'_, PyAny>) -> PyResult<bool> {
    static CHECK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let check = CHECK.get_or_try_init(py, || {
        py.import("inspect")
            .and_then(|m| m.getattr("iscoroutinefunction"))
            .map(Bound::unbind)
    })?;
    check.bind(py).call1((func,))?.is_truthy()
}
