use std::collections::HashMap;

use serde_json::json;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Env {
    Env::from_map(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<HashMap<_, _>>(),
    )
}

fn toml_err(text: &str) -> ConfigError {
    match GatewaySpec::from_toml_str(text) {
        Ok(spec) => panic!("expected an error, got {spec:?}"),
        Err(e) => e,
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sentinel-spec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

#[test]
fn the_example_reads_and_builds_offline_in_memory() {
    let spec = GatewaySpec::from_toml_str(EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
    let c = spec.components(&env(&[])).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<_> = c.packs.iter().map(Pack::name).collect();
    assert_eq!(names, ["VaultKeeper", "PrivacyShield", "OpsGuard"]);
    assert!(c.scorer.is_none() && c.approver.is_none());
    assert_eq!(c.store.kind, StoreKind::Memory);
    assert_eq!(spec.server.bind.as_deref(), Some("127.0.0.1:8000"));
}

#[test]
fn a_spec_knows_which_sections_its_document_named() {
    let spec = GatewaySpec::from_toml_str("[scorer]\nkind = \"offline\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(spec.names("scorer") && !spec.names("approver"));
    let spec = GatewaySpec::from_json_str("{\"approver\": {}}").unwrap_or_else(|e| panic!("{e}"));
    assert!(spec.names("approver") && !spec.names("scorer"));
    let spec = GatewaySpec::from_value(json!({"packs": []})).unwrap_or_else(|e| panic!("{e}"));
    assert!(spec.names("packs"));
    // Spelling out a default does not make two specs differ.
    assert_eq!(
        GatewaySpec::from_toml_str("[scorer]\nkind = \"offline\"\n").ok(),
        GatewaySpec::from_toml_str("").ok()
    );
}

#[test]
fn an_empty_document_is_the_defaults() {
    let spec = GatewaySpec::from_toml_str("").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec, GatewaySpec::default());
    assert_eq!(spec.load_packs().map(|p| p.len()).ok(), Some(3));
}

#[test]
fn unknown_keys_are_errors_with_line_and_key() {
    let e = toml_err("[gateway]\nunmatched = \"deny\"\n\n[scorer.groq]\ntimeout = 5\n");
    assert_eq!(e.key, "scorer.groq.timeout");
    assert_eq!(e.line, Some(5));
    assert!(
        e.message
            .starts_with("unknown field `timeout`, expected one of"),
        "{e}"
    );
    let e = toml_err("[scorers]\nkind = \"groq\"\n");
    assert_eq!((e.key.as_str(), e.line), ("scorers", Some(1)));
}

#[test]
fn bad_values_name_key_line_and_what_was_expected() {
    let e = toml_err("[scorer]\nkind = \"groq\"\n[scorer.groq]\ntimeout_s = -1\n");
    assert_eq!(
        e.to_string(),
        "invalid config, line 4, at `scorer.groq.timeout_s`: expected a positive number of seconds (at most a year), found `-1`"
    );
    let e = toml_err("[gateway]\nunmatched = \"sometimes\"\n");
    assert_eq!((e.key.as_str(), e.line), ("gateway.unmatched", Some(2)));
    assert!(e.message.contains("`escalate`, `deny`, `score`"), "{e}");
    let e = toml_err("[[packs]]\nbuiltin = \"VaultKeeper\"\npath = \"x.json\"\n");
    assert_eq!(e.key, "packs[0]");
    assert!(e.message.contains("exactly one of"), "{e}");
    let e = toml_err("[gateway\n");
    assert_eq!((e.key.as_str(), e.line), ("", Some(1)));
}

#[test]
fn json_files_and_mappings_read_the_same_keys() {
    let text = "{\n  \"gateway\": {\"unmatched\": \"deny\"},\n  \"store\": {\"url\": 5}\n}";
    let e = GatewaySpec::from_json_str(text).unwrap_err();
    assert_eq!((e.key.as_str(), e.line), ("store.url", Some(3)));
    assert!(!e.message.contains(" at line "), "{e}");
    let spec =
        GatewaySpec::from_value(json!({"gateway": {"unmatched": "deny"}, "packs": ["OpsGuard"]}))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec.gateway.unmatched, Some(UnmatchedSpec::Deny));
    let e = GatewaySpec::from_value(json!({"approver": {"kind": "slack"}})).unwrap_err();
    assert_eq!(e.key, "approver.kind");
}

#[test]
fn files_resolve_paths_relative_to_themselves() {
    let dir = temp_dir("paths");
    std::fs::create_dir_all(dir.join("packs")).unwrap_or_default();
    let ops = Pack::builtin_source("OpsGuard").unwrap_or_default();
    std::fs::write(dir.join("packs/b.json"), ops).unwrap_or_default();
    let vault = Pack::builtin_source("VaultKeeper").unwrap_or_default();
    std::fs::write(dir.join("packs/a.json"), vault).unwrap_or_default();
    std::fs::write(dir.join("one.json"), ops).unwrap_or_default();
    std::fs::write(
        dir.join("s.toml"),
        "[[packs]]\ndir = \"packs\"\n[store]\nurl = \"sqlite://data/s.db\"\n",
    )
    .unwrap_or_default();
    let spec = GatewaySpec::from_file(dir.join("s.toml")).unwrap_or_else(|e| panic!("{e}"));
    let c = spec.components(&env(&[])).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<_> = c.packs.iter().map(Pack::name).collect();
    assert_eq!(
        names,
        ["VaultKeeper", "OpsGuard"],
        "a folder loads in name order"
    );
    assert_eq!(
        c.store.url.expose(),
        format!("sqlite://{}", dir.join("data/s.db").display())
    );
    std::fs::write(dir.join("bad.toml"), "[[packs]]\npath = \"nope.json\"\n").unwrap_or_default();
    let spec = GatewaySpec::from_file(dir.join("bad.toml")).unwrap_or_else(|e| panic!("{e}"));
    let e = spec.components(&env(&[])).unwrap_err();
    assert_eq!(e.file.as_deref(), Some(dir.join("bad.toml").as_path()));
    assert_eq!(e.key, "packs[0]");
    assert!(e.message.contains("nope.json"), "{e}");
    let e = GatewaySpec::from_file(dir.join("missing.toml")).unwrap_err();
    assert!(
        e.to_string().contains("missing.toml") && e.message.starts_with("cannot read"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_misspelt_builtin_is_not_taken_for_a_missing_file() {
    let spec =
        GatewaySpec::from_value(json!({"packs": ["VaultKeepr"]})).unwrap_or_else(|e| panic!("{e}"));
    let e = spec.components(&env(&[])).unwrap_err();
    assert!(
        e.message
            .starts_with("no built-in pack or pack file named `VaultKeepr`"),
        "{e}"
    );
    assert_eq!(e.code, crate::ErrorCode::InvalidPack);
}

#[test]
fn duplicate_and_broken_packs_are_config_errors_naming_the_pack() {
    let spec = GatewaySpec::from_value(json!({"packs": ["OpsGuard", {"builtin": "opsguard"}]}))
        .unwrap_or_else(|e| panic!("{e}"));
    let e = spec.components(&env(&[])).unwrap_err();
    assert!(e.message.contains("duplicate pack name"), "{e}");
    assert_eq!(
        (e.key.as_str(), e.code),
        ("packs", crate::ErrorCode::InvalidPack)
    );
    let spec =
        GatewaySpec::from_value(json!({"packs": [{"inline": {"name": "X", "version": "1"}}]}))
            .unwrap_or_else(|e| panic!("{e}"));
    let e = spec.components(&env(&[])).unwrap_err();
    assert_eq!(e.key, "packs[0]");
    assert!(e.message.contains("in pack `X`"), "{e}");
    assert_eq!(crate::Coded::code(&e), crate::ErrorCode::InvalidPack);
}

#[cfg(feature = "groq")]
#[test]
fn groq_reads_its_key_by_name_and_falls_back_to_its_variables() {
    let spec =
        GatewaySpec::from_toml_str("[scorer]\nkind = \"groq\"\n").unwrap_or_else(|e| panic!("{e}"));
    let e = spec.components(&env(&[])).unwrap_err();
    assert_eq!(
        (e.key.as_str(), e.env.as_deref()),
        ("scorer.groq.api_key_env", Some("GROQ_API_KEY"))
    );
    let c = spec
        .components(&env(&[
            ("GROQ_API_KEY", "gsk_test"),
            ("GROQ_MODEL", "env-model"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.groq.as_ref().map(|g| g.model().to_owned()).as_deref(),
        Some("env-model")
    );
    let e = spec
        .components(&env(&[
            ("GROQ_API_KEY", "gsk_test"),
            ("GROQ_BASE_URL", "not a url"),
        ]))
        .unwrap_err();
    assert_eq!(
        (e.key.as_str(), e.env.as_deref()),
        ("scorer.groq.base_url", Some("GROQ_BASE_URL"))
    );
    // The file wins over the variable, and names its own key.
    let spec = GatewaySpec::from_toml_str(
        "[scorer]\nkind = \"groq\"\n[scorer.groq]\nmodel = \"m\"\nbase_url = \"ftp://x\"\napi_key_env = \"MY_KEY\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let e = spec
        .components(&env(&[("MY_KEY", "gsk_secret_value")]))
        .unwrap_err();
    assert_eq!(
        (e.key.as_str(), e.env.as_deref()),
        ("scorer.groq.base_url", None)
    );
    assert!(!e.to_string().contains("gsk_secret_value"));
}

#[cfg(feature = "telnyx")]
#[test]
fn telnyx_settings_come_from_the_file_then_the_environment() {
    const KEY: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    let spec = GatewaySpec::from_toml_str(&format!(
        "[approver]\nkind = \"telnyx\"\n[approver.telnyx]\nconnection_id = \"123\"\nfrom_number = \"+15550000001\"\npublic_key = \"{KEY}\"\n"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let e = spec
        .components(&env(&[("TELNYX_API_KEY", "KEY0123")]))
        .unwrap_err();
    assert_eq!(
        (e.key.as_str(), e.env.as_deref()),
        ("approver.telnyx.admin_number", Some("ADMIN_PHONE_NUMBER"))
    );
    let e = spec
        .components(&env(&[
            ("TELNYX_API_KEY", "KEY0123"),
            ("ADMIN_PHONE_NUMBER", "555"),
        ]))
        .unwrap_err();
    assert!(
        e.message
            .ends_with("(from environment variable `ADMIN_PHONE_NUMBER`)"),
        "{e}"
    );
    let e = spec
        .components(&env(&[("ADMIN_PHONE_NUMBER", "+15550000002")]))
        .unwrap_err();
    assert_eq!(e.key, "approver.telnyx.api_key_env");
    let c = spec
        .components(&env(&[
            ("TELNYX_API_KEY", "KEY0123"),
            ("ADMIN_PHONE_NUMBER", "+15550000002"),
            ("TELNYX_APPROVAL_PIN", "4321"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
    let telnyx = c.telnyx.as_ref().map(|t| t.config().clone());
    assert_eq!(
        telnyx.as_ref().map(|t| t.connection_id.as_str()),
        Some("123")
    );
    assert!(telnyx.as_ref().is_some_and(|t| t.pin.is_some()));
    let e = spec
        .components(&env(&[
            ("TELNYX_API_KEY", "KEY0123"),
            ("ADMIN_PHONE_NUMBER", "+15550000002"),
            ("TELNYX_APPROVAL_PIN", "12ab"),
        ]))
        .unwrap_err();
    assert_eq!(e.key, "approver.telnyx.pin_env");
    assert!(!e.to_string().contains("12ab"), "{e}");
}

#[tokio::test]
async fn builds_a_gateway_with_the_settings() {
    let spec = GatewaySpec::from_toml_str(
        "[gateway]\nunmatched = \"deny\"\nescalation_timeout_s = 2.5\n[[packs]]\nbuiltin = \"OpsGuard\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let gateway = spec
        .components(&env(&[]))
        .unwrap_or_else(|e| panic!("{e}"))
        .build()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        gateway.escalation_timeout(),
        std::time::Duration::from_millis(2500)
    );
    let unknown = crate::Action::new("a", "MINE");
    assert_eq!(
        gateway.evaluate(&unknown).await.status,
        crate::State::Declined
    );
}

#[test]
fn the_schema_names_every_section() {
    let schema = GatewaySpec::json_schema();
    let props = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for section in ["gateway", "packs", "store", "scorer", "approver", "server"] {
        assert!(props.contains_key(section), "{section}");
    }
    assert_eq!(schema["additionalProperties"], json!(false));
}
