//! Where an action stands on its ladder, kept in the store as approval attempts of channel
//! [`LADDER`]: one per step started, its state saying which step, until when, and how it
//! ended.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::LADDER;
use super::channel::ChannelKind;
use super::route::Route;
use crate::action::ActionId;
use crate::error::StoreError;
use crate::store::{ApprovalAttempt, AttemptStatus, Store};

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
