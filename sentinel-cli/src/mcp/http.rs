//! The upstream server over MCP's Streamable HTTP transport (`--upstream-url`): each
//! message from the client is POSTed to the endpoint; the answer is a JSON message, an
//! event stream of messages (the server's notifications and requests, then the response),
//! or `202 Accepted` for a notification or a response. The session id the server gives at
//! initialization (`Mcp-Session-Id`) and the protocol version agreed on are sent with every
//! later request; the session is closed (`DELETE`) when the client goes away.
//!
//! Messages the server sends on its own, outside any request (the optional `GET` stream),
//! are not listened to.

use std::sync::{Arc, Mutex};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use tokio::sync::mpsc::UnboundedSender;

use super::stdio::Event;

const SESSION: &str = "mcp-session-id";
const VERSION: &str = "mcp-protocol-version";

/// The upstream endpoint; cheap to clone.
#[derive(Clone)]
pub(crate) struct HttpUpstream {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    url: String,
    events: UnboundedSender<Event>,
    /// `Mcp-Session-Id` and `MCP-Protocol-Version`, once known.
    session: Mutex<HeaderMap>,
    /// Requests are sent one after the other, in the client's order.
    order: tokio::sync::Mutex<()>,
}

impl HttpUpstream {
    /// The endpoint at `url`; what it answers goes to `events`.
    pub(crate) fn new(url: &str, events: UnboundedSender<Event>) -> Result<Self, String> {
        let parsed =
            reqwest::Url::parse(url).map_err(|e| format!("--upstream-url `{url}`: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "--upstream-url `{url}`: expected an http or https URL"
            ));
        }
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                url: url.to_owned(),
                events,
                session: Mutex::new(HeaderMap::new()),
                order: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Sends one message (in the background; failures are reported to the client as the
    /// upstream's error for that request).
    pub(crate) fn send(&self, message: Vec<u8>) {
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            if let Err(e) = inner.post(&message).await {
                eprintln!("sentinel mcp-proxy: upstream {}: {e}", inner.url);
                inner.fail(&message, &e);
            }
        });
    }

    /// Ends the session (best effort).
    pub(crate) async fn close(&self) {
        let headers = self.inner.headers();
        if headers.contains_key(SESSION) {
            let _ = self
                .inner
                .client
                .delete(&self.inner.url)
                .headers(headers)
                .send()
                .await;
        }
    }
}

impl Inner {
    fn headers(&self) -> HeaderMap {
        self.session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn post(&self, message: &[u8]) -> Result<(), String> {
        let ordered = self.order.lock().await;
        let response = self
            .client
            .post(&self.url)
            .headers(self.headers())
            .header(ACCEPT, "application/json, text/event-stream")
            .header(CONTENT_TYPE, "application/json")
            .body(message.to_vec())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        if let Some(id) = response.headers().get(SESSION) {
            let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
            session.insert(SESSION, id.clone());
        }
        drop(ordered);
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(format!("HTTP {status}: {}", body.trim()));
        }
        let json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if json {
            let body = response.bytes().await.map_err(|e| e.to_string())?;
            if !body.iter().all(u8::is_ascii_whitespace) {
                self.deliver(body.to_vec());
            }
            return Ok(());
        }
        // An event stream (or an empty 202): every `data:` event is one message.
        let mut response = response;
        let mut pending = Vec::new();
        let mut data = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            pending.extend_from_slice(&chunk);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = pending.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.is_empty() {
                    if !data.is_empty() {
                        self.deliver(std::mem::take(&mut data));
                    }
                } else if let Some(rest) = line.strip_prefix(b"data:") {
                    if !data.is_empty() {
                        data.push(b'\n');
                    }
                    data.extend_from_slice(rest.strip_prefix(b" ").unwrap_or(rest));
                }
            }
        }
        if !data.is_empty() {
            self.deliver(data);
        }
        Ok(())
    }

    /// One message from the server, to the client; the initialize response also fixes the
    /// protocol version of later requests.
    fn deliver(&self, message: Vec<u8>) {
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&message)
            && let Some(version) = value
                .get("result")
                .and_then(|r| r.get("protocolVersion"))
                .and_then(|v| v.as_str())
            && let Ok(version) = HeaderValue::from_str(version)
        {
            let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
            session.insert(VERSION, version);
        }
        let _ = self.events.send(Event::Upstream(message));
    }

    /// Answers a request the upstream could not be asked with a JSON-RPC error.
    fn fail(&self, message: &[u8], error: &str) {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(message) else {
            return;
        };
        let (Some(id), Some(_)) = (value.get("id"), value.get("method")) else {
            return;
        };
        let answer = serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {
            "code": -32603, "message": format!("the upstream server failed: {error}")}});
        let _ = self
            .events
            .send(Event::Upstream(answer.to_string().into_bytes()));
    }
}
