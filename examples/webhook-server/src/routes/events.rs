//! `GET /api/sentinel/events`: Server-Sent Events of every lifecycle change (admin).

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Principal;
use crate::disclose::Audience;
use crate::errors::ApiError;
use crate::state::AppState;
use crate::wire::{self, ErrorBody};

/// Each audit event as an SSE event `lifecycle` (id = its `seq`); a `lagged` event tells
/// how many a slow reader missed. The stream ends when the server shuts down.
#[utoipa::path(
    get,
    path = "/api/sentinel/events",
    tag = "events",
    responses(
        (status = 200, description = "Server-Sent Events: `lifecycle` (data: an audit record as JSON, id: its `seq`), `lagged` (data: `{\"missed\": n}`)", content_type = "text/event-stream", body = String),
        (status = "default", description = "an error: 401, 403 not the admin", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn events(
    State(app): State<AppState>,
    who: Principal,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    who.require_admin("the event stream")?;
    let receiver = app.gateway.subscribe();
    let shutdown = app.shutdown.clone();
    let stream = futures_util::stream::unfold(
        (receiver, shutdown),
        |(mut receiver, mut shutdown)| async move {
            let event = tokio::select! {
                received = receiver.recv() => match received {
                    Ok(e) => Event::default().event("lifecycle").id(e.seq.to_string()).data(serde_json::to_string(&wire::event(&e, None, Audience::Admin)).unwrap_or_default()),
                    Err(RecvError::Lagged(n)) => Event::default().event("lagged").data(format!("{{\"missed\":{n}}}")),
                    Err(RecvError::Closed) => return None,
                },
                () = async { let _ = shutdown.wait_for(|stop| *stop).await; } => return None,
            };
            Some((Ok(event), (receiver, shutdown)))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
