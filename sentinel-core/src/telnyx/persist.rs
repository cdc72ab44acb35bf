//! The voice approver's calls in the store: each call is an approval attempt of channel
//! [`CHANNEL`] whose external ids are Telnyx's call ids and whose state is a
//! [`StoredCall`]. Every change to a call is written over the version read (one process at a
//! time moves a call, across instances), and [`plan`] says what a restarted process does
//! about a pending action.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::approver::TelnyxVoiceApprover;
use super::call::CallState;
use super::config::TelnyxConfig;
use super::conversation::{CallOutcome, CallPhase, Conversation};
use crate::error::StoreError;
use crate::store::{ApprovalAttempt, AttemptStatus, Store};

/// The channel name of voice approval attempts (the approver's name).
pub(super) const CHANNEL: &str = "telnyx-voice";
/// Most times a step is redone after losing a race to another process.
const MAX_CONFLICTS: usize = 8;
/// A call still being placed after this long was being placed by a process that died
/// (dials are retried for well under a minute).
const STARTING_STALE: chrono::Duration = chrono::Duration::seconds(120);
/// Margin past a call's ring timeout and time limit before it is surely over.
const LIVE_MARGIN: chrono::Duration = chrono::Duration::seconds(60);

/// A call's state as the store keeps it. The PIN is not in it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StoredCall {
    /// Where commands go, once dialed.
    #[serde(default)]
    pub(super) call_control_id: Option<String>,
    /// When the dial answered.
    #[serde(default)]
    pub(super) dialed_at: Option<DateTime<Utc>>,
    /// The number dialled; left out by records older than the ladder: the admin's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) to: Option<String>,
    /// The conversation.
    pub(super) conversation: Conversation,
}

impl StoredCall {
    /// The number the call dialled.
    pub(super) fn to<'a>(&'a self, config: &'a TelnyxConfig) -> &'a str {
        self.to.as_deref().unwrap_or(&config.admin_number)
    }

    /// Reads a call back, with the PIN configured for the number it dialled.
    pub(super) fn read(
        attempt: &ApprovalAttempt,
        config: &TelnyxConfig,
    ) -> Result<Self, StoreError> {
        let mut call: StoredCall = serde_json::from_value(attempt.state.clone()).map_err(|e| {
            StoreError::Backend(format!(
                "stored approval call {} of action `{}` cannot be read: {e}",
                attempt.seq, attempt.action_id
            ))
        })?;
        let pin = config.pin_for(call.to(config));
        call.conversation.set_pin(pin);
        Ok(call)
    }
}

/// The stored form of a call's state.
pub(super) fn stored_state(state: &CallState) -> Result<serde_json::Value, StoreError> {
    let call = StoredCallRef {
        call_control_id: state.call_control_id.as_deref(),
        dialed_at: state.dialed_at,
        to: &state.to,
        conversation: &state.conversation,
    };
    serde_json::to_value(call).map_err(|e| StoreError::Backend(e.to_string()))
}

#[derive(Serialize)]
struct StoredCallRef<'a> {
    call_control_id: Option<&'a str>,
    dialed_at: Option<DateTime<Utc>>,
    to: &'a str,
    conversation: &'a Conversation,
}

/// What the call's state says of its attempt's status.
pub(super) fn status_of(state: &CallState) -> AttemptStatus {
    if state.conversation.phase == CallPhase::Ended {
        AttemptStatus::Ended
    } else if state.call_control_id.is_some() {
        AttemptStatus::Live
    } else {
        AttemptStatus::Starting
    }
}

