//! Scripted approval calls against a fake Telnyx API: the exact requests sent, the final
//! action status and the audit trail.
#![cfg(feature = "telnyx")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod telnyx_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sentinel_core::telnyx::{
    CallOutcome, CallPhase, IgnoreReason, VerifyError, WebhookError, WebhookOutcome,
};
use sentinel_core::{Action, ActionId, GuardError, State};
use serde_json::{Value, json};
use telnyx_support::*;

fn ignored(outcome: &WebhookOutcome) -> Option<IgnoreReason> {
    match outcome {
        WebhookOutcome::Ignored { reason, .. } => Some(*reason),
        _ => None,
    }
}

async fn outcome(h: &Harness, id: ActionId) -> (CallPhase, Option<CallOutcome>) {
    let report = h.approver.call_report(id).await.unwrap();
    (report.phase, report.outcome)
}

/// The decision's audit event: who, channel, reason, and a recent time.
async fn decision_event(h: &Harness, id: ActionId, to: State) -> sentinel_core::AuditEvent {
    let trail = h.gateway.audit_trail(id).await.unwrap();
    let decided: Vec<_> = trail
        .iter()
        .filter(|e| e.to == to && e.actor == ADMIN)
        .collect();
    assert_eq!(decided.len(), 1, "{trail:#?}");
    let e = decided[0].clone();
    assert!((chrono::Utc::now() - e.at).num_seconds().abs() < 60);
    e
}

