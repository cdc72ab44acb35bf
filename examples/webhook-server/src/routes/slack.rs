//! `POST /api/slack/interactions`: Slack's interactivity requests (the Approve / Decline
//! buttons of the ladder's Slack messages).

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use sentinel_core::ErrorCode;
use sentinel_core::slack::SlackError;

use crate::errors::ApiError;
use crate::state::AppState;

/// No bearer key: Slack's request signature is the authentication. Unverified (bad,
/// missing or stale `X-Slack-Signature` / `X-Slack-Request-Timestamp`) → 401
/// `webhook_unverified` and nothing changes; a verified press → 200 at once (Slack wants
/// an answer within 3 s), the decision made and the message updated from a task; no Slack
/// channel configured → 404 `unsupported`.
#[utoipa::path(
    post,
    path = "/api/slack/interactions",
    tag = "slack",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Slack's form-encoded `payload` (`block_actions`), signed (`X-Slack-Signature`, `X-Slack-Request-Timestamp`)"),
    responses(
        (status = 200, description = "accepted; the decision is made asynchronously"),
        (status = "default", description = "an error: 400 not one of Sentinel's buttons, 401 `webhook_unverified`, 404 `unsupported` (no Slack channel), 413", body = crate::wire::ErrorBody),
    )
)]
pub async fn interactions(
    State(app): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let Some(slack) = app.slack.clone() else {
        return Err(ApiError::new(
            ErrorCode::Unsupported,
            "the slack channel is not configured",
        )
        .with_status(StatusCode::NOT_FOUND));
    };
    let body = super::body(&app, raw)?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    let pressed = slack
        .interaction(
            header("x-slack-request-timestamp"),
            header("x-slack-signature"),
            &body,
            now,
        )
        .map_err(|e| match e {
            SlackError::Unverified(why) => {
                tracing::warn!(reason = %why, "slack interaction refused");
                ApiError::new(
                    ErrorCode::WebhookUnverified,
                    format!("slack interaction refused: {why}"),
                )
            }
            other => ApiError::invalid_request(other.to_string()),
        })?;
    tokio::spawn(async move {
        if let Err(e) = slack.decide(&pressed).await {
            tracing::warn!(action_id = %pressed.action_id, error = %e, "slack decision not delivered");
        }
    });
    Ok(StatusCode::OK)
}
