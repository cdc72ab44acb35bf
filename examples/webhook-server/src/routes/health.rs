//! `GET /healthz`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::state::AppState;

/// `{"status": "ok"}` when the store answers; 503 otherwise. No authentication.
pub async fn healthz(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    app.gateway.store().latest().await?;
    Ok(Json(json!({
        "status": "ok",
        "scorer": app.gateway.scorer_name(),
        "approver": app.gateway.approver_name(),
    })))
}