/// What a restarted process does about a pending action, from its approval attempts.
#[derive(Debug)]
pub(super) enum Plan {
    /// A call is under way: leave it to its webhooks (re-attach to it).
    Attach(ApprovalAttempt),
    /// Another process is placing a call right now.
    Wait,
    /// No call is under way: place call `seq`, after recording `over` (a call that cannot
    /// be going on any more) as ended.
    Dial {
        seq: u32,
        over: Option<ApprovalAttempt>,
    },
    /// The last call's end stands (the admin's own choice), or the action was asked about
    /// often enough.
    Leave(&'static str),
}

/// Decides what to do about a pending action whose approval attempts are `attempts`.
#[cfg(test)]
pub(super) fn plan(
    attempts: &[ApprovalAttempt],
    config: &TelnyxConfig,
    now: DateTime<Utc>,
) -> Plan {
    plan_for(attempts, config, now, None)
}

/// [`plan`] counting only the calls to `to` (a ladder step's number; `None`: every call).
pub(super) fn plan_for(
    attempts: &[ApprovalAttempt],
    config: &TelnyxConfig,
    now: DateTime<Utc>,
    to: Option<&str>,
) -> Plan {
    let next = attempts.iter().map(|a| a.seq).max().unwrap_or(0) + 1;
    let dialled = |a: &ApprovalAttempt| {
        StoredCall::read(a, config)
            .map(|c| c.to(config).to_owned())
            .unwrap_or_default()
    };
    let ours: Vec<&ApprovalAttempt> = attempts
        .iter()
        .filter(|a| a.channel == CHANNEL)
        .filter(|a| to.is_none_or(|to| dialled(a) == to))
        .collect();
    let Some(last) = ours.last() else {
        return Plan::Dial {
            seq: next,
            over: None,
        };
    };
    let stored = StoredCall::read(last, config).ok();
    let cut = match last.status {
        AttemptStatus::Starting if now - last.updated_at < STARTING_STALE => return Plan::Wait,
        AttemptStatus::Live => {
            let since = stored
                .as_ref()
                .and_then(|s| s.dialed_at)
                .unwrap_or(last.created_at);
            let limit = chrono::Duration::from_std(config.ring_timeout + config.call_time_limit)
                .unwrap_or(chrono::Duration::MAX);
            // A call whose record says decided while the action is still pending lost the
            // decision with its process (between the step and the decision): the admin
            // waits in silence. It is hung up and the admin asked again.
            let lost = stored
                .as_ref()
                .and_then(|s| s.conversation.outcome)
                .is_some_and(CallOutcome::decided);
            if now < since + limit + LIVE_MARGIN && !lost {
                return Plan::Attach((*last).clone());
            }
            true
        }
        AttemptStatus::Starting => true,
        AttemptStatus::Ended => false,
    };
    let outcome = if cut {
        Some(CallOutcome::Interrupted)
    } else {
        stored.and_then(|s| s.conversation.outcome)
    };
    // The admin heard the question and chose to leave it pending (or failed the PIN): a
    // restart does not ask again.
    if matches!(
        outcome,
        Some(CallOutcome::Goodbye | CallOutcome::NoInput | CallOutcome::PinFailed)
    ) {
        return Plan::Leave("the admin's answer on the last call stands");
    }
    if ours.len() > usize::try_from(config.max_redials).unwrap_or(usize::MAX) {
        return Plan::Leave("the admin was called again as often as allowed");
    }
    Plan::Dial {
        seq: next,
        over: cut.then(|| (*last).clone()),
    }
}

impl TelnyxVoiceApprover {
    /// The gateway's store, when it keeps approval attempts.
    pub(super) fn durable(&self) -> Option<Arc<dyn Store>> {
        self.link()?.store().filter(|s| s.keeps_attempts())
    }

