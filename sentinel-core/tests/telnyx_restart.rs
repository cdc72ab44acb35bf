//! Approval calls outlive the process that placed them: the call's state is in the store,
//! so the next process on the same SQLite file takes the call's webhooks up (after a drop,
//! or a SIGKILL of a child process), a redelivered event changes nothing, and recovery calls
//! the admin again — once — when the call died without a decision.
#![cfg(all(feature = "telnyx", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod telnyx_support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use sentinel_core::store::{ApprovalAttempt, AttemptStatus};
use sentinel_core::telnyx::{CallOutcome, CallPhase, IgnoreReason};
use sentinel_core::{
    Action, ActionId, AuditKind, Gateway, SqlStore, State, Store, TelnyxConfig, TelnyxVoiceApprover,
};
use serde_json::json;
use telnyx_support::*;

const CHILD_DB: &str = "SENTINEL_TELNYX_CHILD_DB";
const CHILD_API: &str = "SENTINEL_TELNYX_CHILD_API";

fn db_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sentinel-telnyx-{tag}-{}.db", ActionId::new()))
}

async fn sqlite(path: &Path) -> Arc<dyn Store> {
    Arc::new(SqlStore::open_sqlite(path).await.unwrap())
}

fn payment() -> Action {
    Action::new("session_x", "PAY_INVOICE")
        .with_payload(json!({"amount": 10000, "vendor": "Unknown Corp"}))
}

async fn attempts(h: &Harness, id: ActionId) -> Vec<ApprovalAttempt> {
    h.store.attempts(id).await.unwrap()
}

/// Escalates the payment on a gateway with no approver: pending, nobody called.
async fn pending_without_a_call(store: Arc<dyn Store>) -> ActionId {
    let quiet = Gateway::builder()
        .store_arc(store)
        .scorer(ScriptedScorer::default())
        .build()
        .unwrap();
    let ticket = quiet.submit(payment()).await.unwrap();
    assert_eq!(ticket.status, State::BlockedAwaitingAuth);
    ticket.action_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_placed_before_a_restart_is_carried_on_after_it() {
    let path = db_path("carry");
    let a = Harness::on_store(sqlite(&path).await).await;
    let id = a.escalate().await;
    assert_eq!(a.fake.actions(), ["dial"]);
    let b = a.instance(sqlite(&path).await);
    drop(a); // The process that dialed is gone, and its memory with it.

    assert_eq!(b.gateway.recover().await.unwrap(), 1);
    assert_eq!(b.fake.actions(), ["dial"], "under way: not placed again");
    let report = b.approver.call_report(id).await.unwrap();
    assert_eq!(
        (report.phase, report.call_control_id.as_deref()),
        (CallPhase::Ringing, Some("v3:call-1"))
    );
    b.answered().await;
    let gather = b.fake.last("gather_using_speak");
    assert_eq!(
        gather.path,
        "/v2/calls/v3:call-1/actions/gather_using_speak"
    );
    assert_eq!(gather.body["payload"], MENU_TEXT);
    let (_, press) = b.body(1, "call.dtmf.received", json!({"digit": "1"}));
    handled(b.post_body(&press).await);
    assert_eq!(b.state(id).await, State::Approved);
    let e = decision_event(&b, id, State::Approved).await;
    assert_eq!(
        (e.channel.as_str(), e.reason.as_str()),
        ("voice/dtmf", "approved by pressing 1 on the approval call")
    );

    // Another restart: the key press redelivered changes nothing, nor does the gather's
    // own report of it; the closing words still end the call.
    let c = b.instance(sqlite(&path).await);
    drop(b);
    assert_eq!(c.gateway.recover().await.unwrap(), 0);
    assert_eq!(
        ignored(&c.post_body(&press).await.unwrap()),
        Some(IgnoreReason::Duplicate)
    );
    assert_eq!(
        ignored(&c.gather_ended("1", "valid").await),
        Some(IgnoreReason::NotApplicable)
    );
    handled(Ok(c.speak_ended().await));
    assert_eq!(
        c.fake.actions(),
        ["dial", "gather_using_speak", "speak", "hangup"]
    );
    assert_eq!(
        c.fake.last("hangup").path,
        "/v2/calls/v3:call-1/actions/hangup"
    );
    // This process has seen it now: refused before it reaches the call.
    let again = c.post_body(&press).await.unwrap_err();
    assert_eq!(again.http_status(), 200, "{again}");
    let trail = c.gateway.audit_trail(id).await.unwrap();
    assert_eq!(
        trail.iter().filter(|e| e.to == State::Approved).count(),
        1,
        "{trail:#?}"
    );
    let calls = attempts(&c, id).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, AttemptStatus::Ended);
    assert_eq!(
        c.approver.call_report(id).await.unwrap().outcome,
        Some(CallOutcome::Approved)
    );
    assert_requests_match_spec(&c.fake.requests());
    sentinel_core::store::verify_audit_log(c.store.as_ref())
        .await
        .unwrap()
        .unwrap();
}

