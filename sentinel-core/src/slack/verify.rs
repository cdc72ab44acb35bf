//! Slack's request signing (version `v0`): `X-Slack-Signature` is `v0=` and the hex
//! HMAC-SHA256, keyed by the app's signing secret, of `v0:{X-Slack-Request-Timestamp}:{raw
//! body}`. Requests more than five minutes from now are refused (replays), and the
//! signature is compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

use crate::action::{hex, unhex};

/// How far a request's timestamp may be from now, in seconds.
pub const MAX_AGE_S: i64 = 300;

/// Why an interaction request was refused. Nothing changes for a refused request.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A header is missing.
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    /// The timestamp is not a number of seconds.
    #[error("malformed `X-Slack-Request-Timestamp`")]
    MalformedTimestamp,
    /// The request is older than five minutes.
    #[error("stale request: signed {0} s ago (at most 300)")]
    Stale(i64),
    /// The request claims to come from the future.
    #[error("request signed {0} s in the future")]
    Future(i64),
    /// The signature is not `v0=` and 64 hex digits.
    #[error("malformed `X-Slack-Signature`")]
    MalformedSignature,
    /// The signature does not match.
    #[error("bad signature")]
    BadSignature,
}

/// The `X-Slack-Signature` of `body` sent at `timestamp` (what Slack computes).
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    format!(
        "v0={}",
        hex(&mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Checks a request's signature and age against `now` (Unix seconds).
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let timestamp = timestamp.ok_or(VerifyError::MissingHeader("X-Slack-Request-Timestamp"))?;
    let signature = signature.ok_or(VerifyError::MissingHeader("X-Slack-Signature"))?;
    let at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::MalformedTimestamp)?;
    let age = now.saturating_sub(at);
    if age > MAX_AGE_S {
        return Err(VerifyError::Stale(age));
    }
    if -age > MAX_AGE_S {
        return Err(VerifyError::Future(-age));
    }
    let hex = signature
        .strip_prefix("v0=")
        .ok_or(VerifyError::MalformedSignature)?;
    let given = decode_hex(hex).ok_or(VerifyError::MalformedSignature)?;
    // `verify_slice` compares in constant time.
    mac(secret, timestamp, body)
        .verify_slice(&given)
        .map_err(|_| VerifyError::BadSignature)
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The 32 bytes of a 64-digit hex signature.
fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 {
        return None;
    }
    unhex(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of Slack's "Verifying requests from Slack" page.
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slack_s_documented_example_verifies() {
        assert_eq!(sign(SECRET.as_bytes(), TS, BODY.as_bytes()), SIG);
        let now = TS.parse::<i64>().unwrap_or_default() + 10;
        assert_eq!(
            verify(SECRET.as_bytes(), Some(TS), Some(SIG), BODY.as_bytes(), now),
            Ok(())
        );
    }

    #[test]
    fn forged_stale_and_malformed_requests_are_refused() {
        let now = TS.parse::<i64>().unwrap_or_default();
        let v = |ts: Option<&str>, sig: Option<&str>, body: &str, now: i64| {
            verify(SECRET.as_bytes(), ts, sig, body.as_bytes(), now)
        };
        assert_eq!(
            v(Some(TS), Some(SIG), "token=other", now),
            Err(VerifyError::BadSignature)
        );
        let mut flipped = SIG.to_owned();
        flipped.replace_range(66.., "4");
        assert_eq!(
            v(Some(TS), Some(&flipped), BODY, now),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            v(Some(TS), Some(SIG), BODY, now + 301),
            Err(VerifyError::Stale(301))
        );
        assert_eq!(v(Some(TS), Some(SIG), BODY, now + 300), Ok(()));
        assert_eq!(
            v(Some(TS), Some(SIG), BODY, now - 301),
            Err(VerifyError::Future(301))
        );
        assert_eq!(
            v(None, Some(SIG), BODY, now),
            Err(VerifyError::MissingHeader("X-Slack-Request-Timestamp"))
        );
        assert_eq!(
            v(Some(TS), None, BODY, now),
            Err(VerifyError::MissingHeader("X-Slack-Signature"))
        );
        assert_eq!(
            v(Some("soon"), Some(SIG), BODY, now),
            Err(VerifyError::MalformedTimestamp)
        );
        assert_eq!(
            v(Some(TS), Some(&SIG[3..]), BODY, now),
            Err(VerifyError::MalformedSignature)
        );
        assert_eq!(
            v(Some(TS), Some("v0=zz"), BODY, now),
            Err(VerifyError::MalformedSignature)
        );
        let other = verify(b"another secret", Some(TS), Some(SIG), BODY.as_bytes(), now);
        assert_eq!(other, Err(VerifyError::BadSignature));
    }
}
