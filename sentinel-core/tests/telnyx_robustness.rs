//! The voice approver under adverse conditions: duplicate, late and out-of-order events,
//! forged and replayed webhooks, failed dials, busy Telnyx, PINs, redaction.
#![cfg(feature = "telnyx")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod telnyx_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sentinel_core::telnyx::{CallOutcome, CallPhase, IgnoreReason, VerifyError, WebhookError};
use sentinel_core::{Action, GuardError, State};
use serde_json::json;
use telnyx_support::*;

#[tokio::test]
async fn duplicate_late_and_out_of_order_events_act_once() {
    let h = Harness::new().await;
    let id = h.escalate().await;
    // A key before the call was answered (out of order): the admin has heard nothing yet.
    assert_eq!(
        ignored(&h.dtmf("1").await),
        Some(IgnoreReason::NotApplicable)
    );
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);

    let (_, answered) = h.body(1, "call.answered", json!({}));
    handled(h.post_body(&answered).await);
    // The same event delivered again (new signature, same id) is refused as a replay.
    let err = h.post_body(&answered).await.unwrap_err();
    assert!(
        matches!(err, WebhookError::Verify(VerifyError::Replayed { .. })),
        "{err}"
    );
    assert_eq!(err.http_status(), 200);
    // A second answered event with another id changes nothing either.
    assert_eq!(
        ignored(&h.post("call.answered", json!({})).await.unwrap()),
        Some(IgnoreReason::NotApplicable)
    );
    assert_eq!(h.fake.actions(), ["dial", "gather_using_speak"]);

    // The key press reported twice at once: one decision, one confirmation.
    let (_, dtmf) = h.body(1, "call.dtmf.received", json!({"digit": "1"}));
    let (_, gather) = h.body(
        1,
        "call.gather.ended",
        json!({"digits": "1", "status": "valid"}),
    );
    let (a, b) = tokio::join!(h.post_body(&dtmf), h.post_body(&gather));
    let outcomes = [a.unwrap(), b.unwrap()];
    assert_eq!(
        outcomes.iter().filter(|o| ignored(o).is_none()).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(h.fake.actions(), ["dial", "gather_using_speak", "speak"]);
    decision_event(&h, id, State::Approved).await;
}

