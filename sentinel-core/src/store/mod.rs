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
mod lifecycle;
mod record;
mod time;
mod verify;

pub(crate) use lifecycle::{
    apply, change, execution_event, new_record, note_event, received_events, words,
};
pub use record::{ActionRecord, Approval, AuditEvent, AuditKind, Created, Decided, Transition};
pub(crate) use time::{format_time, now, write_time};

/// The most writes a SQL store groups into one transaction by default (config
/// `store.batch_max`, [`SqlStore::with_batch_max`](crate::SqlStore)): see group commit in
/// `docs/store.md`.
pub const DEFAULT_BATCH_MAX: usize = 256;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::action::{Action, ActionId};
use crate::error::StoreError;
use crate::state::State;

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
        action: Action,
        decided: Decided,
    ) -> Result<Created, StoreError> {
        let mut events = match self.create(id, &action).await? {
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
