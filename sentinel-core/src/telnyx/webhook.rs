//! [`TelnyxVoiceApprover::handle_webhook`]: a verified event finds its call (in this
//! process, or in the store when another process placed it), moves the conversation one
//! step — committed in the store over the version read, so that of two processes handling
//! events of one call each step is taken once, on the latest state — and only then does
//! what the step says.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::approver::{CallSlot, TelnyxVoiceApprover, WebhookError, WebhookOutcome};
use super::call::{CallState, ClientState, decode_state};
use super::conversation::{CallPhase, Effect, IgnoreReason};
use super::event::CallEvent;
use super::persist::{CHANNEL, StoredCall, busy, max_conflicts};
use super::verify::HeaderLookup;
use crate::error::StoreError;
use crate::store::{ApprovalAttempt, AttemptStatus, Store};

/// Longest a webhook waits for the dial response of its own call.
const DIAL_RACE_WAIT: Duration = Duration::from_secs(5);
/// How often a webhook looks for a call another process is still dialing.
const DIAL_RACE_POLL: Duration = Duration::from_millis(50);

impl TelnyxVoiceApprover {
    /// Verifies and handles one webhook (`POST /api/telnyx/webhook`): the signature and
    /// timestamp first, then the call is found by Telnyx's call ids among the calls this
    /// approver placed — in this process or, through the gateway's store, in another one
    /// (before a restart, or another instance) — the echoed client state being only a hint;
    /// then the conversation moves on. An event already handled on the call, by any
    /// process, changes nothing ([`IgnoreReason::Duplicate`]).
    pub async fn handle_webhook(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        raw_body: &[u8],
    ) -> Result<WebhookOutcome, WebhookError> {
        let event_id = self.inner.verifier.verify(headers, raw_body)?;
        let event = CallEvent::parse(raw_body)?;
        let result = self.handle_event(&event_id, &event).await;
        if let Err(WebhookError::Store(_)) = &result {
            // Nothing changed: let Telnyx's redelivery be handled.
            self.inner.verifier.forget(&event_id);
        }
        result
    }

    async fn handle_event(
        &self,
        event_id: &str,
        event: &CallEvent,
    ) -> Result<WebhookOutcome, WebhookError> {
        let hint = event.call.client_state.as_deref().and_then(decode_state);
        let ignored = |reason| WebhookOutcome::Ignored {
            event_id: event_id.to_owned(),
            event_type: event.event_type.clone(),
            reason,
        };
        let Some(slot) = self.find_call(event, hint.as_ref()).await? else {
            tracing::info!(event = %event.event_type, "webhook for a call this approver did not place");
            return Ok(ignored(IgnoreReason::UnknownCall));
        };
        let store = self.durable();
        let store = store.as_deref();
        let mut state = slot.state.lock().await;
        let closing = hint.as_ref().is_none_or(|h| h.step == "closing");
        let effects = match self.advance(store, &mut state, event, closing).await? {
            Ok(effects) => effects,
            Err(reason) => {
                slot.publish(&state);
                return Ok(ignored(reason));
            }
        };
        tracing::info!(action_id = %slot.action_id, event = %event.event_type, effects = effects.len(), "voice approval event");
        let outcome = state.conversation.outcome;
        let result = self.run(&mut state, slot.action_id, effects).await;
        if state.conversation.outcome != outcome {
            // "Already decided": recorded after the step, over what others wrote since.
            let late = state.conversation.outcome;
            if let Err(e) = self
                .save_with(store, &mut state, |s| s.conversation.outcome = late)
                .await
            {
                tracing::warn!(action_id = %slot.action_id, error = %e, "could not record how the call ended");
            }
        }
        if state.conversation.phase == CallPhase::Ended && state.ended_at.is_none() {
            state.ended_at = Some(Instant::now());
        }
        slot.publish(&state);
        slot.report_if_undecided(&state);
        result?;
        Ok(WebhookOutcome::Handled {
            event_id: event_id.to_owned(),
            event_type: event.event_type.clone(),
            action_id: slot.action_id,
            phase: state.conversation.phase,
        })
    }

    /// Moves the conversation by one event and commits the new state before anything is
    /// done about it; redone on the latest state when another process committed first.
    async fn advance(
        &self,
        store: Option<&dyn Store>,
        state: &mut CallState,
        event: &CallEvent,
        closing: bool,
    ) -> Result<Result<Vec<Effect>, IgnoreReason>, StoreError> {
        for _ in 0..max_conflicts() {
            if let Some(store) = store {
                self.refresh(store, state).await?;
            }
            let before = state.conversation.clone();
            let result = state.conversation.on_event(event, closing);
            let (Some(store), true) = (store, state.conversation != before) else {
                return Ok(result);
            };
            if self.save(store, state).await? {
                return Ok(result);
            }
            // Another process moved the call first: read what it left and decide again.
        }
        Err(busy())
    }

