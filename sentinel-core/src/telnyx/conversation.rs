//! The per-call state machine: what to do about each webhook event, as a list of
//! [`Effect`]s the approver carries out. No I/O here.
//!
//! ```text
//! Ringing --answered--> Menu --1--> (Pin --right PIN-->) decided: Closing --speak.ended--> Ended
//!                        |  --2--> Qna --"approve"/"decline"--> (Pin) decided: Closing
//!                        |          --question--> answer, stay in Qna
//!                        |          --"goodbye"--> Closing (undecided)
//!                        --timeout/invalid--> replay (max N) --> Closing (undecided)
//! any --hangup / machine--> Ended (undecided unless decided before)
//! ```
//!
//! Each event id is handled once; events for an ended call are ignored; a key press seen
//! both as `call.dtmf.received` and `call.gather.ended` acts once.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::classify::{Intent, classify};
use super::config::Secret;
use super::event::{CallEvent, EventKind};

/// Channel of decisions made with the keypad.
pub const CHANNEL_DTMF: &str = "voice/dtmf";
/// Channel of decisions made by voice.
pub const CHANNEL_SPEECH: &str = "voice/speech";

pub(crate) const QNA_PROMPT: &str =
    "Ask your question after this message. You can also say approve or decline at any time.";
pub(crate) const ANSWER_FOLLOW_UP: &str =
    "You can ask another question, or say approve or decline.";
pub(crate) const UNCLEAR_PROMPT: &str =
    "Sorry, I did not catch that. Ask a question, or say approve or decline.";
pub(crate) const PIN_PROMPT: &str = "To approve, enter your PIN, then press pound.";
pub(crate) const WRONG_PIN: &str = "That PIN is not correct. Enter your PIN, then press pound.";
pub(crate) const APPROVED_WORDS: &str = "Approved. The action will now run. Goodbye.";
pub(crate) const COUNTED_WORDS: &str =
    "Your approval is counted. More approvers are needed before the action can run. Goodbye.";
pub(crate) const DECLINED_WORDS: &str = "Declined. The action will not run. Goodbye.";
pub(crate) const ALREADY_DECIDED: &str =
    "This action was already decided or has expired, so nothing was changed. Goodbye.";
pub(crate) const PENDING_GOODBYE: &str =
    "Okay. The action stays pending and has not been approved. Goodbye.";
pub(crate) const NO_INPUT_GOODBYE: &str =
    "No valid answer was received. The action has not been approved. Goodbye.";
/// Unclear utterances tolerated in a row before the call ends undecided.
const MAX_UNCLEAR: u32 = 3;

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CallPhase {
    /// Dialed, not answered yet.
    Ringing,
    /// The summary and key menu are playing.
    Menu,
    /// Waiting for the PIN.
    Pin,
    /// Listening to the admin's questions.
    Qna,
    /// Saying the last words; hangs up when they end.
    Closing,
    /// The call is over; later events are ignored.
    Ended,
}

/// How the approval attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CallOutcome {
    /// The admin approved.
    Approved,
    /// The admin declined.
    Declined,
    /// The admin tried to decide, but the action was already decided or expired.
    AlreadyDecided,
    /// Nobody answered (no answer, busy, rejected, ring timeout).
    NoAnswer,
    /// An answering machine picked up.
    Machine,
    /// The admin hung up before deciding.
    HungUp,
    /// The admin said goodbye without deciding.
    Goodbye,
    /// No valid key or words after the replays.
    NoInput,
    /// Wrong PIN too many times.
    PinFailed,
    /// The call could not be placed (the action is `ERROR_APPROVER`).
    DialFailed,
    /// The call's end was never reported: the process placing it stopped before it had the
    /// call's ids, or the call outlived its time limit without a hang-up reaching Sentinel.
    Interrupted,
}

impl CallOutcome {
    /// True when the admin's decision was recorded.
    pub fn decided(self) -> bool {
        matches!(self, CallOutcome::Approved | CallOutcome::Declined)
    }
}

/// Something the approver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Speak `text` and collect keys.
    Gather { text: String, pin: bool },
    /// Speak `text`; `closing` speeches hang up when they end.
    Speak { text: String, closing: bool },
    /// Ask the scorer and speak the answer.
    Answer { question: String },
    /// Start speech recognition.
    StartListening,
    /// Stop speech recognition.
    StopListening,
    /// Move the action into or out of `QNA_MODE`.
    SetQna(bool),
    /// Record the decision.
    Resolve {
        approved: bool,
        channel: &'static str,
        reason: String,
    },
    /// Speak the confirmation of the decision just recorded (or that it was already
    /// decided), then hang up when it ends.
    Confirm,
    /// Hang up.
    Hangup,
}

/// Why an event changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IgnoreReason {
    /// No call Sentinel placed has this id.
    UnknownCall,
    /// The call is over.
    CallFinished,
    /// This event id was handled before.
    Duplicate,
    /// The event means nothing in the call's current phase (e.g. a key during Q&A, or the
    /// second report of a key already acted on).
    NotApplicable,
}

