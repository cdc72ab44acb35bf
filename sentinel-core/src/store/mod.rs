//! Where actions, decisions, approvals and the audit trail live: the [`Store`] trait and
//! its records. [`MemoryStore`] is the in-process implementation.

pub mod attempt;
pub mod budget;
pub mod chain;
pub mod checkpoint;
mod memory;
pub mod query;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;

pub use attempt::{ApprovalAttempt, AttemptStatus};
pub use budget::{BudgetDemand, WindowFigure};
pub use memory::{DEFAULT_CAPACITY as DEFAULT_MEMORY_CAPACITY, MemoryStore};
pub use query::{ActionPage, ActionQuery, StateCount};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::{BatchStats, SqlStore};
pub use verify::{AuditReport, verify_audit};
mod verify;

/// The most writes a SQL store groups into one transaction by default (config
/// `store.batch_max`, [`SqlStore::with_batch_max`](crate::SqlStore)): see group commit in
/// `docs/store.md`.
pub const DEFAULT_BATCH_MAX: usize = 256;

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
    /// Hash of the previous event of the store ([`chain::GENESIS`] for the first).
    pub prev_hash: String,
    /// Hash of this event: see [`chain::event_hash`].
    pub hash: String,
    /// [`chain::record_digest`] of the action's record as this event left it, binding the
    /// stored state, decision and approval to the chain (SQL stores; empty in the memory
    /// store and in events written before it existed).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state_hash: String,
}

