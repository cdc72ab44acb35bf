#![cfg(feature = "sqlite")]
//! Group commit in the SQL stores: concurrent writes share transactions, each is answered
//! as if it had been alone (a refused write fails alone, competing transitions have one
//! winner), the audit chain stays one verifiable chain, also with two stores (two
//! processes) writing to one database, and a write the database refuses fails without its
//! neighbours. On SQLite, and on PostgreSQL when `DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::Arc;

use sentinel_core::store::BatchStats;
use sentinel_core::{
    Action, ActionId, Created, Gateway, SqlStore, State, Store, StoreError, Transition,
};
use serde_json::json;

mod postgres_support;

async fn verified(name: &str, store: &dyn Store) -> u64 {
    sentinel_core::store::verify_audit_log(store)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn sqlite_path(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sentinel-gc-{tag}-{}", ActionId::new()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("s.db")
}

/// A SQLite store, and a PostgreSQL one in a fresh schema when `DATABASE_URL` is set.
async fn stores(
    tag: &str,
) -> (
    Option<postgres_support::TestSchema>,
    Vec<(&'static str, SqlStore)>,
) {
    let mut out = vec![(
        "sqlite",
        SqlStore::open_sqlite(sqlite_path(tag)).await.unwrap(),
    )];
    let mut schema = None;
    if let Some(url) = postgres_support::database_url(Some("the PostgreSQL store")) {
        let name = schema
            .insert(postgres_support::TestSchema::new(&url, "sentinel_gc"))
            .name();
        out.push((
            "postgres",
            SqlStore::connect_in_schema(&url, name).await.unwrap(),
        ));
    }
    (schema, out)
}

fn payment(i: usize) -> Action {
    Action::new(format!("agent-{}", i % 5), "PAY_INVOICE")
        .with_payload(json!({"amount": 10000 + i, "vendor": "Unknown Corp"}))
}

fn delta(before: BatchStats, after: BatchStats) -> (u64, u64) {
    (after.batches - before.batches, after.writes - before.writes)
}

/// Creates, competing transitions, claims and notes, all at once: every outcome is the
/// one it would have had alone, the writes shared transactions, and the chain verifies.
async fn mixed_writes(name: &str, store: SqlStore) {
    let store = Arc::new(store);
    // 64 creates, spawned before any runs: they queue up together.
    let before = store.batch_stats();
    let creates: Vec<_> = (0..64)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let id = ActionId::new();
                match store.create(id, &payment(i)).await.unwrap() {
                    Created::New(record, events) => {
                        assert_eq!(record.state, State::Analyzing);
                        assert_eq!(events.len(), 2);
                        assert_eq!(events[1].seq, events[0].seq + 1);
                        id
                    }
                    other => panic!("a new action replayed: {other:?}"),
                }
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in creates {
        ids.push(t.await.unwrap());
    }
    let (batches, writes) = delta(before, store.batch_stats());
    assert_eq!(writes, 64, "{name}");
    assert!(
        batches * 4 <= writes,
        "{name}: {batches} transactions for {writes} writes"
    );

    // Two competing decisions per action and a note, all at once (and a transition of an
    // unknown action among them): exactly one decision wins per action.
    let mut tasks = Vec::new();
    for (n, &id) in ids.iter().enumerate() {
        for approve in [true, false] {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let to = if approve {
                    State::Approved
                } else {
                    State::Declined
                };
                let t = Transition::new(to, "sentinel", "policy", format!("decided {n}"));
                match store.transition(id, t).await {
                    Ok((record, event)) => {
                        assert_eq!(record.state, to);
                        assert_eq!(event.to, to);
                        Some(to)
                    }
                    Err(StoreError::Transition(_)) => None,
                    Err(e) => panic!("{e}"),
                }
            }));
        }
    }
    let notes: Vec<_> = ids
        .iter()
        .map(|&id| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.append_note(id, "alice", "phone", "asked").await })
        })
        .collect();
    let unknown = store
        .transition(
            ActionId::new(),
            Transition::new(State::Approved, "sentinel", "policy", ""),
        )
        .await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound(_))),
        "{name}: {unknown:?}"
    );
    let outcomes: Vec<Option<State>> = {
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    };
    for note in notes {
        note.await.unwrap().unwrap();
    }
    let mut approved = HashSet::new();
    for (n, pair) in outcomes.chunks(2).enumerate() {
        let won: Vec<State> = pair.iter().flatten().copied().collect();
        assert_eq!(won.len(), 1, "{name}: action {n}: {pair:?}");
        let record = store.get(ids[n]).await.unwrap();
        assert_eq!(record.state, won[0], "{name}");
        if won[0] == State::Approved {
            approved.insert(ids[n]);
        }
    }
    // Claims, twice each and at once: the first runs, the second is refused, and a
    // declined action is never claimed.
    let claims: Vec<_> = ids
        .iter()
        .flat_map(|&id| [id, id])
        .map(|id| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { (id, store.claim_execution(id).await.unwrap().is_some()) })
        })
        .collect();
    let mut claimed = Vec::new();
    for c in claims {
        let (id, got) = c.await.unwrap();
        if got {
            claimed.push(id);
        }
    }
    let unique: HashSet<ActionId> = claimed.iter().copied().collect();
    assert_eq!(
        unique.len(),
        claimed.len(),
        "{name}: an action claimed twice"
    );
    assert_eq!(unique, approved, "{name}");
    // 2 per create, 1 decision and 1 note per action, 1 per claim.
    let expected = 64 * 4 + approved.len() as u64;
    assert_eq!(verified(name, store.as_ref()).await, expected, "{name}");
    assert_eq!(
        store.audit_head().await.unwrap().map(|(seq, _)| seq),
        Some(expected),
        "{name}"
    );
}

