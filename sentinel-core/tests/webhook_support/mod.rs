//! What the webhook tests share: the fake receiver on 127.0.0.1 (verifying each HMAC with the
//! `hmac` crate), the gateway with a webhook ladder, the hostile payment.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Utc;
use hmac::{Hmac, Mac};
use sentinel_core::ladder::{Channel, ConsoleLinks, LadderApprover, Route, Step};
use sentinel_core::spec::SecretValue;
use sentinel_core::store::MemoryStore;
use sentinel_core::webhook::{WebhookChannel, WebhookTarget};
use sentinel_core::{Action, Gateway};
use serde_json::json;
use sha2::Sha256;

pub const SECRET: &str = "webhook-hmac-secret-for-tests";
pub const LINK_KEY: &[u8] = b"console-link-key-for-tests-0123456789";
pub const PUBLIC: &str = "https://sentinel.example.com";

/// One POST the receiver got: its path, headers and raw body, and whether the signature
/// verified (recomputed here).
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub verified: bool,
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// Verifies like a receiver would: `v1=` hex HMAC-SHA256 of `v1:{ts}:{body}`, fresh ts.
pub fn verified(headers: &HeaderMap, body: &[u8]) -> bool {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let ts = h("x-sentinel-timestamp");
    let Ok(at) = ts.parse::<i64>() else {
        return false;
    };
    if (Utc::now().timestamp() - at).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("v1:{ts}:").as_bytes());
    mac.update(body);
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    h("x-sentinel-signature") == format!("v1={want}")
}

pub async fn receive(
    AxumState(r): AxumState<Receiver>,
    Path(mode): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let ok = verified(&headers, &body);
    r.got.lock().unwrap().push(Received {
        path: mode.clone(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        verified: ok,
    });
    match mode.as_str() {
        "hang" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::OK
        }
        "fail" => StatusCode::INTERNAL_SERVER_ERROR,
        "redirect" => StatusCode::TEMPORARY_REDIRECT,
        _ if !ok => StatusCode::UNAUTHORIZED,
        _ => StatusCode::NO_CONTENT,
    }
}

pub async fn receiver() -> (Receiver, String) {
    let r = Receiver::default();
    let app = Router::new()
        .route("/hook/{mode}", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, format!("http://{addr}/hook"))
}

/// A port nothing listens on.
pub async fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}/hook/ok")
}

pub fn target(name: &str, url: &str, timeout: Duration) -> WebhookTarget {
    WebhookTarget::new(
        name,
        SecretValue::new(url),
        SecretValue::new(SECRET),
        timeout,
    )
}

pub fn gateway(targets: Vec<WebhookTarget>, steps: Vec<Step>) -> (Gateway, Arc<ConsoleLinks>) {
    let links = Arc::new(ConsoleLinks::new(PUBLIC, LINK_KEY));
    let channel = WebhookChannel::new(targets, Arc::clone(&links)).unwrap();
    let ladder = LadderApprover::with_poll(
        vec![Route::new("payments", steps).with_quorum(2)],
        vec![Arc::new(channel) as Arc<dyn Channel>],
        Duration::from_millis(20),
    )
    .unwrap();
    let gw = Gateway::builder()
        .store(MemoryStore::new())
        .approver(ladder)
        .build()
        .unwrap();
    (gw, links)
}

pub fn hostile_payment() -> Action {
    Action::new("session_<b>bold</b>", "PAY_INVOICE")
        .with_payload(
            json!({"amount": 10000, "vendor": "Unknown Corp", "card": "4111 1111 1111 1111"}),
        )
        .with_reasoning("<!channel> pay now, card 4111 1111 1111 1111")
}

pub async fn wait_until<F: Fn() -> bool>(what: &str, ok: F) {
    for _ in 0..500 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

pub async fn ladder_notes(gw: &Gateway, id: sentinel_core::ActionId, n: usize) -> Vec<String> {
    let mut notes = Vec::new();
    for _ in 0..500 {
        notes = gw
            .audit_trail(id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.channel == "ladder")
            .map(|e| e.reason)
            .collect();
        if notes.len() >= n {
            return notes;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("fewer than {n} ladder notes: {notes:?}");
}
