//! Request bodies, bounded before any handler runs: a declared `Content-Length` over the
//! limit is refused with 413 at once, without reading a byte of the body; a body is read
//! whole within the body timeout (`server.body_timeout_s`), or 408 and the connection is
//! closed; a body that grows past the limit while it is read is refused with 413.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sentinel_core::ErrorCode;

use crate::errors::ApiError;

/// How bodies are bounded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// Largest body, in bytes (`server.max_body_bytes`).
    pub max_bytes: usize,
    /// Longest a client may take to send it (`server.body_timeout_s`).
    pub timeout: Duration,
}

/// 413 `payload_too_large`.
pub(crate) fn too_large(max_bytes: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the body is larger than the limit of {max_bytes} bytes"),
    )
}

/// The middleware: reads the body under the limits, then hands the request on with the
/// body in memory (handlers never wait on a client).
pub(crate) async fn read_body(
    State(limits): State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(declared) = declared_length(&request) {
        match declared {
            Ok(n) if n > limits.max_bytes as u64 => {
                return closing(too_large(limits.max_bytes));
            }
            Ok(_) => {}
            Err(text) => {
                return closing(ApiError::invalid_request(format!(
                    "`content-length` must be a number of bytes, found `{text}`"
                )));
            }
        }
    }
    let (parts, body) = request.into_parts();
    let read = Limited::new(body, limits.max_bytes).collect();
    let bytes = match tokio::time::timeout(limits.timeout, read).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return closing(too_large(limits.max_bytes));
        }
        Ok(Err(e)) => {
            return closing(ApiError::invalid_request(format!(
                "cannot read the body: {e}"
            )));
        }
        Err(_) => {
            tracing::info!(
                path = %parts.uri.path(),
                timeout_s = limits.timeout.as_secs_f64(),
                "a request body did not arrive in time"
            );
            return closing(
                ApiError::invalid_request(format!(
                    "the body did not arrive within {} s",
                    limits.timeout.as_secs_f64()
                ))
                .with_status(StatusCode::REQUEST_TIMEOUT),
            );
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The declared `Content-Length`, when there is one.
fn declared_length(request: &Request) -> Option<Result<u64, String>> {
    let value = request.headers().get(header::CONTENT_LENGTH)?;
    let text = value.to_str().unwrap_or("?").trim();
    Some(text.parse::<u64>().map_err(|_| text.to_owned()))
}

/// The error, with the connection closed after it: what the client has not sent yet is
/// not waited for.
fn closing(error: ApiError) -> Response {
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
