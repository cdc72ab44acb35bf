//! A batch as the writer builds it in memory before writing it: the records it read or
//! made, and its audit events sealed onto the chain, each write applied against what the
//! writes before it left.

use std::collections::{HashMap, HashSet};

use super::{Done, Op};
use crate::action::{Action, ActionId};
use crate::error::StoreError;
use crate::store::chain::{record_digest, seal};
use crate::store::{
    ActionRecord, AuditEvent, Created, Decided, apply, execution_event, new_record, note_event,
    now, received_events,
};

/// What a batch leaves to be written, built in memory from the records it read.
#[derive(Default)]
pub(super) struct Pending {
    /// Every record the batch read or made, by id.
    pub(super) records: HashMap<ActionId, ActionRecord>,
    /// Records made by the batch, in order (inserted with their final content).
    pub(super) created: Vec<ActionId>,
    /// Existing records the batch changed, in order of first change.
    pub(super) changed: Vec<ActionId>,
    changed_set: HashSet<ActionId>,
    /// `(agent_id, idempotency_key)` → the action holding it (stored or made by the batch).
    keys: HashMap<(String, String), ActionId>,
    /// The events, sealed, in chain order.
    pub(super) events: Vec<AuditEvent>,
    pub(super) seq: u64,
    pub(super) prev: String,
}

impl Pending {
    /// An empty batch extending the chain whose head is record `seq` with hash `prev`.
    pub(super) fn after(seq: u64, prev: String) -> Self {
        Self {
            seq,
            prev,
            ..Self::default()
        }
    }

    fn append(&mut self, event: AuditEvent, digest: String) -> AuditEvent {
        self.keep(event, digest).clone()
    }

    /// [`append`](Self::append) without the caller's copy.
    fn keep(&mut self, mut event: AuditEvent, digest: String) -> &AuditEvent {
        self.seq += 1;
        event.seq = self.seq;
        event.state_hash = digest;
        let event = seal(event, &self.prev);
        self.prev.clone_from(&event.hash);
        self.events.push(event);
        let kept = self.events.last();
        kept.unwrap_or_else(|| unreachable!("an event was just kept"))
    }

    /// Keeps a record read from the database, and the idempotency key it holds.
    pub(super) fn read(&mut self, record: ActionRecord) {
        if let Some(key) = &record.action.idempotency_key {
            self.keys
                .insert((record.action.agent_id.clone(), key.clone()), record.id);
        }
        self.records.insert(record.id, record);
    }

    fn mark_changed(&mut self, id: ActionId) {
        if !self.created.contains(&id) && self.changed_set.insert(id) {
            self.changed.push(id);
        }
    }

    pub(super) fn apply(&mut self, op: &Op) -> Result<Done, StoreError> {
        match op {
            Op::Create { id, action } => self.create(*id, action),
            Op::CreateDecided {
                id,
                action,
                decided,
            } => self.create_decided(*id, action, decided),
            Op::Transition { id, transition } => {
                let record = self.records.get_mut(id).ok_or(StoreError::NotFound(*id))?;
                let event = apply(record, transition, 0, now())?;
                let record = record.clone();
                let event = self.append(event, record_digest(&record));
                self.mark_changed(*id);
                Ok(Done::Transitioned(Box::new((record, event))))
            }
            Op::Claim { id } => {
                let record = self.records.get_mut(id).ok_or(StoreError::NotFound(*id))?;
                if record.executed_at.is_some() || !record.state.permits_execution() {
                    return Ok(Done::Claimed(None));
                }
                let at = now();
                record.executed_at = Some(at);
                let event = execution_event(0, record, at);
                let digest = record_digest(record);
                let event = self.append(event, digest);
                self.mark_changed(*id);
                Ok(Done::Claimed(Some(event)))
            }
            Op::Note {
                id,
                actor,
                channel,
                text,
            } => {
                let record = self.records.get(id).ok_or(StoreError::NotFound(*id))?;
                let event = note_event(0, record, actor, channel, text, now());
                let digest = record_digest(record);
                Ok(Done::Noted(self.append(event, digest)))
            }
        }
    }

    /// The record an action's idempotency key already names (`Some(Ok(Existing))`), or the
    /// conflict; `None` when the key is free (or there is none).
    fn held(&self, action: &Action, hash: &str) -> Option<Result<Done, StoreError>> {
        let key = action.idempotency_key.as_ref()?;
        let held = self.keys.get(&(action.agent_id.clone(), key.clone()))?;
        let record = self.records.get(held)?;
        Some(if record.action_hash == hash {
            Ok(Done::Created(Box::new(Created::Existing(record.clone()))))
        } else {
            Err(StoreError::IdempotencyConflict {
                key: key.clone(),
                existing: record.id,
            })
        })
    }

    /// Records a made action: its idempotency key, its place in the batch.
    fn made(&mut self, action: &Action, record: &ActionRecord) {
        if let Some(key) = &action.idempotency_key {
            self.keys
                .insert((action.agent_id.clone(), key.clone()), record.id);
        }
        self.created.push(record.id);
        self.records.insert(record.id, record.clone());
    }

    /// `create`, `transition` and (when asked and permitted) `claim_execution` at once, with
    /// their events in that order; a refused transition writes nothing.
    fn create_decided(
        &mut self,
        id: ActionId,
        action: &Action,
        decided: &Decided,
    ) -> Result<Done, StoreError> {
        let hash = action.canonical_hash();
        if let Some(done) = self.held(action, &hash) {
            return done;
        }
        if self.records.contains_key(&id) {
            return Err(StoreError::Backend(format!("action `{id}` already exists")));
        }
        let received = new_record(id, action.clone(), hash, decided.received_at);
        let mut record = received.clone();
        let decision = apply(&mut record, &decided.transition, 0, now())?;
        let digest = record_digest(&received);
        // The caller's copies of the events only when it wants them (`Decided::events`).
        let mut events = Vec::with_capacity(if decided.events { 4 } else { 0 });
        let mut keep = |pending: &mut Self, event, digest| {
            let kept = pending.keep(event, digest);
            if decided.events {
                events.push(kept.clone());
            }
        };
        for event in received_events(0, id, action, decided.received_at) {
            keep(self, event, digest.clone());
        }
        keep(self, decision, record_digest(&record));
        if decided.claim_execution && record.state.permits_execution() {
            let at = now();
            record.executed_at = Some(at);
            let execution = execution_event(0, &record, at);
            keep(self, execution, record_digest(&record));
        }
        self.made(action, &record);
        Ok(Done::Created(Box::new(Created::New(record, events))))
    }

    fn create(&mut self, id: ActionId, action: &Action) -> Result<Done, StoreError> {
        let hash = action.canonical_hash();
        if let Some(done) = self.held(action, &hash) {
            return done;
        }
        if self.records.contains_key(&id) {
            return Err(StoreError::Backend(format!("action `{id}` already exists")));
        }
        let at = now();
        let record = new_record(id, action.clone(), hash, at);
        let digest = record_digest(&record);
        let events = received_events(0, id, action, at)
            .map(|event| self.append(event, digest.clone()))
            .to_vec();
        self.made(action, &record);
        Ok(Done::Created(Box::new(Created::New(record, events))))
    }

    pub(super) fn writes_nothing(&self) -> bool {
        self.events.is_empty() && self.created.is_empty() && self.changed.is_empty()
    }
}
