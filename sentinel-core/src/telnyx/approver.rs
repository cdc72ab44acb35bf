//! [`TelnyxVoiceApprover`]: phones the admin for each escalated action and turns the
//! call's signed webhooks into a decision.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use thiserror::Error;

use super::call::{CallState, ClientState, command_id, decode_state, encode_state};
use super::client::{DialRequest, TelnyxClient, TelnyxError};
use super::config::TelnyxConfig;
use super::conversation::{CallOutcome, CallPhase, Conversation, IgnoreReason};
use super::event::{CallEvent, EventError};
use super::summary::spoken_menu;
use super::verify::{Clock, HeaderLookup, SystemClock, VerifyError, WebhookVerifier};
use crate::action::ActionId;
use crate::approver::{ApprovalRequest, Approver};
use crate::error::ApproverError;

/// Longest a webhook waits for the dial response of its own call.
const DIAL_RACE_WAIT: Duration = Duration::from_secs(5);
/// Ended calls are forgotten after this long.
const KEEP_ENDED: Duration = Duration::from_secs(3600);

/// What a verified webhook did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookOutcome {
    /// The event moved the call's conversation.
    Handled {
        /// The event id.
        event_id: String,
        /// The event type.
        event_type: String,
        /// The action the call is about.
        action_id: ActionId,
        /// Where the call stands now.
        phase: CallPhase,
    },
    /// The event was valid but changed nothing.
    Ignored {
        /// The event id.
        event_id: String,
        /// The event type.
        event_type: String,
        /// Why.
        reason: IgnoreReason,
    },
}

/// A webhook was refused or could not be carried out.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signature, timestamp or event id check failed.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The signed body is not a call event.
    #[error(transparent)]
    Event(#[from] EventError),
    /// A command to Telnyx failed while handling the event.
    #[error(transparent)]
    Telnyx(#[from] TelnyxError),
}

impl WebhookError {
    /// The HTTP status the server should answer with: 200 for a replayed event (it was
    /// handled already; this stops redeliveries), 401 for a failed signature or timestamp,
    /// 400 for an unreadable body, 502 when a command to Telnyx failed.
    pub fn http_status(&self) -> u16 {
        match self {
            WebhookError::Verify(VerifyError::Replayed { .. }) => 200,
            WebhookError::Verify(VerifyError::NoEventId { .. }) | WebhookError::Event(_) => 400,
            WebhookError::Verify(_) => 401,
            WebhookError::Telnyx(_) => 502,
        }
    }
}

/// Where one approval call stands, for dashboards and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallReport {
    /// The action.
    pub action_id: ActionId,
    /// Telnyx's id of the call, once dialed.
    pub call_control_id: Option<String>,
    /// Where the call stands.
    pub phase: CallPhase,
    /// How it ended, once it has.
    pub outcome: Option<CallOutcome>,
    /// True while the call is being placed: the dial has not answered yet (`phase` is
    /// then `Ringing` and `call_control_id` unknown).
    pub dialing: bool,
}

struct CallSlot {
    action_id: ActionId,
    state: tokio::sync::Mutex<CallState>,
    /// The last report read from `state`, for readers that find it locked by a dial or a
    /// webhook in progress: reads never wait on the approver.
    seen: Mutex<Option<CallReport>>,
}

#[derive(Default)]
struct Registry {
    by_action: HashMap<ActionId, Arc<CallSlot>>,
    by_call_id: HashMap<String, Arc<CallSlot>>,
}

pub(super) struct Inner {
    pub(super) config: TelnyxConfig,
    pub(super) client: TelnyxClient,
    verifier: WebhookVerifier,
    calls: Mutex<Registry>,
}

/// Asks the admin by phone: a spoken, redacted summary, "press 1 to approve, press 2 to
/// ask questions", then spoken Q&A answered by the gateway's risk scorer.
///
/// Share one instance between the gateway (as its approver) and the HTTP server (which
/// passes each `POST /api/telnyx/webhook` to [`handle_webhook`](Self::handle_webhook)):
/// clones share everything.
///
/// It fails closed: only a verified `1` key press or an explicit spoken approval on the
/// admin's own call (plus the PIN, when configured) approves. Unanswered calls, hang-ups,
/// machines and silence leave the action pending; the gateway's timeout then expires it.
#[derive(Clone)]
pub struct TelnyxVoiceApprover {
    pub(super) inner: Arc<Inner>,
    /// Paths masked in what is read aloud, besides those each request carries.
    redact_paths: Arc<[String]>,
}

impl fmt::Debug for TelnyxVoiceApprover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelnyxVoiceApprover")
            .field("admin", &self.inner.config.admin_number)
            .field("api_base", &self.inner.config.api_base)
            .finish_non_exhaustive()
    }
}

