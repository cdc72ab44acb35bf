//! Group commit: every write of a [`SqlStore`](super::SqlStore) (a new action with its
//! audit events, a transition, an execution claim, a note) goes to one writer task per
//! store, which takes whatever is waiting (up to the batch cap) and writes it in one
//! transaction: the chain head is locked once, the records and events are written with a
//! few multi-row statements, and one commit (one fsync) makes the whole batch durable.
//! Each caller is answered only after its batch has committed.
//!
//! Within a batch the writes are applied in the order they arrived, each against what the
//! writes before it left (a transition sees the state an earlier write of the batch set), so
//! the outcome is the one the same writes would have had one transaction each: the chain is
//! extended in that order, the lifecycle and idempotency checks give the same answers.
//! A write those checks refuse (an illegal transition, an unknown action, an idempotency
//! conflict, a second execution claim) writes nothing and is answered alone; its neighbours
//! go on.
//!
//! When the database refuses the batch's statements after the head was locked (which no
//! write of this store should cause: one write's fault would then sink the others), the
//! batch is rolled back and its writes are retried one transaction each, so that only the
//! faulty one fails. When the database cannot be reached, the head cannot be locked, or the
//! commit fails, every caller of the batch gets the error (fail closed: nothing was
//! acknowledged, and a commit that failed may not be retried blindly), and so do the
//! writes queued behind it meanwhile, at once, rather than one lock timeout after another.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::CHANNEL;
use super::rows::{self, ACTION_COLUMNS, AUDIT_COLUMNS, backend, opt_time_text, to_json};
use crate::action::{Action, ActionId};
use crate::error::StoreError;
use crate::store::chain::{record_digest, seal};
use crate::store::{
    ActionRecord, AuditEvent, Created, Decided, Transition, apply, execution_event, format_time,
    new_record, note_event, now, received_events,
};

use crate::store::DEFAULT_BATCH_MAX;

/// Writes waiting for the writer at most; further callers wait for room.
const QUEUE: usize = 4096;

/// Rows per multi-row `INSERT` (14 parameters each for audit events: well under the
/// parameter limits of SQLite and PostgreSQL).
const ROWS_PER_INSERT: usize = 200;

/// One write, as a caller asks for it.
#[derive(Debug)]
pub(super) enum Op {
    Create {
        id: ActionId,
        action: Box<Action>,
    },
    /// [`Store::create_decided`](crate::store::Store::create_decided): one entry of the
    /// batch.
    CreateDecided {
        id: ActionId,
        action: Box<Action>,
        decided: Box<Decided>,
    },
    Transition {
        id: ActionId,
        transition: Box<Transition>,
    },
    Claim {
        id: ActionId,
    },
    Note {
        id: ActionId,
        actor: String,
        channel: String,
        text: String,
    },
}

/// What a write did, per kind of [`Op`].
#[derive(Debug)]
pub(super) enum Done {
    Created(Box<Created>),
    Transitioned(Box<(ActionRecord, AuditEvent)>),
    Claimed(Option<AuditEvent>),
    Noted(AuditEvent),
}

struct Job {
    op: Op,
    reply: oneshot::Sender<Result<Done, StoreError>>,
}

/// How much a store's writer grouped: transactions committed and the writes in them
/// ([`SqlStore::batch_stats`](super::SqlStore::batch_stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchStats {
    /// Transactions committed (one fsync each).
    pub batches: u64,
    /// Writes made durable by them (each caller's create, transition, claim or note).
    pub writes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    writes: AtomicU64,
}

/// The handle of a store's writer task; clones share it. The task ends when the last
/// handle is dropped, after the writes already queued.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
    batch_max: Arc<AtomicUsize>,
    counters: Arc<Counters>,
}

fn stopped() -> StoreError {
    StoreError::Backend("the store's writer stopped (its runtime shut down)".to_owned())
}

