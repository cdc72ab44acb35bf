//! The ladder's `webhook` channel and console links on the real server: a fake receiver on
//! 127.0.0.1 verifies each POST's HMAC itself; a failing webhook hands over to the next
//! one; the console link it carries is checked by `GET /console/link/{token}` (a page, the
//! link not used), used once by `POST` (303 to the action's page, no session made),
//! refused when forged, expired or used again; `GET /console/api/actions/{id}` shows the
//! ladder's steps and the quorum's approvers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac_check::verified;
use sentinel_core::GatewaySpec;
use sentinel_core::ladder::ConsoleLinks;
use sentinel_core::spec::Env;
use serde_json::{Value, json};
use support::{ADMIN, SESSION, TestServer, pay};

const SECRET: &str = "webhook-hmac-secret-for-server-tests";
const LINK_KEY: &str = "console-link-key-for-server-tests-0123456789";
const PUBLIC: &str = "https://sentinel.example.com";
const ALICE: &str = "alice-token-0123456789";

/// The receiver's own check of `X-Sentinel-Signature` (SHA-256 HMAC written out here with
/// the `sha2` crate, not Sentinel's code).
mod hmac_check {
    use sha2::{Digest, Sha256};

    fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
        let mut k = [0u8; 64];
        k[..key.len()].copy_from_slice(key);
        let (mut inner, mut outer) = (Sha256::new(), Sha256::new());
        inner.update(k.map(|b| b ^ 0x36));
        inner.update(message);
        outer.update(k.map(|b| b ^ 0x5c));
        outer.update(inner.finalize());
        outer.finalize().into()
    }

    pub fn verified(secret: &str, ts: &str, signature: &str, body: &[u8]) -> bool {
        let fresh = ts
            .parse::<i64>()
            .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() <= 300);
        let mut message = format!("v1:{ts}:").into_bytes();
        message.extend_from_slice(body);
        let hex: String = hmac(secret.as_bytes(), &message)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        fresh && signature == format!("v1={hex}")
    }
}

type Got = Arc<Mutex<Vec<(String, bool, Value)>>>;

async fn receive(
    State(got): State<Got>,
    Path(mode): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let ok = verified(
        SECRET,
        h("x-sentinel-timestamp"),
        h("x-sentinel-signature"),
        &body,
    );
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    got.lock().unwrap().push((mode.clone(), ok, value));
    match (mode.as_str(), ok) {
        ("fail", _) => StatusCode::INTERNAL_SERVER_ERROR,
        (_, false) => StatusCode::UNAUTHORIZED,
        _ => StatusCode::OK,
    }
}

async fn receiver() -> (Got, String) {
    let got = Got::default();
    let app = Router::new()
        .route("/hook/{mode}", post(receive))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (got, format!("http://{addr}/hook"))
}

/// A client that does not follow redirects, so the 303 itself is seen.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn link(t: &TestServer, method: reqwest::Method, token: &str) -> (u16, HeaderMap, String) {
    let r = browser()
        .request(method, format!("{}/console/link/{token}", t.base))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

async fn server(base: &str) -> TestServer {
    let spec = GatewaySpec::from_toml_str(&format!(
        r#"
        [server]
        public_url = "{PUBLIC}"
        [[routes]]
        name = "payments"
        quorum = 2
        steps = [
          {{ channel = "webhook", to = "teams", timeout_s = 600 }},
          {{ channel = "webhook", to = "pager", timeout_s = 600 }},
          {{ channel = "console", timeout_s = 600 }},
        ]
        [channels.webhooks.teams]
        url = "{base}/fail"
        secret_env = "TEAMS_SECRET"
        [channels.webhooks.pager]
        url_env = "PAGER_URL"
        secret_env = "PAGER_SECRET"
        timeout_s = 5
        "#
    ))
    .unwrap();
    let env = Env::from_map(HashMap::from([
        ("TEAMS_SECRET".to_owned(), SECRET.to_owned()),
        ("PAGER_SECRET".to_owned(), SECRET.to_owned()),
        ("PAGER_URL".to_owned(), format!("{base}/ok")),
        ("SENTINEL_LINK_KEY".to_owned(), LINK_KEY.to_owned()),
    ]));
    TestServer::start_with(move |mut c| {
        // The test's own store (in its temporary folder), not the default file in the
        // working directory.
        let store = std::mem::take(&mut c.spec.store);
        c.spec = spec;
        c.spec.store = store;
        c.env = env;
        c.with_operator("alice", ALICE)
    })
    .await
}

