//! The voice channel of the approval ladder against the fake Telnyx API: a `voice` step
//! dials its own `to` (kept with the call for a restart), an unanswered call or a wrong PIN
//! fails the step and the next one starts, a number bound to an operator decides as that
//! operator (after the operator's own PIN), so a phone approval and a console approval by
//! the same person count once towards a quorum; unbound numbers keep the approver-wide PIN
//! and decide under the number; the PIN never shows in the requests or the audit trail.
#![cfg(feature = "telnyx")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod telnyx_support;

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::ladder::{Channel, ChannelKind, LadderApprover, Route, Step};
use sentinel_core::store::AttemptStatus;
use sentinel_core::telnyx::VoiceChannel;
use sentinel_core::{ActionId, AuditKind, Gateway, MemoryStore, Resolution, State, Store};
use telnyx_support::*;

/// alice's phone: bound to the operator `alice`.
const ALICE_PHONE: &str = "+15550100007";
const ALICE_PIN: &str = "2468";
/// A number bound to nobody.
const DESK_PHONE: &str = "+15550100008";
/// The approver-wide PIN (`[approver.telnyx] pin_env`).
const WIDE_PIN: &str = "9137";

fn ladder_gateway(
    approver: &sentinel_core::TelnyxVoiceApprover,
    scorer: ScriptedScorer,
    store: Arc<dyn Store>,
    route: Route,
) -> Gateway {
    let voice = Arc::new(VoiceChannel::new(approver.clone())) as Arc<dyn Channel>;
    let ladder =
        LadderApprover::with_poll(vec![route], vec![voice], Duration::from_millis(20)).unwrap();
    Gateway::builder()
        .scorer(scorer)
        .approver(ladder)
        .store_arc(store)
        .escalation_timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// A harness whose gateway runs `route` with the approver as its voice channel; alice's
/// phone is bound to her (with her PIN), and the approver has a PIN of its own.
fn harness(fake: FakeTelnyx, store: Arc<dyn Store>, route: Route) -> Harness {
    Harness::around(
        fake,
        store,
        |c| {
            c.with_pin(WIDE_PIN)
                .unwrap()
                .with_phone_operator(ALICE_PHONE, "alice", Some(ALICE_PIN))
                .unwrap()
        },
        |approver, scorer, store| ladder_gateway(approver, scorer, store, route),
    )
}

fn voice_then_console(to: &str) -> Route {
    Route::new(
        "phones",
        vec![
            Step::new(ChannelKind::Voice, to, Duration::from_secs(60)),
            Step::new(ChannelKind::Console, "", Duration::from_secs(60)),
        ],
    )
}

/// Waits until the fake has received `n` dials.
async fn dials(h: &Harness, n: usize) -> Vec<Recorded> {
    for _ in 0..400 {
        let d: Vec<_> = h
            .fake
            .requests()
            .into_iter()
            .filter(|r| r.action() == "dial")
            .collect();
        if d.len() >= n {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("fewer than {n} dials: {:?}", h.fake.actions());
}

async fn notes(h: &Harness, id: ActionId, channel: &str) -> Vec<(String, String)> {
    h.gateway
        .audit_trail(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == AuditKind::Note && e.channel == channel)
        .map(|e| (e.actor, e.reason))
        .collect()
}

/// Waits for a ladder note containing `text`.
async fn ladder_note(h: &Harness, id: ActionId, text: &str) -> Vec<String> {
    for _ in 0..400 {
        let n: Vec<String> = notes(h, id, "ladder")
            .await
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        if n.iter().any(|r| r.contains(text)) {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!(
        "no ladder note with `{text}`: {:?}",
        notes(h, id, "ladder").await
    );
}

/// Everything that left the process or was recorded, as one text (to look for the PIN).
/// True when `pin` stands in `text` on its own, not inside a longer run of digits and
/// letters: a time's microseconds or a hash may hold the same four digits by chance.
fn shows(text: &str, pin: &str) -> bool {
    text.match_indices(pin).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + pin.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[test]
fn a_pin_is_seen_on_its_own_not_inside_times_or_hashes() {
    assert!(shows(r#"{"digits":"2468#"}"#, "2468"));
    assert!(shows("pin 2468", "2468"));
    assert!(!shows("2026-12-04T21:57:30.452468Z", "2468"));
    assert!(!shows("bb2d8f2468fa", "2468"));
}

async fn everything(h: &Harness, id: ActionId) -> String {
    let requests: Vec<String> = h
        .fake
        .requests()
        .iter()
        .map(|r| r.body.to_string())
        .collect();
    let trail = format!("{:?}", h.gateway.audit_trail(id).await.unwrap());
    let attempts = format!("{:?}", h.store.attempts(id).await.unwrap());
    format!("{}\n{trail}\n{attempts}", requests.join("\n"))
}

#[tokio::test]
async fn a_voice_step_dials_its_own_number_and_an_unanswered_call_hands_over() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let h = harness(
        FakeTelnyx::start().await,
        store,
        voice_then_console(DESK_PHONE),
    );
    let id = h.escalate().await;
    let dial = dials(&h, 1).await.remove(0);
    assert_eq!(
        dial.body["to"], DESK_PHONE,
        "the step's `to`, not the admin"
    );
    assert_eq!(dial.body["from"], FROM);
    assert_eq!(dial.body["connection_id"], CONNECTION);
    assert_eq!(
        dial.body["webhook_url"],
        "https://sentinel.example.com/api/telnyx/webhook"
    );
    // The number is kept with the call's attempt (for a restart).
    let attempts = h.store.attempts(id).await.unwrap();
    let call = attempts
        .iter()
        .find(|a| a.channel == "telnyx-voice")
        .unwrap();
    assert_eq!(call.state["to"], DESK_PHONE);

    // Nobody answers: the step fails at once (its timeout is a minute) and the console
    // step starts.
    let started = std::time::Instant::now();
    handled(Ok(h.hangup("no_answer").await));
    let n = ladder_note(&h, id, "step 2 of 2 started").await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        n.contains(&format!(
            "route `phones` step 1 of 2 (voice) ended: failed: the call to {DESK_PHONE} was not answered"
        )),
        "{n:?}"
    );
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);
    assert_requests_match_spec(&h.fake.requests());
}

#[tokio::test]
async fn an_unbound_number_keeps_the_approver_pin_and_decides_under_the_number() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let h = harness(
        FakeTelnyx::start().await,
        store,
        voice_then_console(DESK_PHONE),
    );
    let id = h.escalate().await;
    dials(&h, 1).await;
    h.answered().await;
    assert_eq!(h.fake.last("gather_using_speak").body["payload"], MENU_TEXT);
    handled(Ok(h.dtmf("1").await));
    let prompt = h.fake.last("gather_using_speak");
    assert_eq!(
        prompt.body["payload"],
        "To approve, enter your PIN, then press pound."
    );
    // alice's PIN is hers: it does not open a number bound to nobody.
    handled(Ok(h.gather_ended(&format!("{ALICE_PIN}#"), "valid").await));
    assert_eq!(
        h.fake.last("gather_using_speak").body["payload"],
        "That PIN is not correct. Enter your PIN, then press pound."
    );
    handled(Ok(h.gather_ended(&format!("{WIDE_PIN}#"), "valid").await));
    assert_eq!(h.state(id).await, State::Approved);
    let record = h.gateway.status(id).await.unwrap();
    let approval = record.approval.unwrap();
    assert_eq!(approval.by, DESK_PHONE);
    assert_eq!(approval.channel, "voice/dtmf");
    let text = everything(&h, id).await;
    assert!(
        !shows(&text, WIDE_PIN) && !shows(&text, ALICE_PIN),
        "{text}"
    );
}

#[tokio::test]
async fn a_bound_number_asks_the_operators_pin_and_quorum_counts_the_person_once() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let h = harness(
        FakeTelnyx::start().await,
        store,
        voice_then_console(ALICE_PHONE).with_quorum(2),
    );
    let id = h.escalate().await;
    let dial = dials(&h, 1).await.remove(0);
    assert_eq!(dial.body["to"], ALICE_PHONE);
    h.answered().await;
    handled(Ok(h.dtmf("1").await));
    let prompt = h.fake.last("gather_using_speak");
    assert_eq!(
        prompt.body["payload"],
        "To approve, enter your PIN, then press pound."
    );
    assert_eq!(prompt.body["valid_digits"], "0123456789#");
    assert_eq!(prompt.body["maximum_digits"], 12);
    assert_eq!(prompt.body["terminating_digit"], "#");
    // The approver-wide PIN is not alice's: it does not count for her number.
    handled(Ok(h.gather_ended(&format!("{WIDE_PIN}#"), "valid").await));
    assert_eq!(
        h.fake.last("gather_using_speak").body["payload"],
        "That PIN is not correct. Enter your PIN, then press pound."
    );
    assert!(notes(&h, id, "quorum").await.is_empty());
    handled(Ok(h.gather_ended(&format!("{ALICE_PIN}#"), "valid").await));

    // alice's approval is a vote of the quorum, recorded under her name via voice/dtmf.
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);
    let votes = notes(&h, id, "quorum").await;
    assert_eq!(
        votes,
        [(
            "alice".to_owned(),
            "approved via voice/dtmf; 1 of 2 approvers: approved by pressing 1 on the approval call, PIN verified".to_owned()
        )]
    );
    assert_eq!(
        h.fake.last("speak").body["payload"],
        "Your approval is counted. More approvers are needed before the action can run. Goodbye."
    );
    let n = ladder_note(&h, id, "step 2 of 2 started").await;
    assert!(
        n.iter().any(|r| r
            == "route `phones` step 1 of 2 (voice) ended: answered: approved by alice; the quorum needs more approvers"),
        "{n:?}"
    );

    // alice again, on the console: counts once.
    let again = h
        .gateway
        .resolve(id, Resolution::approve("alice", "console"))
        .await
        .unwrap();
    assert_eq!(again.state, State::BlockedAwaitingAuth);
    // bob on the console completes the quorum.
    let done = h
        .gateway
        .resolve(id, Resolution::approve("bob", "console"))
        .await
        .unwrap();
    assert_eq!(done.state, State::Approved);
    let approval = done.approval.unwrap();
    assert_eq!(approval.by, "alice, bob");
    assert!(
        approval
            .reason
            .starts_with("quorum of 2 met: approved by alice via voice/dtmf, bob via console"),
        "{}",
        approval.reason
    );
    let text = everything(&h, id).await;
    assert!(
        !shows(&text, WIDE_PIN) && !shows(&text, ALICE_PIN),
        "{text}"
    );
    assert_requests_match_spec(&h.fake.requests());
}

#[tokio::test]
async fn a_wrong_pin_too_often_fails_the_step_with_its_reason() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let h = harness(
        FakeTelnyx::start().await,
        store,
        voice_then_console(ALICE_PHONE),
    );
    let id = h.escalate().await;
    dials(&h, 1).await;
    h.answered().await;
    handled(Ok(h.dtmf("1").await));
    // Two retries (max_replays), then the call ends.
    for wrong in ["1111#", "2222#", "3333#"] {
        handled(Ok(h.gather_ended(wrong, "valid").await));
    }
    let spoken = h.fake.spoken();
    assert_eq!(
        spoken
            .iter()
            .filter(|s| s.starts_with("That PIN is not correct"))
            .count(),
        2
    );
    assert_eq!(
        spoken.last().unwrap(),
        "No valid answer was received. The action has not been approved. Goodbye."
    );
    let n = ladder_note(&h, id, "step 2 of 2 started").await;
    assert!(
        n.contains(&format!(
            "route `phones` step 1 of 2 (voice) ended: failed: wrong PIN entered too many times on the call to {ALICE_PHONE}"
        )),
        "{n:?}"
    );
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);
    assert!(notes(&h, id, "quorum").await.is_empty());
    // The right PIN after the call ended changes nothing.
    handled_or_ignored(h.gather_ended(&format!("{ALICE_PIN}#"), "valid").await);
    assert_eq!(h.state(id).await, State::BlockedAwaitingAuth);
}

