//! Fault injection against the real router and the real binary: the scorer down, answering
//! garbage or too slowly (a local fake OpenAI-compatible server); Telnyx failing or hanging
//! (a local fake); the store unavailable in the middle of an approval (the SQLite file
//! locked by another writer); the binary killed with `kill -9` while approvals are pending
//! and a decision is half made. After each: no guarded action ran (`EXECUTED` or
//! `APPROVED`) without an approval, every submitted action can be found, none twice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sentinel_core::{ActionRecord, ScorerUse, State, Store};
use serde_json::{Value, json};
use support::fakes::{Fake, Mode};
use support::*;

/// A payment the rules leave to the scorer: a score of 10 auto-approves it.
fn scored(key: &str) -> Value {
    let mut p = pay("billing-bot", 500, "Acme");
    p["idempotency_key"] = json!(key);
    p
}

/// A payment that always asks a human (risk 95, set by a rule).
fn escalated(key: &str) -> Value {
    let mut p = pay("session_42", 10_000, "Unknown Corp");
    p["idempotency_key"] = json!(key);
    p
}

/// The invariants, on every record of the store: an executed action was auto-approved by
/// a scorer that answered (or by the rules), an approved one carries an approval; each
/// submitted id is there; no idempotency key names two actions.
async fn check(store: &dyn Store, submitted: &HashSet<String>) -> Vec<ActionRecord> {
    let records = store.records_page(None, 10_000).await.unwrap();
    let ids: HashSet<String> = records.iter().map(|r| r.id.to_string()).collect();
    for id in submitted {
        assert!(ids.contains(id), "action `{id}` was lost");
    }
    let mut keys = HashSet::new();
    for r in &records {
        if let Some(key) = &r.action.idempotency_key {
            assert!(
                keys.insert((r.action.agent_id.clone(), key.clone())),
                "two actions for `{key}`"
            );
        }
        match r.state {
            State::Executed => {
                let d = r.decision.as_ref().unwrap();
                assert!(
                    !matches!(d.scorer, ScorerUse::Failed { .. }),
                    "`{}` executed although the scorer failed",
                    r.id
                );
                assert_eq!(d.status, State::Executed);
            }
            State::Approved => {
                let a = r.approval.as_ref().expect("approved without an approval");
                assert!(a.approved);
            }
            _ => {}
        }
    }
    records
}

async fn submit(s: &TestServer, key: &str, body: &Value) -> (u16, Value) {
    let response = s
        .http
        .post(format!("{}/api/sentinel/execute", s.base))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_failing_scorer_never_approves() {
    let dead = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        format!("http://{addr}/internal-llm/v1")
    };
    let cases = [
        ("down", Mode::Works(10), Some(dead)),
        ("5xx", Mode::Fails, None),
        ("garbage", Mode::Garbage, None),
        ("slow", Mode::Slow(Duration::from_secs(5), 10), None),
    ];
    for (name, mode, base) in cases {
        let mut llm = Fake::llm(mode).await;
        if let Some(base) = base {
            llm.base = base;
        }
        let scorer = llm.scorer(Duration::from_secs(1));
        let s = TestServer::start_with(move |mut c| {
            c.spec.scorer = scorer;
            c.request_timeout = Duration::from_secs(3);
            c
        })
        .await;
        let mut submitted = HashSet::new();
        for attempt in 0..2 {
            let (status, t) = submit(&s, BILLING, &scored(&format!("k-{name}"))).await;
            assert_eq!(status, 200, "{name}: {t}");
            assert_eq!(t["status"], "BLOCKED_AWAITING_AUTH", "{name}: {t}");
            assert_eq!(t["replayed"], attempt == 1, "{name}: {t}");
            submitted.insert(t["action_id"].as_str().unwrap().to_owned());
        }
        assert_eq!(submitted.len(), 1, "{name}: a retry made a second action");
        let records = check(s.server.gateway().store().as_ref(), &submitted).await;
        assert_eq!(records.len(), 1, "{name}");
        // Working again: the next one is scored and runs.
        llm.set(Mode::Works(10));
        if name != "down" {
            let (_, t) = submit(&s, BILLING, &scored(&format!("k-{name}-2"))).await;
            assert_eq!(t["status"], "EXECUTED", "{name}: {t}");
        }
    }
}

