//! The direct writer against the `Value` path it stands in for: the same bytes for every
//! shape serde can give a value, and the `Value` path where the writer declines.

use std::collections::{BTreeMap, HashMap};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use super::serializer::Buffers;
use super::{hash, hash_of, write};

/// The canonical JSON of `value` through a `serde_json::Value`.
fn through_a_value(value: &impl Serialize) -> String {
    let value = serde_json::to_value(value).unwrap_or_else(|e| panic!("to_value: {e}"));
    let mut out = Vec::new();
    write(&mut out, &value).unwrap_or_else(|e| panic!("write: {e}"));
    String::from_utf8(out).unwrap_or_else(|e| panic!("utf-8: {e}"))
}

/// Asserts that the direct writer writes `value` itself, as the `Value` path does.
fn same(value: &impl Serialize) -> String {
    let mut buffers = Buffers::default();
    buffers
        .write(value)
        .unwrap_or_else(|e| panic!("the direct writer declined: {e}"));
    let direct = String::from_utf8(buffers.out.clone()).unwrap_or_default();
    assert_eq!(direct, through_a_value(value));
    let expected = serde_json::to_value(value).map(|v| hash(&v)).ok();
    assert_eq!(hash_of(value).ok(), expected);
    direct
}

/// Asserts that the direct writer declines `value` and `hash_of` still gives the `Value`
/// path's digest.
fn left_to_serde_json(value: &impl Serialize) {
    assert!(Buffers::default().write(value).is_err());
    let expected = serde_json::to_value(value).map(|v| hash(&v)).ok();
    assert!(expected.is_some());
    assert_eq!(hash_of(value).ok(), expected);
}

#[derive(Serialize)]
struct Inner {
    zulu: Option<u8>,
    alpha: Vec<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<u8>,
}

#[derive(Serialize)]
#[allow(dead_code, reason = "every variant is serialized, none read")]
enum Every {
    Unit,
    Newtype(Inner),
    Tuple(u8, &'static str),
    Struct { y: i64, b: char },
}

#[derive(Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum Tagged {
    Failed { scorer: String, error: String },
}

#[derive(Serialize)]
#[serde(tag = "t", content = "c")]
enum Adjacent {
    Pair(u8, u8),
}

#[derive(Serialize)]
struct Outer {
    zeta: Inner,
    every: Vec<Every>,
    tagged: Tagged,
    adjacent: Adjacent,
    #[serde(flatten)]
    flat: BTreeMap<String, Value>,
    unit: (),
    tuple: (u8, bool, Option<()>),
    at: chrono::DateTime<chrono::Utc>,
    id: uuid::Uuid,
    floats: [f64; 6],
}

