//! Placing approval calls: the first call about an escalated action
//! ([`Approver::request`](crate::Approver::request)) and, after a restart, a call again when
//! the last one died with its process ([`Approver::resume`](crate::Approver::resume)). Each
//! call is claimed in the store (the action's next approval attempt) before it is dialed, so
//! that of several processes only one dials.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;

use super::approver::{CallSlot, TelnyxVoiceApprover};
use super::call::{CallState, command_id, encode_state};
use super::client::{CommandRequest, DialRequest};
use super::conversation::{CallOutcome, CallPhase, Conversation};
use super::persist::{CHANNEL, Plan, StoredCall, max_conflicts, plan_for, stored_state};
use super::summary::spoken_menu;
use crate::approver::ApprovalRequest;
use crate::error::{ApproverError, StoreError};
use crate::ladder::StepReporter;
use crate::state::State;
use crate::store::{ApprovalAttempt, AttemptStatus, Store};

/// Actor of what the approver records on its own behalf.
const SYSTEM: &str = "sentinel";

fn store_failed(e: StoreError) -> ApproverError {
    ApproverError::with_source(format!("could not record the approval call: {e}"), e)
}

impl TelnyxVoiceApprover {
    /// Places the first call about an escalated action, to the admin.
    pub(super) async fn request_call(&self, request: ApprovalRequest) -> Result<(), ApproverError> {
        let admin = self.inner.config.admin_number.clone();
        self.request_call_to(request, &admin, None).await
    }

    /// Places a call about an escalated action to `to` (a ladder step's number); `reporter`
    /// hears when it ends without a decision.
    pub(super) async fn request_call_to(
        &self,
        request: ApprovalRequest,
        to: &str,
        reporter: Option<StepReporter>,
    ) -> Result<(), ApproverError> {
        self.link_from(&request);
        let seq = match self.durable() {
            Some(store) => Some(next_seq(
                &store
                    .attempts(request.action_id)
                    .await
                    .map_err(store_failed)?,
            )),
            None => None,
        };
        self.place_call(&request, seq, false, to, reporter)
            .await
            .map(drop)
    }

    /// Picks up a pending action after a restart: re-attaches to its call when one is under
    /// way, calls again when the last call died without a decision (at most
    /// [`max_redials`](super::TelnyxConfig::max_redials) times), else leaves it.
    pub(super) async fn resume_call(&self, request: ApprovalRequest) -> Result<(), ApproverError> {
        self.resume_call_to(request, None, None).await
    }

    /// [`resume_call`](Self::resume_call) for the calls to `to` (a ladder step's number;
    /// `None`: the number the last call dialled, else the admin's); `reporter` hears when
    /// the call taken up, or placed again, ends without a decision.
    pub(super) async fn resume_call_to(
        &self,
        request: ApprovalRequest,
        to: Option<&str>,
        reporter: Option<StepReporter>,
    ) -> Result<(), ApproverError> {
        self.link_from(&request);
        let Some(store) = self.durable() else {
            return Ok(()); // Nothing was kept: nothing to resume.
        };
        let id = request.action_id;
        let local = self.registry().by_action.get(&id).cloned();
        if let Some(slot) = local {
            let busy_or_on = slot
                .state
                .try_lock()
                .map_or(true, |s| s.conversation.phase != CallPhase::Ended);
            if busy_or_on {
                slot.report_to(reporter);
                return Ok(()); // This process is on it.
            }
        }
        for _ in 0..max_conflicts() {
            let attempts = store.attempts(id).await.map_err(store_failed)?;
            let config = &self.inner.config;
            let dial_to = match to {
                Some(to) => to.to_owned(),
                None => attempts
                    .iter()
                    .rev()
                    .find(|a| a.channel == CHANNEL)
                    .and_then(|a| StoredCall::read(a, config).ok())
                    .map_or_else(|| config.admin_number.clone(), |c| c.to(config).to_owned()),
            };
            match plan_for(&attempts, config, Utc::now(), to) {
                Plan::Attach(attempt) => {
                    tracing::info!(action_id = %id, attempt = attempt.seq, "approval call still under way; taking it up");
                    if let Some(slot) = self.adopt(attempt) {
                        slot.report_to(reporter);
                    }
                    return Ok(());
                }
                Plan::Wait => return Ok(()),
                Plan::Leave(why) => {
                    tracing::info!(action_id = %id, why, "not calling the admin again");
                    return Ok(());
                }
                Plan::Dial { seq, over } => {
                    if let Some(over) = over
                        && !self.end_cut_call(store.as_ref(), over).await?
                    {
                        continue; // Another process moved it: look again.
                    }
                    self.place_call(&request, Some(seq), true, &dial_to, reporter)
                        .await?;
                    return Ok(());
                }
            }
        }
        Err(store_failed(super::persist::busy()))
    }

