//! The `webhook` channel of the approval ladder (feature `webhook`): a generic HTTPS POST
//! with a JSON body, HMAC-signed, carrying a signed single-use console link
//! ([`ConsoleLinks`](crate::ladder::ConsoleLinks)). It covers what cannot carry working
//! buttons: Teams Workflows, Discord, e-mail relays, pagers. People decide in the console,
//! after signing in there: the link signs in nothing.
//!
//! **Signing** ([`sign`], [`verify`]): `X-Sentinel-Timestamp` is the Unix time in seconds;
//! `X-Sentinel-Signature` is `v1=` and the lowercase hex HMAC-SHA256, keyed by the
//! webhook's secret, of `v1:{X-Sentinel-Timestamp}:{raw body}`. A receiver recomputes it
//! over the raw bytes it received, compares in constant time, and refuses timestamps more
//! than [`MAX_AGE_S`] seconds from its clock (replays); `X-Sentinel-Delivery` is a unique
//! id per POST for deduplication.
//!
//! A step fails (the ladder moves on, the reason recorded, never the URL or the secret)
//! when the receiver answers anything but 2xx (redirects are not followed), does not answer
//! within the webhook's timeout, or cannot be reached.

mod body;
mod channel;

pub use body::{EVENT, approval_body};
pub use channel::{WebhookChannel, WebhookTarget};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

use crate::action::{hex, unhex};

/// The header carrying the signing time (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-Sentinel-Timestamp";
/// The header carrying `v1=<hex HMAC-SHA256 of "v1:{timestamp}:{body}">`.
pub const SIGNATURE_HEADER: &str = "X-Sentinel-Signature";
/// The header carrying a unique id per delivery.
pub const DELIVERY_HEADER: &str = "X-Sentinel-Delivery";
/// A receiver refuses timestamps further than this from its clock, either way.
pub const MAX_AGE_S: i64 = 300;

/// A webhook request's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A header is missing.
    #[error("missing `{0}`")]
    Missing(&'static str),
    /// The timestamp is not a number, or is more than [`MAX_AGE_S`] from now.
    #[error("stale or malformed `X-Sentinel-Timestamp`")]
    Stale,
    /// The signature does not match the body.
    #[error("the signature does not match")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts every key length"),
    };
    mac.update(format!("v1:{timestamp}:").as_bytes());
    mac.update(body);
    mac
}

/// `v1=<hex>`: the signature of `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1={}",
        hex(&mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Checks a received webhook (the two headers and the raw body) at `now` (Unix seconds), as
/// a receiver written in Rust would.
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let ts = timestamp.ok_or(VerifyError::Missing(TIMESTAMP_HEADER))?;
    let signature = signature.ok_or(VerifyError::Missing(SIGNATURE_HEADER))?;
    let ts: i64 = ts.trim().parse().map_err(|_| VerifyError::Stale)?;
    if (now - ts).abs() > MAX_AGE_S {
        return Err(VerifyError::Stale);
    }
    let hex = signature
        .trim()
        .strip_prefix("v1=")
        .ok_or(VerifyError::Mismatch)?;
    if hex.len() != 64 {
        return Err(VerifyError::Mismatch);
    }
    let given = unhex(hex).ok_or(VerifyError::Mismatch)?;
    mac(secret, ts, body)
        .verify_slice(&given)
        .map_err(|_| VerifyError::Mismatch)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_refuse_changes() {
        let body = br#"{"action_id":"x"}"#;
        let s = sign(b"secret", 1_700_000_000, body);
        // Computed independently with Python's hmac: HMAC-SHA256("secret", "v1:1700000000:{body}").
        assert_eq!(
            s,
            "v1=4d00b05ef02186258295a36d73f09d821854bb0791f55bda3d9aee0d3cc3f49a"
        );
        let ok = verify(b"secret", Some("1700000000"), Some(&s), body, 1_700_000_100);
        assert_eq!(ok, Ok(()));
        let changed = verify(
            b"secret",
            Some("1700000000"),
            Some(&s),
            b"{}",
            1_700_000_100,
        );
        assert_eq!(changed, Err(VerifyError::Mismatch));
        let other_ts = verify(b"secret", Some("1700000001"), Some(&s), body, 1_700_000_100);
        assert_eq!(other_ts, Err(VerifyError::Mismatch));
        let stale = verify(b"secret", Some("1700000000"), Some(&s), body, 1_700_000_301);
        assert_eq!(stale, Err(VerifyError::Stale));
        assert_eq!(
            verify(b"secret", None, Some(&s), body, 0),
            Err(VerifyError::Missing(TIMESTAMP_HEADER))
        );
    }
}
