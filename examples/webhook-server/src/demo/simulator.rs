//! The Telnyx simulator: a fake Telnyx Call Control API on 127.0.0.1 that plays a scripted
//! admin. It answers the server's commands like Telnyx does and posts Ed25519-signed
//! webhooks to the `webhook_url` of each call, so the real voice approver code path runs:
//! the server cannot tell it from Telnyx except by the signing key it was given.
//!
//! Every line it prints starts with `[telnyx simulator]`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use sentinel_core::telnyx::PublicKey;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::Out;

/// What the scripted admin does on the next call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// Nobody picks up: the call ends with `no_answer`.
    NoAnswer,
    /// The admin answers, presses `key`, then says each line in turn; a line ending in
    /// `?` waits for Sentinel's answer before the next one.
    Talk {
        /// The key pressed at the menu.
        key: String,
        /// What the admin says after pressing it.
        lines: Vec<String>,
    },
}

/// One webhook to deliver.
struct Webhook {
    event_type: &'static str,
    client_state: Option<String>,
    payload: Value,
}

/// One simulated call.
struct Call {
    n: u64,
    to: String,
    from: String,
    connection_id: String,
    queue: mpsc::UnboundedSender<Webhook>,
    key: Mutex<Option<String>>,
    lines: Mutex<VecDeque<String>>,
    awaiting_answer: Mutex<bool>,
}

struct Inner {
    signing: SigningKey,
    scripts: Mutex<VecDeque<Script>>,
    calls: Mutex<HashMap<String, Arc<Call>>>,
    count: AtomicU64,
    /// Calls whose webhooks are still being delivered.
    active: AtomicU64,
    /// The PIN the person called enters when asked (the demo's operator PIN).
    pin: Mutex<Option<String>>,
    http: reqwest::Client,
    out: Out,
}

/// A running simulator.
#[derive(Clone)]
pub struct Simulator {
    base: String,
    public_key: PublicKey,
    inner: Arc<Inner>,
}

