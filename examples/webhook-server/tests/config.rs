//! `SENTINEL_CONFIG`: the `sentinel-server` binary started on a TOML file decides by it
//! (packs by `builtin` and by a path relative to the file, unmatched actions denied); the
//! `SENTINEL_*` variables win over the file; a bad file or variable stops the binary with
//! the file, line and key (or the variable) in its message; error bodies carry the core's
//! codes. PostgreSQL through `SENTINEL_DATABASE_URL` when `DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../../../sentinel-core/tests/postgres_support/mod.rs"]
mod postgres_support;
mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sentinel_core::spec::Env;
use sentinel_server::Config;
use serde_json::{Value, json};
use support::{code, pay};

const AGENT_KEY: &str = "key-config-test-0123456789";
const ADMIN_TOKEN: &str = "admin-config-test-0123456789";

/// The binary, running; killed when dropped.
struct Binary {
    child: Child,
    base: String,
    banner: String,
    http: reqwest::Client,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `sentinel-server serve` in `cwd` with only `vars` set. `Ok` once its banner is
/// printed; `Err(stderr)` when it exits first.
fn run(cwd: &Path, vars: &[(&str, String)]) -> Result<Binary, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sentinel-server"))
        .arg("serve")
        .current_dir(cwd)
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Reads to the end, so the server never writes into a closed pipe.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut text = String::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                text.push_str(&line);
                text.push('\n');
                // The banner's last line.
                if line.contains("limits: body") {
                    break;
                }
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().unwrap();
                return Err(format!("{status}\n{text}"));
            }
        }
    }
    let base = text
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in:\n{text}"))
        .to_owned();
    Ok(Binary {
        child,
        base,
        banner: text,
        http: reqwest::Client::new(),
    })
}

/// Runs the binary and expects it to refuse to start; returns what it printed.
fn refused(cwd: &Path, vars: &[(&str, String)]) -> String {
    match run(cwd, vars) {
        Ok(b) => panic!("the server started:\n{}", b.banner),
        Err(stderr) => {
            assert!(!stderr.starts_with("exit status: 0"), "{stderr}");
            stderr
        }
    }
}

impl Binary {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(AGENT_KEY);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn execute(&self, action: &Value) -> (u16, Value) {
        self.send(
            reqwest::Method::POST,
            "/api/sentinel/execute",
            Some(action.to_string()),
        )
        .await
    }

