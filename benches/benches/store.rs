//! Submit throughput and latency (p50/p99) per store, and memory per pending approval.
//!
//! `cargo bench -p sentinel-benches --bench store` (PostgreSQL when `DATABASE_URL` is set).
//! Under `cargo test` it runs a few submits per store only, to keep the bench compiling
//! and working.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use sentinel_core::{Action, ActionId, Gateway, MemoryStore, SqlStore, Store};
use serde_json::json;

#[path = "../../sentinel-core/tests/postgres_support/mod.rs"]
mod postgres_support;

const CONCURRENCY: usize = 32;

fn action(i: usize) -> Action {
    Action::new(format!("agent-{}", i % 16), "PAY_INVOICE")
        .with_payload(json!({"amount": 10 + i % 900, "vendor": "AWS"}))
}

async fn run(name: &str, store: Arc<dyn Store>, total: usize) {
    let gw = Gateway::builder().store_arc(store).build().unwrap();
    // Warm up (connections, caches).
    for i in 0..CONCURRENCY.min(total) {
        gw.submit(action(i)).await.unwrap();
    }
    let start = Instant::now();
    let per_task = total / CONCURRENCY;
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|t| {
            let gw = gw.clone();
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per_task);
                for i in 0..per_task {
                    let t0 = Instant::now();
                    gw.submit(action(t * per_task + i)).await.unwrap();
                    lat.push(t0.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut lat: Vec<Duration> = Vec::with_capacity(total);
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "{name:<9} {:>6} submits  {:>9.0} submits/s  p50 {:>9.1?}  p99 {:>9.1?}  ({CONCURRENCY} concurrent)",
        lat.len(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99)
    );
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        * 4096
}

async fn memory_per_pending(n: usize) {
    let gw = Gateway::builder()
        .escalation_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let before = rss_bytes();
    for i in 0..n {
        let a = Action::new("session_m", "PAY_INVOICE")
            .with_payload(json!({"amount": 5000 + i, "vendor": "Unknown Corp"}));
        gw.submit(a).await.unwrap();
    }
    let after = rss_bytes();
    println!(
        "memory    {n} pending approvals (in-memory store, expiry timers): {:.1} KiB each",
        (after.saturating_sub(before)) as f64 / n as f64 / 1024.0
    );
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let total = if bench { 4096 } else { 64 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        run("memory", Arc::new(MemoryStore::new()), total).await;
        let path = std::env::temp_dir().join(format!("sentinel-bench-{}.db", ActionId::new()));
        run(
            "sqlite",
            Arc::new(SqlStore::open_sqlite(&path).await.unwrap()),
            total,
        )
        .await;
        let _ = std::fs::remove_file(&path);
        match std::env::var("DATABASE_URL") {
            Ok(url) if url.starts_with("postgres") => {
                let schema = postgres_support::TestSchema::new(&url, "sentinel_bench");
                run(
                    "postgres",
                    Arc::new(
                        SqlStore::connect_in_schema(&url, schema.name())
                            .await
                            .unwrap(),
                    ),
                    total,
                )
                .await;
            }
            _ => println!("postgres  skipped: DATABASE_URL is not set"),
        }
        memory_per_pending(if bench { 10_000 } else { 100 }).await;
    });
}
