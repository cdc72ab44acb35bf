//! The in-process store: fast, shared by every gateway clone, gone at exit. For
//! development and tests: bounded, so that a long-running process cannot grow without
//! limit (decided actions are evicted first, oldest first).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::attempt::{ApprovalAttempt, AttemptBook};
use super::query::{ActionPage, ActionQuery, StateCount};
use super::{
    ActionRecord, AuditEvent, AuditKind, Created, Decided, Store, Transition, apply, change,
    execution_event, new_record, note_event, now, received_events, words,
};
use kept::{GENESIS_HASH, Hash, Kept, Text, Unsealed, hex_string};

mod kept;
use crate::action::{Action, ActionId};
use crate::error::StoreError;
use crate::state::State;

/// Default [`MemoryStore::with_capacity`]: actions kept at most.
pub const DEFAULT_CAPACITY: usize = 100_000;
/// Audit events kept per action of capacity (the log keeps the most recent ones).
const EVENTS_PER_ACTION: usize = 8;

/// A map keyed by action ids, hashed with `FxHash`: every id it holds was made by the
/// gateway ([`ActionId::new`]: a time and random bits), never by an agent, so SipHash's
/// resistance to chosen keys buys nothing here, and hashing an id cost two of its lookups
/// per `guard` about 500 instructions. Maps keyed by what agents send (idempotency keys)
/// keep SipHash.
type IdMap<V> = HashMap<ActionId, V, rustc_hash::FxBuildHasher>;

/// Keeps everything in memory, up to a capacity. Safe to share between threads and tasks.
///
/// When full, the oldest action that is already decided (terminal) is evicted with its
/// idempotency key, and the audit log keeps its most recent events (eight per action of
/// capacity; [`Store::audit_anchor`] names where the kept part starts). When every action
/// kept is still undecided, new actions are refused (fails closed) rather than forgetting a
/// pending approval. Use a SQL store in production.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    budgets: super::budget::MemoryLedger,
}

#[derive(Debug)]
struct Inner {
    capacity: usize,
    /// Boxed, like the log's events, so that growing the map or the log moves pointers
    /// rather than whole records (growth and eviction were most of a `guard`'s time).
    records: IdMap<Box<ActionRecord>>,
    /// Decided actions, oldest first: evicted first when full.
    terminal: BTreeSet<ActionId>,
    /// The most recent audit events, in `seq` order.
    log: VecDeque<Box<Kept>>,
    /// `seq` and hash of the last event evicted from `log`.
    anchor: Option<(u64, Hash)>,
    /// Next `seq`.
    next_seq: u64,
    /// `seq`s per action.
    trails: IdMap<Vec<u64>>,
    /// (agent, idempotency key) → action.
    keys: HashMap<(String, String), ActionId>,
    latest: Option<ActionId>,
    /// Approval attempts, evicted with their action.
    attempts: AttemptBook,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl MemoryStore {
    /// An empty store keeping up to [`DEFAULT_CAPACITY`] actions.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store keeping up to `capacity` actions (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            inner: Mutex::new(Inner {
                capacity,
                records: IdMap::default(),
                terminal: BTreeSet::new(),
                log: VecDeque::new(),
                anchor: None,
                next_seq: 1,
                trails: IdMap::default(),
                keys: HashMap::new(),
                latest: None,
                attempts: AttemptBook::default(),
            }),
            budgets: super::budget::MemoryLedger::default(),
        }
    }

    /// How many actions it keeps at most.
    pub fn capacity(&self) -> usize {
        self.lock().map(|i| i.capacity).unwrap_or_default()
    }

    /// How many actions it holds now.
    pub fn len(&self) -> usize {
        self.lock().map(|i| i.records.len()).unwrap_or_default()
    }

    /// True when it holds no action.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".to_owned()))
    }
}

impl Inner {
    fn record(&mut self, id: ActionId) -> Result<&mut ActionRecord, StoreError> {
        self.records
            .get_mut(&id)
            .map(|r| &mut **r)
            .ok_or(StoreError::NotFound(id))
    }

    /// Seals an event built by the functions the stores share onto the chain and appends
    /// it; returns a copy of it as sealed.
    fn append(&mut self, event: AuditEvent) -> AuditEvent {
        let (agent_id, action) = self.names(event.action_id, &event);
        self.push(Unsealed::from_event(event, agent_id, action))
            .to_event()
    }

