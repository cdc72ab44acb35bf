//! Submit throughput and latency (p50/p99) per store, and memory per pending approval.
//!
//! `cargo bench -p sentinel-benches --bench store` (PostgreSQL when `DATABASE_URL` is set).
//! Each SQL store runs twice in the same run: with group commit turned off
//! (`batch_max = 1`, one transaction per write: the baseline) and with it (the default);
//! the rates are printed as ratios to that baseline and to the memory store's, with the
//! writes per transaction the store's writer managed. Under `cargo test` it runs a few
//! submits per store only, to keep the bench compiling and working.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use sentinel_core::store::DEFAULT_BATCH_MAX;
use sentinel_core::{Action, ActionId, Gateway, MemoryStore, SqlStore, Store};
use serde_json::json;

#[path = "../../sentinel-core/tests/postgres_support/mod.rs"]
mod postgres_support;

const CONCURRENCY: usize = 32;

fn action(i: usize) -> Action {
    Action::new(format!("agent-{}", i % 16), "PAY_INVOICE")
        .with_payload(json!({"amount": 10 + i % 900, "vendor": "AWS"}))
}

/// Submits per second.
async fn run(name: &str, store: Arc<dyn Store>, total: usize) -> f64 {
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
    let rate = lat.len() as f64 / elapsed.as_secs_f64();
    print!(
        "{name:<22} {:>6} submits  {:>7.0} submits/s  p50 {:>8.1?}  p99 {:>8.1?}",
        lat.len(),
        rate,
        pct(0.50),
        pct(0.99)
    );
    rate
}

/// The SQL store twice: without group commit (the baseline) and with it.
async fn run_sql(name: &str, connect: impl AsyncFn() -> SqlStore, total: usize, memory: f64) {
    let mut baseline = None;
    for batch_max in [1, DEFAULT_BATCH_MAX] {
        let store = connect().await.with_batch_max(batch_max);
        let label = format!("{name}, batch_max {batch_max}");
        let before = store.batch_stats();
        let rate = run(&label, Arc::new(store.clone()), total).await;
        let after = store.batch_stats();
        let per_commit =
            (after.writes - before.writes) as f64 / (after.batches - before.batches).max(1) as f64;
        let base = *baseline.get_or_insert(rate);
        println!(
            "  {:>5.2} x batch_max 1  {:>5.2} x memory  {per_commit:>5.1} writes/commit",
            rate / base,
            rate / memory
        );
    }
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
    println!("{CONCURRENCY} concurrent submitters (auto-approved payments)");
    rt.block_on(async {
        let memory = run("memory", Arc::new(MemoryStore::new()), total).await;
        println!();
        let dir = std::env::temp_dir().join(format!("sentinel-bench-{}", ActionId::new()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = std::sync::atomic::AtomicUsize::new(0);
        let sqlite = async || {
            let n = files.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            SqlStore::open_sqlite(dir.join(format!("{n}.db")))
                .await
                .unwrap()
        };
        run_sql("sqlite", sqlite, total, memory).await;
        let _ = std::fs::remove_dir_all(&dir);
        match std::env::var("DATABASE_URL") {
            Ok(url) if url.starts_with("postgres") => {
                // One fresh schema per run, dropped at the end.
                let schemas = std::sync::Mutex::new(Vec::new());
                let postgres = async || {
                    let schema = postgres_support::TestSchema::new(&url, "sentinel_bench");
                    let name = schema.name().to_owned();
                    schemas.lock().unwrap().push(schema);
                    SqlStore::connect_in_schema(&url, &name).await.unwrap()
                };
                run_sql("postgres", postgres, total, memory).await;
                drop(schemas);
            }
            _ => println!("postgres  skipped: DATABASE_URL is not set"),
        }
        memory_per_pending(if bench { 10_000 } else { 100 }).await;
    });
}