#[tokio::test]
async fn press_1_approves_confirms_and_hangs_up() {
    let h = Harness::new().await;
    let id = h.escalate().await;

    let dial = h.fake.last("dial");
    assert_eq!(dial.path, "/v2/calls");
    assert_eq!(dial.body["connection_id"], CONNECTION);
    assert_eq!(dial.body["to"], ADMIN);
    assert_eq!(dial.body["from"], FROM);
    assert_eq!(
        dial.body["webhook_url"],
        "https://sentinel.example.com/api/telnyx/webhook"
    );
    assert_eq!(dial.body["timeout_secs"], 30);
    assert_eq!(dial.body["answering_machine_detection"], "detect");
    let state: Value = serde_json::from_slice(
        &STANDARD
            .decode(dial.body["client_state"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(state["action_id"], id.to_string());

    h.answered().await;
    let gather = h.fake.last("gather_using_speak");
    assert_eq!(
        gather.path,
        "/v2/calls/v3:call-1/actions/gather_using_speak"
    );
    assert_eq!(gather.body["payload"], MENU_TEXT);
    assert_eq!(gather.body["valid_digits"], "12");
    assert_eq!(gather.body["minimum_digits"], 1);
    assert_eq!(gather.body["maximum_digits"], 1);
    assert_eq!(gather.body["timeout_millis"], 10_000);
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);

    handled(Ok(h.dtmf("1").await));
    assert_eq!(h.state(id).await, State::Approved);
    // The gather reports the same key: it must not act again.
    assert_eq!(
        ignored(&h.gather_ended("1", "valid").await),
        Some(IgnoreReason::NotApplicable)
    );
    assert_eq!(h.fake.actions(), ["dial", "gather_using_speak", "speak"]);
    assert_eq!(
        h.fake.last("speak").body["payload"],
        "Approved. The action will now run. Goodbye."
    );

    handled(Ok(h.speak_ended().await));
    assert_eq!(
        h.fake.actions(),
        ["dial", "gather_using_speak", "speak", "hangup"]
    );
    assert_eq!(
        h.fake.last("hangup").path,
        "/v2/calls/v3:call-1/actions/hangup"
    );
    // We hung up first: Telnyx's hang-up report finds the call over.
    assert_eq!(
        ignored(&h.hangup("normal_clearing").await),
        Some(IgnoreReason::CallFinished)
    );
    assert_eq!(
        outcome(&h, id).await,
        (CallPhase::Ended, Some(CallOutcome::Approved))
    );
    assert_eq!(
        ignored(&h.dtmf("2").await),
        Some(IgnoreReason::CallFinished)
    );

    let record = h.gateway.status(id).await.unwrap();
    let approval = record.approval.unwrap();
    assert_eq!(
        (approval.by.as_str(), approval.channel.as_str()),
        (ADMIN, "voice/dtmf")
    );
    let e = decision_event(&h, id, State::Approved).await;
    assert_eq!(e.channel, "voice/dtmf");
    assert_eq!(e.reason, "approved by pressing 1 on the approval call");
    assert_eq!(assert_requests_match_spec(&h.fake.requests()), 4);
}

#[tokio::test]
async fn press_2_question_answer_then_approve_it() {
    let h = Harness::new().await;
    let id = h.escalate().await;
    h.answered().await;
    handled(Ok(h.dtmf("2").await));
    assert_eq!(h.state(id).await, State::QnaMode);
    assert_eq!(
        ignored(&h.gather_ended("2", "valid").await),
        Some(IgnoreReason::NotApplicable)
    );
    assert_eq!(
        h.fake.actions(),
        ["dial", "gather_using_speak", "speak", "transcription_start"]
    );
    let start = h.fake.last("transcription_start");
    assert_eq!(
        start.path,
        "/v2/calls/v3:call-1/actions/transcription_start"
    );
    assert_eq!(start.body["transcription_tracks"], "inbound");

    // Interim results are not acted on.
    let interim = json!({"transcription_data": {"transcript": "approve", "is_final": false}});
    assert_eq!(
        ignored(&h.post("call.transcription", interim).await.unwrap()),
        Some(IgnoreReason::NotApplicable)
    );

    handled(Ok(h.say("Who is Unknown Corp?").await));
    assert_eq!(
        *h.scorer.questions.lock().unwrap(),
        ["Who is Unknown Corp?"]
    );
    let answer = h.fake.last("speak").body["payload"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        answer,
        "Unknown Corp was added yesterday and has never been paid. Its card redacted is on file. \
         You can ask another question, or say approve or decline."
    );
    assert_eq!(h.state(id).await, State::QnaMode);

    handled(Ok(h.say("approve it").await));
    assert_eq!(h.state(id).await, State::Approved);
    assert_eq!(
        h.fake.actions(),
        [
            "dial",
            "gather_using_speak",
            "speak",
            "transcription_start",
            "speak",
            "transcription_stop",
            "speak"
        ]
    );
    handled(Ok(h.speak_ended().await));
    assert_eq!(h.fake.actions().last().unwrap(), "hangup");

    let e = decision_event(&h, id, State::Approved).await;
    assert_eq!(
        (e.channel.as_str(), e.reason.as_str()),
        ("voice/speech", "said \"approve it\"")
    );
    let trail = h.gateway.audit_trail(id).await.unwrap();
    let qna = trail.iter().find(|e| e.to == State::QnaMode).unwrap();
    assert_eq!((qna.actor.as_str(), qna.channel.as_str()), (ADMIN, "voice"));
    // What the admin asked and heard is on the record, before the approval.
    let note = trail
        .iter()
        .position(|e| e.kind == sentinel_core::AuditKind::Note)
        .unwrap();
    let approval = trail.iter().position(|e| e.to == State::Approved).unwrap();
    assert!(note < approval);
    let note = &trail[note];
    assert_eq!(
        (note.actor.as_str(), note.channel.as_str()),
        (ADMIN, "voice/speech")
    );
    assert!(
        note.reason.starts_with(
            "asked: \"Who is Unknown Corp?\"; answered: \"Unknown Corp was added yesterday"
        ),
        "{}",
        note.reason
    );
    assert_eq!(note.to, State::QnaMode);
    assert_requests_match_spec(&h.fake.requests());
}

#[tokio::test]
async fn why_should_i_approve_is_a_question_then_no_decline_declines() {
    let h = Harness::new().await;
    let id = h.escalate().await;
    h.answered().await;
    handled(Ok(h.gather_ended("2", "valid").await));
    assert_eq!(
        ignored(&h.dtmf("2").await),
        Some(IgnoreReason::NotApplicable)
    );
    handled(Ok(h.say("why should I approve this?").await));
    assert_eq!(h.state(id).await, State::QnaMode);
    assert_eq!(
        *h.scorer.questions.lock().unwrap(),
        ["why should I approve this?"]
    );
    handled(Ok(h.say("no, decline").await));
    assert_eq!(h.state(id).await, State::Declined);
    assert_eq!(
        h.fake.last("speak").body["payload"],
        "Declined. The action will not run. Goodbye."
    );
    let e = decision_event(&h, id, State::Declined).await;
    assert_eq!(
        (e.channel.as_str(), e.reason.as_str()),
        ("voice/speech", "said \"no, decline\"")
    );
    // A later "approve" on the same call changes nothing.
    assert_eq!(
        ignored(&h.say("approve").await),
        Some(IgnoreReason::NotApplicable)
    );
    assert_eq!(h.state(id).await, State::Declined);
    assert_requests_match_spec(&h.fake.requests());
}

#[tokio::test]
async fn invalid_digit_replays_the_menu_then_1_approves() {
    let h = Harness::new().await;
    let id = h.escalate().await;
    h.answered().await;
    assert_eq!(
        ignored(&h.dtmf("5").await),
        Some(IgnoreReason::NotApplicable)
    );
    handled(Ok(h.gather_ended("5", "invalid").await));
    assert_eq!(
        h.fake.actions(),
        ["dial", "gather_using_speak", "gather_using_speak"]
    );
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);
    handled(Ok(h.gather_ended("1", "valid").await));
    assert_eq!(
        ignored(&h.dtmf("1").await),
        Some(IgnoreReason::NotApplicable)
    );
    assert_eq!(h.state(id).await, State::Approved);
    assert_eq!(
        h.fake.actions(),
        ["dial", "gather_using_speak", "gather_using_speak", "speak"]
    );
    assert_requests_match_spec(&h.fake.requests());
}

#[tokio::test]
async fn silence_replays_then_ends_the_call_undecided() {
    let h = Harness::new().await;
    let id = h.escalate().await;
    h.answered().await;
    for _ in 0..3 {
        handled(Ok(h.gather_ended("", "timeout").await));
    }
    assert_eq!(
        h.fake.actions(),
        [
            "dial",
            "gather_using_speak",
            "gather_using_speak",
            "gather_using_speak",
            "speak"
        ]
    );
    assert!(
        h.fake.last("speak").body["payload"]
            .as_str()
            .unwrap()
            .contains("has not been approved")
    );
    h.speak_ended().await;
    assert_eq!(h.fake.actions().last().unwrap(), "hangup");
    assert_eq!(outcome(&h, id).await.1, Some(CallOutcome::NoInput));
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);
}

