//! One `tools/call`, guarded: the call becomes an action, the gateway decides, and the call
//! is either forwarded to the upstream server as the client sent it or answered here with a
//! `CallToolResult` whose `isError` is true (the upstream never hears of it). While a human
//! decides, MCP progress notifications tell the client the call is waiting.
//!
//! Fails closed: a call that cannot become an action, a gateway or store failure, an
//! approver that could not ask anybody, a decision nobody made in time — the tool is not
//! called.

use std::time::Duration;

use sentinel_core::tool_call::{ToolCall, ToolMapping, ToolRefusal};
use sentinel_core::{Action, ActionId, Decision, Gateway, GuardError};
use serde_json::{Map, Value, json};

use super::Upstream;
use super::stdio::Outbox;

/// What the proxy needs to guard calls; shared by every call in flight.
pub(crate) struct Guard {
    pub(crate) gateway: Gateway,
    pub(crate) mapping: ToolMapping,
    pub(crate) progress_interval: Duration,
    pub(crate) client: Outbox,
    pub(crate) upstream: Upstream,
}

/// What to do with a call.
enum Outcome {
    /// Send the client's request on to the upstream server, unchanged.
    Forward,
    /// Answer the client with this result; the upstream is not called.
    Refuse(Value),
}

impl Guard {
    /// Guards one `tools/call` request (`raw`: the client's message as sent, `request`: it
    /// parsed) and forwards it or answers it.
    pub(crate) async fn handle(&self, raw: Vec<u8>, request: &Map<String, Value>) {
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let params = request.get("params").and_then(Value::as_object);
        let Some(name) = params.and_then(|p| p.get("name")).and_then(Value::as_str) else {
            self.client.send_json(&json!({"jsonrpc": "2.0", "id": id, "error": {
                "code": -32602, "message": "tools/call needs params.name, the tool's name (a string)"}}));
            return;
        };
        match self.decide(name, params).await {
            Outcome::Forward => self.upstream.send(raw),
            Outcome::Refuse(result) => {
                self.client
                    .send_json(&json!({"jsonrpc": "2.0", "id": id, "result": result}));
            }
        }
    }

    async fn decide(&self, name: &str, params: Option<&Map<String, Value>>) -> Outcome {
        let meta = params
            .and_then(|p| p.get("_meta"))
            .and_then(Value::as_object);
        let mut call = ToolCall::new(
            name,
            params
                .and_then(|p| p.get("arguments"))
                .cloned()
                .unwrap_or(Value::Null),
        );
        match meta.and_then(|m| m.get("reasoning")) {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) => call = call.with_reasoning(text.clone()),
            Some(_) => {
                return Outcome::Refuse(failure(
                    name,
                    "the call's _meta.reasoning must be a string",
                ));
            }
        }
        let action = match self.mapping.action("mcp", &call) {
            Ok(action) => action,
            Err(e) => return Outcome::Refuse(failure(name, &e.to_string())),
        };
        let token = meta
            .and_then(|m| m.get("progressToken"))
            .filter(|t| t.is_string() || t.is_number());
        match self.authorize(name, &action, token).await {
            Ok(()) => Outcome::Forward,
            Err(refusal) => Outcome::Refuse(refusal),
        }
    }

    /// Submits the action, waits for a human when one must decide (reporting progress to
    /// `token`), and claims its single execution.
    async fn authorize(
        &self,
        tool: &str,
        action: &Action,
        token: Option<&Value>,
    ) -> Result<(), Value> {
        let ticket = self
            .gateway
            .submit(action.clone())
            .await
            .map_err(|e| failure(tool, &format!("sentinel could not decide: {e}")))?;
        let id = ticket.action_id;
        if !ticket.status.is_terminal() {
            let mut step = 0_u64;
            loop {
                if let Some(token) = token {
                    step += 1;
                    self.progress(token, step, &action.action, id, &ticket.decision);
                }
                let record = self
                    .gateway
                    .wait(id, Some(self.progress_interval))
                    .await
                    .map_err(|e| failure(tool, &format!("sentinel could not decide: {e}")))?;
                if record.state.is_terminal() {
                    break;
                }
            }
        }
        match self.gateway.authorize_submitted(id, action).await {
            Ok(_) => Ok(()),
            Err(e) => Err(refusal(tool, &action.action, &e)),
        }
    }

    /// Tells the client that the call waits for a human.
    fn progress(&self, token: &Value, step: u64, name: &str, id: ActionId, decision: &Decision) {
        let message = format!(
            "waiting for a human to approve {} (action {id}, risk {}): {}",
            name, decision.risk_score, decision.analysis
        );
        self.client.send_json(&json!({
            "jsonrpc": "2.0",
            "method": "notifications/progress",
            "params": {"progressToken": token, "progress": step, "message": message},
        }));
    }
}

/// The result of a call Sentinel refused, from the gateway's answer: the core's
/// [`ToolRefusal`] (the words every integration refuses in) as a `CallToolResult`.
fn refusal(tool: &str, name: &str, error: &GuardError) -> Value {
    let refusal = ToolRefusal::from_guard(tool, name, error);
    let (Some(decision), Some(status)) = (&refusal.decision, refusal.status) else {
        return result(refusal.text, None);
    };
    let meta = json!({"sentinel": {
        "action_id": decision.action_id,
        "action": name,
        "status": status,
        "risk_score": decision.risk_score,
        "analysis": decision.analysis,
        "rules": decision.rules,
    }});
    result(refusal.text, Some(meta))
}

/// The result of a call that could not be decided on: not made.
fn failure(tool: &str, message: &str) -> Value {
    result(ToolRefusal::failure(tool, message).text, None)
}

/// A `CallToolResult` with `isError` and `text`.
fn result(text: String, meta: Option<Value>) -> Value {
    let mut result = json!({"content": [{"type": "text", "text": text}], "isError": true});
    if let Some(meta) = meta {
        result["_meta"] = meta;
    }
    result
}
