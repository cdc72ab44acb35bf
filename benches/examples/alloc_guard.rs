//! `N` calls of `Gateway::guard` (auto-approved, memory store), of `evaluate` of the same
//! action, as in the `decision` bench, or of `guard` with a SQLite store (`guard-sqlite`: a
//! fresh database file in the temporary directory, removed at the end; one write a call),
//! for counting what one call costs independently of the machine's load: allocations with
//! `valgrind --tool=dhat`, instructions with `valgrind --tool=callgrind`. Two runs with
//! different `N` cancel the setup: the difference of their totals divided by the difference
//! of their `N` is the cost per call.
//!
//! ```bash
//! cargo build --release -p sentinel-benches --example alloc_guard
//! valgrind --tool=dhat target/*/release/examples/alloc_guard guard 1000
//! valgrind --tool=dhat target/*/release/examples/alloc_guard guard 3000
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;

use sentinel_core::{Action, ActionId, Gateway, SqlStore};
use serde_json::json;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "guard".to_owned());
    let n: u64 = args.next().map_or(1000, |n| n.parse().expect("N: a count"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let action =
        Action::new("billing", "PAY_INVOICE").with_payload(json!({"amount": 120, "vendor": "AWS"}));
    let gateway = Gateway::builder().build().unwrap();
    match mode.as_str() {
        "guard" => {
            for _ in 0..n {
                rt.block_on(gateway.guard(action.clone(), || async { black_box(42) }))
                    .unwrap();
            }
        }
        "evaluate" => {
            for _ in 0..n {
                black_box(rt.block_on(gateway.evaluate(black_box(&action))));
            }
        }
        "sizes" => {
            // What `block_on` moves: the futures' sizes.
            let guard = gateway.guard(action.clone(), || async { black_box(42) });
            println!("guard future: {} bytes", std::mem::size_of_val(&guard));
            let evaluate = gateway.evaluate(&action);
            println!(
                "evaluate future: {} bytes",
                std::mem::size_of_val(&evaluate)
            );
        }
        "guard-sqlite" => {
            let dir =
                std::env::temp_dir().join(format!("sentinel-alloc-guard-{}", ActionId::new()));
            std::fs::create_dir_all(&dir).unwrap();
            let store = rt
                .block_on(SqlStore::open_sqlite(dir.join("guard.db")))
                .unwrap();
            let gateway = Gateway::builder()
                .store_arc(Arc::new(store))
                .build()
                .unwrap();
            for _ in 0..n {
                rt.block_on(gateway.guard(action.clone(), || async { black_box(42) }))
                    .unwrap();
            }
            drop(gateway);
            std::fs::remove_dir_all(&dir).unwrap();
        }
        other => panic!("unknown mode `{other}`: guard, evaluate, guard-sqlite or sizes"),
    }
}
