//! The JS shape of decisions and action records (camelCase, plain objects).

use napi_derive::napi;
use sentinel_core::{ActionRecord, ScorerUse};
use serde_json::Value;

/// What the gateway decided about an action, and why.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Decision {
    /// The action's id (a UUID v7).
    pub action_id: String,
    /// `EXECUTED` (auto-approved), `BLOCKED_AWAITING_AUTH` (a human must decide) or
    /// `DECLINED`.
    pub status: String,
    /// Final risk, 0 (harmless) to 100.
    pub risk_score: u32,
    /// Plain-language explanation for the person who may be asked.
    pub analysis: String,
    /// Matched rules as `pack/rule-id`, in evaluation order.
    pub rules: Vec<String>,
    /// Matched rules in detail.
    pub matched: Vec<RuleMatch>,
    /// The packs that applied to the action.
    pub packs: Vec<PackRef>,
    /// Whether and how the risk scorer was consulted.
    pub scorer: ScorerOutcome,
    /// How long each stage took, in nanoseconds.
    pub timings: Timings,
}

/// A rule that matched.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct RuleMatch {
    /// `pack/rule-id`.
    pub rule: String,
    /// The version of the pack that held the rule.
    pub pack_version: String,
    /// The rule's effect in the pack format, e.g. `"deny"` or `{"risk_floor": 80}`.
    pub effect: Value,
    /// The rendered reason.
    pub reason: String,
}

/// A pack that took part in a decision.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct PackRef {
    /// The pack's name.
    pub name: String,
    /// Its semantic version.
    pub version: String,
    /// SHA-256 of its canonical JSON.
    pub hash: String,
}

/// Whether the risk scorer was consulted.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ScorerOutcome {
    /// `skipped`, `assessed` or `failed`.
    pub outcome: String,
    /// `skipped`: why (`deny`, `allow`, `set_risk` or `unmatched`).
    pub reason: Option<String>,
    /// `assessed` / `failed`: the scorer's name.
    pub scorer: Option<String>,
    /// `failed`: the error message.
    pub error: Option<String>,
}

/// Stage timings of a decision, in nanoseconds.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Timings {
    /// Evaluating the rules.
    pub rules_ns: f64,
    /// Waiting for the scorer (0 when skipped).
    pub scorer_ns: f64,
    /// The whole decision.
    pub total_ns: f64,
}

impl From<sentinel_core::Decision> for Decision {
    fn from(d: sentinel_core::Decision) -> Self {
        Self {
            action_id: d.action_id.to_string(),
            status: d.status.as_str().to_owned(),
            risk_score: u32::from(d.risk_score),
            analysis: d.analysis,
            rules: d.rules,
            matched: d
                .matched
                .into_iter()
                .map(|m| RuleMatch {
                    rule: m.rule.to_string(),
                    pack_version: m.pack_version.to_string(),
                    effect: serde_json::to_value(m.effect).unwrap_or(Value::Null),
                    reason: m.reason,
                })
                .collect(),
            packs: d
                .packs
                .into_iter()
                .map(|p| PackRef {
                    name: p.name,
                    version: p.version,
                    hash: p.hash,
                })
                .collect(),
            scorer: d.scorer.into(),
            timings: Timings {
                rules_ns: d.timings.rules_ns as f64,
                scorer_ns: d.timings.scorer_ns as f64,
                total_ns: d.timings.total_ns as f64,
            },
        }
    }
}

impl From<ScorerUse> for ScorerOutcome {
    fn from(s: ScorerUse) -> Self {
        let none = Self {
            outcome: String::new(),
            reason: None,
            scorer: None,
            error: None,
        };
        match s {
            ScorerUse::Skipped { reason } => Self {
                outcome: "skipped".into(),
                reason: Some(reason),
                ..none
            },
            ScorerUse::Assessed { scorer } => Self {
                outcome: "assessed".into(),
                scorer: Some(scorer),
                ..none
            },
            ScorerUse::Failed { scorer, error } => Self {
                outcome: "failed".into(),
                scorer: Some(scorer),
                error: Some(error),
                ..none
            },
            other => Self {
                outcome: format!("{other:?}").to_lowercase(),
                ..none
            },
        }
    }
}

/// A human decision as recorded.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ApprovalView {
    /// Approved (`true`) or declined.
    pub approved: bool,
    /// Who decided.
    pub by: String,
    /// Through which channel.
    pub channel: String,
    /// Why.
    pub reason: String,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: f64,
}

/// Where an action stands: what `status` and `resolve` return.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ActionStatus {
    /// The action's id.
    pub action_id: String,
    /// Its lifecycle state, e.g. `BLOCKED_AWAITING_AUTH`, `APPROVED`, `EXPIRED`.
    pub state: String,
    /// The gateway's decision, once made.
    pub decision: Option<Decision>,
    /// The human decision, once made.
    pub approval: Option<ApprovalView>,
    /// When a pending action expires, in milliseconds since the Unix epoch.
    pub deadline_ms: Option<f64>,
    /// When the guarded function was started, in milliseconds since the Unix epoch.
    pub executed_at_ms: Option<f64>,
}

impl From<ActionRecord> for ActionStatus {
    fn from(r: ActionRecord) -> Self {
        Self {
            action_id: r.id.to_string(),
            state: r.state.as_str().to_owned(),
            decision: r.decision.map(Decision::from),
            approval: r.approval.map(|a| ApprovalView {
                approved: a.approved,
                by: a.by,
                channel: a.channel,
                reason: a.reason,
                at_ms: a.at.timestamp_millis() as f64,
            }),
            deadline_ms: r.deadline.map(|d| d.timestamp_millis() as f64),
            executed_at_ms: r.executed_at.map(|d| d.timestamp_millis() as f64),
        }
    }
}