#[tokio::test]
async fn hang_up_mid_menu_leaves_the_action_to_expire() {
    let h = Harness::build(|c| c, Duration::from_millis(600)).await;
    let id = h.escalate().await;
    h.answered().await;
    handled(Ok(h.hangup("normal_clearing").await));
    assert_eq!(
        outcome(&h, id).await,
        (CallPhase::Ended, Some(CallOutcome::HungUp))
    );
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);
    // A key press reported after the hang-up does nothing.
    assert_eq!(
        ignored(&h.dtmf("1").await),
        Some(IgnoreReason::CallFinished)
    );
    assert_eq!(h.fake.actions(), ["dial", "gather_using_speak"]);
    let record = h
        .gateway
        .wait(id, Some(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(record.state, State::Expired);
}

#[tokio::test]
async fn hang_up_during_qna_returns_the_action_to_waiting() {
    let h = Harness::new().await;
    let id = h.escalate().await;
    h.answered().await;
    h.dtmf("2").await;
    assert_eq!(h.state(id).await, State::QnaMode);
    handled(Ok(h.hangup("normal_clearing").await));
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);
    assert_eq!(
        ignored(&h.say("approve it").await),
        Some(IgnoreReason::CallFinished)
    );
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);
}

#[tokio::test]
async fn goodbye_in_qna_ends_the_call_pending() {
    let h = Harness::new().await;
    let id = h.escalate().await;
    h.answered().await;
    h.dtmf("2").await;
    handled(Ok(h.say("ok goodbye").await));
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);
    assert_eq!(h.fake.actions()[4..], ["transcription_stop", "speak"]);
    h.speak_ended().await;
    assert_eq!(h.fake.actions().last().unwrap(), "hangup");
    assert_eq!(
        outcome(&h, id).await,
        (CallPhase::Ended, Some(CallOutcome::Goodbye))
    );
}

