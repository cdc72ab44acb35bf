//! The Slack channel against a fake Slack Web API on 127.0.0.1 that records every request:
//! the approval message (token, channel, Block Kit buttons, agent text only in plain_text
//! and escaped in the fallback, redacted), signed interactions (forged, stale, replayed and
//! unbound users change nothing), the decision recorded as the bound operator via `slack`,
//! the message updated, and a Slack API error handing over to the next step.

#![cfg(feature = "slack")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::time::Duration;

use sentinel_core::State;
use sentinel_core::ladder::{ChannelKind, Step};
use sentinel_core::slack::{Decided, SlackError, VerifyError, sign};
use sentinel_core::store::AuditKind;
use serde_json::json;

mod slack_support;
use slack_support::*;

#[tokio::test]
async fn the_message_is_posted_with_buttons_and_agent_text_neutralised() {
    let (fake, base) = fake_slack().await;
    let slack = slack_channel(&base);
    let gw = gateway(
        &slack,
        vec![Step::new(
            ChannelKind::Slack,
            "#payments-oncall",
            Duration::from_secs(600),
        )],
    );
    let id = gw.submit(hostile_payment()).await.unwrap().action_id;
    let post = wait_for(&fake, "chat.postMessage", 1).await.remove(0);
    let (_, auth, content_type, _) = fake.calls.lock().unwrap()[0].clone();
    assert_eq!(auth, format!("Bearer {TOKEN}"));
    assert_eq!(content_type, "application/json; charset=utf-8");
    assert_eq!(post["channel"], "#payments-oncall");
    assert_eq!(post["unfurl_links"], false);
    // The notification text is mrkdwn: escaped, no mention.
    let fallback = post["text"].as_str().unwrap();
    assert_eq!(
        fallback,
        "Approval needed: PAY_INVOICE by session_&lt;!channel&gt; (risk 95)"
    );
    // Agent text appears only in plain_text objects.
    let mut all = Vec::new();
    texts(&post["blocks"], "", &mut all);
    for (kind, text) in &all {
        if text.contains("<!channel>") || text.contains("@here") || text.contains("evil") {
            assert_eq!(kind, "plain_text", "{text}");
        }
    }
    assert!(all.iter().all(|(k, _)| k == "plain_text"), "{all:?}");
    let body = post.to_string();
    assert!(
        !body.contains("4111"),
        "the card number left the process: {body}"
    );
    assert!(body.contains("Risk: 95/100"));
    assert!(body.contains("VaultKeeper/unknown-vendor-large-payment"));
    let buttons = post["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .unwrap();
    assert_eq!(buttons["block_id"], "sentinel_decision");
    let approve = &buttons["elements"][0];
    let decline = &buttons["elements"][1];
    assert_eq!(
        (
            approve["action_id"].as_str(),
            approve["style"].as_str(),
            approve["text"]["text"].as_str()
        ),
        (Some("sentinel_approve"), Some("primary"), Some("Approve"))
    );
    assert_eq!(
        (
            decline["action_id"].as_str(),
            decline["style"].as_str(),
            decline["text"]["text"].as_str()
        ),
        (Some("sentinel_decline"), Some("danger"), Some("Decline"))
    );
    assert_eq!(approve["value"], id.to_string());
    assert!(approve["confirm"]["confirm"]["text"] == "Approve" && decline.get("confirm").is_none());
    // The channel notes the post once Slack's answer is in, which can be after the fake
    // handed the request to this test.
    let waited = std::time::Instant::now();
    let notes = loop {
        let notes: Vec<_> = gw
            .audit_trail(id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == AuditKind::Note && e.channel == "slack")
            .map(|e| e.reason)
            .collect();
        if !notes.is_empty() || waited.elapsed() > Duration::from_secs(10) {
            break notes;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(notes, [format!("posted to Slack `C0PAY` (message {TS})")]);
}

#[tokio::test]
async fn signed_interactions_decide_and_forged_ones_change_nothing() {
    let (fake, base) = fake_slack().await;
    let slack = slack_channel(&base);
    let gw = gateway(
        &slack,
        vec![Step::new(
            ChannelKind::Slack,
            "#payments-oncall",
            Duration::from_secs(600),
        )],
    );
    let id = gw.submit(hostile_payment()).await.unwrap().action_id;
    wait_for(&fake, "chat.postMessage", 1).await;
    let body = interaction(id, "U0ALICE", "sentinel_approve");
    let ts = now().to_string();
    let good = sign(SECRET.as_bytes(), &ts, &body);

    // Forged: another secret, a changed body, a stale timestamp, no signature.
    let forged = sign(b"not the secret", &ts, &body);
    let refused = [
        slack.interaction(Some(&ts), Some(&forged), &body, now()),
        slack.interaction(
            Some(&ts),
            Some(&good),
            &interaction(id, "U0ALICE", "sentinel_decline"),
            now(),
        ),
        slack.interaction(Some(&ts), Some(&good), &body, now() + 301),
        slack.interaction(Some(&ts), None, &body, now()),
    ];
    for r in &refused {
        assert!(matches!(r, Err(SlackError::Unverified(_))), "{r:?}");
    }
    assert!(matches!(
        refused[2],
        Err(SlackError::Unverified(VerifyError::Stale(_)))
    ));
    assert_eq!(
        gw.status(id).await.unwrap().state,
        State::BlockedAwaitingAuth
    );

    // A user bound to no operator is told so; nothing changes.
    let bob = interaction(id, "U0BOB", "sentinel_approve");
    let bob_sig = sign(SECRET.as_bytes(), &ts, &bob);
    let pressed = slack
        .interaction(Some(&ts), Some(&bob_sig), &bob, now())
        .unwrap();
    assert_eq!(slack.decide(&pressed).await.unwrap(), Decided::Unmapped);
    let told = fake.calls("chat.postEphemeral").remove(0);
    assert_eq!(
        (told["user"].as_str(), told["channel"].as_str()),
        (Some("U0BOB"), Some("C0PAY"))
    );
    assert!(
        told["text"]
            .as_str()
            .unwrap()
            .contains("not bound to a Sentinel operator")
    );
    assert_eq!(
        gw.status(id).await.unwrap().state,
        State::BlockedAwaitingAuth
    );

    // Alice approves: recorded as alice via slack; the message shows it.
    let pressed = slack
        .interaction(Some(&ts), Some(&good), &body, now())
        .unwrap();
    assert_eq!(
        (pressed.approve, pressed.user.as_str(), pressed.ts.as_str()),
        (true, "U0ALICE", TS)
    );
    let decided = slack.decide(&pressed).await.unwrap();
    assert_eq!(
        decided,
        Decided::Recorded {
            operator: "alice".to_owned(),
            pending: false
        }
    );
    let record = gw.status(id).await.unwrap();
    assert_eq!(record.state, State::Approved);
    let a = record.approval.unwrap();
    assert_eq!((a.by.as_str(), a.channel.as_str()), ("alice", "slack"));
    let update = fake.calls("chat.update").remove(0);
    assert_eq!(
        (update["channel"].as_str(), update["ts"].as_str()),
        (Some("C0PAY"), Some(TS))
    );
    assert_eq!(update["text"], "APPROVED by alice via Slack.");
    assert!(
        update.to_string().find("sentinel_approve").is_none(),
        "the buttons are gone"
    );

    // The same request replayed: nothing changes.
    let again = slack
        .interaction(Some(&ts), Some(&good), &body, now())
        .unwrap();
    assert!(matches!(
        slack.decide(&again).await.unwrap(),
        Decided::Refused(_)
    ));
    assert_eq!(gw.status(id).await.unwrap().approval.unwrap().by, "alice");
}

#[tokio::test]
async fn a_slack_api_error_hands_over_to_the_next_step() {
    let (fake, base) = fake_slack().await;
    fake.failing
        .lock()
        .unwrap()
        .push("chat.postMessage".to_owned());
    let slack = slack_channel(&base);
    let gw = gateway(
        &slack,
        vec![
            Step::new(ChannelKind::Slack, "#gone", Duration::from_secs(600)),
            Step::new(ChannelKind::Console, "", Duration::from_secs(600)),
        ],
    );
    let id = gw.submit(hostile_payment()).await.unwrap().action_id;
    let mut notes = Vec::new();
    for _ in 0..200 {
        notes = gw
            .audit_trail(id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.channel == "ladder")
            .map(|e| e.reason)
            .collect();
        if notes.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        notes[1].ends_with(
            "(slack) ended: failed: slack refused `chat.postMessage`: channel_not_found"
        ),
        "{notes:?}"
    );
    assert!(
        notes[2].contains("step 2 of 2 started: console"),
        "{notes:?}"
    );
    assert_eq!(
        gw.status(id).await.unwrap().state,
        State::BlockedAwaitingAuth
    );
}

#[tokio::test]
async fn the_configuration_builds_the_slack_channel() {
    let (fake, base) = fake_slack().await;
    let text = format!(
        r##"
        [[routes]]
        name = "payments"
        when = {{ modules = ["VaultKeeper"] }}
        steps = [{{ channel = "slack", to = "#payments-oncall", timeout_s = 600 }}]
        [channels.slack]
        api_base = "{base}"
        users = {{ U0ALICE = "alice" }}
        "##
    );
    let spec = sentinel_core::GatewaySpec::from_toml_str(&text).unwrap();
    let env = sentinel_core::spec::Env::from_map(HashMap::from([
        ("SLACK_BOT_TOKEN".to_owned(), TOKEN.to_owned()),
        ("SLACK_SIGNING_SECRET".to_owned(), SECRET.to_owned()),
    ]));
    let parts = spec.components(&env).unwrap();
    let slack = parts.slack.clone().expect("the slack channel");
    let gw = parts.build().await.unwrap();
    let id = gw.submit(hostile_payment()).await.unwrap().action_id;
    let post = wait_for(&fake, "chat.postMessage", 1).await.remove(0);
    assert_eq!(post["channel"], "#payments-oncall");
    let body = interaction(id, "U0ALICE", "sentinel_decline");
    let ts = now().to_string();
    let pressed = slack
        .interaction(
            Some(&ts),
            Some(&sign(SECRET.as_bytes(), &ts, &body)),
            &body,
            now(),
        )
        .unwrap();
    slack.decide(&pressed).await.unwrap();
    let record = gw.status(id).await.unwrap();
    assert_eq!(record.state, State::Declined);
    assert_eq!(record.approval.unwrap().by, "alice");

    // Bad settings are named.
    for (extra, key) in [
        (
            "users = { alice = \"alice\" }",
            "channels.slack.users.alice",
        ),
        ("users = { U1 = \"a b\" }", "channels.slack.users.U1"),
        ("api_base = \"ftp://x\"", "channels.slack.api_base"),
    ] {
        let text = format!(
            "[[routes]]\nname = \"r\"\nsteps = [{{ channel = \"slack\", to = \"#x\", timeout_s = 5 }}]\n[channels.slack]\n{extra}\n"
        );
        let e = sentinel_core::GatewaySpec::from_toml_str(&text)
            .unwrap()
            .components(&env)
            .unwrap_err();
        assert_eq!(e.key, key, "{e}");
    }
    let missing = sentinel_core::spec::Env::from_map(HashMap::new());
    let e = sentinel_core::GatewaySpec::from_toml_str(&text)
        .unwrap()
        .components(&missing)
        .unwrap_err();
    assert_eq!(e.key, "channels.slack.bot_token_env");
    assert!(!e.to_string().contains(TOKEN));
}

#[tokio::test]
async fn a_failed_chat_update_replaces_the_message_through_response_url() {
    let (fake, base) = fake_slack().await;
    fake.failing.lock().unwrap().push("chat.update".to_owned());
    let slack = slack_channel(&base);
    let gw = gateway(
        &slack,
        vec![Step::new(
            ChannelKind::Slack,
            "#payments-oncall",
            Duration::from_secs(600),
        )],
    );
    let id = gw.submit(hostile_payment()).await.unwrap().action_id;
    wait_for(&fake, "chat.postMessage", 1).await;
    // The fake's own host stands in for hooks.slack.com (the Web API's host is trusted).
    let origin = base.trim_end_matches("/api");
    let hook_url = format!("{origin}/hooks/actions/T0001/1234/abcd");
    let body = interaction_with(id, "U0ALICE", "sentinel_approve", &hook_url);
    let ts = now().to_string();
    let pressed = slack
        .interaction(
            Some(&ts),
            Some(&sign(SECRET.as_bytes(), &ts, &body)),
            &body,
            now(),
        )
        .unwrap();
    assert_eq!(pressed.response_url.as_deref(), Some(hook_url.as_str()));
    assert_eq!(
        slack.decide(&pressed).await.unwrap(),
        Decided::Recorded {
            operator: "alice".to_owned(),
            pending: false
        }
    );
    assert_eq!(
        fake.calls("chat.update").len(),
        1,
        "chat.update was tried first"
    );
    let calls = fake.calls.lock().unwrap().clone();
    let (_, auth, content_type, sent) = calls
        .iter()
        .find(|c| c.0 == "response_url")
        .cloned()
        .expect("the response_url was called");
    assert_eq!(auth, "", "the bot token never goes to a response_url");
    assert_eq!(content_type, "application/json; charset=utf-8");
    assert_eq!(
        sent,
        json!({
            "replace_original": true,
            "text": "APPROVED by alice via Slack.",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "APPROVED", "emoji": false}},
                {"type": "section", "text": {"type": "plain_text", "text": "APPROVED by alice via Slack.", "emoji": false}}
            ]
        })
    );
    assert_eq!(gw.status(id).await.unwrap().state, State::Approved);
}

