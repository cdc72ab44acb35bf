//! Decision test cases: an action and the decision a policy author expects for it.
//!
//! One case per JSON line, as in `fixtures/decisions.jsonl` and `sentinel test`:
//!
//! ```json
//! {"name": "drop table", "action": {"agent_id": "ops", "action": "DROP_TABLE", "payload": {}, "reasoning": ""},
//!  "expect": {"status": "DECLINED", "risk_score": 100, "rules": ["OpsGuard/drop-table-forbidden"]}}
//! ```
//!
//! `expect` holds `status`, `risk_score` and `rules` (each optional; `rules` must match
//! exactly and in order) and optionally `analysis_contains`; or, for malformed actions,
//! `error` with the exact message.
//!
//! A case may carry a `history`: actions submitted (recorded and decided, as by
//! `Gateway::submit`) before its own action is evaluated, for conditions over past actions
//! (`budget`, `rate`). The gateway, and so its store, is shared by the cases of a run: give
//! each case's history an agent of its own.

use serde::Deserialize;
use serde_json::Value;

use crate::action::Action;
use crate::decision::Decision;
use crate::gateway::Gateway;
use crate::state::State;

/// One test case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Case {
    /// What the case shows.
    pub name: String,
    /// The action as JSON (possibly malformed on purpose).
    pub action: Value,
    /// Actions submitted before `action` is evaluated, in order (well-formed ones).
    #[serde(default)]
    pub history: Vec<Value>,
    /// The expected outcome.
    pub expect: Expect,
}

/// The expected outcome of a case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Expect {
    /// Expected status.
    pub status: Option<State>,
    /// Expected final score.
    pub risk_score: Option<u8>,
    /// Expected matched rules (`pack/rule-id`), in order.
    pub rules: Option<Vec<String>>,
    /// A substring the analysis must contain.
    pub analysis_contains: Option<String>,
    /// For malformed actions: the exact error message.
    pub error: Option<String>,
}

impl Case {
    /// Parses one JSON line.
    pub fn parse(line: &str) -> Result<Self, String> {
        serde_json::from_str(line).map_err(|e| format!("not a test case: {e}"))
    }

    /// Parses every non-blank line; errors carry the 1-based line number.
    pub fn parse_all(text: &str) -> Result<Vec<Self>, String> {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| Self::parse(l).map_err(|e| format!("line {}: {e}", i + 1)))
            .collect()
    }

    /// Evaluates the case on `gateway` and lists every difference from the expectation
    /// (empty when the case passes).
    pub async fn run(&self, gateway: &Gateway) -> Vec<String> {
        if let Err(e) = self.submit_history(gateway).await {
            return vec![e];
        }
        match Action::from_json(self.action.clone()) {
            Err(e) => self.check_error(&e.to_string()),
            Ok(action) => self.check(&gateway.evaluate(&action).await),
        }
    }

    /// Submits the case's `history` on `gateway`, in order: they are recorded and decided
    /// (and count towards budgets when they run). Fails on a malformed or refused action.
    pub async fn submit_history(&self, gateway: &Gateway) -> Result<(), String> {
        for (i, past) in self.history.iter().enumerate() {
            let action = Action::from_json(past.clone())
                .map_err(|e| format!("history/{i}: not an action: {e}"))?;
            gateway
                .submit(action)
                .await
                .map_err(|e| format!("history/{i}: cannot submit: {e}"))?;
        }
        Ok(())
    }

    /// Compares a decision with the expectation.
    pub fn check(&self, d: &Decision) -> Vec<String> {
        let e = &self.expect;
        let mut out = Vec::new();
        if let Some(err) = &e.error {
            out.push(format!(
                "expected error `{err}`, got a decision ({})",
                d.status
            ));
        }
        if let Some(s) = e.status
            && s != d.status
        {
            out.push(format!("status: expected {s}, got {}", d.status));
        }
        if let Some(n) = e.risk_score
            && n != d.risk_score
        {
            out.push(format!("risk_score: expected {n}, got {}", d.risk_score));
        }
        if let Some(rules) = &e.rules
            && *rules != d.rules
        {
            out.push(format!("rules: expected {rules:?}, got {:?}", d.rules));
        }
        if let Some(text) = &e.analysis_contains
            && !d.analysis.contains(text.as_str())
        {
            out.push(format!("analysis: `{}` lacks `{text}`", d.analysis));
        }
        out
    }

    /// Compares an input error with the expectation.
    pub fn check_error(&self, message: &str) -> Vec<String> {
        match &self.expect.error {
            Some(expected) if expected == message => Vec::new(),
            Some(expected) => vec![format!("error: expected `{expected}`, got `{message}`")],
            None => vec![format!("expected a decision, got error `{message}`")],
        }
    }
}