impl Writer {
    /// Starts the writer task on the current tokio runtime.
    pub(super) fn spawn(pool: AnyPool, postgres: bool) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let batch_max = Arc::new(AtomicUsize::new(DEFAULT_BATCH_MAX));
        let counters = Arc::new(Counters::default());
        tokio::spawn(run(
            pool,
            postgres,
            queue,
            Arc::clone(&batch_max),
            Arc::clone(&counters),
        ));
        Self {
            jobs,
            batch_max,
            counters,
        }
    }

    /// What the writer grouped so far.
    pub(super) fn stats(&self) -> BatchStats {
        BatchStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            writes: self.counters.writes.load(Ordering::Relaxed),
        }
    }

    /// Caps the writes per transaction (at least 1; 1 turns group commit off).
    pub(super) fn set_batch_max(&self, max: usize) {
        self.batch_max.store(max.max(1), Ordering::Relaxed);
    }

    /// The cap on writes per transaction.
    pub(super) fn batch_max(&self) -> usize {
        self.batch_max.load(Ordering::Relaxed)
    }

    /// Queues `op` and waits until its batch has committed (or failed).
    pub(super) async fn write(&self, op: Op) -> Result<Done, StoreError> {
        let (reply, done) = oneshot::channel();
        self.jobs
            .send(Job { op, reply })
            .await
            .map_err(|_| stopped())?;
        done.await.map_err(|_| stopped())?
    }
}