#[tokio::test]
async fn a_response_url_off_slack_is_never_called() {
    let (fake, base) = fake_slack().await;
    fake.failing.lock().unwrap().push("chat.update".to_owned());
    let slack = slack_channel(&base);
    let gw = gateway(
        &slack,
        vec![Step::new(
            ChannelKind::Slack,
            "#p",
            Duration::from_secs(600),
        )],
    );
    let id = gw.submit(hostile_payment()).await.unwrap().action_id;
    wait_for(&fake, "chat.postMessage", 1).await;
    let body = interaction_with(
        id,
        "U0ALICE",
        "sentinel_decline",
        "http://127.0.0.2:9/hooks/x",
    );
    let ts = now().to_string();
    let pressed = slack
        .interaction(
            Some(&ts),
            Some(&sign(SECRET.as_bytes(), &ts, &body)),
            &body,
            now(),
        )
        .unwrap();
    assert_eq!(
        pressed.response_url, None,
        "not Slack's host, not the API's"
    );
    // The decision stands; the failed update is the error, and nothing else was called.
    let e = slack.decide(&pressed).await.unwrap_err();
    assert!(
        matches!(
            e,
            SlackError::Api {
                method: "chat.update",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(gw.status(id).await.unwrap().state, State::Declined);
    assert!(fake.calls("response_url").is_empty());
}
