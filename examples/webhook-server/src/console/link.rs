//! Console links (`/console/link/{token}`): the signed, single-use, expiring links the
//! ladder's `webhook` steps send ([`sentinel_core::ladder::ConsoleLinks`]).
//!
//! - `GET /console/link/{token}` checks the link without using it and answers a small page
//!   with one button, so that link previewers (chat unfurlers, mail scanners that fetch
//!   every link) cannot use it up;
//! - `POST /console/link/{token}` (that button) uses it — once, recorded in the store, so
//!   across every instance sharing it — and redirects (303) to the action's page in the
//!   console, `/console#action={id}`.
//!
//! A link **signs in nothing**: without a session the console asks for the operator's
//! token first, then shows the action. A forged, expired, used or unknown link answers an
//! error page that says which of these it is and nothing more; nothing changes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sentinel_core::ladder::LinkError;

use crate::state::AppState;

/// `GET /console/link/{token}`: the page that asks before the link is used.
pub async fn show(State(app): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(links) = app.links.as_ref() else {
        return refused(&LinkError::Invalid);
    };
    let store = app.gateway.store();
    match links.peek(store.as_ref(), &token, Utc::now()).await {
        Ok(claim) => {
            let id = claim.action_id.to_string();
            // The token was checked: hex digits, digits, `v1`, `-` and `.` only.
            let body = format!(
                "<p>This link leads to action <code>{id}</code> in the console. It works once \
                 and signs you in to nothing: the console asks who you are.</p>\n\
                 <form method=\"post\" action=\"/console/link/{token}\">\
                 <button type=\"submit\">Open the action in the console</button></form>",
                id = escape(&id),
                token = escape(&token)
            );
            page(StatusCode::OK, "Open an action", &body)
        }
        Err(e) => refused(&e),
    }
}

/// `POST /console/link/{token}`: uses the link and redirects to the action's page.
pub async fn open(State(app): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(links) = app.links.as_ref() else {
        return refused(&LinkError::Invalid);
    };
    let store = app.gateway.store();
    match links.redeem(store.as_ref(), &token, Utc::now()).await {
        Ok(claim) => {
            tracing::info!(action_id = %claim.action_id, "console link used");
            let to = format!("/console#action={}", claim.action_id);
            (StatusCode::SEE_OTHER, [(LOCATION, to)]).into_response()
        }
        Err(e) => refused(&e),
    }
}

fn refused(e: &LinkError) -> Response {
    let (status, text) = match e {
        LinkError::Expired => (StatusCode::GONE, "This link has expired."),
        LinkError::Used => (
            StatusCode::GONE,
            "This link was used already: each link works once.",
        ),
        LinkError::Unavailable(why) => {
            // The reason stays in the log.
            tracing::warn!(error = %why, "console link refused");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "This link cannot be used right now. Try again later.",
            )
        }
        _ => (StatusCode::NOT_FOUND, "This link is not valid."),
    };
    let body = format!(
        "<p class=\"error\">{text}</p>\n<p>Nothing was changed. Open <a href=\"/console\">the console</a> and find the action there.</p>"
    );
    page(status, "Link refused", &body)
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · Sentinel console</title>\n\
         <link rel=\"stylesheet\" href=\"/console/assets/console.css\">\n</head>\n<body>\n\
         <main id=\"main\"><section class=\"card signin\" id=\"link\">\n<h1>{title}</h1>\n{body}\n\
         </section></main>\n</body>\n</html>\n"
    );
    (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
