//! Conversions of actions, ids, score contexts and resolutions between JS and the core.
//!
//! Actions cross from JS as wire-form JSON text (`JSON.stringify` in the TypeScript layer,
//! which also maps camelCase names to snake_case): V8's serializer plus `serde_json` is
//! faster than walking the object through Node-API, and it gives JS its usual JSON
//! semantics (`undefined` dropped, `toJSON` honoured, integers kept exact). Parsing is the
//! core's [`Action::from_json_str`], so errors name the offending field exactly as the
//! CLI and the Rust API do.

use std::fmt;

use napi_derive::napi;
use sentinel_core::{Action, ActionId, Resolution, ScoreContext};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::errors::{Failure, action_error, request_error};

/// In the `aliases` of [`parse_action`]: read a top-level `agentId` as `agent_id`.
pub const ALIAS_AGENT_ID: u32 = 1;
/// In the `aliases` of [`parse_action`]: read a top-level `idempotencyKey` as
/// `idempotency_key`.
pub const ALIAS_IDEMPOTENCY_KEY: u32 = 2;

/// Parses a wire-form action from JSON text; bad input is an `invalid_action` failure
/// naming the field.
///
/// `aliases` (bits `ALIAS_*`) names the camelCase keys to read as their snake_case names;
/// the TypeScript layer sets a bit only when the object has the camelCase name and not the
/// snake_case one, so that this is the same as renaming the key before `JSON.stringify`
/// (without building a renamed copy of the object on the JS thread).
///
/// Well-formed input takes a direct path (the fields straight into an [`Action`], without
/// the intermediate `serde_json::Value` of the whole object, about twice as fast); anything
/// it does not accept is parsed again by the core's [`Action::from_json`], which is the
/// only judge of bad input and the only author of its error messages.
pub fn parse_action(json: &str, aliases: u32) -> Result<Action, Failure> {
    let mut de = serde_json::Deserializer::from_str(json);
    let direct = DirectSeed { aliases }
        .deserialize(&mut de)
        .and_then(|action| de.end().map(|()| action));
    match direct {
        Ok(action) => Ok(action),
        Err(_) => slow_parse(json, aliases).map_err(|e| action_error(&e)),
    }
}

/// The core's parsing, after renaming the aliased keys.
fn slow_parse(json: &str, aliases: u32) -> Result<Action, sentinel_core::ActionError> {
    if aliases == 0 {
        return Action::from_json_str(json);
    }
    let mut value: Value = match serde_json::from_str(json) {
        Ok(value) => value,
        // A syntax error: the core words it.
        Err(_) => return Action::from_json_str(json),
    };
    if let Value::Object(map) = &mut value {
        for (bit, camel, snake) in [
            (ALIAS_AGENT_ID, "agentId", "agent_id"),
            (ALIAS_IDEMPOTENCY_KEY, "idempotencyKey", "idempotency_key"),
        ] {
            if aliases & bit != 0
                && !map.contains_key(snake)
                && let Some(v) = map.remove(camel)
            {
                map.insert(snake.to_owned(), v);
            }
        }
    }
    Action::from_json(value)
}

/// Reads an action field by field. Accepts a subset of what [`Action::from_json`] accepts
/// and, on that subset, builds the same action: the same fields, the last of duplicate
/// keys winning, `null` for an absent `idempotency_key` or `context`.
struct DirectSeed {
    aliases: u32,
}

/// A known top-level field.
#[derive(Clone, Copy)]
enum Field {
    AgentId,
    Action,
    Payload,
    Reasoning,
    IdempotencyKey,
    Context,
}

/// Reads a top-level key as a [`Field`].
struct FieldSeed {
    aliases: u32,
}

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Field;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for FieldSeed {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an action field")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Field, E> {
        Ok(match key {
            "agent_id" => Field::AgentId,
            "action" => Field::Action,
            "payload" => Field::Payload,
            "reasoning" => Field::Reasoning,
            "idempotency_key" => Field::IdempotencyKey,
            "context" => Field::Context,
            "agentId" if self.aliases & ALIAS_AGENT_ID != 0 => Field::AgentId,
            "idempotencyKey" if self.aliases & ALIAS_IDEMPOTENCY_KEY != 0 => Field::IdempotencyKey,
            // Unknown: the core names it.
            _ => return Err(E::custom("unknown field")),
        })
    }
}

