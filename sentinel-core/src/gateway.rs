//! The [`Gateway`]: evaluate, submit, guard, resolve.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, broadcast};

use crate::action::{Action, ActionId};
use crate::approver::{ApprovalHandle, ApprovalRequest, Approver, Resolution};
use crate::decision::Decision;
use crate::error::{BuildError, GuardError, ResolveError, StoreError, SubmitError, TransitionError};
use crate::pack::Pack;
use crate::pipeline::{OnScorerError, Pipeline, Unmatched};
use crate::policy::PolicySet;
use crate::scorer::{Assessment, OfflineScorer, RiskScorer};
use crate::state::State;
use crate::store::{ActionRecord, Approval, AuditEvent, Created, MemoryStore, Store, Transition};

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
    approver: Option<Arc<dyn Approver>>,
    store: Arc<dyn Store>,
    escalation_timeout: Duration,
    poll_interval: Duration,
    events: broadcast::Sender<AuditEvent>,
    waiters: Mutex<HashMap<ActionId, Arc<Notify>>>,
    /// Set once the store's change feed is forwarded to the waiters.
    listening: std::sync::OnceLock<()>,
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

/// Configures a [`Gateway`].
pub struct GatewayBuilder {
    packs: Option<Vec<Pack>>,
    scorer: Arc<dyn RiskScorer>,
    approver: Option<Arc<dyn Approver>>,
    store: Arc<dyn Store>,
    escalation_timeout: Duration,
    poll_interval: Duration,
    unmatched: Unmatched,
    on_scorer_error: OnScorerError,
}

impl GatewayBuilder {
    /// The packs to enforce (replaces any given before). Default: the three seed packs.
    #[must_use]
    pub fn packs(mut self, packs: impl IntoIterator<Item = Pack>) -> Self {
        self.packs = Some(packs.into_iter().collect());
        self
    }

    /// Adds one pack to those given so far.
    #[must_use]
    pub fn pack(mut self, pack: Pack) -> Self {
        self.packs.get_or_insert_with(Vec::new).push(pack);
        self
    }

    /// The risk scorer. Default: [`OfflineScorer`].
    #[must_use]
    pub fn scorer(self, scorer: impl RiskScorer) -> Self {
        self.scorer_arc(Arc::new(scorer))
    }

    /// The risk scorer, shared.
    #[must_use]
    pub fn scorer_arc(mut self, scorer: Arc<dyn RiskScorer>) -> Self {
        self.scorer = scorer;
        self
    }

    /// The approver. Default: none; escalations wait for [`Gateway::resolve`].
    #[must_use]
    pub fn approver(self, approver: impl Approver) -> Self {
        self.approver_arc(Arc::new(approver))
    }

    /// The approver, shared.
    #[must_use]
    pub fn approver_arc(mut self, approver: Arc<dyn Approver>) -> Self {
        self.approver = Some(approver);
        self
    }

    /// The store. Default: a new [`MemoryStore`].
    #[must_use]
    pub fn store(self, store: impl Store) -> Self {
        self.store_arc(Arc::new(store))
    }

    /// The store, shared.
    #[must_use]
    pub fn store_arc(mut self, store: Arc<dyn Store>) -> Self {
        self.store = store;
        self
    }

    /// How long an escalated action waits for a human before it expires. Default 180 s.
    #[must_use]
    pub fn escalation_timeout(mut self, timeout: Duration) -> Self {
        self.escalation_timeout = timeout;
        self
    }

    /// How often a waiting `guard` looks at the store when nothing woke it. Default 1 s.
    /// Changes made through this gateway, or announced by the store (PostgreSQL), wake it
    /// at once.
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// What to do with actions no pack applies to. Default: [`Unmatched::Escalate`].
    #[must_use]
    pub fn unmatched(mut self, unmatched: Unmatched) -> Self {
        self.unmatched = unmatched;
        self
    }