fn handled_or_ignored(outcome: sentinel_core::WebhookOutcome) {
    assert!(ignored(&outcome).is_some(), "{outcome:?}");
}

#[tokio::test]
async fn a_restart_takes_the_steps_call_up_and_its_no_answer_still_hands_over() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let fake = FakeTelnyx::start().await;
    let first = harness(fake.clone(), store.clone(), voice_then_console(ALICE_PHONE));
    let id = first.escalate().await;
    dials(&first, 1).await;
    // The dial answered and the call's ids are recorded.
    for _ in 0..400 {
        let attempts = store.attempts(id).await.unwrap();
        if attempts
            .iter()
            .any(|a| a.channel == "telnyx-voice" && a.status == AttemptStatus::Live)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut second = harness(fake.clone(), store.clone(), voice_then_console(ALICE_PHONE));
    first.share_numbering(&mut second);
    drop(first); // the process dies while the phone rings
    second.gateway.recover().await.unwrap();
    // The call is still ringing: taken up, not dialed again.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(dials(&second, 1).await.len(), 1);
    handled(Ok(second.hangup("no_answer").await));
    let n = ladder_note(&second, id, "step 2 of 2 started").await;
    assert!(
        n.contains(&format!(
            "route `phones` step 1 of 2 (voice) ended: failed: the call to {ALICE_PHONE} was not answered"
        )),
        "{n:?}"
    );
    let starts = n
        .iter()
        .filter(|r| r.contains("step 1 of 2 started"))
        .count();
    assert_eq!(starts, 1, "the step was resumed, not started again: {n:?}");
}

