//! Group commit loses no acknowledged decision: the server binary on a SQLite file takes
//! concurrent submits from 32 clients (auto-approved payments, answered EXECUTED, and
//! escalated ones, answered BLOCKED_AWAITING_AUTH), is killed with SIGKILL in the middle of
//! the load, and then every decision a client saw acknowledged is in the file, in the state
//! the client was told, and `audit verify` (the same check as `sentinel audit verify`)
//! passes: the chain, its head, and every record against its trail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sentinel_core::{ActionId, SqlStore, Store};
use serde_json::{Value, json};

const AGENT_KEY: &str = "key-crash-agent-0123456789";

/// Starts `sentinel-server serve` in `dir` on a SQLite file there; returns it and its
/// base URL.
fn start(dir: &Path) -> (Child, String) {
    std::fs::write(
        dir.join("sentinel.toml"),
        "[gateway]\nescalation_timeout_s = 3600\n\n[store]\nurl = \"sqlite://state.db\"\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sentinel-server"))
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("SENTINEL_CONFIG", dir.join("sentinel.toml"))
        .env("SENTINEL_BIND", "127.0.0.1:0")
        .env("SENTINEL_AGENT_KEYS", format!("session_*={AGENT_KEY}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut text = String::new();
    while !text.contains("limits: body") {
        match lines.next() {
            Some(Ok(line)) => text.push_str(&format!("{line}\n")),
            _ => panic!("the binary did not start:\n{text}"),
        }
    }
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let base = text
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in:\n{text}"))
        .to_owned();
    (child, base)
}

/// The `n`th request of client `c`: three in four auto-approved, one escalated.
fn request(c: usize, n: usize) -> (Value, &'static str) {
    let escalated = n % 4 == 3;
    let body = json!({
        "agent_id": format!("session_{c}"),
        "action": "PAY_INVOICE",
        "payload": if escalated {
            json!({"amount": 50_000 + n, "vendor": "Unknown Corp"})
        } else {
            json!({"amount": 100 + n % 50, "vendor": "AWS"})
        },
        "reasoning": "monthly bill",
        "idempotency_key": format!("crash-{c}-{n}"),
    });
    (
        body,
        if escalated {
            "BLOCKED_AWAITING_AUTH"
        } else {
            "EXECUTED"
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_decision() {
    let dir = tempfile::tempdir().unwrap();
    let (child, base) = start(dir.path());
    let child = Arc::new(Mutex::new(child));
    let acked: Arc<Mutex<HashMap<ActionId, String>>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    // Requests that failed after the kill: cut off mid-flight or refused.
    let cut = Arc::new(AtomicUsize::new(0));

    let clients: Vec<_> = (0..32)
        .map(|c| {
            let (base, acked, count, killed, cut) = (
                base.clone(),
                Arc::clone(&acked),
                Arc::clone(&count),
                Arc::clone(&killed),
                Arc::clone(&cut),
            );
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                for n in 0.. {
                    let (body, expected) = request(c, n);
                    let sent = http
                        .post(format!("{base}/api/sentinel/execute"))
                        .bearer_auth(AGENT_KEY)
                        .json(&body)
                        .send()
                        .await;
                    let answer = match sent {
                        Ok(r) if r.status() == 200 => r.json::<Value>().await,
                        Ok(r) => panic!("client {c}: {} before the kill", r.status()),
                        Err(e) => Err(e),
                    };
                    match answer {
                        Ok(t) => {
                            assert_eq!(t["status"], expected, "{t}");
                            let id: ActionId = t["action_id"].as_str().unwrap().parse().unwrap();
                            acked.lock().unwrap().insert(id, expected.to_owned());
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            assert!(
                                killed.load(Ordering::SeqCst),
                                "client {c} failed before the kill: {e}"
                            );
                            cut.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                    }
                }
            })
        })
        .collect();

    // Kill the server in the middle of the load.
    for _ in 0..600 {
        if count.load(Ordering::SeqCst) >= 400 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        count.load(Ordering::SeqCst) >= 400,
        "the load did not get going"
    );
    killed.store(true, Ordering::SeqCst);
    {
        let mut child = child.lock().unwrap();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    for c in clients {
        c.await.unwrap();
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert_eq!(
        cut.load(Ordering::SeqCst),
        32,
        "every client was cut off by the kill"
    );

    let store = SqlStore::open_sqlite(dir.path().join("state.db"))
        .await
        .unwrap();
    for (id, told) in &acked {
        let record = store
            .get(*id)
            .await
            .unwrap_or_else(|e| panic!("acknowledged `{id}` was lost: {e}"));
        assert_eq!(record.state.as_str(), told, "`{id}`");
        assert!(record.decision.is_some(), "`{id}`");
    }
    let report = sentinel_core::store::verify_audit(&store, None)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("audit verify after the kill: {e}"));
    // RECEIVED, ANALYZING and the decision for each.
    assert!(
        report.records >= 3 * acked.len() as u64,
        "{}",
        report.records
    );
    assert!(report.actions >= acked.len() as u64);
    let (head, _) = store.audit_head().await.unwrap().unwrap();
    assert_eq!(head, report.records, "the head is where the chain ends");
}
