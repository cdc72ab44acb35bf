//! Console sign-in: an operator's token exchanged for a session cookie
//! (`sentinel_session`: HttpOnly, SameSite=Strict, Secure behind https, with an expiry),
//! and the CSRF rule: a state-changing request made with the cookie is refused unless its
//! `Origin` is the console's own.
//!
//! Sessions live in memory (a restart signs everyone out); the cookie holds 256 random
//! bits and the server keeps only their SHA-256. Tokens and cookies are never logged.
//!
//! - `POST /console/session` `{"token": "..."}` → 200 `{operator, role, expires_at}` and
//!   the cookie; 401 for a token no operator holds.
//! - `GET /console/session` → who is signed in, or 401.
//! - `DELETE /console/session` → 204, the session ends and the cookie is cleared.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Utc};
use sentinel_core::spec::OperatorRole;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::auth::Staff;
use crate::errors::ApiError;
use crate::state::AppState;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "sentinel_session";
/// Most sessions kept at once; the oldest goes first beyond it.
const MAX_SESSIONS: usize = 10_000;
/// How long a refused sign-in takes, so tokens cannot be guessed quickly.
const REFUSAL_DELAY: Duration = Duration::from_millis(250);

/// One signed-in operator.
#[derive(Debug, Clone)]
struct Session {
    name: String,
    role: OperatorRole,
    expires_at: DateTime<Utc>,
    deadline: Instant,
}

/// The live console sessions, by the SHA-256 of their cookie.
#[derive(Debug)]
pub struct Sessions {
    ttl: Duration,
    live: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    /// No session yet; each lasts `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            live: Mutex::default(),
        }
    }

    /// Opens a session for `name`; returns the cookie value and when it expires.
    fn open(&self, name: &str, role: OperatorRole) -> Result<(String, DateTime<Utc>), ApiError> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| ApiError::internal(format!("no randomness for a session: {e}")))?;
        let cookie = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let expires_at =
            Utc::now() + chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::hours(8));
        let session = Session {
            name: name.to_owned(),
            role,
            expires_at,
            deadline: Instant::now() + self.ttl,
        };
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        live.retain(|_, s| s.deadline > now);
        if live.len() >= MAX_SESSIONS
            && let Some(oldest) = live.iter().min_by_key(|(_, s)| s.deadline).map(|(k, _)| *k)
        {
            live.remove(&oldest);
        }
        live.insert(digest(&cookie), session);
        Ok((cookie, expires_at))
    }

    /// The live session a cookie names.
    fn find(&self, cookie: &str) -> Option<Session> {
        let key = digest(cookie);
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        match live.get(&key) {
            Some(s) if s.deadline > Instant::now() => Some(s.clone()),
            Some(_) => {
                live.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Ends the session a cookie names.
    fn close(&self, cookie: &str) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.remove(&digest(cookie));
    }
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new(Duration::from_secs(8 * 3600))
    }
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The value of the session cookie, if the request carries one.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// True when the request's `Origin` is the console's own: the configured public URL's
/// origin, or this server as the request addressed it (`Host`). No `Origin`: false.
pub fn same_origin(headers: &HeaderMap, app: &AppState) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|o| o.to_str().ok()) else {
        return false;
    };
    let origin = origin.trim_end_matches('/').to_ascii_lowercase();
    if app.console.public_origin.as_deref() == Some(origin.as_str()) {
        return true;
    }
    let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

fn cross_origin() -> ApiError {
    ApiError::forbidden(
        "a state-changing request with the console's session must come from the console's own origin",
    )
}

/// The operator a request's session cookie signs in, for [`crate::auth::Principal`]:
/// `None` without the cookie; 401 for an expired or unknown session; 403 for a
/// state-changing request from another origin (CSRF).
pub fn principal(parts: &Parts, app: &AppState) -> Result<Option<Staff>, ApiError> {
    let Some(value) = cookie(&parts.headers) else {
        return Ok(None);
    };
    let Some(session) = app.console.sessions.find(&value) else {
        return Err(ApiError::unauthorized(
            "the console session expired or is not valid: sign in again",
        ));
    };
    let safe = matches!(parts.method, Method::GET | Method::HEAD);
    if !safe && !same_origin(&parts.headers, app) {
        return Err(cross_origin());
    }
    Ok(Some(Staff {
        name: session.name,
        role: session.role,
        console: true,
    }))
}

