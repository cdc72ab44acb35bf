//! Value types of the configuration that check themselves while being read, so that a bad
//! value is reported with its line and key.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize};

/// A positive number of seconds (`2`, `0.5`); at most a year.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Seconds(f64);

/// A year, the longest duration a setting takes.
const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

impl Seconds {
    /// Seconds from a number; `None` unless positive, finite and at most a year.
    pub fn new(seconds: f64) -> Option<Self> {
        (seconds.is_finite() && seconds > 0.0 && seconds <= MAX_SECONDS).then_some(Self(seconds))
    }

    /// The duration.
    pub fn duration(self) -> Duration {
        Duration::from_secs_f64(self.0)
    }

    /// The number of seconds.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} s", self.0)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = f64::deserialize(deserializer)?;
        Self::new(n).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "expected a positive number of seconds (at most a year), found `{n}`"
            ))
        })
    }
}

impl JsonSchema for Seconds {
    fn schema_name() -> Cow<'static, str> {
        "Seconds".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_SECONDS,
            "description": "A positive number of seconds, e.g. `30` or `0.5`."
        })
    }
}

/// A whole number, 0 or more (`2`); the message for anything else says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Whole(u64);

impl Whole {
    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        whole(deserializer, 0).map(Self)
    }
}

impl JsonSchema for Whole {
    fn schema_name() -> Cow<'static, str> {
        "Whole".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "integer", "minimum": 0})
    }
}

/// A whole number, 1 or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Count(u64);

impl Count {
    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        whole(deserializer, 1).map(Self)
    }
}

impl JsonSchema for Count {
    fn schema_name() -> Cow<'static, str> {
        "Count".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "integer", "minimum": 1})
    }
}

/// Reads a whole number of at least `min`, in Sentinel's words when it is not one.
fn whole<'de, D: Deserializer<'de>>(deserializer: D, min: u64) -> Result<u64, D::Error> {
    let n = f64::deserialize(deserializer)?;
    if n.fract() == 0.0 && n >= min as f64 && n <= u32::MAX as f64 {
        // Whole and in range: the cast is exact.
        Ok(n as u64)
    } else {
        Err(serde::de::Error::custom(format!(
            "expected a whole number of at least {min}, found `{n}`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_say_what_they_expect() {
        let e = serde_json::from_str::<Count>("0")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("expected a whole number of at least 1, found `0`")
        );
        let e = serde_json::from_str::<Whole>("-1")
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.starts_with("expected a whole number of at least 0")));
        assert_eq!(
            serde_json::from_str::<Whole>("3").ok().map(Whole::get),
            Some(3)
        );
        assert!(serde_json::from_str::<Whole>("2.5").is_err());
    }

    #[test]
    fn seconds_refuse_zero_negative_and_absurd_values() {
        for bad in ["0", "-1", "1e12"] {
            let got: Result<Seconds, _> = serde_json::from_str(bad);
            let message = got.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                message.starts_with("expected a positive number of seconds"),
                "{bad}: {message}"
            );
        }
        let ok: Result<Seconds, _> = serde_json::from_str("0.25");
        assert_eq!(
            ok.ok().map(Seconds::duration),
            Some(Duration::from_millis(250))
        );
        let whole: Result<Seconds, _> =
            toml::from_str::<std::collections::BTreeMap<String, Seconds>>("t = 3").map(|m| m["t"]);
        assert_eq!(whole.ok().map(Seconds::get), Some(3.0));
    }
}
