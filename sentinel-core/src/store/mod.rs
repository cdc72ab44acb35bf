//! Where actions, decisions, approvals and the audit trail live: the [`Store`] trait and
//! its records. [`MemoryStore`] is the in-process implementation.

mod memory;

pub use memory::MemoryStore;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::action::{Action, ActionId};
use crate::decision::Decision;
use crate::error::StoreError;
use crate::state::State;

/// One action's stored record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActionRecord {
    /// The action's id.
    pub id: ActionId,
    /// The action as submitted.
    pub action: Action,
    /// [`Action::canonical_hash`] at submission; approvals are bound to it.
    pub action_hash: String,
    /// Where the action is in its lifecycle.
    pub state: State,
    /// The gateway's decision, once made.
    pub decision: Option<Decision>,
    /// The human decision, once made.
    pub approval: Option<Approval>,
    /// When the action was received.
    pub created_at: DateTime<Utc>,
    /// When the state last changed.
    pub updated_at: DateTime<Utc>,
    /// When a pending action expires.
    pub deadline: Option<DateTime<Utc>>,
    /// When the guarded function was started (at most once).
    pub executed_at: Option<DateTime<Utc>>,
}

/// A human decision as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Approval {
    /// Approved (`true`) or declined.
    pub approved: bool,
    /// Who decided.
    pub by: String,
    /// Through which channel.
    pub channel: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditKind {
    /// The action changed state.
    Transition,
    /// The guarded function was started.
    Execution,
}

/// One entry of the append-only audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditEvent {
    /// Position in the store's trail, starting at 1.
    pub seq: u64,
    /// What happened.
    pub kind: AuditKind,
    /// The action.
    pub action_id: ActionId,
    /// The acting agent.
    pub agent_id: String,
    /// The action name.
    pub action: String,
    /// The state before (`None` when the action was received).
    pub from: Option<State>,
    /// The state after.
    pub to: State,
    /// Who caused it: `sentinel` for the gateway itself, else the person.
    pub actor: String,
    /// Through which channel: `policy`, `timeout`, `voice/dtmf`, `web`...
    pub channel: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A requested state change, applied atomically by [`Store::transition`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Transition {
    /// The new state.
    pub to: State,
    /// Who causes it.
    pub actor: String,
    /// Through which channel.
    pub channel: String,
    /// Why.
    pub reason: String,
    /// The decision to record with it.
    pub decision: Option<Decision>,
    /// The human decision to record with it.
    pub approval: Option<Approval>,
    /// The deadline to record with it.
    pub deadline: Option<DateTime<Utc>>,
}

impl Transition {
    /// A transition to `to` caused by `actor` through `channel`.
    pub fn new(to: State, actor: impl Into<String>, channel: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            to,
            actor: actor.into(),
            channel: channel.into(),
            reason: reason.into(),
            decision: None,
            approval: None,
            deadline: None,
        }
    }

    /// Records a decision with the transition.
    #[must_use]
    pub fn with_decision(mut self, decision: Decision) -> Self {
        self.decision = Some(decision);
        self
    }

    /// Records a human decision with the transition.
    #[must_use]
    pub fn with_approval(mut self, approval: Approval) -> Self {
        self.approval = Some(approval);
        self
    }

    /// Records a deadline with the transition.
    #[must_use]
    pub fn with_deadline(mut self, deadline: DateTime<Utc>) -> Self {
        self.deadline = Some(deadline);
        self
    }
}

/// The outcome of [`Store::create`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Created {
    /// A new record, in state `RECEIVED`, and its audit event.
    New(ActionRecord, AuditEvent),
    /// The agent's idempotency key was used before for the same action: that record.
    Existing(ActionRecord),
}

/// Durable home of action records and their audit trail.
///
/// Implementations apply each call atomically: a transition checks
/// [`State::can_become`] against the current state and appends its audit event in the same
/// step, so that concurrent resolves of one action have exactly one winner.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a new action in state `RECEIVED`. When the action carries an idempotency key
    /// that this agent used before, returns the earlier record if the canonical action is
    /// the same, else [`StoreError::IdempotencyConflict`].
    async fn create(&self, id: ActionId, action: &Action) -> Result<Created, StoreError>;

    /// The record of an action.
    async fn get(&self, id: ActionId) -> Result<ActionRecord, StoreError>;

    /// Moves an action to a new state, if the lifecycle allows it.
    async fn transition(
        &self,
        id: ActionId,
        transition: Transition,
    ) -> Result<(ActionRecord, AuditEvent), StoreError>;

    /// Marks the guarded function as started. Returns the audit event the first time, for
    /// an action whose state permits execution; `None` on every later call.
    async fn claim_execution(&self, id: ActionId) -> Result<Option<AuditEvent>, StoreError>;

    /// The action's audit trail, oldest first.
    async fn audit_trail(&self, id: ActionId) -> Result<Vec<AuditEvent>, StoreError>;

    /// The most recently received action.
    async fn latest(&self) -> Result<Option<ActionRecord>, StoreError>;

    /// Actions waiting for a human, oldest first.
    async fn pending(&self) -> Result<Vec<ActionRecord>, StoreError>;
}

/// Applies a transition to a record: the lifecycle check shared by every store.
pub(crate) fn apply(
    record: &mut ActionRecord,
    t: &Transition,
    seq: u64,
    now: DateTime<Utc>,
) -> Result<AuditEvent, StoreError> {
    use crate::error::TransitionError;
    let from = record.state;
    if from.is_terminal() {
        return Err(TransitionError::Terminal { id: record.id, state: from }.into());
    }
    if !from.can_become(t.to) {
        return Err(TransitionError::Illegal { id: record.id, from, to: t.to }.into());
    }
    record.state = t.to;
    record.updated_at = now;
    if let Some(d) = &t.decision {
        record.decision = Some(d.clone());
    }
    if let Some(a) = &t.approval {
        record.approval = Some(a.clone());
    }
    if t.deadline.is_some() {
        record.deadline = t.deadline;
    }
    Ok(AuditEvent {
        seq,
        kind: AuditKind::Transition,
        action_id: record.id,
        agent_id: record.action.agent_id.clone(),
        action: record.action.action.clone(),
        from: Some(from),
        to: t.to,
        actor: t.actor.clone(),
        channel: t.channel.clone(),
        reason: t.reason.clone(),
        at: now,
    })
}