#[test]
fn structs_enums_and_nesting_are_written_as_through_a_value() {
    let inner = || Inner {
        zulu: None,
        alpha: vec![0.1, -0.0, 1e-7, 3.0],
        skipped: None,
    };
    let outer = Outer {
        zeta: inner(),
        every: vec![
            Every::Unit,
            Every::Newtype(inner()),
            Every::Tuple(7, "t\"\\"),
            Every::Struct { y: -9, b: '\u{7f}' },
        ],
        tagged: Tagged::Failed {
            scorer: "groq".into(),
            error: "timed out\n".into(),
        },
        adjacent: Adjacent::Pair(1, 2),
        flat: [(
            "m".to_owned(),
            json!({"b": [1, {"d": 1, "c": 2}], "a": null}),
        )]
        .into_iter()
        .collect(),
        unit: (),
        tuple: (1, true, None),
        at: chrono::DateTime::from_timestamp(1_764_892_800, 123_456_789).unwrap_or_default(),
        id: uuid::Uuid::from_u128(0x0193_7b6e_8a3c_7d4e_9f10_2345_6789_abcd),
        floats: [0.1, -0.0, 1e300, 5e-324, f64::NAN, f64::INFINITY],
    };
    let text = same(&outer);
    assert!(text.starts_with(r#"{"adjacent":{"c":[1,2],"t":"Pair"},"at":"#));
}

#[test]
fn map_keys_sort_by_their_bytes_not_their_escaped_forms() {
    // `"` (0x22) sorts before `#` (0x23), but escaped it starts with `\` (0x5c).
    let map: HashMap<&str, u8> = [("a#", 1), ("a\"", 2), ("é", 3), ("A", 4), ("", 5), ("a", 6)]
        .into_iter()
        .collect();
    assert_eq!(same(&map), r#"{"":5,"A":4,"a":6,"a\"":2,"a#":1,"é":3}"#);
}

#[test]
fn integer_and_enum_keys_are_written_as_strings_and_sorted_as_such() {
    let numbers: BTreeMap<u32, bool> = [(9, true), (10, false), (100, true)].into_iter().collect();
    assert_eq!(same(&numbers), r#"{"10":false,"100":true,"9":true}"#);
    let negative: BTreeMap<i64, ()> = [(-1, ()), (2, ())].into_iter().collect();
    same(&negative);
    let chars: BTreeMap<char, u8> = [('b', 1), ('a', 2)].into_iter().collect();
    same(&chars);
    #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
    enum Key {
        Zed,
        Aye,
    }
    let variants: BTreeMap<Key, u8> = [(Key::Zed, 1), (Key::Aye, 2)].into_iter().collect();
    assert_eq!(same(&variants), r#"{"Aye":2,"Zed":1}"#);
}

/// A map that writes one key twice, as `#[serde(flatten)]` can.
struct Twice;

impl Serialize for Twice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("k", &1)?;
        map.serialize_entry("b", &json!({"y": 1, "x": 2}))?;
        map.serialize_entry("k", &json!({"z": [], "a": {}}))?;
        map.end()
    }
}

#[test]
fn of_a_key_written_twice_the_last_value_stays_as_in_a_map() {
    assert_eq!(same(&Twice), r#"{"b":{"x":2,"y":1},"k":{"a":{},"z":[]}}"#);
}

#[test]
fn values_from_serde_json_are_written_sorted_whatever_order_they_keep() {
    let value: Value =
        serde_json::from_str(r#"{"z":{"y":1,"b":[{"q":0,"p":"é"}]},"a":1.5}"#).unwrap_or_default();
    assert_eq!(
        same(&value),
        r#"{"a":1.5,"z":{"b":[{"p":"é","q":0}],"y":1}}"#
    );
}

/// Serializes what the direct writer leaves to serde_json.
struct Declined(u8);

impl Serialize for Declined {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            0 => serializer.serialize_bytes(b"\x00\xff"),
            1 => serializer.serialize_u128(u128::from(u64::MAX)),
            2 => serializer.serialize_i128(-5),
            _ => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry(&true, &1)?;
                map.end()
            }
        }
    }
}

#[test]
fn what_the_writer_declines_is_hashed_through_a_value() {
    for case in 0..3 {
        left_to_serde_json(&Declined(case));
    }
    // serde_json takes bool keys in some versions and not in others: either way, both
    // paths agree.
    let direct = Buffers::default().write(&Declined(3));
    assert!(direct.is_err());
    assert_eq!(
        hash_of(&Declined(3)).ok(),
        serde_json::to_value(Declined(3)).map(|v| hash(&v)).ok()
    );
}

#[test]
fn what_serde_json_refuses_fails_here_too() {
    let map: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into_iter().collect();
    assert!(serde_json::to_value(&map).is_err());
    assert!(hash_of(&map).is_err());
}

#[test]
fn buffers_are_reused_between_values_and_a_nested_hash_gets_its_own() {
    /// Hashes another value while it is being written.
    struct Nested;

    impl Serialize for Nested {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let inner = hash_of(&json!({"b": 1, "a": 2})).map_err(serde::ser::Error::custom)?;
            serializer.serialize_str(&inner)
        }
    }

    let first = hash_of(&Nested).unwrap_or_default();
    assert_eq!(first, hash_of(&Nested).unwrap_or_default());
    assert_eq!(
        Some(first),
        serde_json::to_value(Nested).map(|v| hash(&v)).ok()
    );
}
