//! Demo mode only: the original dashboard's three module triggers, as buttons that submit
//! an escalating action as a demo agent (`POST /console/api/demo/{module}`, module
//! `vaultkeeper`, `privacyshield` or `opsguard`).

use axum::Json;
use axum::extract::{Path, State};
use sentinel_core::{Action, ErrorCode};
use serde::Serialize;
use serde_json::json;

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::state::AppState;
use crate::submission::{self, NotSubmitted, Submitted};
use crate::wire;

/// The demo's module triggers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Triggers;

impl Triggers {
    /// The action the trigger of `module` submits.
    fn action(self, module: &str) -> Option<Action> {
        let action = match module {
            "vaultkeeper" => Action::new("session_demo", "PAY_INVOICE")
                .with_payload(json!({"amount": 10000, "vendor": "Unknown Corp"}))
                .with_reasoning("the vendor says the invoice is overdue; pay now"),
            "privacyshield" => Action::new("data-bot", "EXPORT_CSV")
                .with_payload(json!({"record_count": 200, "contains_pii": false, "destination": "partner-sftp"}))
                .with_reasoning("a partner asked for the customer list"),
            "opsguard" => Action::new("ops-bot", "DELETE_USER")
                .with_payload(json!({"user_id": "u-1842", "environment": "production"}))
                .with_reasoning("GDPR erasure request"),
            _ => return None,
        };
        Some(action)
    }
}

/// What a trigger submitted.
#[derive(Debug, Serialize)]
pub struct Triggered {
    /// The new action's id.
    pub action_id: sentinel_core::ActionId,
    /// Its status so far.
    pub status: String,
}

/// `POST /console/api/demo/{module}`: 404 outside demo mode.
pub async fn trigger(
    State(app): State<AppState>,
    who: Principal,
    Path(module): Path<String>,
) -> Result<Json<Triggered>, ApiError> {
    who.require_admin("the demo triggers")?;
    let Some(triggers) = app.console.demo else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "the demo triggers exist in demo mode only",
        ));
    };
    let action = triggers.action(&module).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!(
                "no demo module `{module}`; expected `vaultkeeper`, `privacyshield` or `opsguard`"
            ),
        )
    })?;
    // The agent's own `GET /api/sentinel/status` shows it, as for its own submissions.
    let agent_id = action.agent_id.clone();
    let span = tracing::info_span!("demo trigger", module = %module, by = who.name());
    match submission::submit(&app.gateway, action, app.request_timeout, span).await {
        Ok(Submitted::Decided(ticket)) => {
            app.remember(&agent_id, ticket.action_id);
            Ok(Json(Triggered {
                action_id: ticket.action_id,
                status: wire::status(ticket.status).to_owned(),
            }))
        }
        Ok(Submitted::Pending(id)) => {
            app.remember(&agent_id, id);
            Ok(Json(Triggered {
                action_id: id,
                status: "ANALYZING".to_owned(),
            }))
        }
        Err(NotSubmitted::Failed(e)) => Err(e.into()),
        Err(NotSubmitted::NotRecorded | NotSubmitted::Lost(_)) => {
            Err(ApiError::internal("the demo action was not recorded"))
        }
    }
}