    /// The call an event is about, by Telnyx's ids: among this process's calls, else in the
    /// store. When the event races the dial response, the hint names the action whose dial
    /// is in flight (here or in another process); the call id must still match once the
    /// dial returns.
    async fn find_call(
        &self,
        event: &CallEvent,
        hint: Option<&ClientState>,
    ) -> Result<Option<Arc<CallSlot>>, StoreError> {
        let ids: Vec<&String> = [
            &event.call.call_control_id,
            &event.call.call_leg_id,
            &event.call.call_session_id,
        ]
        .into_iter()
        .flatten()
        .collect();
        let lookup = |registry: &super::approver::Registry| {
            ids.iter()
                .find_map(|id| registry.by_call_id.get(id.as_str()).cloned())
        };
        let warn_hint = |slot: &CallSlot| {
            if hint.is_some_and(|h| h.action_id != slot.action_id) {
                tracing::warn!(action_id = %slot.action_id, "webhook client state names another action; using the call's own");
            }
        };
        if let Some(slot) = lookup(&self.registry()) {
            warn_hint(&slot);
            return Ok(Some(slot));
        }
        let store = self.durable();
        if let Some(store) = &store
            && let Some(slot) = self.find_stored(store.as_ref(), &ids).await?
        {
            warn_hint(&slot);
            return Ok(Some(slot));
        }
        let Some(hint) = hint else {
            return Ok(None);
        };
        // `request` holds the call's lock while it dials: waiting for the lock waits for
        // the dial's answer.
        let pending = self.registry().by_action.get(&hint.action_id).cloned();
        if let Some(pending) = pending {
            let dialed = tokio::time::timeout(DIAL_RACE_WAIT, pending.state.lock())
                .await
                .ok()
                .is_some_and(|s| s.call_control_id.is_some());
            if !dialed {
                return Ok(None);
            }
            return Ok(lookup(&self.registry()).filter(|slot| Arc::ptr_eq(slot, &pending)));
        }
        // Another process may be dialing it: wait for the call's ids to be recorded.
        let Some(store) = store else {
            return Ok(None);
        };
        let until = Instant::now() + DIAL_RACE_WAIT;
        loop {
            let attempts = store.attempts(hint.action_id).await?;
            let dialing = attempts
                .iter()
                .rev()
                .find(|a| a.channel == CHANNEL)
                .is_some_and(|a| a.status == AttemptStatus::Starting);
            if !dialing || Instant::now() >= until {
                break;
            }
            tokio::time::sleep(DIAL_RACE_POLL).await;
        }
        self.find_stored(store.as_ref(), &ids).await
    }

    /// A call another process placed, by any of its ids, taken up here.
    async fn find_stored(
        &self,
        store: &dyn Store,
        ids: &[&String],
    ) -> Result<Option<Arc<CallSlot>>, StoreError> {
        for id in ids {
            if let Some(attempt) = store.find_attempt(CHANNEL, id).await? {
                return Ok(self.adopt(attempt));
            }
        }
        Ok(None)
    }

    /// Takes up a call from its stored attempt (placed before a restart, or by another
    /// instance): this process then handles its events like those of its own calls.
    pub(super) fn adopt(&self, attempt: ApprovalAttempt) -> Option<Arc<CallSlot>> {
        let link = self.link()?;
        let call = match StoredCall::read(&attempt, &self.inner.config) {
            Ok(call) => call,
            Err(e) => {
                tracing::warn!(action_id = %attempt.action_id, error = %e, "cannot take up a stored approval call");
                return None;
            }
        };
        let mut registry = self.registry();
        if let Some(slot) = attempt
            .external_ids
            .iter()
            .find_map(|id| registry.by_call_id.get(id))
        {
            return Some(Arc::clone(slot));
        }
        let action_id = attempt.action_id;
        let ids = attempt.external_ids.clone();
        let seq = attempt.seq;
        let ended = call.conversation.phase == CallPhase::Ended;
        let to = call.to(&self.inner.config).to_owned();
        let slot = Arc::new(CallSlot::new(
            action_id,
            seq,
            CallState {
                conversation: call.conversation,
                handle: link.handle(action_id),
                to,
                call_control_id: call.call_control_id,
                ended_at: ended.then(Instant::now),
                dialed_at: call.dialed_at,
                attempt: Some(attempt),
            },
        ));
        let newer = registry
            .by_action
            .get(&action_id)
            .is_none_or(|existing| existing.seq < seq);
        if newer {
            registry.by_action.insert(action_id, Arc::clone(&slot));
        }
        for id in ids {
            registry.by_call_id.insert(id, Arc::clone(&slot));
        }
        tracing::info!(%action_id, attempt = seq, "took up an approval call placed by another process");
        Some(slot)
    }
}