impl Simulator {
    /// Starts the fake API on a free port of 127.0.0.1, with a fresh signing key.
    pub async fn start(out: Out) -> Result<Self, String> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed)
            .map_err(|e| format!("no randomness for the simulator key: {e}"))?;
        let signing = SigningKey::from_bytes(&seed);
        let public_key =
            PublicKey::from_base64(&STANDARD.encode(signing.verifying_key().as_bytes()))
                .map_err(|e| e.to_string())?;
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| e.to_string())?;
        let inner = Arc::new(Inner {
            signing,
            scripts: Mutex::default(),
            calls: Mutex::default(),
            count: AtomicU64::new(0),
            active: AtomicU64::new(0),
            pin: Mutex::new(None),
            http,
            out,
        });
        let shared = Arc::clone(&inner);
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, body: Bytes| {
            let inner = Arc::clone(&shared);
            async move { respond(&inner, &method, &uri, &body) }
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "telnyx simulator stopped");
            }
        });
        Ok(Self {
            base: format!("http://{addr}/v2"),
            public_key,
            inner,
        })
    }

    /// The API base URL to give the voice approver (`TELNYX_API_BASE`).
    pub fn api_base(&self) -> &str {
        &self.base
    }

    /// The key its webhooks are signed with (`TELNYX_PUBLIC_KEY`).
    pub fn public_key(&self) -> PublicKey {
        self.public_key.clone()
    }

    /// Waits (up to `limit`) until every call is over and its last webhook delivered.
    pub async fn wait_idle(&self, limit: std::time::Duration) {
        let until = tokio::time::Instant::now() + limit;
        while self.inner.active.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < until {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The PIN the person called enters when the call asks for one.
    pub fn set_pin(&self, pin: &str) {
        *lock(&self.inner.pin) = Some(pin.to_owned());
    }

    /// What the admin does on the next call placed.
    pub fn expect(&self, script: Script) {
        lock(&self.inner.scripts).push_back(script);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn respond(inner: &Arc<Inner>, method: &Method, uri: &Uri, body: &[u8]) -> Response {
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let path = uri.path();
    if method != Method::POST {
        return error(StatusCode::NOT_FOUND, "resource not found");
    }
    if path == "/v2/calls" {
        return dial(inner, &body);
    }
    let Some((call_id, action)) = path
        .strip_prefix("/v2/calls/")
        .and_then(|rest| rest.split_once("/actions/"))
    else {
        return error(StatusCode::NOT_FOUND, "resource not found");
    };
    let call = lock(&inner.calls).get(call_id).cloned();
    let Some(call) = call else {
        // Telnyx's answer for a call that is over.
        return error(StatusCode::UNPROCESSABLE_ENTITY, "call has already ended");
    };
    let state = body["client_state"].as_str().map(str::to_owned);
    let say = |text: &str| {
        inner
            .out
            .line(format!("    [telnyx simulator] 🔊 Sentinel: \"{text}\""))
    };
    match action {
        "gather_using_speak" if state.as_deref().and_then(step).as_deref() == Some("pin") => {
            say(body["payload"].as_str().unwrap_or_default());
            let pin = lock(&inner.pin).clone().unwrap_or_default();
            inner.out.line(format!(
                "    [telnyx simulator] ☎  {} keys in the PIN ({} digits, not shown) and #",
                call.to,
                pin.len()
            ));
            send(
                &call,
                "call.gather.ended",
                state,
                json!({"digits": format!("{pin}#"), "status": "valid"}),
            );
        }
        "gather_using_speak" => {
            say(body["payload"].as_str().unwrap_or_default());
            let key = lock(&call.key).take();
            if let Some(key) = key {
                inner.out.line(format!(
                    "    [telnyx simulator] ☎  {} presses {key}",
                    call.to
                ));
                send(
                    &call,
                    "call.dtmf.received",
                    state.clone(),
                    json!({"digit": key}),
                );
                send(
                    &call,
                    "call.gather.ended",
                    state,
                    json!({"digits": key, "status": "valid"}),
                );
            }
        }
        "speak" => {
            say(body["payload"].as_str().unwrap_or_default());
            let closing = state
                .as_deref()
                .and_then(step)
                .is_some_and(|s| s == "closing");
            if closing {
                send(&call, "call.speak.started", state.clone(), json!({}));
                send(
                    &call,
                    "call.speak.ended",
                    state,
                    json!({"status": "completed"}),
                );
            } else if std::mem::take(&mut *lock(&call.awaiting_answer)) {
                speak_next(inner, &call, state);
            }
        }
        "transcription_start" => speak_next(inner, &call, state),
        "hangup" => {
            inner
                .out
                .line("    [telnyx simulator] ☎  Sentinel hangs up; the call is over");
            lock(&inner.calls).remove(call_id);
            send(
                &call,
                "call.hangup",
                state,
                json!({"hangup_cause": "normal_clearing", "hangup_source": "caller"}),
            );
        }
        _ => {}
    }
    (StatusCode::OK, Json(json!({"data": {"result": "ok"}}))).into_response()
}

fn dial(inner: &Arc<Inner>, body: &Value) -> Response {
    let n = inner.count.fetch_add(1, Ordering::SeqCst) + 1;
    let call_id = format!("v3:sim-call-{n}");
    let script = lock(&inner.scripts).pop_front().unwrap_or(Script::NoAnswer);
    let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
    let (queue, receiver) = mpsc::unbounded_channel();
    let (key, lines) = match &script {
        Script::NoAnswer => (None, VecDeque::new()),
        Script::Talk { key, lines } => (Some(key.clone()), lines.iter().cloned().collect()),
    };
    let call = Arc::new(Call {
        n,
        to: text("to"),
        from: text("from"),
        connection_id: text("connection_id"),
        queue,
        key: Mutex::new(key),
        lines: Mutex::new(lines),
        awaiting_answer: Mutex::new(false),
    });
    let webhook_url = body["webhook_url"].as_str().map(str::to_owned);
    let Some(webhook_url) = webhook_url else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the simulator needs a webhook_url on each call",
        );
    };
    lock(&inner.calls).insert(call_id.clone(), Arc::clone(&call));
    inner.active.fetch_add(1, Ordering::SeqCst);
    tokio::spawn(deliver(
        Arc::clone(inner),
        Arc::clone(&call),
        call_id.clone(),
        webhook_url,
        receiver,
    ));
    let state = body["client_state"].as_str().map(str::to_owned);
    inner.out.line(format!(
        "    [telnyx simulator] ☎  placing call {n} to {} (simulated phone, no real call)",
        call.to
    ));
    send(
        &call,
        "call.initiated",
        state.clone(),
        json!({"direction": "outgoing", "state": "bridging"}),
    );
    match script {
        Script::NoAnswer => {
            inner
                .out
                .line("    [telnyx simulator] ☎  ring... ring... nobody answers");
            lock(&inner.calls).remove(&call_id);
            send(
                &call,
                "call.hangup",
                state,
                json!({"hangup_cause": "no_answer", "hangup_source": "callee"}),
            );
        }
        Script::Talk { .. } => {
            inner
                .out
                .line(format!("    [telnyx simulator] ☎  {} answers", call.to));
            send(&call, "call.answered", state, json!({}));
        }
    }
    let data = json!({"data": {
        "call_control_id": call_id, "call_leg_id": format!("sim-leg-{n}"), "call_session_id": format!("sim-session-{n}"),
        "is_alive": false, "record_type": "call"}});
    (StatusCode::OK, Json(data)).into_response()
}

/// The admin says the next line of the script.
fn speak_next(inner: &Inner, call: &Call, state: Option<String>) {
    let Some(line) = lock(&call.lines).pop_front() else {
        return;
    };
    inner.out.line(format!(
        "    [telnyx simulator] 🗣  {} says: \"{line}\"",
        call.to
    ));
    *lock(&call.awaiting_answer) = line.trim_end().ends_with('?');
    let data =
        json!({"transcription_data": {"transcript": line, "is_final": true, "confidence": 0.97}});
    send(call, "call.transcription", state, data);
}

fn send(call: &Call, event_type: &'static str, client_state: Option<String>, payload: Value) {
    // The receiver lives as long as the call's delivery task.
    let _ = call.queue.send(Webhook {
        event_type,
        client_state,
        payload,
    });
}

/// Posts a call's webhooks one after the other, signed, as Telnyx would.
async fn deliver(
    inner: Arc<Inner>,
    call: Arc<Call>,
    call_id: String,
    url: String,
    receiver: mpsc::UnboundedReceiver<Webhook>,
) {
    post_all(&inner, &call, &call_id, &url, receiver).await;
    inner.active.fetch_sub(1, Ordering::SeqCst);
}

async fn post_all(
    inner: &Inner,
    call: &Call,
    call_id: &str,
    url: &str,
    mut receiver: mpsc::UnboundedReceiver<Webhook>,
) {
    while let Some(hook) = receiver.recv().await {
        let mut payload = json!({
            "call_control_id": call_id,
            "call_leg_id": format!("sim-leg-{}", call.n),
            "call_session_id": format!("sim-session-{}", call.n),
            "client_state": hook.client_state,
            "connection_id": call.connection_id,
            "from": call.from,
            "to": call.to,
        });
        if let (Value::Object(p), Value::Object(extra)) = (&mut payload, hook.payload) {
            p.extend(extra);
        }
        let body = json!({
            "data": {
                "event_type": hook.event_type,
                "id": uuid::Uuid::now_v7().to_string(),
                "occurred_at": chrono::Utc::now().to_rfc3339(),
                "payload": payload,
                "record_type": "event",
            },
            "meta": {"attempt": 1, "delivered_to": url},
        })
        .to_string();
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let signature = inner.signing.sign(format!("{timestamp}|{body}").as_bytes());
        let sent = inner
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("telnyx-timestamp", &timestamp)
            .header(
                "telnyx-signature-ed25519",
                STANDARD.encode(signature.to_bytes()),
            )
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => inner.out.line(format!(
                "    [telnyx simulator] webhook `{}` answered HTTP {}",
                hook.event_type,
                r.status()
            )),
            Err(e) => inner.out.line(format!(
                "    [telnyx simulator] webhook `{}` failed: {e}",
                hook.event_type
            )),
        }
        if hook.event_type == "call.hangup" {
            return;
        }
    }
}

/// The `step` of a Sentinel client state (base64 JSON).
fn step(client_state: &str) -> Option<String> {
    let bytes = STANDARD.decode(client_state).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value["step"].as_str().map(str::to_owned)
}

fn error(status: StatusCode, title: &str) -> Response {
    let code = if title.contains("ended") {
        "90018"
    } else {
        "10005"
    };
    (
        status,
        Json(json!({"errors": [{"code": code, "title": title}]})),
    )
        .into_response()
}
