//! PostgreSQL `LISTEN`: state changes made by other processes, as they happen.

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::broadcast;

use crate::action::ActionId;

/// Listens on `channel` in a background task (reconnecting with backoff) and forwards
/// each announced action id. Waiters that miss a notice still re-check periodically.
pub(super) fn spawn(url: String, channel: &'static str) -> broadcast::Sender<ActionId> {
    let (tx, _) = broadcast::channel(1024);
    let sender = tx.clone();
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            match listen(&url, channel, &sender).await {
                Ok(()) => return, // Nobody can subscribe any more.
                Err(e) => {
                    tracing::warn!(error = %e, "postgres listener lost; reconnecting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    });
    tx
}

async fn listen(
    url: &str,
    channel: &str,
    sender: &broadcast::Sender<ActionId>,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(channel).await?;
    loop {
        let notice = listener.recv().await?;
        if let Ok(id) = notice.payload().parse::<ActionId>() {
            // No receiver is fine: nobody is waiting.
            let _ = sender.send(id);
        }
        if sender.receiver_count() == 0 && sender.strong_count() == 1 {
            return Ok(());
        }
    }
}
