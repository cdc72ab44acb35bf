//! `sentinel test CORPUS --coverage` and `--min-coverage N`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use serde_json::json;

fn sentinel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap()
}

/// A one-case corpus (DROP_TABLE, declined by OpsGuard's first rule) run on OpsGuard alone.
fn one_case() -> String {
    let dir = std::env::temp_dir().join(format!("sentinel-cli-coverage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cases.jsonl");
    let case = json!({"name": "drop", "action": {"agent_id": "ops", "action": "DROP_TABLE",
        "payload": {"table": "users"}, "reasoning": ""},
        "expect": {"status": "DECLINED", "rules": ["OpsGuard/drop-table-forbidden"]}});
    std::fs::write(&path, format!("{case}\n")).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn coverage_lists_exercised_and_missed_rules_per_pack() {
    let cases = one_case();
    let out = sentinel(&["test", &cases, "--builtin", "OpsGuard", "--coverage"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let report = &text[text.find("coverage:").unwrap()..];
    assert_eq!(
        report,
        "coverage: 1 of 5 rules (20.0%)\n  OpsGuard@1.1.0: 1 of 5 rules (20.0%)\n        1  drop-table-forbidden\n    never  delete-user-floor\n    never  delete-user-production\n    never  restart-non-production\n    never  restart-outside-staging\n"
    );
    // Without the flag, no report.
    let out = sentinel(&["test", &cases, "--builtin", "OpsGuard"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("coverage:"));
}

#[test]
fn min_coverage_fails_below_the_threshold_only() {
    let cases = one_case();
    let out = sentinel(&[
        "test",
        &cases,
        "--builtin",
        "OpsGuard",
        "--min-coverage",
        "21",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: rule coverage 20.0% is below --min-coverage 21"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("coverage: 1 of 5 rules"));
    let out = sentinel(&[
        "test",
        &cases,
        "--builtin",
        "OpsGuard",
        "--min-coverage",
        "20",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = sentinel(&["test", "fixtures/decisions.jsonl", "--min-coverage", "100"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = sentinel(&["test", &cases, "--min-coverage", "101"]);
    assert_eq!(out.status.code(), Some(2));
}
