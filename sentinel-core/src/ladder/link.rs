//! Console links: signed, single-use, expiring links to an action's page in the console,
//! sent by channels that cannot carry working buttons (the `webhook` channel: Teams
//! Workflows, Discord, e-mail relays, pagers).
//!
//! A link is `{public_url}/console/link/{token}`, the token
//! `v1.{action_id}.{expires_unix}.{nonce}.{hex HMAC-SHA256}` with the MAC over
//! `sentinel-console-link:v1:{action_id}:{expires_unix}:{nonce}` keyed by the link key
//! (`[channels] link_key_env`, default `SENTINEL_LINK_KEY`, or `link_key_file`). Opening a
//! link **signs in nothing**: it only leads to the action's page, where the operator signs
//! in as always. A valid, unexpired link is redeemed once: the use is an approval attempt
//! of channel [`LINK_CHANNEL`] whose external id is the nonce, so the store's uniqueness of
//! external ids makes the use single across every instance sharing the store.

use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

use crate::action::{ActionId, hex, unhex};
use crate::store::{ApprovalAttempt, AttemptStatus, Store};

/// The channel of the approval attempts that record a link's use.
pub const LINK_CHANNEL: &str = "console_link";
/// The path under which the console answers links: `{public_url}{LINK_PATH}{token}`.
pub const LINK_PATH: &str = "/console/link/";
/// The variable holding the link key unless `[channels] link_key_env` names another.
pub const LINK_KEY_ENV: &str = "SENTINEL_LINK_KEY";
/// The fewest bytes a configured link key has.
pub const MIN_KEY_BYTES: usize = 32;

const DOMAIN: &str = "sentinel-console-link:v1";

/// A link could not be used. The messages say nothing about the key or the token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Not a token this server makes, or its signature does not match.
    #[error("this link is not valid")]
    Invalid,
    /// Past its expiry.
    #[error("this link has expired")]
    Expired,
    /// Used before (links are single-use).
    #[error("this link was used already")]
    Used,
    /// The store could not record the use: the link is refused (fail closed).
    #[error("this link cannot be used now: {0}")]
    Unavailable(String),
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkClaim {
    /// The action the link leads to.
    pub action_id: ActionId,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
    /// The token's single-use nonce (32 hex digits).
    pub nonce: String,
}

/// Makes and checks console links with one key.
#[derive(Clone)]
pub struct ConsoleLinks {
    key: Vec<u8>,
    base: String,
    ephemeral: bool,
}

impl std::fmt::Debug for ConsoleLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleLinks")
            .field("base", &self.base)
            .field("ephemeral", &self.ephemeral)
            .finish_non_exhaustive()
    }
}

impl ConsoleLinks {
    /// Links under `public_url` (the console's base URL, `https://sentinel.example.com`)
    /// signed with `key`.
    pub fn new(public_url: &str, key: &[u8]) -> Self {
        Self {
            key: key.to_vec(),
            base: public_url.trim_end_matches('/').to_owned(),
            ephemeral: false,
        }
    }

