//! `POST /api/sentinel/execute`: an agent submits an action.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use sentinel_core::Action;
use serde_json::{Value, json};
use tracing::Instrument;
use tracing::field::Empty;

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::state::AppState;
use crate::wire;

/// Body `{agent_id, action, payload, reasoning, idempotency_key?, context?}` →
/// `{action_id, status, risk_score, analysis, rules, replayed, deadline}`.
///
/// Nothing is stored unless the caller is an agent allowed to act as `agent_id` and every
/// field is valid. The same `idempotency_key` with the same action returns the first
/// action (`replayed: true`); with a different one, 409.
pub async fn execute(
    State(app): State<AppState>,
    who: Principal,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let agent = who.require_agent("submitting actions")?.to_owned();
    let action = Action::from_json(super::json(&app, raw)?)?;
    if !who.covers(&action.agent_id) {
        return Err(ApiError::forbidden(format!(
            "the key of agent `{agent}` cannot submit as `{}`",
            action.agent_id
        ))
        .with_field("agent_id"));
    }
    let agent_id = action.agent_id.clone();
    let span = tracing::info_span!("action", action_id = Empty, agent = %action.agent_id, action = %action.action, risk = Empty, status = Empty);
    // The submission runs to its end even if the client goes away or the request times
    // out: a half-made decision would leave the action stuck in `ANALYZING`.
    let gateway = app.gateway.clone();
    let ticket = tokio::spawn(async move { gateway.submit(action).await }.instrument(span.clone()))
        .await
        .map_err(|e| ApiError::internal(format!("the submission failed: {e}")))??;
    let status = wire::status(ticket.status);
    span.record("action_id", tracing::field::display(ticket.action_id));
    span.record("risk", ticket.decision.risk_score);
    span.record("status", status);
    span.in_scope(|| tracing::info!(replayed = ticket.replayed, "action submitted"));
    app.remember(&agent_id, ticket.action_id);
    Ok(Json(json!({
        "action_id": ticket.action_id,
        "status": status,
        "risk_score": ticket.decision.risk_score,
        "analysis": ticket.decision.analysis,
        "rules": ticket.decision.rules,
        "replayed": ticket.replayed,
        "deadline": ticket.deadline,
    })))
}
