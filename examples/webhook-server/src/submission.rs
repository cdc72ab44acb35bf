//! Submitting an action from a task of its own, and learning its id as soon as the store
//! has recorded it: when the decision takes longer than the request may (a slow scorer, a
//! hanging dial), the agent is answered `202 Accepted` with the id, and the decision goes
//! on; it never gets an error for an action that exists.
//!
//! The core's [`Gateway::submit_reporting`] says the id as soon as the action is recorded,
//! and goes on to the decision.

use std::time::Duration;

use sentinel_core::{Action, ActionId, Gateway, SubmitError, Ticket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::Instrument;

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
    submit_traced(gateway, action, within, span, None).await
}

/// [`submit`] as part of the caller's trace: the W3C `traceparent` the request carried
/// (the action's span becomes a child of the caller's).
pub async fn submit_traced(
    gateway: &Gateway,
    action: Action,
    within: Duration,
    span: tracing::Span,
    traceparent: Option<String>,
) -> Result<Submitted, NotSubmitted> {
    let (sender, mut recorded) = oneshot::channel();
    let gateway = gateway.clone();
    let mut task: JoinHandle<Result<Ticket, SubmitError>> = tokio::spawn(
        async move {
            let report = move |id| {
                let _ = sender.send(id);
            };
            let submitting = gateway.submit_reporting(action, report);
            sentinel_core::telemetry::with_traceparent(traceparent.as_deref(), submitting).await
        }
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
