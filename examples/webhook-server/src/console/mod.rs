//! The operators' web console at `/console`: the page, its assets (the project's own
//! HTML, CSS and ES modules, embedded in the binary), the sign-in session
//! ([`session`]), the read models the page asks for ([`views`], [`history`]) and the
//! single-use links of the ladder's `webhook` steps ([`link`]).
//!
//! Every console response carries a strict `Content-Security-Policy` (scripts, styles and
//! connections from this origin only; no inline script, no framing). The page renders
//! agent-supplied text with `textContent` only.

pub mod demo;
pub mod history;
pub mod link;
pub mod session;
pub mod views;

use axum::Router;
use axum::extract::{Path, Request};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sentinel_core::ErrorCode;

use crate::errors::ApiError;
use crate::state::AppState;
pub use session::Sessions;

/// The console's Content-Security-Policy.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The page: `/console`.
const INDEX: &str = include_str!("assets/index.html");

/// The assets under `/console/assets/`: name, content type, body.
const ASSETS: [(&str, &str, &str); 9] = [
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    ),
    (
        "main.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/main.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/dom.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/api.js"),
    ),
    (
        "queue.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/queue.js"),
    ),
    (
        "feed.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/feed.js"),
    ),
    (
        "timeline.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/timeline.js"),
    ),
    (
        "history.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/history.js"),
    ),
    (
        "overview.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/overview.js"),
    ),
];

/// What the console shares across requests.
#[derive(Debug, Default)]
pub struct ConsoleState {
    /// Signed-in operators.
    pub sessions: Sessions,
    /// The origin of `server.public_url`, when configured: the console's own origin.
    pub public_origin: Option<String>,
    /// True when the public URL is https: cookies are then `Secure`.
    pub https: bool,
    /// Demo mode: the module triggers are offered.
    pub demo: Option<demo::Triggers>,
    /// Origins allowed to call the API from a browser.
    pub cors_origins: Vec<String>,
}

impl ConsoleState {
    /// The console's settings: sessions lasting `ttl`, the public URL (its origin is the
    /// console's own), demo mode, and the CORS origins.
    pub fn new(
        ttl: std::time::Duration,
        public_url: Option<&str>,
        demo: bool,
        cors_origins: Vec<String>,
    ) -> Self {
        let public_origin = public_url.map(origin_of);
        Self {
            sessions: Sessions::new(ttl),
            https: public_url.is_some_and(|u| u.starts_with("https://")),
            public_origin,
            demo: demo.then(demo::Triggers::default),
            cors_origins,
        }
    }

    /// True when cookies must be `Secure`: the public URL is https, or a proxy says the
    /// request came over https.
    pub fn secure(&self, headers: &HeaderMap) -> bool {
        self.https
            || headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https"))
    }
}

/// `scheme://host[:port]` of a URL, lowercased.
fn origin_of(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://").unwrap_or(("http", lower.as_str()));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{host}")
}

/// The console's routes: the page, its assets, the session and the read models.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { redirect("/console") }))
        .route("/console", get(page))
        .route("/console/", get(|| async { redirect("/console") }))
        .route("/console/assets/{name}", get(asset))
        .route(
            "/console/session",
            get(session::current)
                .post(session::sign_in)
                .delete(session::sign_out),
        )
        .route("/console/api/pending", get(views::pending))
        .route("/console/api/overview", get(views::overview))
        .route("/console/api/actions", get(history::history))
        .route("/console/api/actions/{id}", get(views::timeline))
        .route("/console/link/{token}", get(link::show).post(link::open))
        .route(
            "/console/api/demo/{module}",
            axum::routing::post(demo::trigger),
        )
        .layer(middleware::from_fn(headers))
}

fn redirect(to: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to)]).into_response()
}

async fn page() -> Response {
    ([(CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response()
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => ([(CONTENT_TYPE, *kind)], *body).into_response(),
        None => {
            ApiError::new(ErrorCode::NotFound, format!("no console asset `{name}`")).into_response()
        }
    }
}

/// The console's security headers on every response it sends.
async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_urls() {
        assert_eq!(
            origin_of("https://Sentinel.example.com/x?y"),
            "https://sentinel.example.com"
        );
        assert_eq!(origin_of("http://127.0.0.1:8000"), "http://127.0.0.1:8000");
    }
}
