#![cfg(feature = "sqlite")]
//! Tampering with a SQLite store behind Sentinel's back: `verify_audit` catches removed
//! tails, edited records, and a chain re-hashed after an edit (by its checkpoints, and by
//! their signatures when the forger rewrites those too).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::PathBuf;
use std::sync::Arc;

use sentinel_core::store::chain::{ChainBreak, ChainProblem, GENESIS, event_hash};
use sentinel_core::store::checkpoint::AuditKey;
use sentinel_core::store::{AuditReport, verify_audit};
use sentinel_core::{Action, ActionId, Gateway, Resolution, SqlStore, State, Store};
use serde_json::json;
use sqlx::Row;

struct Db {
    path: PathBuf,
    store: Arc<SqlStore>,
    raw: sqlx::SqlitePool,
    ids: Vec<ActionId>,
}

impl Drop for Db {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

/// A store with `n` actions: payments declined by a human, and one that expired.
async fn db(n: usize, key: Option<&AuditKey>) -> Db {
    let path = std::env::temp_dir().join(format!("sentinel-tamper-{}.db", ActionId::new()));
    let store = Arc::new(SqlStore::open_sqlite(&path).await.unwrap());
    let mut builder = Gateway::builder().store_arc(store.clone());
    if let Some(key) = key {
        builder = builder.audit_key(key.clone());
    }
    let gw = builder.build().unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let action = Action::new("session_t", "PAY_INVOICE")
            .with_payload(json!({"amount": 10_000 + i, "vendor": "Unknown Corp"}));
        let ticket = gw.submit(action).await.unwrap();
        gw.resolve(ticket.action_id, Resolution::decline("alice", "web"))
            .await
            .unwrap();
        ids.push(ticket.action_id);
    }
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    Db {
        path,
        store,
        raw,
        ids,
    }
}

async fn verify(db: &Db, key: Option<&AuditKey>) -> Result<AuditReport, ChainBreak> {
    verify_audit(db.store.as_ref(), key).await.unwrap()
}

async fn exec(db: &Db, sql: &str) {
    sqlx::query(sql).execute(&db.raw).await.unwrap();
}

fn key() -> AuditKey {
    AuditKey::new("kept-outside-the-database").unwrap()
}

#[tokio::test]
async fn an_untouched_store_verifies_with_its_records_and_checkpoints() {
    let db = db(5, Some(&key())).await;
    Gateway::builder()
        .store_arc(db.store.clone())
        .audit_key(key())
        .build()
        .unwrap()
        .checkpoint()
        .await
        .unwrap()
        .expect("a checkpoint of the 20 records");
    let report = verify(&db, Some(&key())).await.unwrap();
    assert_eq!((report.records, report.actions), (20, 5));
    assert_eq!((report.checkpoints, report.signed), (1, 1));
    // Without the key the signature is not checked, and the report says so.
    assert_eq!(verify(&db, None).await.unwrap().unchecked_signatures, 1);
}

#[tokio::test]
async fn removing_the_last_records_or_all_of_them_is_caught() {
    for (cut, label) in [
        ("seq > 19", "the last"),
        ("seq > 10", "the last 10"),
        ("1 = 1", "all"),
    ] {
        let db = db(5, None).await;
        exec(&db, &format!("DELETE FROM sentinel_audit WHERE {cut}")).await;
        let e = verify(&db, None).await.unwrap_err();
        assert!(
            matches!(e.problem, ChainProblem::Truncated { head: 20 }),
            "{label}: {e}"
        );
        assert!(
            e.to_string().contains("its last records were removed"),
            "{e}"
        );
    }
}

#[tokio::test]
async fn an_edited_state_or_decision_is_caught() {
    let db = db(3, None).await;
    let id = db.ids[1];
    exec(
        &db,
        &format!("UPDATE sentinel_actions SET state = 'APPROVED' WHERE id = '{id}'"),
    )
    .await;
    let e = verify(&db, None).await.unwrap_err();
    assert_eq!(
        e.problem,
        ChainProblem::RecordMismatch {
            action_id: id,
            detail: "the record says APPROVED, its audit trail left it DECLINED".to_owned()
        }
    );
    exec(
        &db,
        &format!("UPDATE sentinel_actions SET state = 'DECLINED', decision_json = replace(decision_json, '\"risk_score\":95', '\"risk_score\":5') WHERE id = '{id}'"),
    )
    .await;
    let record = db.store.get(id).await.unwrap();
    assert_eq!(record.decision.unwrap().risk_score, 5, "the edit landed");
    let e = verify(&db, None).await.unwrap_err();
    assert!(
        matches!(&e.problem, ChainProblem::RecordMismatch { action_id, detail } if *action_id == id && detail.contains("decision")),
        "{e}"
    );
}

