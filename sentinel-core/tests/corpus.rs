//! Runs the shared decision corpus (`fixtures/decisions.jsonl`) against the seed packs.

use sentinel_core::{Action, Gateway};
use serde_json::Value;

const CORPUS: &str = include_str!("../../fixtures/decisions.jsonl");

#[tokio::test]
async fn seed_packs_decide_the_corpus_exactly() {
    let gateway = Gateway::builder().build().unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for line in CORPUS.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap();
        let name = case["name"].as_str().unwrap();
        let expect = &case["expect"];
        count += 1;
        match Action::from_json(case["action"].clone()) {
            Err(e) => {
                if expect["error"] != e.to_string() {
                    failures.push(format!("{name}: expected {expect}, got error `{e}`"));
                }
            }
            Ok(action) => {
                let d = gateway.evaluate(&action).await;
                let got = serde_json::json!({
                    "status": d.status, "risk_score": d.risk_score, "rules": d.rules,
                });
                let want = serde_json::json!({
                    "status": expect["status"], "risk_score": expect["risk_score"], "rules": expect["rules"],
                });
                if got != want {
                    failures.push(format!("{name}: expected {want}, got {got} ({})", d.analysis));
                }
                if let Some(text) = expect["analysis_contains"].as_str() {
                    if !d.analysis.contains(text) {
                        failures.push(format!("{name}: analysis `{}` lacks `{text}`", d.analysis));
                    }
                }
            }
        }
    }
    assert!(count >= 40, "corpus too small: {count}");
    assert!(failures.is_empty(), "{} of {count} cases failed:\n{}", failures.len(), failures.join("\n"));
}
