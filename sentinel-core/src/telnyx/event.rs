//! Webhook envelopes of the Call Control events the voice approver uses.
//!
//! `client_state` may be a string, `null`, `""` or absent: all but a non-empty string read
//! as `None`. Unknown event types parse as [`EventKind::Other`].

use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

/// One webhook event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CallEvent {
    /// The event id (`data.id`): unique per event, repeated on redelivery.
    pub id: String,
    /// The event type, e.g. `call.answered`.
    pub event_type: String,
    /// When Telnyx says it happened (ISO 8601), when given.
    pub occurred_at: Option<String>,
    /// Which call it is about.
    pub call: CallIds,
    /// The event's content.
    pub kind: EventKind,
}

/// The ids that name a call in an event, and the state Sentinel attached to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallIds {
    /// The id commands are sent to.
    pub call_control_id: Option<String>,
    /// The call leg's id.
    pub call_leg_id: Option<String>,
    /// The call session's id.
    pub call_session_id: Option<String>,
    /// The base64 `client_state` of the latest command (a hint only: never trusted alone).
    pub client_state: Option<String>,
    /// The number placing the call.
    pub from: Option<String>,
    /// The number called.
    pub to: Option<String>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventKind {
    /// `call.initiated`.
    Initiated,
    /// `call.answered`.
    Answered,
    /// `call.dtmf.received`: one key press.
    DtmfReceived {
        /// The key (`0`-`9`, `*`, `#`, `A`-`D`).
        digit: String,
    },
    /// `call.gather.ended`: the menu finished collecting keys.
    GatherEnded {
        /// The keys collected.
        digits: String,
        /// `valid`, `invalid`, `call_hangup`, `cancelled`, `cancelled_amd`, `timeout`.
        status: String,
    },
    /// `call.transcription`: recognised speech.
    Transcription {
        /// The words.
        transcript: String,
        /// False for interim results.
        is_final: bool,
        /// The recogniser's confidence, 0 to 1, when given.
        confidence: Option<f64>,
    },
    /// `call.speak.started`.
    SpeakStarted,
    /// `call.speak.ended`.
    SpeakEnded {
        /// `completed`, `call_hangup`, `cancelled_amd`.
        status: String,
    },
    /// `call.hangup`.
    Hangup {
        /// `normal_clearing`, `no_answer`, `user_busy`, `timeout`, `call_rejected`...
        cause: String,
        /// `caller`, `callee` or `unknown`.
        source: String,
    },
    /// `call.machine.detection.ended` or `call.machine.premium.detection.ended`.
    MachineDetectionEnded {
        /// `human`, `machine`, `not_sure` (premium: `human_residence`, `silence`...).
        result: String,
    },
    /// Any other event type (ignored by the approver).
    Other,
}

impl EventKind {
    /// True when a machine (or fax, or silence) answered rather than a person.
    pub fn is_machine(&self) -> bool {
        matches!(self, EventKind::MachineDetectionEnded { result }
            if matches!(result.as_str(), "machine" | "fax_detected" | "silence"))
    }
}

/// The body is not a webhook envelope the approver can read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("webhook body is not a call event: {message}")]
pub struct EventError {
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
struct Envelope {
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    id: String,
    event_type: String,
    #[serde(default)]
    occurred_at: Option<String>,
    #[serde(default)]
    payload: serde_json::Map<String, Value>,
}

impl CallEvent {
    /// Parses a webhook body.
    pub fn parse(raw_body: &[u8]) -> Result<Self, EventError> {
        let envelope: Envelope = serde_json::from_slice(raw_body).map_err(|e| EventError {
            message: e.to_string(),
        })?;
        let Data {
            id,
            event_type,
            occurred_at,
            payload,
        } = envelope.data;
        let text = |key: &str| match payload.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        let call = CallIds {
            call_control_id: text("call_control_id"),
            call_leg_id: text("call_leg_id"),
            call_session_id: text("call_session_id"),
            client_state: text("client_state"),
            from: text("from"),
            to: text("to"),
        };
        let or_empty = |key: &str| text(key).unwrap_or_default();
        let kind = match event_type.as_str() {
            "call.initiated" => EventKind::Initiated,
            "call.answered" => EventKind::Answered,
            "call.dtmf.received" => EventKind::DtmfReceived {
                digit: or_empty("digit"),
            },
            "call.gather.ended" => EventKind::GatherEnded {
                digits: or_empty("digits"),
                status: or_empty("status"),
            },
            "call.transcription" => {
                let data = payload.get("transcription_data").and_then(Value::as_object);
                let field = |k: &str| data.and_then(|d| d.get(k));
                EventKind::Transcription {
                    transcript: field("transcript")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    // Absent means final: Telnyx sends interim results only when asked.
                    is_final: field("is_final").and_then(Value::as_bool).unwrap_or(true),
                    confidence: field("confidence").and_then(Value::as_f64),
                }
            }
            "call.speak.started" => EventKind::SpeakStarted,
            "call.speak.ended" => EventKind::SpeakEnded {
                status: or_empty("status"),
            },
            "call.hangup" => EventKind::Hangup {
                cause: or_empty("hangup_cause"),
                source: or_empty("hangup_source"),
            },
            "call.machine.detection.ended" | "call.machine.premium.detection.ended" => {
                EventKind::MachineDetectionEnded {
                    result: or_empty("result"),
                }
            }
            _ => EventKind::Other,
        };
        Ok(Self {
            id,
            event_type,
            occurred_at,
            call,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_state_null_empty_or_absent_is_none() {
        for state in [r#","client_state":null"#, r#","client_state":"""#, ""] {
            let body = format!(
                r#"{{"data":{{"id":"e","event_type":"call.answered","payload":{{"call_control_id":"c"{state}}}}}}}"#
            );
            let e = CallEvent::parse(body.as_bytes()).unwrap();
            assert_eq!(e.call.client_state, None, "{body}");
            assert_eq!(e.call.call_control_id.as_deref(), Some("c"));
        }
    }

    #[test]
    fn unknown_types_and_bad_bodies() {
        let e =
            CallEvent::parse(br#"{"data":{"id":"e","event_type":"call.bridged","payload":{}}}"#)
                .unwrap();
        assert_eq!(e.kind, EventKind::Other);
        assert!(CallEvent::parse(b"[]").is_err());
        assert!(CallEvent::parse(br#"{"data":{"event_type":"call.answered"}}"#).is_err());
    }
}
