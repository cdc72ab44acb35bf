//! Runs the shared decision corpus (`fixtures/decisions.jsonl`) against the seed packs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sentinel_core::Gateway;
use sentinel_core::corpus::Case;

const CORPUS: &str = include_str!("../../fixtures/decisions.jsonl");

#[tokio::test]
async fn seed_packs_decide_the_corpus_exactly() {
    let gateway = Gateway::builder().build().unwrap();
    let cases = Case::parse_all(CORPUS).unwrap();
    assert!(cases.len() >= 40, "corpus too small: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        for problem in case.run(&gateway).await {
            failures.push(format!("{}: {problem}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_wrong_expectation_is_reported() {
    let gateway = Gateway::builder().build().unwrap();
    let case = Case::parse(
        r#"{"name": "x", "action": {"agent_id": "a", "action": "DROP_TABLE", "payload": {}, "reasoning": ""},
            "expect": {"status": "EXECUTED", "risk_score": 3, "rules": []}}"#,
    )
    .unwrap();
    let problems = case.run(&gateway).await;
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert_eq!(problems[0], "status: expected EXECUTED, got DECLINED");
}

#[tokio::test]
async fn the_budget_corpus_with_its_history() {
    // fixtures/budgets.jsonl: cases whose `history` is submitted first (budgets, rates).
    let pack = sentinel_core::Pack::from_json_str(include_str!("../../fixtures/budget-pack.json"))
        .unwrap();
    let gateway = Gateway::builder().packs([pack]).build().unwrap();
    let cases = Case::parse_all(include_str!("../../fixtures/budgets.jsonl")).unwrap();
    assert!(cases.len() >= 10, "corpus too small: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        for problem in case.run(&gateway).await {
            failures.push(format!("{}: {problem}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // A history that is not an action is the case's failure, not a silent skip.
    let bad = Case::parse(
        r#"{"name": "x", "history": [{"agent_id": "a"}], "action": {"agent_id": "a", "action": "PAY_INVOICE"}, "expect": {}}"#,
    )
    .unwrap();
    let problems = bad.run(&gateway).await;
    assert!(
        problems[0].starts_with("history/0: not an action"),
        "{problems:?}"
    );
}
