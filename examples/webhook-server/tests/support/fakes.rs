//! Local fakes of what the server depends on, on 127.0.0.1 (port 0): an OpenAI-compatible
//! chat API (the Groq scorer's) and the Telnyx Call Control API, each switchable between
//! working, failing, answering garbage and hanging.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use sentinel_core::spec::{
    GroqSpec, ScorerKind, ScorerSpec, Seconds, SecretValue, TelnyxSecrets, TelnyxSpec,
};
use serde_json::json;

/// How a fake answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// A well-formed answer (for the scorer: this risk score).
    Works(u8),
    /// HTTP 500 with an error body.
    Fails,
    /// HTTP 200 with a body that is not what the client expects.
    Garbage,
    /// Answers (as `Works`) only after this long.
    Slow(Duration, u8),
    /// Never answers.
    Hangs,
}

/// A fake whose mode can change while it runs.
#[derive(Clone)]
pub struct Fake {
    mode: Arc<Mutex<Mode>>,
    /// Requests received.
    pub hits: Arc<AtomicUsize>,
    /// The base URL, e.g. `http://127.0.0.1:4321/internal-llm/v1`.
    pub base: String,
}

impl Fake {
    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    async fn start(mode: Mode, prefix: &str, answer: fn(&Uri, u8) -> serde_json::Value) -> Self {
        let mode = Arc::new(Mutex::new(mode));
        let hits = Arc::new(AtomicUsize::new(0));
        let (m, h) = (Arc::clone(&mode), Arc::clone(&hits));
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let (m, h) = (Arc::clone(&m), Arc::clone(&h));
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                let now = m.lock().unwrap().clone();
                let score = match now {
                    Mode::Works(s) => s,
                    Mode::Fails => {
                        let body = json!({"error": {"message": "upstream exploded", "type": "server_error"}});
                        return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response();
                    }
                    Mode::Garbage => return (StatusCode::OK, "<html>not json").into_response(),
                    Mode::Slow(d, s) => {
                        tokio::time::sleep(d).await;
                        s
                    }
                    Mode::Hangs => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        0
                    }
                };
                axum::Json(answer(&uri, score)).into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            mode,
            hits,
            base: format!("http://{addr}{prefix}"),
        }
    }

    /// An OpenAI-compatible chat API under `/internal-llm/v1`.
    pub async fn llm(mode: Mode) -> Self {
        Self::start(mode, "/internal-llm/v1", |_, score| {
            let content = json!({"risk_score": score, "analysis": "looks routine"}).to_string();
            json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "m",
                   "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": content}}]})
        })
        .await
    }

    /// A Telnyx Call Control API under `/v2`: a dial answers with a call's ids.
    pub async fn telnyx(mode: Mode) -> Self {
        Self::start(mode, "/v2", |uri, _| {
            if uri.path() == "/v2/calls" {
                json!({"data": {"call_control_id": "v3:call-1", "call_leg_id": "leg-1", "call_session_id": "session-1"}})
            } else {
                json!({"data": {"result": "ok"}})
            }
        })
        .await
    }

    /// `[scorer]` for the Groq scorer on this fake: `timeout` for the whole assessment.
    pub fn scorer(&self, timeout: Duration) -> ScorerSpec {
        ScorerSpec {
            kind: ScorerKind::Groq,
            groq: Some(GroqSpec {
                base_url: Some(self.base.clone()),
                api_key: Some(SecretValue::new("gsk_TestKey0123456789abcdefghijklmnop")),
                timeout_s: Seconds::new(timeout.as_secs_f64()),
                deadline_s: Seconds::new(timeout.as_secs_f64()),
                ..GroqSpec::default()
            }),
        }
    }

    /// `[approver.telnyx]` on this fake.
    pub fn telnyx_spec(&self) -> TelnyxSpec {
        let key = SigningKey::from_bytes(&[7; 32]);
        TelnyxSpec {
            connection_id: Some("conn-1".to_owned()),
            from_number: Some("+15550000001".to_owned()),
            admin_number: Some("+15550000002".to_owned()),
            public_key: Some(STANDARD.encode(key.verifying_key().as_bytes())),
            api_base: Some(self.base.clone()),
            public_url: Some("https://sentinel.example.com".to_owned()),
            secrets: TelnyxSecrets {
                api_key: Some(SecretValue::new("KEYtest0123456789")),
                pin: None,
            },
            ..TelnyxSpec::default()
        }
    }
}
