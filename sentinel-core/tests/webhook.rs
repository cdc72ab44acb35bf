//! The `webhook` channel against a fake receiver on 127.0.0.1 that verifies every POST on
//! its own (the HMAC recomputed here with the `hmac` crate, not Sentinel's code): the body's
//! fields and redaction, the signed console link (single use, expiring, forged ones
//! refused), a 500, a receiver that hangs and one that cannot be reached each handing over
//! to the next step with the reason recorded (never the URL or the secret), and the
//! configuration building it all from `[channels.webhooks.NAME]`.

#![cfg(feature = "webhook")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sentinel_core::ladder::{ChannelKind, ConsoleLinks, LinkError, Step, ladder_steps};
use sentinel_core::spec::Env;
use sentinel_core::store::{MemoryStore, Store};
use sentinel_core::{Gateway, GatewaySpec, State};
use serde_json::{Value, json};

mod webhook_support;
use webhook_support::*;

#[tokio::test]
async fn a_webhook_step_posts_a_signed_redacted_body_with_a_single_use_link() {
    let (r, base) = receiver().await;
    let (gw, links) = gateway(
        vec![target(
            "pager",
            &format!("{base}/ok"),
            Duration::from_secs(5),
        )],
        vec![Step::new(
            ChannelKind::Webhook,
            "pager",
            Duration::from_secs(600),
        )],
    );
    let id = gw.submit(hostile_payment()).await.unwrap().action_id;
    wait_until("the POST", || !r.got().is_empty()).await;
    let got = r.got().remove(0);
    assert!(
        got.verified,
        "the signature verifies independently: {got:?}"
    );
    assert_eq!(got.headers["content-type"], "application/json");
    assert!(got.headers["user-agent"].starts_with("sentinel/"));
    assert_eq!(got.headers["x-sentinel-delivery"].len(), 36);
    let body: Value = serde_json::from_slice(&got.body).unwrap();
    let text = String::from_utf8(got.body.clone()).unwrap();
    assert!(
        !text.contains("4111"),
        "the card number left the process: {text}"
    );
    assert_eq!(body["event"], "sentinel.approval_requested");
    assert_eq!(body["version"], 1);
    assert_eq!(body["action_id"], id.to_string());
    assert_eq!(
        body["agent_id"], "session_<b>bold</b>",
        "as sent, flagged untrusted"
    );
    assert_eq!(body["action"], "PAY_INVOICE");
    assert_eq!(body["payload"]["vendor"], "Unknown Corp");
    assert_eq!(body["payload"]["amount"], 10000);
    assert_ne!(body["payload"]["card"], "4111 1111 1111 1111");
    assert_eq!(body["risk_score"], 95);
    assert!(
        body["rules"]
            .as_array()
            .unwrap()
            .contains(&json!("VaultKeeper/unknown-vendor-large-payment")),
        "{body}"
    );
    assert!(body["analysis"].as_str().is_some_and(|a| !a.is_empty()));
    for field in [
        "agent_id",
        "action",
        "payload",
        "reasoning",
        "analysis",
        "summary",
    ] {
        assert!(
            body["untrusted"]
                .as_array()
                .unwrap()
                .contains(&json!(field)),
            "{field} is flagged"
        );
    }
    assert_eq!(
        (
            body["route"].as_str(),
            body["step"].as_u64(),
            body["steps"].as_u64()
        ),
        (Some("payments"), Some(1), Some(1))
    );
    assert_eq!(body["to"], "pager");
    let record = gw.status(id).await.unwrap();
    let deadline = record.deadline.unwrap();
    assert_eq!(
        body["expires_at"],
        deadline.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert_eq!(body["link_expires_at"], body["expires_at"]);
    let left = body["time_left_s"].as_i64().unwrap();
    assert!((170..=180).contains(&left), "{left}");
    assert!(body["step_ends_at"].is_string());

    // The link: under the public URL, naming the action, single use.
    let link = body["link"].as_str().unwrap();
    let token = link
        .strip_prefix(&format!("{PUBLIC}/console/link/"))
        .expect("a console link");
    assert!(body["summary"].as_str().unwrap().ends_with(link));
    let store = gw.store();
    let claim = links.check(token, Utc::now()).unwrap();
    assert_eq!(claim.action_id, id);
    assert_eq!(claim.expires_at.timestamp(), deadline.timestamp());
    assert_eq!(
        links.check(token, deadline + chrono::Duration::seconds(1)),
        Err(LinkError::Expired)
    );
    assert_eq!(
        links
            .peek(store.as_ref(), token, Utc::now())
            .await
            .unwrap()
            .action_id,
        id
    );
    assert_eq!(
        links
            .redeem(store.as_ref(), token, Utc::now())
            .await
            .unwrap()
            .action_id,
        id
    );
    assert_eq!(
        links.redeem(store.as_ref(), token, Utc::now()).await,
        Err(LinkError::Used)
    );
    assert_eq!(
        links.peek(store.as_ref(), token, Utc::now()).await,
        Err(LinkError::Used)
    );
    // Forged: another key's token for the same action.
    let forger = ConsoleLinks::new(PUBLIC, b"not-the-link-key-not-the-link-key!!");
    let forged = forger.token(id, deadline).unwrap();
    assert_eq!(
        links.redeem(store.as_ref(), &forged, Utc::now()).await,
        Err(LinkError::Invalid)
    );
    // Nothing was decided by opening it; the use and the POST are in the trail.
    assert_eq!(
        gw.status(id).await.unwrap().state,
        State::BlockedAwaitingAuth
    );
    // The channel notes the POST once the receiver's answer is in, which can be after the
    // receiver handed the request to this test.
    let posted = |trail: &[sentinel_core::store::AuditEvent]| {
        trail.iter().any(|e| {
            e.channel == "webhook" && e.reason.starts_with("posted to webhook `pager` (HTTP 204)")
        })
    };
    let mut trail = gw.audit_trail(id).await.unwrap();
    let waited = std::time::Instant::now();
    while !posted(&trail) && waited.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        trail = gw.audit_trail(id).await.unwrap();
    }
    assert!(posted(&trail), "the POST is in the trail: {trail:#?}");
    assert_eq!(
        trail.iter().filter(|e| e.channel == "console_link").count(),
        1,
        "one use recorded"
    );
    // The step view reads the ladder's attempts only.
    let steps = ladder_steps(&store.attempts(id).await.unwrap());
    assert_eq!(steps.len(), 1);
    assert_eq!(
        (
            steps[0].channel.as_str(),
            steps[0].to.as_str(),
            steps[0].status.as_str()
        ),
        ("webhook", "pager", "live")
    );
    assert_eq!(
        (steps[0].step, steps[0].of, steps[0].quorum),
        (1, Some(1), Some(2))
    );
}

