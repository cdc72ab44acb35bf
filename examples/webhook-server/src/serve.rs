//! Serving connections: HTTP/1.1 through hyper, with a header read timeout (which also
//! bounds how long a keep-alive connection may sit idle), a cap on concurrent connections,
//! and graceful shutdown.
//!
//! `axum::serve` sets no timer, so a client that sends half a request line could hold a
//! connection (and its task) for as long as it liked; this loop is the server's own.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// Most refusals being written at once; connections beyond it are dropped unanswered.
const MAX_REFUSALS: usize = 64;
/// How long a refused connection is given to read its 503.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// What bounds the connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    /// Longest a client may take to send a request's headers, idle time before them
    /// included (`server.header_timeout_s`).
    pub header_timeout: Duration,
    /// Most connections served at once (`server.max_connections`).
    pub max_connections: usize,
}

/// The answer to a connection beyond the cap.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 86\r\n\
\r\n\
{\"error\":{\"code\":\"internal\",\"message\":\"too many connections; try again in a moment\"}}\n";

/// Accepts connections on `listener` and serves `app` on each until `stop` turns true;
/// then stops accepting, lets every connection finish its request in flight (idle ones
/// are closed at once) and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = async { let _ = stop.wait_for(|stop| *stop).await; } => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            refuse(stream, &refusals, limits.max_connections);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // Header timeouts, resets, clients that went away: theirs, not ours.
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Answers a connection beyond the cap with 503 and closes it.
fn refuse(mut stream: TcpStream, refusals: &Arc<Semaphore>, max: usize) {
    tracing::warn!(
        max_connections = max,
        "connection refused: too many connections"
    );
    let Ok(permit) = Arc::clone(refusals).try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let answer = async {
            stream.write_all(REFUSAL).await?;
            stream.shutdown().await
        };
        let _ = tokio::time::timeout(REFUSAL_LINGER, answer).await;
        drop(permit);
    });
}

#[cfg(test)]
mod tests {
    use super::REFUSAL;

    #[test]
    fn the_refusal_declares_its_length() {
        let text = std::str::from_utf8(REFUSAL).unwrap_or_default();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_default();
        let declared = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|n| n.parse::<usize>().ok());
        assert_eq!(declared, Some(body.len()));
        assert!(serde_json::from_str::<serde_json::Value>(body).is_ok());
    }
}
