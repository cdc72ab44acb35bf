//! The proxy's event loop: every message passes through unchanged (initialize, tools/list,
//! resources, prompts, notifications, the server's own requests and the client's answers)
//! except `tools/call` requests, which are guarded (see [`super::call`]).
//!
//! Messages from the client are read strictly (a repeated key or an integer beyond 64 bits
//! is refused, as the gateway refuses them), and one that is not valid JSON is answered
//! with a parse error rather than forwarded: the upstream's parser must never see a tool
//! call the proxy did not.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::task::AbortHandle;

use super::Upstream;
use super::call::Guard;
use super::stdio::{Event, Outbox};

/// Routes messages until the client or the upstream server goes away.
pub(crate) struct Relay {
    guard: Arc<Guard>,
    client: Outbox,
    upstream: Upstream,
    /// Guarded calls in flight, by request id (its JSON text), for `notifications/cancelled`.
    in_flight: HashMap<String, AbortHandle>,
}

/// Why the loop ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The client closed its side: the upstream server's input is closed next.
    Client,
    /// The upstream server exited.
    Upstream,
}

impl Relay {
    pub(crate) fn new(guard: Guard) -> Self {
        Self {
            client: guard.client.clone(),
            upstream: guard.upstream.clone(),
            guard: Arc::new(guard),
            in_flight: HashMap::new(),
        }
    }

    /// Handles events until one side closes. Calls still waiting for a decision are
    /// abandoned then (never forwarded).
    pub(crate) async fn run(
        mut self,
        events: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
    ) -> End {
        let end = loop {
            match events.recv().await {
                Some(Event::Client(line)) => self.on_client(line),
                Some(Event::Upstream(line)) => self.client.send(line),
                Some(Event::ClientClosed) | None => break End::Client,
                Some(Event::UpstreamClosed) => break End::Upstream,
            }
        };
        for (_, task) in self.in_flight.drain() {
            task.abort();
        }
        end
    }

    fn on_client(&mut self, line: Vec<u8>) {
        let parsed = std::str::from_utf8(&line)
            .map_err(|e| e.to_string())
            .and_then(|text| sentinel_core::json::from_str(text).map_err(|e| e.to_string()));
        let value = match parsed {
            Ok(value) => value,
            Err(e) => {
                self.client
                    .send_json(&json!({"jsonrpc": "2.0", "id": null, "error": {
                    "code": -32700, "message": format!("parse error: {e}")}}));
                return;
            }
        };
        match value {
            // A batch (MCP 2025-03-26): its members are handled one by one.
            Value::Array(members) => {
                for member in members {
                    let raw = member.to_string().into_bytes();
                    self.message(raw, member);
                }
            }
            other => self.message(line, other),
        }
    }

    fn message(&mut self, raw: Vec<u8>, value: Value) {
        let Value::Object(message) = value else {
            // Not a JSON-RPC message (nor, in a batch, a nested batch): refused, never
            // handed to a parser that might make more of it.
            self.client
                .send_json(&json!({"jsonrpc": "2.0", "id": null, "error": {
                "code": -32600, "message": "invalid request: a message must be a JSON object"}}));
            return;
        };
        match message.get("method").and_then(Value::as_str) {
            Some("tools/call") => self.tool_call(raw, message),
            Some("notifications/cancelled") => {
                let id = message
                    .get("params")
                    .and_then(|p| p.get("requestId"))
                    .map(Value::to_string);
                if let Some(task) = id.and_then(|id| self.in_flight.remove(&id)) {
                    task.abort();
                }
                self.upstream.send(raw);
            }
            _ => self.upstream.send(raw),
        }
    }

    fn tool_call(&mut self, raw: Vec<u8>, message: Map<String, Value>) {
        let Some(id) = message.get("id").filter(|id| !id.is_null()) else {
            // A tool call sent as a notification has no answer to carry a refusal: it is
            // dropped, never forwarded unguarded.
            eprintln!("sentinel mcp-proxy: dropped a tools/call without an id");
            return;
        };
        let key = id.to_string();
        let guard = Arc::clone(&self.guard);
        let task = tokio::spawn(async move { guard.handle(raw, &message).await });
        self.in_flight.retain(|_, t| !t.is_finished());
        self.in_flight.insert(key, task.abort_handle());
    }
}