    /// Records a call that cannot be going on any more as ended (interrupted). False when
    /// another process changed it first.
    async fn end_cut_call(
        &self,
        store: &dyn Store,
        mut attempt: ApprovalAttempt,
    ) -> Result<bool, ApproverError> {
        let mut call = StoredCall::read(&attempt, &self.inner.config).map_err(store_failed)?;
        call.conversation.phase = CallPhase::Ended;
        call.conversation
            .outcome
            .get_or_insert(CallOutcome::Interrupted);
        attempt.status = AttemptStatus::Ended;
        attempt.state = serde_json::to_value(&call)
            .map_err(|e| store_failed(StoreError::Backend(e.to_string())))?;
        tracing::info!(action_id = %attempt.action_id, attempt = attempt.seq, "approval call cut short by a restart");
        if store
            .update_attempt(&attempt)
            .await
            .map_err(store_failed)?
            .is_none()
        {
            return Ok(false);
        }
        // Should the call still be up (a silent line), end it: a new one asks again.
        if let Some(call_control_id) = &call.call_control_id {
            let request = CommandRequest {
                client_state: encode_state(attempt.action_id, "hangup"),
                command_id: command_id(),
            };
            if let Err(e) = self.inner.client.hangup(call_control_id, &request).await {
                tracing::info!(action_id = %attempt.action_id, error = %e, "could not hang up the cut call");
            }
        }
        Ok(true)
    }