impl<'de> DeserializeSeed<'de> for DirectSeed {
    type Value = Action;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Action, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DirectSeed {
    type Value = Action;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an action")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Action, A::Error> {
        let (mut agent_id, mut action, mut reasoning) = (None, None, None);
        let (mut payload, mut key, mut context) = (None, None, None);
        // Both a name and its alias: the slow path decides.
        let mut seen = 0u8;
        while let Some(field) = map.next_key_seed(FieldSeed {
            aliases: self.aliases,
        })? {
            let bit = 1 << field as u8;
            if seen & bit != 0 && self.aliases != 0 {
                return Err(de::Error::custom("repeated"));
            }
            seen |= bit;
            match field {
                Field::AgentId => agent_id = Some(map.next_value::<String>()?),
                Field::Action => action = Some(map.next_value::<String>()?),
                Field::Reasoning => reasoning = Some(map.next_value::<String>()?),
                Field::Payload => payload = Some(map.next_value::<Map<String, Value>>()?),
                Field::IdempotencyKey => key = map.next_value::<Option<String>>()?,
                Field::Context => context = map.next_value::<Option<Map<String, Value>>>()?,
            }
        }
        // Missing or empty fields: the core says which.
        let refuse = || de::Error::custom("refused");
        let agent_id = agent_id
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(refuse)?;
        let name = action.filter(|s| !s.trim().is_empty()).ok_or_else(refuse)?;
        let mut out = Action::new(agent_id, name);
        out.reasoning = reasoning.ok_or_else(refuse)?;
        out.payload = payload.ok_or_else(refuse)?;
        out.idempotency_key = match key {
            Some(k) if k.is_empty() => return Err(refuse()),
            k => k,
        };
        out.context = context.unwrap_or_default();
        Ok(out)
    }
}

/// Parses an action id.
pub fn parse_id(id: &str) -> Result<ActionId, Failure> {
    id.parse()
        .map_err(|e: sentinel_core::ActionError| action_error(&e))
}

/// An action as JS callbacks see it (camelCase).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ActionView {
    /// Which agent asks.
    pub agent_id: String,
    /// The action name, e.g. `PAY_INVOICE`.
    pub action: String,
    /// The tool call's arguments.
    pub payload: Value,
    /// The agent's own explanation (untrusted).
    pub reasoning: String,
    /// The idempotency key, when given.
    pub idempotency_key: Option<String>,
    /// Labels about the caller.
    pub context: Value,
}

impl From<&Action> for ActionView {
    fn from(a: &Action) -> Self {
        Self {
            agent_id: a.agent_id.clone(),
            action: a.action.clone(),
            payload: Value::Object(a.payload.clone()),
            reasoning: a.reasoning.clone(),
            idempotency_key: a.idempotency_key.clone(),
            context: Value::Object(if a.context.is_empty() {
                Map::new()
            } else {
                a.context.clone()
            }),
        }
    }
}

/// What the policy already knows when a scorer is asked (camelCase).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ScoreContextView {
    /// The applying pack's base risk, when a pack applies.
    pub default_risk: Option<u32>,
    /// The pack's reason for that base risk.
    pub default_reason: Option<String>,
    /// Reasons of the rules that matched.
    pub policy_reasons: Vec<String>,
}

impl From<&ScoreContext> for ScoreContextView {
    fn from(c: &ScoreContext) -> Self {
        Self {
            default_risk: c.default_risk.map(u32::from),
            default_reason: c.default_reason.clone(),
            policy_reasons: c.policy_reasons.clone(),
        }
    }
}

/// A human decision as JS gives it to `resolve`: `{ approved, by, channel?, reason? }`
/// (`channel` defaults to `api`). A malformed one is an `invalid_request` failure naming
/// the field.
pub fn parse_resolution(value: &Value) -> Result<Resolution, Failure> {
    let fields = object(value, "a resolution")?;
    let approved = boolean(fields, "approved")?;
    let (by, channel) = actor(fields)?;
    let base = if approved {
        Resolution::approve(by, channel)
    } else {
        Resolution::decline(by, channel)
    };
    Ok(match optional_string(fields, "reason")? {
        Some(reason) => base.with_reason(reason),
        None => base,
    })
}

/// A voice Q&A switch as JS gives it to `setQnaMode`: `{ on, by, channel? }`.
pub fn parse_qna(value: &Value) -> Result<(bool, String, String), Failure> {
    let fields = object(value, "a Q&A switch")?;
    let on = boolean(fields, "on")?;
    let (by, channel) = actor(fields)?;
    Ok((on, by, channel))
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, Failure> {
    value.as_object().ok_or_else(|| {
        Failure::new(
            sentinel_core::ErrorCode::InvalidRequest,
            format!("{what} must be an object, found {}", json_type(value)),
        )
    })
}

fn boolean(fields: &Map<String, Value>, name: &str) -> Result<bool, Failure> {
    match fields.get(name) {
        Some(Value::Bool(b)) => Ok(*b),
        other => Err(request_error(
            name,
            format!(
                "field `{name}` must be a boolean, found {}",
                other.map_or("nothing", json_type)
            ),
        )),
    }
}

/// `by` (a non-empty string) and `channel` (default `api`).
fn actor(fields: &Map<String, Value>) -> Result<(String, String), Failure> {
    let by = match fields.get("by") {
        Some(Value::String(by)) if !by.trim().is_empty() => by.clone(),
        _ => {
            return Err(request_error("by", "field `by` must be a non-empty string"));
        }
    };
    let channel = optional_string(fields, "channel")?.unwrap_or_else(|| "api".to_owned());
    Ok((by, channel))
}

fn optional_string(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, Failure> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(request_error(
            name,
            format!(
                "field `{name}` must be a string, found {}",
                json_type(other)
            ),
        )),
    }
}

/// The JSON type of a value, as the core's messages name them.
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
