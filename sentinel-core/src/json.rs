//! Strict JSON for untrusted input: what is parsed is exactly what was sent, or an error.
//!
//! Plain `serde_json` accepts two things that let a sender say one thing and have another
//! stored or hashed: a repeated key (the last one silently wins: `{"amount": 5,
//! "amount": 50000}`), and an integer too large for 64 bits (silently rounded to a float:
//! `12345678901234567890123` is stored as `1.2345678901234568e22`). [`from_str`] refuses
//! both, naming the key (with its path) or the number (with its line and column).

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use thiserror::Error;

/// Why a text is not strict JSON.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StrictJsonError {
    /// Not JSON at all.
    #[error("not valid JSON: {message}")]
    Syntax {
        /// The parser's message, with line and column.
        message: String,
    },
    /// An object names the same key twice.
    #[error("duplicate key `{key}` at `{path}`")]
    DuplicateKey {
        /// The key.
        key: String,
        /// Where the object is, e.g. `payload.vendor` (`.` for the top level).
        path: String,
    },
    /// An integer that 64 bits cannot hold: it would be stored as a rounded float.
    #[error(
        "integer `{literal}` at line {line}, column {column} is too large to keep exactly (the limit is 64 bits): send it as a string"
    )]
    InexactInteger {
        /// The number as written.
        literal: String,
        /// Its line (1-based).
        line: usize,
        /// Its column (1-based).
        column: usize,
    },
}

/// Parses untrusted JSON text strictly (see the module docs).
pub fn from_str(text: &str) -> Result<Value, StrictJsonError> {
    check_integers(text)?;
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = Strict {
        path: Vec::new(),
        duplicate: &duplicate,
    }
    .deserialize(&mut de);
    let value = match (parsed, duplicate.into_inner()) {
        (_, Some((key, path))) => return Err(StrictJsonError::DuplicateKey { key, path }),
        (Err(e), None) => {
            return Err(StrictJsonError::Syntax {
                message: e.to_string(),
            });
        }
        (Ok(value), None) => value,
    };
    de.end().map_err(|e| StrictJsonError::Syntax {
        message: e.to_string(),
    })?;
    Ok(value)
}

/// Finds integer literals beyond 64 bits, outside strings.
fn check_integers(text: &str) -> Result<(), StrictJsonError> {
    let bytes = text.as_bytes();
    let (mut i, mut line, mut line_start) = (0, 1, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                line += 1;
                line_start = i + 1;
                i += 1;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                let literal = &text[start..i];
                let integer = !literal.contains(['.', 'e', 'E']);
                if integer && literal.parse::<i64>().is_err() && literal.parse::<u64>().is_err() {
                    let digits = literal.strip_prefix('-').unwrap_or(literal);
                    // Malformed numbers are left to the parser's own message.
                    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(StrictJsonError::InexactInteger {
                            literal: literal.to_owned(),
                            line,
                            column: text[line_start..start].chars().count() + 1,
                        });
                    }
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// A `Value` deserializer that refuses duplicate keys, tracking where it is; the first
/// duplicate (key, path) is left in `duplicate`.
struct Strict<'a> {
    path: Vec<String>,
    duplicate: &'a RefCell<Option<(String, String)>>,
}

impl Strict<'_> {
    fn at(&self, key: &str) -> Self {
        let mut path = self.path.clone();
        path.push(key.to_owned());
        Self {
            path,
            duplicate: self.duplicate,
        }
    }

    fn path_text(&self) -> String {
        if self.path.is_empty() {
            ".".to_owned()
        } else {
            self.path.join(".")
        }
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        let mut index = 0usize;
        while let Some(item) = seq.next_element_seed(self.at(&index.to_string()))? {
            items.push(item);
            index += 1;
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let message = format!("duplicate key `{key}`");
                *self.duplicate.borrow_mut() = Some((key, self.path_text()));
                return Err(de::Error::custom(message));
            }
            let value = map.next_value_seed(self.at(&key))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_what_was_sent() {
        let v = from_str(
            r#"{"a": [1, -2, 18446744073709551615, 2.5e3, "x\"9999999999999999999999"], "b": null}"#,
        );
        assert_eq!(
            v,
            Ok(
                json!({"a": [1, -2, 18446744073709551615u64, 2500.0, "x\"9999999999999999999999"], "b": null})
            )
        );
    }

    #[test]
    fn refuses_duplicate_keys_naming_key_and_path() {
        let e = from_str(r#"{"amount": 5, "amount": 50000}"#).unwrap_err();
        assert_eq!(e.to_string(), "duplicate key `amount` at `.`");
        let e = from_str(r#"{"payload": {"list": [{"v": 1, "v": 2}]}}"#).unwrap_err();
        assert_eq!(
            e,
            StrictJsonError::DuplicateKey {
                key: "v".into(),
                path: "payload.list.0".into()
            }
        );
    }

    #[test]
    fn refuses_integers_beyond_64_bits_with_their_place() {
        let e = from_str("{\n  \"amount\": 12345678901234567890123\n}").unwrap_err();
        assert_eq!(
            e,
            StrictJsonError::InexactInteger {
                literal: "12345678901234567890123".into(),
                line: 2,
                column: 13
            }
        );
        assert!(from_str("-9223372036854775809").is_err());
        assert!(from_str("-9223372036854775808").is_ok());
        assert!(from_str("1e400").is_err(), "not JSON serde_json accepts");
    }

    #[test]
    fn syntax_errors_stay_syntax_errors() {
        let e = from_str("{\"a\": }").unwrap_err();
        assert!(matches!(e, StrictJsonError::Syntax { .. }), "{e}");
        assert!(from_str("{} extra").is_err());
    }
}
