//! Carrying out a call's [`Effect`]s: the Telnyx commands, the decision, the answers,
//! and the client state attached to each command.

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::approver::TelnyxVoiceApprover;
use super::client::{
    CommandRequest, GatherUsingSpeakRequest, SpeakRequest, TelnyxError, TranscriptionStartRequest,
};
use super::conversation::{
    ALREADY_DECIDED, ANSWER_FOLLOW_UP, APPROVED_WORDS, COUNTED_WORDS, CallOutcome, Conversation,
    DECLINED_WORDS, Effect,
};
use crate::action::ActionId;
use crate::approver::{ApprovalHandle, Resolution};
use crate::redact::{redact_for_speech, redact_text};

/// Longest spoken answer, in characters (Telnyx allows 3,000).
const MAX_ANSWER: usize = 1500;

/// The state echoed by Telnyx in webhooks: which action, and which step. A hint only.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ClientState {
    pub(super) action_id: ActionId,
    pub(super) step: String,
}

/// One call's state, behind its lock.
pub(super) struct CallState {
    pub(super) conversation: Conversation,
    pub(super) handle: ApprovalHandle,
    /// The number dialled (the admin's, or the ladder step's `to`).
    pub(super) to: String,
    pub(super) call_control_id: Option<String>,
    pub(super) ended_at: Option<Instant>,
    /// When the dial answered.
    pub(super) dialed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The call's approval attempt as last read from or written to the store; `None` when
    /// the store keeps no attempts (the call then lives in this process only).
    pub(super) attempt: Option<crate::store::ApprovalAttempt>,
}

impl TelnyxVoiceApprover {
    /// Carries out `effects` in order; stops at the first failed Telnyx command.
    pub(super) async fn run(
        &self,
        state: &mut CallState,
        action_id: ActionId,
        effects: Vec<Effect>,
    ) -> Result<(), TelnyxError> {
        let Some(call) = state.call_control_id.clone() else {
            return Ok(());
        };
        // Who answers: the operator the number is bound to, else the number.
        let admin = self.inner.config.identity(&state.to).to_owned();
        let mut confirmation = ALREADY_DECIDED;
        for effect in effects {
            match effect {
                Effect::Gather { text, pin } => self.gather(&call, action_id, &text, pin).await?,
                Effect::Speak { text, closing } => {
                    self.speak(&call, action_id, &text, closing).await?
                }
                Effect::Answer { question } => {
                    let answer = match state.handle.ask(&question, &admin, "voice/speech").await {
                        Ok(answer) => answer,
                        Err(e) => {
                            tracing::warn!(%action_id, error = %e, "could not answer the admin's question");
                            crate::scorer::EXPLAIN_FALLBACK.to_owned()
                        }
                    };
                    let spoken = format!("{} {ANSWER_FOLLOW_UP}", speakable_answer(&answer));
                    self.speak(&call, action_id, &spoken, false).await?;
                }
                Effect::StartListening => {
                    let request = TranscriptionStartRequest {
                        transcription_engine: "Google".to_owned(),
                        transcription_tracks: "inbound".to_owned(),
                        client_state: encode_state(action_id, "qna"),
                        command_id: command_id(),
                    };
                    self.inner
                        .client
                        .transcription_start(&call, &request)
                        .await?;
                }
                Effect::StopListening => {
                    let request = CommandRequest {
                        client_state: encode_state(action_id, "qna"),
                        command_id: command_id(),
                    };
                    if let Err(e) = self.inner.client.transcription_stop(&call, &request).await {
                        // Not worth failing the decision over; the hang-up ends it anyway.
                        tracing::warn!(%action_id, error = %e, "could not stop transcription");
                    }
                }
                Effect::SetQna(on) => {
                    if let Err(e) = state.handle.set_qna_mode(on, &admin, "voice").await {
                        tracing::info!(%action_id, error = %e, "could not change QNA_MODE");
                    }
                }
                Effect::Resolve {
                    approved,
                    channel,
                    reason,
                } => {
                    let reason = redact_text(&reason).into_owned();
                    let resolution = if approved {
                        Resolution::approve(admin.clone(), channel)
                    } else {
                        Resolution::decline(admin.clone(), channel)
                    }
                    .with_reason(reason);
                    confirmation = match state.handle.resolve(resolution).await {
                        Ok(record) if approved && record.state.is_pending() => {
                            tracing::info!(%action_id, channel, "approval counted on the call; the quorum wants more");
                            // The call's Q&A is over: the action waits for the others.
                            if record.state == crate::state::State::QnaMode
                                && let Err(e) =
                                    state.handle.set_qna_mode(false, &admin, "voice").await
                            {
                                tracing::info!(%action_id, error = %e, "could not leave QNA_MODE");
                            }
                            COUNTED_WORDS
                        }
                        Ok(_) => {
                            tracing::info!(%action_id, approved, channel, "decided on the approval call");
                            if approved {
                                APPROVED_WORDS
                            } else {
                                DECLINED_WORDS
                            }
                        }
                        Err(e) => {
                            tracing::info!(%action_id, error = %e, "decision on the call came too late");
                            state.conversation.outcome = Some(CallOutcome::AlreadyDecided);
                            ALREADY_DECIDED
                        }
                    };
                }
                Effect::Confirm => self.speak(&call, action_id, confirmation, true).await?,
                Effect::Hangup => {
                    let request = CommandRequest {
                        client_state: encode_state(action_id, "hangup"),
                        command_id: command_id(),
                    };
                    self.inner.client.hangup(&call, &request).await?;
                }
            }
        }
        Ok(())
    }

