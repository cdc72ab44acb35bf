//! `GET /metrics`: who may scrape it, and what it says after a scripted run (decisions,
//! a human approval, HTTP requests by route pattern and code, refused webhooks).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sentinel_core::spec::{Env, SecretValue, TelnyxSecrets, TelnyxSpec};
use serde_json::json;
use support::*;

const SCRAPER: &str = "scrape-token-0123456789";

/// Raw `GET /metrics` with an optional bearer token: status, content type, body.
async fn scrape(s: &TestServer, token: Option<&str>) -> (u16, String, String) {
    let mut request = s.http.get(format!("{}/metrics", s.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

/// The value of the sample line `series` (name and labels exactly as written).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no `{series}` in:\n{text}"))
        .parse()
        .unwrap()
}

fn with_scrape_token(mut c: sentinel_server::Config) -> sentinel_server::Config {
    c.spec.telemetry.metrics_token_env = Some("SCRAPE".to_owned());
    c.env = Env::from_map(HashMap::from([("SCRAPE".to_owned(), SCRAPER.to_owned())]));
    c
}

#[tokio::test]
async fn scraping_needs_the_scrape_token_the_admin_token_or_an_operator() {
    let s = TestServer::start_with(|c| {
        with_scrape_token(c).with_operator("olga", "operator-token-0123456789")
    })
    .await;
    let (status, _, body) = scrape(&s, None).await;
    assert_eq!(status, 401, "{body}");
    let (status, _, body) = scrape(&s, Some("not-a-token-at-all-000")).await;
    assert_eq!(status, 401, "{body}");
    let (status, _, body) = scrape(&s, Some(BILLING)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("billing-bot"), "{body}");
    for token in [SCRAPER, ADMIN, "operator-token-0123456789"] {
        let (status, kind, body) = scrape(&s, Some(token)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(kind, "text/plain; version=0.0.4; charset=utf-8");
        assert!(
            body.contains("# TYPE sentinel_decisions_total counter"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn metrics_public_serves_anyone_and_a_short_scrape_token_is_refused_at_start() {
    let s = TestServer::start_with(|mut c| {
        c.spec.telemetry.metrics_public = Some(true);
        c
    })
    .await;
    let (status, _, _) = scrape(&s, None).await;
    assert_eq!(status, 200);

    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&dir);
    c.spec.telemetry.metrics_token_env = Some("SCRAPE".to_owned());
    c.env = Env::from_map(HashMap::from([("SCRAPE".to_owned(), "short".to_owned())]));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let Err(e) = sentinel_server::start(c, listener).await else {
        panic!("a short scrape token must be refused");
    };
    let message = e.to_string();
    assert!(message.contains("telemetry.metrics_token_env"), "{message}");
    assert!(!message.contains("short"), "{message}");
}

#[tokio::test]
async fn a_scripted_run_shows_in_the_metrics() {
    let s = TestServer::start_with(with_scrape_token).await;
    let (status, _) = s.execute(BILLING, &pay("billing-bot", 120, "AWS")).await;
    assert_eq!(status, 200);
    let drop = json!({"agent_id": "ops-bot", "action": "DROP_TABLE", "payload": {"table": "users"}, "reasoning": "cleanup"});
    let (status, body) = s.execute(OPS, &drop).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("DECLINED")),
        "{body}"
    );
    let (status, body) = s
        .execute(SESSION, &pay("session_1", 10_000, "Unknown Corp"))
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("BLOCKED_AWAITING_AUTH")),
        "{body}"
    );
    let id = body["action_id"].as_str().unwrap().to_owned();
    let (_, _, text) = scrape(&s, Some(SCRAPER)).await;
    assert_eq!(sample(&text, "sentinel_approvals_pending"), 1.0);
    let (status, body) = s
        .post(
            &format!("/api/sentinel/actions/{id}/resolve"),
            Some(ADMIN),
            &json!({"decision": "approve", "by": "alice"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = s.get("/api/sentinel/actions/not-an-id", Some(ADMIN)).await;
    assert_eq!(status, 400);
    let (status, _) = s.get("/nowhere", Some(ADMIN)).await;
    assert_eq!(status, 404);

    let (_, _, text) = scrape(&s, Some(SCRAPER)).await;
    assert_eq!(
        sample(&text, "sentinel_decisions_total{status=\"EXECUTED\"}"),
        1.0
    );
    assert_eq!(
        sample(&text, "sentinel_decisions_total{status=\"DECLINED\"}"),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "sentinel_decisions_total{status=\"BLOCKED_AWAITING_AUTH\"}"
        ),
        1.0
    );
    assert_eq!(sample(&text, "sentinel_approvals_pending"), 0.0);
    assert_eq!(
        sample(
            &text,
            "sentinel_human_decision_seconds_count{channel=\"web\",decision=\"approved\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "sentinel_http_requests_total{route=\"/api/sentinel/execute\",method=\"POST\",code=\"200\"}"
        ),
        3.0
    );
    // Route patterns, never raw paths (no id in a label).
    assert_eq!(
        sample(
            &text,
            "sentinel_http_requests_total{route=\"/api/sentinel/actions/{id}/resolve\",method=\"POST\",code=\"200\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "sentinel_http_requests_total{route=\"/api/sentinel/actions/{id}\",method=\"GET\",code=\"400\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "sentinel_http_requests_total{route=\"unmatched\",method=\"GET\",code=\"404\"}"
        ),
        1.0
    );
    assert!(!text.contains(&id), "an action id in a label");
    // The earlier scrape was counted (this one is counted once answered).
    assert_eq!(
        sample(
            &text,
            "sentinel_http_requests_total{route=\"/metrics\",method=\"GET\",code=\"200\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn refused_webhooks_are_counted_by_reason() {
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let telnyx = TelnyxSpec {
        connection_id: Some("conn-1".to_owned()),
        from_number: Some("+15550000001".to_owned()),
        admin_number: Some("+15550000002".to_owned()),
        public_key: Some(STANDARD.encode(key.verifying_key().as_bytes())),
        api_base: Some("http://127.0.0.1:9".to_owned()),
        secrets: TelnyxSecrets {
            api_key: Some(SecretValue::new("KEYtest0123456789")),
            pin: None,
        },
        ..TelnyxSpec::default()
    };
    let s = TestServer::start_with(move |c| {
        let mut c = with_scrape_token(c).with_telnyx(telnyx);
        c.public_url = Some("https://sentinel.example.com".to_owned());
        c
    })
    .await;
    let body = r#"{"data": {"event_type": "call.answered"}}"#;
    for headers in [
        vec![],
        vec![
            ("telnyx-signature-ed25519", "!!".to_owned()),
            (
                "telnyx-timestamp",
                chrono::Utc::now().timestamp().to_string(),
            ),
        ],
    ] {
        let mut request = s
            .http
            .post(format!("{}/api/telnyx/webhook", s.base))
            .body(body);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        assert_eq!(request.send().await.unwrap().status().as_u16(), 401);
    }
    let (_, _, text) = scrape(&s, Some(SCRAPER)).await;
    assert_eq!(
        sample(
            &text,
            "sentinel_webhook_verifications_refused_total{provider=\"telnyx\",reason=\"missing_header\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "sentinel_webhook_verifications_refused_total{provider=\"telnyx\",reason=\"malformed_header\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "sentinel_http_requests_total{route=\"/api/telnyx/webhook\",method=\"POST\",code=\"401\"}"
        ),
        2.0
    );
}
