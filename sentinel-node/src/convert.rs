//! Conversions of actions, ids, score contexts and resolutions between JS and the core.
//!
//! Actions cross from JS as wire-form JSON text (`JSON.stringify` in the TypeScript layer,
//! which also maps camelCase names to snake_case): V8's serializer plus `serde_json` is
//! faster than walking the object through Node-API, and it gives JS its usual JSON
//! semantics (`undefined` dropped, `toJSON` honoured, integers kept exact). Parsing is the
//! core's [`Action::from_json_str`], so errors name the offending field exactly as the
//! CLI and the Rust API do.

use napi_derive::napi;
use sentinel_core::{Action, ActionId, Resolution, ScoreContext};
use serde_json::{Map, Value};

use crate::errors::input_error;

/// Parses a wire-form action from JSON text; bad input is an `InvalidArg` error whose
/// message names the field.
pub fn parse_action(json: &str) -> napi::Result<Action> {
    Action::from_json_str(json).map_err(|e| input_error(e.to_string()))
}

/// Parses an action id.
pub fn parse_id(id: &str) -> napi::Result<ActionId> {
    id.parse()
        .map_err(|e: sentinel_core::ActionError| input_error(e.to_string()))
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

/// A human decision as JS gives it to `resolve`.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ResolutionInput {
    /// Approve (`true`) or decline (`false`).
    pub approved: bool,
    /// Who decided.
    pub by: String,
    /// Through which channel (`web`, `cli`, `voice/dtmf`...).
    pub channel: String,
    /// Why, in the person's words.
    pub reason: Option<String>,
}

impl From<ResolutionInput> for Resolution {
    fn from(r: ResolutionInput) -> Self {
        let base = if r.approved {
            Resolution::approve(r.by, r.channel)
        } else {
            Resolution::decline(r.by, r.channel)
        };
        match r.reason {
            Some(reason) => base.with_reason(reason),
            None => base,
        }
    }
}
