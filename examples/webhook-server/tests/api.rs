//! The HTTP API on a server started on port 0: every endpoint, authentication, bad input,
//! idempotency, long-poll and the event stream.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn execute_answers_in_the_original_shape() {
    let s = TestServer::start().await;
    let (status, low) = s.execute(BILLING, &pay("billing-bot", 120, "AWS")).await;
    assert_eq!(status, 200, "{low}");
    assert_eq!(low["status"], "EXECUTED");
    assert_eq!(low["risk_score"], 10);
    assert!(low["analysis"].as_str().unwrap().contains("AWS"));
    assert_eq!(
        low["rules"],
        json!(["VaultKeeper/trusted-vendor-small-payment"])
    );
    assert!(low["action_id"].as_str().unwrap().len() == 36);

    let (_, drop) = s.execute(OPS, &json!({"agent_id": "ops-bot", "action": "DROP_TABLE", "payload": {"table": "users"}, "reasoning": ""})).await;
    assert_eq!(
        (drop["status"].as_str(), drop["risk_score"].as_u64()),
        (Some("DECLINED"), Some(100))
    );

    // No approver configured: the escalation waits for /resolve.
    let (_, high) = s
        .execute(SESSION, &pay("session_42", 10_000, "Unknown Corp"))
        .await;
    assert_eq!(high["status"], "BLOCKED_AWAITING_AUTH");
    assert_eq!(high["risk_score"], 95);
    assert!(high["deadline"].is_string());
}

#[tokio::test]
async fn show_status_resolve_and_wait() {
    let s = TestServer::start().await;
    let (_, t) = s
        .execute(SESSION, &pay("session_42", 10_000, "Unknown Corp"))
        .await;
    let id = t["action_id"].as_str().unwrap().to_owned();

    let (status, view) = s
        .get(&format!("/api/sentinel/actions/{id}"), Some(SESSION))
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "BLOCKED_AWAITING_AUTH");
    assert_eq!(view["approval"], Value::Null);
    let trail: Vec<&str> = view["audit_trail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to"].as_str().unwrap())
        .collect();
    assert_eq!(trail, ["RECEIVED", "ANALYZING", "BLOCKED_AWAITING_AUTH"]);

    // A short long-poll times out with the action still pending.
    let started = Instant::now();
    let (status, waited) = s
        .get(
            &format!("/api/sentinel/actions/{id}/wait?timeout_s=0.3"),
            Some(SESSION),
        )
        .await;
    assert_eq!((status, waited["terminal"].as_bool()), (200, Some(false)));
    assert!(started.elapsed() >= Duration::from_millis(290));

    // A long one returns as soon as the admin decides.
    let poll = s.long_poll(SESSION, &id);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let body = json!({"decision": "approve", "reason": "vendor verified by phone", "by": "alice"});
    let (status, resolved) = s
        .post(
            &format!("/api/sentinel/actions/{id}/resolve"),
            Some(ADMIN),
            &body,
        )
        .await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["status"], "APPROVED");
    let waited = poll.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the long-poll should wake at once"
    );
    assert_eq!(waited["status"], "APPROVED");
    assert_eq!(waited["terminal"], true);
    let approval = &waited["approval"];
    assert_eq!(
        (approval["by"].as_str(), approval["channel"].as_str()),
        (Some("alice"), Some("web"))
    );
    assert_eq!(approval["reason"], "vendor verified by phone");
    assert!(approval["at"].is_string());
    let last = waited["audit_trail"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["to"].as_str(), last["actor"].as_str()),
        (Some("APPROVED"), Some("alice"))
    );

    // Deciding twice is refused.
    let (status, again) = s
        .post(
            &format!("/api/sentinel/actions/{id}/resolve"),
            Some(ADMIN),
            &json!({"decision": "decline"}),
        )
        .await;
    assert_eq!((status, code(&again)), (409, "already_decided"));

    // The original status endpoint: the admin sees the latest action of all.
    let (status, legacy) = s.get("/api/sentinel/status", Some(ADMIN)).await;
    assert_eq!(status, 200);
    assert_eq!(legacy["status"], "APPROVED");
    assert_eq!(legacy["risk_score"], 95);
    for key in ["analysis", "last_digit", "last_question", "last_answer"] {
        assert!(legacy.get(key).is_some(), "{key} missing: {legacy}");
    }
}