impl TelnyxVoiceApprover {
    /// An approver for `config`, with the system clock.
    pub fn new(config: TelnyxConfig) -> Result<Self, TelnyxError> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// An approver reading its configuration from the environment.
    pub fn from_env() -> Result<Self, ApproverError> {
        let config = TelnyxConfig::from_env().map_err(|e| ApproverError::new(e.to_string()))?;
        Self::new(config).map_err(|e| ApproverError::new(e.to_string()))
    }

    /// An approver whose webhook timestamps are checked against `clock`.
    pub fn with_clock(config: TelnyxConfig, clock: Arc<dyn Clock>) -> Result<Self, TelnyxError> {
        let client = TelnyxClient::new(&config.api_base, config.api_key.clone())?;
        let verifier = WebhookVerifier::new(config.public_key.clone())
            .with_clock(clock)
            .with_tolerance(config.webhook_tolerance);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                client,
                verifier,
                calls: Mutex::default(),
            }),
            redact_paths: Arc::from(Vec::new()),
        })
    }

    /// Also masks `paths` (e.g. `payload.account.iban`) in what is read aloud, besides
    /// the paths the packs in force declare (each request carries those). Call before
    /// handing clones to the gateway: clones made earlier keep the old paths.
    #[must_use]
    pub fn with_redact_paths(mut self, paths: impl IntoIterator<Item = String>) -> Self {
        let mut all = self.redact_paths.to_vec();
        all.extend(paths);
        self.redact_paths = Arc::from(all);
        self
    }

    /// The configuration (the API key stays hidden in `Debug`).
    pub fn config(&self) -> &TelnyxConfig {
        &self.inner.config
    }

    /// Where the approval call for `action_id` stands, if one was placed. Never waits:
    /// while a dial (or a webhook) holds the call, it answers with the last phase it saw,
    /// or `dialing` when the dial has not answered yet.
    pub async fn call_report(&self, action_id: ActionId) -> Option<CallReport> {
        let slot = self.registry().by_action.get(&action_id).cloned()?;
        let mut seen = slot.seen.lock().unwrap_or_else(|p| p.into_inner());
        let Ok(state) = slot.state.try_lock() else {
            // `request` holds the lock from before the call is registered until the dial
            // answers, so a call never seen unlocked is still being dialed.
            return Some(seen.clone().unwrap_or(CallReport {
                action_id,
                call_control_id: None,
                phase: CallPhase::Ringing,
                outcome: None,
                dialing: true,
            }));
        };
        let report = CallReport {
            action_id,
            call_control_id: state.call_control_id.clone(),
            phase: state.conversation.phase,
            outcome: state.conversation.outcome,
            dialing: false,
        };
        *seen = Some(report.clone());
        Some(report)
    }

    /// Verifies and handles one webhook (`POST /api/telnyx/webhook`): the signature and
    /// timestamp first, then the call is found by Telnyx's call ids among the calls this
    /// approver placed (the echoed client state is only a hint), then the conversation
    /// moves on.
    pub async fn handle_webhook(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        raw_body: &[u8],
    ) -> Result<WebhookOutcome, WebhookError> {
        let event_id = self.inner.verifier.verify(headers, raw_body)?;
        let event = CallEvent::parse(raw_body)?;
        let hint = event.call.client_state.as_deref().and_then(decode_state);
        let ignored = |reason| WebhookOutcome::Ignored {
            event_id: event_id.clone(),
            event_type: event.event_type.clone(),
            reason,
        };
        let Some(slot) = self.find_call(&event, hint.as_ref()).await else {
            tracing::info!(event = %event.event_type, "webhook for a call this approver did not place");
            return Ok(ignored(IgnoreReason::UnknownCall));
        };
        let mut state = slot.state.lock().await;
        let closing = hint.as_ref().is_none_or(|h| h.step == "closing");
        let effects = match state.conversation.on_event(&event, closing) {
            Ok(effects) => effects,
            Err(reason) => return Ok(ignored(reason)),
        };
        tracing::info!(action_id = %slot.action_id, event = %event.event_type, effects = effects.len(), "voice approval event");
        let result = self.run(&mut state, slot.action_id, effects).await;
        if state.conversation.phase == CallPhase::Ended && state.ended_at.is_none() {
            state.ended_at = Some(Instant::now());
        }
        result?;
        Ok(WebhookOutcome::Handled {
            event_id,
            event_type: event.event_type.clone(),
            action_id: slot.action_id,
            phase: state.conversation.phase,
        })
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The call an event is about, by Telnyx's ids. When the event races the dial
    /// response, the hint names the action whose dial is in flight; the call id must
    /// still match once the dial returns.
    async fn find_call(
        &self,
        event: &CallEvent,
        hint: Option<&ClientState>,
    ) -> Option<Arc<CallSlot>> {
        let ids = [
            &event.call.call_control_id,
            &event.call.call_leg_id,
            &event.call.call_session_id,
        ];
        let lookup = |registry: &Registry| {
            ids.iter()
                .filter_map(|id| id.as_ref())
                .find_map(|id| registry.by_call_id.get(id).cloned())
        };
        if let Some(slot) = lookup(&self.registry()) {
            if hint.is_some_and(|h| h.action_id != slot.action_id) {
                tracing::warn!(action_id = %slot.action_id, "webhook client state names another action; using the call's own");
            }
            return Some(slot);
        }
        // `request` holds the call's lock while it dials: waiting for the lock waits for
        // the dial's answer.
        let pending = hint.and_then(|h| self.registry().by_action.get(&h.action_id).cloned())?;
        let dialed = tokio::time::timeout(DIAL_RACE_WAIT, pending.state.lock())
            .await
            .ok()?
            .call_control_id
            .is_some();
        if !dialed {
            return None;
        }
        let slot = lookup(&self.registry())?;
        Arc::ptr_eq(&slot, &pending).then_some(slot)
    }

    fn redact_paths_for(&self, request: &ApprovalRequest) -> Vec<String> {
        let mut paths = self.redact_paths.to_vec();
        paths.extend(request.redact_paths.iter().cloned());
        paths
    }

    fn forget_old_calls(&self) {
        let mut registry = self.registry();
        let old: Vec<ActionId> = registry
            .by_action
            .iter()
            .filter(|(_, slot)| {
                slot.state
                    .try_lock()
                    .is_ok_and(|s| s.ended_at.is_some_and(|at| at.elapsed() > KEEP_ENDED))
            })
            .map(|(id, _)| *id)
            .collect();
        for id in old {
            if let Some(slot) = registry.by_action.remove(&id) {
                registry.by_call_id.retain(|_, s| !Arc::ptr_eq(s, &slot));
            }
        }
    }
}

