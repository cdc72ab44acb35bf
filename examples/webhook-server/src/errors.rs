//! Every error the API returns: JSON `{"error": {"code", "message"}}` (plus `field` when
//! one input field is at fault). `code` is one of the core's [`ErrorCode`]s
//! (`docs/errors.md`), taken from the core error where there is one; the HTTP status is
//! [`ErrorCode::http_status`] except where the API always answered another, which
//! [`ApiError::with_status`] keeps (see the crate README):
//!
//! - an action id that is not a UUID: `invalid_action` with 400 (not 422);
//! - a bad query parameter or resolve body field: `invalid_request` with 422 (not 400);
//! - a request that took too long, or a connection beyond the cap: `internal` with 503
//!   (not 500);
//! - a body that came too slowly: `invalid_request` with 408;
//! - a method the endpoint does not take: `invalid_request` with 405;
//! - the webhook while the voice approver is off: `unsupported` with 404 (not 501).

use std::fmt::Display;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sentinel_core::{ActionError, Coded, ErrorCode, ResolveError, StoreError, SubmitError};
use serde_json::json;

/// An API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable, machine-readable code, e.g. `invalid_action`.
    pub code: ErrorCode,
    /// A lowercase sentence for people; user input in backticks.
    pub message: String,
    /// The input field at fault, when there is one.
    pub field: Option<String>,
}

impl ApiError {
    /// An error with `code` and `message`, answered with the code's status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(code.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message: message.into(),
            field: None,
        }
    }

    /// A core error as it is: its code, its message.
    pub fn coded(e: &(impl Coded + Display)) -> Self {
        Self::new(e.code(), e.to_string())
    }

    /// Answers with `status` instead of the code's own, where the API's contract differs.
    #[must_use]
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Names the input field at fault.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 401 `unauthorized`: no credentials, or credentials nobody issued.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    /// 403 `forbidden`: known caller, not allowed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// 400 `invalid_request`: the body is not JSON, or cannot be read.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// 422 `invalid_request` naming `field`: a query parameter or a field of a body that
    /// is not an action (the resolve body). 422, as the API always answered for fields.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
            .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            .with_field(field)
    }

    /// 404 `not_found`: no such action (or not one the caller may see).
    pub fn action_not_found(id: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no action with id `{id}`"))
    }

    /// 500 `internal`: something unexpected failed inside the server. The detail goes to
    /// the log; the client is told only that it happened.
    pub fn internal(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        tracing::error!(error = %detail, "internal error");
        Self::new(
            ErrorCode::Internal,
            "an unexpected failure inside the server; nothing ran (details are in the server log)",
        )
    }
}

impl Coded for ApiError {
    fn code(&self) -> ErrorCode {
        self.code
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code.as_str(), "message": self.message});
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
        let error = Self::coded(&e);
        match &e {
            // Bodies are parsed before they become actions; text that is not JSON is a
            // malformed request, as for every other body.
            ActionError::Syntax { .. } => Self::invalid_request(error.message),
            ActionError::MissingField { field }
            | ActionError::WrongType { field, .. }
            | ActionError::Empty { field } => error.with_field(*field),
            ActionError::UnknownField { field } => error.with_field(field.clone()),
            // A path segment, not a body field: 400, as the API always answered.
            ActionError::BadId { .. } => {
                error.with_field("id").with_status(StatusCode::BAD_REQUEST)
            }
            _ => error,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let error = Self::coded(&e);
        match &e {
            StoreError::IdempotencyConflict { .. } => error.with_field("idempotency_key"),
            StoreError::NotFound(_) | StoreError::Transition(_) => error,
            // The store's own words can name hosts, files and queries: they go to the log.
            _ if error.status.is_server_error() => {
                tracing::error!(error = %e, "store failed");
                Self {
                    message: "the store is unavailable; nothing was decided (details are in the server log)".to_owned(),
                    ..error
                }
            }
            _ => error,
        }
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Store(s) => s.into(),
            other => Self::coded(&other),
        }
    }
}

impl From<ResolveError> for ApiError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::Store(s) => s.into(),
            other => Self::coded(&other),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn codes_come_from_the_core_and_statuses_from_the_codes() {
        let e = ApiError::from(ActionError::MissingField { field: "payload" });
        assert_eq!(
            (e.code, e.status.as_u16(), e.field.as_deref()),
            (ErrorCode::InvalidAction, 422, Some("payload"))
        );
        let e = ApiError::from(ActionError::BadId { id: "nope".into() });
        assert_eq!((e.code, e.status.as_u16()), (ErrorCode::InvalidAction, 400));
        let e = ApiError::from(StoreError::Backend("down".into()));
        assert_eq!(
            (e.code.as_str(), e.status.as_u16()),
            ("store_unavailable", 503)
        );
        assert_eq!(ApiError::forbidden("no").status.as_u16(), 403);
    }
}
