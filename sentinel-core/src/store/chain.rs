//! The audit trail's hash chain: each event carries the hash of the one before it, so an
//! edited, removed or reordered record is detected and located.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::AuditEvent;
use crate::action::hex;

/// `prev_hash` of the first event of a store.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an event: SHA-256 over its predecessor's hash and its own content (every
/// field but `hash`).
pub fn event_hash(event: &AuditEvent) -> String {
    #[derive(Serialize)]
    struct Content<'a> {
        seq: u64,
        kind: super::AuditKind,
        action_id: String,
        agent_id: &'a str,
        action: &'a str,
        from: Option<crate::State>,
        to: crate::State,
        actor: &'a str,
        channel: &'a str,
        reason: &'a str,
        at: String,
    }
    let content = Content {
        seq: event.seq,
        kind: event.kind,
        action_id: event.action_id.to_string(),
        agent_id: &event.agent_id,
        action: &event.action,
        from: event.from,
        to: event.to,
        actor: &event.actor,
        channel: &event.channel,
        reason: &event.reason,
        at: super::format_time(event.at),
    };
    let mut hasher = Sha256::new();
    hasher.update(event.prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(serde_json::to_vec(&content).unwrap_or_default());
    hex(&hasher.finalize())
}

/// Links `event` after the event whose hash is `prev_hash`, and seals it.
pub(crate) fn seal(mut event: AuditEvent, prev_hash: &str) -> AuditEvent {
    event.prev_hash = prev_hash.to_owned();
    event.hash = event_hash(&event);
    event
}

/// Where and how a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainBreak {
    /// The `seq` of the first record that does not fit.
    pub seq: u64,
    /// What is wrong there.
    pub problem: ChainProblem,
}

/// What is wrong at a break.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainProblem {
    /// The record's content does not match its hash: it was edited.
    Edited,
    /// The record does not follow the one before it: records before it were removed or
    /// the records were reordered.
    Unlinked {
        /// The `seq` of the record read before it (0 at the start).
        after: u64,
    },
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problem {
            ChainProblem::Edited => write!(
                f,
                "audit record {} was edited (its hash does not match its content)",
                self.seq
            ),
            ChainProblem::Unlinked { after: 0 } => write!(
                f,
                "audit record {} does not start the chain: earlier records were removed or reordered",
                self.seq
            ),
            ChainProblem::Unlinked { after } => write!(
                f,
                "audit record {} does not follow record {after}: records were removed or reordered",
                self.seq
            ),
        }
    }
}

impl std::error::Error for ChainBreak {}

/// Checks a whole log, read in `seq` order. Returns the number of records checked.
pub fn verify<'a>(events: impl IntoIterator<Item = &'a AuditEvent>) -> Result<u64, ChainBreak> {
    let mut checker = Checker::default();
    for event in events {
        checker.check(event)?;
    }
    Ok(checker.count)
}

/// Checks a log one event at a time (for logs read in pages).
#[derive(Debug, Clone)]
pub(crate) struct Checker {
    prev_hash: String,
    prev_seq: u64,
    pub(crate) count: u64,
}

impl Default for Checker {
    fn default() -> Self {
        Self {
            prev_hash: GENESIS.to_owned(),
            prev_seq: 0,
            count: 0,
        }
    }
}

impl Checker {
    pub(crate) fn check(&mut self, event: &AuditEvent) -> Result<(), ChainBreak> {
        if event_hash(event) != event.hash {
            return Err(ChainBreak {
                seq: event.seq,
                problem: ChainProblem::Edited,
            });
        }
        if event.prev_hash != self.prev_hash || event.seq <= self.prev_seq {
            return Err(ChainBreak {
                seq: event.seq,
                problem: ChainProblem::Unlinked {
                    after: self.prev_seq,
                },
            });
        }
        self.prev_hash.clone_from(&event.hash);
        self.prev_seq = event.seq;
        self.count += 1;
        Ok(())
    }
}
