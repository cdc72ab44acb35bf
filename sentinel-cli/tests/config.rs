//! `sentinel config check|schema|example` and `--config` on `eval`, `test` and
//! `audit verify`: the configuration file every host reads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

fn sentinel(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sentinel"));
    cmd.args(args)
        .env_remove("GROQ_API_KEY")
        .env_remove("SENTINEL_AUDIT_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("sentinel-cli-config-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_shared_config_passes_the_shared_corpus() {
    let config = format!("{FIXTURES}/sentinel.toml");
    let corpus = format!("{FIXTURES}/decisions.jsonl");
    let out = sentinel(&["test", &corpus, "--config", &config], &[], "");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn eval_follows_the_file_and_its_relative_pack_paths() {
    let d = dir("eval");
    std::fs::create_dir_all(d.join("packs")).unwrap();
    let ops = sentinel(&["builtin", "OpsGuard"], &[], "");
    std::fs::write(d.join("packs/ops.json"), &ops.stdout).unwrap();
    std::fs::write(
        d.join("s.toml"),
        "[gateway]\nunmatched = \"deny\"\n[[packs]]\npath = \"packs/ops.json\"\n",
    )
    .unwrap();
    let actions = concat!(
        r#"{"agent_id": "a", "action": "PAY_INVOICE", "payload": {"amount": 5}, "reasoning": ""}"#,
        "\n",
        r#"{"agent_id": "a", "action": "RESTART_SERVER", "payload": {"environment": "staging"}, "reasoning": ""}"#,
    );
    // Run from another folder: the pack path is relative to the file.
    let out = Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(["eval", "--config", d.join("s.toml").to_str().unwrap()])
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .unwrap()
                .write_all(actions.as_bytes())
                .unwrap();
            c.wait_with_output()
        })
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows[0]["status"], "DECLINED",
        "no pack covers PAY_INVOICE: unmatched = deny"
    );
    assert_eq!(rows[1]["status"], "EXECUTED");
    // A flag replaces the file's packs.
    let out = sentinel(
        &[
            "eval",
            "--config",
            d.join("s.toml").to_str().unwrap(),
            "--builtin",
            "VaultKeeper",
        ],
        &[],
        r#"{"agent_id": "a", "action": "PAY_INVOICE", "payload": {"amount": 120, "vendor": "AWS"}, "reasoning": ""}"#,
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("\"EXECUTED\""), "{stdout}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn check_says_what_a_file_holds_or_where_it_is_wrong() {
    let out = sentinel(
        &["config", "check", &format!("{FIXTURES}/sentinel.toml")],
        &[],
        "",
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("packs: VaultKeeper@1.1.0, PrivacyShield@1.1.0, OpsGuard@1.1.0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("store: memory") && stdout.contains("scorer: offline"),
        "{stdout}"
    );

    let d = dir("check");
    let bad = d.join("bad.toml");
    std::fs::write(
        &bad,
        "[gateway]\nunmatched = \"deny\"\n\n[scorer.groq]\ntimeout = 5\n",
    )
    .unwrap();
    let out = sentinel(&["config", "check", bad.to_str().unwrap()], &[], "");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with(&format!(
            "error: invalid config in `{}`, line 5, at `scorer.groq.timeout`: unknown field `timeout`",
            bad.display()
        )),
        "{stderr}"
    );
    // A secret the file names but the environment lacks.
    let groq = d.join("groq.toml");
    std::fs::write(
        &groq,
        "[scorer]\nkind = \"groq\"\n[scorer.groq]\napi_key_env = \"MY_GROQ_KEY\"\n",
    )
    .unwrap();
    let out = sentinel(&["config", "check", groq.to_str().unwrap()], &[], "");
    assert!(
        text(&out)
            .1
            .contains("environment variable `MY_GROQ_KEY` is not set"),
        "{:?}",
        text(&out)
    );
    let out = sentinel(
        &["config", "check", groq.to_str().unwrap()],
        &[("MY_GROQ_KEY", "gsk_file_test")],
        "",
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("scorer: groq (model `llama-3.3-70b-versatile`"),
        "{stdout}"
    );
    assert!(!stdout.contains("gsk_file_test"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_example_checks_and_the_schema_describes_every_section() {
    let d = dir("example");
    let out = sentinel(&["config", "example"], &[], "");
    assert!(out.status.success());
    let example = d.join("sentinel.toml");
    std::fs::write(&example, &out.stdout).unwrap();
    let out = sentinel(&["config", "check", example.to_str().unwrap()], &[], "");
    assert!(out.status.success(), "{:?}", text(&out));

    let out = sentinel(&["config", "schema"], &[], "");
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checked_in: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(FIXTURES).join("../schema/sentinel-config.schema.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(schema, checked_in);
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_takes_the_store_from_a_config_and_checks_signatures_with_the_key() {
    let d = dir("audit");
    let db = d.join("s.db");
    let key = "a-key-kept-off-the-database-host";
    {
        let store = sentinel_core::SqlStore::open_sqlite(&db).await.unwrap();
        let gw = sentinel_core::Gateway::builder()
            .store(store)
            .audit_key(sentinel_core::store::checkpoint::AuditKey::new(key).unwrap())
            .build()
            .unwrap();
        let drop = sentinel_core::Action::new("ops", "DROP_TABLE")
            .with_payload(serde_json::json!({"table": "t"}));
        gw.submit(drop).await.unwrap();
        gw.checkpoint().await.unwrap().unwrap();
    }
    std::fs::write(d.join("s.toml"), "[store]\nurl = \"sqlite://s.db\"\n").unwrap();
    let config = d.join("s.toml");
    let out = sentinel(
        &["audit", "verify", "--config", config.to_str().unwrap()],
        &[],
        "",
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("ok: 3 audit records, 1 actions, 1 checkpoints"),
        "{stdout}"
    );
    assert!(stderr.contains("give the audit key"), "{stderr}");
    let out = sentinel(
        &[
            "audit",
            "verify",
            db.to_str().unwrap(),
            "--key-env",
            "MY_AUDIT_KEY",
        ],
        &[("MY_AUDIT_KEY", key)],
        "",
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("(1 signatures verified)"), "{stdout}");
    let out = sentinel(
        &["audit", "verify", db.to_str().unwrap()],
        &[("SENTINEL_AUDIT_KEY", "the-wrong-key-for-these-checkpoints")],
        "",
    );
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.starts_with("TAMPERED: checkpoint at record 3: its signature does not verify"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&d);
}
