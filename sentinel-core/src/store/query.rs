//! Finding actions: the filters of a history view ([`ActionQuery`]), answered a page at a
//! time, newest first ([`ActionPage`]), and counts per state since a moment
//! ([`StateCount`]). Both stores answer in the database; a store that does not implement
//! them falls back on reading every record ([`Store::records_page`]).

use chrono::{DateTime, Utc};

use super::{ActionRecord, Store, StoreError};
use crate::{ActionId, State};

/// Most records in one page.
pub const MAX_PAGE: usize = 500;

/// Which actions to find. Every filter given must match; none given: every action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActionQuery {
    /// Any of these states (empty: any state).
    pub states: Vec<State>,
    /// Exactly this agent id.
    pub agent_id: Option<String>,
    /// Exactly this action name.
    pub action: Option<String>,
    /// Received at or after this moment.
    pub since: Option<DateTime<Utc>>,
    /// Received before this moment.
    pub until: Option<DateTime<Utc>>,
    /// The page after this id (the `next` of the previous page): older actions only.
    pub before: Option<ActionId>,
    /// Most records in the page (at least 1, at most [`MAX_PAGE`]).
    pub limit: usize,
}

impl ActionQuery {
    /// Every action, `limit` at a time.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// The page size, within 1 and [`MAX_PAGE`].
    pub fn page_size(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE)
    }

    /// True when `record` passes every filter (the cursor included).
    pub fn matches(&self, record: &ActionRecord) -> bool {
        (self.states.is_empty() || self.states.contains(&record.state))
            && self
                .agent_id
                .as_ref()
                .is_none_or(|a| *a == record.action.agent_id)
            && self
                .action
                .as_ref()
                .is_none_or(|a| *a == record.action.action)
            && self.since.is_none_or(|t| record.created_at >= t)
            && self.until.is_none_or(|t| record.created_at < t)
            && self.before.is_none_or(|b| record.id < b)
    }
}

/// One page of a query's answer.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ActionPage {
    /// The records, newest first.
    pub records: Vec<ActionRecord>,
    /// The cursor of the next (older) page, when there is one: pass it as
    /// [`ActionQuery::before`].
    pub next: Option<ActionId>,
}

impl ActionPage {
    /// A page of `found` (newest first, at most one more than the page size: the extra
    /// one says there is a next page).
    pub fn from_found(mut found: Vec<ActionRecord>, size: usize) -> Self {
        let more = found.len() > size;
        found.truncate(size);
        let next = if more {
            found.last().map(|r| r.id)
        } else {
            None
        };
        Self {
            records: found,
            next,
        }
    }
}

/// How many actions are in a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateCount {
    /// The state.
    pub state: State,
    /// How many actions are in it.
    pub count: u64,
}

/// [`Store::find_actions`] for stores without their own: reads every record.
pub(crate) async fn scan(
    store: &(impl Store + ?Sized),
    query: &ActionQuery,
) -> Result<ActionPage, StoreError> {
    let mut found = matching(store, query).await?;
    found.truncate(query.page_size() + 1);
    Ok(ActionPage::from_found(found, query.page_size()))
}

/// Every record `query`'s filters match (its limit aside), newest first.
pub(crate) async fn matching(
    store: &(impl Store + ?Sized),
    query: &ActionQuery,
) -> Result<Vec<ActionRecord>, StoreError> {
    let mut found = Vec::new();
    let mut after = None;
    loop {
        let page = store.records_page(after, MAX_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        found.extend(page.into_iter().filter(|r| query.matches(r)));
    }
    found.sort_by_key(|r| std::cmp::Reverse(r.id));
    Ok(found)
}

/// Counts of actions received since `since`, per state, from a list of records.
pub(crate) fn count<'a>(
    records: impl Iterator<Item = &'a ActionRecord>,
    since: DateTime<Utc>,
) -> Vec<StateCount> {
    let mut counts: Vec<StateCount> = Vec::new();
    for r in records.filter(|r| r.created_at >= since) {
        match counts.iter_mut().find(|c| c.state == r.state) {
            Some(c) => c.count += 1,
            None => counts.push(StateCount {
                state: r.state,
                count: 1,
            }),
        }
    }
    counts.sort_by_key(|c| c.state.as_str());
    counts
}
