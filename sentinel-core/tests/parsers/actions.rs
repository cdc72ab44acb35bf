//! Actions and strict JSON.

use super::*;

/// JSON as written: objects keep their entries in order, repeats included.
#[derive(Debug, Clone)]
enum Raw {
    Scalar(Value),
    Array(Vec<Raw>),
    Object(Vec<(String, Raw)>),
}

impl Raw {
    fn write(&self, out: &mut String) {
        match self {
            Raw::Scalar(v) => out.push_str(&v.to_string()),
            Raw::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Raw::Object(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::from(k.as_str()).to_string());
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// The first repeated key in reading order, and the path of its object.
    fn first_duplicate(&self, path: &mut Vec<String>) -> Option<(String, String)> {
        match self {
            Raw::Scalar(_) => None,
            Raw::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                path.push(i.to_string());
                let found = item.first_duplicate(path);
                path.pop();
                found
            }),
            Raw::Object(entries) => {
                let mut seen = std::collections::HashSet::new();
                for (k, v) in entries {
                    if !seen.insert(k) {
                        let at = if path.is_empty() {
                            ".".to_owned()
                        } else {
                            path.join(".")
                        };
                        return Some((k.clone(), at));
                    }
                    path.push(k.clone());
                    let found = v.first_duplicate(path);
                    path.pop();
                    if found.is_some() {
                        return found;
                    }
                }
                None
            }
        }
    }
}

fn raw() -> impl Strategy<Value = Raw> {
    let small_scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "\\PC{0,6}".prop_map(Value::from),
    ];
    small_scalar
        .prop_map(Raw::Scalar)
        .prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Raw::Array),
                // Three keys only: repeats are common.
                prop::collection::vec(
                    (select(vec!["a", "b", "c"]).prop_map(str::to_owned), inner),
                    0..4
                )
                .prop_map(Raw::Object),
            ]
        })
}

/// The same value in another key order and layout.
fn reordered(value: &Value, reverse: bool, pretty: bool) -> String {
    fn flip(v: &Value, reverse: bool) -> Raw {
        match v {
            Value::Array(items) => Raw::Array(items.iter().map(|i| flip(i, reverse)).collect()),
            Value::Object(map) => {
                let mut entries: Vec<(String, Raw)> = map
                    .iter()
                    .map(|(k, v)| (k.clone(), flip(v, reverse)))
                    .collect();
                if reverse {
                    entries.reverse();
                }
                Raw::Object(entries)
            }
            scalar => Raw::Scalar(scalar.clone()),
        }
    }
    let mut out = String::new();
    flip(value, reverse).write(&mut out);
    if pretty {
        // Layout only: the pretty form of the same tree, then the flipped order again.
        let v: Value = serde_json::from_str(&out).unwrap();
        return serde_json::to_string_pretty(&v).unwrap();
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// An action that parses re-serialises and re-parses to an equal action with the
    /// same canonical hash, in any key order and layout.
    #[test]
    fn actions_round_trip_with_the_same_canonical_hash(a in action(), reverse in any::<bool>(), pretty in any::<bool>()) {
        let text = serde_json::to_string(&a).unwrap();
        let parsed = Action::from_json_str(&text);
        prop_assert_eq!(parsed.as_ref(), Ok(&a), "{}", text);
        let parsed = parsed.unwrap();
        let hash = parsed.canonical_hash();
        let again = Action::from_json_str(&serde_json::to_string(&parsed).unwrap()).unwrap();
        prop_assert_eq!(&again, &parsed);
        prop_assert_eq!(again.canonical_hash(), hash.clone());
        let other = reordered(&a.to_json(), reverse, pretty);
        let b = Action::from_json_str(&other).unwrap();
        prop_assert_eq!(b.canonical_hash(), hash);
    }

    /// Strict JSON never accepts a repeated key: it names the first one and its object's
    /// path. Without repeats it reads what serde_json reads.
    #[test]
    fn strict_json_never_accepts_a_duplicate_key(doc in raw()) {
        let mut text = String::new();
        doc.write(&mut text);
        let got = sentinel_core::json::from_str(&text);
        match doc.first_duplicate(&mut Vec::new()) {
            Some((key, path)) => {
                prop_assert_eq!(got, Err(StrictJsonError::DuplicateKey { key, path }), "{}", text);
                prop_assert!(serde_json::from_str::<Value>(&text).is_ok(), "serde_json would have taken it");
                if text.starts_with('{') {
                    prop_assert!(Action::from_json_str(&text).is_err());
                }
            }
            None => prop_assert_eq!(got.ok(), serde_json::from_str::<Value>(&text).ok(), "{}", text),
        }
    }

    /// Integers beyond 64 bits are refused wherever they are (outside strings).
    #[test]
    fn strict_json_refuses_inexact_integers(doc in raw(), digits in "[1-9][0-9]{20,30}", negative in any::<bool>()) {
        let literal = if negative { format!("-{digits}") } else { digits };
        let mut text = String::new();
        doc.write(&mut text);
        let text = format!("[{text}, {{\"n\": {literal}}}, \"{literal}\"]");
        let refused = matches!(
            sentinel_core::json::from_str(&text),
            Err(StrictJsonError::InexactInteger { literal: l, .. }) if l == literal
        );
        prop_assert!(refused, "{}", text);
    }
}