#[tokio::test]
async fn status_is_per_agent_and_idle_at_first() {
    let s = TestServer::start().await;
    let (_, idle) = s.get("/api/sentinel/status", Some(BILLING)).await;
    assert_eq!(idle["status"], "IDLE");
    s.execute(BILLING, &pay("billing-bot", 120, "AWS")).await;
    s.execute(SESSION, &pay("session_1", 10_000, "Unknown Corp"))
        .await;
    let (_, mine) = s.get("/api/sentinel/status", Some(BILLING)).await;
    assert_eq!(
        mine["status"], "EXECUTED",
        "an agent sees its own latest action, not another's"
    );
    let (_, all) = s.get("/api/sentinel/status", Some(ADMIN)).await;
    assert_eq!(all["status"], "BLOCKED_AWAITING_AUTH");
}

#[tokio::test]
async fn authentication_and_authorization() {
    let s = TestServer::start().await;
    let (_, t) = s
        .execute(SESSION, &pay("session_42", 10_000, "Unknown Corp"))
        .await;
    let id = t["action_id"].as_str().unwrap().to_owned();
    let show = format!("/api/sentinel/actions/{id}");
    let resolve = format!("/api/sentinel/actions/{id}/resolve");
    let approve = json!({"decision": "approve"});

    // No key, a malformed header, a wrong key: 401 everywhere but health and webhooks.
    for path in [
        "/api/sentinel/status",
        show.as_str(),
        "/api/sentinel/events",
    ] {
        assert_eq!(s.get(path, None).await.0, 401, "{path}");
        let (status, body) = s.get(path, Some("not-a-key-0123456789")).await;
        assert_eq!((status, code(&body)), (401, "unauthorized"), "{path}");
    }
    let response = s
        .http
        .get(format!("{}{show}", s.base))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        s.post("/api/sentinel/execute", None, &pay("billing-bot", 1, "AWS"))
            .await
            .0,
        401
    );

    // Another agent's action looks unknown; the owning agent and the admin see it.
    let (status, body) = s.get(&show, Some(BILLING)).await;
    assert_eq!((status, code(&body)), (404, "not_found"));
    assert_eq!(
        s.get(&format!("{show}/wait?timeout_s=0"), Some(BILLING))
            .await
            .0,
        404
    );
    assert_eq!(s.get(&show, Some(SESSION)).await.0, 200);
    assert_eq!(s.get(&show, Some(ADMIN)).await.0, 200);

    // Agents cannot resolve, stream events or submit as another agent; the admin cannot submit.
    let (status, body) = s.post(&resolve, Some(SESSION), &approve).await;
    assert_eq!((status, code(&body)), (403, "forbidden"));
    assert_eq!(s.get("/api/sentinel/events", Some(BILLING)).await.0, 403);
    let (status, body) = s.execute(BILLING, &pay("ops-bot", 1, "AWS")).await;
    assert_eq!(
        (status, code(&body), body["error"]["field"].as_str()),
        (403, "forbidden", Some("agent_id"))
    );
    assert_eq!(s.execute(ADMIN, &pay("billing-bot", 1, "AWS")).await.0, 403);
    // The `session_*` key covers every session id, and nothing else.
    assert_eq!(
        s.execute(SESSION, &pay("session_99", 1, "AWS")).await.0,
        200
    );
    assert_eq!(
        s.execute(SESSION, &pay("billing-bot", 1, "AWS")).await.0,
        403
    );

    // Still pending: nothing an unauthorised caller did changed it.
    let (_, view) = s.get(&show, Some(ADMIN)).await;
    assert_eq!(view["status"], "BLOCKED_AWAITING_AUTH");
    assert_eq!(s.post(&resolve, Some(ADMIN), &approve).await.0, 200);
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_stores_nothing() {
    let s = TestServer::start().await;
    let valid = pay("billing-bot", 120, "AWS");
    let with = |key: &str, value: Value| {
        let mut v = valid.clone();
        v[key] = value;
        v.to_string()
    };
    let without = |key: &str| {
        let mut v = valid.clone();
        v.as_object_mut().unwrap().remove(key);
        v.to_string()
    };
    let big = json!({"agent_id": "billing-bot", "action": "PAY_INVOICE", "payload": {"blob": "x".repeat(5000)}, "reasoning": ""});
    // (body, status, code, field)
    let cases: Vec<(String, u16, &str, Option<&str>)> = vec![
        ("{\"agent_id\": ".to_owned(), 400, "invalid_request", None),
        ("not json".to_owned(), 400, "invalid_request", None),
        (String::new(), 400, "invalid_request", None),
        ("[1, 2]".to_owned(), 422, "invalid_action", None),
        (without("agent_id"), 422, "invalid_action", Some("agent_id")),
        (without("action"), 422, "invalid_action", Some("action")),
        (without("payload"), 422, "invalid_action", Some("payload")),
        (
            without("reasoning"),
            422,
            "invalid_action",
            Some("reasoning"),
        ),
        (
            with("agent_id", json!(7)),
            422,
            "invalid_action",
            Some("agent_id"),
        ),
        (
            with("action", json!("")),
            422,
            "invalid_action",
            Some("action"),
        ),
        (
            with("payload", json!("amount=5")),
            422,
            "invalid_action",
            Some("payload"),
        ),
        (
            with("reasoning", json!(["a"])),
            422,
            "invalid_action",
            Some("reasoning"),
        ),
        (
            with("idempotency_key", json!(12)),
            422,
            "invalid_action",
            Some("idempotency_key"),
        ),
        (
            with("agentId", json!("billing-bot")),
            422,
            "invalid_action",
            Some("agentId"),
        ),
        (big.to_string(), 413, "payload_too_large", None),
    ];
    for (body, status, want_code, field) in cases {
        let (got, answer) = s
            .raw(
                Method::POST,
                "/api/sentinel/execute",
                Some(BILLING),
                Some(body.clone()),
            )
            .await;
        let shown: String = body.chars().take(60).collect();
        assert_eq!(got, status, "{shown}: {answer}");
        assert_eq!(code(&answer), want_code, "{shown}: {answer}");
        assert_eq!(
            answer["error"]["field"].as_str(),
            field,
            "{shown}: {answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap();
        if let Some(field) = field {
            assert!(message.contains(&format!("`{field}`")), "{message}");
        }
        assert_eq!(
            message.chars().next().unwrap(),
            message.chars().next().unwrap().to_ascii_lowercase(),
            "{message}"
        );
    }
    assert!(
        s.store_is_empty().await,
        "a rejected request stored something"
    );

    // Unknown and malformed ids, bad query parameters, bad resolve bodies, unknown paths.
    let unknown = "01900000-0000-7000-8000-000000000000";
    let (status, body) = s
        .get(&format!("/api/sentinel/actions/{unknown}"), Some(ADMIN))
        .await;
    assert_eq!((status, code(&body)), (404, "not_found"));
    assert!(body["error"]["message"].as_str().unwrap().contains(unknown));
    let (status, body) = s.get("/api/sentinel/actions/nope", Some(ADMIN)).await;
    assert_eq!(
        (status, code(&body), body["error"]["field"].as_str()),
        (400, "invalid_action", Some("id"))
    );
    let (status, body) = s
        .get(
            &format!("/api/sentinel/actions/{unknown}/wait?timeout_s=soon"),
            Some(ADMIN),
        )
        .await;
    assert_eq!(
        (status, code(&body), body["error"]["field"].as_str()),
        (422, "invalid_request", Some("timeout_s"))
    );
    let resolve = format!("/api/sentinel/actions/{unknown}/resolve");
    let (status, body) = s
        .post(&resolve, Some(ADMIN), &json!({"decision": "maybe"}))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("decision"))
    );
    let (status, body) = s.post(&resolve, Some(ADMIN), &json!({"reason": "x"})).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("decision"))
    );
    let (status, body) = s
        .post(&resolve, Some(ADMIN), &json!({"decision": "approve"}))
        .await;
    assert_eq!((status, code(&body)), (404, "not_found"));
    let (status, body) = s.get("/api/sentinel/nothing-here", Some(ADMIN)).await;
    assert_eq!((status, code(&body)), (404, "not_found"));
    let (status, body) = s
        .raw(Method::DELETE, "/api/sentinel/execute", Some(BILLING), None)
        .await;
    assert_eq!((status, code(&body)), (405, "invalid_request"));
    assert!(s.store_is_empty().await);
}

