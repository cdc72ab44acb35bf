//! Approval attempts: each try at getting a human's answer about a pending action through
//! one channel (a phone call, a chat message...), kept in the store so that a restarted
//! process, or another instance on the same database, carries on where the last one was.
//!
//! The store knows nothing of the channels: an attempt carries the channel's name, the ids
//! its provider gave it (a call's `call_control_id`...), a status, and a state the channel
//! serialises itself. Two operations make attempts safe to share between processes:
//!
//! - [`Store::insert_attempt`](super::Store::insert_attempt) makes attempt `seq` of an
//!   action only if it does not exist yet: of several processes starting the next attempt
//!   at once, exactly one does (and only that one dials).
//! - [`Store::update_attempt`](super::Store::update_attempt) writes only when the attempt's
//!   `version` is still the one read: a process that lost the race reads again and redoes
//!   its step on what the winner left.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::now;
use crate::action::ActionId;
use crate::error::StoreError;

/// Where an approval attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AttemptStatus {
    /// Claimed by a process that is starting it (placing the call): no provider id yet.
    Starting,
    /// Under way: the provider knows it (the phone is ringing, the call is on).
    Live,
    /// Over, decided or not; it never changes again.
    Ended,
}

impl AttemptStatus {
    /// The stored name: `starting`, `live` or `ended`.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::Starting => "starting",
            AttemptStatus::Live => "live",
            AttemptStatus::Ended => "ended",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            AttemptStatus::Starting,
            AttemptStatus::Live,
            AttemptStatus::Ended,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// One try at getting a human's answer about a pending action through one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApprovalAttempt {
    /// The action.
    pub action_id: ActionId,
    /// 1, 2, ... in the order the action's attempts were made, over every channel.
    pub seq: u32,
    /// The channel, by the approver's name (`telnyx-voice`).
    pub channel: String,
    /// Where it stands.
    pub status: AttemptStatus,
    /// The ids the channel's provider gave it (for a call: `call_control_id`, `call_leg_id`,
    /// `call_session_id`); [`Store::find_attempt`](super::Store::find_attempt) finds the
    /// attempt by any of them. Ids are only ever added; stores return them sorted.
    pub external_ids: Vec<String>,
    /// The channel's own state (e.g. where the conversation is), as the channel serialised
    /// it. Never a secret: stores keep it in clear.
    pub state: serde_json::Value,
    /// Incremented by every write; [`Store::update_attempt`](super::Store::update_attempt)
    /// writes only over the version it was given.
    pub version: u64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl ApprovalAttempt {
    /// Attempt `seq` of `action_id` through `channel`, [`Starting`](AttemptStatus::Starting),
    /// with the channel's `state`.
    pub fn new(
        action_id: ActionId,
        seq: u32,
        channel: impl Into<String>,
        state: serde_json::Value,
    ) -> Self {
        let at = now();
        Self {
            action_id,
            seq,
            channel: channel.into(),
            status: AttemptStatus::Starting,
            external_ids: Vec::new(),
            state,
            version: 0,
            created_at: at,
            updated_at: at,
        }
    }

    /// Adds provider ids not already listed.
    pub fn add_external_ids<I, S>(&mut self, ids: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for id in ids {
            let id = id.into();
            if !id.is_empty() && !self.external_ids.contains(&id) {
                self.external_ids.push(id);
            }
        }
    }
}

/// The refusal when an external id already names another attempt of the channel.
pub(crate) fn id_taken(channel: &str, id: &str) -> StoreError {
    StoreError::Backend(format!(
        "external id `{id}` of channel `{channel}` already names another approval attempt"
    ))
}

/// Approval attempts kept in memory, for [`MemoryStore`](super::MemoryStore).
#[derive(Debug, Default)]
pub(crate) struct AttemptBook {
    by_action: HashMap<ActionId, Vec<ApprovalAttempt>>,
    /// (channel, external id) → (action, seq).
    ids: HashMap<(String, String), (ActionId, u32)>,
}

impl AttemptBook {
    pub(crate) fn insert(
        &mut self,
        attempt: &ApprovalAttempt,
    ) -> Result<Option<ApprovalAttempt>, StoreError> {
        let list = self.by_action.entry(attempt.action_id).or_default();
        if list.iter().any(|a| a.seq == attempt.seq) {
            return Ok(None);
        }
        self.check_ids(attempt)?;
        let at = now();
        let mut stored = ApprovalAttempt {
            version: 1,
            created_at: at,
            updated_at: at,
            ..attempt.clone()
        };
        stored.external_ids.sort();
        stored.external_ids.dedup();
        self.index(&stored);
        let list = self.by_action.entry(attempt.action_id).or_default();
        list.push(stored.clone());
        list.sort_by_key(|a| a.seq);
        Ok(Some(stored))
    }

    pub(crate) fn update(
        &mut self,
        attempt: &ApprovalAttempt,
    ) -> Result<Option<ApprovalAttempt>, StoreError> {
        let current = self
            .by_action
            .get(&attempt.action_id)
            .and_then(|list| list.iter().find(|a| a.seq == attempt.seq))
            .cloned();
        let Some(current) = current else {
            return Err(StoreError::Backend(format!(
                "no approval attempt {} for action `{}`",
                attempt.seq, attempt.action_id
            )));
        };
        if current.version != attempt.version {
            return Ok(None);
        }
        self.check_ids(attempt)?;
        let mut ids = current.external_ids.clone();
        for id in &attempt.external_ids {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids.sort();
        let stored = ApprovalAttempt {
            external_ids: ids,
            version: current.version + 1,
            created_at: current.created_at,
            updated_at: now(),
            ..attempt.clone()
        };
        self.index(&stored);
        if let Some(slot) = self
            .by_action
            .get_mut(&attempt.action_id)
            .and_then(|list| list.iter_mut().find(|a| a.seq == attempt.seq))
        {
            *slot = stored.clone();
        }
        Ok(Some(stored))
    }

    pub(crate) fn attempts(&self, action_id: ActionId) -> Vec<ApprovalAttempt> {
        self.by_action.get(&action_id).cloned().unwrap_or_default()
    }

    pub(crate) fn find(&self, channel: &str, external_id: &str) -> Option<ApprovalAttempt> {
        let (action_id, seq) = self
            .ids
            .get(&(channel.to_owned(), external_id.to_owned()))?;
        self.by_action
            .get(action_id)?
            .iter()
            .find(|a| a.seq == *seq)
            .cloned()
    }

    /// Forgets the attempts of an action the store let go.
    pub(crate) fn evict(&mut self, action_id: ActionId) {
        if self.by_action.remove(&action_id).is_some() {
            self.ids.retain(|_, (id, _)| *id != action_id);
        }
    }

    fn check_ids(&self, attempt: &ApprovalAttempt) -> Result<(), StoreError> {
        for id in &attempt.external_ids {
            if let Some(owner) = self.ids.get(&(attempt.channel.clone(), id.clone()))
                && *owner != (attempt.action_id, attempt.seq)
            {
                return Err(id_taken(&attempt.channel, id));
            }
        }
        Ok(())
    }

    fn index(&mut self, attempt: &ApprovalAttempt) {
        for id in &attempt.external_ids {
            self.ids.insert(
                (attempt.channel.clone(), id.clone()),
                (attempt.action_id, attempt.seq),
            );
        }
    }
}