    /// Claims call `seq` of the action in the store (when it keeps attempts) and dials it.
    /// False when another process claimed that call first (it dials, this one does not).
    async fn place_call(
        &self,
        request: &ApprovalRequest,
        seq: Option<u32>,
        resumed: bool,
        to: &str,
        reporter: Option<StepReporter>,
    ) -> Result<bool, ApproverError> {
        self.forget_old_calls();
        let c = &self.inner.config;
        let action_id = request.action_id;
        let menu = spoken_menu(
            &request.action,
            request.decision.risk_score,
            &self.redact_paths_for(request),
        );
        let slot = Arc::new(CallSlot::new(
            action_id,
            seq.unwrap_or(0),
            CallState {
                conversation: Conversation::new(menu, c.max_replays, c.pin_for(to)),
                handle: request.handle.clone(),
                to: to.to_owned(),
                call_control_id: None,
                ended_at: None,
                dialed_at: None,
                attempt: None,
            },
        ));
        // Hold the call's lock while dialing: early webhooks wait for the call's ids.
        let mut state = slot.state.lock().await;
        let store = self.durable();
        if let (Some(store), Some(seq)) = (&store, seq) {
            let attempt = ApprovalAttempt::new(
                action_id,
                seq,
                CHANNEL,
                stored_state(&state).map_err(store_failed)?,
            );
            match store.insert_attempt(&attempt).await.map_err(store_failed)? {
                Some(stored) => state.attempt = Some(stored),
                None => {
                    tracing::info!(%action_id, attempt = seq, "another process is calling the admin about this action");
                    return Ok(false);
                }
            }
        }
        slot.report_to(reporter);
        self.registry()
            .by_action
            .insert(action_id, Arc::clone(&slot));
        if resumed {
            self.back_to_waiting(request, seq.unwrap_or(0)).await;
        }
        let dial = DialRequest {
            connection_id: c.connection_id.clone(),
            to: to.to_owned(),
            from: c.from_number.clone(),
            webhook_url: c.webhook_url.clone(),
            webhook_url_method: c.webhook_url.as_ref().map(|_| "POST".to_owned()),
            timeout_secs: c.ring_timeout.as_secs(),
            time_limit_secs: c.call_time_limit.as_secs().clamp(30, 14_400),
            answering_machine_detection: c.answering_machine_detection.clone(),
            client_state: encode_state(action_id, "dial"),
            command_id: command_id(),
        };
        let store = store.as_deref();
        match self.inner.client.dial(&dial).await {
            Ok(call) => {
                tracing::info!(%action_id, resumed, "approval call placed");
                let ids: Vec<String> = [
                    Some(call.call_control_id.clone()),
                    call.call_leg_id,
                    call.call_session_id,
                ]
                .into_iter()
                .flatten()
                .collect();
                {
                    let mut registry = self.registry();
                    for id in &ids {
                        registry.by_call_id.insert(id.clone(), Arc::clone(&slot));
                    }
                }
                let (control, at) = (call.call_control_id, Utc::now());
                let dialed = |s: &mut CallState| {
                    s.call_control_id = Some(control.clone());
                    s.dialed_at = Some(at);
                    if let Some(attempt) = &mut s.attempt {
                        attempt.add_external_ids(ids.iter().cloned());
                    }
                };
                dialed(&mut state);
                if let Err(e) = self.save_with(store, &mut state, dialed).await {
                    tracing::warn!(%action_id, error = %e, "could not record the call's ids: its webhooks reach only this process");
                }
                slot.publish(&state);
                Ok(true)
            }
            Err(e) => {
                tracing::warn!(%action_id, error = %e, "could not place the approval call");
                let failed = |s: &mut CallState| {
                    s.conversation.phase = CallPhase::Ended;
                    s.conversation.outcome = Some(CallOutcome::DialFailed);
                };
                failed(&mut state);
                state.ended_at = Some(Instant::now());
                if let Err(e) = self.save_with(store, &mut state, failed).await {
                    tracing::warn!(%action_id, error = %e, "could not record the failed dial");
                }
                slot.publish(&state);
                Err(ApproverError::with_source(
                    format!("could not place the approval call: {e}"),
                    e,
                ))
            }
        }
    }

    /// Before calling again after a restart: an action left in `QNA_MODE` by the call that
    /// died goes back to waiting, and the trail says the admin is called again.
    async fn back_to_waiting(&self, request: &ApprovalRequest, seq: u32) {
        let handle = &request.handle;
        let in_qna = match self.link().and_then(|l| l.store()) {
            Some(store) => store
                .get(request.action_id)
                .await
                .is_ok_and(|r| r.state == State::QnaMode),
            None => false,
        };
        if in_qna && let Err(e) = handle.set_qna_mode(false, SYSTEM, CHANNEL).await {
            tracing::info!(action_id = %request.action_id, error = %e, "could not leave QNA_MODE");
        }
        let text = if seq <= 1 {
            "calling the admin on recovery: no approval call had been placed".to_owned()
        } else {
            format!(
                "calling the admin again on recovery: approval call {} ended without a decision",
                seq - 1
            )
        };
        if let Err(e) = handle.note(SYSTEM, CHANNEL, &text).await {
            tracing::warn!(action_id = %request.action_id, error = %e, "could not note the new call");
        }
    }
}

/// The number of the action's next approval attempt.
fn next_seq(attempts: &[ApprovalAttempt]) -> u32 {
    attempts.iter().map(|a| a.seq).max().unwrap_or(0) + 1
}
