//! The utterance classifier, `sentinel_core::telnyx::classify`, on arbitrary text.
//!
//! Invariants: it never panics and is deterministic; anything asked (a `?` in an
//! utterance with words) is a question; an utterance without a letter or digit is
//! unclear.

#![no_main]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use libfuzzer_sys::fuzz_target;
use sentinel_core::telnyx::{Intent, classify};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let intent = classify(&text);
    assert_eq!(classify(&text), intent, "not deterministic");
    let words = text.chars().any(char::is_alphanumeric);
    if !words {
        assert_eq!(intent, Intent::Unclear, "no words, yet {intent:?}");
    } else if text.contains('?') {
        assert_eq!(intent, Intent::Question, "asked, yet {intent:?}");
    }
});
