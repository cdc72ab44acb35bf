//! Arbitrary text.

use super::*;

/// Text made of JSON (and TOML) tokens, most of it almost well-formed.
fn json_ish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        select(vec![
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            "\"",
            "null",
            "true",
            "false",
            "-",
            "0",
            "1e400",
            "18446744073709551616",
            "-9223372036854775809",
            "0.5",
            "\"name\"",
            "\"version\"",
            "\"1.0.0\"",
            "\"applies_to\"",
            "\"rules\"",
            "\"when\"",
            "\"not\"",
            "\"all\"",
            "\"path\"",
            "\"value\"",
            "\"payload.amount\"",
            "\"agent_id\"",
            "\"action\"",
            "\"payload\"",
            "\"reasoning\"",
            "\"data\"",
            "\"id\"",
            "\"event_type\"",
            "\"call.answered\"",
            "[[packs]]",
            "[gateway]",
            "=",
            "\n",
            "\"\\u0000\"",
            "\"\\ud800\"",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,4}",
    ];
    prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![json_ish(), "\\PC{0,64}", any::<String>()]
}

/// Every parser, on one text: none may panic.
fn parse_everything(text: &str) {
    let _ = Pack::from_json_str(text).map_err(|e| e.to_string());
    let _ = Action::from_json_str(text).map_err(|e| e.to_string());
    let _ = sentinel_core::json::from_str(text).map_err(|e| e.to_string());
    let _ = GatewaySpec::from_toml_str(text).map_err(|e| e.to_string());
    let _ = GatewaySpec::from_json_str(text).map_err(|e| e.to_string());
    #[cfg(feature = "telnyx")]
    {
        let _ = sentinel_core::telnyx::CallEvent::parse(text.as_bytes());
        let _ = sentinel_core::telnyx::classify(text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_parser_panics_on_arbitrary_text(text in any_text()) {
        parse_everything(&text);
    }

    /// Strict JSON reads a subset of what serde_json reads, and reads it alike.
    #[test]
    fn strict_json_is_a_subset_of_serde_json(text in any_text()) {
        if let Ok(strict) = sentinel_core::json::from_str(&text) {
            prop_assert_eq!(Ok(strict), serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()));
        }
    }
}
