//! The pack loader, `Pack::from_json_str`, on arbitrary text.
//!
//! Invariants: loading never panics; a pack that loads re-serialises (its document) and
//! reloads to an equal document; it evaluates the fixture actions through
//! `Gateway::evaluate` with a status in {EXECUTED, BLOCKED_AWAITING_AUTH, DECLINED} and a
//! risk of at most 100; an error renders.

#![no_main]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sentinel_core::{Action, Gateway, Pack};
use sentinel_fuzz::{block_on, is_decision_state};

/// The actions of `fixtures/decisions.jsonl` (the well-formed ones).
fn actions() -> &'static [Action] {
    static ACTIONS: OnceLock<Vec<Action>> = OnceLock::new();
    ACTIONS.get_or_init(|| {
        include_str!("../../fixtures/decisions.jsonl")
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter_map(|case| Action::from_json(case.get("action")?.clone()).ok())
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let pack = match Pack::from_json_str(text) {
        Ok(pack) => pack,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let written = serde_json::to_string(pack.document()).expect("a pack document serializes");
    let again = Pack::from_json_str(&written)
        .unwrap_or_else(|e| panic!("a loaded pack's document does not reload: {e}\n{written}"));
    assert_eq!(
        again.document(),
        pack.document(),
        "the document changed on reload"
    );
    assert_eq!(again.name(), pack.name());
    assert_eq!(again.version(), pack.version());

    let gateway = Gateway::builder()
        .packs([pack])
        .build()
        .expect("one pack builds");
    for action in actions().iter().take(24) {
        let d = block_on(gateway.evaluate(action));
        assert!(is_decision_state(d.status), "status {}", d.status);
        assert!(d.risk_score <= 100, "risk {}", d.risk_score);
    }
});
