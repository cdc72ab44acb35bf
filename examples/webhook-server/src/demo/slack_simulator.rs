//! The Slack simulator: a fake Slack Web API on 127.0.0.1 that the ladder's Slack channel
//! posts to (through `[channels.slack] api_base`), with simulated Slack users who press the
//! message's buttons. A press is what Slack sends: a form-encoded `block_actions` payload,
//! signed with the app's signing secret (`v0=` HMAC-SHA256), posted to the server's `POST
//! /api/slack/interactions`, so the real verification and decision code path runs.
//!
//! Every line it prints starts with `[slack simulator]`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::Out;

/// A Slack user of the simulation and the operator the demo binds them to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackUser {
    /// The Slack user id (`U0ALICE`).
    pub id: &'static str,
    /// The name shown.
    pub name: &'static str,
}

/// alice, bound to the operator `alice` in the demo's configuration.
pub const ALICE: SlackUser = SlackUser {
    id: "U0ALICE",
    name: "alice",
};

struct Inner {
    token: String,
    signing_secret: String,
    /// Where presses go (`{server}/api/slack/interactions`).
    interactions: String,
    /// Who presses Approve on the next messages, in order.
    presses: Mutex<VecDeque<SlackUser>>,
    /// Channel names to ids (`#ops-oncall` → `C0001`).
    channels: Mutex<HashMap<String, String>>,
    count: Mutex<u64>,
    /// Presses still being delivered.
    active: Mutex<u64>,
    base: String,
    http: reqwest::Client,
    out: Out,
}

/// A running Slack simulator.
#[derive(Clone)]
pub struct SlackSimulator {
    inner: Arc<Inner>,
}

impl SlackSimulator {
    /// Starts the fake Web API on a free port of 127.0.0.1. It accepts only `token` as the
    /// bot token, and signs presses with `signing_secret` towards `server`'s interaction
    /// endpoint.
    pub async fn start(
        out: Out,
        token: String,
        signing_secret: String,
        server: &str,
    ) -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        let inner = Arc::new(Inner {
            token,
            signing_secret,
            interactions: format!("{}/api/slack/interactions", server.trim_end_matches('/')),
            presses: Mutex::default(),
            channels: Mutex::default(),
            count: Mutex::new(0),
            active: Mutex::new(0),
            base: format!("http://{addr}/api"),
            http,
            out,
        });
        let shared = Arc::clone(&inner);
        let app = axum::Router::new().route(
            "/api/{method}",
            axum::routing::post(
                move |Path(method): Path<String>, headers: HeaderMap, body: Bytes| {
                    let inner = Arc::clone(&shared);
                    async move { Json(web_api(&inner, &method, &headers, &body)) }
                },
            ),
        );
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "slack simulator stopped");
            }
        });
        Ok(Self { inner })
    }

    /// The Web API base URL to give the Slack channel (`[channels.slack] api_base`).
    pub fn api_base(&self) -> &str {
        &self.inner.base
    }

    /// `user` presses Approve on the next approval message posted.
    pub fn expect_approval(&self, user: SlackUser) {
        lock(&self.inner.presses).push_back(user);
    }

    /// Forgets the presses no message was posted for (a scenario decided without them).
    pub fn clear_expected(&self) {
        lock(&self.inner.presses).clear();
    }

    /// Waits (up to `limit`) until every press is delivered.
    pub async fn wait_idle(&self, limit: Duration) {
        let until = tokio::time::Instant::now() + limit;
        while *lock(&self.inner.active) > 0 && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One Web API call, answered as Slack does (`ok`, or `ok: false` with an error).
fn web_api(inner: &Arc<Inner>, method: &str, headers: &HeaderMap, body: &[u8]) -> Value {
    let say = |text: String| inner.out.line(format!("    [slack simulator] {text}"));
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(inner.token.as_str()) {
        say(format!("`{method}` refused: not the app's bot token"));
        return json!({"ok": false, "error": "invalid_auth"});
    }
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return json!({"ok": false, "error": "invalid_json"});
    };
    match method {
        "chat.postMessage" => post_message(inner, &body),
        "chat.update" => {
            say(format!(
                "✏️  the message is updated: \"{}\"",
                section_text(&body)
            ));
            json!({"ok": true, "channel": body["channel"], "ts": body["ts"]})
        }
        "chat.postEphemeral" => {
            say(format!(
                "👁  only {} sees: \"{}\"",
                body["user"].as_str().unwrap_or("?"),
                body["text"].as_str().unwrap_or_default()
            ));
            json!({"ok": true, "message_ts": "1800000000.000900"})
        }
        _ => json!({"ok": false, "error": "unknown_method"}),
    }
}