    /// What to do when the scorer fails. Default: [`OnScorerError::Escalate`].
    #[must_use]
    pub fn on_scorer_error(mut self, on_error: OnScorerError) -> Self {
        self.on_scorer_error = on_error;
        self
    }

    /// Checks the configuration and builds the gateway.
    pub fn build(self) -> Result<Gateway, BuildError> {
        if self.escalation_timeout.is_zero() {
            return Err(BuildError::Setting {
                setting: "escalation_timeout",
                message: "must be longer than zero".to_owned(),
            });
        }
        let packs = match self.packs {
            Some(packs) => packs,
            None => Pack::seed_packs()?,
        };
        let policy = PolicySet::new(packs)?;
        let (events, _) = broadcast::channel(1024);
        Ok(Gateway {
            inner: Arc::new(Inner {
                pipeline: Pipeline {
                    policy,
                    scorer: self.scorer,
                    unmatched: self.unmatched,
                    on_scorer_error: self.on_scorer_error,
                },
                approver: self.approver,
                store: self.store,
                escalation_timeout: self.escalation_timeout,
                poll_interval: self.poll_interval.max(Duration::from_millis(10)),
                events,
                waiters: Mutex::new(HashMap::new()),
                listening: std::sync::OnceLock::new(),
            }),
        })
    }
}