#[async_trait]
impl Approver for TelnyxVoiceApprover {
    fn name(&self) -> &str {
        "telnyx-voice"
    }

    /// Places the call. The conversation continues in [`handle_webhook`](Self::handle_webhook).
    async fn request(&self, request: ApprovalRequest) -> Result<(), ApproverError> {
        self.forget_old_calls();
        let c = &self.inner.config;
        let action_id = request.action_id;
        let menu = spoken_menu(
            &request.action,
            request.decision.risk_score,
            &self.redact_paths_for(&request),
        );
        let slot = Arc::new(CallSlot {
            action_id,
            state: tokio::sync::Mutex::new(CallState {
                conversation: Conversation::new(menu, c.max_replays, c.pin.clone()),
                handle: request.handle.clone(),
                call_control_id: None,
                ended_at: None,
            }),
            seen: Mutex::new(None),
        });
        // Hold the call's lock while dialing: early webhooks wait for the call's ids.
        let mut state = slot.state.lock().await;
        self.registry()
            .by_action
            .insert(action_id, Arc::clone(&slot));
        let dial = DialRequest {
            connection_id: c.connection_id.clone(),
            to: c.admin_number.clone(),
            from: c.from_number.clone(),
            webhook_url: c.webhook_url.clone(),
            webhook_url_method: c.webhook_url.as_ref().map(|_| "POST".to_owned()),
            timeout_secs: c.ring_timeout.as_secs(),
            time_limit_secs: c.call_time_limit.as_secs().clamp(30, 14_400),
            answering_machine_detection: c.answering_machine_detection.clone(),
            client_state: encode_state(action_id, "dial"),
            command_id: command_id(),
        };
        match self.inner.client.dial(&dial).await {
            Ok(call) => {
                tracing::info!(%action_id, "approval call placed");
                let mut registry = self.registry();
                for id in [
                    Some(call.call_control_id.clone()),
                    call.call_leg_id,
                    call.call_session_id,
                ]
                .into_iter()
                .flatten()
                {
                    registry.by_call_id.insert(id, Arc::clone(&slot));
                }
                state.call_control_id = Some(call.call_control_id);
                Ok(())
            }
            Err(e) => {
                tracing::warn!(%action_id, error = %e, "could not place the approval call");
                state.conversation.phase = CallPhase::Ended;
                state.conversation.outcome = Some(CallOutcome::DialFailed);
                state.ended_at = Some(Instant::now());
                Err(ApproverError::with_source(
                    format!("could not place the approval call: {e}"),
                    e,
                ))
            }
        }
    }
}

impl crate::code::Coded for WebhookError {
    fn code(&self) -> crate::code::ErrorCode {
        use crate::code::ErrorCode;
        match self {
            WebhookError::Verify(VerifyError::Replayed { .. }) => ErrorCode::AlreadyDecided,
            WebhookError::Verify(VerifyError::NoEventId { .. }) | WebhookError::Event(_) => {
                ErrorCode::InvalidRequest
            }
            WebhookError::Verify(_) => ErrorCode::WebhookUnverified,
            WebhookError::Telnyx(_) => ErrorCode::ApproverFailed,
        }
    }
}
