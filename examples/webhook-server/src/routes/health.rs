//! `GET /healthz`.

use axum::Json;
use axum::extract::State;

use crate::errors::ApiError;
use crate::state::AppState;
use crate::wire::{ErrorBody, Health};

/// `{"status": "ok"}` when the store answers; 503 otherwise. No authentication.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses(
        (status = 200, description = "the store answers", body = Health),
        (status = "default", description = "503 `store_unavailable`", body = ErrorBody),
    )
)]
pub async fn healthz(State(app): State<AppState>) -> Result<Json<Health>, ApiError> {
    app.gateway.store().latest().await?;
    Ok(Json(Health {
        status: "ok".to_owned(),
        scorer: app.gateway.scorer_name().to_owned(),
        approver: app.gateway.approver_name().map(str::to_owned),
    }))
}