/// Rewrites record `seq` (its reason) and re-hashes the whole chain after it, moving the
/// chain head along, as a careful forger would.
async fn rewrite_and_rehash(db: &Db, seq: u64) {
    let mut events = db.store.audit_log(0, 10_000).await.unwrap();
    let mut prev = GENESIS.to_owned();
    for e in &mut events {
        if e.seq == seq {
            e.reason = "approved by the CFO".to_owned();
        }
        e.prev_hash = prev.clone();
        e.hash = event_hash(e);
        prev = e.hash.clone();
        sqlx::query(
            "UPDATE sentinel_audit SET reason = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
        )
        .bind(&e.reason)
        .bind(&e.prev_hash)
        .bind(&e.hash)
        .bind(i64::try_from(e.seq).unwrap())
        .execute(&db.raw)
        .await
        .unwrap();
    }
    sqlx::query("UPDATE sentinel_chain SET last_hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(&db.raw)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_chain_rehashed_after_an_edit_is_caught_by_its_checkpoints_and_their_signatures() {
    let db = db(4, Some(&key())).await;
    let gw = Gateway::builder()
        .store_arc(db.store.clone())
        .audit_key(key())
        .build()
        .unwrap();
    gw.checkpoint().await.unwrap().expect("checkpoint at 16");
    rewrite_and_rehash(&db, 3).await;
    // The chain itself is consistent again...
    sentinel_core::store::chain::verify(&db.store.audit_log(0, 100).await.unwrap()).unwrap();
    // ...but the checkpoint recorded another hash at 16.
    let e = verify(&db, None).await.unwrap_err();
    assert!(
        matches!(e.problem, ChainProblem::Checkpoint { .. }) && e.seq == 16,
        "{e}"
    );

    // The forger rewrites the checkpoint too: without the key that passes (the documented
    // limit of unsigned checkpoints); with it, the signature gives the forgery away.
    let head: String = sqlx::query("SELECT last_hash FROM sentinel_chain WHERE id = 1")
        .fetch_one(&db.raw)
        .await
        .unwrap()
        .get(0);
    sqlx::query("UPDATE sentinel_checkpoints SET hash = $1 WHERE seq = 16")
        .bind(&head)
        .execute(&db.raw)
        .await
        .unwrap();
    assert!(verify(&db, None).await.is_ok());
    let e = verify(&db, Some(&key())).await.unwrap_err();
    assert!(e.to_string().contains("signature does not verify"), "{e}");
    // And a checkpoint stripped of its signature is refused when a key is given.
    exec(&db, "UPDATE sentinel_checkpoints SET mac = NULL").await;
    let e = verify(&db, Some(&key())).await.unwrap_err();
    assert!(e.to_string().contains("is not signed"), "{e}");
}

#[tokio::test]
async fn records_cut_after_a_checkpoint_with_the_head_moved_back_are_caught() {
    let db = db(3, None).await;
    let gw = Gateway::builder()
        .store_arc(db.store.clone())
        .build()
        .unwrap();
    gw.checkpoint().await.unwrap().expect("checkpoint at 12");
    // Cut the last action's records and move the head back to hide it.
    let hash: String = sqlx::query("SELECT hash FROM sentinel_audit WHERE seq = 8")
        .fetch_one(&db.raw)
        .await
        .unwrap()
        .get(0);
    exec(&db, "DELETE FROM sentinel_audit WHERE seq > 8").await;
    sqlx::query("UPDATE sentinel_chain SET last_seq = 8, last_hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&db.raw)
        .await
        .unwrap();
    exec(
        &db,
        &format!("DELETE FROM sentinel_actions WHERE id = '{}'", db.ids[2]),
    )
    .await;
    let e = verify(&db, None).await.unwrap_err();
    assert!(
        matches!(e.problem, ChainProblem::Checkpoint { .. }) && e.seq == 12,
        "{e}"
    );
    assert!(e.to_string().contains("beyond the end of the log"), "{e}");
}

#[tokio::test]
async fn an_action_without_a_trail_or_a_trail_without_its_action_is_caught() {
    let db = db(2, None).await;
    exec(
        &db,
        &format!("DELETE FROM sentinel_actions WHERE id = '{}'", db.ids[0]),
    )
    .await;
    let e = verify(&db, None).await.unwrap_err();
    assert!(e.to_string().contains("its record was removed"), "{e}");
    let state = db.store.get(db.ids[1]).await.unwrap().state;
    assert_eq!(state, State::Declined);
}
