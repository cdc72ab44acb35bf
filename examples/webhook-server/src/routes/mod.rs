//! The endpoints, one module per concept, and what they share: reading ids and bodies,
//! and finding the actions a caller may see.

pub mod actions;
pub mod events;
pub mod execute;
pub mod health;
pub mod resolve;
pub mod telnyx;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use sentinel_core::{ActionId, ActionRecord, ErrorCode, StoreError};
use serde_json::Value;

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::state::AppState;
use crate::wire;

/// Parses an action id from the path.
pub(crate) fn action_id(text: &str) -> Result<ActionId, ApiError> {
    Ok(text.parse::<ActionId>()?)
}

/// The body as bytes, or a JSON error: 413 past the limit.
pub(crate) fn body(app: &AppState, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "the body is larger than the limit of {} bytes",
                    app.max_body_bytes
                ),
            )
        } else {
            ApiError::invalid_request(format!("cannot read the body: {rejection}"))
        }
    })
}

/// The body parsed as JSON.
pub(crate) fn json(app: &AppState, raw: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let raw = body(app, raw)?;
    serde_json::from_slice(&raw)
        .map_err(|e| ApiError::invalid_request(format!("the body is not valid JSON: {e}")))
}

/// The record of an action the caller may see; others' actions look unknown (404).
pub(crate) async fn visible(
    app: &AppState,
    who: &Principal,
    id: ActionId,
) -> Result<ActionRecord, ApiError> {
    match app.gateway.status(id).await {
        Ok(record) if who.covers(&record.action.agent_id) => Ok(record),
        Ok(_) | Err(StoreError::NotFound(_)) => Err(ApiError::action_not_found(&id.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// The full view of an action: record, audit trail, call notes.
pub(crate) async fn view(app: &AppState, record: &ActionRecord) -> Result<Value, ApiError> {
    let trail = app.gateway.audit_trail(record.id).await?;
    let note = app.notes.get(record.id, &record.action_hash);
    let call = match &app.voice {
        Some(voice) => voice.call(record.id).await,
        None => None,
    };
    Ok(wire::action(record, &trail, &note, call))
}