#[tokio::test]
async fn a_failing_or_hanging_telnyx_never_approves() {
    for (name, mode) in [("5xx", Mode::Fails), ("hanging", Mode::Hangs)] {
        let telnyx = Fake::telnyx(mode).await;
        let spec = telnyx.telnyx_spec();
        let s = TestServer::start_with(move |mut c| {
            c = c.with_telnyx(spec);
            c.request_timeout = Duration::from_secs(1);
            c
        })
        .await;
        let (status, t) = submit(&s, SESSION, &escalated(&format!("t-{name}"))).await;
        let id = t["action_id"].as_str().unwrap().to_owned();
        match name {
            "5xx" => assert_eq!((status, t["status"].as_str()), (200, Some("ERROR_TELNYX"))),
            _ => assert_eq!((status, t["status"].as_str()), (202, Some("ANALYZING"))),
        }
        // A retry finds the same action, decided or not.
        let (_, again) = submit(&s, SESSION, &escalated(&format!("t-{name}"))).await;
        assert_eq!(again["action_id"], id.as_str(), "{name}: {again}");
        let (status, view) = s
            .get(&format!("/api/sentinel/actions/{id}"), Some(SESSION))
            .await;
        assert_eq!(status, 200, "{name}: {view}");
        let expected = if name == "5xx" {
            "ERROR_TELNYX"
        } else {
            "BLOCKED_AWAITING_AUTH"
        };
        assert_eq!(view["status"], expected, "{name}");
        let submitted = HashSet::from([id.clone()]);
        let records = check(s.server.gateway().store().as_ref(), &submitted).await;
        assert_eq!(records.len(), 1, "{name}");
        if name == "hanging" {
            // The web channel still works while the call hangs.
            let (status, done) = s
                .post(
                    &format!("/api/sentinel/actions/{id}/resolve"),
                    Some(ADMIN),
                    &json!({"decision": "decline", "reason": "no call came through"}),
                )
                .await;
            assert_eq!((status, done["status"].as_str()), (200, Some("DECLINED")));
        }
    }
}

/// Holds the SQLite write lock of `db` until the returned sender is dropped or fires.
async fn lock_sqlite(db: &Path) -> tokio::sync::oneshot::Sender<()> {
    use sqlx::Connection;
    let url = format!("sqlite://{}", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut conn)
        .await
        .unwrap();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = released.await;
        let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
        let _ = conn.close().await;
    });
    release
}

#[tokio::test]
async fn the_store_failing_mid_approval_approves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("faults.db");
    let url = format!("sqlite://{}", db.display());
    let s = TestServer::start_with(move |mut c| {
        c = c.with_store(url);
        c.request_timeout = Duration::from_secs(20);
        c
    })
    .await;
    let (_, t) = submit(&s, SESSION, &escalated("s-1")).await;
    assert_eq!(t["status"], "BLOCKED_AWAITING_AUTH");
    let id = t["action_id"].as_str().unwrap().to_owned();
    let resolve = format!("/api/sentinel/actions/{id}/resolve");

    let release = lock_sqlite(&db).await;
    let started = Instant::now();
    let (approval, second) = (json!({"decision": "approve"}), escalated("s-2"));
    let approving = s.post(&resolve, Some(ADMIN), &approval);
    let submitting = submit(&s, SESSION, &second);
    let ((approve_status, approve), (submit_status, submitted)) =
        tokio::join!(approving, submitting);
    eprintln!(
        "the store stayed locked; both answered after {:?}",
        started.elapsed()
    );
    assert_eq!(
        (approve_status, code(&approve)),
        (503, "store_unavailable"),
        "{approve}"
    );
    assert_eq!(
        (submit_status, code(&submitted)),
        (503, "store_unavailable"),
        "{submitted}"
    );
    assert!(!approve.to_string().contains("faults.db"), "{approve}");
    drop(release);

    // Nothing was approved while the store failed; the approval can be made again, and
    // the refused submission made no action.
    let (status, view) = s
        .get(&format!("/api/sentinel/actions/{id}"), Some(ADMIN))
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "BLOCKED_AWAITING_AUTH");
    assert_eq!(view["approval"], Value::Null);
    let (status, done) = s
        .post(&resolve, Some(ADMIN), &json!({"decision": "approve"}))
        .await;
    assert_eq!((status, done["status"].as_str()), (200, Some("APPROVED")));
    let (_, second) = submit(&s, SESSION, &escalated("s-2")).await;
    assert_eq!(second["replayed"], false, "{second}");
    let ids = HashSet::from([id, second["action_id"].as_str().unwrap().to_owned()]);
    let records = check(s.server.gateway().store().as_ref(), &ids).await;
    assert_eq!(records.len(), 2);
}

const AGENT_KEY: &str = "key-faults-agent-0123456789";
const ADMIN_TOKEN: &str = "admin-faults-test-0123456789";

