//! The memory store's audit events as it keeps them: the agent's and the action's names
//! shared by an action's events, the gateway's own words not copied, hashes as bytes. An
//! [`AuditEvent`] is made only when one is read (or returned to a caller that wants it);
//! it hashes exactly as the kept event did ([`Fields`]).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::action::ActionId;
use crate::state::State;
use crate::store::chain::{Fields, GENESIS};
use crate::store::{AuditEvent, AuditKind};

/// Text of a kept event: the gateway's fixed words, a name shared with the action's other
/// events, or its own.
#[derive(Debug, Clone)]
pub(super) enum Text {
    Fixed(&'static str),
    Shared(Arc<str>),
    Own(String),
}

impl Text {
    fn as_str(&self) -> &str {
        match self {
            Text::Fixed(s) => s,
            Text::Shared(s) => s,
            Text::Own(s) => s,
        }
    }
}

/// An audit event as the memory store keeps it (sealed).
#[derive(Debug, Clone)]
pub(super) struct Kept {
    pub(super) seq: u64,
    pub(super) kind: AuditKind,
    pub(super) action_id: ActionId,
    pub(super) agent_id: Arc<str>,
    pub(super) action: Arc<str>,
    pub(super) from: Option<State>,
    pub(super) to: State,
    pub(super) actor: Text,
    pub(super) channel: Text,
    pub(super) reason: Text,
    pub(super) at: DateTime<Utc>,
    pub(super) prev_hash: Hash,
    pub(super) hash: Hash,
}

/// A SHA-256 of the chain, as bytes.
pub(super) type Hash = [u8; 32];

/// [`GENESIS`] as bytes.
pub(super) const GENESIS_HASH: Hash = [0; 32];

/// An event's content before it is sealed onto the chain.
#[derive(Debug)]
pub(super) struct Unsealed {
    pub(super) seq: u64,
    pub(super) kind: AuditKind,
    pub(super) action_id: ActionId,
    pub(super) agent_id: Arc<str>,
    pub(super) action: Arc<str>,
    pub(super) from: Option<State>,
    pub(super) to: State,
    pub(super) actor: Text,
    pub(super) channel: Text,
    pub(super) reason: Text,
    pub(super) at: DateTime<Utc>,
}

impl Unsealed {
    /// An event built by the functions the stores share (not sealed yet), its names shared
    /// as given.
    pub(super) fn from_event(event: AuditEvent, agent_id: Arc<str>, action: Arc<str>) -> Self {
        Self {
            seq: event.seq,
            kind: event.kind,
            action_id: event.action_id,
            agent_id,
            action,
            from: event.from,
            to: event.to,
            actor: Text::Own(event.actor),
            channel: Text::Own(event.channel),
            reason: Text::Own(event.reason),
            at: event.at,
        }
    }

    /// Links it after the event whose hash is `prev_hash`, and seals it.
    pub(super) fn seal(self, prev_hash: Hash) -> Kept {
        let mut prev = [0; 64];
        let fields = Fields {
            prev_hash: hex(&prev_hash, &mut prev),
            seq: self.seq,
            kind: self.kind,
            action_id: self.action_id,
            agent_id: &self.agent_id,
            action: &self.action,
            from: self.from,
            to: self.to,
            actor: self.actor.as_str(),
            channel: self.channel.as_str(),
            reason: self.reason.as_str(),
            at: self.at,
            state_hash: "",
        };
        let hash = fields.digest();
        Kept {
            seq: self.seq,
            kind: self.kind,
            action_id: self.action_id,
            agent_id: self.agent_id,
            action: self.action,
            from: self.from,
            to: self.to,
            actor: self.actor,
            channel: self.channel,
            reason: self.reason,
            at: self.at,
            prev_hash,
            hash,
        }
    }
}

impl Kept {
    /// The event as the [`Store`](crate::Store) API returns it.
    pub(super) fn to_event(&self) -> AuditEvent {
        AuditEvent {
            seq: self.seq,
            kind: self.kind,
            action_id: self.action_id,
            agent_id: self.agent_id.to_string(),
            action: self.action.to_string(),
            from: self.from,
            to: self.to,
            actor: self.actor.as_str().to_owned(),
            channel: self.channel.as_str().to_owned(),
            reason: self.reason.as_str().to_owned(),
            at: self.at,
            prev_hash: hex_string(&self.prev_hash),
            hash: hex_string(&self.hash),
            state_hash: String::new(),
        }
    }
}

/// `hash` in lowercase hex, as the chain writes hashes.
pub(super) fn hex_string(hash: &Hash) -> String {
    hex(hash, &mut [0; 64]).to_owned()
}

fn hex<'a>(hash: &Hash, buf: &'a mut [u8; 64]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, &b) in hash.iter().enumerate() {
        buf[2 * i] = DIGITS[usize::from(b >> 4)];
        buf[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
    }
    // Only ASCII digits and letters were written.
    std::str::from_utf8(buf).unwrap_or(GENESIS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_events_hash_as_the_chain_does() {
        let event = AuditEvent {
            seq: 7,
            kind: AuditKind::Execution,
            action_id: ActionId::new(),
            agent_id: "billing".to_owned(),
            action: "PAY_INVOICE".to_owned(),
            from: Some(State::Executed),
            to: State::Executed,
            actor: "billing".to_owned(),
            channel: "guard".to_owned(),
            reason: "guarded function started".to_owned(),
            at: crate::store::now(),
            prev_hash: String::new(),
            hash: String::new(),
            state_hash: String::new(),
        };
        let prev = [0xa5; 32];
        let kept =
            Unsealed::from_event(event.clone(), "billing".into(), "PAY_INVOICE".into()).seal(prev);
        let sealed = crate::store::chain::seal(event, &hex_string(&prev));
        assert_eq!(kept.to_event(), sealed);
        assert_eq!(hex_string(&GENESIS_HASH), GENESIS);
    }
}