impl Gateway {
    /// Starts configuring a gateway.
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder {
            packs: None,
            scorer: Arc::new(OfflineScorer),
            approver: None,
            store: Arc::new(MemoryStore::new()),
            escalation_timeout: Duration::from_secs(180),
            poll_interval: DEFAULT_POLL,
            unmatched: Unmatched::default(),
            on_scorer_error: OnScorerError::default(),
        }
    }

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

    /// Decides about an action without recording or running anything.
    pub async fn evaluate(&self, action: &Action) -> Decision {
        self.inner.pipeline.decide(ActionId::new(), action).await
    }

    /// Records an action, decides, and when a human must decide, starts the approver.
    /// Returns at once; an escalated action is `BLOCKED_AWAITING_AUTH` until resolved or
    /// expired.
    pub async fn submit(&self, action: Action) -> Result<Ticket, SubmitError> {
        let id = ActionId::new();
        let inner = &self.inner;
        match inner.store.create(id, &action).await? {
            Created::Existing(record) => return Ok(replayed_ticket(record)),
            Created::New(_, events) => events.into_iter().for_each(|e| self.publish(e)),
        }
        let span = tracing::info_span!("action", action_id = %id, agent = %action.agent_id, action = %action.action);
        let _enter = span.enter();
        let decision = inner.pipeline.decide(id, &action).await;
        tracing::info!(risk = decision.risk_score, status = %decision.status, rules = ?decision.rules, "decided");

        let mut step = Transition::new(decision.status, SYSTEM, "policy", decision.analysis.clone())
            .with_decision(decision.clone());
        let deadline = (decision.status == State::BlockedAwaitingAuth).then(|| {
            Utc::now() + chrono::Duration::from_std(inner.escalation_timeout).unwrap_or(chrono::Duration::MAX)
        });
        if let Some(deadline) = deadline {
            step = step.with_deadline(deadline);
        }
        let (mut record, _) = self.transition(id, step).await?;

        if let Some(deadline) = deadline {
            self.schedule_expiry(id, deadline);
            if let Some(approver) = &inner.approver {
                let request = ApprovalRequest {
                    action_id: id,
                    action: action.clone(),
                    decision: decision.clone(),
                    deadline,
                    handle: ApprovalHandle { action_id: id, gateway: Arc::downgrade(&self.inner) },
                };
                if let Err(e) = approver.request(request).await {
                    tracing::warn!(approver = approver.name(), error = %e, "approver failed; failing closed");
                    let failed = Transition::new(State::ErrorApprover, SYSTEM, approver.name(), e.to_string());
                    match self.transition(id, failed).await {
                        Ok((r, _)) => record = r,
                        Err(StoreError::Transition(TransitionError::Terminal { .. })) => {
                            record = inner.store.get(id).await?;
                        }
                        Err(other) => return Err(other.into()),
                    }
                }
            }
        }
        Ok(Ticket { action_id: id, status: record.state, decision, deadline, replayed: false })
    }

    /// Runs `f` only when the action is approved (automatically or by a human, waiting up
    /// to the escalation timeout), at most once per action and idempotency key.
    ///
    /// Returns [`GuardError::Denied`] when policy or a human declined,
    /// [`GuardError::Expired`] when nobody decided in time, and
    /// [`GuardError::ApproverFailed`] when no human could be asked. `f` does not run then.
    pub async fn guard<F, Fut, T>(&self, action: Action, f: F) -> Result<T, GuardError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        self.authorize(action).await?;
        Ok(f().await)
    }

    /// The first half of [`guard`](Self::guard): submits, waits for a decision and claims
    /// the single execution. Bindings use it to run a function in their own language.
    pub async fn authorize(&self, action: Action) -> Result<Permit, GuardError> {
        let ticket = self.submit(action.clone()).await?;
        self.authorize_submitted(ticket.action_id, &action).await
    }

    /// Waits for the decision on an action submitted earlier (by this process or another,
    /// before a restart...) and claims its single execution, checking the approval receipt:
    /// `action` must be exactly what was decided on, and the packs in force must be those
    /// the decision was made under. Otherwise [`GuardError::ReceiptMismatch`].
    pub async fn authorize_submitted(&self, id: ActionId, action: &Action) -> Result<Permit, GuardError> {
        let record = self.wait(id, None).await?;
        let decision = record.decision.clone();
        match record.state {
            State::Executed | State::Approved => {
                self.check_receipt(&record, action)?;
                match self.inner.store.claim_execution(id).await? {
                    Some(event) => {
                        self.publish(event);
                        Ok(Permit { action_id: id, record })
                    }
                    None => Err(GuardError::AlreadyExecuted { action_id: id }),
                }
            }
            State::Expired => Err(GuardError::Expired { action_id: id }),
            State::ErrorApprover => Err(GuardError::ApproverFailed {
                action_id: id,
                message: self.last_reason(id).await,
            }),
            _ => match decision {
                Some(d) => Err(GuardError::Denied(Box::new(declined_decision(&record, d)))),
                None => Err(GuardError::Store(StoreError::Backend(format!("action `{id}` has no decision")))),
            },
        }
    }

    /// Refuses to run anything but what was decided on, under the packs it was decided under.
    fn check_receipt(&self, record: &ActionRecord, action: &Action) -> Result<(), GuardError> {
        let mismatch = |reason: String| GuardError::ReceiptMismatch { action_id: record.id, reason };
        if action.canonical_hash() != record.action_hash {
            return Err(mismatch("the agent, action, payload or reasoning differ from what was decided on".to_owned()));
        }
        let decided = record.decision.as_ref().map(|d| d.packs.as_slice()).unwrap_or_default();
        for pack in decided {
            match self.packs().iter().find(|p| p.name() == pack.name) {
                Some(now) if now.content_hash() == pack.hash => {}
                Some(now) => {
                    return Err(mismatch(format!(
                        "pack `{}` changed since the decision ({} → {})",
                        pack.name,
                        pack.version,
                        now.version()
                    )));
                }
                None => return Err(mismatch(format!("pack `{}` is no longer in force", pack.name))),
            }
        }
        Ok(())
    }

    /// Waits until the action is terminal or `timeout` passes (default: until its
    /// deadline, when it expires), and returns its record.
    pub async fn wait(&self, id: ActionId, timeout: Option<Duration>) -> Result<ActionRecord, StoreError> {
        self.listen_to_store();
        let until = timeout.map(|t| tokio::time::Instant::now() + t);
        loop {
            let notify = self.waiter(id);
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let record = self.inner.store.get(id).await?;
            if record.state.is_terminal() {
                self.drop_waiter(id);
                return Ok(record);
            }
            let now = tokio::time::Instant::now();
            if until.is_some_and(|u| now >= u) {
                return Ok(record);
            }
            let mut slice = self.inner.poll_interval;
            if let Some(deadline) = record.deadline {
                match (deadline - Utc::now()).to_std() {
                    Ok(left) => slice = slice.min(left),
                    Err(_) => {
                        self.expire(id).await;
                        continue;
                    }
                }
            }
            if let Some(u) = until {
                slice = slice.min(u - now);
            }
            let _ = tokio::time::timeout(slice, notified).await;
        }
    }

    /// Records a human decision for a pending action. Fails when the action is unknown or
    /// already decided: a decision is never made twice.
    pub async fn resolve(&self, id: ActionId, resolution: Resolution) -> Result<ActionRecord, ResolveError> {
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
            packs: pending.decision.map(|d| d.packs).unwrap_or_default(),
        };
        let step = Transition::new(to, resolution.by, resolution.channel, reason).with_approval(approval);
        let (record, _) = self.transition(id, step).await?;
        Ok(record)
    }

    /// Marks a pending action as being discussed (voice Q&A), or back to waiting.
    pub async fn set_qna_mode(&self, id: ActionId, on: bool, actor: &str, channel: &str) -> Result<ActionRecord, ResolveError> {
        let to = if on { State::QnaMode } else { State::BlockedAwaitingAuth };
        let (record, _) = self.transition(id, Transition::new(to, actor, channel, "")).await?;
        Ok(record)
    }

    /// Answers a human's question about a recorded action, through the scorer.
    pub async fn explain(&self, id: ActionId, question: &str) -> Result<String, StoreError> {
        let record = self.inner.store.get(id).await?;
        let assessment = record
            .decision
            .as_ref()
            .map(|d| Assessment { risk_score: d.risk_score, analysis: d.analysis.clone() })
            .unwrap_or(Assessment { risk_score: 100, analysis: String::new() });
        let scorer = &self.inner.pipeline.scorer;
        Ok(scorer.explain(&record.action, &assessment, question).await.unwrap_or_else(|e| {
            tracing::warn!(scorer = scorer.name(), error = %e, "explain failed");
            "I could not get an answer to that right now. Please decide based on the summary you heard, or decline if unsure.".to_owned()
        }))
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

    async fn transition(&self, id: ActionId, step: Transition) -> Result<(ActionRecord, AuditEvent), StoreError> {
        let (record, event) = self.inner.store.transition(id, step).await?;
        self.publish(event.clone());
        if record.state.is_terminal() || record.state.is_pending() {
            self.wake(id);
        }
        Ok((record, event))
    }

    fn publish(&self, event: AuditEvent) {
        // No subscriber is fine.
        let _ = self.inner.events.send(event);
    }

    fn waiter(&self, id: ActionId) -> Arc<Notify> {
        let mut waiters = self.inner.waiters.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(waiters.entry(id).or_default())
    }

    fn drop_waiter(&self, id: ActionId) {
        let mut waiters = self.inner.waiters.lock().unwrap_or_else(|p| p.into_inner());
        waiters.remove(&id);
    }

    fn wake(&self, id: ActionId) {
        let waiters = self.inner.waiters.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = waiters.get(&id) {
            n.notify_waiters();
        }
    }

    /// Expires a pending action (no-op when it was decided meanwhile).
    async fn expire(&self, id: ActionId) {
        let reason = format!("no decision within {} s", self.inner.escalation_timeout.as_secs_f64());
        match self.transition(id, Transition::new(State::Expired, SYSTEM, "timeout", reason)).await {
            Ok(_) | Err(StoreError::Transition(_)) => {}
            Err(e) => tracing::warn!(action_id = %id, error = %e, "could not expire action"),
        }
    }

    /// Expires the action at `deadline` unless it is decided before.
    fn schedule_expiry(&self, id: ActionId, deadline: DateTime<Utc>) {
        let weak = Arc::downgrade(&self.inner);
        let left = (deadline - Utc::now()).to_std().unwrap_or_default();
        tokio::spawn(async move {
            tokio::time::sleep(left).await;
            if let Some(inner) = weak.upgrade() {
                Gateway { inner }.expire(id).await;
            }
        });
    }

    /// Forwards the store's change feed (PostgreSQL `NOTIFY`) to waiting guards, once.
    fn listen_to_store(&self) {
        if self.inner.listening.set(()).is_err() {
            return;
        }
        let Some(mut changes) = self.inner.store.changes() else { return };
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                let id = match changes.recv().await {
                    Ok(id) => id,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                match weak.upgrade() {
                    Some(inner) => Gateway { inner }.wake(id),
                    None => return,
                }
            }
        });
    }

    /// Picks up where a previous process left off: expiries of pending actions are
    /// scheduled again from their stored deadlines (those already past expire now), and
    /// waiting guards wake on changes made elsewhere. Call once at start with a durable
    /// store. Returns the number of actions still pending.
    pub async fn recover(&self) -> Result<usize, StoreError> {
        self.listen_to_store();
        let pending = self.inner.store.pending().await?;
        let mut still = 0;
        for record in &pending {
            match record.deadline {
                Some(deadline) if deadline > Utc::now() => {
                    self.schedule_expiry(record.id, deadline);
                    still += 1;
                }
                _ => self.expire(record.id).await,
            }
        }
        tracing::info!(pending = still, expired = pending.len() - still, "recovered pending approvals");
        Ok(still)
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
            .field("packs", &self.packs().iter().map(Pack::name).collect::<Vec<_>>())
            .field("scorer", &self.scorer_name())
            .field("approver", &self.approver_name())
            .field("escalation_timeout", &self.inner.escalation_timeout)
            .finish_non_exhaustive()
    }
}

