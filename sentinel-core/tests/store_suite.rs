#![cfg(feature = "sqlite")]
//! One behaviour suite, run against every store: in-memory, SQLite, and PostgreSQL (from
//! `DATABASE_URL`, in a fresh schema; reported as skipped when it is not set).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::Arc;

use sentinel_core::store::chain;
use sentinel_core::store::{AuditEvent, Decided};
use sentinel_core::{
    Action, ActionId, Created, Gateway, MemoryStore, Resolution, SqlStore, State, Store,
    StoreError, Transition,
};
use serde_json::json;

mod postgres_support;

/// The stores, and the PostgreSQL schema (dropped when the guard is) when there is one:
/// bind the guard first, `let (_schema, stores) = stores().await;`.
async fn stores() -> (
    Option<postgres_support::TestSchema>,
    Vec<(&'static str, Arc<dyn Store>)>,
) {
    let dir = std::env::temp_dir().join(format!("sentinel-suite-{}", ActionId::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut out: Vec<(&'static str, Arc<dyn Store>)> = vec![
        ("memory", Arc::new(MemoryStore::new())),
        (
            "sqlite",
            Arc::new(SqlStore::open_sqlite(dir.join("s.db")).await.unwrap()),
        ),
    ];
    let mut schema = None;
    if let Some(url) = postgres_support::database_url(Some("the PostgreSQL store")) {
        let name = schema
            .insert(postgres_support::TestSchema::new(&url, "sentinel_test"))
            .name();
        out.push((
            "postgres",
            Arc::new(SqlStore::connect_in_schema(&url, name).await.unwrap()),
        ));
    }
    (schema, out)
}

fn risky(agent: &str) -> Action {
    Action::new(agent, "PAY_INVOICE")
        .with_payload(json!({"amount": 10000, "vendor": "Unknown Corp"}))
}

async fn check_chain(name: &str, store: &dyn Store) -> u64 {
    sentinel_core::store::verify_audit_log(store)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_round_trip_with_their_trail() {
    let (_schema, stores) = stores().await;
    for (name, store) in stores {
        let gw = Gateway::builder().store_arc(store.clone()).build().unwrap();
        let ticket = gw
            .submit(risky("session_1").with_reasoning("urgent"))
            .await
            .unwrap();
        gw.note(
            ticket.action_id,
            "alice",
            "phone",
            "called the vendor: invoice is genuine",
        )
        .await
        .unwrap();
        gw.resolve(
            ticket.action_id,
            Resolution::approve("alice", "web").with_reason("ok"),
        )
        .await
        .unwrap();
        let record = store.get(ticket.action_id).await.unwrap();
        assert_eq!(record.state, State::Approved, "{name}");
        assert_eq!(record.action.reasoning, "urgent", "{name}");
        assert_eq!(record.decision.as_ref().unwrap().risk_score, 95, "{name}");
        assert_eq!(
            record.decision.as_ref().unwrap().rules,
            [
                "VaultKeeper/unknown-vendor-large-payment",
                "VaultKeeper/untrusted-vendor-over-1000"
            ],
            "{name}"
        );
        assert_eq!(record.approval.as_ref().unwrap().by, "alice", "{name}");
        assert!(record.deadline.is_some(), "{name}");
        let trail = store.audit_trail(ticket.action_id).await.unwrap();
        let states: Vec<_> = trail.iter().map(|e| e.to).collect();
        assert_eq!(
            states,
            [
                State::Received,
                State::Analyzing,
                State::BlockedAwaitingAuth,
                State::BlockedAwaitingAuth,
                State::Approved
            ],
            "{name}"
        );
        assert_eq!(trail[3].kind, sentinel_core::AuditKind::Note, "{name}");
        assert_eq!(
            trail[3].reason, "called the vendor: invoice is genuine",
            "{name}"
        );
        assert_eq!(
            store.latest().await.unwrap().unwrap().id,
            ticket.action_id,
            "{name}"
        );
        assert!(store.pending().await.unwrap().is_empty(), "{name}");
        assert!(
            matches!(
                store.get(ActionId::new()).await,
                Err(StoreError::NotFound(_))
            ),
            "{name}"
        );
        assert_eq!(check_chain(name, store.as_ref()).await, 5, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decided_write_without_the_events_copies_writes_the_same_trail() {
    let (_schema, stores) = stores().await;
    for (name, store) in stores {
        let mut trails = Vec::new();
        for wanted in [true, false] {
            let id = ActionId::new();
            let step = Transition::new(State::Executed, "sentinel", "policy", "fine");
            // At the precision stores keep (the gateway's clock reads microseconds).
            let now = chrono::Utc::now().timestamp_micros();
            let received = chrono::DateTime::from_timestamp_micros(now).unwrap();
            let decided = Decided::new(received, step, true).with_events(wanted);
            let Created::New(record, returned) = store
                .create_decided(id, risky(name), decided)
                .await
                .unwrap()
            else {
                panic!("{name}: not created");
            };
            assert!(record.executed_at.is_some(), "{name}");
            let trail = store.audit_trail(id).await.unwrap();
            if wanted {
                assert_eq!(returned, trail, "{name}");
            } else {
                assert!(returned.is_empty(), "{name}: copies nobody asked for");
            }
            trails.push(trail);
        }
        // The same events either way: kinds, states and words (ids, times, hashes differ).
        let shape = |trail: &[AuditEvent]| -> Vec<_> {
            trail
                .iter()
                .map(|e| {
                    (
                        e.kind,
                        e.from,
                        e.to,
                        e.actor.clone(),
                        e.channel.clone(),
                        e.reason.clone(),
                    )
                })
                .collect()
        };
        assert_eq!(trails[0].len(), 4, "{name}");
        assert_eq!(shape(&trails[0]), shape(&trails[1]), "{name}");
        check_chain(name, store.as_ref()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_states_never_change_and_execution_is_claimed_once() {
    let (_schema, stores) = stores().await;
    for (name, store) in stores {
        let id = ActionId::new();
        store.create(id, &risky("a")).await.unwrap();
        let step = |to| Transition::new(to, "t", "test", "");
        assert_eq!(
            store.get(id).await.unwrap().state,
            State::Analyzing,
            "{name}"
        );
        assert!(
            store.claim_execution(id).await.unwrap().is_none(),
            "{name}: not approved yet"
        );
        store.transition(id, step(State::Executed)).await.unwrap();
        for to in State::ALL {
            assert!(
                store.transition(id, step(to)).await.is_err(),
                "{name}: {to}"
            );
        }
        assert!(store.claim_execution(id).await.unwrap().is_some(), "{name}");
        assert!(store.claim_execution(id).await.unwrap().is_none(), "{name}");
        assert!(store.get(id).await.unwrap().executed_at.is_some(), "{name}");
        check_chain(name, store.as_ref()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_replay_conflict_and_race() {
    let (_schema, stores) = stores().await;
    for (name, store) in stores {
        let action = risky("agent-k").with_idempotency_key("k1");
        let first = ActionId::new();
        assert!(
            matches!(
                store.create(first, &action).await.unwrap(),
                Created::New(..)
            ),
            "{name}"
        );
        match store.create(ActionId::new(), &action).await.unwrap() {
            Created::Existing(r) => assert_eq!(r.id, first, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        let changed = action.clone().with_payload(json!({"amount": 1}));
        assert!(
            matches!(
                store.create(ActionId::new(), &changed).await,
                Err(StoreError::IdempotencyConflict { existing, .. }) if existing == first
            ),
            "{name}"
        );
        let mut other_agent = action.clone();
        other_agent.agent_id = "agent-j".into();
        assert!(
            matches!(
                store.create(ActionId::new(), &other_agent).await.unwrap(),
                Created::New(..)
            ),
            "{name}"
        );

        // 50 racing submissions of one key: exactly one record.
        let racer = risky("agent-r").with_idempotency_key("race");
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (store, racer) = (store.clone(), racer.clone());
                tokio::spawn(async move { store.create(ActionId::new(), &racer).await.unwrap() })
            })
            .collect();
        let mut ids = HashSet::new();
        let mut new = 0;
        for t in tasks {
            match t.await.unwrap() {
                Created::New(r, _) => {
                    new += 1;
                    ids.insert(r.id);
                }
                Created::Existing(r) => {
                    ids.insert(r.id);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!((new, ids.len()), (1, 1), "{name}");
        check_chain(name, store.as_ref()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_submits_lose_and_duplicate_nothing() {
    let (_schema, stores) = stores().await;
    for (name, store) in stores {
        let gw = Gateway::builder().store_arc(store.clone()).build().unwrap();
        let tasks: Vec<_> = (0..1000u64)
            .map(|i| {
                let gw = gw.clone();
                tokio::spawn(async move {
                    let a = Action::new(format!("agent-{}", i % 7), "PAY_INVOICE")
                        .with_payload(json!({"amount": 10 + i % 900, "vendor": "AWS"}));
                    gw.submit(a).await.unwrap().action_id
                })
            })
            .collect();
        let mut ids = HashSet::new();
        for t in tasks {
            assert!(ids.insert(t.await.unwrap()), "{name}: duplicate id");
        }
        assert_eq!(ids.len(), 1000, "{name}");
        for id in ids.iter().take(20) {
            assert_eq!(
                store.get(*id).await.unwrap().state,
                State::Executed,
                "{name}"
            );
        }
        // RECEIVED, ANALYZING, EXECUTED for each.
        assert_eq!(check_chain(name, store.as_ref()).await, 3000, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_decision_is_claimed_once() {
    let (_schema, stores) = stores().await;
    for (name, store) in stores {
        let id = ActionId::new();
        let created = store.create(id, &risky("session_9")).await.unwrap();
        assert!(matches!(created, Created::New(..)), "{name}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let stale_before = chrono::Utc::now();
        let (a, b) = tokio::join!(
            store.claim_stale(id, stale_before),
            store.claim_stale(id, stale_before)
        );
        let won = [a.unwrap(), b.unwrap()].into_iter().filter(|w| *w).count();
        assert_eq!(won, 1, "{name}: exactly one claim wins");
        // Claimed just now: not stale any more for a sweep with the same threshold.
        assert!(
            !store.claim_stale(id, stale_before).await.unwrap(),
            "{name}"
        );
        // A decided action is never claimed.
        store
            .transition(id, Transition::new(State::Declined, "t", "policy", ""))
            .await
            .unwrap();
        let later = chrono::Utc::now() + chrono::Duration::seconds(60);
        assert!(!store.claim_stale(id, later).await.unwrap(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_resolves_of_one_action_have_one_winner() {
    let (_schema, stores) = stores().await;
    for (name, store) in stores {
        let gw = Gateway::builder().store_arc(store.clone()).build().unwrap();
        let ticket = gw.submit(risky("session_z")).await.unwrap();
        let tasks: Vec<_> = (0..24)
            .map(|i| {
                let gw = gw.clone();
                tokio::spawn(async move {
                    let r = if i % 2 == 0 {
                        Resolution::approve(format!("a{i}"), "web")
                    } else {
                        Resolution::decline(format!("d{i}"), "web")
                    };
                    gw.resolve(ticket.action_id, r).await.is_ok()
                })
            })
            .collect();
        let mut wins = 0;
        for t in tasks {
            wins += usize::from(t.await.unwrap());
        }
        assert_eq!(wins, 1, "{name}");
        let trail = store.audit_trail(ticket.action_id).await.unwrap();
        assert_eq!(
            trail.iter().filter(|e| e.to.is_terminal()).count(),
            1,
            "{name}"
        );
        check_chain(name, store.as_ref()).await;
    }
}

#[tokio::test]
async fn the_chain_detects_edits_removals_and_reordering() {
    let store = MemoryStore::new();
    let gw = Gateway::builder().store(store).build().unwrap();
    for i in 0..3 {
        gw.submit(Action::new(format!("a{i}"), "DROP_TABLE"))
            .await
            .unwrap();
    }
    let log = gw.store().audit_log(0, 100).await.unwrap();
    assert_eq!(chain::verify(&log), Ok(9));

    let mut edited = log.clone();
    edited[4].reason = "nothing to see".into();
    assert_eq!(
        chain::verify(&edited).unwrap_err().to_string(),
        "audit record 5 was edited (its hash does not match its content)"
    );

    let mut removed = log.clone();
    removed.remove(3);
    assert_eq!(
        chain::verify(&removed).unwrap_err().to_string(),
        "audit record 5 does not follow record 3: records were removed or reordered"
    );

    let mut reordered = log.clone();
    reordered.swap(6, 7);
    assert_eq!(chain::verify(&reordered).unwrap_err().seq, 8);

    let mut first_gone = log;
    first_gone.remove(0);
    assert!(
        chain::verify(&first_gone)
            .unwrap_err()
            .to_string()
            .contains("does not start the chain")
    );
}
