//! The budget ledger: what [`budget` and `rate` conditions](crate::pack::format::BudgetSpec)
//! count. Each entry is one action's share of one budget key (its amount, or 1 for a rate)
//! at the time it was decided; a window's figure is the sum and count of the entries of a
//! key younger than the window.
//!
//! Entries are written when an action is decided (a reservation, so that two concurrent
//! actions cannot both fit where only one does) and removed when the action ends without
//! running (declined, expired, no approver). Reserving is atomic per key in every store of
//! this crate: one lock in memory, a write transaction on SQLite, a transaction holding an
//! advisory lock per key on PostgreSQL (across instances).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::action::ActionId;
use crate::error::StoreError;

/// One budget an action counts towards: its key and the action's share.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BudgetDemand {
    /// The budget and its `per` values, e.g. ``VaultKeeper/daily/rules/3/when/budget["bot"]``.
    pub key: String,
    /// The action's share: the summed value, or 1 for a rate.
    pub amount: f64,
    /// The window's length in milliseconds.
    pub window_ms: i64,
}

impl BudgetDemand {
    /// A demand of `amount` on `key` over a window of `window_ms` milliseconds.
    pub fn new(key: impl Into<String>, amount: f64, window_ms: i64) -> Self {
        Self {
            key: key.into(),
            amount,
            window_ms,
        }
    }
}

/// What a budget's window held before an action: the other actions' entries.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct WindowFigure {
    /// The sum of their amounts.
    pub total: f64,
    /// How many entries.
    pub count: u64,
}

impl WindowFigure {
    /// A figure of `count` entries summing to `total`.
    pub fn new(total: f64, count: u64) -> Self {
        Self { total, count }
    }
}

/// Milliseconds since the Unix epoch, as the ledger stores times.
pub(crate) fn epoch_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// The error of a store that keeps no budgets: budget conditions then fail closed.
pub(crate) fn no_budgets() -> StoreError {
    StoreError::Backend("this store keeps no budget ledger".to_owned())
}

/// One entry of the in-memory ledger.
#[derive(Debug, Clone, Copy)]
struct Entry {
    action: ActionId,
    amount: f64,
    at_ms: i64,
}

/// The ledger of [`MemoryStore`](super::MemoryStore): entries per key behind one lock, so
/// a reservation over several keys is atomic.
#[derive(Debug, Default)]
pub(crate) struct MemoryLedger {
    keys: Mutex<HashMap<String, Vec<Entry>>>,
}

impl MemoryLedger {
    /// See [`Store::reserve_budgets`](super::Store::reserve_budgets).
    pub(crate) fn reserve(
        &self,
        id: ActionId,
        demands: &[BudgetDemand],
        at: DateTime<Utc>,
    ) -> Result<Vec<WindowFigure>, StoreError> {
        self.figures_in(id, demands, at, true)
    }

    /// See [`Store::budget_figures`](super::Store::budget_figures).
    pub(crate) fn figures(
        &self,
        id: ActionId,
        demands: &[BudgetDemand],
        at: DateTime<Utc>,
    ) -> Result<Vec<WindowFigure>, StoreError> {
        self.figures_in(id, demands, at, false)
    }

    fn figures_in(
        &self,
        id: ActionId,
        demands: &[BudgetDemand],
        at: DateTime<Utc>,
        reserve: bool,
    ) -> Result<Vec<WindowFigure>, StoreError> {
        let now = epoch_ms(at);
        let mut keys = self
            .keys
            .lock()
            .map_err(|_| StoreError::Backend("the budget ledger lock is poisoned".to_owned()))?;
        let mut out = Vec::with_capacity(demands.len());
        for demand in demands {
            let since = now.saturating_sub(demand.window_ms);
            if reserve && !keys.contains_key(&demand.key) {
                keys.insert(demand.key.clone(), Vec::new());
            }
            let Some(entries) = keys.get_mut(&demand.key) else {
                out.push(WindowFigure::default());
                continue;
            };
            // One pass: the window's figure, whether `id` is in it, and (when reserving)
            // forgetting what has left the window.
            let mut figure = WindowFigure::default();
            let mut present = false;
            let mut count = |e: &Entry| {
                if e.action == id {
                    present = true;
                } else if e.at_ms > since {
                    figure = WindowFigure::new(figure.total + e.amount, figure.count + 1);
                }
            };
            if reserve {
                entries.retain(|e| {
                    count(e);
                    e.at_ms > since || e.action == id
                });
                if !present {
                    entries.push(Entry {
                        action: id,
                        amount: demand.amount,
                        at_ms: now,
                    });
                }
            } else {
                entries.iter().for_each(count);
            }
            out.push(figure);
        }
        Ok(out)
    }

    /// See [`Store::release_budgets`](super::Store::release_budgets).
    pub(crate) fn release(&self, id: ActionId) -> Result<(), StoreError> {
        let mut keys = self
            .keys
            .lock()
            .map_err(|_| StoreError::Backend("the budget ledger lock is poisoned".to_owned()))?;
        keys.retain(|_, entries| {
            entries.retain(|e| e.action != id);
            !entries.is_empty()
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_count_until_released_and_only_within_the_window() {
        let ledger = MemoryLedger::default();
        let (a, b, c) = (ActionId::new(), ActionId::new(), ActionId::new());
        let t0 = Utc::now();
        let d = |amount| [BudgetDemand::new("k", amount, 1_000)];
        assert_eq!(
            ledger.reserve(a, &d(5.0), t0).unwrap(),
            [WindowFigure::new(0.0, 0)]
        );
        // Reserving again for the same action is idempotent and does not count itself.
        assert_eq!(
            ledger.reserve(a, &d(5.0), t0).unwrap(),
            [WindowFigure::new(0.0, 0)]
        );
        assert_eq!(
            ledger.reserve(b, &d(7.0), t0).unwrap(),
            [WindowFigure::new(5.0, 1)]
        );
        assert_eq!(
            ledger.figures(c, &d(1.0), t0).unwrap(),
            [WindowFigure::new(12.0, 2)]
        );
        ledger.release(a).unwrap();
        assert_eq!(
            ledger.figures(c, &d(1.0), t0).unwrap(),
            [WindowFigure::new(7.0, 1)]
        );
        let later = t0 + chrono::Duration::milliseconds(1_000);
        assert_eq!(
            ledger.figures(c, &d(1.0), later).unwrap(),
            [WindowFigure::default()]
        );
    }
}
