#![cfg(feature = "sqlite")]
//! Approval attempts on every store (in-memory, SQLite, PostgreSQL from `DATABASE_URL`):
//! the next attempt is made by exactly one of several concurrent writers, updates land only
//! over the version read, and a provider id finds its attempt.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use sentinel_core::store::{ApprovalAttempt, AttemptStatus};
use sentinel_core::{Action, ActionId, Created, MemoryStore, SqlStore, Store, StoreError};
use serde_json::json;

mod postgres_support;

/// Each store twice: two handles on one database, as two processes would hold.
/// Bind the guard of the PostgreSQL schema first: `let (_schema, stores) = stores().await;`.
#[allow(clippy::type_complexity)]
async fn stores() -> (
    Option<postgres_support::TestSchema>,
    Vec<(&'static str, Arc<dyn Store>, Arc<dyn Store>)>,
) {
    let memory: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let path = std::env::temp_dir().join(format!("sentinel-attempts-{}.db", ActionId::new()));
    let mut out = vec![
        ("memory", memory.clone(), memory),
        (
            "sqlite",
            Arc::new(SqlStore::open_sqlite(&path).await.unwrap()) as Arc<dyn Store>,
            Arc::new(SqlStore::open_sqlite(&path).await.unwrap()) as Arc<dyn Store>,
        ),
    ];
    let mut schema = None;
    if let Some(url) = postgres_support::database_url(Some("the PostgreSQL store")) {
        let name = schema
            .insert(postgres_support::TestSchema::new(&url, "sentinel_attempts"))
            .name();
        out.push((
            "postgres",
            Arc::new(SqlStore::connect_in_schema(&url, name).await.unwrap()),
            Arc::new(SqlStore::connect_in_schema(&url, name).await.unwrap()),
        ));
    }
    (schema, out)
}

async fn action(store: &dyn Store) -> ActionId {
    let id = ActionId::new();
    let action = Action::new("session_a", "PAY_INVOICE").with_payload(json!({"amount": 10000}));
    assert!(matches!(
        store.create(id, &action).await.unwrap(),
        Created::New(..)
    ));
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_are_claimed_once_and_updated_over_their_version() {
    let (_schema, stores) = stores().await;
    for (name, a, b) in stores {
        assert!(a.keeps_attempts(), "{name}");
        let id = action(a.as_ref()).await;
        let first = ApprovalAttempt::new(id, 1, "telnyx-voice", json!({"step": "dialing"}));
        let stored = a.insert_attempt(&first).await.unwrap().expect(name);
        assert_eq!(
            (stored.version, stored.status),
            (1, AttemptStatus::Starting),
            "{name}"
        );
        // The same number again, from the other process: nothing written.
        assert_eq!(b.insert_attempt(&first).await.unwrap(), None, "{name}");

        // Two processes moving the same version: one wins, the other is told to re-read.
        let mut live = stored.clone();
        live.status = AttemptStatus::Live;
        live.state = json!({"step": "ringing"});
        live.add_external_ids(["v3:call-1", "leg-1"]);
        let mut other = stored.clone();
        other.state = json!({"step": "other"});
        let (x, y) = tokio::join!(a.update_attempt(&live), b.update_attempt(&other));
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!(
            usize::from(x.is_some()) + usize::from(y.is_some()),
            1,
            "{name}: exactly one update over version 1"
        );
        let winner = x.or(y).unwrap();
        assert_eq!(winner.version, 2, "{name}");
        // A stale version never lands.
        assert_eq!(b.update_attempt(&stored).await.unwrap(), None, "{name}");

        // Read back from the other handle, found by a provider id.
        let mut live = b.attempts(id).await.unwrap().pop().unwrap();
        if live.status != AttemptStatus::Live {
            live.status = AttemptStatus::Live;
            live.add_external_ids(["v3:call-1", "leg-1"]);
            live = a.update_attempt(&live).await.unwrap().unwrap();
        }
        assert_eq!(live.external_ids, ["leg-1", "v3:call-1"], "{name}");
        let found = a
            .find_attempt("telnyx-voice", "leg-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((found.action_id, found.seq), (id, 1), "{name}");
        assert_eq!(found, live, "{name}");
        assert_eq!(a.find_attempt("slack", "leg-1").await.unwrap(), None);
        assert_eq!(a.find_attempt("telnyx-voice", "leg-9").await.unwrap(), None);

        // Ids are only added; an id of another attempt is refused.
        let mut ended = live.clone();
        ended.status = AttemptStatus::Ended;
        ended.external_ids = vec!["session-1".to_owned()];
        let ended = b.update_attempt(&ended).await.unwrap().unwrap();
        assert_eq!(
            ended.external_ids,
            ["leg-1", "session-1", "v3:call-1"],
            "{name}"
        );
        let mut second = ApprovalAttempt::new(id, 2, "telnyx-voice", json!({}));
        second.add_external_ids(["v3:call-1"]);
        let err = a.insert_attempt(&second).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("external id `v3:call-1` of channel `telnyx-voice` already names another approval attempt"),
            "{name}: {err}"
        );
        let second = ApprovalAttempt::new(id, 2, "telnyx-voice", json!({"n": 2}));
        a.insert_attempt(&second).await.unwrap().unwrap();
        let seqs: Vec<u32> = b
            .attempts(id)
            .await
            .unwrap()
            .iter()
            .map(|a| a.seq)
            .collect();
        assert_eq!(seqs, [1, 2], "{name}");

        let unknown = ApprovalAttempt::new(ActionId::new(), 1, "telnyx-voice", json!({}));
        assert!(
            matches!(
                a.insert_attempt(&unknown).await,
                Err(StoreError::NotFound(_))
            ),
            "{name}"
        );
        assert!(a.attempts(ActionId::new()).await.unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_many_concurrent_claims_of_the_next_attempt_one_wins() {
    let (_schema, stores) = stores().await;
    for (name, a, b) in stores {
        for _ in 0..5 {
            let id = action(a.as_ref()).await;
            let mut tasks = Vec::new();
            for i in 0..6 {
                let store = if i % 2 == 0 { a.clone() } else { b.clone() };
                tasks.push(tokio::spawn(async move {
                    let attempt = ApprovalAttempt::new(id, 1, "telnyx-voice", json!({"by": i}));
                    store.insert_attempt(&attempt).await.unwrap().is_some()
                }));
            }
            let mut won = 0;
            for t in tasks {
                won += usize::from(t.await.unwrap());
            }
            assert_eq!(won, 1, "{name}");
            assert_eq!(a.attempts(id).await.unwrap().len(), 1, "{name}");
        }
    }
}