#[tokio::test]
async fn concurrent_writes_share_transactions_and_answer_as_if_alone() {
    let (_schema, stores) = stores("mixed").await;
    for (name, store) in stores {
        assert_eq!(store.batch_max(), sentinel_core::store::DEFAULT_BATCH_MAX);
        mixed_writes(name, store).await;
    }
}

#[tokio::test]
async fn batch_max_one_is_one_transaction_per_write() {
    let store = SqlStore::open_sqlite(sqlite_path("one"))
        .await
        .unwrap()
        .with_batch_max(1);
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.create(ActionId::new(), &payment(i)).await.unwrap() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let stats = store.batch_stats();
    assert_eq!((stats.batches, stats.writes), (16, 16));
    assert_eq!(verified("sqlite", store.as_ref()).await, 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_in_one_batch_make_one_action() {
    let (_schema, stores) = stores("idem").await;
    for (name, store) in stores {
        let store = Arc::new(store);
        let keyed = |amount: u64| {
            Action::new("billing-bot", "PAY_INVOICE")
                .with_payload(json!({"amount": amount, "vendor": "AWS"}))
                .with_idempotency_key("invoice-7")
        };
        let tasks: Vec<_> = (0..24u64)
            .map(|i| {
                let store = Arc::clone(&store);
                // Every third one differs: a conflict, not a replay.
                let action = keyed(if i % 3 == 2 { 999 } else { 100 });
                tokio::spawn(async move { store.create(ActionId::new(), &action).await })
            })
            .collect();
        let (mut new, mut existing, mut conflicts) = (Vec::new(), Vec::new(), 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(Created::New(record, _)) => new.push(record.id),
                Ok(Created::Existing(record)) => existing.push(record.id),
                Err(StoreError::IdempotencyConflict { .. }) => conflicts += 1,
                other => panic!("{name}: {other:?}"),
            }
        }
        // The first to be written holds the key, whichever amount it had.
        assert_eq!(new.len(), 1, "{name}");
        assert!(existing.iter().all(|id| *id == new[0]), "{name}");
        assert_eq!(existing.len() + conflicts + 1, 24, "{name}");
        assert!(
            conflicts == 8 || conflicts == 16,
            "{name}: {conflicts} conflicts"
        );
        assert_eq!(verified(name, store.as_ref()).await, 2, "{name}");
    }
}

/// Two stores on one database (two processes): their batches interleave on one chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_on_one_database_keep_one_chain() {
    let path = sqlite_path("two");
    let mut pairs = vec![(
        "sqlite",
        SqlStore::open_sqlite(&path).await.unwrap(),
        SqlStore::open_sqlite(&path).await.unwrap(),
    )];
    let mut schema = None;
    if let Some(url) = postgres_support::database_url(Some("the PostgreSQL store")) {
        let name = schema
            .insert(postgres_support::TestSchema::new(&url, "sentinel_gc2"))
            .name()
            .to_owned();
        let a = SqlStore::connect_in_schema(&url, &name).await.unwrap();
        let b = SqlStore::connect_in_schema(&url, &name).await.unwrap();
        pairs.push(("postgres", a, b));
    }
    for (name, a, b) in pairs {
        let gateways = [
            Gateway::builder().store(a.clone()).build().unwrap(),
            Gateway::builder().store(b).build().unwrap(),
        ];
        let tasks: Vec<_> = (0..200usize)
            .map(|i| {
                let gw = gateways[i % 2].clone();
                tokio::spawn(async move {
                    let action = Action::new(format!("agent-{}", i % 3), "PAY_INVOICE")
                        .with_payload(json!({"amount": 10 + i, "vendor": "AWS"}));
                    gw.submit(action).await.unwrap().action_id
                })
            })
            .collect();
        let mut ids = HashSet::new();
        for t in tasks {
            assert!(ids.insert(t.await.unwrap()));
        }
        // RECEIVED, ANALYZING, EXECUTED each, in one chain, whichever store wrote them.
        assert_eq!(verified(name, &a).await, 600, "{name}");
        for id in ids {
            assert_eq!(a.get(id).await.unwrap().state, State::Executed, "{name}");
        }
    }
    drop(schema);
}