#[tokio::test]
async fn idempotency_same_body_same_action_different_body_conflict() {
    let s = TestServer::start().await;
    let mut first = pay("session_7", 10_000, "Unknown Corp");
    first["idempotency_key"] = json!("invoice-117");
    let (_, a) = s.execute(SESSION, &first).await;
    assert_eq!(a["replayed"], false);
    let (status, b) = s.execute(SESSION, &first).await;
    assert_eq!(status, 200);
    assert_eq!(
        (b["action_id"].clone(), b["replayed"].clone()),
        (a["action_id"].clone(), json!(true))
    );
    assert_eq!(b["status"], "BLOCKED_AWAITING_AUTH");

    let mut changed = first.clone();
    changed["payload"]["amount"] = json!(20_000);
    let (status, c) = s.execute(SESSION, &changed).await;
    assert_eq!(
        (status, code(&c), c["error"]["field"].as_str()),
        (409, "idempotency_conflict", Some("idempotency_key"))
    );
    // Key order does not matter: the same action written differently is the same action.
    let reordered = r#"{"reasoning":"test","payload":{"vendor":"Unknown Corp","amount":10000},"idempotency_key":"invoice-117","action":"PAY_INVOICE","agent_id":"session_7"}"#;
    let (_, d) = s
        .raw(
            Method::POST,
            "/api/sentinel/execute",
            Some(SESSION),
            Some(reordered.to_owned()),
        )
        .await;
    assert_eq!(d["action_id"], a["action_id"]);
}