/// Times as stored and hashed: RFC 3339, UTC, microseconds.
pub(crate) fn format_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// [`format_time`] into `buf`, without allocating (each audit event's hash reads its time):
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`. Years outside 0..=9999 and leap seconds, which chrono
/// writes otherwise, are left to chrono.
pub(crate) fn write_time(at: DateTime<Utc>, buf: &mut [u8; 27]) -> std::borrow::Cow<'_, str> {
    use chrono::{Datelike, Timelike};
    let nanos = at.nanosecond();
    if !(0..=9999).contains(&at.year()) || nanos >= 1_000_000_000 {
        return std::borrow::Cow::Owned(format_time(at));
    }
    let mut put = |at: usize, n: u32, width: usize| {
        let mut n = n;
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, at.year().unsigned_abs(), 4);
    put(5, at.month(), 2);
    put(8, at.day(), 2);
    put(11, at.hour(), 2);
    put(14, at.minute(), 2);
    put(17, at.second(), 2);
    put(20, nanos / 1_000, 6);
    for (i, c) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (26, b'Z'),
    ] {
        buf[i] = c;
    }
    // Only ASCII digits and separators were written.
    std::borrow::Cow::Borrowed(std::str::from_utf8(buf).unwrap_or_default())
}

/// The current time, at the precision stores keep (microseconds), so that a record reads
/// back exactly as it was hashed.
pub(crate) fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
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
    /// A new record, in state `ANALYZING`, and its audit events (`RECEIVED`, `ANALYZING`).
    New(ActionRecord, Vec<AuditEvent>),
    /// The agent's idempotency key was used before for the same action: that record.
    Existing(ActionRecord),
}

/// A new action's decision, recorded together with the action by
/// [`Store::create_decided`] (the one write of an auto-approved `guard`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Decided {
    /// When the gateway received the action (before deciding): the record's `created_at`
    /// and the time of its `RECEIVED` and `ANALYZING` events.
    pub received_at: DateTime<Utc>,
    /// The decision's transition out of `ANALYZING` (to `EXECUTED`, `BLOCKED_AWAITING_AUTH`
    /// or `DECLINED`), with the decision and deadline to record.
    pub transition: Transition,
    /// Also claim the single execution ([`Store::claim_execution`]) when the new state
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

/// Durable home of action records and their audit trail.
///
/// Implementations apply each call atomically: a transition checks
/// [`State::can_become`] against the current state and appends its audit event in the same
/// step, so that concurrent resolves of one action have exactly one winner.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a new action, received and handed to analysis (state `ANALYZING`, with the
    /// audit events `RECEIVED` and `ANALYZING`: one write). When the action carries an idempotency key
    /// that this agent used before, returns the earlier record if the canonical action is
    /// the same, else [`StoreError::IdempotencyConflict`].
    async fn create(&self, id: ActionId, action: &Action) -> Result<Created, StoreError>;

    /// Stores a new action together with its decision in one atomic write: what
    /// [`create`](Self::create), [`transition`](Self::transition) (with
    /// `decided.transition`) and, when `decided.claim_execution` is set and the new state
    /// permits execution, [`claim_execution`](Self::claim_execution) record one after the
    /// other, with the same audit events in the same order (`RECEIVED`, `ANALYZING`, the
    /// decision, then the execution), sealed onto the chain like theirs.
    ///
    /// Returns [`Created::New`] with the record as the write left it (`executed_at` set
    /// when claimed) and those events (none, when the store honours
    /// `decided.events == false`), or, for an idempotency key used before,
    /// [`Created::Existing`] with nothing written (or
    /// [`StoreError::IdempotencyConflict`], as `create` does). A transition the lifecycle
    /// refuses fails the whole call, leaving nothing written.
    ///
    /// The default composes the three calls (three writes, not atomic: a failure after
    /// `create` leaves the action `ANALYZING` for the recovery sweep, as a gateway dying
    /// between the calls would, and `created_at` is the time of the `create`); the
    /// [`MemoryStore`] writes once under one lock. Stores that batch writes should
    /// implement it as one entry of their batch.
    async fn create_decided(
        &self,
        id: ActionId,
        action: &Action,
        decided: Decided,
    ) -> Result<Created, StoreError> {
        let mut events = match self.create(id, action).await? {
            Created::Existing(record) => return Ok(Created::Existing(record)),
            Created::New(_, events) => events,
        };
        let (mut record, event) = self.transition(id, decided.transition).await?;
        events.push(event);
        if decided.claim_execution
            && record.state.permits_execution()
            && let Some(event) = self.claim_execution(id).await?
        {
            record.executed_at = Some(event.at);
            events.push(event);
        }
        Ok(Created::New(record, events))
    }

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

    /// Appends a note (see [`AuditKind::Note`]) to an action's trail; the state does not
    /// change.
    async fn append_note(
        &self,
        id: ActionId,
        actor: &str,
        channel: &str,
        text: &str,
    ) -> Result<AuditEvent, StoreError>;

    /// The action's audit trail, oldest first.
    async fn audit_trail(&self, id: ActionId) -> Result<Vec<AuditEvent>, StoreError>;

    /// The most recently received action.
    async fn latest(&self) -> Result<Option<ActionRecord>, StoreError>;

    /// Actions in any of `states`, oldest first.
    async fn in_states(&self, states: &[State]) -> Result<Vec<ActionRecord>, StoreError>;

    /// Takes over the decision of an action left `RECEIVED` or `ANALYZING` since before
    /// `stale_before` (its process died or gave up): atomically marks it as being decided
    /// now, so that other processes sweeping the same store pass it by, and returns true.
    /// False when the action moved on, or another process took it first.
    async fn claim_stale(
        &self,
        id: ActionId,
        stale_before: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Actions waiting for a human, oldest first.
    async fn pending(&self) -> Result<Vec<ActionRecord>, StoreError> {
        self.in_states(&[State::BlockedAwaitingAuth, State::QnaMode])
            .await
    }

    /// Up to `limit` events of the whole audit log with `seq > after`, in `seq` order (for
    /// verifying the hash chain with [`chain::verify`]).
    async fn audit_log(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>, StoreError>;

    /// Where the kept audit log starts when the store no longer keeps its beginning: the
    /// `seq` and hash of the last record it let go (the bounded [`MemoryStore`]). `None`:
    /// the log is whole, from the genesis hash.
    async fn audit_anchor(&self) -> Result<Option<(u64, String)>, StoreError> {
        Ok(None)
    }

    /// The chain head as the store keeps it apart from the log (`seq` and hash of the last
    /// record written), so that a log whose last records were removed is caught. `None`
    /// when the store keeps no separate head.
    async fn audit_head(&self) -> Result<Option<(u64, String)>, StoreError> {
        Ok(None)
    }

    /// Up to `limit` action records with an id after `after`, in id order (for checking
    /// every record against its trail).
    async fn records_page(
        &self,
        after: Option<ActionId>,
        limit: usize,
    ) -> Result<Vec<ActionRecord>, StoreError>;

    /// One page of the actions `query` finds, newest first (history views). The default
    /// reads every record through [`records_page`](Self::records_page); both stores of
    /// this crate answer in the database.
    async fn find_actions(&self, query: &ActionQuery) -> Result<ActionPage, StoreError> {
        query::scan(self, query).await
    }

    /// Actions received at or after `since`, counted per state (states with none left
    /// out).
    async fn count_since(&self, since: DateTime<Utc>) -> Result<Vec<StateCount>, StoreError> {
        let query = ActionQuery {
            since: Some(since),
            ..ActionQuery::default()
        };
        let found = query::matching(self, &query).await?;
        Ok(query::count(found.iter(), since))
    }

    /// True when the store lets old records go (the bounded [`MemoryStore`]): a trail
    /// without its record is then not tampering.
    fn is_bounded(&self) -> bool {
        false
    }

    /// Writes a checkpoint of the chain head (see [`checkpoint`]), signed when `key` is
    /// given; `None` when nothing was written since the last one, or when the store keeps
    /// no checkpoints.
    async fn write_checkpoint(
        &self,
        key: Option<&checkpoint::AuditKey>,
    ) -> Result<Option<checkpoint::Checkpoint>, StoreError> {
        let _ = key;
        Ok(None)
    }

    /// The checkpoints written, oldest first.
    async fn checkpoints(&self) -> Result<Vec<checkpoint::Checkpoint>, StoreError> {
        Ok(Vec::new())
    }

    /// Ids of actions changed by other processes sharing this store, as they change, when
    /// the store can tell (PostgreSQL `LISTEN`); `None` otherwise (waiters then re-check
    /// periodically).
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<ActionId>> {
        None
    }

    /// True when the store keeps [approval attempts](attempt) (the methods below). Both
    /// stores of this crate do; a store that does not leaves approvers to keep their state
    /// in memory, as before attempts existed.
    fn keeps_attempts(&self) -> bool {
        false
    }

    /// Makes attempt `attempt.seq` of its action (status, ids and state as given), unless
    /// the action already has an attempt with that number: then `None`, and nothing is
    /// written. Atomic, so of several processes making the same next attempt exactly one
    /// gets it back (stored, at version 1). Fails when the action is unknown or an
    /// external id already names another attempt of the channel.
    async fn insert_attempt(
        &self,
        attempt: &ApprovalAttempt,
    ) -> Result<Option<ApprovalAttempt>, StoreError> {
        let _ = attempt;
        Err(no_attempts())
    }

    /// Writes `attempt`'s status, state and new external ids if the stored attempt is still
    /// at `attempt.version`; returns it as stored (the next version). `None` when another
    /// writer changed it first: read it again and redo the change on what it says.
    async fn update_attempt(
        &self,
        attempt: &ApprovalAttempt,
    ) -> Result<Option<ApprovalAttempt>, StoreError> {
        let _ = attempt;
        Err(no_attempts())
    }

    /// The action's approval attempts, oldest (lowest `seq`) first.
    async fn attempts(&self, action_id: ActionId) -> Result<Vec<ApprovalAttempt>, StoreError> {
        let _ = action_id;
        Err(no_attempts())
    }

    /// The attempt of `channel` that `external_id` names (e.g. a call by its
    /// `call_control_id`).
    async fn find_attempt(
        &self,
        channel: &str,
        external_id: &str,
    ) -> Result<Option<ApprovalAttempt>, StoreError> {
        let _ = (channel, external_id);
        Err(no_attempts())
    }

    /// Reserves `id`'s share of each budget it counts towards and returns, per demand in
    /// order, what the window (ending at `at`) held before: the other actions' entries.
    /// Atomic over all demands, also across processes sharing the store, so that two
    /// actions never both see room that only one of them fits. Reserving again for the same
    /// action adds nothing. Stores that keep no [budget ledger](budget) fail, and budget
    /// conditions then fail closed.
    async fn reserve_budgets(
        &self,
        id: ActionId,
        demands: &[BudgetDemand],
        at: DateTime<Utc>,
    ) -> Result<Vec<WindowFigure>, StoreError> {
        let _ = (id, demands, at);
        Err(budget::no_budgets())
    }

    /// What each budget's window (ending at `at`) holds besides `id`'s entries, without
    /// reserving anything (for decisions that record nothing, such as `evaluate`).
    async fn budget_figures(
        &self,
        id: ActionId,
        demands: &[BudgetDemand],
        at: DateTime<Utc>,
    ) -> Result<Vec<WindowFigure>, StoreError> {
        let _ = (id, demands, at);
        Err(budget::no_budgets())
    }

    /// Removes `id`'s budget entries: the action ended without running.
    async fn release_budgets(&self, id: ActionId) -> Result<(), StoreError> {
        let _ = id;
        Err(budget::no_budgets())
    }
}

fn no_attempts() -> StoreError {
    StoreError::Backend("this store keeps no approval attempts".to_owned())
}

/// Checks a store's whole audit log without an audit key (see [`verify_audit`]). Returns
/// the number of records checked.
pub async fn verify_audit_log(
    store: &dyn Store,
) -> Result<Result<u64, chain::ChainBreak>, StoreError> {
    Ok(verify_audit(store, None)
        .await?
        .map(|report| report.records))
}

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
        record.decision = Some(d.clone());
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
    action: &Action,
    hash: String,
    now: DateTime<Utc>,
) -> ActionRecord {
    ActionRecord {
        id,
        action: action.clone(),
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

#[cfg(test)]
mod time_tests {
    use chrono::{DateTime, TimeZone, Utc};

    use super::{format_time, write_time};

    #[test]
    fn written_times_are_chronos_byte_for_byte() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut times: Vec<DateTime<Utc>> = vec![
            Utc.timestamp_opt(0, 0).unwrap(),
            Utc.timestamp_opt(-62_167_219_200, 0).unwrap(), // 0000-01-01
            Utc.timestamp_opt(253_402_300_799, 999_999_999).unwrap(), // 9999-12-31
            Utc.timestamp_opt(253_402_300_800, 0).unwrap(), // 10000: chrono's own form
            Utc.timestamp_opt(-62_167_219_201, 0).unwrap(), // -0001: chrono's own form
            Utc.timestamp_opt(1_483_228_799, 1_500_000_000).unwrap(), // a leap second
            super::now(),
        ];
        for _ in 0..10_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let secs = (seed % 400_000_000_000) as i64 - 62_000_000_000;
            let nanos = ((seed >> 20) % 1_000_000_000) as u32;
            times.push(Utc.timestamp_opt(secs, nanos).unwrap());
        }
        for at in times {
            assert_eq!(write_time(at, &mut [0; 27]), format_time(at), "{at:?}");
        }
    }
}
