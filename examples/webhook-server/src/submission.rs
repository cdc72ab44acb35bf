//! Submitting an action from a task of its own, and learning its id as soon as the store
//! has recorded it: when the decision takes longer than the request may (a slow scorer, a
//! hanging dial), the agent is answered `202 Accepted` with the id, and the decision goes
//! on; it never gets an error for an action that exists.
//!
//! The core's [`Gateway::submit`] draws the id and returns only with the decision. The
//! server wraps its store in [`Recording`], which passes every call through and, for the
//! `create` of a submission started by [`submit`], reports the id to it (through a task
//! local, so concurrent submissions cannot be mixed up).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sentinel_core::store::checkpoint::{AuditKey, Checkpoint};
use sentinel_core::store::{Created, Transition};
use sentinel_core::{
    Action, ActionId, ActionRecord, AuditEvent, Gateway, State, Store, StoreError, SubmitError,
    Ticket,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::Instrument;

tokio::task_local! {
    /// Where the `create` of the submission running in this task reports the id.
    static RECORDED: Reporter;
}

/// Sends the id once.
struct Reporter(Mutex<Option<oneshot::Sender<ActionId>>>);

impl Reporter {
    fn report(&self, id: ActionId) {
        let sender = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(sender) = sender {
            let _ = sender.send(id);
        }
    }
}

/// What a submission came to within the time the request had.
pub enum Submitted {
    /// Decided (or replayed): the ticket.
    Decided(Box<Ticket>),
    /// Recorded under this id, still being decided (scoring, or placing the call).
    Pending(ActionId),
}

/// Why a submission gave no id.
pub enum NotSubmitted {
    /// The gateway refused or failed (nothing was decided).
    Failed(SubmitError),
    /// The store did not say within the time that it recorded the action.
    NotRecorded,
    /// The submission's task ended without an answer.
    Lost(String),
}

/// Submits `action` from a task of its own (a request that is cancelled or times out
/// cannot cut a decision in half) and waits up to `within` for the decision. Past it,
/// answers with the id as soon as the store has recorded the action (waiting for that up
/// to `within` again); the task goes on to the decision, logging it in `span`.
pub async fn submit(
    gateway: &Gateway,
    action: Action,
    within: Duration,
    span: tracing::Span,
) -> Result<Submitted, NotSubmitted> {
    let (sender, mut recorded) = oneshot::channel();
    let gateway = gateway.clone();
    let reporter = Reporter(Mutex::new(Some(sender)));
    let mut task: JoinHandle<Result<Ticket, SubmitError>> = tokio::spawn(
        RECORDED
            .scope(reporter, async move { gateway.submit(action).await })
            .instrument(span.clone()),
    );
    let joined = match tokio::time::timeout(within, &mut task).await {
        Ok(joined) => joined,
        Err(_) => {
            let id = match recorded.try_recv() {
                Ok(id) => Some(id),
                Err(_) => tokio::time::timeout(within, &mut recorded)
                    .await
                    .ok()
                    .and_then(Result::ok),
            };
            let Some(id) = id else {
                span.in_scope(|| tracing::error!("the store did not record the action in time"));
                return Err(NotSubmitted::NotRecorded);
            };
            // The decision goes on; say how it ended once it has.
            let late = span.clone();
            tokio::spawn(async move {
                match task.await {
                    Ok(Ok(t)) => late.in_scope(|| tracing::info!(action_id = %t.action_id, status = %t.status, "decided after the agent was answered 202")),
                    Ok(Err(e)) => late.in_scope(|| tracing::warn!(error = %e, "the submission failed after the agent was answered 202")),
                    Err(e) => late.in_scope(|| tracing::error!(error = %e, "the submission's task ended")),
                }
            });
            return Ok(Submitted::Pending(id));
        }
    };
    match joined {
        Ok(Ok(ticket)) => Ok(Submitted::Decided(Box::new(ticket))),
        Ok(Err(e)) => Err(NotSubmitted::Failed(e)),
        Err(e) => Err(NotSubmitted::Lost(e.to_string())),
    }
}

/// The server's store: the configured one, reporting the id of each recorded submission
/// (see the module docs). Every other call is passed through as it is.
pub struct Recording {
    inner: Arc<dyn Store>,
}

impl Recording {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self { inner }
    }
}

#[async_trait]
impl Store for Recording {
    async fn create(&self, id: ActionId, action: &Action) -> Result<Created, StoreError> {
        let created = self.inner.create(id, action).await?;
        let recorded = match &created {
            Created::New(record, _) | Created::Existing(record) => Some(record.id),
            _ => None,
        };
        if let Some(id) = recorded {
            let _ = RECORDED.try_with(|r| r.report(id));
        }
        Ok(created)
    }

    async fn get(&self, id: ActionId) -> Result<ActionRecord, StoreError> {
        self.inner.get(id).await
    }

    async fn transition(
        &self,
        id: ActionId,
        transition: Transition,
    ) -> Result<(ActionRecord, AuditEvent), StoreError> {
        self.inner.transition(id, transition).await
    }

    async fn claim_execution(&self, id: ActionId) -> Result<Option<AuditEvent>, StoreError> {
        self.inner.claim_execution(id).await
    }

    async fn append_note(
        &self,
        id: ActionId,
        actor: &str,
        channel: &str,
        text: &str,
    ) -> Result<AuditEvent, StoreError> {
        self.inner.append_note(id, actor, channel, text).await
    }

    async fn audit_trail(&self, id: ActionId) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.audit_trail(id).await
    }

    async fn latest(&self) -> Result<Option<ActionRecord>, StoreError> {
        self.inner.latest().await
    }

    async fn in_states(&self, states: &[State]) -> Result<Vec<ActionRecord>, StoreError> {
        self.inner.in_states(states).await
    }

    async fn claim_stale(
        &self,
        id: ActionId,
        stale_before: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner.claim_stale(id, stale_before).await
    }

    async fn pending(&self) -> Result<Vec<ActionRecord>, StoreError> {
        self.inner.pending().await
    }

    async fn audit_log(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.audit_log(after, limit).await
    }

    async fn audit_anchor(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.inner.audit_anchor().await
    }

    async fn audit_head(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.inner.audit_head().await
    }

    async fn records_page(
        &self,
        after: Option<ActionId>,
        limit: usize,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        self.inner.records_page(after, limit).await
    }

    fn is_bounded(&self) -> bool {
        self.inner.is_bounded()
    }

    async fn write_checkpoint(
        &self,
        key: Option<&AuditKey>,
    ) -> Result<Option<Checkpoint>, StoreError> {
        self.inner.write_checkpoint(key).await
    }

    async fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        self.inner.checkpoints().await
    }

    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<ActionId>> {
        self.inner.changes()
    }
}
