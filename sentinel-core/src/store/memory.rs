//! The in-process store: fast, shared by every gateway clone, gone at exit.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::Utc;

use super::{ActionRecord, AuditEvent, AuditKind, Created, Store, Transition, apply};
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
    trails: HashMap<ActionId, Vec<AuditEvent>>,
    /// (agent, idempotency key) → action.
    keys: HashMap<(String, String), ActionId>,
    seq: u64,
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

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn append(&mut self, event: &AuditEvent) {
        self.trails.entry(event.action_id).or_default().push(event.clone());
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
                    return Err(StoreError::IdempotencyConflict { key: key.clone(), existing });
                }
                return Ok(Created::Existing(record.clone()));
            }
            inner.keys.insert(slot, id);
        }
        let now = Utc::now();
        let record = ActionRecord {
            id,
            action: action.clone(),
            action_hash: hash,
            state: State::Received,
            decision: None,
            approval: None,
            created_at: now,
            updated_at: now,
            deadline: None,
            executed_at: None,
        };
        let event = AuditEvent {
            seq: inner.next_seq(),
            kind: AuditKind::Transition,
            action_id: id,
            agent_id: action.agent_id.clone(),
            action: action.action.clone(),
            from: None,
            to: State::Received,
            actor: action.agent_id.clone(),
            channel: "submit".to_owned(),
            reason: String::new(),
            at: now,
        };
        inner.append(&event);
        inner.records.insert(id, record.clone());
        inner.latest = Some(id);
        Ok(Created::New(record, event))
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
        let seq = inner.seq + 1;
        let record = inner.record(id)?;
        let event = apply(record, &transition, seq, Utc::now())?;
        let record = record.clone();
        inner.seq = seq;
        inner.append(&event);
        Ok((record, event))
    }

    async fn claim_execution(&self, id: ActionId) -> Result<Option<AuditEvent>, StoreError> {
        let mut inner = self.lock()?;
        let record = inner.record(id)?;
        if record.executed_at.is_some() || !record.state.permits_execution() {
            return Ok(None);
        }
        let now = Utc::now();
        record.executed_at = Some(now);
        let (agent_id, action, state) =
            (record.action.agent_id.clone(), record.action.action.clone(), record.state);
        let event = AuditEvent {
            seq: inner.next_seq(),
            kind: AuditKind::Execution,
            action_id: id,
            agent_id: agent_id.clone(),
            action,
            from: Some(state),
            to: state,
            actor: agent_id,
            channel: "guard".to_owned(),
            reason: "guarded function started".to_owned(),
            at: now,
        };
        inner.append(&event);
        Ok(Some(event))
    }

    async fn audit_trail(&self, id: ActionId) -> Result<Vec<AuditEvent>, StoreError> {
        let inner = self.lock()?;
        if !inner.records.contains_key(&id) {
            return Err(StoreError::NotFound(id));
        }
        Ok(inner.trails.get(&id).cloned().unwrap_or_default())
    }

    async fn latest(&self) -> Result<Option<ActionRecord>, StoreError> {
        let inner = self.lock()?;
        Ok(inner.latest.and_then(|id| inner.records.get(&id).cloned()))
    }

    async fn pending(&self) -> Result<Vec<ActionRecord>, StoreError> {
        let inner = self.lock()?;
        let mut pending: Vec<_> =
            inner.records.values().filter(|r| r.state.is_pending()).cloned().collect();
        pending.sort_by_key(|r| r.id);
        Ok(pending)
    }
}
