//! Tool calls made by an agent framework (an MCP client, an agents SDK), mapped to the
//! [`Action`]s Sentinel decides on — one mapping for every integration, so that a tool is
//! the same action whichever way it is called.
//!
//! The action is the tool's name upper-cased (`pay_invoice` → `PAY_INVOICE`) unless the
//! mapping names another; the payload is the call's arguments; the agent id is the
//! mapping's; the reasoning is the agent's own explanation when the framework carries one.
//! The context records the tool's own name and the integration (`{"tool": "pay_invoice",
//! "integration": "mcp"}`), so packs may tell apart tools mapped to one action.
//!
//! ```
//! use sentinel_core::tool_call::{ToolCall, ToolMapping};
//! use serde_json::json;
//!
//! let mapping = ToolMapping::new("mcp-client").with_action("wire", "PAY_INVOICE");
//! let call = ToolCall::new("pay_invoice", json!({"amount": 120, "vendor": "AWS"}));
//! let action = mapping.action("mcp", &call)?;
//! assert_eq!((action.agent_id.as_str(), action.action.as_str()), ("mcp-client", "PAY_INVOICE"));
//! assert_eq!(mapping.action_name("wire"), "PAY_INVOICE");
//! # Ok::<(), sentinel_core::tool_call::ToolCallError>(())
//! ```

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::action::Action;
use crate::approver::Resolution;
use crate::decision::Decision;
use crate::error::{ActionError, GuardError};
use crate::gateway::{Gateway, Permit};
use crate::state::State;

/// The agent id of tool calls when the configuration names none.
pub const DEFAULT_AGENT_ID: &str = "mcp-client";

/// One call of a tool, as the framework made it. Everything in it is untrusted.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The tool's name, as the framework knows it.
    pub name: String,
    /// The arguments: a JSON object (`null` or absent: none).
    pub arguments: Value,
    /// The agent's explanation, when the framework carries one.
    pub reasoning: Option<String>,
}

impl ToolCall {
    /// A call of `name` with `arguments` and no reasoning.
    pub fn new(name: impl Into<String>, arguments: Value) -> Self {
        Self {
            name: name.into(),
            arguments,
            reasoning: None,
        }
    }

    /// Sets the agent's reasoning.
    #[must_use]
    pub fn with_reasoning(mut self, reasoning: impl Into<String>) -> Self {
        self.reasoning = Some(reasoning.into());
        self
    }
}

/// Why a tool call cannot become an action (the tool is then not called).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolCallError {
    /// The arguments are not a JSON object.
    #[error("the arguments of tool `{tool}` must be an object, found {found}")]
    ArgumentsNotAnObject {
        /// The tool's name.
        tool: String,
        /// The JSON type found.
        found: &'static str,
    },
    /// The action built is not a valid action (an empty tool name...).
    #[error("tool `{tool}`: {source}")]
    Action {
        /// The tool's name.
        tool: String,
        /// What is wrong.
        #[source]
        source: ActionError,
    },
}

/// How tool names become actions, and which agent calls them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolMapping {
    agent_id: String,
    actions: BTreeMap<String, String>,
}

impl Default for ToolMapping {
    fn default() -> Self {
        Self::new(DEFAULT_AGENT_ID)
    }
}

impl ToolMapping {
    /// Every tool by its upper-cased name, called by `agent_id`.
    pub fn new(agent_id: impl Into<String>) -> Self {
        Self {
            agent_id: agent_id.into(),
            actions: BTreeMap::new(),
        }
    }

    /// Maps tool `tool` to action `action` instead of its upper-cased name.
    #[must_use]
    pub fn with_action(mut self, tool: impl Into<String>, action: impl Into<String>) -> Self {
        self.actions.insert(tool.into(), action.into());
        self
    }

    /// The same mapping for calls made by `agent_id` (a framework's own name for the
    /// agent, when it has one).
    #[must_use]
    pub fn with_agent_id(mut self, agent_id: impl Into<String>) -> Self {
        self.agent_id = agent_id.into();
        self
    }

    /// The agent id of the calls.
    pub fn agent_id(&self) -> &str {
        &self.agent_id
    }

    /// The action tool `tool` is: the mapped one, else its name upper-cased.
    pub fn action_name(&self, tool: &str) -> String {
        match self.actions.get(tool) {
            Some(action) => action.clone(),
            None => tool.to_uppercase(),
        }
    }

    /// The action a call of a tool is, made through `integration` (`mcp`,
    /// `openai_agents`...). Checked like any submitted action.
    pub fn action(&self, integration: &str, call: &ToolCall) -> Result<Action, ToolCallError> {
        let payload = match &call.arguments {
            Value::Object(map) => Value::Object(map.clone()),
            Value::Null => Value::Object(Map::new()),
            other => {
                return Err(ToolCallError::ArgumentsNotAnObject {
                    tool: call.name.clone(),
                    found: json_type(other),
                });
            }
        };
        let action = json!({
            "agent_id": self.agent_id,
            "action": self.action_name(&call.name),
            "payload": payload,
            "reasoning": call.reasoning.as_deref().unwrap_or_default(),
            "context": {"tool": call.name, "integration": integration},
        });
        Action::from_json(action).map_err(|source| ToolCallError::Action {
            tool: call.name.clone(),
            source,
        })
    }
}

/// Why a tool call was not made, in words for the model that asked for it (`text`) and in
/// fields for programs. Every integration answers a refused call with this text (the MCP
/// proxy as a `CallToolResult` with `isError`, LangChain as a `ToolMessage` with `status
/// = "error"`...), so a model reads the same refusal whichever framework it runs in.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ToolRefusal {
    /// What the model reads: the status, the risk, the analysis and the rules.
    pub text: String,
    /// The action's state when it was refused (`DECLINED`, `EXPIRED`,
    /// `ERROR_APPROVER`...); `None` when no decision was made (a malformed call, a store
    /// failure).
    pub status: Option<State>,
    /// The decision it was refused under, when there is one.
    pub decision: Option<Decision>,
}