#[tokio::test]
async fn forged_tampered_stale_and_replayed_webhooks_are_refused() {
    let h = Harness::new().await;
    let id = h.escalate().await;
    h.answered().await;
    let (_, body) = h.body(1, "call.dtmf.received", json!({"digit": "1"}));

    let (forger, _) = keys(7);
    let forged = sign(&forger, NOW, &body);
    let err = h
        .approver
        .handle_webhook(forged.as_slice(), body.as_bytes())
        .await
        .unwrap_err();
    assert!(
        matches!(err, WebhookError::Verify(VerifyError::BadSignature)),
        "{err}"
    );
    assert_eq!(err.http_status(), 401);

    let (_, original) = h.body(1, "call.dtmf.received", json!({"digit": "2"}));
    let headers = sign(&h.signing, NOW, &original);
    let tampered = original.replace("\"digit\":\"2\"", "\"digit\":\"1\"");
    assert_ne!(tampered, original);
    let err = h
        .approver
        .handle_webhook(headers.as_slice(), tampered.as_bytes())
        .await
        .unwrap_err();
    assert!(
        matches!(err, WebhookError::Verify(VerifyError::BadSignature)),
        "{err}"
    );

    let stale = sign(&h.signing, NOW - 301, &body);
    let err = h
        .approver
        .handle_webhook(stale.as_slice(), body.as_bytes())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            WebhookError::Verify(VerifyError::Stale { age: 301, .. })
        ),
        "{err}"
    );
    let future = sign(&h.signing, NOW + 301, &body);
    let err = h
        .approver
        .handle_webhook(future.as_slice(), body.as_bytes())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            WebhookError::Verify(VerifyError::Future { ahead: 301, .. })
        ),
        "{err}"
    );
    let err = h
        .approver
        .handle_webhook(&stale[..1], body.as_bytes())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            WebhookError::Verify(VerifyError::MissingHeader {
                header: "telnyx-timestamp"
            })
        ),
        "{err}"
    );
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);

    // Header names in any case, through an `http::HeaderMap` as the server will pass.
    let mut map = axum::http::HeaderMap::new();
    for (k, v) in sign(&h.signing, NOW - 299, &body) {
        map.insert(
            axum::http::HeaderName::from_bytes(k.to_uppercase().as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    handled(h.approver.handle_webhook(&map, body.as_bytes()).await);
    assert_eq!(h.state(id).await, State::Approved);
    let err = h
        .approver
        .handle_webhook(&map, body.as_bytes())
        .await
        .unwrap_err();
    assert!(
        matches!(err, WebhookError::Verify(VerifyError::Replayed { .. })),
        "{err}"
    );
    assert_eq!(h.fake.actions(), ["dial", "gather_using_speak", "speak"]);
}

#[tokio::test]
async fn client_state_is_only_a_hint() {
    let h = Harness::new().await;
    let first = h.escalate().await;
    let second = h.escalate().await;
    assert_eq!(h.fake.actions(), ["dial", "dial"]);
    let first_state = h.fake.requests()[0].body["client_state"].clone();

    // An event for an unknown call that claims to be about the first action.
    let (_, body) = h.body(9, "call.answered", json!({"client_state": first_state}));
    assert_eq!(
        ignored(&h.post_body(&body).await.unwrap()),
        Some(IgnoreReason::UnknownCall)
    );

    // Call 2's events act on the second action even when the state names the first.
    let (_, body) = h.body(2, "call.answered", json!({"client_state": first_state}));
    handled(h.post_body(&body).await);
    let (_, body) = h.body(
        2,
        "call.dtmf.received",
        json!({"digit": "1", "client_state": first_state}),
    );
    handled(h.post_body(&body).await);
    assert_eq!(h.state(second).await, State::Approved);
    assert_eq!(h.state(first).await, State::BlockedAwaitingAuth);
    assert_eq!(
        h.fake.last("speak").path,
        "/v2/calls/v3:call-2/actions/speak"
    );
}

#[tokio::test]
async fn a_failed_dial_fails_closed_and_nothing_runs() {
    let h = Harness::new().await;
    h.fake.fail_next(
        "/calls",
        422,
        json!({"errors": [{"code": "10010", "title": "Invalid phone number", "detail": "The 'to' number is invalid."}]}),
        &[],
    );
    let ran = AtomicUsize::new(0);
    let action = Action::new("session_x", "PAY_INVOICE")
        .with_payload(json!({"amount": 10000, "vendor": "Unknown Corp"}));
    let err = h
        .gateway
        .guard(action, || async { ran.fetch_add(1, Ordering::SeqCst) })
        .await
        .unwrap_err();
    let GuardError::ApproverFailed {
        action_id,
        message,
        decision,
        source,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(decision.status, State::BlockedAwaitingAuth);
    assert_eq!(
        decision.rules,
        [
            "VaultKeeper/unknown-vendor-large-payment",
            "VaultKeeper/untrusted-vendor-over-1000"
        ]
    );
    // The approver's own error travels with it, with the Telnyx failure as its source.
    let source = source.expect("the approver's error");
    assert!(std::error::Error::source(&source).is_some(), "{source:?}");
    assert!(
        message.contains("could not place the approval call"),
        "{message}"
    );
    assert!(message.contains("10010 Invalid phone number"), "{message}");
    assert!(!message.contains(API_KEY));
    assert_eq!(h.state(action_id).await, State::ErrorApprover);
    let trail = h.gateway.audit_trail(action_id).await.unwrap();
    let last = trail.last().unwrap();
    assert_eq!(
        (last.to, last.actor.as_str(), last.channel.as_str()),
        (State::ErrorApprover, "sentinel", "telnyx-voice")
    );
    assert_eq!(
        outcome(&h, action_id).await,
        (CallPhase::Ended, Some(CallOutcome::DialFailed))
    );
    assert!(!format!("{:?}", h.approver).contains(API_KEY));
}

#[tokio::test]
async fn busy_telnyx_is_retried_with_the_same_command_id() {
    let h = Harness::new().await;
    let busy = json!({"errors": [{"code": "10011", "title": "Too many requests"}]});
    h.fake.fail_next(
        "/calls",
        429,
        busy,
        &[("retry-after", "0"), ("x-ratelimit-reset", "0")],
    );
    h.fake.fail_next(
        "/calls",
        503,
        json!({"errors": [{"code": "10001", "title": "Service unavailable"}]}),
        &[],
    );
    let id = h.escalate().await;
    let dials: Vec<_> = h
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.action() == "dial")
        .collect();
    assert_eq!(dials.len(), 3);
    assert!(
        dials
            .iter()
            .all(|d| d.body["command_id"] == dials[0].body["command_id"])
    );
    assert_eq!(
        h.approver
            .call_report(id)
            .await
            .unwrap()
            .call_control_id
            .as_deref(),
        Some("v3:call-1")
    );
}

#[tokio::test]
async fn the_guarded_function_runs_once_after_press_1() {
    let h = Arc::new(Harness::new().await);
    let ran = Arc::new(AtomicUsize::new(0));
    let guard = {
        let (h, ran) = (Arc::clone(&h), Arc::clone(&ran));
        tokio::spawn(async move {
            let action = Action::new("session_x", "PAY_INVOICE")
                .with_payload(json!({"amount": 10000, "vendor": "Unknown Corp"}));
            h.gateway
                .guard(
                    action,
                    move || async move { ran.fetch_add(1, Ordering::SeqCst) },
                )
                .await
        })
    };
    while h.fake.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    h.answered().await;
    h.dtmf("1").await;
    guard.await.unwrap().unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn pin_required_wrong_pin_never_approves() {
    let h = Harness::with(|c| c.with_pin("4321").unwrap()).await;
    let id = h.escalate().await;
    h.answered().await;
    handled(Ok(h.dtmf("1").await));
    let pin = h.fake.last("gather_using_speak");
    assert_eq!(
        pin.body["payload"],
        "To approve, enter your PIN, then press pound."
    );
    assert_eq!(pin.body["valid_digits"], "0123456789#");
    assert_eq!(pin.body["terminating_digit"], "#");
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);
    // The menu's own report of the key is not taken for a PIN.
    assert_eq!(
        ignored(&h.gather_ended("1", "valid").await),
        Some(IgnoreReason::NotApplicable)
    );
    for wrong in ["9999#", "43210#", ""] {
        handled(Ok(h
            .gather_ended(wrong, if wrong.is_empty() { "timeout" } else { "valid" })
            .await));
        assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);
    }
    // Two retries, then the call ends.
    let spoken = h.fake.spoken();
    assert_eq!(
        spoken
            .iter()
            .filter(|s| s.starts_with("That PIN is not correct"))
            .count(),
        2
    );
    assert!(spoken.last().unwrap().contains("has not been approved"));
    assert_eq!(outcome(&h, id).await.1, Some(CallOutcome::PinFailed));
    assert_eq!(
        ignored(&h.gather_ended("4321#", "valid").await),
        Some(IgnoreReason::NotApplicable)
    );
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);
    assert_requests_match_spec(&h.fake.requests());
}

