//! `GET /api/sentinel/events`: Server-Sent Events of every lifecycle change (admin).

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::state::AppState;
use crate::wire;

/// Each audit event as an SSE event `lifecycle` (id = its `seq`); a `lagged` event tells
/// how many a slow reader missed. The stream ends when the server shuts down.
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
                    Ok(e) => Event::default().event("lifecycle").id(e.seq.to_string()).data(wire::event(&e).to_string()),
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
