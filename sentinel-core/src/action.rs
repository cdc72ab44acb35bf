//! The action an agent wants to take, and the id Sentinel gives it.

use std::fmt;
use std::str::FromStr;

use crate::error::ActionError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One tool call an agent intends to make, as submitted to the gateway.
///
/// The JSON form is the wire form used by the CLI, the bindings and the HTTP API:
///
/// ```json
/// {"agent_id": "session_42", "action": "PAY_INVOICE",
///  "payload": {"amount": 10000, "vendor": "Unknown Corp"},
///  "reasoning": "vendor asked for an urgent transfer"}
/// ```
///
/// Build one with [`Action::new`] or parse untrusted input with [`Action::from_json`],
/// which names the offending field on bad input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Action {
    /// Which agent (or agent session) asks; rules may match on it (`session_*`).
    pub agent_id: String,
    /// The action name, e.g. `PAY_INVOICE`; packs apply by this name.
    pub action: String,
    /// The tool call's arguments: always a JSON object.
    pub payload: Map<String, Value>,
    /// The agent's own explanation. Untrusted text: never obeyed, only judged.
    pub reasoning: String,
    /// Retries with the same key return the same action instead of a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Free-form labels about the caller (tenant, environment, trace id...).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub context: Map<String, Value>,
}

const FIELDS: [&str; 6] = [
    "agent_id",
    "action",
    "payload",
    "reasoning",
    "idempotency_key",
    "context",
];

impl Action {
    /// Creates an action with an empty payload and reasoning.
    pub fn new(agent_id: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            agent_id: agent_id.into(),
            action: action.into(),
            payload: Map::new(),
            reasoning: String::new(),
            idempotency_key: None,
            context: Map::new(),
        }
    }

    /// Sets the payload. Anything but a JSON object is kept under the key `value`.
    #[must_use]
    pub fn with_payload(mut self, payload: Value) -> Self {
        self.payload = match payload {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => Map::from_iter([("value".to_owned(), other)]),
        };
        self
    }

    /// Sets the agent's reasoning.
    #[must_use]
    pub fn with_reasoning(mut self, reasoning: impl Into<String>) -> Self {
        self.reasoning = reasoning.into();
        self
    }

    /// Sets the idempotency key.
    #[must_use]
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Sets the context labels (must be an object; anything else is ignored).
    #[must_use]
    pub fn with_context(mut self, context: Value) -> Self {
        if let Value::Object(map) = context {
            self.context = map;
        }
        self
    }

    /// Parses an action from JSON text, naming the offending field on error. Strict (see
    /// [`crate::json`]): a repeated key or an integer beyond 64 bits is refused, so the
    /// action decided on and hashed is exactly the one sent.
    pub fn from_json_str(text: &str) -> Result<Self, ActionError> {
        use crate::json::StrictJsonError;
        let value = crate::json::from_str(text).map_err(|e| match e {
            StrictJsonError::Syntax { message } => ActionError::Syntax { message },
            other => ActionError::Inexact(other),
        })?;
        Self::from_json(value)
    }

    /// Converts a JSON value into an action, checking every field.
    ///
    /// `agent_id`, `action` and `reasoning` must be strings, `payload` an object;
    /// `agent_id` and `action` must not be empty. Unknown fields are refused so that a
    /// typo (`agentId`) is not silently dropped.
    pub fn from_json(value: Value) -> Result<Self, ActionError> {
        let Value::Object(mut map) = value else {
            return Err(ActionError::NotAnObject {
                found: json_type(&value),
            });
        };
        if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(ActionError::UnknownField {
                field: unknown.clone(),
            });
        }
        let agent_id = take_string(&mut map, "agent_id", true)?;
        let action = take_string(&mut map, "action", true)?;
        let reasoning = take_string(&mut map, "reasoning", false)?;
        let payload = match map.remove("payload") {
            None => return Err(ActionError::MissingField { field: "payload" }),
            Some(Value::Object(payload)) => payload,
            Some(other) => {
                return Err(ActionError::WrongType {
                    field: "payload",
                    expected: "an object",
                    found: json_type(&other),
                });
            }
        };
        let idempotency_key = match map.remove("idempotency_key") {
            None | Some(Value::Null) => None,
            Some(Value::String(key)) if key.is_empty() => {
                return Err(ActionError::Empty {
                    field: "idempotency_key",
                });
            }
            Some(Value::String(key)) => Some(key),
            Some(other) => {
                return Err(ActionError::WrongType {
                    field: "idempotency_key",
                    expected: "a string",
                    found: json_type(&other),
                });
            }
        };
        let context = match map.remove("context") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(context)) => context,
            Some(other) => {
                return Err(ActionError::WrongType {
                    field: "context",
                    expected: "an object",
                    found: json_type(&other),
                });
            }
        };
        Ok(Self {
            agent_id,
            action,
            payload,
            reasoning,
            idempotency_key,
            context,
        })
    }

    /// The JSON form of this action.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// SHA-256 (hex) of the canonical JSON of agent, action, payload and reasoning.
    ///
    /// Object keys are sorted, so two actions that differ only in key order hash alike.
    /// Idempotency checks and approval receipts compare these hashes.
    pub fn canonical_hash(&self) -> String {
        let mut hasher = crate::canonical::Hasher::default();
        let mut write = || -> std::io::Result<()> {
            use std::io::Write;
            // `{"action":..,"agent_id":..,"payload":{sorted},"reasoning":..}`: the fields in
            // byte order, as a canonical object has them.
            hasher.write_all(b"{\"action\":")?;
            serde_json::to_writer(&mut hasher, &self.action).map_err(std::io::Error::other)?;
            hasher.write_all(b",\"agent_id\":")?;
            serde_json::to_writer(&mut hasher, &self.agent_id).map_err(std::io::Error::other)?;
            hasher.write_all(b",\"payload\":")?;
            crate::canonical::write_object(
                &mut hasher,
                self.payload.iter().map(|(k, v)| (k.as_str(), v)),
            )?;
            hasher.write_all(b",\"reasoning\":")?;
            serde_json::to_writer(&mut hasher, &self.reasoning).map_err(std::io::Error::other)?;
            hasher.write_all(b"}")
        };
        // Writing into a hasher cannot fail.
        let _ = write();
        hasher.finish()
    }
}

