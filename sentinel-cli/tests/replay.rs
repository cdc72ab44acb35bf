//! `sentinel replay`: stored actions (a SQLite store written by a gateway) re-decided under
//! other packs; the changes as a table and as JSON; `--fail-on-change`, filters.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;

use sentinel_core::{Action, Gateway, Pack, SqlStore, Store};
use serde_json::{Value, json};

fn sentinel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap()
}

fn dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("sentinel-cli-replay-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A SQLite store holding six actions decided by the seed packs.
fn history(dir: &std::path::Path) -> String {
    let path = dir.join("sentinel.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store: Arc<dyn Store> = Arc::new(SqlStore::open_sqlite(&path).await.unwrap());
        let live = Gateway::builder().store_arc(store).build().unwrap();
        let pay = |agent: &str, amount: u32, vendor: &str| {
            Action::new(agent, "PAY_INVOICE")
                .with_payload(json!({"amount": amount, "vendor": vendor}))
        };
        for a in [
            pay("billing", 120, "AWS"),
            pay("session_1", 10_000, "Unknown Corp"),
            pay("billing", 400, "Acme"),
            pay("billing", 700, "Acme"),
            Action::new("ops", "DROP_TABLE").with_payload(json!({"table": "users"})),
            Action::new("ops", "SEND_EMAIL"),
        ] {
            live.submit(a).await.unwrap();
        }
    });
    path.to_str().unwrap().to_owned()
}

/// VaultKeeper with Acme among the trusted vendors.
fn trusting_acme(dir: &std::path::Path) -> String {
    let mut doc: Value =
        serde_json::from_str(Pack::builtin_source("VaultKeeper").unwrap()).unwrap();
    doc.as_object_mut().unwrap().remove("$schema");
    let rules = doc["rules"].as_array_mut().unwrap();
    let trusted = rules
        .iter_mut()
        .find(|r| r["id"] == "trusted-vendor-small-payment")
        .unwrap();
    trusted
        .pointer_mut("/when/all/2/in/value")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .push(json!("Acme"));
    doc["version"] = json!("1.2.0");
    let path = dir.join("vaultkeeper.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_same_packs_change_nothing_and_pass_the_gate() {
    let d = dir("same");
    let db = history(&d);
    let out = sentinel(&["replay", "--store", &db, "--fail-on-change"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "replayed 6 decisions under VaultKeeper@1.1.0, PrivacyShield@1.1.0, OpsGuard@1.1.0: 0 change (0 in status)\n"
    );
    assert!(stderr.contains("scorer: offline"), "{stderr}");
    assert!(stderr.contains("replayed 6 decisions in "), "{stderr}");
    // The shared configuration names the same packs; its memory store is not the history.
    let out = sentinel(&[
        "replay",
        "--store",
        &db,
        "--config",
        "fixtures/sentinel.toml",
        "--reuse-scores",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(": 0 change"), "{stdout}");
    assert!(stderr.contains("scorer: stored scores"), "{stderr}");
    let out = sentinel(&["replay", "--config", "fixtures/sentinel.toml"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("keeps its actions in memory: there are no actions to replay"),
        "{stderr}"
    );
}

#[test]
fn a_pack_change_lists_the_changed_decisions_and_fails_the_gate() {
    let d = dir("change");
    let db = history(&d);
    let pack = trusting_acme(&d);
    let new = [
        "--pack",
        &pack,
        "--builtin",
        "PrivacyShield",
        "--builtin",
        "OpsGuard",
    ];
    let mut args = vec!["replay", "--store", &db];
    args.extend(new);
    let out = sentinel(&args);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "replayed 6 decisions under PrivacyShield@1.1.0, OpsGuard@1.1.0, VaultKeeper@1.2.0: 2 change (2 in status)"
    );
    assert!(
        lines[1]
            == ("ACTION       AGENT    BEFORE                    AFTER        RULES                                      ID"),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("PAY_INVOICE  billing  BLOCKED_AWAITING_AUTH 60  EXECUTED 10  +VaultKeeper/trusted-vendor-small-payment  "),
        "{stdout}"
    );
    assert_eq!(lines.len(), 4, "{stdout}");

    let mut gate = args.clone();
    gate.extend(["--fail-on-change", "--format", "json"]);
    let out = sentinel(&gate);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("error: 2 of 6 decisions change (--fail-on-change)"),
        "{stderr}"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (report["replayed"].as_u64(), report["changed"].as_u64()),
        (Some(6), Some(2))
    );
    let c = &report["changes"][0];
    assert_eq!(c["before"]["status"], "BLOCKED_AWAITING_AUTH");
    assert_eq!(
        c["after"],
        json!({"status": "EXECUTED", "risk_score": 10,
                                  "rules": ["VaultKeeper/trusted-vendor-small-payment"]})
    );
    assert_eq!(c["agent_id"], "billing");
    assert!(c["id"].as_str().is_some_and(|id| id.len() == 36));

    // Filters: one action name; nothing received in the future; a limit on the table.
    let mut only = args.clone();
    only.extend(["--action", "DROP_TABLE", "--fail-on-change"]);
    let out = sentinel(&only);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out).0.starts_with("replayed 1 decisions"),
        "{}",
        text(&out).0
    );
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let mut later = args.clone();
    later.extend(["--since", &tomorrow]);
    assert!(
        text(&sentinel(&later))
            .0
            .starts_with("replayed 0 decisions")
    );
    let mut recent = args.clone();
    recent.extend(["--since", "1h", "--limit", "1"]);
    let (stdout, _) = text(&sentinel(&recent));
    assert!(
        stdout.ends_with(
            "(1 of 2 changes shown; `--limit 0` shows all, `--format json` gives everything)\n"
        ),
        "{stdout}"
    );
}

#[test]
fn stores_that_hold_nothing_are_refused_without_creating_one() {
    let d = dir("missing");
    let missing = d.join("none.db");
    let out = sentinel(&["replay", "--store", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out)
            .1
            .contains("the file does not exist (nothing was created)"),
        "{}",
        text(&out).1
    );
    assert!(!missing.exists());
    let out = sentinel(&["replay", "--store", "sqlite::memory:"]);
    assert!(text(&out).1.contains("which has no actions to replay"));
    let out = sentinel(&["replay", "--store", "x.db", "--since", "soon"]);
    assert!(text(&out).1.contains("`soon` is not a time"));
}

#[test]
fn shadow_replays_under_the_configurations_shadow_packs() {
    let d = dir("shadow");
    let db = history(&d);
    let pack = trusting_acme(&d);
    let config = d.join("sentinel.toml");
    std::fs::write(&config, format!("[[shadow_packs]]\npath = {pack:?}\n")).unwrap();
    let config = config.to_str().unwrap();
    let out = sentinel(&["replay", "--store", &db, "--config", config, "--shadow"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("replayed 6 decisions under VaultKeeper@1.2.0, PrivacyShield@1.1.0, OpsGuard@1.1.0: 2 change (2 in status)\n"),
        "{stdout}"
    );
    // Without --shadow the configuration's (seed) packs change nothing.
    let out = sentinel(&["replay", "--store", &db, "--config", config]);
    assert!(text(&out).0.contains(": 0 change"), "{}", text(&out).0);
    let out = sentinel(&[
        "replay",
        "--store",
        &db,
        "--config",
        "fixtures/sentinel.toml",
        "--shadow",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("names no `[[shadow_packs]]`"),
        "{}",
        text(&out).1
    );
}