/// A write the database itself refuses (here: a trigger) sinks its batch; the others are
/// written again one by one and succeed, and only the refused one fails.
#[tokio::test]
async fn a_write_the_database_refuses_fails_alone() {
    let path = sqlite_path("poison");
    let store = SqlStore::open_sqlite(&path).await.unwrap();
    let trigger = "CREATE TRIGGER poison BEFORE INSERT ON sentinel_actions \
                   WHEN NEW.agent_id = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned write'); END;";
    let status = std::process::Command::new("sqlite3")
        .arg(&path)
        .arg(trigger)
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => {
            // The sqlite3 shell sets the trigger up; without it the test cannot run.
            panic!("sqlite3 could not add the trigger: {other:?}");
        }
    }
    let store = Arc::new(store);
    let before = store.batch_stats();
    let tasks: Vec<_> = (0..32usize)
        .map(|i| {
            let store = Arc::clone(&store);
            let agent = if i == 13 {
                "poison".to_owned()
            } else {
                format!("agent-{i}")
            };
            tokio::spawn(async move {
                let action = Action::new(agent, "PAY_INVOICE").with_payload(json!({"amount": i}));
                (i, store.create(ActionId::new(), &action).await)
            })
        })
        .collect();
    for t in tasks {
        let (i, outcome) = t.await.unwrap();
        match (i, outcome) {
            (13, Err(StoreError::Backend(e))) => assert!(e.contains("poisoned write"), "{e}"),
            (13, other) => panic!("the refused write: {other:?}"),
            (_, Ok(Created::New(..))) => {}
            (i, other) => panic!("write {i}: {other:?}"),
        }
    }
    let (batches, writes) = delta(before, store.batch_stats());
    assert_eq!(writes, 31);
    // At least the batch holding the refused write was retried one write at a time.
    assert!(batches > 1, "{batches}");
    assert_eq!(verified("sqlite", store.as_ref()).await, 62);
}

/// `guard`'s one write (`create_decided`) is one entry of a batch: concurrent guards each
/// run once, their four events each are on one chain, and a decision the lifecycle refuses
/// writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guards_write_once_each_in_shared_batches() {
    let (_schema, stores) = stores("guard").await;
    for (name, store) in stores {
        let gw = Gateway::builder().store(store.clone()).build().unwrap();
        let before = store.batch_stats();
        let ran = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..64usize)
            .map(|i| {
                let (gw, ran) = (gw.clone(), Arc::clone(&ran));
                tokio::spawn(async move {
                    let action = Action::new(format!("agent-{}", i % 4), "PAY_INVOICE")
                        .with_payload(json!({"amount": 10 + i, "vendor": "AWS"}));
                    gw.guard(action, || async {
                        ran.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    })
                    .await
                    .unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 64, "{name}");
        let (batches, writes) = delta(before, store.batch_stats());
        assert_eq!(writes, 64, "{name}: one write per guard");
        assert!(batches < writes, "{name}: {batches} transactions");
        // RECEIVED, ANALYZING, EXECUTED and the execution, for each.
        assert_eq!(verified(name, &store).await, 256, "{name}");
        let latest = store.latest().await.unwrap().unwrap();
        assert!(latest.executed_at.is_some(), "{name}");

        let id = ActionId::new();
        let refused = Transition::new(State::Analyzing, "sentinel", "policy", "");
        let decided = sentinel_core::store::Decided::new(chrono::Utc::now(), refused, true);
        let e = store
            .create_decided(id, payment(1), decided)
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Transition(_)), "{name}: {e}");
        assert!(
            matches!(store.get(id).await, Err(StoreError::NotFound(_))),
            "{name}"
        );
        assert_eq!(verified(name, &store).await, 256, "{name}");
    }
}

/// The writer keeps one connection across batches: when the database closes it (a
/// restart, an administrator, a proxy's idle timeout), the next batch takes a fresh one and
/// the write goes through, the chain intact.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn the_writer_replaces_a_connection_the_database_closed() {
    use sqlx::Connection as _;
    let Some(url) = postgres_support::database_url(None) else {
        return;
    };
    let schema = postgres_support::TestSchema::new(&url, "sentinel_gc");
    // Its own application name: only this store's connections are closed.
    let app = format!("sentinel-kept-{}", ActionId::new());
    let sep = if url.contains('?') { '&' } else { '?' };
    let store =
        SqlStore::connect_in_schema(&format!("{url}{sep}application_name={app}"), schema.name())
            .await
            .unwrap();
    let first = ActionId::new();
    store.create(first, &payment(1)).await.unwrap();

    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let closed: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(&app)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!closed.is_empty(), "the store's connections were found");
    assert!(closed.iter().all(|(done,)| *done));

    let second = ActionId::new();
    let created = store.create(second, &payment(2)).await.unwrap();
    assert!(matches!(created, Created::New(..)), "{created:?}");
    assert_eq!(store.get(second).await.unwrap().state, State::Analyzing);
    assert_eq!(store.get(first).await.unwrap().state, State::Analyzing);
    // RECEIVED and ANALYZING of each.
    assert_eq!(verified("postgres", &store).await, 4);
    drop(admin);
}
