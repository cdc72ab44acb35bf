#![cfg(feature = "sqlite")]
//! What a budget costs per decision: `submit` with a `budget` rule against the same pack
//! with a plain comparison instead, on the memory store and on SQLite. Ignored (it measures,
//! it does not check): `cargo test -p sentinel-core --test budget_cost -- --ignored
//! --nocapture` (add `--release` for numbers worth comparing).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use sentinel_core::{ActionId, Gateway, MemoryStore, Pack, SqlStore, State, Store};

mod budget_support;
use budget_support::pay;

fn pack(when: &str) -> Pack {
    Pack::from_json_str(&format!(
        r#"{{"name": "Cost", "version": "1.0.0", "applies_to": ["PAY_INVOICE"],
            "default": {{"risk": 10, "reason": "ok"}},
            "rules": [{{"id": "r", "when": {when}, "effect": "deny", "reason": "r"}}]}}"#
    ))
    .unwrap()
}

async fn per_submit(store: Arc<dyn Store>, when: &str, n: u32) -> f64 {
    let gw = Gateway::builder()
        .packs([pack(when)])
        .store_arc(store)
        .build()
        .unwrap();
    let start = Instant::now();
    for i in 0..n {
        // A few agents, so that windows hold entries.
        let t = gw
            .submit(pay(&format!("bot-{}", i % 8), 1.0))
            .await
            .unwrap();
        assert_eq!(t.status, State::Executed);
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

#[tokio::test]
#[ignore = "measures; run with --ignored --nocapture"]
async fn cost_of_a_budget_per_decision() {
    let plain = r#"{"gt": {"path": "payload.amount", "value": 1e12}}"#;
    let budget = r#"{"budget": {"sum": "payload.amount", "per": ["agent_id"], "window_s": 86400, "above": 1e12}}"#;
    for (name, n) in [("memory", 20_000), ("sqlite", 1_000)] {
        let store = || -> Arc<dyn Store> { Arc::new(MemoryStore::new()) };
        let (without, with) = if name == "memory" {
            (
                per_submit(store(), plain, n).await,
                per_submit(store(), budget, n).await,
            )
        } else {
            let file =
                || std::env::temp_dir().join(format!("sentinel-cost-{}.db", ActionId::new()));
            let a = Arc::new(SqlStore::open_sqlite(file()).await.unwrap());
            let b = Arc::new(SqlStore::open_sqlite(file()).await.unwrap());
            (
                per_submit(a, plain, n).await,
                per_submit(b, budget, n).await,
            )
        };
        println!(
            "{name}: submit {without:.1} µs without a budget, {with:.1} µs with one: {:.1} µs per budget check ({n} submits)",
            with - without
        );
    }
}
