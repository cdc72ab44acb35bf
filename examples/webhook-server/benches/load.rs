//! Load on the server binary: low-risk `POST /api/sentinel/execute` (an auto-approved
//! PAY_INVOICE of 120 to AWS: decided, recorded with its audit events, claimed, answered
//! EXECUTED) over `CONNECTIONS` keep-alive connections, a fixed number of requests per
//! store, against the in-memory store (the baseline), SQLite with group commit turned off
//! (`store.batch_max = 1`: one transaction per write, as before group commit) and SQLite
//! with group commit (the default), one server process after the other, in the same run.
//! Prints requests/s, p50 and p99 per store and each rate as a ratio to the memory store's.
//!
//! `cargo bench -p sentinel-server --bench load` (`LOAD_REQUESTS`, default 20000 per
//! store; `LOAD_CONNECTIONS`, default 32). Under `cargo test` (no `--bench`) it sends 64
//! requests per store only, checking that the bench works. Needs nothing but the
//! workspace: the client is reqwest.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const KEY: &str = "load-bench-key-0123456789abcdef";
const BODY: &str = r#"{"agent_id":"load-bot","action":"PAY_INVOICE","payload":{"amount":120,"vendor":"AWS"},"reasoning":"monthly hosting bill"}"#;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `sentinel-server serve` in `dir` with `store` as its `[store]` section, logging
/// warnings only (its banner too: readiness is polled on `/healthz`).
fn start(dir: &Path, store: &str) -> Server {
    std::fs::write(dir.join("sentinel.toml"), format!("[store]\n{store}\n")).unwrap();
    // A free port (released just before the server binds it).
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_sentinel-server"))
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("SENTINEL_CONFIG", dir.join("sentinel.toml"))
        .env("SENTINEL_BIND", addr.to_string())
        .env("SENTINEL_AGENT_KEYS", format!("load-bot={KEY}"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        base: format!("http://{addr}"),
    };
    for _ in 0..600 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not start listening on {addr}");
}

struct Run {
    requests: usize,
    rate: f64,
    p50: Duration,
    p99: Duration,
}

/// `total` requests over `connections` connections (one client each, so one connection
/// each), every answer checked.
async fn load(base: &str, connections: usize, total: usize) -> Run {
    let url = format!("{base}/api/sentinel/execute");
    let left = Arc::new(AtomicUsize::new(total));
    let start = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (url, left) = (url.clone(), Arc::clone(&left));
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .build()
                    .unwrap();
                let mut lat = Vec::new();
                while left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let t0 = Instant::now();
                    let response = http
                        .post(&url)
                        .bearer_auth(KEY)
                        .header("content-type", "application/json")
                        .body(BODY)
                        .send()
                        .await
                        .unwrap();
                    let status = response.status();
                    let text = response.text().await.unwrap();
                    assert!(
                        status == 200 && text.contains(r#""status":"EXECUTED""#),
                        "{status}: {text}"
                    );
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
    Run {
        requests: lat.len(),
        rate: lat.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
    }
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let total = if bench {
        var("LOAD_REQUESTS", 20_000)
    } else {
        64
    };
    let connections = var("LOAD_CONNECTIONS", 32);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stores = [
        ("memory", "url = \"memory\""),
        (
            "sqlite, batch_max = 1",
            "url = \"sqlite://load-1.db\"\nbatch_max = 1",
        ),
        ("sqlite, group commit", "url = \"sqlite://load.db\""),
    ];
    println!(
        "low-risk POST /api/sentinel/execute, {connections} connections, {total} requests per store, {} CPUs",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    let mut baseline = None;
    for (name, store) in stores {
        let dir = tempfile::tempdir().unwrap();
        let server = start(dir.path(), store);
        let run = rt.block_on(async {
            // Warm up: connections, caches, the database file.
            load(&server.base, connections, connections * 4).await;
            load(&server.base, connections, total).await
        });
        drop(server);
        let base = *baseline.get_or_insert(run.rate);
        println!(
            "{name:<22} {:>6} requests {:>8.0} req/s  p50 {:>8.2?}  p99 {:>8.2?}  {:>5.2} x memory",
            run.requests,
            run.rate,
            run.p50,
            run.p99,
            run.rate / base
        );
    }
}