impl ApprovalHandle {
    fn gateway(&self) -> Result<Gateway, StoreError> {
        Gateway::from_weak(&self.gateway)
            .ok_or_else(|| StoreError::Backend("the gateway was dropped".to_owned()))
    }

    /// Delivers the human's decision for this action.
    pub async fn resolve(&self, resolution: Resolution) -> Result<ActionRecord, ResolveError> {
        self.gateway()?.resolve(self.action_id, resolution).await
    }

    /// Marks the action as being discussed (`true`) or back to waiting (`false`).
    pub async fn set_qna_mode(&self, on: bool, actor: &str, channel: &str) -> Result<ActionRecord, ResolveError> {
        self.gateway()?.set_qna_mode(self.action_id, on, actor, channel).await
    }

    /// Answers the human's question through the gateway's scorer.
    pub async fn explain(&self, question: &str) -> Result<String, StoreError> {
        self.gateway()?.explain(self.action_id, question).await
    }
}

fn replayed_ticket(record: ActionRecord) -> Ticket {
    let decision = record.decision.clone().unwrap_or_else(|| Decision {
        action_id: record.id,
        status: record.state,
        risk_score: 100,
        analysis: "an earlier submission with this idempotency key is still being decided".to_owned(),
        rules: Vec::new(),
        matched: Vec::new(),
        packs: Vec::new(),
        scorer: crate::decision::ScorerUse::Skipped { reason: "replayed".to_owned() },
        timings: crate::decision::Timings::default(),
    });
    Ticket { action_id: record.id, status: record.state, decision, deadline: record.deadline, replayed: true }
}

/// The decision as the caller of `guard` sees it after a human declined.
fn declined_decision(record: &ActionRecord, mut decision: Decision) -> Decision {
    if let Some(a) = &record.approval {
        let why = if a.reason.is_empty() { String::new() } else { format!(": {}", a.reason) };
        decision.analysis = format!("Declined by {} via {}{why}. {}", a.by, a.channel, decision.analysis);
    }
    decision.status = State::Declined;
    decision
}
