//! Redaction of personal data and secrets before anything leaves the process (LLM prompts,
//! words spoken on the phone).
//!
//! Masks say what a value was, not what it said: `[SSN]`, `[CARD]`, `[EMAIL]`, `[PHONE]`,
//! `[SECRET]`, and `[REDACTED]` for paths a pack declares.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::action::Action;

struct Pattern {
    regex: Regex,
    mask: &'static str,
    /// Extra check on the match (Luhn for cards).
    accept: fn(&str) -> bool,
}

fn always(_: &str) -> bool {
    true
}

/// A secret-looking token: long, and mixing letters and digits.
fn mixed(token: &str) -> bool {
    token.chars().any(|c| c.is_ascii_digit()) && token.chars().any(|c| c.is_ascii_alphabetic())
}

/// The Luhn checksum of the digits in `text`, for 13 to 19 digits.
pub(crate) fn luhn_ok(text: &str) -> bool {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[allow(clippy::expect_used)] // The patterns are constants, checked by the tests below.
static PATTERNS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    let p = |re: &str, mask, accept| Pattern {
        regex: Regex::new(re).expect("redaction pattern compiles"),
        mask,
        accept,
    };
    vec![
        // Well-known key shapes: Groq, OpenAI/Stripe, Telnyx, AWS, GitHub, Slack, bearer tokens.
        p(
            r"\b(?:gsk_[A-Za-z0-9]{20,}|(?:sk|pk|rk)[-_](?:live[-_]|test[-_]|proj[-_])?[A-Za-z0-9_-]{16,}|KEY[0-9A-Za-z_]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abprs]-[A-Za-z0-9-]{10,})",
            "[SECRET]",
            always,
        ),
        p(
            r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}",
            "[SECRET]",
            always,
        ),
        p(r"\b[A-Za-z0-9_\-]{32,}\b", "[SECRET]", mixed),
        p(
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
            "[EMAIL]",
            always,
        ),
        p(r"\b\d{3}[- ]\d{2}[- ]\d{4}\b", "[SSN]", always),
        p(r"\b(?:\d[ -]?){12,18}\d\b", "[CARD]", luhn_ok),
        p(
            r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\b\d{3})[ .-]\d{3}[ .-]\d{4}\b|\+\d{8,15}\b",
            "[PHONE]",
            always,
        ),
    ]
});

/// Object keys whose whole value is masked, whatever it looks like.
fn mask_for_key(key: &str) -> Option<&'static str> {
    let k = key.to_ascii_lowercase();
    if k.contains("ssn") || k.contains("social_security") {
        Some("[SSN]")
    } else if [
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "private_key",
    ]
    .iter()
    .any(|s| k.contains(s))
    {
        Some("[SECRET]")
    } else if k.contains("card_number") || k == "pan" {
        Some("[CARD]")
    } else {
        None
    }
}

/// Masks SSNs, card numbers (Luhn-checked), e-mail addresses, phone numbers and
/// secret-looking tokens in free text.
pub fn redact_text(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for pattern in PATTERNS.iter() {
        if !pattern.regex.is_match(&out) {
            continue;
        }
        let replaced = pattern
            .regex
            .replace_all(&out, |caps: &regex::Captures<'_>| {
                let m = &caps[0];
                if (pattern.accept)(m) {
                    pattern.mask.to_owned()
                } else {
                    m.to_owned()
                }
            })
            .into_owned();
        out = Cow::Owned(replaced);
    }
    out
}

/// The masks [`redact_text`] and [`redact_value`] write.
pub const MASKS: [&str; 6] = [
    "[SSN]",
    "[CARD]",
    "[EMAIL]",
    "[PHONE]",
    "[SECRET]",
    "[REDACTED]",
];

/// Text to be read aloud: redacted, with each mask spoken as the word "redacted".
pub fn redact_for_speech(text: &str) -> String {
    MASKS.iter().fold(redact_text(text).into_owned(), |t, m| {
        t.replace(m, "redacted")
    })
}