async fn run(
    pool: AnyPool,
    postgres: bool,
    mut queue: mpsc::Receiver<Job>,
    batch_max: Arc<AtomicUsize>,
    counters: Arc<Counters>,
) {
    while let Some(first) = queue.recv().await {
        let max = batch_max.load(Ordering::Relaxed).max(1);
        let mut jobs = vec![first];
        // The batch closes when nothing more is waiting, or at the cap.
        while jobs.len() < max {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (ops, replies): (Vec<Op>, Vec<_>) = jobs.into_iter().map(|j| (j.op, j.reply)).unzip();
        let (outcomes, unavailable) = commit(&pool, postgres, &ops, &counters).await;
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // A caller that went away: its write is durable all the same.
            let _ = reply.send(outcome);
        }
        if let Some(e) = unavailable {
            // The writes that queued up meanwhile would each wait for the same database in
            // turn, one timeout after another: they fail now, with the same error.
            while let Ok(job) = queue.try_recv() {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
    }
}

/// Why a batch did not commit.
enum Failure {
    /// Before the head was locked, or at commit: every caller fails.
    Whole(StoreError),
    /// In the batch's statements: worth retrying the writes one by one.
    Statements(StoreError),
}

/// Writes `ops` in one transaction; on a statement failure, each in a transaction of its
/// own. One outcome per op, in order, and the error when the database could not be used
/// at all (unreachable, locked past its timeout, or the commit failed).
async fn commit(
    pool: &AnyPool,
    postgres: bool,
    ops: &[Op],
    counters: &Counters,
) -> (Vec<Result<Done, StoreError>>, Option<StoreError>) {
    let all: Vec<&Op> = ops.iter().collect();
    let outcomes = match write_batch(pool, postgres, &all, counters).await {
        Ok(outcomes) => outcomes,
        Err(Failure::Statements(e)) if ops.len() > 1 => {
            tracing::warn!(error = %e, writes = ops.len(), "a batch of store writes failed; retrying them one by one");
            let mut outcomes = Vec::with_capacity(ops.len());
            for op in ops {
                outcomes.push(match write_batch(pool, postgres, &[op], counters).await {
                    Ok(mut one) => one.pop().unwrap_or_else(|| Err(backend("no outcome"))),
                    Err(Failure::Whole(e) | Failure::Statements(e)) => Err(e),
                });
            }
            outcomes
        }
        Err(Failure::Statements(e)) => vec![Err(e)],
        Err(Failure::Whole(e)) => {
            return (ops.iter().map(|_| Err(e.clone())).collect(), Some(e));
        }
    };
    (outcomes, None)
}

/// What a batch leaves to be written, built in memory from the records it read.
#[derive(Default)]
struct Pending {
    /// Every record the batch read or made, by id.
    records: HashMap<ActionId, ActionRecord>,
    /// Records made by the batch, in order (inserted with their final content).
    created: Vec<ActionId>,
    /// Existing records the batch changed, in order of first change.
    changed: Vec<ActionId>,
    changed_set: HashSet<ActionId>,
    /// `(agent_id, idempotency_key)` → the action holding it (stored or made by the batch).
    keys: HashMap<(String, String), ActionId>,
    /// The events, sealed, in chain order.
    events: Vec<AuditEvent>,
    seq: u64,
    prev: String,
}

impl Pending {
    fn append(&mut self, mut event: AuditEvent, digest: String) -> AuditEvent {
        self.seq += 1;
        event.seq = self.seq;
        event.state_hash = digest;
        let event = seal(event, &self.prev);
        self.prev.clone_from(&event.hash);
        self.events.push(event.clone());
        event
    }

    fn mark_changed(&mut self, id: ActionId) {
        if !self.created.contains(&id) && self.changed_set.insert(id) {
            self.changed.push(id);
        }
    }

    fn apply(&mut self, op: &Op) -> Result<Done, StoreError> {
        match op {
            Op::Create { id, action } => self.create(*id, action),
            Op::CreateDecided {
                id,
                action,
                decided,
            } => self.create_decided(*id, action, decided),
            Op::Transition { id, transition } => {
                let record = self.records.get_mut(id).ok_or(StoreError::NotFound(*id))?;
                let event = apply(record, transition, 0, now())?;
                let record = record.clone();
                let event = self.append(event, record_digest(&record));
                self.mark_changed(*id);
                Ok(Done::Transitioned(Box::new((record, event))))
            }
            Op::Claim { id } => {
                let record = self.records.get_mut(id).ok_or(StoreError::NotFound(*id))?;
                if record.executed_at.is_some() || !record.state.permits_execution() {
                    return Ok(Done::Claimed(None));
                }
                let at = now();
                record.executed_at = Some(at);
                let event = execution_event(0, record, at);
                let digest = record_digest(record);
                let event = self.append(event, digest);
                self.mark_changed(*id);
                Ok(Done::Claimed(Some(event)))
            }
            Op::Note {
                id,
                actor,
                channel,
                text,
            } => {
                let record = self.records.get(id).ok_or(StoreError::NotFound(*id))?;
                let event = note_event(0, record, actor, channel, text, now());
                let digest = record_digest(record);
                Ok(Done::Noted(self.append(event, digest)))
            }
        }
    }

    /// The record an action's idempotency key already names (`Some(Ok(Existing))`), or the
    /// conflict; `None` when the key is free (or there is none).
    fn held(&self, action: &Action, hash: &str) -> Option<Result<Done, StoreError>> {
        let key = action.idempotency_key.as_ref()?;
        let held = self.keys.get(&(action.agent_id.clone(), key.clone()))?;
        let record = self.records.get(held)?;
        Some(if record.action_hash == hash {
            Ok(Done::Created(Box::new(Created::Existing(record.clone()))))
        } else {
            Err(StoreError::IdempotencyConflict {
                key: key.clone(),
                existing: record.id,
            })
        })
    }

    /// Records a made action: its idempotency key, its place in the batch.
    fn made(&mut self, action: &Action, record: &ActionRecord) {
        if let Some(key) = &action.idempotency_key {
            self.keys
                .insert((action.agent_id.clone(), key.clone()), record.id);
        }
        self.created.push(record.id);
        self.records.insert(record.id, record.clone());
    }

    /// `create`, `transition` and (when asked and permitted) `claim_execution` at once, with
    /// their events in that order; a refused transition writes nothing.
    fn create_decided(
        &mut self,
        id: ActionId,
        action: &Action,
        decided: &Decided,
    ) -> Result<Done, StoreError> {
        let hash = action.canonical_hash();
        if let Some(done) = self.held(action, &hash) {
            return done;
        }
        if self.records.contains_key(&id) {
            return Err(StoreError::Backend(format!("action `{id}` already exists")));
        }
        let received = new_record(id, action, hash, decided.received_at);
        let mut record = received.clone();
        let decision = apply(&mut record, &decided.transition, 0, now())?;
        let digest = record_digest(&received);
        let mut events: Vec<AuditEvent> = received_events(0, id, action, decided.received_at)
            .map(|event| self.append(event, digest.clone()))
            .to_vec();
        events.push(self.append(decision, record_digest(&record)));
        if decided.claim_execution && record.state.permits_execution() {
            let at = now();
            record.executed_at = Some(at);
            let execution = execution_event(0, &record, at);
            events.push(self.append(execution, record_digest(&record)));
        }
        self.made(action, &record);
        Ok(Done::Created(Box::new(Created::New(record, events))))
    }

    fn create(&mut self, id: ActionId, action: &Action) -> Result<Done, StoreError> {
        let hash = action.canonical_hash();
        if let Some(done) = self.held(action, &hash) {
            return done;
        }
        if self.records.contains_key(&id) {
            return Err(StoreError::Backend(format!("action `{id}` already exists")));
        }
        let at = now();
        let record = new_record(id, action, hash, at);
        let digest = record_digest(&record);
        let events = received_events(0, id, action, at)
            .map(|event| self.append(event, digest.clone()))
            .to_vec();
        self.made(action, &record);
        Ok(Done::Created(Box::new(Created::New(record, events))))
    }

    fn writes_nothing(&self) -> bool {
        self.events.is_empty() && self.created.is_empty() && self.changed.is_empty()
    }
}

/// `($1, $2, ...), (...)`: `rows` tuples of `cols` placeholders.
fn placeholders(rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(r * cols + c + 1).to_string());
        }
        out.push(')');
    }
    out
}