impl ToolRefusal {
    /// The refusal of a call of `tool` (action `action`) the gateway did not permit.
    pub fn from_guard(tool: &str, action: &str, error: &GuardError) -> Self {
        let (decision, why, status) = match error {
            GuardError::Denied(d) => (d.as_ref(), "declined".to_owned(), d.status),
            GuardError::Expired { decision, .. } => (
                decision.as_ref(),
                "was not approved in time".to_owned(),
                State::Expired,
            ),
            GuardError::ApproverFailed {
                decision, message, ..
            } => (
                decision.as_ref(),
                format!("could not ask a human ({message})"),
                State::ErrorApprover,
            ),
            GuardError::AlreadyExecuted { decision, .. } => (
                decision.as_ref(),
                "already ran this action once".to_owned(),
                State::Executed,
            ),
            other => return Self::failure(tool, &other.to_string()),
        };
        let rules = if decision.rules.is_empty() {
            "none".to_owned()
        } else {
            decision.rules.join(", ")
        };
        let text = format!(
            "Sentinel {why}: the call of tool `{tool}` (action {action}, {}) was not made. Status: {status}. Risk: {}. Analysis: {} Rules: {rules}.",
            decision.action_id, decision.risk_score, decision.analysis
        );
        Self {
            text,
            status: Some(status),
            decision: Some(decision.clone()),
        }
    }

    /// The refusal of a call of `tool` that could not be decided on (`message` says why).
    pub fn failure(tool: &str, message: &str) -> Self {
        Self {
            text: format!(
                "Sentinel refused the call of tool `{tool}`: {message}. The tool was not called."
            ),
            status: None,
            decision: None,
        }
    }
}

/// A person's approval of a tool call given through the agent framework's own approval
/// flow (the OpenAI Agents SDK's `state.approve`, ...), recorded as theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FrameworkApproval {
    /// Who approved, as the framework names them (recorded as the approval's `by`).
    pub by: String,
    /// The channel it is recorded under: the integration (`openai_agents`, ...).
    pub channel: String,
}

impl FrameworkApproval {
    /// `by`'s approval through `channel`.
    pub fn new(by: impl Into<String>, channel: impl Into<String>) -> Self {
        Self {
            by: by.into(),
            channel: channel.into(),
        }
    }
}

/// [`Gateway::authorize`] for a framework's tool call: submits `action`, waits for its
/// decision and claims its single execution. With `approved`, a human already approved the
/// call through the framework's approval flow, so an escalated action is approved as
/// theirs instead of waiting for another human; a declined one stays declined, and one
/// someone else decided first keeps their decision.
pub async fn authorize(
    gateway: &Gateway,
    action: Action,
    approved: Option<FrameworkApproval>,
) -> Result<Permit, GuardError> {
    let Some(FrameworkApproval { by, channel }) = approved else {
        return gateway.authorize(action).await;
    };
    let ticket = gateway.submit(action.clone()).await?;
    if !ticket.status.is_terminal() {
        // Fails when someone decided first: the permit below then says what they decided.
        let approval = Resolution::approve(by, channel)
            .with_reason("approved through the agent framework's approval flow");
        let _ = gateway.resolve(ticket.action_id, approval).await;
    }
    gateway.authorize_submitted(ticket.action_id, &action).await
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_upper_cased_unless_mapped() {
        let m = ToolMapping::default().with_action("wire_money", "PAY_INVOICE");
        assert_eq!(m.action_name("pay_invoice"), "PAY_INVOICE");
        assert_eq!(m.action_name("wire_money"), "PAY_INVOICE");
        assert_eq!(m.agent_id(), "mcp-client");
    }

    #[test]
    fn a_call_becomes_an_action() {
        let m = ToolMapping::new("bot");
        let call = ToolCall::new("drop_table", json!({"table": "users"})).with_reasoning("cleanup");
        let a = m
            .action("mcp", &call)
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(a.action, "DROP_TABLE");
        assert_eq!(a.agent_id, "bot");
        assert_eq!(a.reasoning, "cleanup");
        assert_eq!(a.payload["table"], "users");
        assert_eq!(a.context["tool"], "drop_table");
        assert_eq!(a.context["integration"], "mcp");
        let none = m.action("mcp", &ToolCall::new("ping", Value::Null));
        assert!(none.is_ok_and(|a| a.payload.is_empty()));
    }

    #[test]
    fn the_agent_can_be_the_frameworks() {
        let m = ToolMapping::new("cfg").with_action("wire", "PAY_INVOICE");
        let m = m.with_agent_id("planner");
        assert_eq!(m.agent_id(), "planner");
        assert_eq!(m.action_name("wire"), "PAY_INVOICE");
    }

    #[test]
    fn refusals_name_status_analysis_and_rules() {
        let failure = ToolRefusal::failure("t", "the arguments are bad");
        assert_eq!(
            failure.text,
            "Sentinel refused the call of tool `t`: the arguments are bad. The tool was not called."
        );
        assert_eq!((failure.status, failure.decision), (None, None));
    }

    #[test]
    fn bad_calls_are_refused() {
        let m = ToolMapping::default();
        let e = m
            .action("mcp", &ToolCall::new("t", json!([1])))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the arguments of tool `t` must be an object, found an array"
        );
        assert!(m.action("mcp", &ToolCall::new("", json!({}))).is_err());
    }
}
