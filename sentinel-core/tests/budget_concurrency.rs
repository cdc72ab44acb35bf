#![cfg(feature = "sqlite")]
//! Property: concurrent submits never overspend a budget. Payments of random amounts are
//! submitted at once, from two gateways on one store (two instances: in-memory shared,
//! one SQLite file, one PostgreSQL schema from `DATABASE_URL`), under a pack that declines
//! a payment that would take the agent's spend above the limit: what executed never sums
//! above it, and a payment that fits alone in an empty budget is never declined when it
//! is the only one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use proptest::prelude::*;
use sentinel_core::{ActionId, Gateway, State, Store};

mod budget_support;
use budget_support::{deny_pack, pay, stores};

/// Submits `amounts` concurrently (alternating between the two stores' gateways) and
/// returns what executed and how many were declined.
async fn spend(a: Arc<dyn Store>, b: Arc<dyn Store>, limit: u64, amounts: &[u32]) -> (u64, usize) {
    let gws = [a, b].map(|s| {
        Gateway::builder()
            .packs([deny_pack(limit)])
            .store_arc(s)
            .build()
            .unwrap()
    });
    let agent = format!("bot-{}", ActionId::new());
    let tasks: Vec<_> = amounts
        .iter()
        .enumerate()
        .map(|(i, &amount)| {
            let gw = gws[i % 2].clone();
            let action = pay(&agent, f64::from(amount));
            tokio::spawn(async move { (amount, gw.submit(action).await.unwrap().status) })
        })
        .collect();
    let (mut spent, mut declined) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            (amount, State::Executed) => spent += u64::from(amount),
            (_, State::Declined) => declined += 1,
            (_, other) => panic!("unexpected {other}"),
        }
    }
    (spent, declined)
}

fn check(limit: u64, amounts: &[u32]) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (_schema, stores) = stores("sentinel_budget_race").await;
        for (name, a, b) in stores {
            let (spent, declined) = spend(a, b, limit, amounts).await;
            prop_assert!(
                spent <= limit,
                "{name}: spent {spent} of {limit} on {amounts:?}"
            );
            // Someone gets through when the first payment alone fits, and nobody is
            // declined when all of them together fit.
            let total: u64 = amounts.iter().map(|&a| u64::from(a)).sum();
            if total <= limit {
                prop_assert_eq!(declined, 0, "{}: all fit", name);
            }
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn concurrent_submits_never_overspend_a_budget(
        limit in 1u64..=20_000,
        amounts in prop::collection::vec(1u32..=9_000, 2..16),
    ) {
        check(limit, &amounts)?;
    }
}

#[test]
fn many_payments_that_each_fit_alone_race_for_one_budget() {
    // 40 payments of 1000 against 20000: exactly 20 execute, whatever the interleaving.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (_schema, stores) = stores("sentinel_budget_race_exact").await;
        for (name, a, b) in stores {
            let (spent, declined) = spend(a, b, 20_000, &[1000; 40]).await;
            assert_eq!((spent, declined), (20_000, 20), "{name}");
        }
    });
}
