//! `POST /api/telnyx/webhook`: signed Telnyx call events for the voice approver.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use sentinel_core::ErrorCode;

use crate::errors::ApiError;
use crate::state::AppState;
use crate::wire::{ErrorBody, WebhookAnswer};

/// No bearer key: the Ed25519 signature is the authentication. Unverified (bad, missing
/// or stale signature) → 401 `webhook_unverified` and nothing changes; a redelivered event
/// → 200; the voice approver off → 404 `unsupported`.
#[utoipa::path(
    post,
    path = "/api/telnyx/webhook",
    tag = "telnyx",
    request_body(content = Object, description = "a Telnyx Call Control event, signed (`telnyx-signature-ed25519`, `telnyx-timestamp`)"),
    responses(
        (status = 200, description = "handled, ignored, or a redelivery", body = WebhookAnswer),
        (status = "default", description = "an error: 400 not a call event, 401 `webhook_unverified`, 404 `unsupported` (no voice approver), 413, 502 a command to Telnyx failed", body = ErrorBody),
    )
)]
pub async fn webhook(
    State(app): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<WebhookAnswer>, ApiError> {
    let Some(voice) = &app.voice else {
        // 404, as the API always answered: there is no webhook endpoint to call.
        return Err(ApiError::new(
            ErrorCode::Unsupported,
            "the telnyx voice approver is not configured",
        )
        .with_status(StatusCode::NOT_FOUND));
    };
    let body = super::body(&app, raw)?;
    let metrics = app.gateway.metrics();
    Ok(Json(
        voice
            .webhook(headers, body, app.notes.clone(), metrics)
            .await?,
    ))
}