/// Redacts every string in a JSON value, masks whole values under sensitive keys (`ssn`,
/// `password`, `api_key`...) and card numbers sent as JSON numbers.
pub fn redact_value(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(redact_text(s).into_owned()),
        Value::Number(n) if luhn_ok(&n.to_string()) => Value::String("[CARD]".to_owned()),
        Value::Array(items) => Value::Array(items.iter().map(redact_value).collect()),
        Value::Object(map) => Value::Object(redact_map(map)),
        other => other.clone(),
    }
}

fn redact_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| {
            let masked = match (mask_for_key(k), v) {
                (_, Value::Null) => Value::Null,
                (Some(mask), Value::String(_) | Value::Number(_)) => Value::String(mask.to_owned()),
                _ => redact_value(v),
            };
            (k.clone(), masked)
        })
        .collect()
}

/// A copy of the action safe to show outside the process: payload, reasoning and context
/// redacted, and each of `paths` (e.g. `payload.account.iban`) replaced by `[REDACTED]`.
pub fn redact_action(action: &Action, paths: &[String]) -> Action {
    let mut out = action.clone();
    out.payload = redact_map(&action.payload);
    out.context = redact_map(&action.context);
    out.reasoning = redact_text(&action.reasoning).into_owned();
    for path in paths {
        let mut parts = path.split('.');
        let root = match parts.next() {
            Some("payload") => &mut out.payload,
            Some("context") => &mut out.context,
            _ => continue,
        };
        let keys: Vec<&str> = parts.collect();
        mask_path(root, &keys);
    }
    out
}

fn mask_path(map: &mut Map<String, Value>, keys: &[&str]) {
    let Some((first, rest)) = keys.split_first() else {
        return;
    };
    let Some(value) = map.get_mut(*first) else {
        return;
    };
    if rest.is_empty() {
        *value = Value::String("[REDACTED]".to_owned());
    } else if let Value::Object(inner) = value {
        mask_path(inner, rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_each_kind_in_text() {
        let cases = [
            ("ssn 123-45-6789 on file", "ssn [SSN] on file"),
            ("card 4111 1111 1111 1111 please", "card [CARD] please"),
            (
                "card 4111111111111112 fails luhn",
                "card 4111111111111112 fails luhn",
            ),
            ("mail jane.doe@example.com now", "mail [EMAIL] now"),
            (
                "call +1 415 555 0100 or (415) 555-0199",
                "call [PHONE] or [PHONE]",
            ),
            ("key gsk_abcdefghijklmnopqrstuvwx1234", "key [SECRET]"),
            (
                "Authorization: Bearer abcdefghijklmnop1234",
                "Authorization: [SECRET]",
            ),
            ("stripe sk_live_51Habcdefghijklmnop", "stripe [SECRET]"),
            ("token a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7", "token [SECRET]"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_text(input), expected, "{input}");
        }
    }

    #[test]
    fn leaves_ordinary_numbers_and_words_alone() {
        for text in [
            "pay 10000 to Unknown Corp",
            "export 200 records",
            "invoice 2024-11-05",
            "order 1234567",
        ] {
            assert_eq!(redact_text(text), text);
        }
    }

    #[test]
    fn redacts_values_by_key_and_shape() {
        let v = json!({"ssn": "123456789", "employee": {"api_key": "abc"}, "card": 4111111111111111u64,
                       "amount": 10000, "note": "reach me at a@b.io", "list": ["078-05-1120"]});
        assert_eq!(
            redact_value(&v),
            json!({"ssn": "[SSN]", "employee": {"api_key": "[SECRET]"}, "card": "[CARD]",
                   "amount": 10000, "note": "reach me at [EMAIL]", "list": ["[SSN]"]})
        );
    }

    #[test]
    fn redacts_actions_and_declared_paths() {
        let a = Action::new("a", "SHARE_RECORD")
            .with_payload(
                json!({"record": {"iban": "DE89 3704 0044 0532 0130 00", "name": "Jane"}}),
            )
            .with_reasoning("her SSN is 123-45-6789");
        let r = redact_action(
            &a,
            &[
                "payload.record.iban".to_owned(),
                "payload.missing.x".to_owned(),
            ],
        );
        assert_eq!(r.payload["record"]["iban"], "[REDACTED]");
        assert_eq!(r.payload["record"]["name"], "Jane");
        assert_eq!(r.reasoning, "her SSN is [SSN]");
    }
}
