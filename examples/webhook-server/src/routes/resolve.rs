//! `POST /api/sentinel/actions/{id}/resolve`: the admin or an operator decides (the web
//! fallback channel; `console` for operators signed in to the console).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use sentinel_core::Resolution;
use serde_json::Value;

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::state::AppState;
use crate::wire::{ActionView, ErrorBody, ResolveBody};

/// Channel recorded for decisions made here with a bearer key.
pub const CHANNEL: &str = "web";
/// Channel recorded for decisions made from the console (session cookie).
pub const CONSOLE_CHANNEL: &str = "console";

/// Body `{"decision": "approve" | "decline", "reason": "...", "by": "alice"}` (`by`
/// defaults to `admin`; an operator always decides under their own name). Answers with
/// the action's view; 409 when it was already decided.
#[utoipa::path(
    post,
    path = "/api/sentinel/actions/{id}/resolve",
    tag = "actions",
    params(("id" = uuid::Uuid, Path, description = "the action id (a UUID)")),
    request_body = ResolveBody,
    responses(
        (status = 200, description = "the action, decided", body = ActionView),
        (status = "default", description = "an error: 400 not JSON or a malformed id, 401, 403 not the admin or an approver, or a cross-origin console request, 404, 409 `already_decided`, 413, 422 a bad field, 503", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn resolve(
    State(app): State<AppState>,
    who: Principal,
    id: Result<Path<String>, PathRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<ActionView>, ApiError> {
    who.require_decider("resolving actions")?;
    let id = super::action_id(id)?;
    let body = super::json(&app, raw)?;
    let resolution = parse(body, &who)?;
    super::visible(&app, &who, id).await?;
    let gateway = app.gateway.clone();
    // Runs to its end even if the client goes away.
    let record = tokio::spawn(async move { gateway.resolve(id, resolution).await })
        .await
        .map_err(|e| ApiError::internal(format!("the decision failed: {e}")))??;
    tracing::info!(action_id = %id, status = %record.state, by = who.name(), "resolved through the web");
    Ok(Json(super::view(&app, &record, &who).await?))
}

fn parse(body: Value, who: &Principal) -> Result<Resolution, ApiError> {
    let Value::Object(mut map) = body else {
        return Err(ApiError::invalid_field(
            "decision",
            "the body must be an object like `{\"decision\": \"approve\", \"reason\": \"...\"}`",
        ));
    };
    let text =
        |map: &mut serde_json::Map<String, Value>, field: &'static str| match map.remove(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid_field(
                field,
                format!("field `{field}` must be a string"),
            )),
        };
    let decision = text(&mut map, "decision")?
        .ok_or_else(|| ApiError::invalid_field("decision", "missing field `decision`"))?;
    let reason = text(&mut map, "reason")?.unwrap_or_default();
    let by = text(&mut map, "by")?.filter(|b| !b.trim().is_empty());
    let (by, channel) = match who {
        Principal::Operator(staff) => {
            if let Some(other) = by.filter(|b| *b != staff.name) {
                return Err(ApiError::forbidden(format!(
                    "operator `{}` decides under their own name, not `{other}`",
                    staff.name
                )));
            }
            let channel = if staff.console {
                CONSOLE_CHANNEL
            } else {
                CHANNEL
            };
            (staff.name.clone(), channel)
        }
        _ => (by.unwrap_or_else(|| "admin".to_owned()), CHANNEL),
    };
    if let Some(unknown) = map.keys().next() {
        return Err(ApiError::invalid_field(
            unknown.clone(),
            format!("unknown field `{unknown}`, expected `decision`, `reason` or `by`"),
        ));
    }
    let resolution = match decision.to_ascii_lowercase().as_str() {
        "approve" | "approved" => Resolution::approve(by, channel),
        "decline" | "declined" => Resolution::decline(by, channel),
        _ => {
            return Err(ApiError::invalid_field(
                "decision",
                format!("`decision` must be `approve` or `decline`, found `{decision}`"),
            ));
        }
    };
    Ok(resolution.with_reason(reason))
}