async fn write_batch(
    pool: &AnyPool,
    postgres: bool,
    ops: &[&Op],
    counters: &Counters,
) -> Result<Vec<Result<Done, StoreError>>, Failure> {
    let mut tx = pool.begin().await.map_err(|e| Failure::Whole(backend(e)))?;
    // The head, locked for the whole batch (on SQLite this first write takes the
    // database's write lock, before anything is read).
    let row: AnyRow = sqlx::query(
        "UPDATE sentinel_chain SET last_seq = last_seq WHERE id = 1 RETURNING last_seq, last_hash",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| Failure::Whole(backend(e)))?;
    let stmt = |e: StoreError| Failure::Statements(e);
    let seq: i64 = sqlx::Row::try_get(&row, "last_seq").map_err(|e| Failure::Whole(backend(e)))?;
    let mut pending = Pending {
        seq: u64::try_from(seq).map_err(|e| Failure::Whole(backend(e)))?,
        prev: sqlx::Row::try_get(&row, "last_hash").map_err(|e| Failure::Whole(backend(e)))?,
        ..Pending::default()
    };
    load(&mut tx, ops, &mut pending).await.map_err(stmt)?;
    let outcomes: Vec<Result<Done, StoreError>> = ops.iter().map(|op| pending.apply(op)).collect();
    if pending.writes_nothing() {
        tx.rollback()
            .await
            .map_err(|e| Failure::Whole(backend(e)))?;
        return Ok(outcomes);
    }
    store(&mut tx, postgres, &pending).await.map_err(stmt)?;
    tx.commit().await.map_err(|e| Failure::Whole(backend(e)))?;
    counters.batches.fetch_add(1, Ordering::Relaxed);
    let written = outcomes.iter().filter(|o| o.is_ok()).count();
    counters.writes.fetch_add(
        u64::try_from(written).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    Ok(outcomes)
}

/// Reads the records the batch's writes touch, and the holders of the idempotency keys its
/// new actions carry.
async fn load(
    tx: &mut Transaction<'static, Any>,
    ops: &[&Op],
    pending: &mut Pending,
) -> Result<(), StoreError> {
    let mut ids: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for op in ops {
        let id = match op {
            Op::Create { id, action } | Op::CreateDecided { id, action, .. } => {
                if let Some(key) = &action.idempotency_key {
                    keys.push((&action.agent_id, key));
                }
                *id
            }
            Op::Transition { id, .. } | Op::Claim { id } | Op::Note { id, .. } => *id,
        };
        if seen.insert(id) {
            ids.push(id.to_string());
        }
    }
    for chunk in ids.chunks(ROWS_PER_INSERT) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM sentinel_actions WHERE id IN ({})",
            marks.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(id.as_str());
        }
        for row in query.fetch_all(&mut **tx).await.map_err(backend)? {
            let record = rows::record(&row)?;
            if let Some(key) = &record.action.idempotency_key {
                pending
                    .keys
                    .insert((record.action.agent_id.clone(), key.clone()), record.id);
            }
            pending.records.insert(record.id, record);
        }
    }
    keys.sort_unstable();
    keys.dedup();
    for chunk in keys.chunks(ROWS_PER_INSERT) {
        let clauses: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "(agent_id = ${} AND idempotency_key = ${})",
                    2 * i + 1,
                    2 * i + 2
                )
            })
            .collect();
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM sentinel_actions WHERE {}",
            clauses.join(" OR ")
        );
        let mut query = sqlx::query(&sql);
        for (agent, key) in chunk {
            query = query.bind(*agent).bind(*key);
        }
        for row in query.fetch_all(&mut **tx).await.map_err(backend)? {
            let record = rows::record(&row)?;
            if let Some(key) = &record.action.idempotency_key {
                pending
                    .keys
                    .insert((record.action.agent_id.clone(), key.clone()), record.id);
            }
            pending.records.insert(record.id, record);
        }
    }
    Ok(())
}

