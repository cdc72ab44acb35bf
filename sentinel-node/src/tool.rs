//! Tool calls made by an agent framework (the Vercel AI SDK, OpenAI Agents JS...), decided
//! as the core's [`ToolMapping`] makes them actions — the mapping the MCP proxy uses, read
//! from the same configuration (`[mcp] agent_id`, `[mcp.tools.NAME] action`).
//!
//! The TypeScript integrations (`sentinel-guard/ai-sdk`, `sentinel-guard/openai-agents`)
//! only pass the framework's tool name, arguments, agent id and reasoning here and hand
//! back what comes out: whether the tool may run, and the text the model reads when it may
//! not. Nothing is decided in JavaScript, and every failure (arguments that are not an
//! object, a store or approver failure, an expired escalation) refuses the call.

use std::borrow::Cow;

use napi::Env;
use napi_derive::napi;
use sentinel_core::telemetry::with_traceparent;
use sentinel_core::tool_call::{self, FrameworkApproval, ToolCall, ToolRefusal};
use sentinel_core::{Action, Coded, ErrorCode, GuardError, Permit, State};
use serde_json::Value;

use crate::codec::encode_decision;
use crate::convert::ActionView;
use crate::errors::{Failure, guard_error};
use crate::gateway::NativeGateway;

/// What `authorizeTool` resolves to: whether the tool may run, and if not, why.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct ToolVerdict {
    /// True when the tool may run now (its single execution is claimed).
    pub allowed: bool,
    /// The tool's name, as the framework called it.
    pub tool: String,
    /// The action the call is (`PAY_INVOICE`).
    pub action: String,
    /// The recorded action's id, when one was recorded.
    pub action_id: Option<String>,
    /// The action's state: `EXECUTED` (auto-approved) or `APPROVED` (by a human) when
    /// allowed; `DECLINED`, `EXPIRED`, `ERROR_APPROVER`... when refused; absent when the
    /// call could not be decided on.
    pub status: Option<String>,
    /// The refusal in words for the model (status, risk, analysis, rules); empty when
    /// allowed.
    pub message: String,
    /// When refused: the code of the error `guard` would have raised (`SENTINEL_DENIED`,
    /// `SENTINEL_EXPIRED`, `SENTINEL_INVALID_ACTION`...).
    pub code: Option<String>,
    /// When refused: that error's message.
    pub error: Option<String>,
    /// The decision, encoded by `codec.rs`, when one was made.
    pub decision: Option<String>,
    /// The cause table id of what a JS scorer or approver threw.
    pub cause_id: Option<u32>,
}

/// Who makes a call and why (every field optional).
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct ToolCallMeta {
    /// The agent making the call (a framework's own name for it); default `[mcp]
    /// agent_id`, else `mcp-client`.
    pub agent_id: Option<String>,
    /// The agent's explanation, when the framework carries one.
    pub reasoning: Option<String>,
    /// A W3C trace context the decision's span joins.
    pub traceparent: Option<String>,
    /// Who already approved this call through the framework's own approval flow (OpenAI
    /// Agents' `needsApproval` interruptions): if Sentinel escalates it, that approval is
    /// recorded as theirs (channel: the integration) instead of asking a human again. A
    /// call policy declines stays declined.
    pub approved_by: Option<String>,
}

impl NativeGateway {
    /// The action a call of `tool` through `integration` is; `arguments` is JSON text,
    /// parsed strictly (a repeated key or an inexact number is refused).
    fn tool_call_action(
        &self,
        integration: &str,
        tool: &str,
        arguments: &str,
        meta: &ToolCallMeta,
    ) -> Result<Action, Failure> {
        let arguments: Value = sentinel_core::json::from_str(arguments).map_err(|e| {
            Failure::new(
                ErrorCode::InvalidAction,
                format!("the arguments of tool `{tool}` are not JSON data: {e}"),
            )
            .with_field("payload")
        })?;
        let mut call = ToolCall::new(tool, arguments);
        if let Some(reasoning) = &meta.reasoning {
            call = call.with_reasoning(reasoning.clone());
        }
        let mapping = match &meta.agent_id {
            Some(agent) => Cow::Owned(self.tools.clone().with_agent_id(agent.clone())),
            None => Cow::Borrowed(&self.tools),
        };
        mapping
            .action(integration, &call)
            .map_err(|e| Failure::new(ErrorCode::InvalidAction, e.to_string()))
    }
}

#[napi]
impl NativeGateway {
    /// The text of the refusal of a call of `tool` that could not be decided on
    /// (`message` says why), for refusals the TypeScript layer meets first.
    #[napi]
    pub fn tool_refusal(tool: String, message: String) -> String {
        ToolRefusal::failure(&tool, &message).text
    }

    /// The action calls of `tool` are: `[mcp.tools.NAME] action`, else the name upper-cased.
    #[napi]
    pub fn tool_action_name(&self, tool: String) -> String {
        self.tools.action_name(&tool)
    }

