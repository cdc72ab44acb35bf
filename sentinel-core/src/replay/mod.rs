//! Replay: stored actions re-decided under another configuration, and what would change
//! (`sentinel replay`), so that a pack change is known before it ships.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use sentinel_core::replay::{self, ReplayFilter};
//! use sentinel_core::{Action, Gateway, MemoryStore, Pack, Store};
//! use serde_json::json;
//!
//! // Yesterday's traffic, decided under the seed packs.
//! let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
//! let live = Gateway::builder().store_arc(Arc::clone(&store)).build().unwrap();
//! live.submit(Action::new("ops", "DROP_TABLE").with_payload(json!({"table": "t"}))).await.unwrap();
//!
//! // Under VaultKeeper alone, nothing covers DROP_TABLE any more: it escalates.
//! let candidate = Gateway::builder().packs([Pack::builtin("VaultKeeper").unwrap()]).build().unwrap();
//! let report = replay::replay(&*store, &candidate, &ReplayFilter::default(), None, |_| {}).await.unwrap();
//! assert_eq!((report.replayed, report.changes.len()), (1, 1));
//! assert_eq!(report.changes[0].rules_removed, ["OpsGuard/drop-table-forbidden"]);
//! # });
//! ```

mod scores;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use scores::StoredScores;

use crate::action::ActionId;
use crate::decision::Decision;
use crate::error::StoreError;
use crate::gateway::Gateway;
use crate::state::State;
use crate::store::{ActionRecord, Store};

/// Records read from the store at a time.
const PAGE: usize = 1000;

/// Which stored actions to replay (all of them by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayFilter {
    /// Only actions received at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only actions with this name (e.g. `PAY_INVOICE`).
    pub action: Option<String>,
}

impl ReplayFilter {
    /// Actions received at or after `since`.
    #[must_use]
    pub fn since(mut self, since: DateTime<Utc>) -> Self {
        self.since = Some(since);
        self
    }

    /// Actions named `action`.
    #[must_use]
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    fn admits(&self, record: &ActionRecord) -> bool {
        self.since.is_none_or(|t| record.created_at >= t)
            && self
                .action
                .as_deref()
                .is_none_or(|a| record.action.action == a)
    }
}

/// What a decision said: status, score and the rules it cites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Outcome {
    /// `EXECUTED` (auto-approved), `BLOCKED_AWAITING_AUTH` or `DECLINED`.
    pub status: State,
    /// The final score.
    pub risk_score: u8,
    /// The rules cited, `pack/rule-id`.
    pub rules: Vec<String>,
}

impl From<&Decision> for Outcome {
    fn from(d: &Decision) -> Self {
        Self {
            status: d.status,
            risk_score: d.risk_score,
            rules: d.rules.iter().map(|r| r.to_string()).collect(),
        }
    }
}

/// A stored action whose decision would differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Change {
    /// The stored action's id.
    pub id: ActionId,
    /// The action's name.
    pub action: String,
    /// The agent that sent it.
    pub agent_id: String,
    /// When it was received.
    pub created_at: DateTime<Utc>,
    /// The stored decision.
    pub before: Outcome,
    /// The decision under the new configuration.
    pub after: Outcome,
    /// Rules the new decision cites and the stored one did not.
    pub rules_added: Vec<String>,
    /// Rules the stored decision cited and the new one does not.
    pub rules_removed: Vec<String>,
}

impl Change {
    /// True when the status differs (not only the score or the rules).
    pub fn status_changed(&self) -> bool {
        self.before.status != self.after.status
    }
}

/// What a replay found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReplayReport {
    /// Stored decisions re-decided (those the filter admits).
    pub replayed: usize,
    /// Admitted actions without a stored decision (received, never decided): not replayed.
    pub undecided: usize,
    /// The decisions that differ in status, score or rules, in the store's id order
    /// (time order for ids made by Sentinel).
    pub changes: Vec<Change>,
}

impl ReplayReport {
    /// How many changes alter the status.
    pub fn status_changes(&self) -> usize {
        self.changes.iter().filter(|c| c.status_changed()).count()
    }
}

/// Re-decides every stored action `filter` admits on `gateway` (built from the new
/// configuration; it records nothing, as [`Gateway::evaluate`] records nothing) and
/// compares each decision with the stored one.
///
/// `scores` is the gateway's scorer when it is a [`StoredScores`] (`--reuse-scores`): it
/// is handed each stored decision before the action is re-decided. `progress` is called
/// after each page of records with the number of records read so far.
pub async fn replay(
    store: &dyn Store,
    gateway: &Gateway,
    filter: &ReplayFilter,
    scores: Option<&StoredScores>,
    mut progress: impl FnMut(usize),
) -> Result<ReplayReport, StoreError> {
    let mut report = ReplayReport::default();
    let mut after = None;
    let mut read = 0;
    loop {
        let page = store.records_page(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        read += page.len();
        let full = page.len() == PAGE;
        for record in page.iter().filter(|r| filter.admits(r)) {
            let Some(stored) = &record.decision else {
                report.undecided += 1;
                continue;
            };
            if let Some(scores) = scores {
                scores.load(stored);
            }
            let fresh = gateway.evaluate(&record.action).await;
            report.replayed += 1;
            if let Some(change) = compare(record, stored, &fresh) {
                report.changes.push(change);
            }
        }
        progress(read);
        if !full {
            break;
        }
    }
    Ok(report)
}

fn compare(record: &ActionRecord, stored: &Decision, fresh: &Decision) -> Option<Change> {
    let (before, after) = (Outcome::from(stored), Outcome::from(fresh));
    if before == after {
        return None;
    }
    let missing = |from: &[String], other: &[String]| -> Vec<String> {
        from.iter()
            .filter(|r| !other.contains(r))
            .cloned()
            .collect()
    };
    Some(Change {
        id: record.id,
        action: record.action.action.clone(),
        agent_id: record.action.agent_id.clone(),
        created_at: record.created_at,
        rules_added: missing(&after.rules, &before.rules),
        rules_removed: missing(&before.rules, &after.rules),
        before,
        after,
    })
}

#[cfg(test)]
mod tests;
