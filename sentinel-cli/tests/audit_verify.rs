//! `sentinel audit verify` on real databases: intact, then edited, removed and reordered
//! rows, each detected and located. SQLite always; PostgreSQL when `DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use sentinel_core::{Action, ActionId, Gateway, SqlStore};
use serde_json::json;
use sqlx::Executor;

#[path = "../../sentinel-core/tests/postgres_support/mod.rs"]
mod support;

/// Fills a store with three actions: 9 audit records.
async fn fill(store: SqlStore) {
    let gw = Gateway::builder().store(store).build().unwrap();
    for i in 0..3 {
        gw.submit(
            Action::new(format!("ops-{i}"), "DROP_TABLE").with_payload(json!({"table": "t"})),
        )
        .await
        .unwrap();
    }
}

fn verify(url: &str, schema: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sentinel"));
    cmd.args(["audit", "verify", url]);
    if let Some(s) = schema {
        cmd.args(["--schema", s]);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Applies one tampering, checks the verdict, then restores from `backup` statements.
async fn tamper_cases(pool: &sqlx::AnyPool, url: &str, schema: Option<&str>) {
    let (ok, out) = verify(url, schema);
    assert!(ok, "{out}");
    assert!(out.contains("ok: 9 audit records"), "{out}");

    let cases: [(&str, &str, &str); 3] = [
        (
            "UPDATE sentinel_audit SET reason = 'nothing happened' WHERE seq = 6",
            "UPDATE sentinel_audit SET reason = (SELECT reason FROM sentinel_audit_backup WHERE seq = 6) WHERE seq = 6",
            "audit record 6 was edited",
        ),
        (
            "DELETE FROM sentinel_audit WHERE seq = 4",
            "INSERT INTO sentinel_audit SELECT * FROM sentinel_audit_backup WHERE seq = 4",
            "audit record 5 does not follow record 3",
        ),
        (
            "UPDATE sentinel_audit SET seq = -1 WHERE seq = 7; UPDATE sentinel_audit SET seq = 7 WHERE seq = 8; UPDATE sentinel_audit SET seq = 8 WHERE seq = -1",
            "UPDATE sentinel_audit SET seq = -1 WHERE seq = 7; UPDATE sentinel_audit SET seq = 7 WHERE seq = 8; UPDATE sentinel_audit SET seq = 8 WHERE seq = -1",
            "audit record 7 was edited",
        ),
    ];
    pool.execute("CREATE TABLE sentinel_audit_backup AS SELECT * FROM sentinel_audit")
        .await
        .unwrap();
    for (tamper, restore, expected) in cases {
        pool.execute(tamper).await.unwrap();
        let (ok, out) = verify(url, schema);
        assert!(!ok, "{tamper}: {out}");
        assert!(
            out.contains(expected),
            "{tamper}: expected `{expected}` in {out}"
        );
        pool.execute(restore).await.unwrap();
        let (ok, out) = verify(url, schema);
        assert!(ok, "after restoring `{tamper}`: {out}");
    }
}

#[tokio::test]
async fn sqlite_tampering_is_detected_and_located() {
    let path = std::env::temp_dir().join(format!("sentinel-audit-{}.db", ActionId::new()));
    let url = format!("sqlite://{}", path.display());
    fill(SqlStore::connect(&url).await.unwrap()).await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    tamper_cases(&pool, &url, None).await;
}

#[tokio::test]
async fn postgres_tampering_is_detected_and_located() {
    let Some(url) = support::database_url(None) else {
        return;
    };
    let schema = support::TestSchema::new(&url, "sentinel_audit");
    fill(
        SqlStore::connect_in_schema(&url, schema.name())
            .await
            .unwrap(),
    )
    .await;
    sqlx::any::install_default_drivers();
    let search_path = schema.name().to_owned();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .after_connect(move |conn, _| {
            let sql = format!("SET search_path TO {search_path}");
            Box::pin(async move { conn.execute(sql.as_str()).await.map(|_| ()) })
        })
        .connect(&url)
        .await
        .unwrap();
    tamper_cases(&pool, &url, Some(schema.name())).await;
}

#[tokio::test]
async fn a_plain_file_path_works_like_a_sqlite_url() {
    let path = std::env::temp_dir().join(format!("sentinel audit {}.db", ActionId::new()));
    fill(SqlStore::open_sqlite(&path).await.unwrap()).await;
    let (ok, out) = verify(path.to_str().unwrap(), None);
    assert!(ok, "{out}");
    assert!(
        out.contains("ok: 9 audit records, 3 actions, 0 checkpoints; hash chain intact"),
        "{out}"
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_missing_sqlite_file_is_an_error_and_is_not_created() {
    let path = std::env::temp_dir().join(format!("sentinel-missing-{}.db", ActionId::new()));
    let shown = path.display().to_string();
    for arg in [shown.clone(), format!("sqlite://{shown}")] {
        let (ok, out) = verify(&arg, None);
        assert!(!ok, "{out}");
        assert_eq!(
            out.trim_end(),
            format!(
                "error: no SQLite database at `{shown}`: the file does not exist (nothing was created)"
            )
        );
        assert!(!path.exists(), "`{arg}` created {shown}");
    }
}

#[test]
fn a_bad_url_is_a_clear_error() {
    let (ok, out) = verify("mysql://x", None);
    assert!(!ok);
    assert!(
        out.contains("unsupported database url `mysql://x`"),
        "{out}"
    );
}
