//! Where an action stands on its ladder, kept in the store as approval attempts of channel
//! [`LADDER`]: one per step started, its state saying which step, until when, and how it
//! ended.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::channel::ChannelKind;
use super::route::Route;
use super::{LADDER, QUORUM};
use crate::action::ActionId;
use crate::error::StoreError;
use crate::store::{ApprovalAttempt, AttemptStatus, AuditEvent, AuditKind, Store};

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// A person answered through the step's channel (the quorum wants more).
    Answered,
    /// Nobody decided before its timeout.
    Timeout,
    /// The channel failed.
    Failed,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Timeout => "timeout",
            Self::Failed => "failed",
        }
    }
}

/// A step's stored state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StepState {
    pub(crate) route: String,
    pub(crate) index: usize,
    pub(crate) channel: ChannelKind,
    #[serde(default)]
    pub(crate) to: String,
    pub(crate) ends_at: DateTime<Utc>,
    /// How many steps the route has (0 in states written before it was kept).
    #[serde(default)]
    pub(crate) of: usize,
    /// The route's quorum (0 in states written before it was kept).
    #[serde(default)]
    pub(crate) quorum: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) reason: String,
}

/// Where an action stands on its route (read, matched on, dropped: never kept).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Position {
    /// Step `index` is to be started, as attempt `seq`.
    Next { index: usize, seq: u32 },
    /// A step is under way.
    Live(ApprovalAttempt, StepState),
    /// Every step ended; `failed` when the last one failed.
    Done { failed: bool, reason: String },
}

/// Reads the ladder's steps out of the action's attempts.
pub(crate) fn locate(attempts: &[ApprovalAttempt], route: &Route) -> Position {
    let seq = attempts.iter().map(|a| a.seq).max().unwrap_or(0) + 1;
    let last = attempts
        .iter()
        .filter(|a| a.channel == LADDER)
        .filter_map(|a| {
            let state: StepState = serde_json::from_value(a.state.clone()).ok()?;
            (state.route == route.name).then_some((a, state))
        })
        .max_by_key(|(_, s)| s.index);
    match last {
        None => Position::Next { index: 0, seq },
        Some((a, s)) if a.status != AttemptStatus::Ended => Position::Live(a.clone(), s),
        Some((_, s)) if s.index + 1 < route.steps.len() => Position::Next {
            index: s.index + 1,
            seq,
        },
        Some((_, s)) => Position::Done {
            failed: s.outcome == Some(Outcome::Failed),
            reason: s.reason,
        },
    }
}

/// Claims step `state.index` as attempt `seq`: `None` when another process made attempt
/// `seq` first (read again).
pub(crate) async fn claim(
    store: &dyn Store,
    id: ActionId,
    seq: u32,
    state: &StepState,
) -> Result<Option<ApprovalAttempt>, StoreError> {
    let value = serde_json::to_value(state).map_err(|e| StoreError::Backend(e.to_string()))?;
    let mut attempt = ApprovalAttempt::new(id, seq, LADDER, value);
    attempt.status = AttemptStatus::Live;
    store.insert_attempt(&attempt).await
}

/// Ends a live step with `outcome`: `false` when another process changed it first.
pub(crate) async fn end(
    store: &dyn Store,
    attempt: &ApprovalAttempt,
    mut state: StepState,
    outcome: Outcome,
    reason: &str,
) -> Result<bool, StoreError> {
    state.outcome = Some(outcome);
    state.reason = reason.to_owned();
    let mut ended = attempt.clone();
    ended.status = AttemptStatus::Ended;
    ended.state = serde_json::to_value(&state).map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(store.update_attempt(&ended).await?.is_some())
}

/// One step of an action's ladder, as the store keeps it (for consoles and reports).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LadderStep {
    /// The route's name.
    pub route: String,
    /// The step's number in the route, 1 for the first.
    pub step: usize,
    /// How many steps the route has (`None` for steps recorded before it was kept).
    pub of: Option<usize>,
    /// `voice`, `slack`, `webhook` or `console`.
    pub channel: String,
    /// Whom it reached (a phone number, a Slack channel, a webhook's name); empty for the
    /// console.
    pub to: String,
    /// The route's quorum (`None` for steps recorded before it was kept).
    pub quorum: Option<u32>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ends (ended) if nobody decides.
    pub ends_at: DateTime<Utc>,
    /// `live` or `ended`.
    pub status: String,
    /// How it ended: `answered`, `timeout` or `failed`; `None` while live, or when the
    /// action was decided during it.
    pub outcome: Option<String>,
    /// Why (a channel's failure, the timeout); empty otherwise. Never a secret.
    pub reason: String,
}

/// The ladder steps among an action's approval attempts (channel [`LADDER`]), in the order
/// they started.
pub fn ladder_steps(attempts: &[ApprovalAttempt]) -> Vec<LadderStep> {
    attempts
        .iter()
        .filter(|a| a.channel == LADDER)
        .filter_map(|a| {
            let s: StepState = serde_json::from_value(a.state.clone()).ok()?;
            Some(LadderStep {
                route: s.route,
                step: s.index + 1,
                of: (s.of > 0).then_some(s.of),
                channel: s.channel.as_str().to_owned(),
                to: s.to,
                quorum: (s.quorum > 0).then_some(s.quorum),
                started_at: a.created_at,
                ends_at: s.ends_at,
                status: if a.status == AttemptStatus::Ended {
                    "ended"
                } else {
                    "live"
                }
                .to_owned(),
                outcome: s.outcome.map(|o| o.as_str().to_owned()),
                reason: s.reason,
            })
        })
        .collect()
}

/// One person's approval counted towards a quorum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct QuorumVote {
    /// Who approved (an operator name).
    pub by: String,
    /// Through which channel they first approved (`slack`, `console`...).
    pub via: String,
    /// When they first approved.
    pub at: DateTime<Utc>,
}

/// The distinct people who approved so far towards a quorum (the audit notes of channel
/// [`QUORUM`]), in the order of their first approval.
pub fn quorum_votes(trail: &[AuditEvent]) -> Vec<QuorumVote> {
    let mut votes: Vec<QuorumVote> = Vec::new();
    for e in trail
        .iter()
        .filter(|e| e.kind == AuditKind::Note && e.channel == QUORUM)
    {
        if !votes.iter().any(|v| v.by == e.actor) {
            let via = e
                .reason
                .strip_prefix("approved via ")
                .and_then(|r| r.split(';').next())
                .unwrap_or_default()
                .to_owned();
            votes.push(QuorumVote {
                by: e.actor.clone(),
                via,
                at: e.at,
            });
        }
    }
    votes
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn steps_recorded_before_of_and_quorum_were_kept_still_read() {
        let id = ActionId::new();
        let old = serde_json::json!({
            "route": "payments", "index": 1, "channel": "slack", "to": "#oncall",
            "ends_at": "2026-01-01T00:00:00Z", "outcome": "timeout", "reason": "no decision within 5 s"
        });
        let mut a = ApprovalAttempt::new(id, 2, LADDER, old);
        a.status = AttemptStatus::Ended;
        let other = ApprovalAttempt::new(id, 1, "telnyx-voice", serde_json::json!({}));
        let steps = ladder_steps(&[other, a]);
        assert_eq!(steps.len(), 1, "only the ladder's attempts");
        let s = &steps[0];
        assert_eq!((s.step, s.of, s.quorum), (2, None, None));
        assert_eq!(
            (s.channel.as_str(), s.status.as_str(), s.outcome.as_deref()),
            ("slack", "ended", Some("timeout"))
        );
    }
}