    async fn status_of(&self, action: &Value) -> (String, Value) {
        let (status, body) = self.execute(action).await;
        assert_eq!(status, 200, "{body}");
        (
            body["status"].as_str().unwrap().to_owned(),
            body["rules"].clone(),
        )
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A pack for `PAY_INVOICE`: at most 100 is allowed, anything else escalates.
const PAYMENTS: &str = r#"{
  "name": "Payments", "version": "2.0.0", "applies_to": ["PAY_INVOICE"],
  "default": {"risk": 60, "reason": "payment of {payload.amount}"},
  "rules": [{"id": "small", "when": {"lte": {"path": "payload.amount", "value": 100}},
             "effect": "allow", "reason": "small payment of {payload.amount}"}]
}"#;

fn action(agent: &str, name: &str, payload: Value) -> Value {
    json!({"agent_id": agent, "action": name, "payload": payload, "reasoning": "test"})
}

#[tokio::test]
async fn the_binary_decides_by_the_file_sentinel_config_names() {
    let root = tempfile::tempdir().unwrap();
    let conf = root.path().join("etc");
    let cwd = root.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    write(
        &conf.join("sentinel.toml"),
        "# relative paths are relative to this file\n\
         [gateway]\nunmatched = \"deny\"\n\n\
         [[packs]]\nbuiltin = \"OpsGuard\"\n[[packs]]\npath = \"packs/payments.json\"\n\n\
         [store]\nurl = \"sqlite://sentinel.db\"\n\n\
         [server]\nbind = \"127.0.0.1:0\"\nagent_keys_file = \"agent-keys.txt\"\nadmin_token_file = \"admin-token.txt\"\n",
    );
    write(&conf.join("packs/payments.json"), PAYMENTS);
    write(
        &conf.join("agent-keys.txt"),
        &format!("# agents\nbot-*={AGENT_KEY}\n"),
    );
    write(&conf.join("admin-token.txt"), ADMIN_TOKEN);
    let file = conf.join("sentinel.toml").display().to_string();
    let b = run(&cwd, &[("SENTINEL_CONFIG", file.clone())]).unwrap();

    assert!(
        b.banner.contains(&format!("config: `{file}`")),
        "{}",
        b.banner
    );
    assert!(
        b.banner.contains("packs: OpsGuard 1.1.0, Payments 2.0.0"),
        "{}",
        b.banner
    );
    assert!(
        !b.banner.contains("overridden by the environment"),
        "{}",
        b.banner
    );
    for secret in [AGENT_KEY, ADMIN_TOKEN] {
        assert!(!b.banner.contains(secret), "{}", b.banner);
    }
    let (status, rules) = b.status_of(&pay("bot-1", 50, "Anyone")).await;
    assert_eq!(
        (status.as_str(), rules),
        ("EXECUTED", json!(["Payments/small"]))
    );
    let (status, _) = b.status_of(&pay("bot-1", 5000, "Anyone")).await;
    assert_eq!(status, "BLOCKED_AWAITING_AUTH");
    let drop = action("bot-1", "DROP_TABLE", json!({"table": "users"}));
    assert_eq!(b.status_of(&drop).await.0, "DECLINED");
    // No pack covers exports here (PrivacyShield is not loaded): `unmatched = "deny"`.
    let export = action("bot-1", "EXPORT_CSV", json!({"records": 200}));
    assert_eq!(
        b.status_of(&export).await,
        ("DECLINED".to_owned(), json!([]))
    );
    // The store is where the file says, next to it, not in the working directory.
    assert!(conf.join("sentinel.db").exists());
    assert!(!cwd.join("sentinel.db").exists());

    // Error bodies carry the core's codes.
    let mut keyed = pay("bot-1", 50, "Anyone");
    keyed["idempotency_key"] = json!("inv-1");
    assert_eq!(b.execute(&keyed).await.0, 200);
    keyed["payload"]["amount"] = json!(60);
    let (status, body) = b.execute(&keyed).await;
    assert_eq!(
        (status, code(&body), body["error"]["field"].as_str()),
        (409, "idempotency_conflict", Some("idempotency_key"))
    );
    let (status, body) = b
        .execute(&action("bot-1", "PAY_INVOICE", json!("amount=5")))
        .await;
    assert_eq!(
        (status, code(&body), body["error"]["field"].as_str()),
        (422, "invalid_action", Some("payload"))
    );
    let (status, body) = b
        .send(
            reqwest::Method::POST,
            "/api/sentinel/execute",
            Some("{".to_owned()),
        )
        .await;
    assert_eq!((status, code(&body)), (400, "invalid_request"));
}

#[tokio::test]
async fn environment_variables_win_over_the_file() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    write(
        &cwd.join("etc/sentinel.toml"),
        "[[packs]]\nbuiltin = \"VaultKeeper\"\n\n[store]\nurl = \"memory\"\n\n\
         [server]\nbind = \"192.0.2.1:9\"   # not an address of this machine\nmax_body_bytes = 100000\n",
    );
    // Relative paths in variables are relative to the working directory.
    write(
        &cwd.join("my-packs/ops.json"),
        sentinel_core::Pack::builtin_source("OpsGuard").unwrap(),
    );
    let vars = [
        ("SENTINEL_CONFIG", "etc/sentinel.toml".to_owned()),
        ("SENTINEL_BIND", "127.0.0.1:0".to_owned()),
        ("SENTINEL_PACKS", "my-packs".to_owned()),
        ("SENTINEL_DATABASE_URL", "sqlite://from-env.db".to_owned()),
        ("SENTINEL_MAX_BODY_BYTES", "300".to_owned()),
        ("SENTINEL_AGENT_KEYS", format!("bot-1={AGENT_KEY}")),
        ("SENTINEL_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
    ];
    let b = run(cwd, &vars).unwrap();
    assert!(
        b.banner.contains(
            "overridden by the environment: SENTINEL_BIND (server.bind), SENTINEL_MAX_BODY_BYTES (server.max_body_bytes), \
             SENTINEL_ADMIN_TOKEN (server.admin_token_env), SENTINEL_AGENT_KEYS (server.agent_keys_env), \
             SENTINEL_DATABASE_URL (store), SENTINEL_PACKS (packs)"
        ),
        "{}",
        b.banner
    );
    for secret in [AGENT_KEY, ADMIN_TOKEN] {
        assert!(!b.banner.contains(secret), "{}", b.banner);
    }
    // OpsGuard from the variable, not VaultKeeper from the file: payments are unmatched
    // and escalate (the default) instead of being auto-approved.
    let drop = action("bot-1", "DROP_TABLE", json!({"table": "users"}));
    assert_eq!(b.status_of(&drop).await.0, "DECLINED");
    let (status, rules) = b.status_of(&pay("bot-1", 120, "AWS")).await;
    assert_eq!(
        (status.as_str(), rules),
        ("BLOCKED_AWAITING_AUTH", json!([]))
    );
    assert!(cwd.join("from-env.db").exists());
    let big = action("bot-1", "PAY_INVOICE", json!({"blob": "x".repeat(400)}));
    let (status, body) = b.execute(&big).await;
    assert_eq!((status, code(&body)), (413, "payload_too_large"));
}

#[test]
fn a_bad_file_or_variable_stops_the_binary_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sentinel.toml");
    write(
        &file,
        "[gateway]\nunmatched = \"deny\"\n\n[server]\nmax_wait_s = \"soon\"\n",
    );
    let shown = file.display().to_string();
    let stderr = refused(dir.path(), &[("SENTINEL_CONFIG", shown.clone())]);
    assert!(
        stderr.contains(&format!(
            "error: invalid config in `{shown}`, line 5, at `server.max_wait_s`: "
        )),
        "{stderr}"
    );

