//! Signing in and out, CSRF, roles, `Secure` cookies, the event stream.

use reqwest::Method;
use serde_json::json;

use crate::kit::*;
use crate::support::{ADMIN, SESSION, TestServer, code};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_sign_in_and_decide_under_their_name_through_the_console() {
    let t = console_server().await;
    // A wrong token is refused; so is a body that is not `{"token"}`.
    let (status, body, _) = with_cookie(
        &t,
        Method::POST,
        "/console/session",
        None,
        Some(&t.base),
        Some(json!({"token": "not-an-operator-token"})),
    )
    .await;
    assert_eq!((status, code(&body)), (401, "unauthorized"));
    let (status, _, _) = with_cookie(
        &t,
        Method::POST,
        "/console/session",
        None,
        Some(&t.base),
        Some(json!({"token": ADMIN})),
    )
    .await;
    assert_eq!(status, 401, "the admin token is not an operator's");
    let (status, body, _) = with_cookie(
        &t,
        Method::POST,
        "/console/session",
        None,
        Some(&t.base),
        Some(json!({"tok": ALICE})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("token"))
    );

    let alice = sign_in(&t, ALICE).await;
    let (status, me, _) = with_cookie(
        &t,
        Method::GET,
        "/console/session",
        Some(&alice),
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, me["operator"].as_str(), me["role"].as_str()),
        (200, Some("alice"), Some("approver"))
    );

    let id = escalate(&t, "session_1").await;
    // The queue shows it.
    let (status, queue, _) = with_cookie(
        &t,
        Method::GET,
        "/console/api/pending",
        Some(&alice),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        queue
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action_id"] == json!(id)),
        "{queue}"
    );

    // An operator decides under their own name only.
    let path = format!("/api/sentinel/actions/{id}/resolve");
    let (status, body, _) = with_cookie(
        &t,
        Method::POST,
        &path,
        Some(&alice),
        Some(&t.base),
        Some(json!({"decision": "approve", "by": "bob"})),
    )
    .await;
    assert_eq!((status, code(&body)), (403, "forbidden"), "{body}");
    let (status, body, _) = with_cookie(
        &t,
        Method::POST,
        &path,
        Some(&alice),
        Some(&t.base),
        Some(json!({"decision": "approve", "reason": "vendor verified by phone"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, view) = t
        .get(&format!("/api/sentinel/actions/{id}"), Some(ADMIN))
        .await;
    assert_eq!(view["status"], "APPROVED");
    assert_eq!(
        (
            view["approval"]["by"].as_str(),
            view["approval"]["channel"].as_str(),
            view["approval"]["reason"].as_str()
        ),
        (
            Some("alice"),
            Some("console"),
            Some("vendor verified by phone")
        )
    );

    // With the operator's token as a bearer key: their name, channel `web`.
    let other = escalate(&t, "session_2").await;
    let (status, body) = t
        .post(
            &format!("/api/sentinel/actions/{other}/resolve"),
            Some(BOB),
            &json!({"decision": "decline", "reason": "no"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["approval"]["by"].as_str(),
            body["approval"]["channel"].as_str()
        ),
        (Some("bob"), Some("web"))
    );

    // Signing out ends the session.
    let (status, _, headers) = with_cookie(
        &t,
        Method::DELETE,
        "/console/session",
        Some(&alice),
        Some(&t.base),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(
        headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, body, _) = with_cookie(
        &t,
        Method::GET,
        "/console/api/pending",
        Some(&alice),
        None,
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (401, "unauthorized"));
    // A made-up cookie is no session either.
    let (status, _, _) = with_cookie(
        &t,
        Method::GET,
        "/console/session",
        Some("forged"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_requests_from_another_origin_change_nothing() {
    let t = console_server().await;
    let alice = sign_in(&t, ALICE).await;
    let id = escalate(&t, "session_3").await;
    let path = format!("/api/sentinel/actions/{id}/resolve");
    let approve = json!({"decision": "approve"});
    for origin in [
        Some("http://evil.example"),
        Some("null"),
        Some("http://dash.example.com"),
        None,
    ] {
        let (status, body, _) = with_cookie(
            &t,
            Method::POST,
            &path,
            Some(&alice),
            origin,
            Some(approve.clone()),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (403, "forbidden"),
            "origin {origin:?}: {body}"
        );
    }
    // Signing in and out from another origin are refused too (login CSRF).
    let (status, _, _) = with_cookie(
        &t,
        Method::POST,
        "/console/session",
        None,
        Some("http://evil.example"),
        Some(json!({"token": ALICE})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = with_cookie(
        &t,
        Method::DELETE,
        "/console/session",
        Some(&alice),
        Some("http://evil.example"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (_, view) = t
        .get(&format!("/api/sentinel/actions/{id}"), Some(ADMIN))
        .await;
    assert_eq!(
        view["status"], "BLOCKED_AWAITING_AUTH",
        "nothing was decided"
    );
    // Reads with the cookie work from anywhere (answers are not readable cross-origin: no
    // CORS credentials), and the session still works on its own origin.
    let (status, _, _) = with_cookie(
        &t,
        Method::GET,
        "/console/session",
        Some(&alice),
        Some("http://evil.example"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = with_cookie(
        &t,
        Method::DELETE,
        "/console/session",
        Some(&alice),
        Some(&t.base),
        None,
    )
    .await;
    assert_eq!(status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_see_but_do_not_decide_and_agents_see_no_console_data() {
    let t = console_server().await;
    let vera = sign_in(&t, VIEWER).await;
    let id = escalate(&t, "session_4").await;
    let (status, timeline, _) = with_cookie(
        &t,
        Method::GET,
        &format!("/console/api/actions/{id}"),
        Some(&vera),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{timeline}");
    let (status, body, _) = with_cookie(
        &t,
        Method::POST,
        &format!("/api/sentinel/actions/{id}/resolve"),
        Some(&vera),
        Some(&t.base),
        Some(json!({"decision": "approve"})),
    )
    .await;
    assert_eq!((status, code(&body)), (403, "forbidden"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`approver` role"),
        "{body}"
    );
    for path in [
        "/console/api/pending",
        "/console/api/overview",
        "/console/api/actions",
        &format!("/console/api/actions/{id}"),
    ] {
        let (status, body) = t.get(path, Some(SESSION)).await;
        assert_eq!((status, code(&body)), (403, "forbidden"), "{path}");
        let (status, _) = t.get(path, None).await;
        assert_eq!(status, 401, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_behind_https_and_the_public_origin_is_the_console_s() {
    let t = TestServer::start_with(|c| {
        let mut c = c.with_operator("alice", ALICE);
        c.public_url = Some("https://sentinel.example.com".into());
        c
    })
    .await;
    let (status, body, headers) = with_cookie(
        &t,
        Method::POST,
        "/console/session",
        None,
        Some("https://sentinel.example.com"),
        Some(json!({"token": ALICE})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let set = headers["set-cookie"].to_str().unwrap();
    assert!(
        set.contains("; Secure") && set.contains("HttpOnly"),
        "{set}"
    );
    // Behind a proxy that says https, without a public URL: Secure too.
    let t = TestServer::start_with(|c| c.with_operator("alice", ALICE)).await;
    let r = t
        .http
        .post(format!("{}/console/session", t.base))
        .header("origin", &t.base)
        .header("x-forwarded-proto", "https")
        .header("content-type", "application/json")
        .body(json!({"token": ALICE}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_operators_follow_the_event_stream() {
    let t = console_server().await;
    let alice = sign_in(&t, ALICE).await;
    let mut stream = t
        .http
        .get(format!("{}/api/sentinel/events", t.base))
        .header("cookie", format!("sentinel_session={alice}"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let id = escalate(&t, "session_5").await;
    let mut seen = String::new();
    while !seen.contains("BLOCKED_AWAITING_AUTH") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), stream.chunk())
            .await
            .expect("an event within 5 s")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        seen.contains("event: lifecycle") && seen.contains(&id),
        "{seen}"
    );
    // Without a session: 401, as without a bearer key.
    let r = t
        .http
        .get(format!("{}/api/sentinel/events", t.base))
        .header("cookie", "sentinel_session=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}
