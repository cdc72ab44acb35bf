//! A fake OpenAI-compatible chat completions server on 127.0.0.1 (port 0) that plays
//! scripted replies and records every request. Shared by the `groq_*` test files.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The key the tests use; shaped like a real Groq key so redaction would catch it too.
pub const KEY: &str = "gsk_TestKey0123456789abcdefghijklmnop";

/// One scripted reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<&'static str>,
    pub delay: Duration,
}

impl Reply {
    /// HTTP 200 with a chat completion whose message is `content`.
    pub fn content(content: &str) -> Self {
        let body = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 321, "completion_tokens": 17, "total_tokens": 338}
        });
        Self {
            status: 200,
            body: body.to_string(),
            retry_after: None,
            delay: Duration::ZERO,
        }
    }

    /// HTTP 200 with `{"risk_score": score, "analysis": analysis}` as the message.
    pub fn score(score: Value, analysis: &str) -> Self {
        Self::content(&json!({"risk_score": score, "analysis": analysis}).to_string())
    }

    /// Any status with an OpenAI-style error body.
    pub fn error(status: u16, message: &str) -> Self {
        let body = json!({"error": {"message": message, "type": "error"}}).to_string();
        Self {
            status,
            body,
            retry_after: None,
            delay: Duration::ZERO,
        }
    }

    pub fn retry_after(mut self, seconds: &'static str) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub raw: String,
    pub body: Value,
}

impl Seen {
    /// The text of message `i`.
    pub fn message(&self, i: usize) -> &str {
        self.body["messages"][i]["content"]
            .as_str()
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    last: Option<Reply>,
    seen: Vec<Seen>,
    in_flight: usize,
    max_in_flight: usize,
}

/// The running server. Stops when the test's runtime ends.
#[derive(Clone)]
pub struct FakeLlm {
    /// `http://127.0.0.1:PORT/v1`.
    pub base_url: String,
    script: Arc<Mutex<Script>>,
}

impl FakeLlm {
    /// Starts a server that plays `replies` in order, then repeats the last one.
    pub async fn start(replies: Vec<Reply>) -> Self {
        let script = Arc::new(Mutex::new(Script {
            replies: replies.into(),
            ..Script::default()
        }));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&script));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base_url: format!("http://{addr}/v1"),
            script,
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.script.lock().unwrap().seen.clone()
    }

    /// Requests served at the same time, at most.
    pub fn max_in_flight(&self) -> usize {
        self.script.lock().unwrap().max_in_flight
    }
}

async fn handle(
    State(script): State<Arc<Mutex<Script>>>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let raw = String::from_utf8_lossy(&body).into_owned();
    let reply = {
        let mut s = script.lock().unwrap();
        s.seen.push(Seen {
            method: method.to_string(),
            path: uri.path().to_owned(),
            authorization: header("authorization"),
            content_type: header("content-type"),
            body: serde_json::from_str(&raw).unwrap_or(Value::Null),
            raw,
        });
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
        let next = s.replies.pop_front().or_else(|| s.last.clone());
        s.last = next.clone();
        next.unwrap_or_else(|| Reply::error(500, "no reply scripted"))
    };
    tokio::time::sleep(reply.delay).await;
    script.lock().unwrap().in_flight -= 1;
    let mut out = HeaderMap::new();
    out.insert("content-type", "application/json".parse().unwrap());
    if let Some(after) = reply.retry_after {
        out.insert("retry-after", after.parse().unwrap());
    }
    (StatusCode::from_u16(reply.status).unwrap(), out, reply.body).into_response()
}
