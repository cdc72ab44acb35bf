//! The one place the server touches the Telnyx voice approver (which the core builds from
//! `[approver.telnyx]`): passing verified webhooks to it, and reporting where a call stands.

use std::sync::Arc;

use crate::errors::ApiError;
use crate::notes::CallNotes;
use crate::wire::{CallView, WebhookAnswer};
use axum::http::HeaderMap;
use sentinel_core::telnyx::{CallEvent, EventKind, WebhookError, WebhookOutcome};
use sentinel_core::{ActionId, TelnyxVoiceApprover};

/// The voice approver, shared by the gateway (which places calls) and the webhook route.
#[derive(Debug, Clone)]
pub struct Voice {
    approver: TelnyxVoiceApprover,
}

impl Voice {
    /// Wraps the approver the configuration built (`[approver.telnyx]`, through the
    /// core's spec); the gateway holds a clone of the same approver.
    pub fn new(approver: TelnyxVoiceApprover) -> Self {
        Self { approver }
    }

    /// What the start-up banner says: never a key.
    pub fn describe(&self) -> String {
        let c = self.approver.config();
        let webhooks = c
            .webhook_url
            .as_deref()
            .unwrap_or("the URL set on the Telnyx connection");
        format!(
            "telnyx-voice: calls {} from {} via {}; webhooks to {}",
            mask(&c.admin_number),
            c.from_number,
            c.api_base,
            webhooks
        )
    }

    /// Verifies and handles one webhook. The work runs in its own task, so a client that
    /// goes away cannot cut a conversation step in half. A refused webhook is counted in
    /// `metrics` (`sentinel_webhook_verifications_refused_total`).
    pub async fn webhook(
        &self,
        headers: HeaderMap,
        body: axum::body::Bytes,
        notes: Arc<CallNotes>,
        metrics: &sentinel_core::Metrics,
    ) -> Result<WebhookAnswer, ApiError> {
        let approver = self.approver.clone();
        let outcome = tokio::spawn(async move {
            let outcome = approver.handle_webhook(&headers, &body).await;
            if let Ok(WebhookOutcome::Handled { action_id, .. }) = &outcome {
                note_digit(&notes, *action_id, &body);
            }
            outcome
        })
        .await
        .map_err(|e| ApiError::internal(format!("webhook handling failed: {e}")))?;
        match outcome {
            Ok(WebhookOutcome::Handled {
                event_id,
                event_type,
                action_id,
                phase,
            }) => Ok(WebhookAnswer {
                result: "handled".to_owned(),
                event_id: Some(event_id),
                event_type: Some(event_type),
                action_id: Some(action_id),
                phase: Some(snake(&format!("{phase:?}"))),
                ..WebhookAnswer::default()
            }),
            Ok(WebhookOutcome::Ignored {
                event_id,
                event_type,
                reason,
            }) => Ok(WebhookAnswer {
                result: "ignored".to_owned(),
                event_id: Some(event_id),
                event_type: Some(event_type),
                reason: Some(snake(&format!("{reason:?}"))),
                ..WebhookAnswer::default()
            }),
            Ok(other) => Ok(WebhookAnswer {
                result: format!("{other:?}"),
                ..WebhookAnswer::default()
            }),
            // A redelivery of an event handled before: 200 stops Telnyx from retrying.
            Err(e) if e.http_status() == 200 => Ok(WebhookAnswer {
                result: "duplicate".to_owned(),
                message: Some(e.to_string()),
                ..WebhookAnswer::default()
            }),
            Err(e) => {
                crate::routes::metrics::webhook_refused(metrics, &e);
                Err(webhook_error(&e))
            }
        }
    }

    /// Where the approval call about `id` stands, if one was placed. Never waits on the
    /// approver (a dial that hangs holds the call): `dialing` until the dial answers.
    pub async fn call(&self, id: ActionId) -> Option<CallView> {
        let report = self.approver.call_report(id).await?;
        let phase = if report.dialing {
            "dialing".to_owned()
        } else {
            snake(&format!("{:?}", report.phase))
        };
        Some(CallView {
            call_control_id: report.call_control_id,
            phase,
            outcome: report.outcome.map(|o| snake(&format!("{o:?}"))),
        })
    }
}

/// The core's code: `webhook_unverified` (401), `invalid_request` (400, not a call event),
/// `approver_failed` (502, a command to Telnyx failed).
fn webhook_error(e: &WebhookError) -> ApiError {
    let error = ApiError::coded(e);
    if error.status.is_client_error() {
        tracing::warn!(error = %e, "webhook refused");
    } else {
        tracing::error!(error = %e, "webhook failed");
    }
    error
}

/// Notes the menu key of a handled key-press event. Keys typed while the call asks for a
/// PIN (the client state of its gather says `pin`) are never noted: `last_digit` would
/// show the PIN. Only a single menu key is noted.
fn note_digit(notes: &CallNotes, id: ActionId, body: &[u8]) {
    let Ok(event) = CallEvent::parse(body) else {
        return;
    };
    if pin_entry(event.call.client_state.as_deref()) {
        return;
    }
    let key = match &event.kind {
        EventKind::DtmfReceived { digit } => digit,
        EventKind::GatherEnded { digits, .. } => digits,
        _ => return,
    };
    if matches!(key.as_str(), "1" | "2") {
        notes.digit(id, key);
    }
}

/// True when the client state (base64 JSON) names the PIN gather, or cannot be read (fail
/// closed: the key is not noted).
fn pin_entry(client_state: Option<&str>) -> bool {
    use base64::Engine as _;
    let Some(text) = client_state else {
        return false;
    };
    let step = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["step"].as_str().map(str::to_owned));
    step.is_none_or(|s| s == "pin")
}

/// `+15550100002` → `+1555…02`.
fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 6 {
        return "…".to_owned();
    }
    let head: String = chars[..5].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}…{tail}")
}

/// `NoAnswer` → `no_answer`.
pub(crate) fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
