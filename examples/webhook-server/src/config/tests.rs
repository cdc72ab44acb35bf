use std::collections::HashMap;

use sentinel_core::spec::{ApproverKind, PackSource, ScorerKind, StoreKind};

use super::*;

fn env(pairs: &[(&str, &str)]) -> Env {
    let m: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Env::from_map(m)
}

fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_lookup(env(pairs))
}

/// A folder with `sentinel.toml` holding `text`; returns the folder and the file.
fn file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sentinel.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path.display().to_string())
}

#[test]
fn defaults_without_variables() {
    let c = load(&[]).unwrap();
    assert_eq!(c.bind.to_string(), DEFAULT_BIND);
    assert!(c.origin.file.is_none() && c.origin.overrides.is_empty());
    let parts = c.components().unwrap();
    assert_eq!(parts.store.kind, StoreKind::Sqlite);
    assert_eq!(parts.store.url.expose(), DEFAULT_DATABASE_URL);
    assert_eq!(parts.packs.len(), 3);
    assert!(parts.scorer.is_none() && parts.approver.is_none());
    assert!(c.admin_token.is_none() && c.agent_keys.is_empty());
    assert_eq!(c.escalation_timeout(), Duration::from_secs(180));
}

#[test]
fn reads_keys_and_refuses_weak_or_shared_ones_without_quoting_them() {
    let c = load(&[(
        "SENTINEL_AGENT_KEYS",
        "billing-bot=k-billing-0123456789, session_*=k-session-0123456789",
    )])
    .unwrap();
    assert_eq!(
        c.agent_keys
            .iter()
            .map(|k| k.agent.as_str())
            .collect::<Vec<_>>(),
        ["billing-bot", "session_*"]
    );
    let err = load(&[("SENTINEL_AGENT_KEYS", "bot=short")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("agent `bot`")
            && err.contains("SENTINEL_AGENT_KEYS")
            && !err.contains("short"),
        "{err}"
    );
    let err = load(&[(
        "SENTINEL_AGENT_KEYS",
        "a=same-key-0123456789,b=same-key-0123456789",
    )])
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("shares its key") && !err.contains("same-key"),
        "{err}"
    );
    assert!(load(&[("SENTINEL_AGENT_KEYS", "*=k-everyone-0123456789")]).is_err());
    assert!(format!("{c:?}").contains("billing-bot") && !format!("{c:?}").contains("k-billing"));
}

#[test]
fn rejects_bad_values_naming_the_variable_and_partial_telnyx_settings() {
    for (var, value) in [
        ("SENTINEL_BIND", "localhost"),
        ("SENTINEL_ESCALATION_TIMEOUT_S", "0"),
        ("SENTINEL_REQUEST_TIMEOUT_S", "9999"),
        ("SENTINEL_MAX_BODY_BYTES", "lots"),
        ("SENTINEL_PUBLIC_URL", "example.com"),
        ("SENTINEL_LOG_FORMAT", "xml"),
        ("SENTINEL_ADMIN_TOKEN", "short"),
    ] {
        let err = load(&[(var, value)]).unwrap_err();
        assert_eq!(err.env.as_deref(), Some(var), "{err}");
        assert!(err.to_string().contains(&format!("`{var}`")), "{err}");
    }
    // The variables turn the approver on; the core says what is missing.
    let c = load(&[("TELNYX_API_KEY", "KEY-secret-value")]).unwrap();
    assert_eq!(c.spec.approver.kind, ApproverKind::Telnyx);
    let err = c.components().unwrap_err();
    let text = err.to_string();
    assert!(
        err.key.starts_with("approver.telnyx.")
            && text.contains("`TELNYX_API_KEY` is set")
            && !text.contains("secret-value"),
        "{text}"
    );
}

#[test]
fn hides_database_passwords() {
    let c = load(&[(
        "SENTINEL_DATABASE_URL",
        "postgres://sentinel:hunter2@db:5432/sentinel",
    )])
    .unwrap();
    // The URL is read from the variable when the store is built; the spec only names it.
    assert!(!format!("{:?}", c.spec).contains("hunter2"));
    let target = c.components().unwrap().store;
    assert_eq!(target.display(), "postgres://sentinel:***@db:5432/sentinel");
}

