//! The Telnyx webhook parser, `CallEvent::parse`, and the signature check in front of it
//! (`WebhookVerifier::verify`), on arbitrary bodies and headers.
//!
//! Input: a flags byte, then `timestamp\nsignature\nbody`. With flag 1 the harness signs
//! `timestamp|body` itself, so that the checks behind the signature (timestamp window,
//! event id, replay) run too; otherwise the signature header is the fuzzer's text.
//!
//! Invariants: nothing panics; a body that verifies is refused the second time
//! (`Replayed`) and its event id is the parsed event's `id`; the whole input and the body
//! both go through `CallEvent::parse`.

#![no_main]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use libfuzzer_sys::fuzz_target;
use sentinel_core::telnyx::verify::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
use sentinel_core::telnyx::{CallEvent, FixedClock, PublicKey, VerifyError, WebhookVerifier};

/// The clock's time: 2023-11-14T22:13:20Z.
const NOW: i64 = 1_700_000_000;

fn signing() -> &'static (SigningKey, PublicKey) {
    static KEYS: OnceLock<(SigningKey, PublicKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let signing = SigningKey::from_bytes(&[7u8; 32]);
        let public = PublicKey::from_base64(&STANDARD.encode(signing.verifying_key().as_bytes()))
            .expect("a valid key");
        (signing, public)
    })
}

fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = CallEvent::parse(data);
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (timestamp, rest) = split_line(rest);
    let (signature, body) = split_line(rest);
    let timestamp = String::from_utf8_lossy(timestamp).into_owned();
    let event = CallEvent::parse(body);

    let (key, public) = signing();
    let signature = if flags & 1 == 1 {
        let mut message = timestamp.trim().as_bytes().to_vec();
        message.push(b'|');
        message.extend_from_slice(body);
        STANDARD.encode(key.sign(&message).to_bytes())
    } else {
        String::from_utf8_lossy(signature).into_owned()
    };
    let (sig_name, ts_name) = if flags & 2 == 2 {
        (
            SIGNATURE_HEADER.to_ascii_uppercase(),
            TIMESTAMP_HEADER.to_owned(),
        )
    } else {
        (
            SIGNATURE_HEADER.to_owned(),
            TIMESTAMP_HEADER.to_ascii_uppercase(),
        )
    };
    let headers = vec![(sig_name, signature), (ts_name, timestamp)];
    let verifier = WebhookVerifier::new(public.clone())
        .with_clock(FixedClock::new(NOW))
        .with_tolerance(Duration::from_secs(u64::from(flags >> 2) * 60));
    if let Ok(id) = verifier.verify(headers.as_slice(), body) {
        assert!(!id.is_empty());
        if let Ok(event) = &event {
            assert_eq!(event.id, id, "the verified id is not the parsed event's");
        }
        assert_eq!(
            verifier.verify(headers.as_slice(), body),
            Err(VerifyError::Replayed { event_id: id }),
            "a replay was accepted"
        );
    }
    let _ = PublicKey::from_base64(&String::from_utf8_lossy(body));
});
