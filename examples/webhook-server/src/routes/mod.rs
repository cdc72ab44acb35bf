//! The endpoints, one module per concept, and what they share: reading ids and bodies,
//! and finding the actions a caller may see.

pub mod actions;
pub mod events;
pub mod execute;
pub mod health;
pub mod metrics;
pub mod resolve;
pub mod slack;
pub mod telnyx;

use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::StatusCode;
use sentinel_core::json::StrictJsonError;
use sentinel_core::{ActionId, ActionRecord, StoreError};
use serde_json::Value;

use crate::auth::Principal;
use crate::disclose::Audience;
use crate::errors::ApiError;
use crate::limits;
use crate::state::AppState;
use crate::wire;

/// Parses an action id from the path.
pub(crate) fn action_id(path: Result<Path<String>, PathRejection>) -> Result<ActionId, ApiError> {
    let text = match path {
        Ok(Path(text)) => text,
        // Not UTF-8 once percent-decoded, and the like: not an id either.
        Err(rejection) => {
            return Err(ApiError::new(
                sentinel_core::ErrorCode::InvalidAction,
                format!("the action id in the path cannot be read: {rejection}"),
            )
            .with_field("id")
            .with_status(StatusCode::BAD_REQUEST));
        }
    };
    Ok(text.parse::<ActionId>()?)
}

/// The body as bytes, or a JSON error: 413 past the limit.
pub(crate) fn body(app: &AppState, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            limits::too_large(app.max_body_bytes)
        } else {
            ApiError::invalid_request(format!("cannot read the body: {rejection}"))
        }
    })
}

/// The body parsed as strict JSON ([`sentinel_core::json`]): what is stored and hashed is
/// exactly what was sent. A repeated key is 400 `invalid_request` naming the key and where
/// it is; an integer beyond 64 bits is 422 `invalid_action` naming its line and column.
pub(crate) fn json(app: &AppState, raw: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let raw = body(app, raw)?;
    let text = std::str::from_utf8(&raw).map_err(|e| {
        ApiError::invalid_request(format!("the body is not valid JSON: not UTF-8 ({e})"))
    })?;
    sentinel_core::json::from_str(text).map_err(|e| match e {
        StrictJsonError::DuplicateKey { key, path } => {
            let at = if path == "." {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            ApiError::invalid_request(format!(
                "the body is not valid JSON: duplicate key `{key}` at `{path}`"
            ))
            .with_field(at)
        }
        e @ StrictJsonError::InexactInteger { .. } => {
            ApiError::new(sentinel_core::ErrorCode::InvalidAction, e.to_string())
                .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        }
        StrictJsonError::Syntax { message } => {
            ApiError::invalid_request(format!("the body is not valid JSON: {message}"))
        }
        other => ApiError::invalid_request(format!("the body is not valid JSON: {other}")),
    })
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

/// The full view of an action for `who`: record, audit trail, call notes and where the
/// call stands (never waiting on the approver).
pub(crate) async fn view(
    app: &AppState,
    record: &ActionRecord,
    who: &Principal,
) -> Result<wire::ActionView, ApiError> {
    let trail = app.gateway.audit_trail(record.id).await?;
    let note = app.notes.get(record.id, &record.action_hash);
    let call = match &app.voice {
        Some(voice) => voice.call(record.id).await,
        None => None,
    };
    Ok(wire::action(
        record,
        &trail,
        &note,
        call,
        Audience::from(who),
    ))
}
