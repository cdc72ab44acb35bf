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
