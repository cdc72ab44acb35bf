//! `sentinel test` on the budget corpus (fixtures/budgets.jsonl, whose cases submit a
//! `history` first) under fixtures/budget-pack.json, and `sentinel lint` on that pack.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn sentinel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap()
}

#[test]
fn the_budget_corpus_passes_and_covers_both_rules() {
    let out = sentinel(&[
        "test",
        "fixtures/budgets.jsonl",
        "--pack",
        "fixtures/budget-pack.json",
        "--min-coverage",
        "100",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("summary: 10 passed, 0 failed"), "{stdout}");
    assert!(
        stdout.contains("ok   budget: the 3rd $9,000 payment today by this agent escalates"),
        "{stdout}"
    );
}

#[test]
fn lint_takes_budgets_and_rates() {
    let out = sentinel(&["lint", "fixtures/budget-pack.json", "--deny-warnings"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
