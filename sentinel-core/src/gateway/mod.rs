//! The [`Gateway`]: evaluate, submit, guard, resolve.

mod authorize;
mod budgets;
mod builder;
mod decided;
mod follow_up;
mod handle;
mod resume;
mod traced;
mod waiting;

pub use builder::GatewayBuilder;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, broadcast};
use tracing::Instrument;

use crate::action::{Action, ActionId};
use crate::approver::{Approver, Resolution};
use crate::decision::Decision;
use crate::error::{ApproverError, ResolveError, StoreError, SubmitError};
use crate::pack::Pack;
use crate::pipeline::Pipeline;
use crate::scorer::Assessment;
use crate::state::State;
use crate::store::{ActionRecord, Approval, AuditEvent, Created, Store, Transition};

/// Actor name the gateway uses for its own transitions.
const SYSTEM: &str = "sentinel";
/// Default longest wait between two looks at the store while a guard waits. Resolves in
/// this process (and, on PostgreSQL, in any process) wake the guard at once; this is the
/// safety net for stores that cannot announce changes.
const DEFAULT_POLL: Duration = Duration::from_secs(1);

/// The safety gateway. Cheap to clone; clones share everything.
///
/// ```
/// use sentinel_core::{Action, Gateway, State};
/// use serde_json::json;
///
/// # tokio_test_block_on(async {
/// let gateway = Gateway::builder().build().unwrap(); // the three seed packs, offline
/// let action = Action::new("billing-bot", "PAY_INVOICE")
///     .with_payload(json!({"amount": 120, "vendor": "AWS"}));
/// let paid = gateway.guard(action, || async { "paid" }).await.unwrap();
/// assert_eq!(paid, "paid");
///
/// let drop = Action::new("ops-bot", "DROP_TABLE").with_payload(json!({"table": "users"}));
/// assert_eq!(gateway.evaluate(&drop).await.status, State::Declined);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pipeline: Pipeline,
    /// The shadow packs' side, when there are shadow packs.
    shadow: Option<crate::shadow::Shadow>,
    approver: Option<Arc<dyn Approver>>,
    store: Arc<dyn Store>,
    escalation_timeout: Duration,
    poll_interval: Duration,
    analysis_timeout: Duration,
    events: broadcast::Sender<AuditEvent>,
    waiters: Mutex<HashMap<ActionId, Arc<Notify>>>,
    /// Set once the store's change feed is forwarded to the waiters.
    listening: std::sync::OnceLock<()>,
    /// Set once the periodic recovery sweep runs.
    sweeping: std::sync::OnceLock<()>,
    /// Signs checkpoints of the audit chain.
    audit_key: Option<crate::store::checkpoint::AuditKey>,
    /// How often the sweep writes a checkpoint.
    checkpoint_interval: Duration,
    /// One JSON line per decision and per escalation's outcome, when configured.
    decision_log: Option<Arc<crate::telemetry::DecisionLog>>,
}

/// What [`Gateway::submit`] returns: the action's id and where it stands.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Ticket {
    /// The action's id.
    pub action_id: ActionId,
    /// `EXECUTED`, `BLOCKED_AWAITING_AUTH`, `DECLINED` or `ERROR_APPROVER` (or a later
    /// state when `replayed`).
    pub status: State,
    /// The decision.
    pub decision: Decision,
    /// When a pending action expires.
    pub deadline: Option<DateTime<Utc>>,
    /// True when an earlier submission with the same idempotency key was returned.
    pub replayed: bool,
    /// The approver's error when it could not ask a human (status `ERROR_APPROVER`).
    pub approver_error: Option<ApproverError>,
}

/// Permission to run a guarded function once, from [`Gateway::authorize`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Permit {
    /// The action's id.
    pub action_id: ActionId,
    /// The action's record when permission was granted (`EXECUTED` or `APPROVED`).
    pub record: ActionRecord,
}

impl Gateway {
    /// The packs this gateway enforces.
    pub fn packs(&self) -> &[Pack] {
        self.inner.pipeline.policy.packs()
    }

    /// The scorer's name.
    pub fn scorer_name(&self) -> &str {
        self.inner.pipeline.scorer.name()
    }