#[tokio::test]
async fn events_stream_lifecycle_changes_over_sse() {
    let s = TestServer::start().await;
    let mut stream = s
        .http
        .get(format!("{}/api/sentinel/events", s.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let (_, t) = s
        .execute(SESSION, &pay("session_42", 10_000, "Unknown Corp"))
        .await;
    let id = t["action_id"].as_str().unwrap().to_owned();
    s.post(
        &format!("/api/sentinel/actions/{id}/resolve"),
        Some(ADMIN),
        &json!({"decision": "decline", "reason": "no"}),
    )
    .await;

    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while text.matches("event: lifecycle").count() < 4 && Instant::now() < deadline {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let events: Vec<Value> = text
        .split("\n\n")
        .filter(|frame| frame.contains("event: lifecycle"))
        .map(|frame| {
            serde_json::from_str(
                frame
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap(),
            )
            .unwrap()
        })
        .collect();
    let states: Vec<&str> = events.iter().map(|e| e["to"].as_str().unwrap()).collect();
    assert_eq!(
        states,
        ["RECEIVED", "ANALYZING", "BLOCKED_AWAITING_AUTH", "DECLINED"],
        "{text}"
    );
    assert!(events.iter().all(|e| e["action_id"] == json!(id)));
    assert_eq!(events[3]["actor"], "admin");

    // Shutdown ends the stream (and the server stops).
    s.server.shutdown().await.unwrap();
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the event stream did not end at shutdown");
}

#[tokio::test]
async fn healthz_and_webhooks_without_voice() {
    let s = TestServer::start().await;
    let (status, health) = s.get("/healthz", None).await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["scorer"], "offline");
    assert_eq!(health["approver"], Value::Null);
    let (status, body) = s
        .post("/api/telnyx/webhook", None, &json!({"data": {}}))
        .await;
    assert_eq!((status, code(&body)), (404, "unsupported"));
}

#[tokio::test]
async fn escalations_expire_after_the_configured_timeout() {
    let s = TestServer::start_with(|c| c.with_escalation_timeout(Duration::from_secs(1))).await;
    let (_, t) = s
        .execute(SESSION, &pay("session_42", 10_000, "Unknown Corp"))
        .await;
    let id = t["action_id"].as_str().unwrap();
    let (_, waited) = s
        .get(
            &format!("/api/sentinel/actions/{id}/wait?timeout_s=5"),
            Some(SESSION),
        )
        .await;
    assert_eq!(waited["status"], "EXPIRED");
}

#[tokio::test]
async fn pending_actions_survive_a_restart_on_the_same_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let first = sentinel_server::start(config(&dir), listener)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let t: Value = http
        .post(format!("{}/api/sentinel/execute", first.url()))
        .bearer_auth(SESSION)
        .json(&pay("session_42", 10_000, "Unknown Corp"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    first.shutdown().await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let second = sentinel_server::start(config(&dir), listener)
        .await
        .unwrap();
    assert!(
        second
            .banner()
            .iter()
            .any(|l| l.contains("1 pending approvals recovered")),
        "{:?}",
        second.banner()
    );
    let id = t["action_id"].as_str().unwrap();
    let resolved: Value = http
        .post(format!(
            "{}/api/sentinel/actions/{id}/resolve",
            second.url()
        ))
        .bearer_auth(ADMIN)
        .json(&json!({"decision": "approve"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resolved["status"], "APPROVED");
    second.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_pins_the_audit_chain_with_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = sentinel_server::start(config(&dir), listener)
        .await
        .unwrap();
    reqwest::Client::new()
        .post(format!("{}/api/sentinel/execute", server.url()))
        .bearer_auth(SESSION)
        .json(&pay("session_7", 10_000, "Unknown Corp"))
        .send()
        .await
        .unwrap();
    server.shutdown().await.unwrap();
    let store = sentinel_core::SqlStore::open_sqlite(dir.path().join("test.db"))
        .await
        .unwrap();
    let checkpoints = sentinel_core::Store::checkpoints(&store).await.unwrap();
    let head = sentinel_core::Store::audit_head(&store).await.unwrap();
    assert_eq!(
        checkpoints.last().map(|c| (c.seq, c.hash.clone())),
        head,
        "the last checkpoint is the head the server left"
    );
}