/// The text of the first section block (what the message says), for the narration.
fn section_text(body: &Value) -> String {
    body["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["type"] == "section" && b["text"]["text"].is_string())
        .and_then(|b| b["text"]["text"].as_str())
        .or(body["text"].as_str())
        .unwrap_or_default()
        .replace('\n', " ")
}

fn post_message(inner: &Arc<Inner>, body: &Value) -> Value {
    let name = body["channel"].as_str().unwrap_or_default().to_owned();
    let channel = {
        let mut channels = lock(&inner.channels);
        let n = channels.len() + 1;
        channels
            .entry(name.clone())
            .or_insert_with(|| format!("C000{n}"))
            .clone()
    };
    let ts = {
        let mut count = lock(&inner.count);
        *count += 1;
        format!("1800000000.{:06}", *count * 100)
    };
    let header = body["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let buttons: Vec<(String, String)> = body["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .map(|e| {
            (
                e["action_id"].as_str().unwrap_or_default().to_owned(),
                e["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let labels: Vec<&str> = body["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().into_iter().flatten())
        .filter_map(|e| e["text"]["text"].as_str())
        .collect();
    inner.out.line(format!(
        "    [slack simulator] 💬 Sentinel posts to {name} (simulated workspace, no real Slack): \"{header}\" [{}]",
        labels.join("] [")
    ));
    let approve = buttons
        .iter()
        .find(|(id, _)| id == sentinel_core::slack::APPROVE)
        .map(|(_, value)| value.clone());
    let user = lock(&inner.presses).pop_front();
    if let (Some(user), Some(action_id)) = (user, approve) {
        *lock(&inner.active) += 1;
        let inner = Arc::clone(inner);
        let (channel, ts) = (channel.clone(), ts.clone());
        tokio::spawn(async move {
            press(&inner, &user, &action_id, &channel, &ts).await;
            *lock(&inner.active) -= 1;
        });
    }
    json!({"ok": true, "channel": channel, "ts": ts, "message": {"ts": ts}})
}

/// `user` presses Approve: a signed `block_actions` request to the server.
async fn press(inner: &Inner, user: &SlackUser, action_id: &str, channel: &str, ts: &str) {
    // A moment to read the message.
    tokio::time::sleep(Duration::from_millis(150)).await;
    inner.out.line(format!(
        "    [slack simulator] 👆 {} ({}) presses Approve and confirms; Slack posts the signed press to POST /api/slack/interactions",
        user.name, user.id
    ));
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user.id, "username": user.name, "name": user.name},
        "team": {"id": "T0DEMO"},
        "container": {"type": "message", "channel_id": channel, "message_ts": ts},
        "channel": {"id": channel},
        "message": {"ts": ts},
        "trigger_id": "1800000000.demo",
        "actions": [{
            "type": "button",
            "block_id": sentinel_core::slack::BLOCK,
            "action_id": sentinel_core::slack::APPROVE,
            "value": action_id,
            "action_ts": ts,
        }],
    });
    let body = format!("payload={}", form_encode(&payload.to_string()));
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let signature =
        sentinel_core::slack::sign(inner.signing_secret.as_bytes(), &timestamp, body.as_bytes());
    let sent = inner
        .http
        .post(&inner.interactions)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", &timestamp)
        .header("x-slack-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => inner.out.line(format!(
            "    [slack simulator] the press was answered HTTP {}",
            r.status()
        )),
        Err(e) => inner
            .out
            .line(format!("    [slack simulator] the press failed: {e}")),
    }
}

/// `application/x-www-form-urlencoded` of one value.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