    /// The agent's and the action's names as the action's kept events share them.
    fn names(&self, id: ActionId, event: &AuditEvent) -> (Arc<str>, Arc<str>) {
        let first = self.log.front().map_or(self.next_seq, |e| e.seq);
        let kept = self
            .trails
            .get(&id)
            .and_then(|seqs| seqs.last())
            .and_then(|&seq| usize::try_from(seq.checked_sub(first)?).ok())
            .and_then(|i| self.log.get(i));
        match kept {
            Some(kept) => (kept.agent_id.clone(), kept.action.clone()),
            None => (event.agent_id.as_str().into(), event.action.as_str().into()),
        }
    }

    /// Seals the event onto the chain and appends it, evicting the oldest event beyond
    /// the log's bound; returns it as kept.
    fn push(&mut self, event: Unsealed) -> &Kept {
        let prev = match (self.log.back(), &self.anchor) {
            (Some(last), _) => last.hash,
            (None, Some((_, hash))) => *hash,
            (None, None) => GENESIS_HASH,
        };
        let event = event.seal(prev);
        self.next_seq = event.seq + 1;
        let seqs = self.trails.entry(event.action_id).or_default();
        if seqs.capacity() == 0 {
            // An action's trail: `RECEIVED`, `ANALYZING`, the decision, the execution.
            seqs.reserve_exact(4);
        }
        seqs.push(event.seq);
        self.log.push_back(Box::new(event));
        if self.log.len() > self.capacity.saturating_mul(EVENTS_PER_ACTION)
            && let Some(old) = self.log.pop_front()
        {
            self.anchor = Some((old.seq, old.hash));
        }
        let last = self.log.back();
        last.map_or_else(|| unreachable!("an event was just appended"), |e| &**e)
    }

    /// Notes a record that became terminal, so that it can be evicted.
    fn settled(&mut self, record: &ActionRecord) {
        if record.state.is_terminal() {
            self.terminal.insert(record.id);
        }
    }

