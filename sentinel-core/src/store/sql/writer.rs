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
//!
//! The writer keeps one connection of the pool for itself, across batches, and sends each
//! batch in three round trips: one script begins the transaction, locks the head and reads
//! what the batch touches; one writes; `COMMIT` (sent alone, so that a failed commit is
//! told from a failed statement). On SQLite a script is one string of statements, a single
//! call to sqlx's worker thread; on PostgreSQL, whose extended protocol takes one statement
//! per query, its statements follow one another. A kept connection that failed is dropped,
//! and the next batch takes a fresh one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};
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
    let mut conn = Kept::new(pool);
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
        let (outcomes, unavailable) = commit(&mut conn, postgres, &ops, &counters).await;
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
    conn: &mut Kept,
    postgres: bool,
    ops: &[Op],
    counters: &Counters,
) -> (Vec<Result<Done, StoreError>>, Option<StoreError>) {
    let all: Vec<&Op> = ops.iter().collect();
    let outcomes = match write_batch(conn, postgres, &all, counters).await {
        Ok(outcomes) => outcomes,
        Err(Failure::Statements(e)) if ops.len() > 1 => {
            tracing::warn!(error = %e, writes = ops.len(), "a batch of store writes failed; retrying them one by one");
            let mut outcomes = Vec::with_capacity(ops.len());
            for op in ops {
                outcomes.push(match write_batch(conn, postgres, &[op], counters).await {
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
    conn: &mut Kept,
    postgres: bool,
    ops: &[&Op],
    counters: &Counters,
) -> Result<Vec<Result<Done, StoreError>>, Failure> {
    let rows = open(conn, postgres, ops).await?;
    let stmt = |e: StoreError| Failure::Statements(e);
    let mut rows = rows.iter();
    let mut pending = match rows.next().map(after_head) {
        Some(Ok(pending)) => pending,
        Some(Err(e)) => return Err(abort(conn, Failure::Whole(e)).await),
        None => {
            let e = backend("the chain head was not found");
            return Err(abort(conn, Failure::Whole(e)).await);
        }
    };
    for row in rows {
        match super::rows::record(row) {
            Ok(record) => pending.read(record),
            Err(e) => return Err(abort(conn, stmt(e)).await),
        }
    }
    let outcomes: Vec<Result<Done, StoreError>> = ops.iter().map(|op| pending.apply(op)).collect();
    if pending.writes_nothing() {
        return match conn.run("ROLLBACK").await {
            Ok(()) => Ok(outcomes),
            Err(e) => {
                conn.discard();
                Err(Failure::Whole(backend(e)))
            }
        };
    }
    if let Err(e) = store(conn, postgres, &pending).await {
        return Err(abort(conn, stmt(e)).await);
    }
    if let Err(e) = conn.run("COMMIT").await {
        // Whether it committed is unknown: not acknowledged, and not used again.
        conn.discard();
        return Err(Failure::Whole(backend(e)));
    }
    counters.batches.fetch_add(1, Ordering::Relaxed);
    let written = outcomes.iter().filter(|o| o.is_ok()).count();
    counters.writes.fetch_add(
        u64::try_from(written).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    Ok(outcomes)
}

/// The batch's start: what follows the chain head's row (`last_seq`, `last_hash`).
fn after_head(head: &AnyRow) -> Result<Pending, StoreError> {
    let seq: i64 = sqlx::Row::try_get(head, "last_seq").map_err(backend)?;
    Ok(Pending::after(
        u64::try_from(seq).map_err(backend)?,
        sqlx::Row::try_get(head, "last_hash").map_err(backend)?,
    ))
}

/// Begins the batch's transaction, locks the head and reads what the batch touches
/// ([`statements::open`]); the head's row comes first. On failure nothing is left open: the
/// transaction is rolled back, or the connection dropped.
async fn open(conn: &mut Kept, postgres: bool, ops: &[&Op]) -> Result<Vec<AnyRow>, Failure> {
    let reused = conn.is_kept();
    match read(conn, postgres, ops).await? {
        Ok(rows) => Ok(rows),
        // A kept connection that failed (the database went away while it sat idle) is
        // replaced by a fresh one, once: nothing of the batch was written.
        Err(e) if reused && connection_lost(&e) => {
            tracing::debug!(error = %e, "the writer's connection failed; taking a fresh one");
            conn.discard();
            read(conn, postgres, ops)
                .await?
                .map_err(|e| Failure::Whole(backend(e)))
        }
        Err(e) => Err(Failure::Whole(backend(e))),
    }
}

/// True when `e` says the connection itself is gone (the socket, or PostgreSQL closing it:
/// SQLSTATE class `08`, connection exception, or `57P`, an administrator or a shutdown)
/// rather than the database refusing a statement.
fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(e) => e
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => true,
    }
}

/// One try of [`open`]: the database's error inside, to be told apart by the caller.
async fn read(
    conn: &mut Kept,
    postgres: bool,
    ops: &[&Op],
) -> Result<Result<Vec<AnyRow>, sqlx::Error>, Failure> {
    let script = statements::open(postgres, ops).map_err(Failure::Whole)?;
    let read = match conn.connection().await {
        Ok(c) => script.fetch_all(c).await,
        // No connection: no transaction either.
        Err(e) => return Ok(Err(e)),
    };
    if read.is_err() {
        // The transaction may have begun.
        let _ = abort(conn, Failure::Whole(backend("rolled back"))).await;
    }
    Ok(read)
}

/// Writes what the batch made and changed ([`statements::store`]), checking that every row
/// it meant to write was written, and on PostgreSQL announces the actions.
async fn store(conn: &mut Kept, postgres: bool, pending: &Pending) -> Result<(), StoreError> {
    let (script, expected) = statements::store(postgres, pending)?;
    let c = conn.in_transaction().map_err(backend)?;
    let written = script.execute(c).await.map_err(backend)?;
    if written != expected {
        return Err(backend(format!(
            "{written} of the batch's {expected} rows were written"
        )));
    }
    if postgres {
        statements::announce(pending)?
            .execute(c)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

/// Rolls the batch's transaction back after `failure`, which it returns; when even that
/// fails, the connection is dropped (closing it ends the transaction) and the failure is the
/// whole batch's.
async fn abort(conn: &mut Kept, failure: Failure) -> Failure {
    match conn.run("ROLLBACK").await {
        Ok(()) => failure,
        Err(_) => {
            conn.discard();
            match failure {
                Failure::Whole(e) | Failure::Statements(e) => Failure::Whole(e),
            }
        }
    }
}

/// The writer's own connection, taken from the pool once and kept across batches (taking
/// one per batch cost a pool round trip and a ping each time). A connection that failed is
/// dropped, and the next batch takes a fresh one.
struct Kept {
    pool: AnyPool,
    conn: Option<PoolConnection<Any>>,
}

impl Kept {
    fn new(pool: AnyPool) -> Self {
        Self { pool, conn: None }
    }

    /// True when a connection is kept (from an earlier batch).
    fn is_kept(&self) -> bool {
        self.conn.is_some()
    }

    /// The kept connection, taking one from the pool (which checks it) when none is kept.
    async fn connection(&mut self) -> Result<&mut AnyConnection, sqlx::Error> {
        if self.conn.is_none() {
            self.conn = Some(self.pool.acquire().await?);
        }
        match self.conn.as_mut() {
            Some(conn) => Ok(&mut **conn),
            None => Err(sqlx::Error::PoolClosed),
        }
    }

    /// The connection of the transaction under way: never a fresh one, which would hold
    /// none of the batch.
    fn in_transaction(&mut self) -> Result<&mut AnyConnection, sqlx::Error> {
        match self.conn.as_mut() {
            Some(conn) => Ok(&mut **conn),
            None => Err(sqlx::Error::Protocol(
                "the writer's connection was dropped within a transaction".to_owned(),
            )),
        }
    }

    /// Runs one statement without arguments (`COMMIT`, `ROLLBACK`) in the transaction
    /// under way.
    async fn run(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        let conn = self.in_transaction()?;
        sqlx::query(sql).execute(conn).await.map(drop)
    }

    /// Drops the connection (closed, not returned to the pool).
    fn discard(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
    }
}