/// Two handles on one store, as two instances would hold (SQLite: two pools on one file).
async fn instances() -> Vec<(&'static str, Arc<dyn Store>, Arc<dyn Store>)> {
    let memory: Arc<dyn Store> = Arc::new(MemoryStore::new());
    #[allow(unused_mut)]
    let mut out = vec![("memory", Arc::clone(&memory), memory)];
    #[cfg(feature = "sqlite")]
    {
        use sentinel_core::SqlStore;
        let path = std::env::temp_dir().join(format!(
            "sentinel-links-{}.db",
            sentinel_core::ActionId::new()
        ));
        out.push((
            "sqlite",
            Arc::new(SqlStore::open_sqlite(&path).await.unwrap()) as Arc<dyn Store>,
            Arc::new(SqlStore::open_sqlite(&path).await.unwrap()) as Arc<dyn Store>,
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uses_of_one_link_on_two_instances_let_exactly_one_through() {
    for (name, a, b) in instances().await {
        let gw = Gateway::builder()
            .store_arc(Arc::clone(&a))
            .build()
            .unwrap();
        let id = gw.submit(hostile_payment()).await.unwrap().action_id;
        // Both instances configured with the same key.
        let links = Arc::new(ConsoleLinks::new(PUBLIC, LINK_KEY));
        let token = links
            .token(id, Utc::now() + chrono::Duration::seconds(60))
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = if i % 2 == 0 {
                Arc::clone(&a)
            } else {
                Arc::clone(&b)
            };
            let (links, token) = (Arc::clone(&links), token.clone());
            tasks.push(tokio::spawn(async move {
                links.redeem(store.as_ref(), &token, Utc::now()).await
            }));
        }
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(e) => assert_eq!(e, LinkError::Used, "{name}"),
            }
        }
        assert_eq!(ok, 1, "{name}");
        // The use is durable: a fresh check on the other handle says used.
        assert_eq!(
            links.peek(b.as_ref(), &token, Utc::now()).await,
            Err(LinkError::Used),
            "{name}"
        );
    }
}

#[tokio::test]
async fn failing_webhooks_hand_over_to_the_next_step() {
    let (r, base) = receiver().await;
    let refused = closed_port().await;
    let (gw, _) = gateway(
        vec![
            target("down", &format!("{base}/fail"), Duration::from_secs(5)),
            target("slow", &format!("{base}/hang"), Duration::from_millis(300)),
            target("gone", &refused, Duration::from_secs(5)),
            target("moved", &format!("{base}/redirect"), Duration::from_secs(5)),
        ],
        vec![
            Step::new(ChannelKind::Webhook, "down", Duration::from_secs(600)),
            Step::new(ChannelKind::Webhook, "slow", Duration::from_secs(600)),
            Step::new(ChannelKind::Webhook, "gone", Duration::from_secs(600)),
            Step::new(ChannelKind::Webhook, "moved", Duration::from_secs(600)),
            Step::new(ChannelKind::Console, "", Duration::from_secs(600)),
        ],
    );
    let id = gw.submit(hostile_payment()).await.unwrap().action_id;
    let notes = ladder_notes(&gw, id, 9).await;
    let ends: Vec<&String> = notes.iter().filter(|n| n.contains(") ended: ")).collect();
    assert_eq!(
        ends.iter()
            .map(|n| n.split(" ended: ").nth(1).unwrap())
            .collect::<Vec<_>>(),
        [
            "failed: webhook `down` answered HTTP 500",
            "failed: webhook `slow` did not answer within 0.3 s",
            "failed: webhook `gone` cannot be reached",
            "failed: webhook `moved` answered HTTP 307",
        ],
        "{notes:?}"
    );
    assert!(
        notes[8].contains("step 5 of 5 started: console"),
        "{notes:?}"
    );
    let trail = serde_json::to_string(&gw.audit_trail(id).await.unwrap()).unwrap();
    assert!(!trail.contains("127.0.0.1"), "no URL in the trail");
    assert!(!trail.contains(SECRET));
    // Each receiver got one signed POST; the redirect was not followed.
    let paths: Vec<(String, bool)> = r.got().into_iter().map(|g| (g.path, g.verified)).collect();
    assert_eq!(
        paths,
        [
            ("fail".to_owned(), true),
            ("hang".to_owned(), true),
            ("redirect".to_owned(), true)
        ]
    );
    // Still pending: the console decides.
    assert_eq!(
        gw.status(id).await.unwrap().state,
        State::BlockedAwaitingAuth
    );
    let steps = ladder_steps(&gw.store().attempts(id).await.unwrap());
    assert_eq!(
        steps
            .iter()
            .map(|s| s.outcome.as_deref())
            .collect::<Vec<_>>(),
        [
            Some("failed"),
            Some("failed"),
            Some("failed"),
            Some("failed"),
            None
        ]
    );
}

#[tokio::test]
async fn the_last_step_failing_is_no_channel_reached() {
    let (_r, base) = receiver().await;
    let (gw, _) = gateway(
        vec![target(
            "down",
            &format!("{base}/fail"),
            Duration::from_secs(5),
        )],
        vec![Step::new(
            ChannelKind::Webhook,
            "down",
            Duration::from_secs(600),
        )],
    );
    let id = gw.submit(hostile_payment()).await.unwrap().action_id;
    for _ in 0..500 {
        if !gw.status(id).await.unwrap().state.is_pending() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(gw.status(id).await.unwrap().state, State::ErrorApprover);
}

fn spec(extra: &str, public: bool) -> GatewaySpec {
    let server = if public {
        format!("[server]\npublic_url = \"{PUBLIC}/\"\n")
    } else {
        String::new()
    };
    GatewaySpec::from_toml_str(&format!(
        "{server}[[routes]]\nname = \"payments\"\nsteps = [{{ channel = \"webhook\", to = \"pager\", timeout_s = 600 }}]\n{extra}"
    ))
    .unwrap()
}

#[tokio::test]
async fn the_configuration_builds_the_webhook_channel_and_its_links() {
    let (r, base) = receiver().await;
    let key = "k".repeat(40);
    let env = Env::from_map(HashMap::from([
        ("PAGER_URL".to_owned(), format!("{base}/ok")),
        ("PAGER_SECRET".to_owned(), SECRET.to_owned()),
        ("SENTINEL_LINK_KEY".to_owned(), key.clone()),
    ]));
    let s = spec(
        "[channels.webhooks.pager]\nurl_env = \"PAGER_URL\"\nsecret_env = \"PAGER_SECRET\"\ntimeout_s = 2\n",
        true,
    );
    let parts = s.components(&env).unwrap();
    let links = parts.links.clone().expect("the console links");
    assert!(!links.is_ephemeral());
    assert_eq!(links.base_url(), PUBLIC);
    let gw = parts.build().await.unwrap();
    let id = gw.submit(hostile_payment()).await.unwrap().action_id;
    wait_until("the POST", || !r.got().is_empty()).await;
    let got = r.got().remove(0);
    assert!(got.verified);
    let body: Value = serde_json::from_slice(&got.body).unwrap();
    let token = body["link"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    // Signed with the configured key: another process with it checks the link.
    let same = ConsoleLinks::new(PUBLIC, key.as_bytes());
    assert_eq!(same.check(&token, Utc::now()).unwrap().action_id, id);

    // No key configured: a random one of this process.
    let env = Env::from_map(HashMap::from([(
        "PAGER_SECRET".to_owned(),
        SECRET.to_owned(),
    )]));
    let s = spec(
        &format!("[channels.webhooks.pager]\nurl = \"{base}/ok\"\nsecret_env = \"PAGER_SECRET\"\n"),
        true,
    );
    assert!(s.components(&env).unwrap().links.unwrap().is_ephemeral());
}

#[test]
fn bad_webhook_settings_are_named() {
    let env = Env::from_map(HashMap::from([
        ("PAGER_SECRET".to_owned(), SECRET.to_owned()),
        ("SHORT".to_owned(), "short".to_owned()),
    ]));
    let ok = "[channels.webhooks.pager]\nurl = \"https://hooks.example.com/x\"\nsecret_env = \"PAGER_SECRET\"\n";
    let cases: Vec<(String, bool, &str, &str)> = vec![
        (
            ok.to_owned(),
            false,
            "server.public_url",
            "set `server.public_url`",
        ),
        (
            String::new(),
            true,
            "routes[0].steps[0].to",
            "no webhook `pager` is declared",
        ),
        (
            "[channels.webhooks.pager]\nsecret_env = \"PAGER_SECRET\"\n".to_owned(),
            true,
            "channels.webhooks.pager.url",
            "needs `url` or `url_env`",
        ),
        (
            "[channels.webhooks.pager]\nurl = \"ftp://x\"\nsecret_env = \"PAGER_SECRET\"\n"
                .to_owned(),
            true,
            "channels.webhooks.pager.url",
            "is not an http(s) URL",
        ),
        (
            "[channels.webhooks.pager]\nurl = \"https://x\"\n".to_owned(),
            true,
            "channels.webhooks.pager.secret_env",
            "set `secret_env` or `secret_file`",
        ),
        (
            "[channels.webhooks.pager]\nurl = \"https://x\"\nsecret_env = \"NOPE\"\n".to_owned(),
            true,
            "channels.webhooks.pager.secret_env",
            "the variable `NOPE` is not set",
        ),
        (
            format!("{ok}timeout_s = 61\n"),
            true,
            "channels.webhooks.pager.timeout_s",
            "at most 60 seconds",
        ),
        (
            format!("[channels]\nlink_key_env = \"SHORT\"\n{ok}"),
            true,
            "channels.link_key_env",
            "at least 32 bytes",
        ),
        (
            format!("[channels]\nlink_key_env = \"UNSET_KEY\"\n{ok}"),
            true,
            "channels.link_key_env",
            "the variable `UNSET_KEY` is not set",
        ),
    ];
    for (extra, public, key, words) in cases {
        let e = spec(&extra, public).components(&env).unwrap_err();
        assert_eq!(e.key, key, "{extra}: {e}");
        assert!(e.to_string().contains(words), "{extra}: {e}");
        assert!(!e.to_string().contains("short"), "never the value: {e}");
    }
    let e = GatewaySpec::from_toml_str(
        "[channels.webhooks.pager]\nurl = \"https://x\"\nsecret_env = \"S\"\nsecret = \"inline\"\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("secret"), "{e}");
}
