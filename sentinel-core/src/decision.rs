//! What the gateway decided about an action, and why.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::action::ActionId;
use crate::error::ScorerError;
use crate::rule::RuleMatch;
use crate::rule_id::RuleId;
use crate::state::State;

/// The gateway's decision about one action.
///
/// `status` is one of [`State::Executed`] (auto-approved), [`State::BlockedAwaitingAuth`]
/// (a human must decide) or [`State::Declined`]; after a human decides, the action's
/// record moves on to `APPROVED`, `DECLINED` or `EXPIRED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Decision {
    /// The action this decision is about.
    pub action_id: ActionId,
    /// Auto-approved, escalated or declined.
    pub status: State,
    /// Final risk, 0 (harmless) to 100.
    pub risk_score: u8,
    /// Plain-language explanation for the person who may be asked.
    pub analysis: String,
    /// Matched rules as `pack/rule-id`, in evaluation order.
    pub rules: Vec<RuleId>,
    /// Matched rules in detail: pack version, effect, rendered reason.
    pub matched: Vec<RuleMatch>,
    /// The packs that applied to the action, with versions and content hashes.
    pub packs: Vec<PackRef>,
    /// Whether and how the risk scorer was consulted.
    pub scorer: ScorerUse,
    /// How long each stage took.
    pub timings: Timings,
    /// The scorer's error when it failed during this decision, with its source (e.g. the
    /// exception a Python or JavaScript scorer raised). Not serialized: a stored decision
    /// keeps the message in [`ScorerUse::Failed`].
    #[serde(skip)]
    pub(crate) scorer_failure: Option<ScorerError>,
}

impl Decision {
    /// True when the action may run without asking anyone.
    pub fn is_auto_approved(&self) -> bool {
        self.status == State::Executed
    }

    /// True when a human must decide.
    pub fn needs_approval(&self) -> bool {
        self.status == State::BlockedAwaitingAuth
    }

    /// True when the action was refused.
    pub fn is_declined(&self) -> bool {
        self.status == State::Declined
    }

    /// The scorer's error, when the scorer failed while this process made the decision.
    pub fn scorer_error(&self) -> Option<&ScorerError> {
        self.scorer_failure.as_ref()
    }
}

/// A pack that took part in a decision. Its texts are shared with the pack (and between
/// decisions): citing a pack copies no string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PackRef {
    /// The pack's name.
    pub name: Arc<str>,
    /// The pack's semantic version.
    pub version: Arc<str>,
    /// SHA-256 of the pack's canonical JSON.
    pub hash: Arc<str>,
}

/// Whether the risk scorer was consulted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ScorerUse {
    /// Rules decided; the scorer was not called (no cost, no latency).
    Skipped {
        /// Why: `deny`, `allow`, `set_risk` or `unmatched`.
        reason: String,
    },
    /// The scorer assessed the action.
    Assessed {
        /// The scorer's name.
        scorer: String,
    },
    /// The scorer failed; the action failed closed.
    Failed {
        /// The scorer's name.
        scorer: String,
        /// The error (never contains a secret).
        error: String,
    },
}

/// Stage timings of a decision, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Timings {
    /// Evaluating the rules.
    pub rules_ns: u64,
    /// Waiting for the scorer (0 when skipped).
    pub scorer_ns: u64,
    /// The whole decision.
    pub total_ns: u64,
}
