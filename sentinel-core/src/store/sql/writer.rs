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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use sqlx::AnyPool;
use sqlx::any::AnyRow;
use tokio::sync::{mpsc, oneshot};

use super::rows::backend;
use crate::action::{Action, ActionId};
use crate::error::StoreError;
use crate::store::{ActionRecord, AuditEvent, Created, DEFAULT_BATCH_MAX, Decided, Transition};
use pending::Pending;

mod pending;
mod statements;

/// Writes waiting for the writer at most; further callers wait for room.
const QUEUE: usize = 4096;

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
    let mut pending = Pending::after(
        u64::try_from(seq).map_err(|e| Failure::Whole(backend(e)))?,
        sqlx::Row::try_get(&row, "last_hash").map_err(|e| Failure::Whole(backend(e)))?,
    );
    statements::load(&mut tx, postgres, ops, &mut pending)
        .await
        .map_err(stmt)?;
    let outcomes: Vec<Result<Done, StoreError>> = ops.iter().map(|op| pending.apply(op)).collect();
    if pending.writes_nothing() {
        tx.rollback()
            .await
            .map_err(|e| Failure::Whole(backend(e)))?;
        return Ok(outcomes);
    }
    statements::store(&mut tx, postgres, &pending)
        .await
        .map_err(stmt)?;
    tx.commit().await.map_err(|e| Failure::Whole(backend(e)))?;
    counters.batches.fetch_add(1, Ordering::Relaxed);
    let written = outcomes.iter().filter(|o| o.is_ok()).count();
    counters.writes.fetch_add(
        u64::try_from(written).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    Ok(outcomes)
}
