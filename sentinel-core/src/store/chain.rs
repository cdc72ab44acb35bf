//! The audit trail's hash chain: each event carries the hash of the one before it, so an
//! edited, removed or reordered record is detected and located; each event of a SQL store
//! also carries the digest of the action's record as it left it, binding the stored state,
//! decision and approval to the chain.

use std::fmt;

use sha2::{Digest, Sha256};

use super::{ActionRecord, AuditEvent};
use crate::action::{ActionId, hex};
use crate::state::State;

/// `prev_hash` of the first event of a store.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an event: SHA-256 over its predecessor's hash and its own content (every
/// field but `hash`), each field length-prefixed so that no two events hash alike.
pub fn event_hash(event: &AuditEvent) -> String {
    hex(&Fields::of(event).digest())
}

/// What [`event_hash`] hashes, borrowed: stores that keep events in their own form hash
/// them without building an [`AuditEvent`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a> {
    pub(crate) prev_hash: &'a str,
    pub(crate) seq: u64,
    pub(crate) kind: super::AuditKind,
    pub(crate) action_id: ActionId,
    pub(crate) agent_id: &'a str,
    pub(crate) action: &'a str,
    pub(crate) from: Option<State>,
    pub(crate) to: State,
    pub(crate) actor: &'a str,
    pub(crate) channel: &'a str,
    pub(crate) reason: &'a str,
    pub(crate) at: chrono::DateTime<chrono::Utc>,
    pub(crate) state_hash: &'a str,
}

impl<'a> Fields<'a> {
    /// The fields of `event`.
    pub(crate) fn of(event: &'a AuditEvent) -> Self {
        Self {
            prev_hash: &event.prev_hash,
            seq: event.seq,
            kind: event.kind,
            action_id: event.action_id,
            agent_id: &event.agent_id,
            action: &event.action,
            from: event.from,
            to: event.to,
            actor: &event.actor,
            channel: &event.channel,
            reason: &event.reason,
            at: event.at,
            state_hash: &event.state_hash,
        }
    }

    /// The SHA-256 that [`event_hash`] writes in hex.
    pub(crate) fn digest(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        field(self.prev_hash.as_bytes());
        field(&self.seq.to_le_bytes());
        field(self.kind.as_str().as_bytes());
        field(self.action_id.encode(&mut [0; 36]).as_bytes());
        field(self.agent_id.as_bytes());
        field(self.action.as_bytes());
        field(self.from.map_or("", State::as_str).as_bytes());
        field(self.to.as_str().as_bytes());
        field(self.actor.as_bytes());
        field(self.channel.as_bytes());
        field(self.reason.as_bytes());
        field(super::write_time(self.at, &mut [0; 27]).as_bytes());
        // Added later: events without it hash as they always did.
        if !self.state_hash.is_empty() {
            field(self.state_hash.as_bytes());
        }
        hasher.finalize().into()
    }
}

/// The digest of what an event leaves an action's record as: its state, decision, approval,
/// deadline and execution time, and the hash of the action itself (SHA-256 of their
/// canonical JSON). `audit verify` recomputes it from the stored record.
pub fn record_digest(record: &ActionRecord) -> String {
    /// A time as the SQL stores keep it (microseconds), written without allocating.
    struct Micros(chrono::DateTime<chrono::Utc>);

    impl serde::Serialize for Micros {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(&super::write_time(self.0, &mut [0; 27]))
        }
    }

    #[derive(serde::Serialize)]
    struct Digested<'a> {
        action_hash: &'a str,
        state: State,
        decision: Option<&'a crate::decision::Decision>,
        approval: Option<&'a super::Approval>,
        deadline: Option<Micros>,
        executed_at: Option<Micros>,
    }

    let digested = Digested {
        action_hash: &record.action_hash,
        state: record.state,
        decision: record.decision.as_deref(),
        approval: record.approval.as_ref(),
        deadline: record.deadline.map(Micros),
        executed_at: record.executed_at.map(Micros),
    };
    // Cannot fail: every part serializes to JSON (strings, numbers, string-keyed structs).
    // The error's text stands in for a digest only so that this never panics.
    crate::canonical::hash_of(&digested)
        .unwrap_or_else(|error| format!("unhashable record: {error}"))
}