    /// The action a framework's tool call is, without deciding anything: the tool's name
    /// upper-cased unless `[mcp.tools.NAME] action` names another, the arguments (JSON
    /// text of an object; `null`: none) as the payload, the agent id, the reasoning, and
    /// the context `{tool, integration}`. Throws `SENTINEL_INVALID_ACTION` when the call
    /// cannot become an action.
    #[napi]
    pub fn tool_action(
        &self,
        env: Env,
        integration: String,
        tool: String,
        arguments: String,
        meta: Option<ToolCallMeta>,
    ) -> napi::Result<ActionView> {
        let meta = meta.unwrap_or_default();
        match self.tool_call_action(&integration, &tool, &arguments, &meta) {
            Ok(action) => Ok((&action).into()),
            Err(f) => Err(f.throw(&env)),
        }
    }

    /// Decides about a framework's tool call (the action `toolAction` maps it to) without
    /// recording, waiting or running anything: what `authorizeTool` would say at once.
    /// Never rejects: `allowed` when auto-approved; escalated: not allowed, status
    /// `BLOCKED_AWAITING_AUTH`, no message; declined or a call that cannot become an
    /// action: not allowed, with the refusal.
    #[napi(ts_return_type = "Promise<ToolVerdict>")]
    pub async fn evaluate_tool(
        &self,
        integration: String,
        tool: String,
        arguments: String,
        meta: Option<ToolCallMeta>,
    ) -> ToolVerdict {
        let meta = meta.unwrap_or_default();
        let name = self.tools.action_name(&tool);
        let action = match self.tool_call_action(&integration, &tool, &arguments, &meta) {
            Ok(action) => action,
            Err(f) => return failed(tool, name, &f),
        };
        let deciding = self.deciding().evaluate(&action);
        let decision = with_traceparent(meta.traceparent.as_deref(), deciding).await;
        match decision.status {
            State::Executed | State::BlockedAwaitingAuth => ToolVerdict {
                allowed: decision.status == State::Executed,
                status: Some(decision.status.as_str().to_owned()),
                decision: Some(encode_decision(&decision)),
                tool,
                action: name,
                ..ToolVerdict::default()
            },
            _ => refused(tool, name, &GuardError::Denied(Box::new(decision))),
        }
    }

    /// Submits a framework's tool call as an action, waits for permission (auto-approved,
    /// or by a human within the escalation timeout) and claims its single execution. Never
    /// rejects: a refusal or any failure resolves to a verdict with `allowed: false` and
    /// the text the model should read ([`ToolRefusal`], the MCP proxy's words).
    #[napi(ts_return_type = "Promise<ToolVerdict>")]
    pub async fn authorize_tool(
        &self,
        integration: String,
        tool: String,
        arguments: String,
        meta: Option<ToolCallMeta>,
    ) -> ToolVerdict {
        let meta = meta.unwrap_or_default();
        let name = self.tools.action_name(&tool);
        let action = match self.tool_call_action(&integration, &tool, &arguments, &meta) {
            Ok(action) => action,
            Err(f) => return failed(tool, name, &f),
        };
        let gateway = match self.gateway() {
            Ok(gateway) => gateway,
            Err(f) => return failed(tool, name, &f),
        };
        let approved = (meta.approved_by.clone()).map(|by| FrameworkApproval::new(by, integration));
        let authorizing = tool_call::authorize(gateway, action, approved);
        match with_traceparent(meta.traceparent.as_deref(), authorizing).await {
            Ok(permit) => allowed(tool, name, &permit),
            Err(e) => refused(tool, name, &e),
        }
    }
}

/// The verdict of a call that may run.
fn allowed(tool: String, action: String, permit: &Permit) -> ToolVerdict {
    ToolVerdict {
        allowed: true,
        tool,
        action,
        action_id: Some(permit.action_id.to_string()),
        status: Some(permit.record.state.as_str().to_owned()),
        decision: permit.record.decision.as_deref().map(encode_decision),
        ..ToolVerdict::default()
    }
}

/// The verdict of a call the gateway did not permit.
fn refused(tool: String, action: String, error: &GuardError) -> ToolVerdict {
    let refusal = ToolRefusal::from_guard(&tool, &action, error);
    let failure = guard_error(error);
    ToolVerdict {
        allowed: false,
        action_id: failure.action_id().map(str::to_owned),
        status: refusal.status.map(|s| s.as_str().to_owned()),
        message: refusal.text,
        code: Some(error.code().node_code()),
        error: Some(error.to_string()),
        decision: refusal.decision.as_ref().map(encode_decision),
        cause_id: failure.cause_id(),
        tool,
        action,
    }
}

/// The verdict of a call that could not be decided on: not made.
fn failed(tool: String, action: String, failure: &Failure) -> ToolVerdict {
    ToolVerdict {
        allowed: false,
        action_id: failure.action_id().map(str::to_owned),
        message: ToolRefusal::failure(&tool, failure.message()).text,
        code: Some(failure.code().node_code()),
        error: Some(failure.message().to_owned()),
        tool,
        action,
        ..ToolVerdict::default()
    }
}