    /// Makes room for one more action: evicts the oldest decided one when full.
    fn make_room(&mut self) -> Result<(), StoreError> {
        while self.records.len() >= self.capacity {
            let Some(oldest) = self.terminal.pop_first() else {
                return Err(StoreError::Backend(format!(
                    "the memory store is full: all {} actions it keeps are still undecided (raise `store.memory_capacity` or use a durable store)",
                    self.records.len()
                )));
            };
            if let Some(record) = self.records.remove(&oldest) {
                self.trails.remove(&oldest);
                self.attempts.evict(oldest);
                if record.action.idempotency_key.is_some() {
                    // The store's is usually the last copy: nothing is copied then.
                    let action = Arc::unwrap_or_clone(record.action);
                    if let Some(key) = action.idempotency_key {
                        self.keys.remove(&(action.agent_id, key));
                    }
                }
                if self.latest == Some(oldest) {
                    self.latest = None;
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create(&self, id: ActionId, action: &Action) -> Result<Created, StoreError> {
        let hash = action.canonical_hash();
        let mut inner = self.lock()?;
        let slot = action
            .idempotency_key
            .as_ref()
            .map(|key| (action.agent_id.clone(), key.clone()));
        if let Some(slot) = &slot
            && let Some(existing) = inner.keys.get(slot).copied()
        {
            let record = inner.record(existing)?;
            if record.action_hash != hash {
                return Err(StoreError::IdempotencyConflict {
                    key: slot.1.clone(),
                    existing,
                });
            }
            return Ok(Created::Existing(record.clone()));
        }
        inner.make_room()?;
        if let Some(slot) = slot {
            inner.keys.insert(slot, id);
        }
        let at = now();
        let record = new_record(id, action.clone(), hash, at);
        let events = received_events(inner.next_seq, id, action, at);
        let events = events.into_iter().map(|e| inner.append(e)).collect();
        inner.records.insert(id, Box::new(record.clone()));
        inner.latest = Some(id);
        Ok(Created::New(record, events))
    }

    async fn create_decided(
        &self,
        id: ActionId,
        action: Action,
        decided: Decided,
    ) -> Result<Created, StoreError> {
        let hash = action.canonical_hash();
        let mut inner = self.lock()?;
        let slot = action
            .idempotency_key
            .as_ref()
            .map(|key| (action.agent_id.clone(), key.clone()));
        if let Some(slot) = &slot
            && let Some(existing) = inner.keys.get(slot).copied()
        {
            let record = inner.record(existing)?;
            if record.action_hash != hash {
                return Err(StoreError::IdempotencyConflict {
                    key: slot.1.clone(),
                    existing,
                });
            }
            return Ok(Created::Existing(record.clone()));
        }
        // Everything is checked before anything changes: a refused transition writes
        // nothing.
        let first = inner.next_seq;
        // The events' names, shared, before the action moves into its record.
        let agent_id: Arc<str> = action.agent_id.as_str().into();
        let name: Arc<str> = action.action.as_str().into();
        let mut record = new_record(id, action, hash, decided.received_at);
        let at = now();
        // The decision moves into the record rather than being copied by `apply`.
        let mut transition = decided.transition;
        let recorded = transition.decision.take();
        let from = change(&mut record, &transition, at)?;
        if recorded.is_some() {
            record.decision = recorded;
        }
        inner.make_room()?;
        if let Some(slot) = slot {
            inner.keys.insert(slot, id);
        }
        // The caller's copies of the events, only when it wants them.
        let mut events = Vec::with_capacity(if decided.events { 4 } else { 0 });
        let mut keep = |inner: &mut Inner, event: Unsealed| {
            let kept = inner.push(event);
            if decided.events {
                events.push(kept.to_event());
            }
        };
        let event =
            |seq: u64, from: Option<State>, to: State, actor: Text, channel, reason, at| Unsealed {
                seq,
                kind: AuditKind::Transition,
                action_id: id,
                agent_id: agent_id.clone(),
                action: name.clone(),
                from,
                to,
                actor,
                channel,
                reason,
                at,
            };
        // As `received_events`, the transition's event as `apply`'s, `execution_event`.
        let received = decided.received_at;
        let agent = Text::Shared(agent_id.clone());
        let submit = Text::Fixed(words::SUBMIT);
        let none = || Text::Fixed("");
        keep(
            &mut inner,
            event(
                first,
                None,
                State::Received,
                agent.clone(),
                submit,
                none(),
                received,
            ),
        );
        let (gateway, policy) = (Text::Fixed(words::GATEWAY), Text::Fixed(words::POLICY));
        let analyzing = event(
            first + 1,
            Some(State::Received),
            State::Analyzing,
            gateway,
            policy,
            none(),
            received,
        );
        keep(&mut inner, analyzing);
        let (actor, channel, reason) = (transition.actor, transition.channel, transition.reason);
        let (actor, channel, reason) = (Text::Own(actor), Text::Own(channel), Text::Own(reason));
        keep(
            &mut inner,
            event(
                first + 2,
                Some(from),
                transition.to,
                actor,
                channel,
                reason,
                at,
            ),
        );
        if decided.claim_execution && record.state.permits_execution() {
            record.executed_at = Some(at);
            let state = Some(record.state);
            let (guard, started) = (Text::Fixed(words::GUARD), Text::Fixed(words::STARTED));
            let execution = Unsealed {
                kind: AuditKind::Execution,
                ..event(first + 3, state, record.state, agent, guard, started, at)
            };
            keep(&mut inner, execution);
        }
        inner.settled(&record);
        inner.records.insert(id, Box::new(record.clone()));
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
        let seq = inner.next_seq;
        let record = inner.record(id)?;
        let event = apply(record, &transition, seq, now())?;
        let record = record.clone();
        inner.settled(&record);
        let event = inner.append(event);
        Ok((record, event))
    }

    async fn claim_execution(&self, id: ActionId) -> Result<Option<AuditEvent>, StoreError> {
        let mut inner = self.lock()?;
        let seq = inner.next_seq;
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
        let seq = inner.next_seq;
        let record = inner.record(id)?;
        let event = note_event(seq, record, actor, channel, text, now());
        Ok(inner.append(event))
    }

    async fn audit_trail(&self, id: ActionId) -> Result<Vec<AuditEvent>, StoreError> {
        let inner = self.lock()?;
        if !inner.records.contains_key(&id) {
            return Err(StoreError::NotFound(id));
        }
        let first = inner.log.front().map_or(inner.next_seq, |e| e.seq);
        let seqs = inner.trails.get(&id).map(Vec::as_slice).unwrap_or_default();
        Ok(seqs
            .iter()
            .filter(|&&seq| seq >= first)
            .filter_map(|&seq| usize::try_from(seq - first).ok())
            .filter_map(|i| inner.log.get(i).map(|e| e.to_event()))
            .collect())
    }

    async fn latest(&self) -> Result<Option<ActionRecord>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .latest
            .and_then(|id| inner.records.get(&id).map(|r| (**r).clone())))
    }

    async fn in_states(&self, states: &[State]) -> Result<Vec<ActionRecord>, StoreError> {
        let inner = self.lock()?;
        let mut found: Vec<_> = inner
            .records
            .values()
            .filter(|r| states.contains(&r.state))
            .map(|r| (**r).clone())
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
        Ok(inner
            .log
            .iter()
            .skip_while(|e| e.seq <= after)
            .take(limit)
            .map(|e| e.to_event())
            .collect())
    }

    async fn audit_anchor(&self) -> Result<Option<(u64, String)>, StoreError> {
        Ok(self
            .lock()?
            .anchor
            .map(|(seq, hash)| (seq, hex_string(&hash))))
    }

    async fn audit_head(&self) -> Result<Option<(u64, String)>, StoreError> {
        let inner = self.lock()?;
        Ok(match inner.log.back() {
            Some(last) => Some((last.seq, hex_string(&last.hash))),
            None => inner.anchor.map(|(seq, hash)| (seq, hex_string(&hash))),
        })
    }

    async fn records_page(
        &self,
        after: Option<ActionId>,
        limit: usize,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        let inner = self.lock()?;
        let mut ids: Vec<ActionId> = inner
            .records
            .keys()
            .filter(|id| after.is_none_or(|a| **id > a))
            .copied()
            .collect();
        ids.sort_unstable();
        ids.truncate(limit);
        Ok(ids
            .iter()
            .filter_map(|id| inner.records.get(id).map(|r| (**r).clone()))
            .collect())
    }

    async fn find_actions(&self, query: &ActionQuery) -> Result<ActionPage, StoreError> {
        let inner = self.lock()?;
        let mut found: Vec<ActionRecord> = inner
            .records
            .values()
            .filter(|r| query.matches(r))
            .map(|r| (**r).clone())
            .collect();
        found.sort_by_key(|r| std::cmp::Reverse(r.id));
        found.truncate(query.page_size() + 1);
        Ok(ActionPage::from_found(found, query.page_size()))
    }

    async fn count_since(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<StateCount>, StoreError> {
        let inner = self.lock()?;
        Ok(super::query::count(
            inner.records.values().map(|r| &**r),
            since,
        ))
    }

    fn is_bounded(&self) -> bool {
        true
    }

    fn keeps_attempts(&self) -> bool {
        true
    }

    async fn insert_attempt(
        &self,
        attempt: &ApprovalAttempt,
    ) -> Result<Option<ApprovalAttempt>, StoreError> {
        let mut inner = self.lock()?;
        inner.record(attempt.action_id)?;
        inner.attempts.insert(attempt)
    }

    async fn update_attempt(
        &self,
        attempt: &ApprovalAttempt,
    ) -> Result<Option<ApprovalAttempt>, StoreError> {
        self.lock()?.attempts.update(attempt)
    }

    async fn attempts(&self, action_id: ActionId) -> Result<Vec<ApprovalAttempt>, StoreError> {
        Ok(self.lock()?.attempts.attempts(action_id))
    }

    async fn find_attempt(
        &self,
        channel: &str,
        external_id: &str,
    ) -> Result<Option<ApprovalAttempt>, StoreError> {
        Ok(self.lock()?.attempts.find(channel, external_id))
    }

    async fn reserve_budgets(
        &self,
        id: ActionId,
        demands: &[super::BudgetDemand],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<super::WindowFigure>, StoreError> {
        self.budgets.reserve(id, demands, at)
    }

    async fn budget_figures(
        &self,
        id: ActionId,
        demands: &[super::BudgetDemand],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<super::WindowFigure>, StoreError> {
        self.budgets.figures(id, demands, at)
    }

    async fn release_budgets(&self, id: ActionId) -> Result<(), StoreError> {
        self.budgets.release(id)
    }
}

#[cfg(test)]
mod tests;
