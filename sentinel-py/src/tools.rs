//! Tool calls made by an agent framework (OpenAI Agents, LangChain, CrewAI), guarded.
//!
//! The `sentinel_guard.integrations.*` modules hand the framework's tool name, arguments,
//! agent and reasoning to `Gateway.authorize_tool`; everything else is decided here and in
//! the core: the action the call is (the core's [`ToolMapping`], configured by `[mcp]` as
//! for the MCP proxy), whether it may run (waiting for a human when escalated), and the
//! text a refusal is reported with ([`ToolRefusal`], the MCP proxy's words). Any failure —
//! arguments that are not JSON, a store or approver failure, an expired approval — is a
//! refusal: the tool does not run.

use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::types::PyString;
use sentinel_core::tool_call::{self, FrameworkApproval, ToolCall, ToolMapping, ToolRefusal};
use sentinel_core::{Action, GuardError, Permit};
use serde_json::Value;

use crate::decision::Decision;
use crate::{convert, errors};

/// Whether a framework's tool call may run, and if not, why (read-only).
///
/// `allowed` is true when the tool may run now (auto-approved, or approved by a human);
/// otherwise `message` is the refusal to show the model (it names the status, the risk,
/// the analysis and the rules), `status` the action's state (`"DECLINED"`, `"EXPIRED"`,
/// `"ERROR_APPROVER"`... or `None` when the call could not be decided on), and `error`
/// the exception `guard` would have raised.
#[pyclass(module = "sentinel_guard", frozen)]
pub struct ToolVerdict {
    allowed: bool,
    tool: String,
    action: String,
    action_id: Option<String>,
    status: Option<&'static str>,
    decision: Option<Decision>,
    message: String,
    error: Option<Py<PyAny>>,
}

#[pymethods]
impl ToolVerdict {
    /// True when the tool may run.
    #[getter]
    fn allowed(&self) -> bool {
        self.allowed
    }

    /// The tool's name, as the framework called it.
    #[getter]
    fn tool(&self) -> &str {
        &self.tool
    }

    /// The action the call is (`PAY_INVOICE`).
    #[getter]
    fn action(&self) -> &str {
        &self.action
    }

    /// The recorded action's id, when one was recorded.
    #[getter]
    fn action_id(&self) -> Option<&str> {
        self.action_id.as_deref()
    }

    /// The action's state: `"EXECUTED"` or `"APPROVED"` when allowed; `"DECLINED"`,
    /// `"EXPIRED"`, `"ERROR_APPROVER"`... when refused; `None` when nothing was decided.
    #[getter]
    fn status(&self) -> Option<&'static str> {
        self.status
    }

    /// The decision, when one was made.
    #[getter]
    fn decision(&self) -> Option<Decision> {
        self.decision.clone()
    }

    /// The refusal, in words for the model (empty when allowed).
    #[getter]
    fn message(&self) -> &str {
        &self.message
    }

    /// The exception behind a refusal (`Denied`, `ApprovalTimeout`, `InvalidActionError`...).
    #[getter]
    fn error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.error.as_ref().map(|e| e.clone_ref(py))
    }

    fn __repr__(&self) -> String {
        format!(
            "ToolVerdict(allowed={}, tool={:?}, action={:?}, status={:?}, action_id={:?})",
            if self.allowed { "True" } else { "False" },
            self.tool,
            self.action,
            self.status.unwrap_or("None"),
            self.action_id.as_deref().unwrap_or("None"),
        )
    }
}

/// A framework's tool call, as the binding receives it.
pub(crate) struct Call<'a, 'py> {
    pub(crate) integration: &'a str,
    pub(crate) tool: &'a str,
    /// A mapping, `None`, or the arguments as JSON text (a `str`).
    pub(crate) arguments: Option<&'a Bound<'py, PyAny>>,
    pub(crate) reasoning: Option<String>,
    /// The framework's name for the agent; `None`: the configuration's `[mcp] agent_id`.
    pub(crate) agent_id: Option<String>,
}

