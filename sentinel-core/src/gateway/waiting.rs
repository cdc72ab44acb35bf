//! Waiting for decisions: per-action wake-ups, the store's change feed, expiry and
//! recovery after a restart.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, broadcast};

use super::{Gateway, SYSTEM};
use crate::action::ActionId;
use crate::error::StoreError;
use crate::state::State;
use crate::store::{ActionRecord, Transition};

impl Gateway {
    /// Waits until the action is terminal or `timeout` passes (default: until its
    /// deadline, when it expires), and returns its record.
    pub async fn wait(
        &self,
        id: ActionId,
        timeout: Option<Duration>,
    ) -> Result<ActionRecord, StoreError> {
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

    pub(super) fn waiter(&self, id: ActionId) -> Arc<Notify> {
        let mut waiters = self.inner.waiters.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(waiters.entry(id).or_default())
    }

    pub(super) fn drop_waiter(&self, id: ActionId) {
        let mut waiters = self.inner.waiters.lock().unwrap_or_else(|p| p.into_inner());
        waiters.remove(&id);
    }

    pub(super) fn wake(&self, id: ActionId) {
        let waiters = self.inner.waiters.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = waiters.get(&id) {
            n.notify_waiters();
        }
    }

    /// Expires a pending action (no-op when it was decided meanwhile).
    pub(super) async fn expire(&self, id: ActionId) {
        let reason = format!(
            "no decision within {} s",
            self.inner.escalation_timeout.as_secs_f64()
        );
        match self
            .transition(
                id,
                Transition::new(State::Expired, SYSTEM, "timeout", reason),
            )
            .await
        {
            Ok(_) => {}
            // Decided meanwhile (perhaps by another process): no longer pending here.
            Err(StoreError::Transition(_)) => self.metrics().record_settled(id),
            Err(e) => tracing::warn!(action_id = %id, error = %e, "could not expire action"),
        }
    }

    /// Expires the action at `deadline` unless it is decided before.
    pub(super) fn schedule_expiry(&self, id: ActionId, deadline: DateTime<Utc>) {
        let weak = Arc::downgrade(&self.inner);
        let left = (deadline - Utc::now()).to_std().unwrap_or_default();
        tokio::spawn(async move {
            tokio::time::sleep(left).await;
            if let Some(gateway) = Gateway::from_weak(&weak) {
                gateway.expire(id).await;
            }
        });
    }

    /// Forwards the store's change feed (PostgreSQL `NOTIFY`) to waiting guards, once.
    pub(super) fn listen_to_store(&self) {
        if self.inner.listening.set(()).is_err() {
            return;
        }
        let Some(mut changes) = self.inner.store.changes() else {
            return;
        };
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                let id = match changes.recv().await {
                    Ok(id) => id,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                match Gateway::from_weak(&weak) {
                    Some(gateway) => gateway.wake(id),
                    None => return,
                }
            }
        });
    }

    /// Picks up where a previous process left off: expiries of pending actions are
    /// scheduled again from their stored deadlines (those already past expire now),
    /// actions left `ANALYZING` for longer than the analysis timeout (their process died or
    /// gave up mid-decision) are decided again, waiting guards wake on changes made
    /// elsewhere, and from then on a sweep repeats the last two periodically (see
    /// [`GatewayBuilder::analysis_timeout`](super::GatewayBuilder::analysis_timeout)).
    /// Then the approver [resumes](crate::Approver::resume) each action still pending
    /// (re-attaching to a call under way, or asking again when the question died with the
    /// process). Call once at start with a durable store. Returns the number of actions
    /// pending.
    pub async fn recover(&self) -> Result<usize, StoreError> {
        self.listen_to_store();
        self.start_sweeping();
        self.decide_abandoned().await?;
        let pending = self.inner.store.pending().await?;
        let mut still = 0;
        for record in &pending {
            match record.deadline {
                Some(deadline) if deadline > Utc::now() => {
                    self.metrics().record_pending(record.id);
                    self.schedule_expiry(record.id, deadline);
                    still += 1;
                }
                _ => self.expire(record.id).await,
            }
        }
        tracing::info!(
            pending = still,
            expired = pending.len() - still,
            "recovered pending approvals"
        );
        self.resume_approvals(&pending).await;
        Ok(still)
    }

    /// Decides again the actions whose decision was abandoned: left `RECEIVED` or
    /// `ANALYZING` for longer than the analysis timeout. Each is claimed in the store first,
    /// so that of several processes sweeping one store only one decides it. Returns how
    /// many were decided.
    pub(crate) async fn decide_abandoned(&self) -> Result<usize, StoreError> {
        let stale = Utc::now()
            - chrono::Duration::from_std(self.inner.analysis_timeout)
                .unwrap_or(chrono::Duration::MAX);
        let mut decided = 0;
        for record in self
            .inner
            .store
            .in_states(&[State::Received, State::Analyzing])
            .await?
        {
            if record.updated_at >= stale || !self.inner.store.claim_stale(record.id, stale).await?
            {
                continue; // Being decided now, here or elsewhere.
            }
            if record.state == State::Received {
                let step = Transition::new(State::Analyzing, SYSTEM, "recovery", "");
                if self.transition(record.id, step).await.is_err() {
                    continue;
                }
            }
            tracing::info!(action_id = %record.id, "deciding an action left half-decided");
            match self
                .settle(record.id, Arc::unwrap_or_clone(record.action))
                .await
            {
                Ok(_) => decided += 1,
                Err(e) => {
                    tracing::warn!(action_id = %record.id, error = %e, "could not decide a recovered action");
                }
            }
        }
        Ok(decided)
    }

    /// Expires pending actions whose deadline passed while no process of this gateway had
    /// an expiry scheduled for them (their process died).
    async fn expire_overdue(&self) -> Result<(), StoreError> {
        let now = Utc::now();
        for record in self.inner.store.pending().await? {
            if record.deadline.is_some_and(|d| d <= now) {
                self.expire(record.id).await;
            }
        }
        Ok(())
    }

    /// Starts the periodic recovery sweep, once per gateway (it ends with the gateway).
    pub(super) fn start_sweeping(&self) {
        // Outside a tokio runtime there is nothing to run it on: a later call inside one
        // starts it.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.sweeping.set(()).is_err() {
            return;
        }
        let every = (self.inner.analysis_timeout / 10).clamp(
            std::time::Duration::from_millis(20),
            std::time::Duration::from_secs(5),
        );
        let weak = Arc::downgrade(&self.inner);
        let checkpoint_every = self.inner.checkpoint_interval;
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            let mut checkpointed = tokio::time::Instant::now();
            loop {
                tick.tick().await;
                let Some(gateway) = Gateway::from_weak(&weak) else {
                    return;
                };
                if checkpointed.elapsed() >= checkpoint_every {
                    checkpointed = tokio::time::Instant::now();
                    if let Err(e) = gateway.checkpoint().await {
                        tracing::warn!(error = %e, "audit checkpoint failed");
                    }
                }
                if let Err(e) = gateway.decide_abandoned().await {
                    tracing::warn!(error = %e, "recovery sweep failed");
                }
                if let Err(e) = gateway.expire_overdue().await {
                    tracing::warn!(error = %e, "expiry sweep failed");
                }
            }
        });
    }
}
