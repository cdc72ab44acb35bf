//! Reading actions: one action, the long-poll, and the original `status` endpoint.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};

use crate::auth::Principal;
use crate::disclose::Audience;
use crate::errors::ApiError;
use crate::state::AppState;
use crate::wire::{self, ActionView, ErrorBody, LegacyStatus};

/// Long-poll length when `timeout_s` is not given.
const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// `GET /api/sentinel/actions/{id}`: status, score, analysis, rules, approval (who,
/// channel, when, reason), the call, and the audit trail.
#[utoipa::path(
    get,
    path = "/api/sentinel/actions/{id}",
    tag = "actions",
    params(("id" = uuid::Uuid, Path, description = "the action id (a UUID)")),
    responses(
        (status = 200, description = "the action (the owning agent, or the admin)", body = ActionView),
        (status = "default", description = "an error: 400 a malformed id, 401, 404 unknown (or another agent's) action, 503 the store failed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn show(
    State(app): State<AppState>,
    who: Principal,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<ActionView>, ApiError> {
    let id = super::action_id(id)?;
    let record = super::visible(&app, &who, id).await?;
    Ok(Json(super::view(&app, &record, &who).await?))
}

/// `GET /api/sentinel/actions/{id}/wait?timeout_s=N`: returns as soon as the action is
/// terminal, or after `N` seconds (default 30, at most the configured maximum) with its
/// current state. `terminal` in the answer tells which.
#[utoipa::path(
    get,
    path = "/api/sentinel/actions/{id}/wait",
    tag = "actions",
    params(
        ("id" = uuid::Uuid, Path, description = "the action id (a UUID)"),
        ("timeout_s" = Option<f64>, Query, minimum = 0, description = "longest wait in seconds (default 30, at most `server.max_wait_s`)"),
    ),
    responses(
        (status = 200, description = "the action once terminal, or when the wait ended", body = ActionView),
        (status = "default", description = "an error: 400, 401, 404, 422 a bad `timeout_s`, 503", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn wait(
    State(app): State<AppState>,
    who: Principal,
    id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<ActionView>, ApiError> {
    let timeout = wait_timeout(query.as_deref(), app.max_wait)?;
    let id = super::action_id(id)?;
    super::visible(&app, &who, id).await?;
    let mut shutdown = app.shutdown.clone();
    let record = tokio::select! {
        waited = app.gateway.wait(id, Some(timeout)) => waited?,
        () = async move { let _ = shutdown.wait_for(|stop| *stop).await; } => app.gateway.status(id).await?,
    };
    Ok(Json(super::view(&app, &record, &who).await?))
}

/// `GET /api/sentinel/status`: the most recent action's state in the original shape
/// `{status, risk_score, analysis, last_digit, last_question, last_answer}`. The admin sees
/// the most recent action of all; an agent, its own most recent one.
#[utoipa::path(
    get,
    path = "/api/sentinel/status",
    tag = "actions",
    responses(
        (status = 200, description = "the most recent action, or `IDLE`", body = LegacyStatus),
        (status = "default", description = "an error: 401, 503", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn status(
    State(app): State<AppState>,
    who: Principal,
) -> Result<Json<LegacyStatus>, ApiError> {
    let record = match &who {
        Principal::Admin | Principal::Operator(_) => app.gateway.store().latest().await?,
        agent => match app.latest_of(agent) {
            Some(id) => Some(app.gateway.status(id).await?),
            None => None,
        },
    };
    let note = record
        .as_ref()
        .map(|r| app.notes.get(r.id, &r.action_hash))
        .unwrap_or_default();
    Ok(Json(wire::legacy_status(
        record.as_ref(),
        &note,
        Audience::from(&who),
    )))
}

/// Reads `timeout_s` from the query string.
fn wait_timeout(query: Option<&str>, max: Duration) -> Result<Duration, ApiError> {
    let mut timeout = DEFAULT_WAIT.min(max);
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "timeout_s" {
            return Err(ApiError::invalid_field(
                key,
                format!("unknown query parameter `{key}`; only `timeout_s` is accepted"),
            ));
        }
        let seconds: f64 = value
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| {
                ApiError::invalid_field(
                    "timeout_s",
                    format!("`timeout_s` must be a number of seconds, found `{value}`"),
                )
            })?;
        if seconds > max.as_secs_f64() {
            return Err(ApiError::invalid_field(
                "timeout_s",
                format!(
                    "`timeout_s` must be at most {} seconds, found `{value}`",
                    max.as_secs()
                ),
            ));
        }
        timeout = Duration::from_secs_f64(seconds);
    }
    Ok(timeout)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_wait_timeout() {
        let max = Duration::from_secs(60);
        assert_eq!(wait_timeout(None, max).unwrap(), Duration::from_secs(30));
        assert_eq!(
            wait_timeout(Some("timeout_s=2.5"), max).unwrap(),
            Duration::from_millis(2500)
        );
        for bad in ["timeout_s=-1", "timeout_s=abc", "timeout_s=61", "timeout=3"] {
            let e = wait_timeout(Some(bad), max).unwrap_err();
            assert_eq!(
                (e.code.as_str(), e.status.as_u16()),
                ("invalid_request", 422),
                "{bad}"
            );
        }
    }
}