/// The binary, running.
struct Binary {
    child: Child,
    base: String,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `sentinel-server serve` in `dir` on `config` (a TOML file there).
fn start_binary(dir: &Path, llm_key: &str) -> Binary {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sentinel-server"))
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("SENTINEL_CONFIG", dir.join("sentinel.toml"))
        .env("SENTINEL_BIND", "127.0.0.1:0")
        .env("SENTINEL_AGENT_KEYS", format!("session_*={AGENT_KEY}"))
        .env("SENTINEL_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("FAKE_LLM_KEY", llm_key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut text = String::new();
    while !text.contains("limits: body") {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => text.push_str(&format!("{line}\n")),
            Err(_) => panic!("the binary did not start:\n{text}"),
        }
    }
    let base = text
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in:\n{text}"))
        .to_owned();
    Binary { child, base }
}

async fn call(
    http: &reqwest::Client,
    b: &Binary,
    key: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let url = format!("{}{path}", b.base);
    let request = match body {
        Some(body) => http.post(url).json(body),
        None => http.get(url),
    };
    let response = request.bearer_auth(key).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn kill_minus_9_with_pending_approvals_loses_and_approves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Scored actions wait 4 s for a score of 10; the analysis timeout is 2 s, so a decision
    // the kill cut off is taken over within seconds (and then fails closed: the scorer
    // gets 1.5 s).
    let llm = Fake::llm(Mode::Slow(Duration::from_secs(4), 10)).await;
    let config = format!(
        "[gateway]\nanalysis_timeout_s = 2\n\n[store]\nurl = \"sqlite://state.db\"\n\n\
         [scorer]\nkind = \"groq\"\n[scorer.groq]\nbase_url = \"{}\"\napi_key_env = \"FAKE_LLM_KEY\"\nmax_retries = 0\n\n\
         [server]\nrequest_timeout_s = 1\n",
        llm.base
    );
    std::fs::write(dir.path().join("sentinel.toml"), config).unwrap();
    let http = reqwest::Client::new();
    let first = start_binary(dir.path(), "gsk_fake0123456789abcdef");

    // Three approvals pending, and one decision in the middle of scoring.
    let mut ids = Vec::new();
    for n in 0..3 {
        let (status, t) = call(
            &http,
            &first,
            AGENT_KEY,
            "/api/sentinel/execute",
            Some(&escalated(&format!("p-{n}"))),
        )
        .await;
        assert_eq!(
            (status, t["status"].as_str()),
            (200, Some("BLOCKED_AWAITING_AUTH"))
        );
        ids.push(t["action_id"].as_str().unwrap().to_owned());
    }
    let mut mid = pay("session_9", 500, "Acme");
    mid["idempotency_key"] = json!("mid-scoring");
    let (status, t) = call(
        &http,
        &first,
        AGENT_KEY,
        "/api/sentinel/execute",
        Some(&mid),
    )
    .await;
    assert_eq!(
        (status, t["status"].as_str()),
        (202, Some("ANALYZING")),
        "{t}"
    );
    let scoring = t["action_id"].as_str().unwrap().to_owned();
    ids.push(scoring.clone());

    let mut first = first;
    first.child.kill().unwrap(); // SIGKILL
    first.child.wait().unwrap();

    let second = start_binary(dir.path(), "gsk_fake0123456789abcdef");
    for (n, id) in ids.iter().enumerate() {
        let (status, view) = call(
            &http,
            &second,
            AGENT_KEY,
            &format!("/api/sentinel/actions/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "`{id}` was lost: {view}");
        if n < 3 {
            assert_eq!(view["status"], "BLOCKED_AWAITING_AUTH");
            assert_eq!(view["approval"], Value::Null);
        }
    }
    // The half-made decision is made again, failing closed (the scorer is too slow now).
    let (_, taken_over) = call(
        &http,
        &second,
        AGENT_KEY,
        &format!("/api/sentinel/actions/{scoring}/wait?timeout_s=15"),
        None,
    )
    .await;
    let state = taken_over["status"].as_str().unwrap();
    assert!(state == "BLOCKED_AWAITING_AUTH", "{taken_over}");
    // Retries after the restart find the same actions.
    for (n, id) in ids.iter().take(3).enumerate() {
        let (_, again) = call(
            &http,
            &second,
            AGENT_KEY,
            "/api/sentinel/execute",
            Some(&escalated(&format!("p-{n}"))),
        )
        .await;
        assert_eq!(again["action_id"], id.as_str());
        assert_eq!(again["replayed"], true);
    }
    let (status, approved) = call(
        &http,
        &second,
        ADMIN_TOKEN,
        &format!("/api/sentinel/actions/{}/resolve", ids[0]),
        Some(&json!({"decision": "approve", "by": "alice"})),
    )
    .await;
    assert_eq!(
        (status, approved["status"].as_str()),
        (200, Some("APPROVED"))
    );
    drop(second);

    let store = sentinel_core::SqlStore::connect(&format!(
        "sqlite://{}",
        dir.path().join("state.db").display()
    ))
    .await
    .unwrap();
    let submitted: HashSet<String> = ids.into_iter().collect();
    let records = check(&store, &submitted).await;
    assert_eq!(records.len(), 4, "nothing duplicated");
}
