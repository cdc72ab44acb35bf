//! Findings of the attack on the server ("Hardening"), each on the real router: a slow
//! decision answers 202 with the id; reads never wait on a hanging dial; agents never
//! read the scorer's error; bodies are parsed strictly; the API is published as OpenAPI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::fakes::{Fake, Mode};
use support::*;

/// A payment the rules leave to the scorer (no rule sets its risk): $500 to a vendor
/// outside the trusted list.
fn scored_payment() -> Value {
    pay("billing-bot", 500, "Acme")
}

async fn post_raw(s: &TestServer, key: &str, body: &Value) -> reqwest::Response {
    s.http
        .post(format!("{}/api/sentinel/execute", s.base))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn count_actions(s: &TestServer) -> usize {
    s.server
        .gateway()
        .store()
        .records_page(None, 1000)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_slow_decision_is_answered_202_with_the_id_and_goes_on() {
    let llm = Fake::llm(Mode::Slow(Duration::from_secs(3), 10)).await;
    let scorer = llm.scorer(Duration::from_secs(10));
    let s = TestServer::start_with(move |mut c| {
        c.spec.scorer = scorer;
        c.request_timeout = Duration::from_secs(1);
        c
    })
    .await;
    let started = Instant::now();
    let response = post_raw(&s, BILLING, &scored_payment()).await;
    let took = started.elapsed();
    assert_eq!(response.status().as_u16(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let id = body["action_id"].as_str().unwrap();
    assert_eq!(location, format!("/api/sentinel/actions/{id}"));
    assert_eq!(body["status"], "ANALYZING");
    assert_eq!(body["replayed"], false);
    assert!(took < Duration::from_millis(2500), "took {took:?}");

    // The agent finds it, waits for it, and it is decided as if nothing happened.
    let (status, view) = s.get(&location, Some(BILLING)).await;
    assert_eq!((status, view["status"].as_str()), (200, Some("ANALYZING")));
    let (status, done) = s
        .get(&format!("{location}/wait?timeout_s=8"), Some(BILLING))
        .await;
    assert_eq!((status, done["status"].as_str()), (200, Some("EXECUTED")));
    assert_eq!(done["risk_score"], 10);
    assert_eq!(count_actions(&s).await, 1, "one submission, one action");
    let (_, latest) = s.get("/api/sentinel/status", Some(BILLING)).await;
    assert_eq!(latest["action_id"], id);
}

#[tokio::test]
async fn reads_never_wait_on_a_hanging_dial() {
    let telnyx = Fake::telnyx(Mode::Hangs).await;
    let spec = telnyx.telnyx_spec();
    let s = TestServer::start_with(move |mut c| {
        c = c.with_telnyx(spec);
        c.request_timeout = Duration::from_secs(1);
        c
    })
    .await;
    let response = post_raw(&s, SESSION, &pay("session_42", 10_000, "Unknown Corp")).await;
    assert_eq!(response.status().as_u16(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    // The dial is in flight (it never answers).
    assert_eq!(telnyx.hits(), 1);

    for key in [SESSION, ADMIN] {
        let started = Instant::now();
        let (status, view) = s.get(&location, Some(key)).await;
        assert_eq!(status, 200, "{view}");
        assert!(started.elapsed() < Duration::from_millis(500));
        assert_eq!(view["status"], "BLOCKED_AWAITING_AUTH");
        assert_eq!(view["voice"]["call"]["phase"], "dialing");
        assert_eq!(view["voice"]["call"]["call_control_id"], Value::Null);
    }
    let (status, _) = s.get("/api/sentinel/status", Some(SESSION)).await;
    assert_eq!(status, 200);
    let (status, waited) = s
        .get(&format!("{location}/wait?timeout_s=0.2"), Some(SESSION))
        .await;
    assert_eq!((status, waited["terminal"].as_bool()), (200, Some(false)));
}

/// A base URL nothing listens on, with a path that must never reach an agent.
async fn dead_llm() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/internal-llm/v1")
}

#[tokio::test]
async fn agents_never_read_the_scorers_error() {
    let mut llm = Fake::llm(Mode::Works(10)).await;
    llm.base = dead_llm().await;
    let scorer = llm.scorer(Duration::from_secs(2));
    let s = TestServer::start_with(move |mut c| {
        c.spec.scorer = scorer;
        c
    })
    .await;
    let (status, ticket) = s.execute(BILLING, &scored_payment()).await;
    assert_eq!(status, 200, "{ticket}");
    // Failed closed: a human decides.
    assert_eq!(ticket["status"], "BLOCKED_AWAITING_AUTH");
    let told = ticket.to_string();
    assert!(told.contains("risk scorer unavailable"), "{told}");
    for secret in ["internal-llm", "127.0.0.1", "error sending request"] {
        assert!(!told.contains(secret), "`{secret}` in {told}");
    }
    let id = ticket["action_id"].as_str().unwrap();
    let show = format!("/api/sentinel/actions/{id}");
    let (_, agent_view) = s.get(&show, Some(BILLING)).await;
    let (_, legacy) = s.get("/api/sentinel/status", Some(BILLING)).await;
    for text in [agent_view.to_string(), legacy.to_string()] {
        assert!(!text.contains("internal-llm"), "{text}");
        assert!(text.contains("risk scorer unavailable"), "{text}");
    }
    // The admin reads the full record.
    let (_, admin_view) = s.get(&show, Some(ADMIN)).await;
    assert!(
        admin_view["analysis"]
            .as_str()
            .unwrap()
            .contains("internal-llm"),
        "{admin_view}"
    );
}

#[tokio::test]
async fn a_failing_call_is_told_to_agents_in_plain_words() {
    let telnyx = Fake::telnyx(Mode::Fails).await;
    let spec = telnyx.telnyx_spec();
    let s = TestServer::start_with(move |c| c.with_telnyx(spec)).await;
    let (status, ticket) = s
        .execute(SESSION, &pay("session_42", 10_000, "Unknown Corp"))
        .await;
    assert_eq!(
        (status, ticket["status"].as_str()),
        (200, Some("ERROR_TELNYX"))
    );
    let id = ticket["action_id"].as_str().unwrap();
    let (_, view) = s
        .get(&format!("/api/sentinel/actions/{id}"), Some(SESSION))
        .await;
    let last = view["audit_trail"].as_array().unwrap().last().unwrap();
    assert_eq!(last["to"], "ERROR_TELNYX");
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .starts_with("no human could be asked")
    );
    assert!(!view.to_string().contains("upstream exploded"), "{view}");
    assert!(!view.to_string().contains("127.0.0.1"), "{view}");
}

#[tokio::test]
async fn bodies_are_parsed_strictly() {
    let s = TestServer::start().await;
    let repeated = r#"{"agent_id": "billing-bot", "action": "PAY_INVOICE",
        "payload": {"amount": 5, "vendor": "AWS", "amount": 50000}, "reasoning": "x"}"#;
    let (status, body) = s
        .raw(
            reqwest::Method::POST,
            "/api/sentinel/execute",
            Some(BILLING),
            Some(repeated.to_owned()),
        )
        .await;
    assert_eq!((status, code(&body)), (400, "invalid_request"), "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("duplicate key `amount`"), "{message}");
    assert_eq!(body["error"]["field"], "payload.amount");

    let huge = "{\"agent_id\": \"billing-bot\", \"action\": \"PAY_INVOICE\",\n \"payload\": {\"amount\": 123456789012345678901234, \"vendor\": \"AWS\"}}";
    let (status, body) = s
        .raw(
            reqwest::Method::POST,
            "/api/sentinel/execute",
            Some(BILLING),
            Some(huge.to_owned()),
        )
        .await;
    assert_eq!((status, code(&body)), (422, "invalid_action"), "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`123456789012345678901234` at line 2, column 24"),
        "{message}"
    );

    // The resolve body too.
    let (_, t) = s
        .execute(SESSION, &pay("session_1", 10_000, "Unknown Corp"))
        .await;
    let id = t["action_id"].as_str().unwrap();
    let (status, body) = s
        .raw(
            reqwest::Method::POST,
            &format!("/api/sentinel/actions/{id}/resolve"),
            Some(ADMIN),
            Some(r#"{"decision": "decline", "decision": "approve"}"#.to_owned()),
        )
        .await;
    assert_eq!((status, code(&body)), (400, "invalid_request"), "{body}");
    let (_, view) = s
        .get(&format!("/api/sentinel/actions/{id}"), Some(ADMIN))
        .await;
    assert_eq!(view["status"], "BLOCKED_AWAITING_AUTH");
    assert_eq!(
        count_actions(&s).await,
        1,
        "the refused bodies stored nothing"
    );
}

#[tokio::test]
async fn the_api_is_published_as_openapi() {
    let s = TestServer::start().await;
    let (status, doc) = s.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/sentinel/execute", "post"),
        ("/api/sentinel/actions/{id}", "get"),
        ("/api/sentinel/actions/{id}/wait", "get"),
        ("/api/sentinel/actions/{id}/resolve", "post"),
        ("/api/sentinel/status", "get"),
        ("/api/sentinel/events", "get"),
        ("/api/telnyx/webhook", "post"),
        ("/healthz", "get"),
        ("/openapi.json", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    let execute = &paths["/api/sentinel/execute"]["post"]["responses"];
    assert!(
        execute["202"]["headers"]["location"].is_object(),
        "{execute}"
    );
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["ActionView"]["properties"]["audit_trail"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        json!("bearer")
    );
}