/// Runs only as the child of `a_call_survives_sigkill_of_the_process_that_placed_it`:
/// escalates the payment (the call is placed through the parent's fake Telnyx), says which
/// action, and waits to be killed.
#[test]
fn telnyx_child() {
    let (Ok(path), Ok(api)) = (std::env::var(CHILD_DB), std::env::var(CHILD_API)) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (_, public) = keys(42);
        let config = TelnyxConfig::new(API_KEY, CONNECTION, FROM, ADMIN, public)
            .with_api_base(api)
            .with_public_url("https://sentinel.example.com");
        let gw = Gateway::builder()
            .store(SqlStore::open_sqlite(&path).await.unwrap())
            .scorer(ScriptedScorer::default())
            .approver(TelnyxVoiceApprover::new(config).unwrap())
            .build()
            .unwrap();
        let ticket = gw.submit(payment()).await.unwrap();
        assert_eq!(ticket.status, State::BlockedAwaitingAuth);
        println!("DIALED {}", ticket.action_id);
        tokio::time::sleep(Duration::from_secs(600)).await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_survives_sigkill_of_the_process_that_placed_it() {
    let fake = FakeTelnyx::start().await;
    let path = db_path("sigkill");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["telnyx_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB, &path)
        .env(CHILD_API, &fake.base)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let id = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            // libtest may print `test telnyx_child ... ` in front of the line.
            if let Some(at) = line.find("DIALED ") {
                return line[at + 7..].trim().parse::<ActionId>().unwrap();
            }
        }
        panic!("the child said nothing");
    })
    .await
    .unwrap();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(fake.actions(), ["dial"]);

    let b = Harness::assemble(fake, sqlite(&path).await, |c| c, Duration::from_secs(180));
    assert_eq!(b.gateway.recover().await.unwrap(), 1);
    assert_eq!(b.fake.actions(), ["dial"], "under way: not placed again");
    b.answered().await;
    handled(Ok(b.dtmf("1").await));
    assert_eq!(b.state(id).await, State::Approved);
    let e = decision_event(&b, id, State::Approved).await;
    assert_eq!(e.channel, "voice/dtmf");
    assert_eq!(b.fake.actions(), ["dial", "gather_using_speak", "speak"]);
    assert_eq!(
        b.fake.last("speak").path,
        "/v2/calls/v3:call-1/actions/speak"
    );
    assert_requests_match_spec(&b.fake.requests());
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_action_nobody_was_called_about_is_called_once_on_recovery() {
    let path = db_path("uncalled");
    let id = pending_without_a_call(sqlite(&path).await).await;
    let b = Harness::on_store(sqlite(&path).await).await;
    assert_eq!(b.gateway.recover().await.unwrap(), 1);
    assert_eq!(b.fake.actions(), ["dial"]);
    let note = b
        .gateway
        .audit_trail(id)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.kind == AuditKind::Note)
        .unwrap();
    assert_eq!(
        (
            note.actor.as_str(),
            note.channel.as_str(),
            note.reason.as_str()
        ),
        (
            "sentinel",
            "telnyx-voice",
            "calling the admin on recovery: no approval call had been placed"
        )
    );
    // Recovering again, here or in the next process, leaves the call under way alone.
    b.gateway.recover().await.unwrap();
    let c = b.instance(sqlite(&path).await);
    c.gateway.recover().await.unwrap();
    assert_eq!(c.fake.actions(), ["dial"]);
    // Its webhooks move it wherever they land.
    c.answered().await;
    handled(Ok(c.dtmf("1").await));
    assert_eq!(c.state(id).await, State::Approved);
    decision_event(&c, id, State::Approved).await;
    assert_eq!(attempts(&c, id).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_ended_undecided_is_placed_again_once() {
    let path = db_path("again");
    let a = Harness::on_store(sqlite(&path).await).await;
    let id = a.escalate().await;
    handled(Ok(a.hangup("no_answer").await));
    let b = a.instance(sqlite(&path).await);
    drop(a);
    b.gateway.recover().await.unwrap();
    assert_eq!(b.fake.actions(), ["dial", "dial"]);
    let trail = b.gateway.audit_trail(id).await.unwrap();
    assert!(
        trail.iter().any(|e| e.kind == AuditKind::Note
            && e.reason
                == "calling the admin again on recovery: approval call 1 ended without a decision"),
        "{trail:#?}"
    );
    // Call 1 is over; call 2 is the one that counts.
    assert_eq!(
        ignored(&b.post("call.answered", json!({})).await.unwrap()),
        Some(IgnoreReason::CallFinished)
    );
    let (_, body) = b.body(2, "call.answered", json!({}));
    handled(b.post_body(&body).await);
    assert_eq!(
        b.fake.last("gather_using_speak").path,
        "/v2/calls/v3:call-2/actions/gather_using_speak"
    );
    let (_, body) = b.body(
        2,
        "call.hangup",
        json!({"hangup_cause": "normal_clearing", "hangup_source": "callee"}),
    );
    handled(b.post_body(&body).await);
    let report = b.approver.call_report(id).await.unwrap();
    assert_eq!(
        (report.call_control_id.as_deref(), report.outcome),
        (Some("v3:call-2"), Some(CallOutcome::HungUp))
    );

    // Called again once (the default): the next restart leaves it to expire.
    let c = b.instance(sqlite(&path).await);
    drop(b);
    assert_eq!(c.gateway.recover().await.unwrap(), 1);
    assert_eq!(c.fake.actions(), ["dial", "dial", "gather_using_speak"]);
    assert_eq!(c.state(id).await, State::BlockedAwaitingAuth);
    let calls = attempts(&c, id).await;
    assert_eq!(
        calls.iter().map(|a| (a.seq, a.status)).collect::<Vec<_>>(),
        [(1, AttemptStatus::Ended), (2, AttemptStatus::Ended)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_the_admin_ended_on_purpose_is_not_placed_again() {
    let path = db_path("goodbye");
    let a = Harness::on_store(sqlite(&path).await).await;
    let id = a.escalate().await;
    a.answered().await;
    a.dtmf("2").await;
    handled(Ok(a.say("ok goodbye").await));
    handled(Ok(a.speak_ended().await));
    let b = a.instance(sqlite(&path).await);
    drop(a);
    assert_eq!(b.gateway.recover().await.unwrap(), 1);
    assert_eq!(b.state(id).await, State::BlockedAwaitingAuth);
    assert_eq!(
        b.fake.actions(),
        [
            "dial",
            "gather_using_speak",
            "speak",
            "transcription_start",
            "transcription_stop",
            "speak",
            "hangup"
        ]
    );
    assert_eq!(
        b.approver.call_report(id).await.unwrap().outcome,
        Some(CallOutcome::Goodbye)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_cut_short_in_qna_is_placed_again_with_the_action_back_to_waiting() {
    let path = db_path("cut");
    let a = Harness::on_store(sqlite(&path).await).await;
    let id = a.escalate().await;
    a.answered().await;
    a.dtmf("2").await;
    assert_eq!(a.state(id).await, State::QnaMode);
    // The process died and the call's hang-up never reached anyone: by the time the next
    // process starts, the call has outlived its time limit.
    let mut call = attempts(&a, id).await.pop().unwrap();
    call.state["dialed_at"] = json!("2020-01-01T00:00:00.000000Z");
    a.store.update_attempt(&call).await.unwrap().unwrap();
    let b = a.instance(sqlite(&path).await);
    drop(a);
    b.gateway.recover().await.unwrap();
    assert_eq!(b.state(id).await, State::BlockedAwaitingAuth);
    let trail = b.gateway.audit_trail(id).await.unwrap();
    let back = trail.last().unwrap();
    assert_eq!(
        (back.kind, back.to, back.channel.as_str()),
        (AuditKind::Note, State::BlockedAwaitingAuth, "telnyx-voice")
    );
    assert!(trail.iter().any(|e| e.from == Some(State::QnaMode)
        && e.to == State::BlockedAwaitingAuth
        && e.actor == "sentinel"));
    assert_eq!(b.fake.actions().last().unwrap(), "dial");
    let calls = attempts(&b, id).await;
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].status, AttemptStatus::Ended);
    assert_eq!(calls[0].state["conversation"]["outcome"], "interrupted");
    // The new call starts from the menu.
    let (_, body) = b.body(2, "call.answered", json!({}));
    handled(b.post_body(&body).await);
    let (_, body) = b.body(2, "call.dtmf.received", json!({"digit": "1"}));
    handled(b.post_body(&body).await);
    assert_eq!(b.state(id).await, State::Approved);
}
