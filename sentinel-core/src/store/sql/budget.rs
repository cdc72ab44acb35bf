//! The budget ledger in SQL (`sentinel_budget_ledger`, see [`crate::store::budget`]).
//!
//! A reservation is one transaction. On PostgreSQL it first takes a transaction-scoped
//! advisory lock per budget key (in key order, so two reservations never deadlock): two
//! instances reserving on one key are serialised, and each sees the other's entry. On
//! SQLite the transaction's first statement is a write, which takes the database's write
//! lock (waiting up to the busy timeout) before anything is read.

use sqlx::Row;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use super::SqlStore;
use super::rows::backend;
use crate::action::ActionId;
use crate::error::StoreError;
use crate::store::budget::{BudgetDemand, WindowFigure, epoch_ms};

/// The window's figure for one key, besides `$3`'s entries.
const FIGURE: &str = "SELECT CAST(COALESCE(SUM(amount), 0) AS DOUBLE PRECISION) AS total, \
     COUNT(*) AS entries FROM sentinel_budget_ledger \
     WHERE budget_key = $1 AND at_ms > $2 AND action_id <> $3";

fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("budget ledger: {e}"))
}

async fn figure(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    demand: &BudgetDemand,
    since: i64,
) -> Result<WindowFigure, StoreError> {
    let row: AnyRow = sqlx::query(FIGURE)
        .bind(demand.key.as_str())
        .bind(since)
        .bind(id)
        .fetch_one(&mut **tx)
        .await
        .map_err(failed)?;
    let total: f64 = row.try_get("total").map_err(failed)?;
    let count: i64 = row.try_get("entries").map_err(failed)?;
    Ok(WindowFigure::new(
        total,
        u64::try_from(count).map_err(backend)?,
    ))
}

impl SqlStore {
    /// See [`Store::reserve_budgets`](crate::store::Store::reserve_budgets) and
    /// [`Store::budget_figures`](crate::store::Store::budget_figures).
    pub(super) async fn budget_window(
        &self,
        id: ActionId,
        demands: &[BudgetDemand],
        at: chrono::DateTime<chrono::Utc>,
        reserve: bool,
    ) -> Result<Vec<WindowFigure>, StoreError> {
        if demands.is_empty() {
            return Ok(Vec::new());
        }
        let now = epoch_ms(at);
        let id = id.to_string();
        let mut tx = self.pool.begin().await.map_err(failed)?;
        if reserve {
            if self.postgres {
                let mut keys: Vec<&str> = demands.iter().map(|d| d.key.as_str()).collect();
                keys.sort_unstable();
                keys.dedup();
                for key in keys {
                    sqlx::query(
                        "SELECT 1 AS locked FROM pg_advisory_xact_lock(hashtextextended($1, 0))",
                    )
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(failed)?;
                }
            }
            // Forget what has left the windows (on SQLite: the write that takes the lock).
            for demand in demands {
                sqlx::query(
                    "DELETE FROM sentinel_budget_ledger WHERE budget_key = $1 AND at_ms <= $2",
                )
                .bind(demand.key.as_str())
                .bind(now.saturating_sub(demand.window_ms))
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            }
        }
        let mut out = Vec::with_capacity(demands.len());
        for demand in demands {
            out.push(figure(&mut tx, &id, demand, now.saturating_sub(demand.window_ms)).await?);
            if reserve {
                sqlx::query(
                    "INSERT INTO sentinel_budget_ledger (budget_key, action_id, amount, at_ms) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (budget_key, action_id) DO NOTHING",
                )
                .bind(demand.key.as_str())
                .bind(id.as_str())
                .bind(demand.amount)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            }
        }
        tx.commit().await.map_err(failed)?;
        Ok(out)
    }

    /// See [`Store::release_budgets`](crate::store::Store::release_budgets).
    pub(super) async fn release_budget_rows(&self, id: ActionId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sentinel_budget_ledger WHERE action_id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(failed)?;
        Ok(())
    }
}
