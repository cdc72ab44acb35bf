//! Webhook signature checks: Ed25519 (`verify_strict`) over `"{telnyx-timestamp}|{raw body}"`,
//! a timestamp window in both directions, and a replay check on the event id.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, VerifyingKey};
use thiserror::Error;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "telnyx-signature-ed25519";
/// The timestamp header (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "telnyx-timestamp";

/// Most event ids remembered for the replay check; older ones fall out of the timestamp
/// window first.
const MAX_REMEMBERED: usize = 100_000;

/// Reads a request header by name, case-insensitively.
pub trait HeaderLookup {
    /// The header's value, when present (the first one if repeated).
    fn header(&self, name: &str) -> Option<&str>;
}

impl HeaderLookup for http::HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        // `HeaderMap` names are lowercase; `get` with a `&str` lowercases nothing, so
        // look up the lowercase form.
        self.get(name.to_ascii_lowercase().as_str())
            .and_then(|v| v.to_str().ok())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for [(K, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>, S: std::hash::BuildHasher> HeaderLookup for HashMap<K, V, S> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

/// The current time as Unix seconds; tests inject a fixed one.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// A clock that says what it is told (for tests and replays of recorded webhooks).
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    /// A clock stopped at `unix` seconds.
    pub fn new(unix: i64) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(unix)))
    }

    /// Moves the clock to `unix` seconds.
    pub fn set(&self, unix: i64) {
        self.0.store(unix, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A Telnyx webhook signing key (Mission Control → Keys & Credentials → Public Key).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses the base64 of the 32 raw key bytes, as Telnyx shows it.
    pub fn from_base64(text: &str) -> Result<Self, VerifyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|e| VerifyError::BadKey {
                message: format!("not base64: {e}"),
            })?;
        let bytes: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| VerifyError::BadKey {
                message: format!("expected 32 bytes, got {}", bytes.len()),
            })?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| VerifyError::BadKey {
            message: "not a valid Ed25519 point".to_owned(),
        })?;
        if key.is_weak() {
            return Err(VerifyError::BadKey {
                message: "a weak (small-order) key".to_owned(),
            });
        }
        Ok(Self(key))
    }

    /// The base64 form.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.as_bytes())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

/// Why a webhook was refused. Each cause has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A signature header is absent.
    #[error("webhook header `{header}` is missing")]
    MissingHeader {
        /// The header.
        header: &'static str,
    },
    /// A signature header cannot be read (bad base64, wrong length, not a number).
    #[error("webhook header `{header}` is malformed: {message}")]
    MalformedHeader {
        /// The header.
        header: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The configured public key is unusable.
    #[error("the telnyx public key is invalid: {message}")]
    BadKey {
        /// What is wrong.
        message: String,
    },
    /// The signature does not match the timestamp and body: forged or tampered.
    #[error("webhook signature does not match the body")]
    BadSignature,
    /// The timestamp is older than the tolerance.
    #[error("webhook timestamp `{timestamp}` is {age} s old (tolerance {tolerance} s)")]
    Stale {
        /// The header's timestamp.
        timestamp: i64,
        /// How old it is.
        age: i64,
        /// The tolerance.
        tolerance: i64,
    },
    /// The timestamp is further in the future than the tolerance.
    #[error("webhook timestamp `{timestamp}` is {ahead} s in the future (tolerance {tolerance} s)")]
    Future {
        /// The header's timestamp.
        timestamp: i64,
        /// How far ahead it is.
        ahead: i64,
        /// The tolerance.
        tolerance: i64,
    },
    /// The body is signed but is not a webhook envelope with an event id.
    #[error("webhook body has no event id: {message}")]
    NoEventId {
        /// What is wrong.
        message: String,
    },
    /// This event id was already accepted: a replay or a duplicate delivery.
    #[error("webhook event `{event_id}` was already received")]
    Replayed {
        /// The event id.
        event_id: String,
    },
}

/// Checks a signature and its timestamp, without the replay check (see
/// [`WebhookVerifier`] for the full check).
pub fn verify_signature(
    key: &PublicKey,
    headers: &(impl HeaderLookup + ?Sized),
    raw_body: &[u8],
    now_unix: i64,
    tolerance: Duration,
) -> Result<i64, VerifyError> {
    let signature = headers
        .header(SIGNATURE_HEADER)
        .ok_or(VerifyError::MissingHeader {
            header: SIGNATURE_HEADER,
        })?;
    let timestamp_text = headers
        .header(TIMESTAMP_HEADER)
        .ok_or(VerifyError::MissingHeader {
            header: TIMESTAMP_HEADER,
        })?;
    let sig_bytes =
        STANDARD
            .decode(signature.trim())
            .map_err(|e| VerifyError::MalformedHeader {
                header: SIGNATURE_HEADER,
                message: format!("not base64: {e}"),
            })?;
    let sig_bytes: [u8; 64] =
        sig_bytes
            .as_slice()
            .try_into()
            .map_err(|_| VerifyError::MalformedHeader {
                header: SIGNATURE_HEADER,
                message: format!("expected 64 bytes, got {}", sig_bytes.len()),
            })?;
    let timestamp_text = timestamp_text.trim();
    let timestamp: i64 = timestamp_text
        .parse()
        .ok()
        .filter(|_| timestamp_text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| VerifyError::MalformedHeader {
            header: TIMESTAMP_HEADER,
            message: format!("`{timestamp_text}` is not Unix seconds"),
        })?;

    let mut message = Vec::with_capacity(timestamp_text.len() + 1 + raw_body.len());
    message.extend_from_slice(timestamp_text.as_bytes());
    message.push(b'|');
    message.extend_from_slice(raw_body);
    key.0
        .verify_strict(&message, &Signature::from_bytes(&sig_bytes))
        .map_err(|_| VerifyError::BadSignature)?;

    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    let age = now_unix.saturating_sub(timestamp);
    if age > tolerance {
        return Err(VerifyError::Stale {
            timestamp,
            age,
            tolerance,
        });
    }
    if -age > tolerance {
        return Err(VerifyError::Future {
            timestamp,
            ahead: -age,
            tolerance,
        });
    }
    Ok(timestamp)
}