    /// Links signed with a random key of this process: they stop working when it stops,
    /// and other instances cannot check them.
    pub fn ephemeral(public_url: &str) -> Result<Self, LinkError> {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key)
            .map_err(|e| LinkError::Unavailable(format!("no randomness for a link key: {e}")))?;
        let mut links = Self::new(public_url, &key);
        links.ephemeral = true;
        Ok(links)
    }

    /// True when the key is this process's random one.
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral
    }

    /// The console's base URL the links are under.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A new token for `action_id`, working until `expires_at`.
    pub fn token(
        &self,
        action_id: ActionId,
        expires_at: DateTime<Utc>,
    ) -> Result<String, LinkError> {
        let mut nonce = [0u8; 16];
        getrandom::getrandom(&mut nonce)
            .map_err(|e| LinkError::Unavailable(format!("no randomness for a link: {e}")))?;
        let nonce = hex(&nonce);
        let exp = expires_at.timestamp();
        let mac = self.mac(&action_id.to_string(), exp, &nonce);
        Ok(format!("v1.{action_id}.{exp}.{nonce}.{}", hex(&mac)))
    }

    /// A new link (`{public_url}/console/link/{token}`) for `action_id`.
    pub fn link(
        &self,
        action_id: ActionId,
        expires_at: DateTime<Utc>,
    ) -> Result<String, LinkError> {
        Ok(format!(
            "{}{LINK_PATH}{}",
            self.base,
            self.token(action_id, expires_at)?
        ))
    }

    /// Checks a token's form, signature (constant-time) and expiry at `now`. Reads nothing.
    pub fn check(&self, token: &str, now: DateTime<Utc>) -> Result<LinkClaim, LinkError> {
        let parts: Vec<&str> = token.split('.').collect();
        let [version, id, exp, nonce, mac] = parts.as_slice() else {
            return Err(LinkError::Invalid);
        };
        let hex_ok = |s: &str, len: usize| {
            s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        if *version != "v1" || !hex_ok(nonce, 32) || !hex_ok(mac, 64) {
            return Err(LinkError::Invalid);
        }
        let exp_s: i64 = exp.parse().map_err(|_| LinkError::Invalid)?;
        let given = unhex(mac).ok_or(LinkError::Invalid)?;
        let mut check = self.hmac();
        check.update(format!("{DOMAIN}:{id}:{exp_s}:{nonce}").as_bytes());
        check.verify_slice(&given).map_err(|_| LinkError::Invalid)?;
        let action_id: ActionId = id.parse().map_err(|_| LinkError::Invalid)?;
        let expires_at = Utc
            .timestamp_opt(exp_s, 0)
            .single()
            .ok_or(LinkError::Invalid)?;
        if now >= expires_at {
            return Err(LinkError::Expired);
        }
        Ok(LinkClaim {
            action_id,
            expires_at,
            nonce: (*nonce).to_owned(),
        })
    }

    /// [`check`](Self::check), and whether the link was used (reads the store, changes
    /// nothing): for a page that asks before it redeems.
    pub async fn peek(
        &self,
        store: &dyn Store,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<LinkClaim, LinkError> {
        let claim = self.check(token, now)?;
        if used(store, &claim).await? {
            return Err(LinkError::Used);
        }
        Ok(claim)
    }

    /// Redeems a token: checks it and records its use in the store, atomically (of two
    /// uses at once, on any instances sharing the store, one wins). The action it leads to.
    pub async fn redeem(
        &self,
        store: &dyn Store,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<LinkClaim, LinkError> {
        let claim = self.check(token, now)?;
        if !store.keeps_attempts() {
            return Err(LinkError::Unavailable(
                "the store keeps no approval attempts, so a single use cannot be recorded"
                    .to_owned(),
            ));
        }
        if used(store, &claim).await? {
            return Err(LinkError::Used);
        }
        let unavailable = |e: crate::error::StoreError| LinkError::Unavailable(e.to_string());
        for _ in 0..16 {
            let attempts = store.attempts(claim.action_id).await.map_err(unavailable)?;
            let seq = attempts.iter().map(|a| a.seq).max().unwrap_or(0) + 1;
            let state = serde_json::json!({
                "used_at": now,
                "expires_at": claim.expires_at,
            });
            let mut attempt = ApprovalAttempt::new(claim.action_id, seq, LINK_CHANNEL, state);
            attempt.status = AttemptStatus::Ended;
            attempt.add_external_ids([claim.nonce.clone()]);
            match store.insert_attempt(&attempt).await {
                Ok(Some(_)) => {
                    let note = store
                        .append_note(
                            claim.action_id,
                            "sentinel",
                            LINK_CHANNEL,
                            "a console link was opened (single use; it signs nobody in)",
                        )
                        .await;
                    if let Err(e) = note {
                        tracing::warn!(error = %e, "cannot record the console link's use");
                    }
                    return Ok(claim);
                }
                Ok(None) => {} // another attempt took this number: read again
                Err(e) => {
                    // The nonce names an attempt already (a use at the same moment), or the
                    // store failed: refused either way.
                    return Err(if used(store, &claim).await? {
                        LinkError::Used
                    } else {
                        unavailable(e)
                    });
                }
            }
        }
        Err(LinkError::Unavailable(
            "too many concurrent changes to the action".to_owned(),
        ))
    }

    fn hmac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!())
    }

    fn mac(&self, id: &str, exp: i64, nonce: &str) -> Vec<u8> {
        let mut mac = self.hmac();
        mac.update(format!("{DOMAIN}:{id}:{exp}:{nonce}").as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

async fn used(store: &dyn Store, claim: &LinkClaim) -> Result<bool, LinkError> {
    store
        .find_attempt(LINK_CHANNEL, &claim.nonce)
        .await
        .map(|a| a.is_some())
        .map_err(|e| LinkError::Unavailable(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_check_and_refuse_changes() {
        let links = ConsoleLinks::new(
            "https://s.example.com/",
            b"0123456789abcdef0123456789abcdef",
        );
        let id = ActionId::new();
        let now = Utc::now();
        let exp = now + chrono::Duration::seconds(60);
        let url = links.link(id, exp).unwrap();
        let token = url
            .strip_prefix("https://s.example.com/console/link/")
            .unwrap();
        let claim = links.check(token, now).unwrap();
        assert_eq!(claim.action_id, id);
        assert_eq!(claim.expires_at.timestamp(), exp.timestamp());
        assert_eq!(
            links.check(token, exp + chrono::Duration::seconds(1)),
            Err(LinkError::Expired)
        );
        // Another key, a changed expiry, a changed id: invalid.
        let other = ConsoleLinks::new("https://s.example.com", b"another-key-another-key-another-");
        assert_eq!(other.check(token, now), Err(LinkError::Invalid));
        let parts: Vec<&str> = token.split('.').collect();
        let later = format!(
            "v1.{}.{}.{}.{}",
            parts[1],
            exp.timestamp() + 3600,
            parts[3],
            parts[4]
        );
        assert_eq!(links.check(&later, now), Err(LinkError::Invalid));
        let moved = format!(
            "v1.{}.{}.{}.{}",
            ActionId::new(),
            parts[2],
            parts[3],
            parts[4]
        );
        assert_eq!(links.check(&moved, now), Err(LinkError::Invalid));
        // A random key per process: another process (or a restart) cannot check its links.
        let (a, b) = (
            ConsoleLinks::ephemeral("https://s.example.com").unwrap(),
            ConsoleLinks::ephemeral("https://s.example.com").unwrap(),
        );
        assert!(a.is_ephemeral() && !links.is_ephemeral());
        let t = a.token(id, exp).unwrap();
        assert_eq!(a.check(&t, now).unwrap().action_id, id);
        assert_eq!(b.check(&t, now), Err(LinkError::Invalid));
        for junk in [
            "",
            "v1",
            "v1.a.b.c.d",
            &token.to_uppercase(),
            &format!("{token}.x"),
        ] {
            assert_eq!(links.check(junk, now), Err(LinkError::Invalid), "{junk}");
        }
    }
}