/// One call's conversation. Serialisable, so that the store keeps it between events: the
/// PIN is never serialised (it comes from the configuration when the state is read back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Conversation {
    pub(crate) phase: CallPhase,
    pub(crate) outcome: Option<CallOutcome>,
    menu: String,
    max_replays: u32,
    #[serde(skip)]
    pin: Option<Secret>,
    replays: u32,
    pin_tries: u32,
    unclear: u32,
    listening: bool,
    in_qna: bool,
    /// A menu key acted on from `call.dtmf.received` whose `call.gather.ended` is still due.
    menu_echo_due: Option<String>,
    /// How the pending approval was asked for, while the PIN is checked.
    #[serde(with = "pin_for")]
    pin_for: Option<(&'static str, String)>,
    /// Event ids handled on this call: kept with the conversation, so that a redelivered
    /// event is refused by any process, after a restart too.
    seen: HashSet<String>,
}

impl Conversation {
    pub(crate) fn new(menu: String, max_replays: u32, pin: Option<Secret>) -> Self {
        Self {
            phase: CallPhase::Ringing,
            outcome: None,
            menu,
            max_replays,
            pin,
            replays: 0,
            pin_tries: 0,
            unclear: 0,
            listening: false,
            in_qna: false,
            menu_echo_due: None,
            pin_for: None,
            seen: HashSet::new(),
        }
    }

    /// Puts the configured PIN back after the state was read from the store.
    pub(crate) fn set_pin(&mut self, pin: Option<Secret>) {
        self.pin = pin;
    }

    /// Decides what `event` means. `closing_tag` tells whether the event's client state
    /// names the closing speech (a hint used only to time the hang-up).
    pub(crate) fn on_event(
        &mut self,
        event: &CallEvent,
        closing_tag: bool,
    ) -> Result<Vec<Effect>, IgnoreReason> {
        if self.phase == CallPhase::Ended {
            return Err(IgnoreReason::CallFinished);
        }
        if !self.seen.insert(event.id.clone()) {
            return Err(IgnoreReason::Duplicate);
        }
        let effects = match (&event.kind, self.phase) {
            (EventKind::Hangup { cause, .. }, _) => self.hung_up(cause),
            (kind @ EventKind::MachineDetectionEnded { .. }, phase)
                if kind.is_machine() && phase != CallPhase::Closing =>
            {
                self.end_now(CallOutcome::Machine)
            }
            (EventKind::Answered, CallPhase::Ringing) => {
                self.phase = CallPhase::Menu;
                vec![self.menu_gather()]
            }
            (EventKind::DtmfReceived { digit }, CallPhase::Menu)
                if matches!(digit.as_str(), "1" | "2") =>
            {
                self.menu_echo_due = Some(digit.clone());
                self.menu_choice(digit)
            }
            (EventKind::GatherEnded { digits, status }, phase) => {
                self.gather_ended(digits, status, phase)
            }
            (
                EventKind::Transcription {
                    transcript,
                    is_final: true,
                    ..
                },
                CallPhase::Qna,
            ) if !transcript.trim().is_empty() => self.utterance(transcript),
            (EventKind::SpeakEnded { .. }, CallPhase::Closing) if closing_tag => {
                self.phase = CallPhase::Ended;
                vec![Effect::Hangup]
            }
            _ => Vec::new(),
        };
        if effects.is_empty() && self.phase != CallPhase::Ended {
            return Err(IgnoreReason::NotApplicable);
        }
        Ok(effects)
    }

    fn menu_gather(&self) -> Effect {
        Effect::Gather {
            text: self.menu.clone(),
            pin: false,
        }
    }

    fn menu_choice(&mut self, digit: &str) -> Vec<Effect> {
        if digit == "1" {
            self.approve_asked(
                CHANNEL_DTMF,
                "approved by pressing 1 on the approval call".to_owned(),
            )
        } else {
            self.phase = CallPhase::Qna;
            self.in_qna = true;
            self.listening = true;
            vec![
                Effect::SetQna(true),
                Effect::Speak {
                    text: QNA_PROMPT.to_owned(),
                    closing: false,
                },
                Effect::StartListening,
            ]
        }
    }

    fn gather_ended(&mut self, digits: &str, status: &str, phase: CallPhase) -> Vec<Effect> {
        // The second report of a menu key already acted on.
        if let Some(due) = &self.menu_echo_due
            && digits == due.as_str()
        {
            self.menu_echo_due = None;
            return Vec::new();
        }
        match phase {
            CallPhase::Menu => match (status, digits) {
                ("valid", "1" | "2") => self.menu_choice(digits),
                ("call_hangup" | "cancelled" | "cancelled_amd", _) => Vec::new(),
                _ => {
                    if self.replays < self.max_replays {
                        self.replays += 1;
                        vec![self.menu_gather()]
                    } else {
                        self.close(NO_INPUT_GOODBYE, CallOutcome::NoInput)
                    }
                }
            },
            CallPhase::Pin => {
                if matches!(status, "call_hangup" | "cancelled" | "cancelled_amd") {
                    return Vec::new();
                }
                let entered = digits.trim_end_matches('#');
                let right = self.pin.as_ref().is_some_and(|pin| {
                    constant_time_eq(pin.expose().as_bytes(), entered.as_bytes())
                });
                match (right, self.pin_for.take()) {
                    (true, Some((channel, reason))) => {
                        self.resolve(true, channel, format!("{reason}, PIN verified"))
                    }
                    (_, pin_for) => {
                        self.pin_for = pin_for;
                        self.pin_tries += 1;
                        if self.pin_tries > self.max_replays {
                            self.close(NO_INPUT_GOODBYE, CallOutcome::PinFailed)
                        } else {
                            vec![Effect::Gather {
                                text: WRONG_PIN.to_owned(),
                                pin: true,
                            }]
                        }
                    }
                }
            }
            _ => Vec::new(),
        }
    }