#[tokio::test]
async fn pin_required_right_pin_approves_by_key_or_voice() {
    let h = Harness::with(|c| c.with_pin("4321").unwrap()).await;
    let id = h.escalate().await;
    h.answered().await;
    h.gather_ended("1", "valid").await;
    handled(Ok(h.gather_ended("4321#", "valid").await));
    assert_eq!(h.state(id).await, State::Approved);
    let e = decision_event(&h, id, State::Approved).await;
    assert_eq!(
        e.reason,
        "approved by pressing 1 on the approval call, PIN verified"
    );

    let id = h.escalate().await;
    let (_, body) = h.body(2, "call.answered", json!({}));
    handled(h.post_body(&body).await);
    for (event, extra) in [
        ("call.dtmf.received", json!({"digit": "2"})),
        (
            "call.transcription",
            json!({"transcription_data": {"transcript": "Approve it.", "is_final": true}}),
        ),
    ] {
        let (_, body) = h.body(2, event, extra);
        handled(h.post_body(&body).await);
    }
    assert_eq!(h.state(id).await, State::QnaMode);
    assert_eq!(h.fake.actions().last().unwrap(), "gather_using_speak");
    let (_, body) = h.body(
        2,
        "call.gather.ended",
        json!({"digits": "4321", "status": "valid"}),
    );
    handled(h.post_body(&body).await);
    assert_eq!(h.state(id).await, State::Approved);
    let e = decision_event(&h, id, State::Approved).await;
    assert_eq!(
        (e.channel.as_str(), e.reason.as_str()),
        ("voice/speech", "said \"Approve it.\", PIN verified")
    );
    assert_requests_match_spec(&h.fake.requests());
}