    async fn gather(
        &self,
        call: &str,
        action_id: ActionId,
        text: &str,
        pin: bool,
    ) -> Result<(), TelnyxError> {
        let c = &self.inner.config;
        let request = GatherUsingSpeakRequest {
            payload: text.to_owned(),
            payload_type: "text".to_owned(),
            voice: c.voice.clone(),
            language: c.language.clone(),
            valid_digits: if pin {
                "0123456789#".to_owned()
            } else {
                "12".to_owned()
            },
            minimum_digits: 1,
            maximum_digits: if pin { 12 } else { 1 },
            timeout_millis: u64::try_from(c.gather_timeout.as_millis()).unwrap_or(10_000),
            maximum_tries: 1,
            terminating_digit: pin.then(|| "#".to_owned()),
            client_state: encode_state(action_id, if pin { "pin" } else { "menu" }),
            command_id: command_id(),
        };
        self.inner.client.gather_using_speak(call, &request).await
    }

    async fn speak(
        &self,
        call: &str,
        action_id: ActionId,
        text: &str,
        closing: bool,
    ) -> Result<(), TelnyxError> {
        let c = &self.inner.config;
        let request = SpeakRequest {
            payload: text.to_owned(),
            payload_type: "text".to_owned(),
            voice: c.voice.clone(),
            language: c.language.clone(),
            client_state: encode_state(action_id, if closing { "closing" } else { "speak" }),
            command_id: command_id(),
        };
        self.inner.client.speak(call, &request).await
    }
}

pub(super) fn command_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub(super) fn encode_state(action_id: ActionId, step: &str) -> String {
    let state = ClientState {
        action_id,
        step: step.to_owned(),
    };
    STANDARD.encode(serde_json::to_vec(&state).unwrap_or_default())
}

pub(super) fn decode_state(text: &str) -> Option<ClientState> {
    serde_json::from_slice(&STANDARD.decode(text).ok()?).ok()
}

/// The scorer's answer, redacted and cut to a speakable length.
fn speakable_answer(answer: &str) -> String {
    let text = redact_for_speech(answer);
    if text.chars().count() <= MAX_ANSWER {
        return text;
    }
    let cut: String = text.chars().take(MAX_ANSWER).collect();
    match cut.rfind(". ") {
        Some(end) => cut[..=end].to_owned(),
        None => cut,
    }
}
