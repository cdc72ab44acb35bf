//! Scripted approval calls against a fake Telnyx API: DTMF menus, spoken Q&A, hangups,
//! no answer and machines; the exact requests sent, the final action status and the audit
//! trail.
#![cfg(feature = "telnyx")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod telnyx_support;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sentinel_core::State;
use sentinel_core::telnyx::{CallOutcome, CallPhase, IgnoreReason};
use serde_json::{Value, json};
use telnyx_support::*;

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
