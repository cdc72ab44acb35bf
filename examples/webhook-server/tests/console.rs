//! The console's server side on the real router: operator sign-in (cookie attributes,
//! wrong tokens, expiry, sign-out), CSRF (state-changing requests with the cookie only from
//! the console's own origin), decisions recorded with the operator's name and channel
//! `console`, roles, CORS for other browser clients, the page's security headers, and the
//! read models (queue, timeline, history, overview).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::Method;
use sentinel_core::spec::{Env, OperatorRole};
use sentinel_server::Config;
use serde_json::{Value, json};
use support::{ADMIN, BILLING, SESSION, TestServer, code, pay};

const ALICE: &str = "alice-token-0123456789";
const BOB: &str = "bob-token-0123456789ab";
const VIEWER: &str = "viewer-token-0123456789";

async fn console_server() -> TestServer {
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
async fn with_cookie(
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
async fn sign_in(t: &TestServer, token: &str) -> String {
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

async fn escalate(t: &TestServer, agent: &str) -> String {
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
async fn the_page_ships_in_the_binary_with_a_strict_policy() {
    let t = console_server().await;
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirect
        .get(format!("{}/", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["location"].to_str().unwrap()
        ),
        (303, "/console")
    );
    let r = t
        .http
        .get(format!("{}/console", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"<script type="module" src="/console/assets/main.js">"#),
        "{html}"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from another host"
    );
    for asset in [
        "main.js",
        "console.css",
        "queue.js",
        "feed.js",
        "timeline.js",
        "history.js",
        "overview.js",
        "dom.js",
        "api.js",
    ] {
        let r = t
            .http
            .get(format!("{}/console/assets/{asset}", t.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{asset}");
        let text = r.text().await.unwrap();
        assert!(
            !text.contains("innerHTML"),
            "{asset} must not write HTML from data"
        );
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{asset}: no remote host"
        );
    }
    let r = t
        .http
        .get(format!("{}/console/assets/nope.js", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_listed_origins_only_and_never_with_credentials() {
    let t = console_server().await;
    let preflight = |origin: &'static str| {
        t.http
            .request(Method::OPTIONS, format!("{}/api/sentinel/status", t.base))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let r = preflight("http://dash.example.com").await.unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://dash.example.com"
    );
    assert!(
        r.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    assert!(!r.headers().contains_key("access-control-allow-credentials"));
    let r = preflight("http://evil.example").await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(!r.headers().contains_key("access-control-allow-origin"));

    let r = t
        .http
        .get(format!("{}/api/sentinel/status", t.base))
        .bearer_auth(BILLING)
        .header("origin", "http://dash.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://dash.example.com"
    );
    let r = t
        .http
        .get(format!("{}/api/sentinel/status", t.base))
        .bearer_auth(BILLING)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!r.headers().contains_key("access-control-allow-origin"));
    // The console's own endpoints are never offered cross-origin.
    let r = t
        .http
        .get(format!("{}/console/session", t.base))
        .header("origin", "http://dash.example.com")
        .send()
        .await
        .unwrap();
    assert!(!r.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_timeline_history_and_overview() {
    let t = console_server().await;
    let alice = sign_in(&t, ALICE).await;
    // Redacted in the console: an e-mail in the payload.
    let mut action = pay("session_9", 10_000, "Unknown Corp");
    action["payload"]["contact"] = json!("cfo@example.com");
    let (_, ticket) = t.execute(SESSION, &action).await;
    let id = ticket["action_id"].as_str().unwrap().to_owned();
    let (_, queue, _) = with_cookie(
        &t,
        Method::GET,
        "/console/api/pending",
        Some(&alice),
        None,
        None,
    )
    .await;
    let item = queue
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action_id"] == json!(id))
        .unwrap()
        .clone();
    assert_eq!(item["payload"]["contact"], "[EMAIL]", "{item}");
    assert_eq!(item["risk_score"], 95);
    assert!(item["deadline"].is_string());

    for i in 0..3 {
        t.execute(BILLING, &pay("billing-bot", 100 + i, "AWS"))
            .await;
    }
    let (status, _, _) = with_cookie(
        &t,
        Method::POST,
        &format!("/api/sentinel/actions/{id}/resolve"),
        Some(&alice),
        Some(&t.base),
        Some(json!({"decision": "decline", "reason": "unknown vendor"})),
    )
    .await;
    assert_eq!(status, 200);

    let (status, tl, _) = with_cookie(
        &t,
        Method::GET,
        &format!("/console/api/actions/{id}"),
        Some(&alice),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{tl}");
    assert_eq!(tl["action"]["status"], "DECLINED");
    assert_eq!(tl["action"]["payload"]["contact"], "[EMAIL]");
    assert_eq!(tl["receipt"]["packs"][0]["name"], "VaultKeeper", "{tl}");
    assert!(tl["receipt"]["action_hash"].is_string());
    let trail = tl["action"]["audit_trail"].as_array().unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e["actor"] == "alice" && e["channel"] == "console" && e["to"] == "DECLINED"),
        "{tl}"
    );

    // History: newest first, paginated, filtered.
    let (status, page, _) = with_cookie(
        &t,
        Method::GET,
        "/console/api/actions?limit=2",
        Some(&alice),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["actions"].as_array().unwrap().len(), 2);
    let next = page["next"].as_str().unwrap();
    let (_, older, _) = with_cookie(
        &t,
        Method::GET,
        &format!("/console/api/actions?limit=2&before={next}"),
        Some(&alice),
        None,
        None,
    )
    .await;
    assert_eq!(older["actions"].as_array().unwrap().len(), 2);
    assert!(older["next"].is_null(), "4 actions in all: {older}");
    assert_eq!(older["actions"][1]["action_id"], json!(id));
    let (_, declined, _) = with_cookie(
        &t,
        Method::GET,
        "/console/api/actions?status=DECLINED&agent=session_9",
        Some(&alice),
        None,
        None,
    )
    .await;
    let rows = declined["actions"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0]["decided_by"].as_str(), rows[0]["channel"].as_str()),
        (Some("alice"), Some("console"))
    );
    let (status, body, _) = with_cookie(
        &t,
        Method::GET,
        "/console/api/actions?status=MAYBE",
        Some(&alice),
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("status"))
    );

    let (status, o, _) = with_cookie(
        &t,
        Method::GET,
        "/console/api/overview",
        Some(&alice),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{o}");
    let packs: Vec<_> = o["packs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(packs.contains(&"VaultKeeper"), "{o}");
    assert_eq!(o["pending"], 0);
    let count = |s: &str| {
        o["last_hour"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == s)
            .map_or(0, |c| c["count"].as_u64().unwrap())
    };
    assert_eq!((count("EXECUTED"), count("DECLINED")), (3, 1), "{o}");
    assert_eq!(
        o["scorer_calls"].as_u64().unwrap() + o["scorer_calls_avoided"].as_u64().unwrap(),
        4,
        "{o}"
    );

    // Demo triggers exist in demo mode only.
    let (status, _, _) = with_cookie(
        &t,
        Method::POST,
        "/console/api/demo/vaultkeeper",
        Some(&alice),
        Some(&t.base),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_triggers_submit_as_demo_agents() {
    let t = TestServer::start_with(|c| {
        let mut c = c.with_operator("alice", ALICE);
        c.demo = true;
        c
    })
    .await;
    let alice = sign_in(&t, ALICE).await;
    for (module, agent, action) in [
        ("vaultkeeper", "session_demo", "PAY_INVOICE"),
        ("privacyshield", "data-bot", "EXPORT_CSV"),
        ("opsguard", "ops-bot", "DELETE_USER"),
    ] {
        let (status, body, _) = with_cookie(
            &t,
            Method::POST,
            &format!("/console/api/demo/{module}"),
            Some(&alice),
            Some(&t.base),
            None,
        )
        .await;
        assert_eq!(status, 200, "{module}: {body}");
        assert_eq!(body["status"], "BLOCKED_AWAITING_AUTH", "{module}");
        let (_, view) = t
            .get(
                &format!(
                    "/api/sentinel/actions/{}",
                    body["action_id"].as_str().unwrap()
                ),
                Some(ADMIN),
            )
            .await;
        assert_eq!(
            (view["agent_id"].as_str(), view["action"].as_str()),
            (Some(agent), Some(action))
        );
    }
    let (status, _, _) = with_cookie(
        &t,
        Method::POST,
        "/console/api/demo/vaultkeeper",
        Some(&alice),
        Some("http://evil.example"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = with_cookie(
        &t,
        Method::POST,
        "/console/api/demo/nope",
        Some(&alice),
        Some(&t.base),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[test]
fn operators_come_from_the_file_and_sentinel_operators() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(
        &file,
        "[server]\ncors_origins = [\"https://Dash.example.com/\"]\n\n[[operators]]\nname = \"alice\"\ntoken_env = \"TOK_ALICE\"\nrole = \"viewer\"\n\n[[operators]]\nname = \"carol\"\ntoken_file = \"carol.token\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("carol.token"), "carol-token-0123456789\n").unwrap();
    let env = |pairs: &[(&str, &str)]| {
        let mut map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        map.insert("SENTINEL_CONFIG".into(), file.display().to_string());
        Env::from_map(map)
    };
    let c = Config::from_lookup(env(&[
        ("TOK_ALICE", ALICE),
        ("SENTINEL_OPERATORS", "bob=bob-token-0123456789ab"),
    ]))
    .unwrap();
    let ops: Vec<_> = c
        .operators
        .iter()
        .map(|o| (o.name.as_str(), o.role))
        .collect();
    assert_eq!(
        ops,
        [
            ("alice", OperatorRole::Viewer),
            ("carol", OperatorRole::Approver),
            ("bob", OperatorRole::Approver)
        ]
    );
    assert_eq!(c.cors_origins, ["https://dash.example.com"]);
    assert!(!format!("{c:?}").contains(ALICE), "tokens never in Debug");

    // SENTINEL_OPERATORS overrides a token the file names; SENTINEL_CORS_ORIGINS the origins.
    let c = Config::from_lookup(env(&[
        ("TOK_ALICE", ALICE),
        ("SENTINEL_OPERATORS", "alice=alice-other-0123456789"),
        ("SENTINEL_CORS_ORIGINS", "http://a.test, http://b.test:8080"),
    ]))
    .unwrap();
    assert_eq!(c.operators[0].token.expose(), "alice-other-0123456789");
    assert_eq!(c.operators[0].role, OperatorRole::Viewer);
    assert_eq!(c.cors_origins, ["http://a.test", "http://b.test:8080"]);

    for (pairs, key, needle) in [
        (vec![], "operators[0].token_env", "`TOK_ALICE`"),
        (
            vec![("TOK_ALICE", "short")],
            "operators[0].token_env",
            "at least 16",
        ),
        (
            vec![("TOK_ALICE", ALICE), ("SENTINEL_OPERATORS", "bob=short")],
            "operators",
            "at least 16",
        ),
        (
            vec![
                ("TOK_ALICE", ALICE),
                ("SENTINEL_OPERATORS", "b o b=bob-token-0123456789ab"),
            ],
            "operators",
            "operator name",
        ),
        (
            vec![("TOK_ALICE", ALICE), ("SENTINEL_OPERATORS", "bob")],
            "operators",
            "`name=token`",
        ),
        (
            vec![
                ("TOK_ALICE", ALICE),
                ("SENTINEL_OPERATORS", "bob=carol-token-0123456789"),
            ],
            "operators",
            "must differ",
        ),
        (
            vec![("TOK_ALICE", ALICE), ("SENTINEL_CORS_ORIGINS", "*")],
            "server.cors_origins[0]",
            "not an origin",
        ),
        (
            vec![
                ("TOK_ALICE", ALICE),
                ("SENTINEL_CORS_ORIGINS", "https://x.test/path"),
            ],
            "server.cors_origins[0]",
            "not an origin",
        ),
    ] {
        let e = Config::from_lookup(env(&pairs)).unwrap_err();
        assert_eq!(e.key, key, "{pairs:?}: {e}");
        assert!(e.to_string().contains(needle), "{pairs:?}: {e}");
        assert!(
            !e.to_string().contains("0123456789"),
            "no token in errors: {e}"
        );
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
