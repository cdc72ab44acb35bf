//! What the console tests share: a server with operators, requests with the session cookie.

use reqwest::Method;
use sentinel_core::spec::OperatorRole;
use serde_json::{Value, json};

use crate::support::{SESSION, TestServer, pay};

pub const ALICE: &str = "alice-token-0123456789";
pub const BOB: &str = "bob-token-0123456789ab";
pub const VIEWER: &str = "viewer-token-0123456789";

pub async fn console_server() -> TestServer {
    TestServer::start_with(|c| {
        let mut c = c.with_operator("alice", ALICE).with_operator("bob", BOB);
        c.operators.push(sentinel_server::config::Operator {
            name: "vera".into(),
            token: sentinel_core::telnyx::Secret::new(VIEWER),
            role: OperatorRole::Viewer,
        });
        c.cors_origins = vec!["http://dash.example.com".into()];
        c
    })
    .await
}

/// Sends a request with the session cookie and an `Origin` header (each optional).
pub async fn with_cookie(
    t: &TestServer,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut r = t.http.request(method, format!("{}{path}", t.base));
    if let Some(c) = cookie {
        r = r.header("cookie", format!("sentinel_session={c}"));
    }
    if let Some(o) = origin {
        r = r.header("origin", o);
    }
    if let Some(b) = body {
        r = r
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let response = r.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    )
}

/// Signs in with `token`; returns the cookie value.
pub async fn sign_in(t: &TestServer, token: &str) -> String {
    let (status, body, headers) = with_cookie(
        t,
        Method::POST,
        "/console/session",
        None,
        Some(&t.base),
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let set = headers["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains("Secure"), "plain http: {set}");
    let value = set
        .strip_prefix("sentinel_session=")
        .and_then(|r| r.split(';').next())
        .unwrap()
        .to_owned();
    assert!(value.len() >= 43, "256 random bits: {value}");
    value
}

pub async fn escalate(t: &TestServer, agent: &str) -> String {
    let (status, body) = t
        .execute(SESSION, &pay(agent, 10_000, "Unknown Corp"))
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("BLOCKED_AWAITING_AUTH")),
        "{body}"
    );
    body["action_id"].as_str().unwrap().to_owned()
}
