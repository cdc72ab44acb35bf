//! `POST /api/slack/interactions` on the real router: 404 without a Slack channel; with a
//! route to Slack (a fake Slack Web API on 127.0.0.1), the escalated action's message is
//! posted, a forged or stale press is 401 and changes nothing, a signed press by a bound
//! user is 200 at once and approves as the operator via `slack`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use sentinel_core::GatewaySpec;
use sentinel_core::slack::sign;
use sentinel_core::spec::Env;
use serde_json::{Value, json};
use support::{ADMIN, SESSION, TestServer, pay};

const SECRET: &str = "slack-signing-secret-for-tests";

type Calls = Arc<Mutex<Vec<(String, Value)>>>;

async fn api(
    State(calls): State<Calls>,
    Path(method): Path<String>,
    body: String,
) -> axum::Json<Value> {
    calls
        .lock()
        .unwrap()
        .push((method, serde_json::from_str(&body).unwrap_or(Value::Null)));
    axum::Json(json!({"ok": true, "channel": "C0PAY", "ts": "1700000000.000100"}))
}

async fn fake_slack() -> (Calls, String) {
    let calls = Calls::default();
    let app = Router::new()
        .route("/api/{method}", post(api))
        .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (calls, format!("http://{addr}/api"))
}

async fn press(t: &TestServer, body: &[u8], ts: &str, sig: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/slack/interactions", t.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", sig)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn interaction(id: &str, user: &str) -> Vec<u8> {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user},
        "container": {"type": "message", "channel_id": "C0PAY", "message_ts": "1700000000.000100"},
        "actions": [{"type": "button", "action_id": "sentinel_approve", "value": id}]
    });
    format!("payload={}", urlencode(&payload.to_string())).into_bytes()
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn without_a_slack_channel_the_endpoint_is_404() {
    let t = TestServer::start().await;
    let (status, body) = press(&t, b"payload=%7B%7D", "1", "v0=00").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("\"unsupported\""), "{body}");
}

#[tokio::test]
async fn a_signed_press_approves_and_a_forged_one_changes_nothing() {
    let (calls, base) = fake_slack().await;
    let spec = GatewaySpec::from_toml_str(&format!(
        r##"
        [[routes]]
        name = "payments"
        steps = [{{ channel = "slack", to = "#payments-oncall", timeout_s = 600 }}]
        [channels.slack]
        api_base = "{base}"
        users = {{ U0ALICE = "alice" }}
        "##
    ))
    .unwrap();
    let t = TestServer::start_with(move |mut c| {
        // The test's own store (in its temporary folder), not the default file in the
        // working directory.
        let store = std::mem::take(&mut c.spec.store);
        c.spec = spec;
        c.spec.store = store;
        c.env = Env::from_map(HashMap::from([
            ("SLACK_BOT_TOKEN".to_owned(), "xoxb-test-token".to_owned()),
            ("SLACK_SIGNING_SECRET".to_owned(), SECRET.to_owned()),
        ]));
        c
    })
    .await;
    let (status, submitted) = t
        .post(
            "/api/sentinel/execute",
            Some(SESSION),
            &pay("session_1", 10000, "Unknown Corp"),
        )
        .await;
    assert_eq!(status, 200, "{submitted}");
    assert_eq!(submitted["status"], "BLOCKED_AWAITING_AUTH");
    let id = submitted["action_id"].as_str().unwrap().to_owned();
    for _ in 0..200 {
        if calls
            .lock()
            .unwrap()
            .iter()
            .any(|(m, _)| m == "chat.postMessage")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let posted = calls.lock().unwrap()[0].clone();
    assert_eq!(posted.0, "chat.postMessage");
    assert_eq!(posted.1["channel"], "#payments-oncall");

    let body = interaction(&id, "U0ALICE");
    let now = chrono::Utc::now().timestamp().to_string();
    let forged = sign(b"another secret", &now, &body);
    let (status, answer) = press(&t, &body, &now, &forged).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("webhook_unverified"), "{answer}");
    let stale = (chrono::Utc::now().timestamp() - 600).to_string();
    let (status, _) = press(&t, &body, &stale, &sign(SECRET.as_bytes(), &stale, &body)).await;
    assert_eq!(status, 401);
    let (_, action) = t
        .get(&format!("/api/sentinel/actions/{id}"), Some(ADMIN))
        .await;
    assert_eq!(action["status"], "BLOCKED_AWAITING_AUTH");

    let (status, answer) = press(&t, &body, &now, &sign(SECRET.as_bytes(), &now, &body)).await;
    assert_eq!((status, answer.as_str()), (200, ""));
    let mut action = Value::Null;
    for _ in 0..200 {
        action = t
            .get(&format!("/api/sentinel/actions/{id}"), Some(ADMIN))
            .await
            .1;
        if action["status"] == "APPROVED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(action["status"], "APPROVED", "{action}");
    assert_eq!(action["approval"]["by"], "alice");
    assert_eq!(action["approval"]["channel"], "slack");
    for _ in 0..200 {
        if calls
            .lock()
            .unwrap()
            .iter()
            .any(|(m, _)| m == "chat.update")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let update = calls
        .lock()
        .unwrap()
        .iter()
        .find(|(m, _)| m == "chat.update")
        .cloned()
        .unwrap();
    assert_eq!(update.1["text"], "APPROVED by alice via Slack.");
}
