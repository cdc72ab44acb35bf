//! Checkpoints of the audit chain: its head (`seq` and hash) written down from time to time,
//! optionally signed with a key kept outside the database.
//!
//! The hash chain alone proves that no record was edited, removed or reordered *unless* the
//! whole tail after the edit was re-hashed, which anyone with write access to the database
//! can do. A checkpoint pins the chain at a point: a rewrite before it changes the hash the
//! checkpoint recorded. Unsigned, a checkpoint stops naive edits only (a careful forger
//! rewrites the checkpoints too); signed with HMAC-SHA256 under a key the database does not
//! hold (`SENTINEL_AUDIT_KEY`), it cannot be forged: every rewrite or removal of records up
//! to the last checkpoint is detected. What happened after the last checkpoint can still
//! be rewritten or cut by someone who can write to the database.

use std::fmt;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::action::hex;

/// The shortest key accepted, in bytes.
pub const MIN_KEY_LEN: usize = 16;

/// A checkpoint of the audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The `seq` of the last record when the checkpoint was written.
    pub seq: u64,
    /// That record's hash.
    pub hash: String,
    /// When the checkpoint was written.
    pub at: DateTime<Utc>,
    /// HMAC-SHA256 (hex) of the checkpoint under the audit key, when one was configured.
    pub mac: Option<String>,
}

impl Checkpoint {
    /// A checkpoint of the head (`seq`, `hash`) at `at`, signed when `key` is given.
    pub fn new(seq: u64, hash: String, at: DateTime<Utc>, key: Option<&AuditKey>) -> Self {
        let mut checkpoint = Self {
            seq,
            hash,
            at,
            mac: None,
        };
        checkpoint.mac = key.map(|k| k.sign(&checkpoint));
        checkpoint
    }

    /// The checkpoint with the signature it was stored with.
    #[must_use]
    pub fn with_mac(mut self, mac: Option<String>) -> Self {
        self.mac = mac;
        self
    }

    /// What is signed: the format version, `seq`, hash and time.
    fn message(&self) -> String {
        format!(
            "sentinel-checkpoint:v1:{}:{}:{}",
            self.seq,
            self.hash,
            super::format_time(self.at)
        )
    }
}

/// The key that signs checkpoints (HMAC-SHA256). Never shown by `Debug`.
#[derive(Clone)]
pub struct AuditKey(Vec<u8>);

impl AuditKey {
    /// A key from its secret text; `None` when shorter than [`MIN_KEY_LEN`] bytes.
    pub fn new(secret: impl AsRef<[u8]>) -> Option<Self> {
        let bytes = secret.as_ref();
        (bytes.len() >= MIN_KEY_LEN).then(|| Self(bytes.to_vec()))
    }

    /// The signature of a checkpoint.
    pub fn sign(&self, checkpoint: &Checkpoint) -> String {
        hex(&self.mac(checkpoint).finalize().into_bytes())
    }

    /// True when `checkpoint` carries a signature of this key (compared in constant time).
    pub fn verifies(&self, checkpoint: &Checkpoint) -> bool {
        let Some(given) = checkpoint.mac.as_deref().and_then(unhex) else {
            return false;
        };
        self.mac(checkpoint).verify_slice(&given).is_ok()
    }

    fn mac(&self, checkpoint: &Checkpoint) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("hmac accepts every key length"));
        mac.update(checkpoint.message().as_bytes());
        mac
    }
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey(***)")
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_seq_hash_and_time() {
        let key = AuditKey::new("a key of sixteen+ bytes").unwrap_or_else(|| unreachable!());
        let at = Utc::now();
        let c = Checkpoint::new(7, "ab".repeat(32), at, Some(&key));
        assert!(key.verifies(&c));
        let moved = Checkpoint {
            seq: 8,
            ..c.clone()
        };
        assert!(!key.verifies(&moved));
        let other = AuditKey::new("another key, also long").unwrap_or_else(|| unreachable!());
        assert!(!other.verifies(&c));
        assert!(!key.verifies(&Checkpoint { mac: None, ..c }));
        assert!(AuditKey::new("short").is_none());
        assert_eq!(format!("{key:?}"), "AuditKey(***)");
    }
}