/// Links `event` after the event whose hash is `prev_hash`, and seals it.
#[cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", test)),
    allow(
        dead_code,
        reason = "the SQL stores seal events; the memory store keeps its own"
    )
)]
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
    /// The log ends before the chain head says it does: its last records were removed.
    Truncated {
        /// How many records the head says were written.
        head: u64,
    },
    /// An action's stored record (state, decision or approval) is not what its audit trail
    /// says it was left as: the record was edited.
    RecordMismatch {
        /// The action.
        action_id: ActionId,
        /// What differs.
        detail: String,
    },
    /// A checkpoint does not match the chain, lies beyond its end, or its signature does
    /// not verify: records were rewritten or removed.
    Checkpoint {
        /// What is wrong.
        detail: String,
    },
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
        match &self.problem {
            ChainProblem::Truncated { head } => write!(
                f,
                "the audit log ends at record {} but {head} were written: its last records were removed",
                self.seq
            ),
            ChainProblem::RecordMismatch { action_id, detail } => write!(
                f,
                "action `{action_id}` does not match its audit trail (record {}): {detail}",
                self.seq
            ),
            ChainProblem::Checkpoint { detail } => {
                write!(f, "checkpoint at record {}: {detail}", self.seq)
            }
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
    /// A checker for a log whose kept part follows record `seq` with hash `hash`.
    pub(crate) fn after(seq: u64, hash: String) -> Self {
        Self {
            prev_hash: hash,
            prev_seq: seq,
            count: 0,
        }
    }

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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::action::Action;
    use crate::decision::Decision;
    use crate::store::{Approval, format_time, new_record};

    /// The digest as it was first defined: the record's parts as a `serde_json::Value`.
    /// Stored trails hold digests made this way, so the direct writer must agree with it.
    fn digest_through_a_value(record: &ActionRecord) -> String {
        crate::canonical::hash(&json!({
            "action_hash": record.action_hash,
            "state": record.state,
            "decision": record.decision,
            "approval": record.approval,
            "deadline": record.deadline.map(format_time),
            "executed_at": record.executed_at.map(format_time),
        }))
    }

    fn records() -> Vec<ActionRecord> {
        let at = Utc
            .with_ymd_and_hms(2026, 12, 4, 23, 5, 9)
            .single()
            .unwrap_or_default()
            + chrono::Duration::nanoseconds(123_456_789);
        let id: ActionId = "01937b6e-8a3c-7d4e-9f10-23456789abcd"
            .parse()
            .unwrap_or_default();
        let received = new_record(
            id,
            Action::new("agent-1", "PAY_INVOICE"),
            "ab".repeat(32),
            at,
        );
        let decision: Decision = serde_json::from_value(json!({
            "action_id": id,
            "status": "BLOCKED_AWAITING_AUTH",
            "risk_score": 85,
            "analysis": "pays \"Acme\" €4,900 — a new vendor\n\u{1}",
            "rules": ["VaultKeeper/unknown-vendor", "OpsGuard/x"],
            "matched": [
                {"rule": "VaultKeeper/unknown-vendor", "pack_version": "1.2.0",
                 "effect": {"risk_floor": 70}, "reason": "vendor `Acme` is new"},
                {"rule": "OpsGuard/x", "pack_version": "0.1.0", "effect": "escalate",
                 "reason": ""}
            ],
            "packs": [{"name": "VaultKeeper", "version": "1.2.0", "hash": "cd".repeat(32)}],
            "scorer": {"outcome": "failed", "scorer": "groq", "error": "timed out after 2s"},
            "timings": {"rules_ns": 812, "scorer_ns": 2_000_000_000u64, "total_ns": u64::MAX}
        }))
        .unwrap_or_else(|e| panic!("a decision: {e}"));
        let decided = ActionRecord {
            state: State::BlockedAwaitingAuth,
            decision: Some(Arc::new(decision)),
            deadline: Some(at + chrono::Duration::seconds(300)),
            ..received.clone()
        };
        let approved = ActionRecord {
            state: State::Approved,
            approval: Some(Approval {
                approved: true,
                by: "+1 555 0100 «ops»".to_owned(),
                channel: "voice".to_owned(),
                reason: "pressed 1".to_owned(),
                at,
                action_hash: "ab".repeat(32),
                packs: Vec::new(),
            }),
            executed_at: Some(at),
            ..decided.clone()
        };
        vec![received, decided, approved]
    }

    #[test]
    fn the_record_digest_is_what_it_was_when_made_through_a_value() {
        for record in records() {
            assert_eq!(record_digest(&record), digest_through_a_value(&record));
        }
    }

    #[test]
    fn record_digests_are_fixed() {
        // Stored trails are verified against these digests: they may never change.
        let digests: Vec<String> = records().iter().map(record_digest).collect();
        assert_eq!(
            digests,
            [
                "55fb909a1f45aa117fca5804da3cf836082a7e32942e3e5d81afaa564e04ac83",
                "f2cb93e086c48bda35df9e7f8dd9b4b2bb348a73a7c9f5e761d44b3f80fb2c9a",
                "ca68f16255e225c4cec16cb51ffaf44bdebd5d3477ae34859cf20b458c277cfc",
            ]
        );
    }
}