    // A pack the file names that is not there: the key of the entry.
    write(
        &file,
        "[[packs]]\nbuiltin = \"OpsGuard\"\n[[packs]]\npath = \"nope.json\"\n",
    );
    let stderr = refused(dir.path(), &[("SENTINEL_CONFIG", shown.clone())]);
    assert!(
        stderr.contains(&format!(
            "error: invalid config in `{shown}`, at `packs[1]`: "
        )),
        "{stderr}"
    );

    // A bad variable names the variable, and not the file it overrides.
    write(&file, "[server]\nmax_wait_s = 30\n");
    let stderr = refused(
        dir.path(),
        &[
            ("SENTINEL_CONFIG", shown.clone()),
            ("SENTINEL_MAX_WAIT_S", "soon".to_owned()),
        ],
    );
    assert!(
        stderr.contains(
            "error: invalid config, at `server.max_wait_s`: `soon` is not a positive number of seconds (from environment variable `SENTINEL_MAX_WAIT_S`)"
        ),
        "{stderr}"
    );
}

#[tokio::test]
async fn postgres_from_sentinel_database_url_keeps_the_schema_of_the_file() {
    let Some(url) = postgres_support::database_url(None) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let schema = postgres_support::TestSchema::new(&url, "sentinel_server_config");
    let file = dir.path().join("sentinel.toml");
    // The file names no URL (one with a password never goes in a file), only the schema.
    write(&file, &format!("[store]\nschema = \"{}\"\n", schema.name()));
    let env = Env::from_map(
        [
            ("SENTINEL_CONFIG".to_owned(), file.display().to_string()),
            ("SENTINEL_DATABASE_URL".to_owned(), url),
        ]
        .into(),
    );
    let config = Config::from_lookup(env)
        .unwrap()
        .with_agent_key("bot-1", AGENT_KEY);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = sentinel_server::start(config, listener).await.unwrap();
    assert!(
        server
            .banner()
            .iter()
            .any(|l| l.starts_with("store: postgres://")),
        "{:?}",
        server.banner()
    );
    let http = reqwest::Client::new();
    let t: Value = http
        .post(format!("{}/api/sentinel/execute", server.url()))
        .bearer_auth(AGENT_KEY)
        .json(&pay("bot-1", 120, "AWS"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(t["status"], "EXECUTED", "{t}");
    assert!(server.gateway().store().latest().await.unwrap().is_some());
    server.shutdown().await.unwrap();
}