/// Writes what the batch made and changed, its events, and the new head.
async fn store(
    tx: &mut Transaction<'static, Any>,
    postgres: bool,
    pending: &Pending,
) -> Result<(), StoreError> {
    let records = |ids: &[ActionId]| -> Vec<&ActionRecord> {
        ids.iter()
            .filter_map(|id| pending.records.get(id))
            .collect()
    };
    for chunk in records(&pending.created).chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO sentinel_actions (id, agent_id, action_name, idempotency_key, action_json, action_hash, \
             state, decision_json, approval_json, created_at, updated_at, deadline, executed_at) VALUES {}",
            placeholders(chunk.len(), 13)
        );
        let mut query = sqlx::query(&sql);
        for r in chunk {
            query = query
                .bind(r.id.to_string())
                .bind(r.action.agent_id.clone())
                .bind(r.action.action.clone())
                .bind(r.action.idempotency_key.clone())
                .bind(to_json(&r.action)?)
                .bind(r.action_hash.clone())
                .bind(r.state.as_str())
                .bind(r.decision.as_ref().map(to_json).transpose()?)
                .bind(r.approval.as_ref().map(to_json).transpose()?)
                .bind(format_time(r.created_at))
                .bind(format_time(r.updated_at))
                .bind(opt_time_text(r.deadline))
                .bind(opt_time_text(r.executed_at));
        }
        query.execute(&mut **tx).await.map_err(backend)?;
    }
    // The changed records in one statement per chunk (`VALUES` columns are `column1`...
    // on both databases).
    for chunk in records(&pending.changed).chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "UPDATE sentinel_actions SET state = v.column2, decision_json = v.column3, \
             approval_json = v.column4, updated_at = v.column5, deadline = v.column6, \
             executed_at = v.column7 FROM (VALUES {}) AS v WHERE sentinel_actions.id = v.column1",
            placeholders(chunk.len(), 7)
        );
        let mut query = sqlx::query(&sql);
        for r in chunk {
            query = query
                .bind(r.id.to_string())
                .bind(r.state.as_str())
                .bind(r.decision.as_ref().map(to_json).transpose()?)
                .bind(r.approval.as_ref().map(to_json).transpose()?)
                .bind(format_time(r.updated_at))
                .bind(opt_time_text(r.deadline))
                .bind(opt_time_text(r.executed_at));
        }
        let done = query.execute(&mut **tx).await.map_err(backend)?;
        if done.rows_affected() != chunk.len() as u64 {
            return Err(backend(format!(
                "{} of {} changed records were written",
                done.rows_affected(),
                chunk.len()
            )));
        }
    }
    for chunk in pending.events.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO sentinel_audit ({AUDIT_COLUMNS}) VALUES {}",
            placeholders(chunk.len(), 14)
        );
        let mut query = sqlx::query(&sql);
        for e in chunk {
            query = query
                .bind(i64::try_from(e.seq).map_err(backend)?)
                .bind(e.kind.as_str())
                .bind(e.action_id.to_string())
                .bind(e.agent_id.clone())
                .bind(e.action.clone())
                .bind(e.from.map(|s| s.as_str().to_owned()))
                .bind(e.to.as_str())
                .bind(e.actor.clone())
                .bind(e.channel.clone())
                .bind(e.reason.clone())
                .bind(format_time(e.at))
                .bind(e.prev_hash.clone())
                .bind(e.hash.clone())
                .bind(e.state_hash.clone());
        }
        query.execute(&mut **tx).await.map_err(backend)?;
    }
    if !pending.events.is_empty() {
        sqlx::query("UPDATE sentinel_chain SET last_seq = $1, last_hash = $2 WHERE id = 1")
            .bind(i64::try_from(pending.seq).map_err(backend)?)
            .bind(pending.prev.clone())
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
    }
    if postgres {
        // One announcement per action the batch wrote about, in one statement.
        let mut ids: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for e in &pending.events {
            if seen.insert(e.action_id) {
                ids.push(e.action_id.to_string());
            }
        }
        for chunk in ids.chunks(ROWS_PER_INSERT) {
            let calls: Vec<String> = (0..chunk.len())
                .map(|i| format!("pg_notify($1, ${})", i + 2))
                .collect();
            let sql = format!("SELECT {}", calls.join(", "));
            let mut query = sqlx::query(&sql).bind(CHANNEL);
            for id in chunk {
                query = query.bind(id.as_str());
            }
            query.execute(&mut **tx).await.map_err(backend)?;
        }
    }
    Ok(())
}
