//! `sentinel lint`: findings with pack, rule and pointer, as text and JSON; exit 1 on
//! errors only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn sentinel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap()
}

fn pack_file(name: &str, pack: &Value) -> String {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("sentinel-cli-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(pack).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_seed_packs_and_the_shared_config_lint_clean() {
    let out = sentinel(&[
        "lint",
        "--builtin",
        "VaultKeeper",
        "--builtin",
        "PrivacyShield",
        "--builtin",
        "OpsGuard",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out), "summary: 0 errors, 0 warnings in 3 packs\n");
    let out = sentinel(&[
        "lint",
        "--config",
        "fixtures/sentinel.toml",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["errors"], 0);
    assert!(!report["packs"].as_array().unwrap().is_empty());
}

#[test]
fn errors_fail_warnings_do_not_and_each_finding_is_located() {
    let warn_only = pack_file(
        "warn",
        &json!({"name": "Warn", "version": "1.0.0", "applies_to": ["EXPORT_CSV"],
            "default": {"risk": 60, "reason": "x"},
            "rules": [
                {"id": "bulk", "effect": {"risk_floor": 95}, "reason": "x",
                 "when": {"gt": {"path": "payload.record_count", "value": 10}}},
                {"id": "medium", "effect": {"set_risk": 65}, "reason": "x",
                 "when": {"all": [{"gte": {"path": "payload.record_count", "value": 50}},
                                  {"lte": {"path": "payload.record_count", "value": 500}}]}}]}),
    );
    let out = sentinel(&["lint", &warn_only]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("warning[shadowed]: in pack `Warn`, rule `medium`, at `/rules/1`: the rule is shadowed by rule `bulk`"),
        "{text}"
    );
    assert!(text.contains(&format!("  --> {warn_only}\n")), "{text}");
    assert!(
        text.ends_with("summary: 0 errors, 1 warning in 1 pack\n"),
        "{text}"
    );
    let out = sentinel(&["lint", &warn_only, "--deny-warnings"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let out = sentinel(&["lint", "--builtin", "OpsGuard", "--deny-warnings"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    let broken = pack_file(
        "broken",
        &json!({"name": "Broken", "version": "1.0.0", "applies_to": ["PAY"],
            "default": {"risk": 60, "reason": "x"},
            "rules": [{"id": "odd", "effect": "deny", "reason": "x", "when": {"all": [
                {"gt": {"path": "payload.amount", "value": 10}},
                {"lt": {"path": "payload.amount", "value": 5}}]}}]}),
    );
    let null = pack_file(
        "null",
        &json!({"name": "Null", "version": "1.0.0", "applies_to": ["PAY"],
            "rules": [{"id": "nil", "effect": "deny", "reason": "x",
                       "when": {"ne": {"path": "payload.vendor", "value": null}}}]}),
    );
    let out = sentinel(&["lint", &warn_only, &broken, &null, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["errors"].as_u64(), report["warnings"].as_u64()),
        (Some(2), Some(1))
    );
    let found: Vec<(&str, &str, &str, &str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["severity"].as_str().unwrap(),
                f["lint"].as_str().unwrap(),
                f["pack"].as_str().unwrap(),
                f["rule"].as_str().unwrap(),
                f["pointer"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "error",
                "invalid-pack",
                "Null",
                "nil",
                "/rules/0/when/ne/value"
            ),
            ("warning", "shadowed", "Warn", "medium", "/rules/1"),
            (
                "error",
                "never-matches",
                "Broken",
                "odd",
                "/rules/0/when/all/1/lt"
            ),
        ]
    );
    assert_eq!(report["findings"][1]["related"]["rule"], "bulk");
    assert_eq!(report["findings"][0]["file"], null.as_str());
}

#[test]
fn set_risk_conflicts_across_packs_name_the_other_pack() {
    let a = pack_file(
        "a",
        &json!({"name": "A", "version": "1.0.0", "applies_to": ["PAY"], "default": {"risk": 60, "reason": "x"},
            "rules": [{"id": "cheap", "effect": {"set_risk": 10}, "reason": "x",
                       "when": {"lt": {"path": "payload.amount", "value": 100}}}]}),
    );
    let b = pack_file(
        "b",
        &json!({"name": "B", "version": "1.0.0", "applies_to": ["PAY"], "default": {"risk": 60, "reason": "x"},
            "rules": [{"id": "any", "effect": {"set_risk": 80}, "reason": "x"}]}),
    );
    let out = sentinel(&["lint", &a, &b]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with("warning[set-risk-conflict]: in pack `B`, rule `any`, at `/rules/0/effect`: `set_risk` 80 conflicts with pack `A`, rule `cheap` (`set_risk` 10) on `PAY`"), "{text}");
}