#[tokio::test]
async fn an_action_decided_elsewhere_is_not_decided_again() {
    let h = Harness::new().await;
    let id = h.escalate().await;
    h.answered().await;
    h.gateway
        .resolve(id, sentinel_core::Resolution::decline("alice", "web"))
        .await
        .unwrap();
    handled(Ok(h.dtmf("1").await));
    assert_eq!(h.state(id).await, State::Declined);
    assert!(
        h.fake.last("speak").body["payload"]
            .as_str()
            .unwrap()
            .starts_with("This action was already decided")
    );
    assert_eq!(outcome(&h, id).await.1, Some(CallOutcome::AlreadyDecided));
}

/// Answers the approval call for the action `ticket` escalated and returns what was read.
async fn first_words(fake: &FakeTelnyx, approver: &sentinel_core::TelnyxVoiceApprover) -> String {
    let (signing, _) = keys(42);
    let body = json!({"data": {"event_type": "call.answered", "id": "redact-evt-1",
        "payload": {"call_control_id": "v3:call-1", "client_state": null}}})
    .to_string();
    let now = chrono::Utc::now().timestamp();
    handled(
        approver
            .handle_webhook(sign(&signing, now, &body).as_slice(), body.as_bytes())
            .await,
    );
    fake.last("gather_using_speak").body["payload"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn extra_redact_paths_are_not_read_aloud() {
    let fake = FakeTelnyx::start().await;
    let (_, public) = keys(42);
    let approver = sentinel_core::TelnyxVoiceApprover::new(config(&fake, public))
        .unwrap()
        .with_redact_paths(["payload.vendor".to_owned()]);
    let gateway = sentinel_core::Gateway::builder()
        .approver(approver.clone())
        .build()
        .unwrap();
    let action = Action::new("session_x", "PAY_INVOICE")
        .with_payload(json!({"amount": 10000, "vendor": "Unknown Corp"}));
    let ticket = gateway.submit(action).await.unwrap();
    assert_eq!(ticket.status, State::BlockedAwaitingAuth);
    assert_eq!(
        first_words(&fake, &approver).await,
        "High risk payment detected: 10,000 dollars to redacted. Press 1 to approve. Press 2 to ask questions."
    );
}

#[tokio::test]
async fn paths_a_pack_declares_travel_with_the_request() {
    let fake = FakeTelnyx::start().await;
    let (_, public) = keys(42);
    // The approver knows nothing of the packs: the request says what to mask.
    let approver = sentinel_core::TelnyxVoiceApprover::new(config(&fake, public)).unwrap();
    let mut pack: serde_json::Value =
        serde_json::from_str(sentinel_core::Pack::builtin_source("VaultKeeper").unwrap()).unwrap();
    pack["redact"] = json!(["payload.vendor"]);
    let pack = sentinel_core::Pack::from_json_str(&pack.to_string()).unwrap();
    let gateway = sentinel_core::Gateway::builder()
        .packs([pack])
        .approver(approver.clone())
        .build()
        .unwrap();
    let action = Action::new("session_x", "PAY_INVOICE")
        .with_payload(json!({"amount": 10000, "vendor": "Unknown Corp"}));
    let ticket = gateway.submit(action).await.unwrap();
    assert_eq!(ticket.status, State::BlockedAwaitingAuth);
    let words = first_words(&fake, &approver).await;
    assert!(!words.contains("Unknown Corp"), "{words}");
    assert!(words.contains("redacted"), "{words}");
}

/// The HTTP server runs the handler on a multi-threaded runtime: its future must be `Send`.
#[allow(dead_code)]
fn handler_future_is_send(
    approver: &sentinel_core::TelnyxVoiceApprover,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) {
    fn send<T: Send>(_: T) {}
    send(approver.handle_webhook(headers, body));
}
