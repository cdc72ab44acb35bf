//! Sentinel's Slack request signing against vectors signed by the official `slack_sdk`
//! (tests/data/slack_sdk_vectors.jsonl, written by tests/slack_sdk/vectors.py with
//! `SignatureVerifier.generate_signature`; tests/slack_sdk/run.sh checks them again with
//! slack_sdk itself): Sentinel accepts each, reproduces each signature, refuses each with a
//! byte changed, and reads the button presses among them.

#![cfg(feature = "slack")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use sentinel_core::slack::{SlackChannel, SlackError, VerifyError, sign, verify};
use sentinel_core::spec::SecretValue;
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/slack_sdk_vectors.jsonl"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn slack_sdk_signatures_are_accepted_and_reproduced() {
    let vectors = vectors();
    assert!(vectors.len() >= 4);
    for v in &vectors {
        let (secret, ts, body, sig) = (
            v["secret"].as_str().unwrap().as_bytes(),
            v["timestamp"].as_str().unwrap(),
            v["body"].as_str().unwrap().as_bytes(),
            v["signature"].as_str().unwrap(),
        );
        let now: i64 = ts.parse().unwrap();
        assert_eq!(sign(secret, ts, body), sig, "{v}");
        assert_eq!(
            verify(secret, Some(ts), Some(sig), body, now + 10),
            Ok(()),
            "{v}"
        );
        let mut changed = body.to_vec();
        changed.push(b'x');
        assert_eq!(
            verify(secret, Some(ts), Some(sig), &changed, now),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify(secret, Some(ts), Some(sig), body, now + 301),
            Err(VerifyError::Stale(301))
        );
    }
}

#[test]
fn slack_sdk_signed_button_presses_are_read() {
    let channel = SlackChannel::new(
        "http://127.0.0.1:9/api",
        SecretValue::new("xoxb-unused"),
        SecretValue::new("slack-signing-secret-for-tests"),
        HashMap::new(),
    )
    .unwrap();
    let mut pressed = Vec::new();
    for v in vectors() {
        if v["secret"] != "slack-signing-secret-for-tests" {
            continue;
        }
        let ts = v["timestamp"].as_str().unwrap();
        let now: i64 = ts.parse().unwrap();
        let body = v["body"].as_str().unwrap().as_bytes();
        let sig = v["signature"].as_str().unwrap();
        let i = channel.interaction(Some(ts), Some(sig), body, now).unwrap();
        pressed.push((i.user, i.approve, i.channel, i.ts));
        let forged = channel.interaction(Some(ts), Some(sig), body, now + 400);
        assert!(matches!(
            forged,
            Err(SlackError::Unverified(VerifyError::Stale(400)))
        ));
    }
    let ts = "1700000000.000100".to_owned();
    assert_eq!(
        pressed,
        [
            ("U0ALICE".to_owned(), true, "C0PAY".to_owned(), ts.clone()),
            ("U0BOB".to_owned(), false, "C0PAY".to_owned(), ts),
        ]
    );
}