/// Who is signed in.
#[derive(Debug, Serialize)]
pub struct SignedIn {
    /// The operator's name.
    pub operator: String,
    /// `approver` or `viewer`.
    pub role: &'static str,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
    /// True when the console offers the demo's module triggers.
    pub demo: bool,
}

/// `POST /console/session`: signs an operator in.
pub async fn sign_in(
    State(app): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    if !same_origin(&headers, &app) {
        return Err(cross_origin());
    }
    let body = crate::routes::json(&app, raw)?;
    let token = match &body {
        Value::Object(map) if map.len() == 1 => map.get("token").and_then(Value::as_str),
        _ => None,
    }
    .ok_or_else(|| ApiError::invalid_field("token", "the body must be `{\"token\": \"...\"}`"))?;
    let Some((name, role)) = app.credentials.operator(token.trim()) else {
        tokio::time::sleep(REFUSAL_DELAY).await;
        tracing::warn!("console sign-in refused: the token is not an operator's");
        return Err(ApiError::unauthorized(
            "this token does not sign any operator in",
        ));
    };
    let (value, expires_at) = app.console.sessions.open(&name, role)?;
    tracing::info!(operator = %name, "operator signed in to the console");
    let max_age = app.console.sessions.ttl.as_secs();
    let secure = if app.console.secure(&headers) {
        "; Secure"
    } else {
        ""
    };
    let set = format!(
        "{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    );
    let mut response = Json(SignedIn {
        operator: name,
        role: role.as_str(),
        expires_at,
        demo: app.console.demo.is_some(),
    })
    .into_response();
    let set = HeaderValue::from_str(&set)
        .map_err(|e| ApiError::internal(format!("bad cookie header: {e}")))?;
    response.headers_mut().insert(SET_COOKIE, set);
    Ok(response)
}

/// `GET /console/session`: the signed-in operator, or 401.
pub async fn current(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<SignedIn>, ApiError> {
    let session = cookie(&headers)
        .and_then(|c| app.console.sessions.find(&c))
        .ok_or_else(|| ApiError::unauthorized("not signed in"))?;
    Ok(Json(SignedIn {
        operator: session.name,
        role: session.role.as_str(),
        expires_at: session.expires_at,
        demo: app.console.demo.is_some(),
    }))
}

/// `DELETE /console/session`: signs out.
pub async fn sign_out(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !same_origin(&headers, &app) {
        return Err(cross_origin());
    }
    if let Some(value) = cookie(&headers) {
        if let Some(s) = app.console.sessions.find(&value) {
            tracing::info!(operator = %s.name, "operator signed out of the console");
        }
        app.console.sessions.close(&value);
    }
    let secure = if app.console.secure(&headers) {
        "; Secure"
    } else {
        ""
    };
    let clear = format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(response)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_close() {
        let sessions = Sessions::new(Duration::from_millis(50));
        let (cookie, _) = sessions.open("alice", OperatorRole::Approver).unwrap();
        assert_eq!(sessions.find(&cookie).unwrap().name, "alice");
        assert!(sessions.find("nope").is_none());
        std::thread::sleep(Duration::from_millis(80));
        assert!(sessions.find(&cookie).is_none());
        let (cookie, _) = sessions.open("bob", OperatorRole::Viewer).unwrap();
        sessions.close(&cookie);
        assert!(sessions.find(&cookie).is_none());
    }

    #[test]
    fn reads_the_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; sentinel_session=xyz; b=2"),
        );
        assert_eq!(cookie(&headers).as_deref(), Some("xyz"));
        headers.insert(COOKIE, HeaderValue::from_static("sentinel_session="));
        assert_eq!(cookie(&headers), None);
    }
}
