//! [`LadderApprover`]: asks the steps of the action's route one after the other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;
use tokio::sync::{Notify, mpsc};

use super::channel::{Channel, ChannelKind, ConsoleChannel, StepReporter, StepRequest};
use super::progress::{self, Outcome, Position, StepState};
use super::route::{self, Route};
use super::{LADDER, QUORUM, quorum};
use crate::action::ActionId;
use crate::approver::{ApprovalRequest, Approver, ApproverLink, Resolution, Vote};
use crate::error::{ApproverError, StoreError};
use crate::store::{ApprovalAttempt, AuditKind, Store};

/// How often a step looks at the store for a decision made by another process.
const DEFAULT_POLL: Duration = Duration::from_millis(500);
/// The actor of the ladder's notes.
const SYSTEM: &str = "sentinel";

/// [`LadderApprover::new`] refused its routes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LadderError {
    /// A step uses a channel the ladder was not given.
    #[error("route `{route}` has a `{channel}` step, but no `{channel}` channel is set up")]
    MissingChannel {
        /// The route.
        route: String,
        /// The channel's name.
        channel: &'static str,
    },
    /// A route has no steps.
    #[error("route `{0}` has no steps")]
    NoSteps(String),
}

/// The approval ladder as an [`Approver`]: see [the module](super).
#[derive(Clone)]
pub struct LadderApprover {
    shared: Arc<Shared>,
}

struct Shared {
    routes: Vec<Route>,
    channels: HashMap<ChannelKind, Arc<dyn Channel>>,
    /// The gateway of the last [`Approver::attach`].
    link: Mutex<Option<ApproverLink>>,
    wakers: Mutex<HashMap<ActionId, Arc<Notify>>>,
    poll: Duration,
}

impl LadderApprover {
    /// A ladder over `routes` (first match wins) through `channels` (the `console` channel
    /// is always there). Refuses a route with a step whose channel is missing.
    pub fn new(routes: Vec<Route>, channels: Vec<Arc<dyn Channel>>) -> Result<Self, LadderError> {
        Self::with_poll(routes, channels, DEFAULT_POLL)
    }

    /// [`new`](Self::new), looking at the store every `poll` for decisions made by other
    /// processes (default 500 ms).
    pub fn with_poll(
        routes: Vec<Route>,
        channels: Vec<Arc<dyn Channel>>,
        poll: Duration,
    ) -> Result<Self, LadderError> {
        let mut map: HashMap<ChannelKind, Arc<dyn Channel>> = HashMap::new();
        map.insert(ChannelKind::Console, Arc::new(ConsoleChannel));
        for c in channels {
            map.insert(c.kind(), c);
        }
        for r in &routes {
            if r.steps.is_empty() {
                return Err(LadderError::NoSteps(r.name.clone()));
            }
            if let Some(s) = r.steps.iter().find(|s| !map.contains_key(&s.channel)) {
                return Err(LadderError::MissingChannel {
                    route: r.name.clone(),
                    channel: s.channel.as_str(),
                });
            }
        }
        Ok(Self {
            shared: Arc::new(Shared {
                routes,
                channels: map,
                link: Mutex::new(None),
                wakers: Mutex::new(HashMap::new()),
                poll: poll.max(Duration::from_millis(5)),
            }),
        })
    }

    /// The routes, in order.
    pub fn routes(&self) -> &[Route] {
        &self.shared.routes
    }

    fn begin(&self, request: ApprovalRequest, recovering: bool) -> Result<(), ApproverError> {
        let Some(route) = route::select(&self.shared.routes, &request.action, &request.decision)
        else {
            // No route: nobody is contacted; the console or the API decides before the
            // deadline, as without an approver.
            return Ok(());
        };
        let route = route.clone();
        let shared = Arc::clone(&self.shared);
        let id = request.action_id;
        let waker = shared.waker(id);
        tokio::spawn(async move {
            Drive {
                shared: &shared,
                route: &route,
                request,
                waker,
                recovering,
            }
            .run()
            .await;
            shared.forget(id);
        });
        Ok(())
    }
}

