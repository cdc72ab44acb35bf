//! What stores keep: action records, human approvals, audit events, and the writes that
//! change them (transitions, new actions with their decision).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::action::{Action, ActionId};
use crate::decision::Decision;
use crate::state::State;

/// One action's stored record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActionRecord {
    /// The action's id.
    pub id: ActionId,
    /// The action as submitted; shared, like the decision, so that copying the record
    /// does not copy the action (its payload, its strings).
    pub action: Arc<Action>,
    /// [`Action::canonical_hash`] at submission; approvals are bound to it.
    pub action_hash: String,
    /// Where the action is in its lifecycle.
    pub state: State,
    /// The gateway's decision, once made; shared, so that copies of the record (a store's
    /// and its caller's) do not copy it.
    pub decision: Option<Arc<Decision>>,
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
    /// The receipt: [`Action::canonical_hash`] of the action that was approved.
    pub action_hash: String,
    /// The receipt: the packs (versions and content hashes) the decision was made under.
    pub packs: Vec<crate::decision::PackRef>,
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
    /// Something said or done about a pending action without changing its state: a
    /// question the approver asked and the answer it heard.
    Note,
}

impl AuditKind {
    /// The wire name: `transition`, `execution` or `note`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Transition => "transition",
            AuditKind::Execution => "execution",
            AuditKind::Note => "note",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        [AuditKind::Transition, AuditKind::Execution, AuditKind::Note]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
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
    /// Hash of the previous event of the store ([`chain::GENESIS`](super::chain::GENESIS) for the first).
    pub prev_hash: String,
    /// Hash of this event: see [`chain::event_hash`](super::chain::event_hash).
    pub hash: String,
    /// [`chain::record_digest`](super::chain::record_digest) of the action's record as this event left it, binding the
    /// stored state, decision and approval to the chain (SQL stores; empty in the memory
    /// store and in events written before it existed).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state_hash: String,
}

/// A requested state change, applied atomically by [`Store::transition`](super::Store::transition).
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
    /// The decision to record with it (shared with the record it goes into).
    pub decision: Option<Arc<Decision>>,
    /// The human decision to record with it.
    pub approval: Option<Approval>,
    /// The deadline to record with it.
    pub deadline: Option<DateTime<Utc>>,
}

impl Transition {
    /// A transition to `to` caused by `actor` through `channel`.
    pub fn new(
        to: State,
        actor: impl Into<String>,
        channel: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
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

    /// Records a decision with the transition. What only the deciding process holds (the
    /// scorer's error and the exception behind it) is not recorded, so a store never keeps
    /// a caller's objects alive.
    #[must_use]
    pub fn with_decision(mut self, mut decision: Decision) -> Self {
        decision.scorer_failure = None;
        self.decision = Some(Arc::new(decision));
        self
    }

    /// [`with_decision`](Self::with_decision) of a decision shared with the caller, who
    /// took the scorer's error out of it.
    pub(crate) fn with_shared_decision(mut self, decision: Arc<Decision>) -> Self {
        debug_assert!(
            decision.scorer_failure.is_none(),
            "a recorded decision keeps no scorer error"
        );
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

/// The outcome of [`Store::create`](super::Store::create).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Created {
    /// A new record, in state `ANALYZING`, and its audit events (`RECEIVED`, `ANALYZING`).
    New(ActionRecord, Vec<AuditEvent>),
    /// The agent's idempotency key was used before for the same action: that record.
    Existing(ActionRecord),
}

/// A new action's decision, recorded together with the action by
/// [`Store::create_decided`](super::Store::create_decided) (the one write of an auto-approved `guard`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Decided {
    /// When the gateway received the action (before deciding): the record's `created_at`
    /// and the time of its `RECEIVED` and `ANALYZING` events.
    pub received_at: DateTime<Utc>,
    /// The decision's transition out of `ANALYZING` (to `EXECUTED`, `BLOCKED_AWAITING_AUTH`
    /// or `DECLINED`), with the decision and deadline to record.
    pub transition: Transition,
    /// Also claim the single execution ([`Store::claim_execution`](super::Store::claim_execution)) when the new state
    /// permits it: the guarded function is about to run.
    pub claim_execution: bool,
    /// Return the audit events written in [`Created::New`] (the default). When false the
    /// store may leave them out, sparing their copies (the gateway asks for them only when
    /// someone subscribed to its events); what it writes is the same either way.
    pub events: bool,
}

impl Decided {
    /// The decision `transition` of an action received at `received_at`; `claim_execution`
    /// as the field says.
    pub fn new(received_at: DateTime<Utc>, transition: Transition, claim_execution: bool) -> Self {
        Self {
            received_at,
            transition,
            claim_execution,
            events: true,
        }
    }

    /// Sets [`events`](Self::events): whether the caller wants the events written back.
    #[must_use]
    pub fn with_events(mut self, events: bool) -> Self {
        self.events = events;
        self
    }
}