/// Verifies webhooks and remembers accepted event ids, so each is accepted once.
pub struct WebhookVerifier {
    key: PublicKey,
    tolerance: Duration,
    clock: Arc<dyn Clock>,
    seen: Mutex<HashMap<String, i64>>,
}

impl WebhookVerifier {
    /// A verifier for `key` with the system clock and a 300 s tolerance.
    pub fn new(key: PublicKey) -> Self {
        Self {
            key,
            tolerance: Duration::from_secs(300),
            clock: Arc::new(SystemClock),
            seen: Mutex::default(),
        }
    }

    /// Uses `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the timestamp tolerance (both directions).
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Checks the signature and the timestamp, then that the event id was not accepted
    /// before; returns the event id. Only a fully verified event id is remembered.
    pub fn verify(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        raw_body: &[u8],
    ) -> Result<String, VerifyError> {
        let now = self.clock.now_unix();
        verify_signature(&self.key, headers, raw_body, now, self.tolerance)?;
        let event_id = event_id(raw_body)?;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.contains_key(&event_id) {
            return Err(VerifyError::Replayed { event_id });
        }
        if seen.len() >= MAX_REMEMBERED {
            // Anything accepted more than twice the tolerance ago would now fail as stale.
            let horizon = i64::try_from(self.tolerance.as_secs())
                .unwrap_or(i64::MAX)
                .saturating_mul(2);
            seen.retain(|_, at| now.saturating_sub(*at) <= horizon);
        }
        seen.insert(event_id.clone(), now);
        Ok(event_id)
    }
}

impl WebhookVerifier {
    /// Forgets an accepted event id, so that a redelivery is handled: for an event whose
    /// handling failed before it changed anything.
    pub fn forget(&self, event_id: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.remove(event_id);
    }
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("key", &self.key)
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

fn event_id(raw_body: &[u8]) -> Result<String, VerifyError> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        data: Data,
    }
    #[derive(serde::Deserialize)]
    struct Data {
        id: String,
    }
    let envelope: Envelope =
        serde_json::from_slice(raw_body).map_err(|e| VerifyError::NoEventId {
            message: e.to_string(),
        })?;
    if envelope.data.id.is_empty() {
        return Err(VerifyError::NoEventId {
            message: "`data.id` is empty".to_owned(),
        });
    }
    Ok(envelope.data.id)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    fn keypair() -> (SigningKey, PublicKey) {
        let signing = SigningKey::from_bytes(&[7u8; 32]);
        let public =
            PublicKey::from_base64(&STANDARD.encode(signing.verifying_key().as_bytes())).unwrap();
        (signing, public)
    }

    fn signed(signing: &SigningKey, ts: &str, body: &str) -> Vec<(String, String)> {
        let sig = signing.sign(format!("{ts}|{body}").as_bytes());
        vec![
            (
                "Telnyx-Signature-Ed25519".to_owned(),
                STANDARD.encode(sig.to_bytes()),
            ),
            ("TELNYX-TIMESTAMP".to_owned(), ts.to_owned()),
        ]
    }

    #[test]
    fn accepts_within_the_window_both_ways_and_names_each_failure() {
        let (signing, key) = keypair();
        let body = r#"{"data":{"id":"e1"}}"#;
        let tol = Duration::from_secs(300);
        for now in [1000, 1300, 700] {
            assert_eq!(
                verify_signature(
                    &key,
                    signed(&signing, "1000", body).as_slice(),
                    body.as_bytes(),
                    now,
                    tol
                ),
                Ok(1000)
            );
        }
        assert!(matches!(
            verify_signature(
                &key,
                signed(&signing, "1000", body).as_slice(),
                body.as_bytes(),
                1301,
                tol
            ),
            Err(VerifyError::Stale { age: 301, .. })
        ));
        assert!(matches!(
            verify_signature(
                &key,
                signed(&signing, "1000", body).as_slice(),
                body.as_bytes(),
                699,
                tol
            ),
            Err(VerifyError::Future { ahead: 301, .. })
        ));
        let mut h = signed(&signing, "1000", body);
        h[0].1 = "%%%".to_owned();
        assert!(matches!(
            verify_signature(&key, h.as_slice(), body.as_bytes(), 1000, tol),
            Err(VerifyError::MalformedHeader {
                header: SIGNATURE_HEADER,
                ..
            })
        ));
        let h = signed(&signing, "-5", body);
        assert!(matches!(
            verify_signature(&key, h.as_slice(), body.as_bytes(), 1000, tol),
            Err(VerifyError::MalformedHeader {
                header: TIMESTAMP_HEADER,
                ..
            })
        ));
        let h = &signed(&signing, "1000", body)[..1];
        assert_eq!(
            verify_signature(&key, h, body.as_bytes(), 1000, tol),
            Err(VerifyError::MissingHeader {
                header: TIMESTAMP_HEADER
            })
        );
    }

    #[test]
    fn weak_and_short_keys_are_refused() {
        assert!(matches!(
            PublicKey::from_base64(&STANDARD.encode([0u8; 31])),
            Err(VerifyError::BadKey { .. })
        ));
        // The identity point is a small-order ("weak") key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            PublicKey::from_base64(&STANDARD.encode(identity)),
            Err(VerifyError::BadKey { .. })
        ));
    }
}
