//! Action JSON: strict JSON (`sentinel_core::json::from_str`) and `Action::from_json_str`
//! on arbitrary text.
//!
//! Invariants: nothing panics; strict JSON accepts a subset of what serde_json accepts and
//! reads it to the same value; an action that parses equals the action read from its
//! strict value, and re-serialises (serde and `to_json`) and re-parses to an equal action
//! with the same canonical hash.

#![no_main]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use libfuzzer_sys::fuzz_target;
use sentinel_core::Action;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let strict = sentinel_core::json::from_str(text);
    let lenient = serde_json::from_str::<Value>(text);
    match (&strict, &lenient) {
        (Ok(s), Ok(l)) => assert_eq!(s, l, "strict and serde_json read different values"),
        (Ok(s), Err(e)) => panic!("strict JSON accepted what serde_json refuses ({e}): {s}"),
        (Err(e), _) => {
            let _ = e.to_string();
        }
    }
    let action = match Action::from_json_str(text) {
        Ok(action) => action,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let value = strict.expect("an action parsed from text that is not strict JSON");
    assert_eq!(Action::from_json(value).as_ref(), Ok(&action));
    let hash = action.canonical_hash();

    let written = serde_json::to_string(&action).expect("an action serializes");
    let again = Action::from_json_str(&written)
        .unwrap_or_else(|e| panic!("a parsed action does not re-parse: {e}\n{written}"));
    assert_eq!(again, action, "re-parsed action differs\n{written}");
    assert_eq!(
        again.canonical_hash(),
        hash,
        "canonical hash changed\n{written}"
    );
    let from_value = Action::from_json(action.to_json()).expect("to_json re-reads");
    assert_eq!(from_value.canonical_hash(), hash);
});
