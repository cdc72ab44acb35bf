//! The in-process store: fast, shared by every gateway clone, gone at exit.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::chain::{GENESIS, seal};
use super::{
    ActionRecord, AuditEvent, Created, Store, Transition, apply, execution_event, new_record,
    note_event, now, received_events,
};
use crate::action::{Action, ActionId};
use crate::error::StoreError;
use crate::state::State;

/// Keeps everything in memory. Safe to share between threads and tasks.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    records: HashMap<ActionId, ActionRecord>,
    /// The whole audit log, in `seq` order (`seq` = index + 1).
    log: Vec<AuditEvent>,
    /// Positions in `log` per action.
    trails: HashMap<ActionId, Vec<usize>>,
    /// (agent, idempotency key) → action.
    keys: HashMap<(String, String), ActionId>,
    latest: Option<ActionId>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".to_owned()))
    }
}

impl Inner {
    fn record(&mut self, id: ActionId) -> Result<&mut ActionRecord, StoreError> {
        self.records.get_mut(&id).ok_or(StoreError::NotFound(id))
    }

    fn next_seq(&self) -> u64 {
        self.log.len() as u64 + 1
    }

    /// Seals the event onto the chain and appends it.
    fn append(&mut self, event: AuditEvent) -> AuditEvent {
        let prev = self.log.last().map_or(GENESIS, |e| e.hash.as_str());
        let event = seal(event, prev);
        self.trails
            .entry(event.action_id)
            .or_default()
            .push(self.log.len());
        self.log.push(event.clone());
        event
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create(&self, id: ActionId, action: &Action) -> Result<Created, StoreError> {
        let hash = action.canonical_hash();
        let mut inner = self.lock()?;
        if let Some(key) = &action.idempotency_key {
            let slot = (action.agent_id.clone(), key.clone());
            if let Some(existing) = inner.keys.get(&slot).copied() {
                let record = inner.record(existing)?;
                if record.action_hash != hash {
                    return Err(StoreError::IdempotencyConflict {
                        key: key.clone(),
                        existing,
                    });
                }
                return Ok(Created::Existing(record.clone()));
            }
            inner.keys.insert(slot, id);
        }
        let at = now();
        let record = new_record(id, action, hash, at);
        let events = received_events(inner.next_seq(), id, action, at);
        let events = events.into_iter().map(|e| inner.append(e)).collect();
        inner.records.insert(id, record.clone());
        inner.latest = Some(id);
        Ok(Created::New(record, events))
    }

    async fn get(&self, id: ActionId) -> Result<ActionRecord, StoreError> {
        let mut inner = self.lock()?;
        inner.record(id).map(|r| r.clone())
    }

    async fn transition(
        &self,
        id: ActionId,
        transition: Transition,
    ) -> Result<(ActionRecord, AuditEvent), StoreError> {
        let mut inner = self.lock()?;
        let seq = inner.next_seq();
        let record = inner.record(id)?;
        let event = apply(record, &transition, seq, now())?;
        let record = record.clone();
        let event = inner.append(event);
        Ok((record, event))
    }

    async fn claim_execution(&self, id: ActionId) -> Result<Option<AuditEvent>, StoreError> {
        let mut inner = self.lock()?;
        let seq = inner.next_seq();
        let record = inner.record(id)?;
        if record.executed_at.is_some() || !record.state.permits_execution() {
            return Ok(None);
        }
        let at = now();
        record.executed_at = Some(at);
        let event = execution_event(seq, record, at);
        Ok(Some(inner.append(event)))
    }

    async fn append_note(
        &self,
        id: ActionId,
        actor: &str,
        channel: &str,
        text: &str,
    ) -> Result<AuditEvent, StoreError> {
        let mut inner = self.lock()?;
        let seq = inner.next_seq();
        let record = inner.record(id)?;
        let event = note_event(seq, record, actor, channel, text, now());
        Ok(inner.append(event))
    }

    async fn audit_trail(&self, id: ActionId) -> Result<Vec<AuditEvent>, StoreError> {
        let inner = self.lock()?;
        if !inner.records.contains_key(&id) {
            return Err(StoreError::NotFound(id));
        }
        let positions = inner.trails.get(&id).map(Vec::as_slice).unwrap_or_default();
        Ok(positions.iter().map(|&i| inner.log[i].clone()).collect())
    }

    async fn latest(&self) -> Result<Option<ActionRecord>, StoreError> {
        let inner = self.lock()?;
        Ok(inner.latest.and_then(|id| inner.records.get(&id).cloned()))
    }

    async fn in_states(&self, states: &[State]) -> Result<Vec<ActionRecord>, StoreError> {
        let inner = self.lock()?;
        let mut found: Vec<_> = inner
            .records
            .values()
            .filter(|r| states.contains(&r.state))
            .cloned()
            .collect();
        found.sort_by_key(|r| r.id);
        Ok(found)
    }

    async fn claim_stale(
        &self,
        id: ActionId,
        stale_before: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        let record = inner.record(id)?;
        let stale = matches!(record.state, State::Received | State::Analyzing)
            && record.updated_at < stale_before;
        if stale {
            record.updated_at = now();
        }
        Ok(stale)
    }

    async fn audit_log(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        let inner = self.lock()?;
        let start = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(inner.log.len());
        Ok(inner.log[start..].iter().take(limit).cloned().collect())
    }
}