    /// The approver's name, when one is configured.
    pub fn approver_name(&self) -> Option<&str> {
        self.inner.approver.as_deref().map(Approver::name)
    }

    /// The escalation timeout.
    pub fn escalation_timeout(&self) -> Duration {
        self.inner.escalation_timeout
    }

    /// What this gateway has counted (decisions, scorer calls, approvals...), shared by
    /// its clones; a host adds its own (HTTP requests, webhooks) through it.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.pipeline.metrics
    }

    /// Decides about an action without recording or running anything.
    pub async fn evaluate(&self, action: &Action) -> Decision {
        if crate::telemetry::enabled() {
            return self.evaluate_traced(action).await;
        }
        self.inner.pipeline.decide(ActionId::new(), action).await
    }

    /// Records an action, decides, and when a human must decide, starts the approver.
    /// Returns at once; an escalated action is `BLOCKED_AWAITING_AUTH` until resolved or
    /// expired.
    ///
    /// Run it to completion: a caller that drops it midway (e.g. a cancelled request)
    /// leaves the action `ANALYZING` until [`recover`](Self::recover) decides it again.
    /// Servers should submit from a task of their own.
    pub async fn submit(&self, action: Action) -> Result<Ticket, SubmitError> {
        self.submit_reporting(action, |_| {}).await
    }

    /// [`submit`](Self::submit), calling `recorded` with the action's id as soon as the
    /// store has recorded it (before it is decided, unless the scorer answers at once —
    /// [`RiskScorer::scores_at_once`](crate::RiskScorer::scores_at_once) — when it is
    /// recorded with its decision in one write; the earlier action's id for a replayed
    /// idempotency key): a server that stops waiting for the decision can still tell the
    /// agent which action it was.
    pub async fn submit_reporting(
        &self,
        action: Action,
        recorded: impl FnOnce(ActionId) + Send,
    ) -> Result<Ticket, SubmitError> {
        let span = crate::telemetry::ActionSpan::start(&action, "submit");
        let result = span.scope(self.submit_in(action, recorded, &span)).await;
        traced::submitted(&span, result.as_ref().map(traced::Submission::of));
        result
    }

    async fn submit_in(
        &self,
        action: Action,
        recorded: impl FnOnce(ActionId) + Send,
        span: &crate::telemetry::ActionSpan,
    ) -> Result<Ticket, SubmitError> {
        if action.idempotency_key.is_none() && self.inner.pipeline.scorer.scores_at_once() {
            // Decided at once (no scorer I/O): recorded with its decision in one write.
            let submitted = self
                .submit_decided_in(action, span, false, recorded)
                .await?;
            return Ok(submitted.into_ticket());
        }
        self.start_sweeping();
        let id = ActionId::new();
        span.set_id(id);
        let store_step = traced::store_step(id, "create", None);
        let created = store_step.scope(self.inner.store.create(id, &action)).await;
        drop(store_step);
        match created? {
            Created::Existing(record) => {
                recorded(record.id);
                return Ok(replayed_ticket(record));
            }
            Created::New(_, events) => {
                recorded(id);
                events.into_iter().for_each(|e| self.publish(e));
            }
        }
        let span = tracing::info_span!("action", action_id = %id, agent = %action.agent_id, action = %action.action);
        self.settle(id, action).instrument(span).await
    }

    /// Decides about a recorded, `ANALYZING` action and, when a human must decide, starts
    /// the approver.
    async fn settle(&self, id: ActionId, action: Action) -> Result<Ticket, SubmitError> {
        let decision = self.inner.pipeline.decide_reserving(id, &action).await;
        tracing::info!(risk = decision.risk_score, status = %decision.status, rules = ?decision.rules, "decided");
        let (step, recording) = self.decided_step(decision);
        let (record, _) = self.transition(id, step).await?;
        let (followed, record) = self.follow_up(recording, record).await?;
        Ok(followed.into_ticket(record.state))
    }

    /// Records a human decision for a pending action. Fails when the action is unknown or
    /// already decided: a decision is never made twice.
    pub async fn resolve(
        &self,
        id: ActionId,
        resolution: Resolution,
    ) -> Result<ActionRecord, ResolveError> {
        let resolution = match self.screen(id, resolution).await? {
            Ok(resolution) => resolution,
            // One vote of several the approver needs: still pending.
            Err(record) => return Ok(record),
        };
        let (to, verb) = if resolution.approved {
            (State::Approved, "approved")
        } else {
            (State::Declined, "declined")
        };
        let reason = if resolution.reason.is_empty() {
            format!("{verb} by {} via {}", resolution.by, resolution.channel)
        } else {
            resolution.reason.clone()
        };
        let pending = self.inner.store.get(id).await?;
        let approval = Approval {
            approved: resolution.approved,
            by: resolution.by.clone(),
            channel: resolution.channel.clone(),
            reason: resolution.reason,
            at: Utc::now(),
            action_hash: pending.action_hash,
            packs: pending
                .decision
                .map(|d| Arc::unwrap_or_clone(d).packs)
                .unwrap_or_default(),
        };
        let step =
            Transition::new(to, resolution.by, resolution.channel, reason).with_approval(approval);
        let deciding = traced::decision_step(id, &step);
        let (record, _) = deciding.scope(self.transition(id, step)).await?;
        Ok(record)
    }

    /// Marks a pending action as being discussed (voice Q&A), or back to waiting.
    pub async fn set_qna_mode(
        &self,
        id: ActionId,
        on: bool,
        actor: &str,
        channel: &str,
    ) -> Result<ActionRecord, ResolveError> {
        let to = if on {
            State::QnaMode
        } else {
            State::BlockedAwaitingAuth
        };
        let qna = traced::approval_step(id, if on { "qna" } else { "qna_end" }, channel);
        let (record, _) = qna
            .scope(self.transition(id, Transition::new(to, actor, channel, "")))
            .await?;
        Ok(record)
    }

    /// Answers a human's question about a recorded action, through the scorer.
    pub async fn explain(&self, id: ActionId, question: &str) -> Result<String, StoreError> {
        let record = self.inner.store.get(id).await?;
        let assessment = record
            .decision
            .as_ref()
            .map(|d| Assessment {
                risk_score: d.risk_score,
                analysis: d.analysis.clone(),
            })
            .unwrap_or(Assessment {
                risk_score: 100,
                analysis: String::new(),
            });
        let decided = record.decision.as_ref().map_or(&[][..], |d| &d.packs[..]);
        let context = self.inner.pipeline.explain_context(&record.action, decided);
        let scorer = &self.inner.pipeline.scorer;
        // A human's question: a step of the action's trace (never the question's text).
        let asking = traced::question_step(id, scorer.name());
        let answered = asking
            .scope(scorer.explain(&record.action, &assessment, question, &context))
            .await;
        Ok(answered.unwrap_or_else(|e| {
            asking.fail("scorer_failed", &e.to_string());
            tracing::warn!(scorer = scorer.name(), error = %e, "explain failed");
            crate::scorer::EXPLAIN_FALLBACK.to_owned()
        }))
    }

    /// Adds a note to the action's audit trail without changing its state: what an
    /// approver asked and heard, that a message was delivered, and so on.
    pub async fn note(
        &self,
        id: ActionId,
        actor: &str,
        channel: &str,
        text: &str,
    ) -> Result<AuditEvent, StoreError> {
        let noting = traced::approval_step(id, "note", channel);
        let event = noting
            .scope(self.inner.store.append_note(id, actor, channel, text))
            .await?;
        self.publish(event.clone());
        Ok(event)
    }

    /// Writes a checkpoint of the audit chain now (signed with the audit key, when one is
    /// set): call it at shutdown. `None` when nothing was written since the last one, or
    /// the store keeps no checkpoints.
    pub async fn checkpoint(
        &self,
    ) -> Result<Option<crate::store::checkpoint::Checkpoint>, StoreError> {
        self.inner
            .store
            .write_checkpoint(self.inner.audit_key.as_ref())
            .await
    }

    /// The action's record.
    pub async fn status(&self, id: ActionId) -> Result<ActionRecord, StoreError> {
        self.inner.store.get(id).await
    }

    /// The action's audit trail, oldest first.
    pub async fn audit_trail(&self, id: ActionId) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.store.audit_trail(id).await
    }

    /// The store this gateway records into.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Lifecycle events of every action, as they happen (for servers and dashboards).
    /// A slow receiver misses events (`RecvError::Lagged`), never blocks the gateway.
    pub fn subscribe(&self) -> broadcast::Receiver<AuditEvent> {
        self.inner.events.subscribe()
    }

    async fn transition(
        &self,
        id: ActionId,
        step: Transition,
    ) -> Result<(ActionRecord, AuditEvent), StoreError> {
        let store_step = traced::store_step(id, "transition", Some(step.to));
        let written = store_step
            .scope(self.inner.store.transition(id, step))
            .await;
        if let Err(e) = &written {
            store_step.fail("store_unavailable", &e.to_string());
        }
        drop(store_step);
        let (record, event) = written?;
        self.transitioned(&record, &event).await;
        Ok((record, event))
    }

    /// What follows a state change the store recorded (`event`, leaving `record`): budget
    /// entries released, the resolution logged, metrics, subscribers and waiters told.
    async fn transitioned(&self, record: &ActionRecord, event: &AuditEvent) {
        self.after_transition(record, event.from, &event.channel, event.at, Some(event))
            .await;
    }

    /// [`transitioned`](Self::transitioned) by the parts of the event (from `from`, through
    /// `channel`, at `at`, to the record's state), with or without the event itself: a
    /// [`create_decided`](crate::Store::create_decided) write leaves its events out when
    /// nobody subscribed, and its decision leaves `ANALYZING`, resolving nothing pending.
    async fn after_transition(
        &self,
        record: &ActionRecord,
        from: Option<State>,
        channel: &str,
        at: DateTime<Utc>,
        event: Option<&AuditEvent>,
    ) {
        let id = record.id;
        self.release_budgets(record).await;
        if record.state.is_terminal() {
            crate::telemetry::forget(id);
            if let (Some(log), Some(event), true) = (
                &self.inner.decision_log,
                event,
                from.is_some_and(State::is_pending),
            ) {
                log.resolution(record, event);
            }
        }
        let age = (at - record.created_at).to_std().unwrap_or_default();
        self.metrics()
            .record_transition(id, from, record.state, channel, age);
        if let Some(event) = event
            && self.inner.events.receiver_count() > 0
        {
            self.publish(event.clone());
        }
        if record.state.is_terminal() || record.state.is_pending() {
            self.wake(id);
        }
    }

    fn publish(&self, event: AuditEvent) {
        // No subscriber is fine.
        let _ = self.inner.events.send(event);
    }

    async fn last_reason(&self, id: ActionId) -> String {
        match self.inner.store.audit_trail(id).await {
            Ok(trail) => trail.last().map(|e| e.reason.clone()).unwrap_or_default(),
            Err(e) => e.to_string(),
        }
    }

    pub(crate) fn from_weak(weak: &Weak<Inner>) -> Option<Self> {
        weak.upgrade().map(|inner| Gateway { inner })
    }
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field(
                "packs",
                &self.packs().iter().map(Pack::name).collect::<Vec<_>>(),
            )
            .field("scorer", &self.scorer_name())
            .field("approver", &self.approver_name())
            .field("escalation_timeout", &self.inner.escalation_timeout)
            .finish_non_exhaustive()
    }
}

fn replayed_ticket(mut record: ActionRecord) -> Ticket {
    let decision = record
        .decision
        .take()
        .map(Arc::unwrap_or_clone)
        .unwrap_or_else(|| Decision {
            action_id: record.id,
            status: record.state,
            risk_score: 100,
            analysis: "an earlier submission with this idempotency key is still being decided"
                .to_owned(),
            rules: Vec::new(),
            matched: Vec::new(),
            packs: Vec::new(),
            scorer: crate::decision::ScorerUse::Skipped {
                reason: "replayed".to_owned(),
            },
            timings: crate::decision::Timings::default(),
            scorer_failure: None,
        });
    Ticket {
        action_id: record.id,
        status: record.state,
        decision,
        deadline: record.deadline,
        replayed: true,
        approver_error: None,
    }
}
