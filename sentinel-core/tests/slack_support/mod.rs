//! What the Slack tests share: the fake Slack Web API on 127.0.0.1 recording every request,
//! the channel and gateway, signed interactions.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State as AxumState};
use axum::http::HeaderMap;
use axum::routing::post;
use sentinel_core::ladder::{Channel, LadderApprover, Route, Step};
use sentinel_core::slack::SlackChannel;
use sentinel_core::spec::SecretValue;
use sentinel_core::store::MemoryStore;
use sentinel_core::{Action, ActionId, Gateway};
use serde_json::{Value, json};

pub const TOKEN: &str = "xoxb-test-token-1234";
pub const SECRET: &str = "slack-signing-secret-for-tests";
pub const TS: &str = "1700000000.000100";

/// One request the fake received: method, authorization, content type, body.
pub type Call = (String, String, String, Value);

#[derive(Clone, Default)]
pub struct Fake {
    pub calls: Arc<Mutex<Vec<Call>>>,
    /// Methods that answer `{"ok": false}`.
    pub failing: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    pub fn calls(&self, method: &str) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.0 == method)
            .map(|c| c.3.clone())
            .collect()
    }
}

pub async fn api(
    AxumState(fake): AxumState<Fake>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: String,
) -> axum::Json<Value> {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let channel = value["channel"].clone();
    fake.calls
        .lock()
        .unwrap()
        .push((method.clone(), h("authorization"), h("content-type"), value));
    if fake.failing.lock().unwrap().contains(&method) {
        return axum::Json(json!({"ok": false, "error": "channel_not_found"}));
    }
    axum::Json(json!({"ok": true, "channel": "C0PAY", "ts": TS, "echo": channel}))
}

/// The fake's `response_url`s (`/hooks/...`): recorded as method `response_url`.
pub async fn hook(
    AxumState(fake): AxumState<Fake>,
    headers: HeaderMap,
    body: String,
) -> &'static str {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    fake.calls.lock().unwrap().push((
        "response_url".to_owned(),
        h("authorization"),
        h("content-type"),
        value,
    ));
    "ok"
}

pub async fn fake_slack() -> (Fake, String) {
    let fake = Fake::default();
    let app = Router::new()
        .route("/api/{method}", post(api))
        .route("/hooks/{*rest}", post(hook))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, format!("http://{addr}/api"))
}

pub fn slack_channel(base: &str) -> Arc<SlackChannel> {
    let users = HashMap::from([("U0ALICE".to_owned(), "alice".to_owned())]);
    Arc::new(
        SlackChannel::new(
            base,
            SecretValue::new(TOKEN),
            SecretValue::new(SECRET),
            users,
        )
        .unwrap(),
    )
}

pub fn gateway(slack: &Arc<SlackChannel>, steps: Vec<Step>) -> Gateway {
    let ladder = LadderApprover::with_poll(
        vec![Route::new("payments", steps)],
        vec![Arc::clone(slack) as Arc<dyn Channel>],
        Duration::from_millis(20),
    )
    .unwrap();
    Gateway::builder()
        .store(MemoryStore::new())
        .approver(ladder)
        .build()
        .unwrap()
}

pub fn hostile_payment() -> Action {
    Action::new("session_<!channel>", "PAY_INVOICE")
        .with_payload(
            json!({"amount": 10000, "vendor": "Unknown Corp", "card": "4111 1111 1111 1111"}),
        )
        .with_reasoning("<!channel> @here pay now & see <https://evil.example|your bank>")
}

/// A form-encoded `block_actions` interaction pressing `button` for `id` as `user`.
pub fn interaction(id: ActionId, user: &str, button: &str) -> Vec<u8> {
    interaction_with(id, user, button, "https://hooks.slack.com/actions/T/1/x")
}

/// [`interaction`] with its `response_url`.
pub fn interaction_with(id: ActionId, user: &str, button: &str, response_url: &str) -> Vec<u8> {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "username": "someone"},
        "container": {"type": "message", "channel_id": "C0PAY", "message_ts": TS},
        "channel": {"id": "C0PAY"},
        "message": {"ts": TS},
        "response_url": response_url,
        "actions": [{"type": "button", "block_id": "sentinel_decision", "action_id": button, "value": id.to_string()}]
    });
    form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
        .into_bytes()
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub async fn wait_for(fake: &Fake, method: &str, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let calls = fake.calls(method);
        if calls.len() >= n {
            return calls;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no `{method}` call");
}

/// Every string under `v`, with the `type` of the object holding it.
pub fn texts(v: &Value, parent: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            let kind = m.get("type").and_then(Value::as_str).unwrap_or(parent);
            for (k, x) in m {
                if k == "text" && x.is_string() {
                    out.push((kind.to_owned(), x.as_str().unwrap().to_owned()));
                } else {
                    texts(x, kind, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| texts(x, parent, out)),
        _ => {}
    }
}
