#![cfg(feature = "sqlite")]
//! Durability: a process holding pending approvals is killed with SIGKILL; a new process
//! on the same SQLite file finds them pending, late resolves still work, expiries still
//! fire, and each action executes exactly once. And: receipts refuse other arguments.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sentinel_core::{
    Action, ActionId, Assessment, Gateway, GuardError, Resolution, RiskScorer, ScoreContext,
    ScorerError, SqlStore, State, Store,
};
use serde_json::json;

const CHILD_ENV: &str = "SENTINEL_CRASH_CHILD_DB";
const SCORING_CHILD_ENV: &str = "SENTINEL_SCORING_CHILD_DB";

/// A scorer that never answers in time (a hung LLM), counting its calls.
struct Hanging(AtomicUsize);

#[async_trait::async_trait]
impl RiskScorer for Hanging {
    fn name(&self) -> &str {
        "hanging"
    }

    async fn assess(&self, _: &Action, _: &ScoreContext) -> Result<Assessment, ScorerError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Assessment::new(0, "never")
    }
}

/// Polls until the action has left `ANALYZING` (at most 20 s).
async fn decided(gw: &Gateway, id: ActionId) -> sentinel_core::ActionRecord {
    for _ in 0..400 {
        let record = gw.status(id).await.unwrap();
        if record.state != State::Analyzing {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("action `{id}` is still ANALYZING");
}

/// A payment no rule decides: the scorer is asked.
fn unruled() -> Action {
    Action::new("billing-bot", "PAY_INVOICE")
        .with_payload(json!({"amount": 2500, "vendor": "Acme Ltd"}))
}

/// Runs this test binary's `test` alone in a child process, with `var` naming the database
/// file; its stdout is piped back.
fn child(test: &str, var: &str, db: &std::path::Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(var, db)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

fn payment(i: usize) -> Action {
    Action::new("session_crash", "PAY_INVOICE")
        .with_payload(json!({"amount": 10000 + i, "vendor": "Unknown Corp"}))
        .with_idempotency_key(format!("invoice-{i}"))
}

/// Runs only as the child of `pending_approvals_survive_sigkill`: submits three escalated
/// payments, says READY, and waits to be killed.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = SqlStore::open_sqlite(&path).await.unwrap();
        let gw = Gateway::builder()
            .store(store)
            .escalation_timeout(Duration::from_secs(6))
            .build()
            .unwrap();
        for i in 0..3 {
            let ticket = gw.submit(payment(i)).await.unwrap();
            assert_eq!(ticket.status, State::BlockedAwaitingAuth);
            println!("SUBMITTED {}", ticket.action_id);
        }
        println!("READY");
        tokio::time::sleep(Duration::from_secs(600)).await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_approvals_survive_sigkill() {
    let path = std::env::temp_dir().join(format!("sentinel-crash-{}.db", ActionId::new()));
    let mut child = child("crash_child", CHILD_ENV, &path);
    let mut ids = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        // libtest may print `test crash_child ... ` in front of the first line.
        if let Some(at) = line.find("SUBMITTED ") {
            ids.push(line[at + 10..].trim().parse::<ActionId>().unwrap());
        }
        if line.ends_with("READY") {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(ids.len(), 3);

    let gw = Gateway::builder()
        .store(SqlStore::open_sqlite(&path).await.unwrap())
        .escalation_timeout(Duration::from_secs(6))
        .build()
        .unwrap();
    assert_eq!(
        gw.recover().await.unwrap(),
        3,
        "all three are still pending"
    );

    // The agent retries its first two payments (same idempotency keys): they wait for the
    // admin, whose late answers still land, and each runs exactly once.
    let ran = Arc::new(AtomicUsize::new(0));
    let mut guards = Vec::new();
    for i in 0..2 {
        let (gw, ran) = (gw.clone(), ran.clone());
        guards.push(tokio::spawn(async move {
            gw.guard(
                payment(i),
                || async move { ran.fetch_add(1, Ordering::SeqCst) },
            )
            .await
        }));
    }
    for id in &ids[..2] {
        gw.resolve(*id, Resolution::approve("+15550100", "voice/dtmf"))
            .await
            .unwrap();
    }
    for g in guards {
        g.await.unwrap().unwrap();
    }
    assert_eq!(ran.load(Ordering::SeqCst), 2);
    let again = gw
        .guard(payment(0), || async { unreachable!() })
        .await
        .unwrap_err();
    assert!(
        matches!(again, GuardError::AlreadyExecuted { .. }),
        "{again:?}"
    );

    // Nobody answers the third: the expiry scheduled from its stored deadline fires.
    let third = gw
        .wait(ids[2], Some(Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(third.state, State::Expired);
    let trail = gw.audit_trail(ids[2]).await.unwrap();
    assert_eq!(trail.last().unwrap().channel, "timeout");
    sentinel_core::store::verify_audit_log(gw.store().as_ref())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn an_approval_is_bound_to_the_approved_arguments() {
    let gw = Gateway::builder().build().unwrap();
    let approved = payment(7);
    let ticket = gw.submit(approved.clone()).await.unwrap();
    gw.resolve(ticket.action_id, Resolution::approve("alice", "web"))
        .await
        .unwrap();
    let record = gw.status(ticket.action_id).await.unwrap();
    let receipt = record.approval.unwrap();
    assert_eq!(receipt.action_hash, approved.canonical_hash());
    assert_eq!(
        receipt.packs.iter().map(|p| &*p.name).collect::<Vec<_>>(),
        ["VaultKeeper"]
    );

    let tampered = approved
        .clone()
        .with_payload(json!({"amount": 99999, "vendor": "Unknown Corp"}));
    let err = gw
        .authorize_submitted(ticket.action_id, &tampered)
        .await
        .unwrap_err();
    assert!(matches!(err, GuardError::ReceiptMismatch { .. }), "{err:?}");
    assert!(
        err.to_string().contains("differ from what was decided on"),
        "{err}"
    );
    gw.authorize_submitted(ticket.action_id, &approved)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_approval_is_bound_to_the_packs_it_was_decided_under() {
    let path = std::env::temp_dir().join(format!("sentinel-receipt-{}.db", ActionId::new()));
    let old = Gateway::builder()
        .store(SqlStore::open_sqlite(&path).await.unwrap())
        .build()
        .unwrap();
    let ticket = old.submit(payment(8)).await.unwrap();
    old.resolve(ticket.action_id, Resolution::approve("alice", "web"))
        .await
        .unwrap();

    // A new deployment with an edited VaultKeeper pack.
    let text = sentinel_core::Pack::builtin_source("VaultKeeper")
        .unwrap()
        .replace("\"1.1.0\"", "\"1.2.0\"");
    let edited = sentinel_core::Pack::from_json_str(&text).unwrap();
    let new = Gateway::builder()
        .packs([edited])
        .store(SqlStore::open_sqlite(&path).await.unwrap())
        .build()
        .unwrap();
    let err = new
        .authorize_submitted(ticket.action_id, &payment(8))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "action `{}` does not match its approval: pack `VaultKeeper` changed since the decision (1.1.0 → 1.2.0)",
            ticket.action_id
        )
    );
}

#[tokio::test]
async fn recover_decides_actions_left_half_decided() {
    let store = std::sync::Arc::new(sentinel_core::MemoryStore::new());
    // A submit that died after recording the action, before deciding it.
    let id = ActionId::new();
    sentinel_core::Store::create(store.as_ref(), id, &payment(9))
        .await
        .unwrap();
    assert_eq!(
        sentinel_core::Store::get(store.as_ref(), id)
            .await
            .unwrap()
            .state,
        State::Analyzing
    );

    // A live process may still be deciding it: a recent action is left alone.
    let patient = Gateway::builder().store_arc(store.clone()).build().unwrap();
    patient.recover().await.unwrap();
    assert_eq!(patient.status(id).await.unwrap().state, State::Analyzing);

    let gw = Gateway::builder()
        .store_arc(store)
        .analysis_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(gw.recover().await.unwrap(), 1);
    let record = gw.status(id).await.unwrap();
    assert_eq!(record.state, State::BlockedAwaitingAuth);
    assert!(record.deadline.is_some());
    assert_eq!(record.decision.unwrap().risk_score, 95);
}

/// Runs only as the child of `a_decision_cut_short_by_sigkill_is_made_again_after_restart`:
/// submits an action whose scorer hangs, says which, and waits to be killed mid-scoring.
#[test]
fn scoring_child() {
    let Ok(path) = std::env::var(SCORING_CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Arc::new(SqlStore::open_sqlite(&path).await.unwrap());
        let gw = Gateway::builder()
            .store_arc(store.clone())
            .scorer(Hanging(AtomicUsize::new(0)))
            .analysis_timeout(Duration::from_secs(3600))
            .build()
            .unwrap();
        tokio::spawn(async move { gw.submit(unruled()).await });
        loop {
            if let Some(r) = store.latest().await.unwrap()
                && r.state == State::Analyzing
            {
                println!("ANALYZING {}", r.id);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_secs(600)).await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_cut_short_by_sigkill_is_made_again_after_restart() {
    let path = std::env::temp_dir().join(format!("sentinel-scoring-{}.db", ActionId::new()));
    let mut child = child("scoring_child", SCORING_CHILD_ENV, &path);
    let mut id = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(at) = line.find("ANALYZING ") {
            id = Some(line[at + 10..].trim().parse::<ActionId>().unwrap());
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL, mid-scoring
    child.wait().unwrap();
    let id = id.unwrap();

    // Restarted at once: the action is too fresh to be taken over at start, and the
    // periodic sweep decides it once the analysis timeout has passed.
    let gw = Gateway::builder()
        .store(SqlStore::open_sqlite(&path).await.unwrap())
        .analysis_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    gw.recover().await.unwrap();
    let record = decided(&gw, id).await;
    // The offline scorer now: the pack's base risk, 60 → a human is asked (fails closed).
    assert_eq!(record.state, State::BlockedAwaitingAuth);
    let trail = gw.audit_trail(id).await.unwrap();
    let decisions = trail
        .iter()
        .filter(|e| e.from == Some(State::Analyzing))
        .count();
    assert_eq!(decisions, 1, "decided once: {trail:?}");
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_sweeping_one_store_decide_an_abandoned_action_once() {
    let store: Arc<dyn Store> = Arc::new(sentinel_core::MemoryStore::new());
    // A process that gave up mid-scoring: the submit is cancelled.
    let dead = Gateway::builder()
        .store_arc(store.clone())
        .scorer(Hanging(AtomicUsize::new(0)))
        .build()
        .unwrap();
    let submit = tokio::spawn(async move { dead.submit(unruled()).await });
    let id = loop {
        if let Some(r) = store.latest().await.unwrap() {
            break r.id;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    submit.abort();
    // Two live instances with a scorer that counts: only one of them decides it.
    let counting = Arc::new(Hanging(AtomicUsize::new(0)));
    let make = || {
        Gateway::builder()
            .store_arc(store.clone())
            .scorer_arc(counting.clone())
            .analysis_timeout(Duration::from_millis(200))
            .build()
            .unwrap()
    };
    let (a, b) = (make(), make());
    a.recover().await.unwrap();
    b.recover().await.unwrap();
    let record = decided(&a, id).await;
    // The hanging scorer got 150 ms (three quarters of 200): it failed, and failing closed
    // means a human is asked.
    assert_eq!(record.state, State::BlockedAwaitingAuth);
    assert!(
        record
            .decision
            .unwrap()
            .analysis
            .starts_with("risk scorer unavailable: no assessment within 150 ms")
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        counting.0.load(Ordering::SeqCst),
        1,
        "one instance re-decided it"
    );
    let trail = a.audit_trail(id).await.unwrap();
    assert_eq!(
        trail
            .iter()
            .filter(|e| e.from == Some(State::Analyzing))
            .count(),
        1
    );
}
