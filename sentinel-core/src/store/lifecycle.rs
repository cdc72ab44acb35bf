//! The lifecycle every store applies alike: transitions checked against the state machine,
//! and the audit events of a received action, an execution and a note (not sealed yet:
//! see [`chain::seal`](super::chain::seal)).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{ActionRecord, AuditEvent, AuditKind, Transition};
use crate::action::{Action, ActionId};
use crate::error::StoreError;
use crate::state::State;

/// Applies a transition to a record: the lifecycle check shared by every store. The event
/// returned is not sealed yet (see [`chain::seal`]).
pub(crate) fn apply(
    record: &mut ActionRecord,
    t: &Transition,
    seq: u64,
    now: DateTime<Utc>,
) -> Result<AuditEvent, StoreError> {
    let from = change(record, t, now)?;
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
        prev_hash: String::new(),
        hash: String::new(),
        state_hash: String::new(),
    })
}

/// What [`apply`] does to the record, without building the event: returns the state the
/// record left.
pub(crate) fn change(
    record: &mut ActionRecord,
    t: &Transition,
    now: DateTime<Utc>,
) -> Result<State, StoreError> {
    use crate::error::TransitionError;
    let from = record.state;
    if from.is_terminal() {
        return Err(TransitionError::Terminal {
            id: record.id,
            state: from,
        }
        .into());
    }
    if !from.can_become(t.to) {
        return Err(TransitionError::Illegal {
            id: record.id,
            from,
            to: t.to,
        }
        .into());
    }
    record.state = t.to;
    record.updated_at = now;
    if let Some(d) = &t.decision {
        record.decision = Some(Arc::clone(d));
    }
    if let Some(a) = &t.approval {
        record.approval = Some(a.clone());
    }
    if t.deadline.is_some() {
        record.deadline = t.deadline;
    }
    Ok(from)
}

/// The gateway's own words in the audit events every store writes alike.
pub(crate) mod words {
    /// The gateway as an actor.
    pub(crate) const GATEWAY: &str = "sentinel";
    /// The channel of `RECEIVED`.
    pub(crate) const SUBMIT: &str = "submit";
    /// The channel of `ANALYZING`.
    pub(crate) const POLICY: &str = "policy";
    /// The channel of an execution.
    pub(crate) const GUARD: &str = "guard";
    /// The reason of an execution.
    pub(crate) const STARTED: &str = "guarded function started";
}

/// The audit events of a newly received action (not sealed yet): `RECEIVED` (by the agent)
/// and `ANALYZING` (by the gateway), at `first_seq` and the next.
pub(crate) fn received_events(
    first_seq: u64,
    id: ActionId,
    action: &Action,
    now: DateTime<Utc>,
) -> [AuditEvent; 2] {
    let received = AuditEvent {
        seq: first_seq,
        kind: AuditKind::Transition,
        action_id: id,
        agent_id: action.agent_id.clone(),
        action: action.action.clone(),
        from: None,
        to: State::Received,
        actor: action.agent_id.clone(),
        channel: words::SUBMIT.to_owned(),
        reason: String::new(),
        at: now,
        prev_hash: String::new(),
        hash: String::new(),
        state_hash: String::new(),
    };
    let analyzing = AuditEvent {
        seq: first_seq + 1,
        kind: AuditKind::Transition,
        action_id: id,
        agent_id: action.agent_id.clone(),
        action: action.action.clone(),
        from: Some(State::Received),
        to: State::Analyzing,
        actor: words::GATEWAY.to_owned(),
        channel: words::POLICY.to_owned(),
        reason: String::new(),
        at: now,
        prev_hash: String::new(),
        hash: String::new(),
        state_hash: String::new(),
    };
    [received, analyzing]
}

/// The audit event of a guarded function starting (not sealed yet).
pub(crate) fn execution_event(seq: u64, record: &ActionRecord, now: DateTime<Utc>) -> AuditEvent {
    AuditEvent {
        seq,
        kind: AuditKind::Execution,
        action_id: record.id,
        agent_id: record.action.agent_id.clone(),
        action: record.action.action.clone(),
        from: Some(record.state),
        to: record.state,
        actor: record.action.agent_id.clone(),
        channel: words::GUARD.to_owned(),
        reason: words::STARTED.to_owned(),
        at: now,
        prev_hash: String::new(),
        hash: String::new(),
        state_hash: String::new(),
    }
}

/// The audit event of a note about an action (not sealed yet).
pub(crate) fn note_event(
    seq: u64,
    record: &ActionRecord,
    actor: &str,
    channel: &str,
    text: &str,
    now: DateTime<Utc>,
) -> AuditEvent {
    AuditEvent {
        kind: AuditKind::Note,
        actor: actor.to_owned(),
        channel: channel.to_owned(),
        reason: text.to_owned(),
        ..execution_event(seq, record, now)
    }
}

/// A new record, received and being analyzed.
pub(crate) fn new_record(
    id: ActionId,
    action: Action,
    hash: String,
    now: DateTime<Utc>,
) -> ActionRecord {
    ActionRecord {
        id,
        action: Arc::new(action),
        action_hash: hash,
        state: State::Analyzing,
        decision: None,
        approval: None,
        created_at: now,
        updated_at: now,
        deadline: None,
        executed_at: None,
    }
}