async fn sign_in(t: &TestServer) -> String {
    let r = t
        .http
        .post(format!("{}/console/session", t.base))
        .header("origin", &t.base)
        .json(&json!({"token": ALICE}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    set.strip_prefix("sentinel_session=")
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned()
}

async fn timeline(t: &TestServer, cookie: &str, id: &str) -> Value {
    t.http
        .get(format!("{}/console/api/actions/{id}", t.base))
        .header("cookie", format!("sentinel_session={cookie}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_webhook_link_opens_the_action_once_and_the_console_shows_the_steps() {
    let (got, base) = receiver().await;
    let t = server(&base).await;
    assert!(
        t.server.banner().iter().any(|l| l
            == "console links: https://sentinel.example.com/console/link/..., signed with the configured link key"),
        "{:?}",
        t.server.banner()
    );
    let (status, submitted) = t
        .execute(SESSION, &pay("session_1", 10_000, "Unknown Corp"))
        .await;
    assert_eq!(status, 200, "{submitted}");
    let id = submitted["action_id"].as_str().unwrap().to_owned();
    for _ in 0..300 {
        if got.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let got = got.lock().unwrap().clone();
    // The failing webhook, then the next one: both signed.
    assert_eq!(
        got.iter()
            .map(|(m, ok, _)| (m.as_str(), *ok))
            .collect::<Vec<_>>(),
        [("fail", true), ("ok", true)]
    );
    let body = &got[1].2;
    assert_eq!(body["action_id"], id);
    assert_eq!(
        (body["step"].as_u64(), body["steps"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(body["to"], "pager");
    let token = body["link"]
        .as_str()
        .unwrap()
        .strip_prefix(&format!("{PUBLIC}/console/link/"))
        .unwrap()
        .to_owned();

    // Forged (another key) and expired (the right key, a past expiry): refused, no detail.
    let deadline = chrono::Utc::now() + chrono::Duration::seconds(100);
    let forged = ConsoleLinks::new(PUBLIC, b"some-other-key-some-other-key-0123")
        .token(id.parse().unwrap(), deadline)
        .unwrap();
    let (status, headers, page) = link(&t, reqwest::Method::POST, &forged).await;
    assert_eq!(status, 404, "{page}");
    assert!(page.contains("This link is not valid."), "{page}");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    for junk in ["x", "v1.zz", &format!("{token}0")] {
        assert_eq!(link(&t, reqwest::Method::GET, junk).await.0, 404, "{junk}");
    }
    let expired = ConsoleLinks::new(PUBLIC, LINK_KEY.as_bytes())
        .token(
            id.parse().unwrap(),
            chrono::Utc::now() - chrono::Duration::seconds(1),
        )
        .unwrap();
    let (status, _, page) = link(&t, reqwest::Method::POST, &expired).await;
    assert_eq!(status, 410);
    assert!(page.contains("This link has expired."), "{page}");

    // GET asks first and uses nothing (link previewers fetch links).
    for _ in 0..2 {
        let (status, _, page) = link(&t, reqwest::Method::GET, &token).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains(&format!(
            "<form method=\"post\" action=\"/console/link/{token}\">"
        )));
        assert!(page.contains(&id));
    }
    // POST uses it, without a session: the redirect, no cookie, still signed out.
    let (status, headers, _) = link(&t, reqwest::Method::POST, &token).await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], format!("/console#action={id}"));
    assert!(
        headers.get("set-cookie").is_none(),
        "a link signs in nothing"
    );
    let r = t
        .http
        .get(format!("{}/console/api/actions/{id}", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Used: refused, on both methods; nothing changed.
    let (status, _, page) = link(&t, reqwest::Method::POST, &token).await;
    assert_eq!(status, 410);
    assert!(page.contains("used already"), "{page}");
    assert_eq!(link(&t, reqwest::Method::GET, &token).await.0, 410);
    let (_, action) = t
        .get(&format!("/api/sentinel/actions/{id}"), Some(ADMIN))
        .await;
    assert_eq!(action["status"], "BLOCKED_AWAITING_AUTH");

    // During the pager's step alice approves in the console: 1 of 2, the step goes on.
    let cookie = sign_in(&t).await;
    let r = t
        .http
        .post(format!("{}/api/sentinel/actions/{id}/resolve", t.base))
        .header("cookie", format!("sentinel_session={cookie}"))
        .header("origin", &t.base)
        .json(&json!({"decision": "approve", "reason": "checked"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let view = timeline(&t, &cookie, &id).await;
    let steps = view["steps"].as_array().unwrap();
    let line = |s: &Value| {
        (
            s["step"].as_u64().unwrap(),
            s["of"].as_u64().unwrap(),
            s["channel"].as_str().unwrap().to_owned(),
            s["to"].as_str().unwrap().to_owned(),
            s["status"].as_str().unwrap().to_owned(),
            s["outcome"].as_str().map(str::to_owned),
            s["reason"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(
        steps.iter().map(line).collect::<Vec<_>>(),
        [
            (
                1,
                3,
                "webhook".into(),
                "teams".into(),
                "ended".into(),
                Some("failed".into()),
                "webhook `teams` answered HTTP 500".into()
            ),
            (
                2,
                3,
                "webhook".into(),
                "pager".into(),
                "live".into(),
                None,
                String::new()
            ),
        ],
        "{view}"
    );
    for s in steps {
        assert_eq!(s["route"], "payments");
        assert!(s["started_at"].is_string() && s["ends_at"].is_string());
    }
    assert_eq!(view["quorum"]["needed"], 2);
    let approvers = view["quorum"]["approvers"].as_array().unwrap();
    assert_eq!(approvers.len(), 1, "{view}");
    assert_eq!(
        (approvers[0]["by"].as_str(), approvers[0]["via"].as_str()),
        (Some("alice"), Some("console"))
    );
    assert!(
        !view.to_string().contains("127.0.0.1"),
        "no webhook URL in the view"
    );
    // The ladder and the link's use are not calls.
    let channels: Vec<&str> = view["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["channel"].as_str().unwrap())
        .collect();
    assert!(channels.contains(&"console_link"), "{channels:?}");
    assert_eq!(view["action"]["status"], "BLOCKED_AWAITING_AUTH");
}

#[tokio::test]
async fn without_webhook_steps_every_link_is_refused() {
    let t = TestServer::start().await;
    let token = ConsoleLinks::new(PUBLIC, LINK_KEY.as_bytes())
        .token(
            sentinel_core::ActionId::new(),
            chrono::Utc::now() + chrono::Duration::seconds(60),
        )
        .unwrap();
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let (status, _, page) = link(&t, method, &token).await;
        assert_eq!(status, 404);
        assert!(page.contains("This link is not valid."));
    }
}
