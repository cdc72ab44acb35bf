//! `POST /api/sentinel/execute`: an agent submits an action.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sentinel_core::{Action, ActionId, ErrorCode};
use tracing::field::Empty;

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::state::AppState;
use crate::submission::{self, NotSubmitted, Submitted};
use crate::wire::{self, ActionBody, ErrorBody, Submission};

/// Body `{agent_id, action, payload, reasoning, idempotency_key?, context?}` →
/// `{action_id, status, risk_score, analysis, rules, replayed, deadline}`.
///
/// Nothing is stored unless the caller is an agent allowed to act as `agent_id` and every
/// field is valid. The same `idempotency_key` with the same action returns the first
/// action (`replayed: true`); with a different one, 409. When the decision takes longer
/// than the request timeout (a slow scorer, a call being placed), the answer is `202
/// Accepted` with the id, `status: "ANALYZING"` and `Location` naming the action: the
/// decision goes on, and `GET {Location}/wait` returns it.
#[utoipa::path(
    post,
    path = "/api/sentinel/execute",
    tag = "actions",
    request_body = ActionBody,
    responses(
        (status = 200, description = "decided (or replayed)", body = Submission),
        (status = 202, description = "recorded, still being decided: follow `Location` (`/wait`)", body = Submission,
            headers(("location" = String, description = "the action: `/api/sentinel/actions/{id}`"))),
        (status = "default", description = "an error: 400 not JSON or a repeated key, 401, 403 another agent's id or the admin token, 408 the body came too slowly, 409 `idempotency_conflict`, 413, 422 a bad field or an integer beyond 64 bits, 503 the store failed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn execute(
    State(app): State<AppState>,
    who: Principal,
    headers: axum::http::HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
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
    // A W3C `traceparent`: the action's span joins the agent's trace.
    let traceparent = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let submitted = submission::submit_traced(
        &app.gateway,
        action,
        app.request_timeout,
        span.clone(),
        traceparent,
    );
    match submitted.await {
        Ok(Submitted::Decided(ticket)) => {
            let status = wire::status(ticket.status);
            span.record("action_id", tracing::field::display(ticket.action_id));
            span.record("risk", ticket.decision.risk_score);
            span.record("status", status);
            span.in_scope(|| tracing::info!(replayed = ticket.replayed, "action submitted"));
            app.remember(&agent_id, ticket.action_id);
            Ok(Json(Submission::decided(&ticket)).into_response())
        }
        Ok(Submitted::Pending(id)) => {
            span.record("action_id", tracing::field::display(id));
            span.record("status", "ANALYZING");
            span.in_scope(|| {
                tracing::warn!(
                    timeout_s = app.request_timeout.as_secs_f64(),
                    "still deciding at the request timeout; answered 202 with the id"
                );
            });
            app.remember(&agent_id, id);
            Ok(accepted(id))
        }
        Err(NotSubmitted::Failed(e)) => Err(e.into()),
        Err(NotSubmitted::NotRecorded) => Err(ApiError::new(
            ErrorCode::StoreUnavailable,
            "the store did not record the action in time; retry with the same `idempotency_key`",
        )),
        Err(NotSubmitted::Lost(e)) => Err(ApiError::internal(format!(
            "the submission's task ended: {e}"
        ))),
    }
}

/// `202 Accepted`, `Location: /api/sentinel/actions/{id}`.
fn accepted(id: ActionId) -> Response {
    let location = format!("/api/sentinel/actions/{id}");
    let mut response = (StatusCode::ACCEPTED, Json(Submission::analyzing(id))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
