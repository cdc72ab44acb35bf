//! Webhook signatures against the shared Ed25519 vectors, and the webhook fixtures.
#![cfg(feature = "telnyx")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::telnyx::{
    CallEvent, EventKind, FixedClock, PublicKey, SystemClock, VerifyError, WebhookVerifier,
    verify::verify_signature,
};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/telnyx/ed25519_test_vectors.json")).unwrap()
}

fn headers(v: &Value) -> Vec<(String, String)> {
    vec![
        (
            "telnyx-signature-ed25519".to_owned(),
            v["telnyx-signature-ed25519"].as_str().unwrap().to_owned(),
        ),
        (
            "telnyx-timestamp".to_owned(),
            v["telnyx-timestamp"].as_str().unwrap().to_owned(),
        ),
    ]
}

fn key(v: &Value) -> PublicKey {
    PublicKey::from_base64(v["public_key_b64"].as_str().unwrap()).unwrap()
}

const TOLERANCE: Duration = Duration::from_secs(300);

#[test]
fn shared_vectors_verify_at_their_time_only() {
    let v = vectors();
    let body = v["raw_body"].as_str().unwrap();
    assert_eq!(
        v["signed_message"].as_str().unwrap(),
        format!("1700000000|{body}")
    );
    let k = key(&v);
    assert_eq!(
        verify_signature(
            &k,
            headers(&v).as_slice(),
            body.as_bytes(),
            1_700_000_000,
            TOLERANCE
        ),
        Ok(1_700_000_000)
    );

    let verifier = WebhookVerifier::new(k.clone()).with_clock(FixedClock::new(1_700_000_000));
    assert_eq!(
        verifier
            .verify(headers(&v).as_slice(), body.as_bytes())
            .unwrap(),
        "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0"
    );
    assert!(matches!(
        verifier.verify(headers(&v).as_slice(), body.as_bytes()),
        Err(VerifyError::Replayed { event_id }) if event_id == "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0"
    ));

    // With the real clock the 2023 timestamp is far too old.
    let now = WebhookVerifier::new(k).with_clock(Arc::new(SystemClock));
    assert!(matches!(
        now.verify(headers(&v).as_slice(), body.as_bytes()),
        Err(VerifyError::Stale { .. })
    ));
}

#[test]
fn shared_negative_vectors_fail() {
    let v = vectors();
    let k = key(&v);
    let tampered = v["negative"]["tampered_body"].as_str().unwrap();
    assert_eq!(
        verify_signature(
            &k,
            headers(&v).as_slice(),
            tampered.as_bytes(),
            1_700_000_000,
            TOLERANCE
        ),
        Err(VerifyError::BadSignature)
    );
    let mut h = headers(&v);
    h[1].1 = v["negative"]["wrong_timestamp"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = v["raw_body"].as_str().unwrap();
    assert_eq!(
        verify_signature(&k, h.as_slice(), body.as_bytes(), 1_700_000_000, TOLERANCE),
        Err(VerifyError::BadSignature)
    );

    // The second vector signs `{}`: the signature holds, but there is no event id.
    let v2 = &v["vector2"];
    let mut h2 = headers(v2);
    h2[1].1 = "1700000000".to_owned();
    assert_eq!(
        verify_signature(&k, h2.as_slice(), b"{}", 1_700_000_000, TOLERANCE),
        Ok(1_700_000_000)
    );
    let verifier = WebhookVerifier::new(k.clone()).with_clock(FixedClock::new(1_700_000_000));
    assert!(matches!(
        verifier.verify(h2.as_slice(), b"{}"),
        Err(VerifyError::NoEventId { .. })
    ));

    // Another account's key.
    let other = PublicKey::from_base64("PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=").unwrap();
    assert_eq!(
        verify_signature(
            &other,
            headers(&v).as_slice(),
            body.as_bytes(),
            1_700_000_000,
            TOLERANCE
        ),
        Err(VerifyError::BadSignature)
    );
    for bad in ["", "not base64", "AAAA"] {
        assert!(
            matches!(PublicKey::from_base64(bad), Err(VerifyError::BadKey { .. })),
            "{bad:?}"
        );
    }
    let mut short = headers(&v);
    short[0].1 = "AAAA".to_owned();
    assert!(matches!(
        verify_signature(
            &k,
            short.as_slice(),
            body.as_bytes(),
            1_700_000_000,
            TOLERANCE
        ),
        Err(VerifyError::MalformedHeader {
            header: "telnyx-signature-ed25519",
            ..
        })
    ));
}

#[test]
fn every_webhook_fixture_parses() {
    let fixture = |name: &str| -> CallEvent {
        let path = format!(
            "{}/tests/data/telnyx/webhooks/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        CallEvent::parse(&std::fs::read(path).unwrap()).unwrap()
    };
    let answered = fixture("call_answered.json");
    assert_eq!(answered.kind, EventKind::Answered);
    assert_eq!(
        answered.call.client_state.as_deref(),
        Some("aGF2ZSBhIG5pY2UgZGF5ID1d")
    );
    let gather = fixture("call_gather_ended.json");
    assert_eq!(
        gather.kind,
        EventKind::GatherEnded {
            digits: "42#".into(),
            status: "valid".into()
        }
    );
    assert_eq!(gather.call.client_state, None);
    let hangup = fixture("spec_callHangup.json");
    assert_eq!(
        hangup.kind,
        EventKind::Hangup {
            cause: "call_rejected".into(),
            source: "caller".into()
        }
    );
    assert_eq!(
        fixture("spec_callDtmfReceived.json").kind,
        EventKind::DtmfReceived { digit: "#".into() }
    );
    assert_eq!(
        fixture("spec_callSpeakEnded.json").kind,
        EventKind::SpeakEnded {
            status: "completed".into()
        }
    );
    let machine = fixture("spec_callMachineDetectionEnded.json");
    assert_eq!(machine.call.call_control_id, None);
    assert!(!machine.kind.is_machine());
    assert!(
        fixture("spec_callMachinePremiumDetectionEnded.json")
            .kind
            .is_machine()
    );
    let EventKind::Transcription {
        transcript,
        is_final,
        ..
    } = fixture("spec_transcription.json").kind
    else {
        panic!()
    };
    assert_eq!(
        (transcript.as_str(), is_final),
        ("hello this is a test speech", true)
    );
    assert_eq!(fixture("call_recording_saved.json").kind, EventKind::Other);
    for name in [
        "call_initiated.json",
        "spec_callInitiated.json",
        "call_hangup.json",
        "spec_callAnswered.json",
        "spec_callGatherEnded.json",
        "spec_callSpeakStarted.json",
    ] {
        fixture(name);
    }
}
