//! What `sentinel` says about bad packs and unknown names: Sentinel's words (operators,
//! effects), one `error:` prefix per problem, and built-in packs that validate anywhere.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sentinel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(args)
        .output()
        .unwrap()
}

/// Writes `pack` to a fresh file in the temporary directory.
fn pack_file(name: &str, pack: &serde_json::Value) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sentinel-cli-messages-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(pack).unwrap()).unwrap();
    path
}

fn rule_pack(name: &str, rule: serde_json::Value) -> PathBuf {
    pack_file(
        name,
        &serde_json::json!({"name": "Bad", "version": "1.0.0", "applies_to": ["PAY_INVOICE"], "rules": [rule]}),
    )
}

/// `sentinel validate` on the file: fails, and says `expected` on one `error:` line.
fn validate_fails_with(path: &Path, expected: &str) {
    let out = sentinel(&["validate", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end(), format!("error: {expected}"));
}

#[test]
fn an_unknown_operator_lists_the_operators() {
    let path = rule_pack(
        "operator",
        serde_json::json!({"id": "r", "effect": "deny", "reason": "x",
            "when": {"greater": {"path": "payload.amount", "value": 1}}}),
    );
    validate_fails_with(
        &path,
        "in pack `Bad`, rule `r`, at `/rules/0/when`: unknown operator `greater`; operators are `all`, `any`, `not`, `eq`, `ne`, `lt`, `lte`, `gt`, `gte`, `in`, `not_in`, `contains`, `starts_with`, `ends_with`, `matches`, `exists`, `budget`, `rate`",
    );
}

#[test]
fn an_unknown_effect_lists_the_effects() {
    let path = rule_pack(
        "effect",
        serde_json::json!({"id": "r", "effect": "block", "reason": "x"}),
    );
    validate_fails_with(
        &path,
        "in pack `Bad`, rule `r`, at `/rules/0/effect`: unknown effect `block`; effects are `\"deny\"`, `\"allow\"`, `\"escalate\"`, `{\"risk_floor\": n}`, `{\"risk_ceiling\": n}`, `{\"set_risk\": n}`",
    );
}

#[test]
fn a_bad_regex_is_one_error_line() {
    let path = rule_pack(
        "regex",
        serde_json::json!({"id": "re", "effect": "deny", "reason": "x",
            "when": {"matches": {"path": "reasoning", "value": "a{2"}}}),
    );
    validate_fails_with(
        &path,
        "in pack `Bad`, rule `re`, at `/rules/0/when/matches/value`: bad regular expression `a{2`: unclosed counted repetition at `{2` (character 2)",
    );
    // The same through `eval`, which loads packs before reading stdin.
    let out = sentinel(&["eval", "--pack", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
}

#[test]
fn builtin_packs_print_without_the_repository_schema_path_and_validate() {
    for name in ["VaultKeeper", "PrivacyShield", "OpsGuard"] {
        let out = sentinel(&["builtin", name]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains("$schema"), "{text}");
        // The pack's own layout and key order.
        assert!(
            text.starts_with(&format!("{{\n  \"name\": \"{name}\",\n")),
            "{text}"
        );
        let path = pack_file(&format!("copy-of-{name}"), &serde_json::Value::Null);
        std::fs::write(&path, &text).unwrap();
        let out = sentinel(&["validate", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!(" {name}@1.1.0 ")));
    }
}

#[test]
fn an_unknown_builtin_is_named_without_a_pack_location() {
    let expected = "error: no built-in pack named `Nope`; built-in packs are `VaultKeeper`, `PrivacyShield`, `OpsGuard`";
    let out = sentinel(&["builtin", "Nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end(), expected);
    let out = sentinel(&["eval", "--builtin", "Nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(expected));
}
