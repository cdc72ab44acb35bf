//! `GET /metrics`: the gateway's metrics in the Prometheus text format, and the middleware
//! that counts every HTTP request by route pattern, method and status code.
//!
//! Scrape access (`[telemetry]`): by default the scraper sends `Authorization: Bearer`
//! with the scrape token (`telemetry.metrics_token_env`, default `SENTINEL_METRICS_TOKEN`,
//! or `telemetry.metrics_token_file`), the admin token or an operator's token;
//! `telemetry.metrics_public = true` serves it to anyone (a private network).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sentinel_core::metrics::PROMETHEUS_CONTENT_TYPE;
use sentinel_core::spec::{ConfigError, Env, GatewaySpec};
use sentinel_core::telnyx::{VerifyError, WebhookError};
use sentinel_core::{Gateway, Metrics};
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::state::AppState;

/// Who may read `GET /metrics`.
#[derive(Clone, Default)]
pub struct MetricsAccess {
    public: bool,
    /// SHA-256 of the scrape token, when one is configured.
    token: Option<[u8; 32]>,
}

impl std::fmt::Debug for MetricsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsAccess")
            .field("public", &self.public)
            .field("token", &self.token.map(|_| "***"))
            .finish()
    }
}

impl MetricsAccess {
    /// From `[telemetry]`: `metrics_public` and the scrape token it names (read through `env`).
    pub fn from_spec(spec: &GatewaySpec, env: &Env) -> Result<Self, ConfigError> {
        let telemetry = &spec.telemetry;
        let base = spec.file().and_then(std::path::Path::parent);
        let token = telemetry
            .metrics_token(env, base)
            .map_err(|e| e.in_file(spec.file()))?;
        Ok(Self {
            public: telemetry.metrics_public.unwrap_or(false),
            token: token.map(|t| digest(t.expose())),
        })
    }

    /// True when a scraper needs no credentials.
    pub fn is_public(&self) -> bool {
        self.public
    }
}

/// Serves the metrics (401 without credentials, 403 for an agent's key).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "telemetry",
    responses(
        (status = 200, description = "the metrics, Prometheus text format 0.0.4", content_type = "text/plain", body = String),
        (status = "default", description = "401 without a scrape, admin or operator token; 403 for an agent key", body = crate::wire::ErrorBody),
    )
)]
pub async fn metrics(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = allowed(&app, &headers) {
        return e.into_response();
    }
    let mut response = app.gateway.metrics().to_prometheus().into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(PROMETHEUS_CONTENT_TYPE),
    );
    response
}

fn allowed(app: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let access = &app.metrics_access;
    if access.public {
        return Ok(());
    }
    let Some(token) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return Err(ApiError::unauthorized(
            "GET /metrics needs `Authorization: Bearer` with the scrape token or the admin token",
        ));
    };
    if let Some(expected) = &access.token
        && constant_time_eq(expected, &digest(token))
    {
        return Ok(());
    }
    match app.credentials.identify(token) {
        Some(Principal::Admin | Principal::Operator(_)) => Ok(()),
        Some(Principal::Agent(agent)) => Err(ApiError::forbidden(format!(
            "GET /metrics needs the scrape token or the admin token; agent `{agent}` may not"
        ))),
        None => Err(ApiError::unauthorized("unknown bearer token")),
    }
}

/// Counts each request under its route pattern (`/api/sentinel/actions/{id}`, never the
/// raw path; `unmatched` for the 404 fallback), method and status code.
pub async fn count(State(gateway): State<Gateway>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let response = next.run(request).await;
    gateway.metrics().record_http_request(
        &route,
        method.as_str(),
        response.status().as_u16(),
        start.elapsed(),
    );
    response
}

/// Counts a Telnyx webhook refused before it was handled, by reason: `missing_header`,
/// `malformed_header`, `bad_key`, `bad_signature`, `stale`, `future`, `no_event_id`,
/// `replayed` or `not_a_call_event`. Other failures (Telnyx, the store) are not refusals.
pub fn webhook_refused(metrics: &Metrics, e: &WebhookError) {
    let reason = match e {
        WebhookError::Verify(v) => match v {
            VerifyError::MissingHeader { .. } => "missing_header",
            VerifyError::MalformedHeader { .. } => "malformed_header",
            VerifyError::BadKey { .. } => "bad_key",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::Stale { .. } => "stale",
            VerifyError::Future { .. } => "future",
            VerifyError::NoEventId { .. } => "no_event_id",
            VerifyError::Replayed { .. } => "replayed",
            _ => "other",
        },
        WebhookError::Event(_) => "not_a_call_event",
        _ => return,
    };
    metrics.record_webhook_refused("telnyx", reason);
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