#[tokio::test]
async fn no_answer_leaves_the_action_pending() {
    let h = Harness::new().await;
    let id = h.escalate().await;
    let initiated = h
        .post(
            "call.initiated",
            json!({"state": "bridging", "direction": "outgoing"}),
        )
        .await
        .unwrap();
    assert_eq!(ignored(&initiated), Some(IgnoreReason::NotApplicable));
    handled(Ok(h.hangup("no_answer").await));
    assert_eq!(
        outcome(&h, id).await,
        (CallPhase::Ended, Some(CallOutcome::NoAnswer))
    );
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);
    assert_eq!(h.fake.actions(), ["dial"]);
}

#[tokio::test]
async fn a_machine_is_hung_up_on_and_never_approves() {
    let h = Harness::new().await;
    let id = h.escalate().await;
    h.answered().await;
    // Telnyx says the call already ended: hanging up still counts as done.
    h.fake.fail_next(
        "/hangup",
        422,
        json!({"errors": [{"code": "90018", "title": "Call has already ended", "detail": "This call is no longer active."}]}),
        &[],
    );
    // The spec's machine detection event names the call by leg and session only.
    let fixture = include_str!("data/telnyx/webhooks/spec_callMachineDetectionEnded.json");
    let mut body: Value = serde_json::from_str(fixture).unwrap();
    body["data"]["id"] = json!("machine-evt-1");
    body["data"]["payload"]["call_leg_id"] = json!("leg-1");
    body["data"]["payload"]["call_session_id"] = json!("session-1");
    body["data"]["payload"]["result"] = json!("machine");
    handled(h.post_body(&body.to_string()).await);
    assert_eq!(h.fake.actions(), ["dial", "gather_using_speak", "hangup"]);
    assert_eq!(
        outcome(&h, id).await,
        (CallPhase::Ended, Some(CallOutcome::Machine))
    );
    assert_eq!(
        ignored(&h.dtmf("1").await),
        Some(IgnoreReason::CallFinished)
    );
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);
    assert_requests_match_spec(&h.fake.requests());
}

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
    let GuardError::ApproverFailed { action_id, message } = err else {
        panic!("{err:?}")
    };
    assert_eq!(ran.load(Ordering::SeqCst), 0);
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

#[tokio::test]
async fn pack_and_extra_redact_paths_are_not_read_aloud() {
    let fake = FakeTelnyx::start().await;
    let (_, public) = keys(42);
    let packs = sentinel_core::Pack::seed_packs().unwrap();
    let approver = sentinel_core::TelnyxVoiceApprover::new(config(&fake, public))
        .unwrap()
        .with_packs(&packs)
        .with_redact_paths(["payload.vendor".to_owned()]);
    let gateway = sentinel_core::Gateway::builder()
        .packs(packs)
        .approver(approver.clone())
        .build()
        .unwrap();
    let action = Action::new("session_x", "PAY_INVOICE")
        .with_payload(json!({"amount": 10000, "vendor": "Unknown Corp"}));
    let ticket = gateway.submit(action).await.unwrap();
    assert_eq!(ticket.status, State::BlockedAwaitingAuth);
    // Answer the call through the approver that placed it.
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
    assert_eq!(
        fake.last("gather_using_speak").body["payload"],
        "High risk payment detected: 10,000 dollars to redacted. Press 1 to approve. Press 2 to ask questions."
    );
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
