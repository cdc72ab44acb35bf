//! The page and its headers, CORS, the queue, timeline, history, overview, demo triggers.

use reqwest::Method;
use serde_json::json;

use crate::kit::*;
use crate::support::{ADMIN, BILLING, SESSION, TestServer, pay};

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
