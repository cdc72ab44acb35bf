//! [`TelnyxVoiceApprover`]: phones the admin for each escalated action and turns the
//! call's signed webhooks into a decision.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use thiserror::Error;

use super::call::CallState;
use super::client::{TelnyxClient, TelnyxError};
use super::config::TelnyxConfig;
use super::conversation::{CallOutcome, CallPhase, IgnoreReason};
use super::event::EventError;
use super::persist::{CHANNEL, StoredCall};
use super::verify::{Clock, SystemClock, VerifyError, WebhookVerifier};
use crate::action::ActionId;
use crate::approver::{ApprovalRequest, Approver, ApproverLink};
use crate::error::{ApproverError, StoreError};
use crate::ladder::StepReporter;
use crate::store::{ApprovalAttempt, AttemptStatus};

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
    /// The call's state could not be read from or written to the store; nothing changed,
    /// and a redelivery of the event is handled.
    #[error("the approval call's state is unavailable: {0}")]
    Store(#[from] StoreError),
}

impl WebhookError {
    /// The HTTP status the server should answer with: 200 for a replayed event (it was
    /// handled already; this stops redeliveries), 401 for a failed signature or timestamp,
    /// 400 for an unreadable body, 502 when a command to Telnyx failed, 503 when the store
    /// failed (Telnyx then redelivers the event).
    pub fn http_status(&self) -> u16 {
        match self {
            WebhookError::Verify(VerifyError::Replayed { .. }) => 200,
            WebhookError::Verify(VerifyError::NoEventId { .. }) | WebhookError::Event(_) => 400,
            WebhookError::Verify(_) => 401,
            WebhookError::Telnyx(_) => 502,
            WebhookError::Store(_) => 503,
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

/// One call this process knows: its state behind the lock that serialises this process's
/// work on it (dialing, each event). Across processes, the store's version does that.
pub(super) struct CallSlot {
    pub(super) action_id: ActionId,
    /// The call's number among the action's approval attempts (0 without a durable store).
    pub(super) seq: u32,
    pub(super) state: tokio::sync::Mutex<CallState>,
    /// The last report read from `state`, for readers that find it locked by a dial or a
    /// webhook in progress: reads never wait on the approver.
    seen: Mutex<Option<CallReport>>,
    /// The ladder step this call is, told once when the call ends without a decision.
    reporter: Mutex<Option<StepReporter>>,
}

impl CallSlot {
    pub(super) fn new(action_id: ActionId, seq: u32, state: CallState) -> Self {
        Self {
            action_id,
            seq,
            state: tokio::sync::Mutex::new(state),
            seen: Mutex::new(None),
            reporter: Mutex::new(None),
        }
    }

    /// Makes this call a ladder step: `reporter` hears when it ends undecided.
    pub(super) fn report_to(&self, reporter: Option<StepReporter>) {
        if let Some(r) = reporter {
            *self.reporter.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
        }
    }

    /// Tells the ladder step (once) that the call ended, or is ending, without a decision:
    /// not answered, a machine, hung up, goodbye, no valid input, a wrong PIN.
    pub(super) fn report_if_undecided(&self, state: &CallState) {
        let Some(outcome) = state.conversation.outcome else {
            return;
        };
        if outcome.decided() || outcome == CallOutcome::AlreadyDecided {
            return;
        }
        let taken = self
            .reporter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(reporter) = taken {
            reporter.failed(undecided_reason(outcome, &state.to));
        }
    }

    /// Remembers where the call stands, for [`TelnyxVoiceApprover::call_report`].
    pub(super) fn publish(&self, state: &CallState) {
        let report = CallReport {
            action_id: self.action_id,
            call_control_id: state.call_control_id.clone(),
            phase: state.conversation.phase,
            outcome: state.conversation.outcome,
            dialing: false,
        };
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(report);
    }
}

/// Why a call that ended undecided failed its ladder step (no secrets: never the PIN).
pub(super) fn undecided_reason(outcome: CallOutcome, to: &str) -> String {
    match outcome {
        CallOutcome::NoAnswer => format!("the call to {to} was not answered"),
        CallOutcome::Machine => format!("an answering machine picked up at {to}"),
        CallOutcome::HungUp => format!("{to} hung up without a decision"),
        CallOutcome::Goodbye => format!("{to} ended the call without a decision"),
        CallOutcome::NoInput => format!("no valid answer from {to}"),
        CallOutcome::PinFailed => format!("wrong PIN entered too many times on the call to {to}"),
        CallOutcome::DialFailed => format!("the call to {to} could not be placed"),
        CallOutcome::Interrupted => format!("the call to {to} was cut short"),
        CallOutcome::Approved | CallOutcome::Declined | CallOutcome::AlreadyDecided => {
            format!("the call to {to} ended")
        }
    }
}

#[derive(Default)]
pub(super) struct Registry {
    pub(super) by_action: HashMap<ActionId, Arc<CallSlot>>,
    pub(super) by_call_id: HashMap<String, Arc<CallSlot>>,
}

pub(super) struct Inner {
    pub(super) config: TelnyxConfig,
    pub(super) client: TelnyxClient,
    pub(super) verifier: WebhookVerifier,
    calls: Mutex<Registry>,
    /// The gateway this approver serves (its store, handles for any action).
    link: Mutex<Option<ApproverLink>>,
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
///
/// With a store that keeps approval attempts (both of this crate's), each call's state
/// lives in the gateway's store: a webhook reaching a restarted process, or another
/// instance on the same PostgreSQL database, carries the call on, and
/// [`Gateway::recover`](crate::Gateway::recover) calls the admin again about a pending
/// action whose call died with its process (see `docs/telnyx.md`).
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
                link: Mutex::default(),
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

    /// Where the approval call for `action_id` stands, if one was placed (its latest call,
    /// when it was called again). Never waits on the call: with a durable store it reads
    /// the call as last recorded there (by this process or another); otherwise, while a
    /// dial (or a webhook) holds the call, it answers with the last phase it saw, or
    /// `dialing` when the dial has not answered yet.
    pub async fn call_report(&self, action_id: ActionId) -> Option<CallReport> {
        if let Some(store) = self.durable() {
            match store.attempts(action_id).await {
                Ok(attempts) => {
                    let last = attempts.iter().rev().find(|a| a.channel == CHANNEL);
                    if let Some(report) = last.and_then(|a| self.report_of(a)) {
                        return Some(report);
                    }
                }
                Err(e) => {
                    tracing::debug!(%action_id, error = %e, "call report from memory: the store failed");
                }
            }
        }
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

    fn report_of(&self, attempt: &ApprovalAttempt) -> Option<CallReport> {
        let call = StoredCall::read(attempt, &self.inner.config).ok()?;
        Some(CallReport {
            action_id: attempt.action_id,
            call_control_id: call.call_control_id,
            phase: call.conversation.phase,
            outcome: call.conversation.outcome,
            dialing: attempt.status == AttemptStatus::Starting,
        })
    }

    pub(super) fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The gateway this approver serves, once attached.
    pub(super) fn link(&self) -> Option<ApproverLink> {
        self.inner
            .link
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .filter(ApproverLink::is_alive)
    }

    /// Attaches to the gateway a request came from, when none is attached.
    pub(super) fn link_from(&self, request: &ApprovalRequest) {
        let mut link = self.inner.link.lock().unwrap_or_else(|p| p.into_inner());
        if link.as_ref().is_none_or(|l| !l.is_alive()) {
            *link = Some(ApproverLink::from(&request.handle));
        }
    }

    pub(super) fn redact_paths_for(&self, request: &ApprovalRequest) -> Vec<String> {
        let mut paths = self.redact_paths.to_vec();
        paths.extend(request.redact_paths.iter().cloned());
        paths
    }

    pub(super) fn forget_old_calls(&self) {
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
        CHANNEL
    }

    /// Places the call (claimed in the store first, when it keeps attempts). The
    /// conversation continues in [`handle_webhook`](Self::handle_webhook).
    async fn request(&self, request: ApprovalRequest) -> Result<(), ApproverError> {
        self.request_call(request).await
    }

    /// Keeps the gateway's link: its store holds the calls' state.
    fn attach(&self, link: ApproverLink) {
        *self.inner.link.lock().unwrap_or_else(|p| p.into_inner()) = Some(link);
    }

    /// After a restart: takes up the action's call when one is under way, or calls the admin
    /// again when the last call died without a decision (once by default; see
    /// [`TelnyxConfig::max_redials`]). Of several processes resuming one store, one calls.
    async fn resume(&self, request: ApprovalRequest) -> Result<(), ApproverError> {
        self.resume_call(request).await
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
            WebhookError::Store(_) => ErrorCode::StoreUnavailable,
        }
    }
}