#[tokio::test]
async fn a_plain_approver_calls_the_admin_and_a_bound_admin_decides_as_the_operator() {
    let h = Harness::with(|c| c.with_phone_operator(ADMIN, "carol", None).unwrap()).await;
    let id = h.escalate().await;
    assert_eq!(h.fake.last("dial").body["to"], ADMIN);
    h.answered().await;
    handled(Ok(h.dtmf("1").await));
    assert_eq!(h.state(id).await, State::Approved);
    let approval = h.gateway.status(id).await.unwrap().approval.unwrap();
    assert_eq!(
        (approval.by.as_str(), approval.channel.as_str()),
        ("carol", "voice/dtmf")
    );
}

#[tokio::test]
async fn a_decline_on_the_phone_declines_a_quorum_at_once() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let h = harness(
        FakeTelnyx::start().await,
        store,
        voice_then_console(ALICE_PHONE).with_quorum(2),
    );
    let id = h.escalate().await;
    dials(&h, 1).await;
    // bob approved on the console first: 1 of 2.
    let first = h
        .gateway
        .resolve(id, Resolution::approve("bob", "console"))
        .await
        .unwrap();
    assert_eq!(first.state, State::BlockedAwaitingAuth);
    h.answered().await;
    handled(Ok(h.dtmf("2").await));
    handled(Ok(h.say("decline").await));
    // A decline needs no PIN and wins over the approvals so far.
    let record = h.gateway.status(id).await.unwrap();
    assert_eq!(record.state, State::Declined);
    let approval = record.approval.unwrap();
    assert_eq!(
        (approval.by.as_str(), approval.channel.as_str()),
        ("alice", "voice/speech")
    );
    assert_eq!(
        h.fake.last("speak").body["payload"],
        "Declined. The action will not run. Goodbye."
    );
}

