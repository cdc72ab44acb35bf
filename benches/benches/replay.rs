//! Replaying stored actions, as `sentinel replay` does: seeds a SQLite store with N decided
//! actions (`SENTINEL_REPLAY_ACTIONS`, default 100,000; the file is kept in
//! `target/replay-bench/` and reused by later runs), then replays all of them offline
//! under the seed packs (nothing changes) and under a VaultKeeper that trusts one more
//! vendor (some decisions change), and prints the time and rate of each.
//!
//! `cargo bench -p sentinel-benches --bench replay`; the same file then serves
//! `sentinel replay --store target/replay-bench/100000.db` (see docs/benchmarks.md).
//! Under `cargo test` it seeds 300 actions in a temporary folder.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use sentinel_core::replay::{self, ReplayFilter};
use sentinel_core::{Action, Gateway, Pack, SqlStore, Store};
use serde_json::{Value, json};

const CONCURRENCY: usize = 32;
const ENVIRONMENTS: [&str; 3] = ["production", "staging", "dev"];

/// A varied, deterministic stream: payments (trusted, unknown, untrusted, large), exports
/// of every size, deletions, restarts, dropped tables, unknown actions.
fn action(i: usize) -> Action {
    let agent = if i.is_multiple_of(7) {
        format!("session_{}", i % 50)
    } else {
        format!("agent-{}", i % 40)
    };
    let vendors = ["AWS", "Stripe", "Acme", "Unknown Corp", "Trusted SaaS Inc"];
    let (name, payload) = match i % 10 {
        0..=3 => (
            "PAY_INVOICE",
            json!({"amount": (i * 37) % 12_000, "vendor": vendors[i % vendors.len()]}),
        ),
        4 | 5 => (
            "EXPORT_CSV",
            json!({"record_count": (i * 13) % 900, "contains_pii": i.is_multiple_of(3)}),
        ),
        6 => (
            "DELETE_USER",
            json!({"user_id": i, "environment": ENVIRONMENTS[i % 2]}),
        ),
        7 => (
            "RESTART_SERVER",
            json!({"server": "api", "environment": ENVIRONMENTS[i % 3]}),
        ),
        8 => ("DROP_TABLE", json!({"table": "users"})),
        _ => ("SEND_EMAIL", json!({"to": "team"})),
    };
    Action::new(agent, name)
        .with_payload(payload)
        .with_reasoning("scheduled job")
}

async fn seed(path: &PathBuf, total: usize) -> Arc<dyn Store> {
    let fresh = !path.exists();
    let store: Arc<dyn Store> = Arc::new(SqlStore::open_sqlite(path).await.unwrap());
    if !fresh {
        return store;
    }
    let start = Instant::now();
    let gw = Gateway::builder()
        .store_arc(Arc::clone(&store))
        .build()
        .unwrap();
    let per_task = total.div_ceil(CONCURRENCY);
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|t| {
            let gw = gw.clone();
            tokio::spawn(async move {
                for i in (t * per_task..(t + 1) * per_task).take_while(|i| *i < total) {
                    gw.submit(action(i)).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    println!(
        "seeded    {total} actions into {} in {:.1} s",
        path.display(),
        start.elapsed().as_secs_f64()
    );
    store
}

fn vaultkeeper_trusting_acme() -> Pack {
    let mut doc: Value =
        serde_json::from_str(Pack::builtin_source("VaultKeeper").unwrap()).unwrap();
    let rules = doc["rules"].as_array_mut().unwrap();
    let trusted = rules
        .iter_mut()
        .find(|r| r["id"] == "trusted-vendor-small-payment")
        .unwrap();
    let list = trusted.pointer_mut("/when/all/2/in/value").unwrap();
    list.as_array_mut().unwrap().push(json!("Acme"));
    doc["version"] = json!("1.2.0");
    Pack::from_json_str(&doc.to_string()).unwrap()
}

async fn replay_once(name: &str, store: &dyn Store, packs: Vec<Pack>) {
    let gateway = Gateway::builder().packs(packs).build().unwrap();
    let start = Instant::now();
    let report = replay::replay(store, &gateway, &ReplayFilter::default(), None, |_| {})
        .await
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "replay    {name:<22} {:>7} decisions in {secs:>6.2} s ({:>7.0}/s), {} change",
        report.replayed,
        report.replayed as f64 / secs,
        report.changes.len()
    );
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let total = if bench {
        std::env::var("SENTINEL_REPLAY_ACTIONS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(100_000)
    } else {
        300
    };
    let path = if bench {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/replay-bench");
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(format!("{total}.db"))
    } else {
        std::env::temp_dir().join(format!("sentinel-replay-bench-{}.db", std::process::id()))
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = seed(&path, total).await;
        replay_once("seed packs", &*store, Pack::seed_packs().unwrap()).await;
        let seed = Pack::seed_packs().unwrap();
        let changed = vec![
            vaultkeeper_trusting_acme(),
            seed[1].clone(),
            seed[2].clone(),
        ];
        replay_once("VaultKeeper trusts Acme", &*store, changed).await;
    });
    if !bench {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