fn take_string(
    map: &mut Map<String, Value>,
    field: &'static str,
    non_empty: bool,
) -> Result<String, ActionError> {
    match map.remove(field) {
        None => Err(ActionError::MissingField { field }),
        Some(Value::String(s)) if non_empty && s.trim().is_empty() => {
            Err(ActionError::Empty { field })
        }
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(ActionError::WrongType {
            field,
            expected: "a string",
            found: json_type(&other),
        }),
    }
}

/// The JSON type name of a value, for error messages.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// The bytes of lowercase or uppercase hex; `None` for an odd length or a non-hex digit.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The id Sentinel assigns to each submitted action: a UUID v7 (time-ordered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActionId(uuid::Uuid);

impl ActionId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    /// The id as [`Display`](fmt::Display) writes it, in `buf` (no allocation).
    pub(crate) fn encode(self, buf: &mut [u8; 36]) -> &str {
        self.0.hyphenated().encode_lower(buf)
    }
}

impl Default for ActionId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ActionId {
    type Err = ActionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| ActionError::BadId { id: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"agent_id": "a", "action": "PAY_INVOICE", "payload": {"amount": 1}, "reasoning": "r"})
    }

    #[test]
    fn parses_a_full_action() {
        let mut v = base();
        v["idempotency_key"] = json!("k1");
        v["context"] = json!({"tenant": "t"});
        let a = Action::from_json(v).unwrap();
        assert_eq!(a.agent_id, "a");
        assert_eq!(a.idempotency_key.as_deref(), Some("k1"));
        assert_eq!(a.context["tenant"], "t");
    }

    #[test]
    fn names_the_missing_field() {
        for field in ["agent_id", "action", "payload", "reasoning"] {
            let mut v = base();
            v.as_object_mut().unwrap().remove(field);
            let err = Action::from_json(v).unwrap_err();
            assert_eq!(err.to_string(), format!("missing field `{field}`"));
        }
    }

    #[test]
    fn names_the_ill_typed_field() {
        let mut v = base();
        v["payload"] = json!("not an object");
        let err = Action::from_json(v).unwrap_err().to_string();
        assert_eq!(err, "field `payload` must be an object, found string");
        let mut v = base();
        v["agent_id"] = json!(7);
        let err = Action::from_json(v).unwrap_err().to_string();
        assert_eq!(err, "field `agent_id` must be a string, found number");
    }

    #[test]
    fn refuses_unknown_and_empty_fields() {
        let mut v = base();
        v["agentId"] = json!("x");
        assert_eq!(
            Action::from_json(v).unwrap_err().to_string(),
            "unknown field `agentId`, expected one of `agent_id`, `action`, `payload`, `reasoning`, `idempotency_key`, `context`"
        );
        let mut v = base();
        v["action"] = json!(" ");
        assert_eq!(
            Action::from_json(v).unwrap_err().to_string(),
            "field `action` must not be empty"
        );
        assert_eq!(
            Action::from_json(json!([1])).unwrap_err().to_string(),
            "an action must be a JSON object, found array"
        );
    }

    #[test]
    fn canonical_hash_ignores_key_order_and_sees_changes() {
        let a = Action::from_json_str(
            r#"{"agent_id":"a","action":"X","payload":{"x":1,"y":2},"reasoning":""}"#,
        )
        .unwrap();
        let b = Action::from_json_str(
            r#"{"reasoning":"","payload":{"y":2,"x":1},"action":"X","agent_id":"a"}"#,
        )
        .unwrap();
        assert_eq!(a.canonical_hash(), b.canonical_hash());
        let c = a.clone().with_payload(json!({"x": 1, "y": 3}));
        assert_ne!(a.canonical_hash(), c.canonical_hash());
    }

    #[test]
    fn action_ids_round_trip_and_order_by_time() {
        let a = ActionId::new();
        let b = ActionId::new();
        assert!(a < b);
        assert_eq!(a.to_string().parse::<ActionId>().unwrap(), a);
        assert!("nope".parse::<ActionId>().is_err());
    }
}