    fn utterance(&mut self, transcript: &str) -> Vec<Effect> {
        let said = format!("said \"{}\"", transcript.trim());
        match classify(transcript) {
            Intent::Approve => {
                self.unclear = 0;
                self.approve_asked(CHANNEL_SPEECH, said)
            }
            Intent::Decline => self.resolve(false, CHANNEL_SPEECH, said),
            Intent::Question => {
                self.unclear = 0;
                vec![Effect::Answer {
                    question: transcript.trim().to_owned(),
                }]
            }
            Intent::Goodbye => self.close(PENDING_GOODBYE, CallOutcome::Goodbye),
            Intent::Unclear => {
                self.unclear += 1;
                if self.unclear > MAX_UNCLEAR {
                    self.close(NO_INPUT_GOODBYE, CallOutcome::NoInput)
                } else {
                    vec![Effect::Speak {
                        text: UNCLEAR_PROMPT.to_owned(),
                        closing: false,
                    }]
                }
            }
        }
    }

    /// The admin asked to approve: check the PIN first when one is configured.
    fn approve_asked(&mut self, channel: &'static str, reason: String) -> Vec<Effect> {
        if self.pin.is_none() {
            return self.resolve(true, channel, reason);
        }
        let mut effects = self.stop_listening();
        self.phase = CallPhase::Pin;
        self.pin_for = Some((channel, reason));
        effects.push(Effect::Gather {
            text: PIN_PROMPT.to_owned(),
            pin: true,
        });
        effects
    }

    fn resolve(&mut self, approved: bool, channel: &'static str, reason: String) -> Vec<Effect> {
        let mut effects = vec![Effect::Resolve {
            approved,
            channel,
            reason,
        }];
        effects.extend(self.stop_listening());
        effects.push(Effect::Confirm);
        self.in_qna = false;
        self.phase = CallPhase::Closing;
        self.outcome = Some(if approved {
            CallOutcome::Approved
        } else {
            CallOutcome::Declined
        });
        effects
    }

    /// Says `words` and hangs up when they end, leaving the action undecided.
    fn close(&mut self, words: &str, outcome: CallOutcome) -> Vec<Effect> {
        let mut effects = self.undecided();
        effects.push(Effect::Speak {
            text: words.to_owned(),
            closing: true,
        });
        self.phase = CallPhase::Closing;
        self.outcome = Some(outcome);
        effects
    }

    /// Hangs up at once, leaving the action undecided.
    fn end_now(&mut self, outcome: CallOutcome) -> Vec<Effect> {
        let mut effects = self.undecided();
        effects.push(Effect::Hangup);
        self.phase = CallPhase::Ended;
        self.outcome = Some(outcome);
        effects
    }

    fn hung_up(&mut self, cause: &str) -> Vec<Effect> {
        let before = self.phase;
        self.phase = CallPhase::Ended;
        if self.outcome.is_some() {
            return vec![];
        }
        self.listening = false;
        self.outcome = Some(match (before, cause) {
            (CallPhase::Ringing, _)
            | (_, "no_answer" | "user_busy" | "timeout" | "call_rejected") => CallOutcome::NoAnswer,
            _ => CallOutcome::HungUp,
        });
        if self.in_qna {
            self.in_qna = false;
            vec![Effect::SetQna(false)]
        } else {
            vec![]
        }
    }

    fn stop_listening(&mut self) -> Vec<Effect> {
        if std::mem::take(&mut self.listening) {
            vec![Effect::StopListening]
        } else {
            vec![]
        }
    }

    fn undecided(&mut self) -> Vec<Effect> {
        let mut effects = self.stop_listening();
        if std::mem::take(&mut self.in_qna) {
            effects.push(Effect::SetQna(false));
        }
        effects
    }
}

/// `pin_for` as `[channel, reason]`; a channel read back is one of the two constants.
mod pin_for {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{CHANNEL_DTMF, CHANNEL_SPEECH};

    pub(super) fn serialize<S: Serializer>(
        value: &Option<(&'static str, String)>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<(&'static str, String)>, D::Error> {
        let value = Option::<(String, String)>::deserialize(d)?;
        Ok(value.map(|(channel, reason)| {
            let channel = if channel == CHANNEL_DTMF {
                CHANNEL_DTMF
            } else {
                CHANNEL_SPEECH
            };
            (channel, reason)
        }))
    }
}

/// Compares without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}