#[tokio::test]
async fn the_configuration_binds_phones_and_dials_each_steps_number() {
    use sentinel_core::spec::{Env, GatewaySpec};
    let fake = FakeTelnyx::start().await;
    let (signing, public) = keys(42);
    let text = format!(
        r#"
        [approver]
        kind = "telnyx"
        [approver.telnyx]
        connection_id = "{CONNECTION}"
        from_number = "{FROM}"
        admin_number = "{ADMIN}"
        public_key = "{key}"
        api_base = "{base}"
        public_url = "https://sentinel.example.com"

        [[operators]]
        name = "alice"
        token_env = "T_ALICE"
        phone = "{ALICE_PHONE}"
        pin_env = "PIN_ALICE"

        [[routes]]
        name = "phones"
        steps = [
          {{ channel = "voice", to = "{ALICE_PHONE}", timeout_s = 60 }},
          {{ channel = "console", timeout_s = 60 }},
        ]
        "#,
        key = public.to_base64(),
        base = fake.base,
    );
    let spec = GatewaySpec::from_toml_str(&text).unwrap();
    let env = Env::from_map(
        [
            ("TELNYX_API_KEY", API_KEY),
            ("T_ALICE", "alice-token-0123456789"),
            ("PIN_ALICE", ALICE_PIN),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    );
    let components = spec.components(&env).unwrap();
    let approver = components.telnyx.clone().unwrap();
    let bound = &approver.config().phones[ALICE_PHONE];
    assert_eq!(bound.operator, "alice");
    assert!(!format!("{:?}", approver.config()).contains(ALICE_PIN));
    let gateway = components.build().await.unwrap();
    assert_eq!(gateway.approver_name(), Some("ladder"));
    let ticket = gateway
        .submit(
            sentinel_core::Action::new("session_x", "PAY_INVOICE")
                .with_payload(serde_json::json!({"amount": 10000, "vendor": "Unknown Corp"})),
        )
        .await
        .unwrap();
    assert_eq!(ticket.status, State::BlockedAwaitingAuth);
    let mut dial = None;
    for _ in 0..400 {
        dial = fake.requests().into_iter().find(|r| r.action() == "dial");
        if dial.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(dial.unwrap().body["to"], ALICE_PHONE);
    // The call: answered, 1, alice's PIN (signed now, as Telnyx would).
    for (n, (event, extra)) in [
        ("call.answered", serde_json::json!({})),
        ("call.dtmf.received", serde_json::json!({"digit": "1"})),
        (
            "call.gather.ended",
            serde_json::json!({"digits": format!("{ALICE_PIN}#"), "status": "valid"}),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        // Echo the client state of the latest command, as Telnyx does (the call is found by
        // it even before the dial's answer has given its ids).
        let client_state = fake
            .requests()
            .last()
            .map(|r| r.body["client_state"].clone())
            .unwrap_or_default();
        let mut payload = serde_json::json!({
            "call_control_id": "v3:call-1", "call_leg_id": "leg-1", "call_session_id": "session-1",
            "client_state": client_state,
            "connection_id": CONNECTION, "from": FROM, "to": ALICE_PHONE,
        });
        payload
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let body = serde_json::json!({"data": {"record_type": "event", "event_type": event,
            "id": format!("cfg-evt-{n}"), "occurred_at": "2027-01-15T08:00:00.000000Z", "payload": payload}})
        .to_string();
        let headers = sign(&signing, chrono::Utc::now().timestamp(), &body);
        handled(
            approver
                .handle_webhook(headers.as_slice(), body.as_bytes())
                .await,
        );
    }
    let record = gateway.status(ticket.action_id).await.unwrap();
    assert_eq!(record.state, State::Approved);
    let approval = record.approval.unwrap();
    assert_eq!(
        (approval.by.as_str(), approval.channel.as_str()),
        ("alice", "voice/dtmf")
    );
}
