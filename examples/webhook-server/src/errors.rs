//! Every error the API returns: JSON `{"error": {"code", "message"}}` (plus `field` when
//! one input field is at fault), with a fitting HTTP status.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sentinel_core::{ActionError, ResolveError, StoreError, SubmitError};
use serde_json::json;

/// An API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable code, e.g. `invalid_field`.
    pub code: &'static str,
    /// A lowercase sentence for people; user input in backticks.
    pub message: String,
    /// The input field at fault, when there is one.
    pub field: Option<String>,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// Names the input field at fault.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 401: no credentials, or credentials nobody issued.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: known caller, not allowed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 400: the body is not JSON.
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_json", message)
    }

    /// 422: a field is missing or ill-typed.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).with_field(field)
    }

    /// 404: no such action (or not one the caller may see).
    pub fn action_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no action with id `{id}`"),
        )
    }

    /// 503: the store (or another dependency) failed; nothing was decided.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        let message = e.to_string();
        match &e {
            ActionError::Syntax { .. } => Self::invalid_json(message),
            ActionError::NotAnObject { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", message)
            }
            ActionError::MissingField { field }
            | ActionError::WrongType { field, .. }
            | ActionError::Empty { field } => Self::invalid_field(*field, message),
            ActionError::UnknownField { field } => Self::invalid_field(field.clone(), message),
            ActionError::BadId { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_id", message).with_field("id")
            }
            _ => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", message),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::NotFound(id) => Self::action_not_found(&id.to_string()),
            StoreError::IdempotencyConflict { .. } => {
                Self::new(StatusCode::CONFLICT, "idempotency_conflict", e.to_string())
                    .with_field("idempotency_key")
            }
            StoreError::Transition(_) => {
                Self::new(StatusCode::CONFLICT, "already_decided", e.to_string())
            }
            _ => {
                tracing::error!(error = %e, "store failed");
                Self::unavailable(e.to_string())
            }
        }
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Store(s) => s.into(),
            other => Self::unavailable(other.to_string()),
        }
    }
}

impl From<ResolveError> for ApiError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::Store(s) => s.into(),
            other => Self::unavailable(other.to_string()),
        }
    }
}