    /// Writes the call's state over the version last read. False when another process
    /// changed it first.
    pub(super) async fn save(
        &self,
        store: &dyn Store,
        state: &mut CallState,
    ) -> Result<bool, StoreError> {
        let Some(mut next) = state.attempt.clone() else {
            return Ok(true);
        };
        next.status = status_of(state);
        next.state = stored_state(state)?;
        match store.update_attempt(&next).await? {
            Some(stored) => {
                state.attempt = Some(stored);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Reads the call's state again when another process changed it since.
    pub(super) async fn refresh(
        &self,
        store: &dyn Store,
        state: &mut CallState,
    ) -> Result<(), StoreError> {
        let Some(cached) = &state.attempt else {
            return Ok(());
        };
        let latest = store
            .attempts(cached.action_id)
            .await?
            .into_iter()
            .find(|a| a.seq == cached.seq);
        let Some(latest) = latest else {
            // A bounded store let the record go: carry on with what this process knows.
            tracing::warn!(action_id = %cached.action_id, "the approval call's record is gone from the store");
            state.attempt = None;
            return Ok(());
        };
        if latest.version == cached.version {
            return Ok(());
        }
        let call = StoredCall::read(&latest, &self.inner.config)?;
        state.conversation = call.conversation;
        state.call_control_id = call.call_control_id.or(state.call_control_id.take());
        state.dialed_at = call.dialed_at.or(state.dialed_at);
        state.attempt = Some(latest);
        Ok(())
    }

    /// Saves a change made after the step was committed (e.g. "already decided"), redoing
    /// `change` on what another process left when it wrote first.
    pub(super) async fn save_with(
        &self,
        store: Option<&dyn Store>,
        state: &mut CallState,
        change: impl Fn(&mut CallState),
    ) -> Result<(), StoreError> {
        let Some(store) = store else {
            return Ok(());
        };
        for _ in 0..MAX_CONFLICTS {
            if self.save(store, state).await? {
                return Ok(());
            }
            self.refresh(store, state).await?;
            change(state);
        }
        Err(busy())
    }
}

/// The error when a call's state keeps changing under a step.
pub(super) fn busy() -> StoreError {
    StoreError::Backend(
        "the approval call's state kept changing in other processes; giving up".to_owned(),
    )
}

/// How many times a step is redone after losing a race.
pub(super) const fn max_conflicts() -> usize {
    MAX_CONFLICTS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::ActionId;
    use crate::telnyx::verify::PublicKey;

    fn config() -> TelnyxConfig {
        use base64::Engine as _;
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let key = PublicKey::from_base64(
            &base64::engine::general_purpose::STANDARD.encode(signing.verifying_key().as_bytes()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        TelnyxConfig::new("k", "c", "+15550000001", "+15550000002", key)
    }

    fn attempt(seq: u32, status: AttemptStatus, outcome: Option<CallOutcome>) -> ApprovalAttempt {
        let mut conversation = Conversation::new("menu".to_owned(), 2, None);
        conversation.outcome = outcome;
        let call = StoredCall {
            call_control_id: Some(format!("v3:call-{seq}")),
            dialed_at: Some(Utc::now()),
            to: None,
            conversation,
        };
        let state = serde_json::to_value(&call).unwrap_or_default();
        let mut a = ApprovalAttempt::new(ActionId::new(), seq, CHANNEL, state);
        a.status = status;
        a
    }

    #[test]
    fn what_a_restart_does_about_each_last_call() {
        let c = config();
        let now = Utc::now();
        assert!(matches!(
            plan(&[], &c, now),
            Plan::Dial { seq: 1, over: None }
        ));
        let lost = attempt(1, AttemptStatus::Live, Some(CallOutcome::Approved));
        assert!(matches!(
            plan(&[lost], &c, now),
            Plan::Dial {
                seq: 2,
                over: Some(_)
            }
        ));
        let live = attempt(1, AttemptStatus::Live, None);
        assert!(matches!(
            plan(std::slice::from_ref(&live), &c, now),
            Plan::Attach(_)
        ));
        // Past its ring timeout and time limit, a live call cannot be going on.
        let later = now + chrono::Duration::seconds(30 + 600 + 61);
        assert!(matches!(
            plan(&[live], &c, later),
            Plan::Dial {
                seq: 2,
                over: Some(_)
            }
        ));
        // Another process is dialing; after two minutes it is presumed dead.
        let starting = attempt(1, AttemptStatus::Starting, None);
        assert!(matches!(
            plan(std::slice::from_ref(&starting), &c, now),
            Plan::Wait
        ));
        assert!(matches!(
            plan(&[starting], &c, now + chrono::Duration::seconds(121)),
            Plan::Dial {
                seq: 2,
                over: Some(_)
            }
        ));
        let ended = |o| attempt(1, AttemptStatus::Ended, Some(o));
        for redial in [
            CallOutcome::NoAnswer,
            CallOutcome::HungUp,
            CallOutcome::Machine,
            CallOutcome::Approved,
        ] {
            assert!(
                matches!(
                    plan(&[ended(redial)], &c, now),
                    Plan::Dial { seq: 2, over: None }
                ),
                "{redial:?}"
            );
        }
        for stands in [
            CallOutcome::Goodbye,
            CallOutcome::NoInput,
            CallOutcome::PinFailed,
        ] {
            assert!(
                matches!(plan(&[ended(stands)], &c, now), Plan::Leave(_)),
                "{stands:?}"
            );
        }
        let twice = [
            ended(CallOutcome::NoAnswer),
            attempt(2, AttemptStatus::Ended, Some(CallOutcome::NoAnswer)),
        ];
        assert!(matches!(plan(&twice, &c, now), Plan::Leave(_)));
        assert!(matches!(
            plan(&twice[..1], &c.clone().with_max_redials(0), now),
            Plan::Leave(_)
        ));
    }

    #[test]
    fn the_pin_is_never_stored() {
        let mut c = config();
        c.pin = Some(crate::telnyx::Secret::new("4321"));
        let conversation = Conversation::new("menu".to_owned(), 2, c.pin.clone());
        let call = StoredCall {
            call_control_id: None,
            dialed_at: None,
            to: None,
            conversation,
        };
        let text = serde_json::to_string(&call).unwrap_or_default();
        assert!(!text.contains("4321"), "{text}");
        let a = ApprovalAttempt::new(
            ActionId::new(),
            1,
            CHANNEL,
            serde_json::from_str(&text).unwrap_or_default(),
        );
        let back = StoredCall::read(&a, &c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            back.conversation, call.conversation,
            "the PIN comes back from the configuration"
        );
    }
}
