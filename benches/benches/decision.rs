//! Decision latency on the seed packs (offline scorer) and the overhead of `guard()` with
//! the in-memory store, each against a baseline so the report reads as a ratio: `guard`
//! against `evaluate` of the same action and against the previous four-round-trip path
//! (`submit` + `authorize_submitted`), measured in the same run.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sentinel_core::{Action, Gateway};
use serde_json::json;

fn actions() -> Vec<(&'static str, Action)> {
    vec![
        (
            "pay_unknown_vendor",
            Action::new("session_x", "PAY_INVOICE")
                .with_payload(json!({"amount": 10000, "vendor": "Unknown Corp"})),
        ),
        (
            "pay_trusted_small",
            Action::new("billing", "PAY_INVOICE")
                .with_payload(json!({"amount": 120, "vendor": "AWS"})),
        ),
        (
            "export_200_no_pii",
            Action::new("data", "EXPORT_CSV")
                .with_payload(json!({"record_count": 200, "contains_pii": false})),
        ),
        (
            "drop_table",
            Action::new("ops", "DROP_TABLE").with_payload(json!({"table": "users"})),
        ),
        (
            "delete_user_prod",
            Action::new("ops", "DELETE_USER")
                .with_payload(json!({"user_id": "u1", "environment": "Production"})),
        ),
    ]
}

fn evaluate(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let gateway = Gateway::builder().build().unwrap();
    let mut group = c.benchmark_group("evaluate");
    for (name, action) in actions() {
        group.bench_function(name, |b| {
            b.iter(|| rt.block_on(gateway.evaluate(black_box(&action))))
        });
    }
    // Baseline: an empty future on the same runtime.
    group.bench_function("baseline_block_on_empty_future", |b| {
        b.iter(|| rt.block_on(async { black_box(1) }))
    });
    group.finish();
}

fn guard(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let action =
        Action::new("billing", "PAY_INVOICE").with_payload(json!({"amount": 120, "vendor": "AWS"}));
    let mut group = c.benchmark_group("guard");
    // A fresh gateway (and in-memory store) per sample, so the store's growth over millions
    // of iterations does not dominate the measurement.
    group.bench_function("guard_auto_approved_memory_store", |b| {
        b.iter_custom(|iters| {
            let gateway = Gateway::builder().build().unwrap();
            let start = std::time::Instant::now();
            for _ in 0..iters {
                rt.block_on(gateway.guard(action.clone(), || async { black_box(42) }))
                    .unwrap();
            }
            start.elapsed()
        })
    });
    // The previous implementation's path, kept as a baseline: `submit` (create, then the
    // decision's transition) and `authorize_submitted` (re-read, receipt check, claim),
    // four store round trips where `guard` now makes one.
    group.bench_function("previous_path_submit_then_authorize_submitted", |b| {
        b.iter_custom(|iters| {
            let gateway = Gateway::builder().build().unwrap();
            let start = std::time::Instant::now();
            for _ in 0..iters {
                rt.block_on(async {
                    let ticket = gateway.submit(action.clone()).await.unwrap();
                    gateway
                        .authorize_submitted(ticket.action_id, &action)
                        .await
                        .unwrap();
                    black_box(42)
                });
            }
            start.elapsed()
        })
    });
    // The same action decided without recording anything: what guard adds is the ratio.
    let gateway = Gateway::builder().build().unwrap();
    group.bench_function("evaluate_same_action", |b| {
        b.iter(|| rt.block_on(gateway.evaluate(black_box(&action))))
    });
    group.bench_function("baseline_direct_call", |b| {
        b.iter(|| {
            rt.block_on(async {
                black_box(action.clone());
                black_box(42)
            })
        })
    });
    group.finish();
}

criterion_group!(benches, evaluate, guard);
criterion_main!(benches);