/// The action a call is, by `mapping`; raises `InvalidActionError`/`ActionTypeError`.
pub(crate) fn action(
    py: Python<'_>,
    mapping: &ToolMapping,
    call: Call<'_, '_>,
) -> PyResult<Action> {
    let arguments = arguments(py, call.tool, call.arguments)?;
    let mapping = match call.agent_id {
        Some(agent) => Cow::Owned(mapping.clone().with_agent_id(agent)),
        None => Cow::Borrowed(mapping),
    };
    let mut tool_call = ToolCall::new(call.tool, arguments);
    if let Some(reasoning) = call.reasoning {
        tool_call = tool_call.with_reasoning(reasoning);
    }
    mapping
        .action(call.integration, &tool_call)
        .map_err(|e| errors::tool_call(py, &e))
}

/// What the gateway is asked about a call: its action, or the refusal of a call that
/// cannot become one.
pub(crate) fn prepare(
    py: Python<'_>,
    mapping: &ToolMapping,
    call: Call<'_, '_>,
) -> Result<(String, Action), ToolVerdict> {
    let tool = call.tool.to_owned();
    let name = mapping.action_name(call.tool);
    match action(py, mapping, call) {
        Ok(action) => Ok((tool, action)),
        Err(e) => {
            let message = e
                .value(py)
                .str()
                .map_or_else(|_| "the call is malformed".to_owned(), |s| s.to_string());
            let refusal = ToolRefusal::failure(&tool, &message);
            Err(ToolVerdict {
                allowed: false,
                tool,
                action: name,
                action_id: None,
                status: None,
                decision: None,
                message: refusal.text,
                error: Some(e.into_value(py).into_any()),
            })
        }
    }
}

/// The verdict on a call from the gateway's answer.
pub(crate) fn verdict(
    py: Python<'_>,
    tool: String,
    action: &Action,
    permit: Result<Permit, GuardError>,
) -> PyResult<ToolVerdict> {
    let name = action.action.clone();
    match permit {
        Ok(permit) => Ok(ToolVerdict {
            allowed: true,
            tool,
            action: name,
            action_id: Some(permit.action_id.to_string()),
            status: Some(permit.record.state.as_str()),
            decision: permit
                .record
                .decision
                .map(|d| Decision::from(std::sync::Arc::unwrap_or_clone(d))),
            message: String::new(),
            error: None,
        }),
        Err(e) => {
            let refusal = ToolRefusal::from_guard(&tool, &name, &e);
            let action_id = e.action_id().map(|id| id.to_string());
            let error = errors::guard(py, e)?;
            Ok(ToolVerdict {
                allowed: false,
                tool,
                action: name,
                action_id,
                status: refusal.status.map(|s| s.as_str()),
                decision: refusal.decision.map(Decision::from),
                message: refusal.text,
                error: Some(error.into_value(py).into_any()),
            })
        }
    }
}

/// [`tool_call::authorize`]: with `approved` (who, through which integration), an
/// escalated call is approved as theirs.
pub(crate) async fn authorize(
    gateway: sentinel_core::Gateway,
    action: Action,
    approved: Option<(String, String)>,
) -> Result<Permit, GuardError> {
    let approved = approved.map(|(by, channel)| FrameworkApproval::new(by, channel));
    tool_call::authorize(&gateway, action, approved).await
}

/// The arguments as JSON: a mapping converted, JSON text parsed strictly (a repeated key
/// or an inexact integer is refused, so that the tool cannot see other arguments than the
/// ones decided on), `None` or an empty text as none.
fn arguments(py: Python<'_>, tool: &str, arguments: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
    let Some(arguments) = arguments.filter(|a| !a.is_none()) else {
        return Ok(Value::Null);
    };
    if arguments.is_instance_of::<PyString>() {
        let text = arguments.extract::<String>()?;
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        return sentinel_core::json::from_str(&text).map_err(|e| {
            errors::invalid_action(
                py,
                format!("the arguments of tool `{tool}` are not usable: {e}"),
            )
        });
    }
    convert::json_value(arguments, "arguments")
        .map_err(|m| errors::not_json(py, format!("tool `{tool}`: {m}")))
}