impl std::fmt::Debug for LadderApprover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LadderApprover")
            .field("routes", &self.shared.routes)
            .field("channels", &self.shared.channels.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn waker(&self, id: ActionId) -> Arc<Notify> {
        let mut w = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(w.entry(id).or_default())
    }

    fn wake(&self, id: ActionId) {
        let w = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = w.get(&id) {
            n.notify_one();
        }
    }

    fn forget(&self, id: ActionId) {
        let mut w = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        w.remove(&id);
    }

    fn link(&self) -> Option<ApproverLink> {
        self.link.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl Approver for LadderApprover {
    fn name(&self) -> &str {
        LADDER
    }

    async fn request(&self, request: ApprovalRequest) -> Result<(), ApproverError> {
        self.begin(request, false)
    }

    fn attach(&self, link: ApproverLink) {
        for c in self.shared.channels.values() {
            c.attach(link.clone());
        }
        *self.shared.link.lock().unwrap_or_else(|e| e.into_inner()) = Some(link);
    }

    async fn resume(&self, request: ApprovalRequest) -> Result<(), ApproverError> {
        self.begin(request, true)
    }

    async fn vote(&self, action_id: ActionId, resolution: &Resolution) -> Result<Vote, StoreError> {
        let Some(link) = self.shared.link() else {
            return Ok(Vote::Decide(resolution.clone()));
        };
        let Some(store) = link.store() else {
            return Ok(Vote::Decide(resolution.clone()));
        };
        let record = store.get(action_id).await?;
        let route = record
            .decision
            .as_ref()
            .and_then(|d| route::select(&self.shared.routes, &record.action, d));
        let (Some(route), true) = (route, record.state.is_pending()) else {
            // No quorum to count towards, or decided already (the gateway says so).
            return Ok(Vote::Decide(resolution.clone()));
        };
        let vote = quorum::count(
            store.as_ref(),
            &link.handle(action_id),
            route.quorum,
            resolution,
        )
        .await?;
        self.shared.wake(action_id);
        Ok(vote)
    }
}

/// One action's walk up its route.
struct Drive<'a> {
    shared: &'a Shared,
    route: &'a Route,
    request: ApprovalRequest,
    waker: Arc<Notify>,
    recovering: bool,
}

impl Drive<'_> {
    async fn run(mut self) {
        let id = self.request.action_id;
        let link = ApproverLink::from(&self.request.handle);
        loop {
            let Some(store) = link.store() else {
                return; // the gateway is gone (the process is stopping)
            };
            match self.step(store.as_ref()).await {
                Ok(true) => continue,
                Ok(false) => return,
                Err(e) => {
                    // The store is down: nothing is decided; look again (the deadline
                    // still expires the action).
                    tracing::warn!(action_id = %id, error = %e, "approval ladder: store failed");
                    tokio::time::sleep(self.shared.poll).await;
                }
            }
        }
    }

    /// One move on the ladder; `false` once the action is decided or every step ended.
    async fn step(&mut self, store: &dyn Store) -> Result<bool, StoreError> {
        let id = self.request.action_id;
        if !store.get(id).await?.state.is_pending() {
            return Ok(false);
        }
        let attempts = store.attempts(id).await?;
        match progress::locate(&attempts, self.route) {
            Position::Next { index, seq } => {
                let step = &self.route.steps[index];
                let timeout =
                    chrono::Duration::from_std(step.timeout).unwrap_or(chrono::Duration::MAX);
                let ends_at = (Utc::now() + timeout).min(self.request.deadline);
                let state = StepState {
                    route: self.route.name.clone(),
                    index,
                    channel: step.channel,
                    to: step.to.clone(),
                    ends_at,
                    of: self.route.steps.len(),
                    quorum: self.route.quorum,
                    outcome: None,
                    reason: String::new(),
                };
                let Some(attempt) = progress::claim(store, id, seq, &state).await? else {
                    return Ok(true); // another process took this attempt: read again
                };
                let text = format!(
                    "route `{}` step {} of {} started: {}, up to {} s{}",
                    self.route.name,
                    index + 1,
                    self.route.steps.len(),
                    step.describe(),
                    step.timeout.as_secs_f64(),
                    if self.route.quorum > 1 {
                        format!(" (quorum {})", self.route.quorum)
                    } else {
                        String::new()
                    }
                );
                self.note(&text).await;
                let (reporter, failures) = StepReporter::channel();
                let started = self
                    .channel(step.channel)
                    .start(self.step_request(&state, reporter))
                    .await;
                match started {
                    Err(e) => {
                        self.end(store, &attempt, state, Outcome::Failed, &e.message)
                            .await?;
                    }
                    Ok(()) => self.watch(store, attempt, state, Some(failures)).await?,
                }
                Ok(true)
            }
            Position::Live(attempt, state) => {
                let mut failures = None;
                if std::mem::take(&mut self.recovering) {
                    let (reporter, rx) = StepReporter::channel();
                    let req = self.step_request(&state, reporter);
                    if let Err(e) = self.channel(state.channel).resume(req).await {
                        self.end(store, &attempt, state, Outcome::Failed, &e.message)
                            .await?;
                        return Ok(true);
                    }
                    // The resumed channel may still fail the step (a call taken up ends
                    // unanswered).
                    failures = Some(rx);
                }
                self.watch(store, attempt, state, failures).await?;
                Ok(true)
            }
            Position::Done { failed, reason } => {
                let handle = &self.request.handle;
                let ended = if failed {
                    handle
                        .fail(
                            LADDER,
                            &format!(
                                "no channel could be reached: the last step of route `{}` failed: {reason}",
                                self.route.name
                            ),
                        )
                        .await
                } else {
                    handle
                        .expire(
                            LADDER,
                            &format!(
                                "every step of route `{}` ended without a decision",
                                self.route.name
                            ),
                        )
                        .await
                };
                if let Err(e) = ended {
                    tracing::debug!(action_id = %id, error = %e, "approval ladder: decided meanwhile");
                }
                Ok(false)
            }
        }
    }

    /// Waits for the live step to end: its timeout, its channel failing, a person
    /// answering through it, or the action being decided.
    async fn watch(
        &self,
        store: &dyn Store,
        attempt: ApprovalAttempt,
        state: StepState,
        mut failures: Option<mpsc::UnboundedReceiver<String>>,
    ) -> Result<(), StoreError> {
        let id = self.request.action_id;
        let kind = state.channel;
        loop {
            if !ApproverLink::from(&self.request.handle).is_alive() {
                return Ok(()); // the gateway is gone (the process is stopping)
            }
            let left = (state.ends_at - Utc::now()).to_std().unwrap_or_default();
            if left.is_zero() {
                let why = format!(
                    "no decision within {} s",
                    self.route.steps[state.index].timeout.as_secs_f64()
                );
                self.end(store, &attempt, state, Outcome::Timeout, &why)
                    .await?;
                return Ok(());
            }
            let failed = async {
                match failures.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                Some(reason) = failed => {
                    self.end(store, &attempt, state, Outcome::Failed, &reason).await?;
                    return Ok(());
                }
                () = tokio::time::sleep(left.min(self.shared.poll)) => {}
                () = self.waker.notified() => {}
            }
            if !store.get(id).await?.state.is_pending() {
                return Ok(());
            }
            let trail = store.audit_trail(id).await?;
            // A vote that met the quorum is being recorded as the decision: that ends the
            // ladder, not just the step.
            let met = quorum::approvers(&trail).len() >= self.route.quorum as usize;
            if let Some(who) = answered_since(&trail, attempt.created_at, kind).filter(|_| !met) {
                let why = format!("approved by {who}; the quorum needs more approvers");
                self.end(store, &attempt, state, Outcome::Answered, &why)
                    .await?;
                return Ok(());
            }
            if store
                .attempts(id)
                .await?
                .iter()
                .any(|a| a.seq == attempt.seq && a.status == crate::store::AttemptStatus::Ended)
            {
                return Ok(()); // another process ended it
            }
        }
    }

    async fn end(
        &self,
        store: &dyn Store,
        attempt: &ApprovalAttempt,
        state: StepState,
        outcome: Outcome,
        reason: &str,
    ) -> Result<(), StoreError> {
        let (index, channel) = (state.index, state.channel);
        if progress::end(store, attempt, state, outcome, reason).await? {
            let text = format!(
                "route `{}` step {} of {} ({}) ended: {}: {reason}",
                self.route.name,
                index + 1,
                self.route.steps.len(),
                channel.as_str(),
                outcome.as_str()
            );
            self.note(&text).await;
        }
        Ok(())
    }

    fn channel(&self, kind: ChannelKind) -> Arc<dyn Channel> {
        match self.shared.channels.get(&kind) {
            Some(c) => Arc::clone(c),
            // `new` checked every step's channel; the console contacts nobody.
            None => Arc::new(ConsoleChannel),
        }
    }

    fn step_request(&self, state: &StepState, reporter: StepReporter) -> StepRequest {
        StepRequest {
            request: self.request.clone(),
            route: self.route.name.clone(),
            index: state.index,
            of: self.route.steps.len(),
            to: state.to.clone(),
            ends_at: state.ends_at,
            reporter,
        }
    }

    async fn note(&self, text: &str) {
        if let Err(e) = self.request.handle.note(SYSTEM, LADDER, text).await {
            tracing::warn!(action_id = %self.request.action_id, error = %e, "approval ladder: cannot record a step");
        }
    }
}

/// Who approved through a channel of `kind` since `since` (a quorum vote).
fn answered_since(
    trail: &[crate::store::AuditEvent],
    since: DateTime<Utc>,
    kind: ChannelKind,
) -> Option<String> {
    trail
        .iter()
        .filter(|e| e.kind == AuditKind::Note && e.channel == QUORUM && e.at >= since)
        .find(|e| {
            e.reason
                .strip_prefix("approved via ")
                .and_then(|r| r.split(';').next())
                .is_some_and(|via| kind.owns(via))
        })
        .map(|e| e.actor.clone())
}
