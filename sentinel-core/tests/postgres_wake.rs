#![cfg(feature = "postgres")]
//! Two gateways on one PostgreSQL database: a resolve on one wakes the guard waiting on the
//! other through LISTEN/NOTIFY — the waiting gateway polls only once a minute here, so a
//! prompt return proves the notification path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use sentinel_core::{Action, Gateway, Resolution, SqlStore};
use serde_json::json;

mod postgres_support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolve_on_one_instance_wakes_the_guard_on_another() {
    let Some(url) = postgres_support::database_url(None) else {
        return;
    };
    let schema = postgres_support::TestSchema::new(&url, "sentinel_wake");
    let a = Gateway::builder()
        .store(
            SqlStore::connect_in_schema(&url, schema.name())
                .await
                .unwrap(),
        )
        .poll_interval(Duration::from_secs(60))
        .build()
        .unwrap();
    let b = Gateway::builder()
        .store(
            SqlStore::connect_in_schema(&url, schema.name())
                .await
                .unwrap(),
        )
        .build()
        .unwrap();
    a.recover().await.unwrap(); // starts listening

    let action = Action::new("session_pg", "PAY_INVOICE")
        .with_payload(json!({"amount": 7000, "vendor": "Unknown Corp"}));
    let waiting = tokio::spawn({
        let a = a.clone();
        async move { a.guard(action, || async { "paid" }).await }
    });
    let id = loop {
        if let Some(r) = b.store().pending().await.unwrap().first() {
            break r.id;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Let the guard settle into its (60 s) wait before resolving elsewhere.
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.resolve(id, Resolution::approve("bob", "web"))
        .await
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(20), waiting).await;
    assert_eq!(
        out.expect("the guard was not woken by NOTIFY")
            .unwrap()
            .unwrap(),
        "paid"
    );
}