#[test]
fn a_file_gives_everything_and_relative_paths_follow_it() {
    let (dir, path) = file(
        "[gateway]\nunmatched = \"deny\"\n\n[[packs]]\nbuiltin = \"OpsGuard\"\n[[packs]]\npath = \"packs/mine.json\"\n\n\
         [store]\nurl = \"sqlite://data.db\"\n\n[server]\nbind = \"127.0.0.1:9100\"\nmax_body_bytes = 1024\n\
         agent_keys_file = \"keys.txt\"\nadmin_token_file = \"admin.txt\"\n",
    );
    std::fs::create_dir(dir.path().join("packs")).unwrap();
    let pack =
        r#"{"name": "Mine", "version": "1.0.0", "applies_to": ["PAY_INVOICE"], "rules": []}"#;
    std::fs::write(dir.path().join("packs/mine.json"), pack).unwrap();
    std::fs::write(
        dir.path().join("keys.txt"),
        "# agents\nbot=k-bot-0123456789abc\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("admin.txt"), "admin-0123456789abc\n").unwrap();
    let c = load(&[(CONFIG_VAR, &path)]).unwrap();
    assert_eq!(c.bind.to_string(), "127.0.0.1:9100");
    assert_eq!(c.max_body_bytes, 1024);
    assert_eq!(c.agent_keys[0].agent, "bot");
    assert_eq!(
        c.admin_token.as_ref().map(Secret::expose),
        Some("admin-0123456789abc")
    );
    let parts = c.components().unwrap();
    let names: Vec<_> = parts.packs.iter().map(|p| p.name().to_owned()).collect();
    assert_eq!(names, ["OpsGuard", "Mine"]);
    let db = format!("sqlite://{}", dir.path().join("data.db").display());
    assert_eq!(parts.store.url.expose(), db);
}

#[test]
fn variables_override_the_file_and_say_so() {
    let (dir, path) = file(
        "[[packs]]\nbuiltin = \"VaultKeeper\"\n[store]\nurl = \"memory\"\n[server]\nbind = \"127.0.0.1:9100\"\n\
         admin_token_env = \"MY_TOKEN\"\n[gateway]\nescalation_timeout_s = 30\n",
    );
    std::fs::write(
        dir.path().join("ops.json"),
        sentinel_core::Pack::builtin_source("OpsGuard").unwrap(),
    )
    .unwrap();
    let packs = dir.path().display().to_string();
    let c = load(&[
        (CONFIG_VAR, &path),
        ("SENTINEL_BIND", "127.0.0.1:9200"),
        ("SENTINEL_PACKS", &packs),
        ("SENTINEL_DATABASE_URL", "sqlite://from-env.db"),
        ("SENTINEL_ESCALATION_TIMEOUT_S", "45"),
        ("MY_TOKEN", "from-the-file-0123456789"),
        ("SENTINEL_ADMIN_TOKEN", "from-the-variable-0123456789"),
    ])
    .unwrap();
    assert_eq!(c.bind.to_string(), "127.0.0.1:9200");
    assert_eq!(c.escalation_timeout(), Duration::from_secs(45));
    assert_eq!(
        c.admin_token.as_ref().map(Secret::expose),
        Some("from-the-variable-0123456789")
    );
    let vars: Vec<_> = c.origin.overrides.iter().map(|o| o.var).collect();
    assert_eq!(
        vars,
        [
            "SENTINEL_BIND",
            "SENTINEL_ADMIN_TOKEN",
            "SENTINEL_DATABASE_URL",
            "SENTINEL_PACKS",
            "SENTINEL_ESCALATION_TIMEOUT_S"
        ]
    );
    assert_eq!(
        c.spec.packs,
        Some(vec![PackSource::Dir(dir.path().to_path_buf())])
    );
    let parts = c.components().unwrap();
    assert_eq!(parts.packs[0].name(), "OpsGuard");
    // A relative SQLite file from a variable is relative to the working directory.
    let cwd = std::env::current_dir().unwrap().join("from-env.db");
    assert_eq!(
        parts.store.url.expose(),
        format!("sqlite://{}", cwd.display())
    );

    // An error about a value a variable set names the variable, not the file.
    let empty = tempfile::tempdir().unwrap();
    let empty = empty.path().display().to_string();
    let err = load(&[(CONFIG_VAR, &path), ("SENTINEL_PACKS", &empty)])
        .unwrap()
        .components()
        .unwrap_err();
    assert_eq!(
        (err.file.as_ref(), err.env.as_deref()),
        (None, Some("SENTINEL_PACKS"))
    );
    assert!(
        err.to_string()
            .contains("(from environment variable `SENTINEL_PACKS`)"),
        "{err}"
    );
}

#[test]
fn a_bad_file_names_file_line_and_key() {
    let (_dir, path) = file("[gateway]\nunmatched = \"deny\"\nescalation_timeout_s = -5\n");
    let err = load(&[(CONFIG_VAR, &path)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "invalid config in `{path}`, line 3, at `gateway.escalation_timeout_s`: expected a positive number of seconds (at most a year), found `-5`"
        )
    );
    let (_dir, path) = file("[server]\nbind = \"localhost\"\n");
    let err = load(&[(CONFIG_VAR, &path)]).unwrap_err();
    assert_eq!(
        (err.key.as_str(), err.file.is_some()),
        ("server.bind", true)
    );
    let (_dir, path) = file("[[packs]]\npath = \"missing.json\"\n");
    let err = load(&[(CONFIG_VAR, &path)])
        .unwrap()
        .components()
        .unwrap_err();
    assert_eq!(err.key, "packs[0]");
    assert!(
        err.to_string()
            .starts_with(&format!("invalid config in `{path}`")),
        "{err}"
    );
    let err = load(&[(CONFIG_VAR, "/nowhere/sentinel.toml")]).unwrap_err();
    assert!(err.to_string().contains("cannot read the file"), "{err}");
}

#[test]
fn legacy_activation_only_when_the_file_is_silent() {
    let vars = [
        ("GROQ_API_KEY", "gsk-secret-0123456789"),
        ("TELNYX_API_KEY", "KEY-x"),
    ];
    let c = load(&vars).unwrap();
    assert_eq!(
        (c.spec.scorer.kind, c.spec.approver.kind),
        (ScorerKind::Groq, ApproverKind::Telnyx)
    );
    let (_dir, path) = file("[scorer]\nkind = \"offline\"\n[approver]\nkind = \"none\"\n");
    let c = load(&[vars[0], vars[1], (CONFIG_VAR, &path)]).unwrap();
    assert_eq!(
        (c.spec.scorer.kind, c.spec.approver.kind),
        (ScorerKind::Offline, ApproverKind::None)
    );
    assert!(c.origin.activated.is_empty());
    let (_dir, path) = file("[gateway]\nunmatched = \"deny\"\n");
    let c = load(&[vars[0], (CONFIG_VAR, &path)]).unwrap();
    assert_eq!(c.spec.scorer.kind, ScorerKind::Groq);
    assert!(c.components().unwrap().groq.is_some());
}
