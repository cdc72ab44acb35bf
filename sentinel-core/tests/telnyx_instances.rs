//! Two live instances on one store (a shared in-memory store, one SQLite file, and
//! PostgreSQL from `DATABASE_URL`, reported as skipped when it is not set): a webhook
//! reaching the instance that did not dial carries the call on, a key reported to both at
//! once acts once, a redelivery to the other instance changes nothing, and two instances
//! recovering the same store call the admin once per action.
#![cfg(all(feature = "telnyx", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod postgres_support;
mod telnyx_support;

use std::path::PathBuf;
use std::sync::Arc;

use sentinel_core::telnyx::IgnoreReason;
use sentinel_core::{Action, ActionId, Gateway, MemoryStore, SqlStore, State, Store};
use serde_json::json;
use telnyx_support::*;

/// A database several instances open, each with its own connections.
enum Db {
    Memory(Arc<dyn Store>),
    Sqlite(PathBuf),
    /// The schema is dropped with the `Db`, after the stores opened on it.
    Postgres {
        url: String,
        schema: postgres_support::TestSchema,
    },
}

impl Db {
    async fn open(&self) -> Arc<dyn Store> {
        match self {
            Db::Memory(store) => Arc::clone(store),
            Db::Sqlite(path) => Arc::new(SqlStore::open_sqlite(path).await.unwrap()),
            Db::Postgres { url, schema } => Arc::new(
                SqlStore::connect_in_schema(url, schema.name())
                    .await
                    .unwrap(),
            ),
        }
    }
}

fn dbs() -> Vec<(&'static str, Db)> {
    let mut out = vec![
        ("memory", Db::Memory(Arc::new(MemoryStore::new()))),
        (
            "sqlite",
            Db::Sqlite(
                std::env::temp_dir().join(format!("sentinel-instances-{}.db", ActionId::new())),
            ),
        ),
    ];
    if let Some(url) = postgres_support::database_url(Some("the PostgreSQL instances")) {
        let schema = postgres_support::TestSchema::new(&url, "sentinel_calls");
        out.push(("postgres", Db::Postgres { url, schema }));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_reaching_the_other_instance_carries_the_call_on() {
    for (name, db) in dbs() {
        let a = Harness::on_store(db.open().await).await;
        let b = a.instance(db.open().await);
        let id = a.escalate().await;
        b.answered().await;
        let (_, press) = b.body(1, "call.dtmf.received", json!({"digit": "1"}));
        handled(b.post_body(&press).await);
        assert_eq!(a.state(id).await, State::Approved, "{name}");
        let e = decision_event(&a, id, State::Approved).await;
        assert_eq!(e.channel, "voice/dtmf", "{name}");
        // Redelivered to the instance that dialed, which never saw it: nothing changes.
        assert_eq!(
            ignored(&a.post_body(&press).await.unwrap()),
            Some(IgnoreReason::Duplicate),
            "{name}"
        );
        // The closing words end where B left the call, on A.
        handled(Ok(a.speak_ended().await));
        assert_eq!(
            a.fake.actions(),
            ["dial", "gather_using_speak", "speak", "hangup"],
            "{name}"
        );
        assert!(
            a.fake
                .requests()
                .iter()
                .skip(1)
                .all(|r| r.path.starts_with("/v2/calls/v3:call-1/")),
            "{name}"
        );
        assert_requests_match_spec(&a.fake.requests());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_reported_to_both_instances_at_once_acts_once() {
    for (name, db) in dbs() {
        let a = Harness::on_store(db.open().await).await;
        let b = a.instance(db.open().await);
        for call in 1..=4 {
            let id = a.escalate().await;
            let (_, answered) = a.body(call, "call.answered", json!({}));
            handled(a.post_body(&answered).await);
            // Telnyx reports the key twice; the two reports land on different instances.
            let (_, dtmf) = a.body(call, "call.dtmf.received", json!({"digit": "1"}));
            let (_, gather) = a.body(
                call,
                "call.gather.ended",
                json!({"digits": "1", "status": "valid"}),
            );
            let (x, y) = tokio::join!(a.post_body(&dtmf), b.post_body(&gather));
            let outcomes = [x.unwrap(), y.unwrap()];
            assert_eq!(
                outcomes.iter().filter(|o| ignored(o).is_none()).count(),
                1,
                "{name}: {outcomes:?}"
            );
            assert_eq!(a.state(id).await, State::Approved, "{name}");
            let speeches = a
                .fake
                .requests()
                .iter()
                .filter(|r| r.path == format!("/v2/calls/v3:call-{call}/actions/speak"))
                .count();
            assert_eq!(speeches, 1, "{name}: one confirmation on call {call}");
            assert_eq!(
                a.fake.last("speak").body["payload"],
                "Approved. The action will now run. Goodbye.",
                "{name}"
            );
            decision_event(&a, id, State::Approved).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_recovering_one_store_call_once_per_action() {
    for (name, db) in dbs() {
        let first = Harness::on_store(db.open().await).await;
        let dials = |h: &Harness| h.fake.actions().iter().filter(|a| *a == "dial").count();
        for round in 0..3 {
            // Y's call went unanswered; X was escalated by a process with no approver.
            let dead = first.instance(db.open().await);
            let before = dials(&dead);
            let y = dead.escalate().await;
            let call = u64::try_from(before + 1).unwrap();
            let (_, hangup) = dead.body(
                call,
                "call.hangup",
                json!({"hangup_cause": "no_answer", "hangup_source": "callee"}),
            );
            handled(dead.post_body(&hangup).await);
            let quiet = Gateway::builder()
                .store_arc(db.open().await)
                .scorer(ScriptedScorer::default())
                .build()
                .unwrap();
            let x = quiet
                .submit(
                    Action::new("session_x", "PAY_INVOICE")
                        .with_payload(json!({"amount": 20000, "vendor": "Unknown Corp"})),
                )
                .await
                .unwrap()
                .action_id;
            drop(quiet);
            let b = dead.instance(db.open().await);
            let c = dead.instance(db.open().await);
            drop(dead);
            let (rb, rc) = tokio::join!(b.gateway.recover(), c.gateway.recover());
            assert!(rb.unwrap() >= 2 && rc.unwrap() >= 2, "{name}");
            assert_eq!(
                dials(&b) - before,
                3,
                "{name} round {round}: {:?}",
                b.fake.actions()
            );
            assert_eq!(b.store.attempts(x).await.unwrap().len(), 1, "{name}");
            assert_eq!(b.store.attempts(y).await.unwrap().len(), 2, "{name}");
            // Each was noted once, by whichever instance called.
            for id in [x, y] {
                let notes = b
                    .gateway
                    .audit_trail(id)
                    .await
                    .unwrap()
                    .iter()
                    .filter(|e| e.channel == "telnyx-voice")
                    .count();
                assert_eq!(notes, 1, "{name}");
                // Decided elsewhere so the next round starts clean.
                b.gateway
                    .resolve(id, sentinel_core::Resolution::decline("alice", "web"))
                    .await
                    .unwrap();
            }
        }
    }
}
