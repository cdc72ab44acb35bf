//! The JSON document a policy author writes. Its JSON Schema is generated from these types
//! (`sentinel schema`, `schema/policy-pack.schema.json`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A policy pack: named, versioned rules for a set of actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Sentinel policy pack")]
pub struct PackDocument {
    /// Optional link to this schema, for editors.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Unique name of the pack, e.g. `VaultKeeper`.
    pub name: String,
    /// Semantic version of the pack, e.g. `1.2.0`; recorded with every decision.
    pub version: String,
    /// What the pack guards, for people.
    #[serde(default)]
    pub description: String,
    /// Action names the pack applies to, e.g. `["PAY_INVOICE"]`; `"*"` means every action.
    pub applies_to: Vec<String>,
    /// Risk thresholds (0-100).
    #[serde(default)]
    pub thresholds: ThresholdsSpec,
    /// What happens when no rule of the pack matches, and the base risk of its actions.
    #[serde(default)]
    pub default: DefaultSpec,
    /// Per-action base risk and reason, overriding `default` for that action.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub action_defaults: BTreeMap<String, ActionDefaultSpec>,
    /// The rules, in order. Order matters only for `set_risk` (the first match wins).
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// Paths (`payload.<key>...`, `context.<key>...`) whose values never leave the process:
    /// masked as `[REDACTED]` in scorer prompts and spoken summaries. SSNs, card numbers,
    /// e-mail addresses, phone numbers and secrets are masked everywhere anyway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact: Vec<String>,
    /// The type each payload field must have, per action (`"*"`: every action of the pack),
    /// e.g. `{"EXPORT_CSV": {"contains_pii": "boolean", "record_count": "integer"}}`. Keys
    /// are paths below `payload` (`account.iban`). An absent or `null` field is not
    /// checked; numbers and booleans sent as strings (`"5000"`, `"true"`) pass, as rules
    /// compare them by value. A field of another type makes the pack's `on_schema_error`
    /// apply, never a silent "false" in a condition.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub payload_schema: BTreeMap<String, BTreeMap<String, FieldType>>,
    /// What happens to an action with a mistyped payload field: `deny` (the default: fails
    /// closed) or `escalate` (a human looks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_schema_error: Option<SchemaErrorEffect>,
}

/// The type a payload field must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Text.
    String,
    /// Any number (or a string holding one).
    Number,
    /// A whole number (or a string holding one).
    Integer,
    /// `true` or `false` (or the strings `"true"`/`"false"`).
    Boolean,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
}

impl FieldType {
    /// The type's name, as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Object => "object",
            Self::Array => "array",
        }
    }
}

/// What a mistyped payload field does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SchemaErrorEffect {
    /// Decline (fail closed).
    Deny,
    /// Ask a human.
    Escalate,
}

/// Risk thresholds of a pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdsSpec {
    /// Scores at or below this auto-approve; above it a human is asked. Default 50.
    #[serde(default = "default_escalate_above")]
    #[schemars(range(max = 100))]
    pub escalate_above: u8,
    /// Scores at or above this are declined without asking anyone. Default: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub deny_at_or_above: Option<u8>,
}

fn default_escalate_above() -> u8 {
    50
}

impl Default for ThresholdsSpec {
    fn default() -> Self {
        Self {
            escalate_above: default_escalate_above(),
            deny_at_or_above: None,
        }
    }
}

/// Pack-wide default: the base risk of its actions when neither a rule nor a scorer sets
/// one, and an optional effect for actions that no rule matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultSpec {
    /// Base risk (0-100). Default 60: unmatched high-impact actions escalate.
    #[serde(default = "default_risk")]
    #[schemars(range(max = 100))]
    pub risk: u8,
    /// Why, for people; may quote fields like `{payload.amount}`.
    #[serde(default = "default_reason")]
    pub reason: String,
    /// Effect when no rule matches: `allow`, `escalate` or `deny`. Default: thresholds decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<DefaultEffect>,
}

fn default_risk() -> u8 {
    60
}

fn default_reason() -> String {
    "No rule of this pack covers the action, so its default risk applies.".to_owned()
}

impl Default for DefaultSpec {
    fn default() -> Self {
        Self {
            risk: default_risk(),
            reason: default_reason(),
            effect: None,
        }
    }
}

/// The base risk of one action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionDefaultSpec {
    /// Base risk (0-100).
    #[schemars(range(max = 100))]
    pub risk: u8,
    /// Why, for people; may quote fields like `{payload.amount}`.
    pub reason: String,
}

/// Effects allowed as a pack default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DefaultEffect {
    /// Auto-approve.
    Allow,
    /// Ask a human.
    Escalate,
    /// Decline.
    Deny,
}

/// One rule: when its condition holds, its effect applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable id, unique in the pack; decisions cite `pack/id`.
    pub id: String,
    /// Optional longer explanation, for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Action names this rule applies to (a subset of the pack's `applies_to`). Default: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
    /// The condition; absent means always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<ConditionSpec>,
    /// What the rule does.
    pub effect: Effect,
    /// Why, for people. `{path}` quotes a field, e.g. `{payload.record_count}`; `{{` and `}}`
    /// are literal braces.
    pub reason: String,
}

/// What a rule does when it matches.
///
/// Precedence: `deny` beats `escalate` beats `allow` beats thresholds. The score is the
/// first matching `set_risk` (in pack order, then rule order), else the scorer's score;
/// then the highest `risk_floor` and the lowest `risk_ceiling` apply, a floor winning over
/// a ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Hard block: declined at once, no scorer, no approver.
    Deny,
    /// Auto-approve (unless a `deny` or `escalate` also matches); the scorer is skipped.
    Allow,
    /// Always ask a human.
    Escalate,
    /// The score is at least this.
    RiskFloor(#[schemars(range(max = 100))] u8),
    /// The score is at most this (a floor still wins).
    RiskCeiling(#[schemars(range(max = 100))] u8),
    /// The score is this; the scorer is skipped.
    SetRisk(#[schemars(range(max = 100))] u8),
}

/// A condition. Combine with `all`, `any`, `not`; compare a path with a value.
///
/// Example: `{"all": [{"starts_with": {"path": "agent_id", "value": "session_"}},
/// {"gte": {"path": "payload.amount", "value": 5000}}]}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConditionSpec {
    /// Every condition holds (true when empty).
    All(Vec<ConditionSpec>),
    /// At least one condition holds (false when empty).
    Any(Vec<ConditionSpec>),
    /// The condition does not hold.
    Not(Box<ConditionSpec>),
    /// Equal. Numbers compare as numbers, also when the action sends them as strings.
    Eq(Comparison),
    /// Present and not equal.
    Ne(Comparison),
    /// Less than (numbers).
    Lt(Comparison),
    /// Less than or equal (numbers).
    Lte(Comparison),
    /// Greater than (numbers).
    Gt(Comparison),
    /// Greater than or equal (numbers).
    Gte(Comparison),
    /// Equal to one of the values in the array `value`.
    In(Comparison),
    /// Present and equal to none of the values in the array `value`.
    NotIn(Comparison),
    /// A string containing `value`, or an array with an element equal to `value`.
    Contains(Comparison),
    /// A string starting with `value`.
    StartsWith(Comparison),
    /// A string ending with `value`.
    EndsWith(Comparison),
    /// A string matching the regular expression `value` (linear-time `regex` syntax;
    /// unanchored unless you write `^...$`).
    Matches(Comparison),
    /// The path holds a value other than `null`.
    Exists(ExistsSpec),
    /// A spending budget over a window of past actions: holds when the `sum` path of the
    /// actions that ran in the last `window_s` seconds (with the same `per` values), plus
    /// this action's, is above `above`. Kept in the store (see `docs/policy-toolchain.md`).
    ///
    /// Example: `{"budget": {"sum": "payload.amount", "per": ["agent_id"], "window_s":
    /// 86400, "above": 20000}}`
    Budget(BudgetSpec),
    /// A rate limit over a window of past actions: holds when the actions that ran in the
    /// last `window_s` seconds (with the same `per` values), plus this one, are more than
    /// `above`.
    ///
    /// Example: `{"rate": {"per": ["agent_id", "action"], "window_s": 60, "above": 30}}`
    Rate(RateSpec),
}

/// A path compared with a value. A comparison on an absent path is false, for every
/// operator; use `exists` to test presence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    /// `agent_id`, `action`, `reasoning`, `idempotency_key`, `payload.<key>...` or
    /// `context.<key>...` (array elements by index: `payload.items.0`).
    pub path: String,
    /// The value to compare with.
    pub value: Value,
    /// Compare strings without regard to case.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_case: bool,
}

/// The operand of `exists`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExistsSpec {
    /// The path that must hold a value.
    pub path: String,
}

/// The operand of `budget`: a sum over a window of past actions.
///
/// Every action the rule applies to (the pack's `applies_to`, the rule's `actions`) that
/// runs is counted: auto-approved ones at once, escalated ones while they wait (released
/// when declined or expired, kept when approved). Declined ones are not counted. An action
/// whose `sum` value is absent, not a number or negative makes the condition hold (fail
/// closed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetSpec {
    /// The path summed, e.g. `payload.amount` (numbers, or strings holding one).
    pub sum: String,
    /// Paths whose values key the budget, e.g. `["agent_id"]`: one budget per agent. Empty:
    /// one budget for all actions of the rule.
    #[serde(default)]
    pub per: Vec<String>,
    /// The window's length in seconds (at least 1), ending now.
    #[schemars(range(min = 1))]
    pub window_s: u64,
    /// The condition holds when the window's sum with this action is above this.
    pub above: f64,
}

/// The operand of `rate`: a count over a window of past actions (counted like a
/// [`BudgetSpec`]: only actions that run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateSpec {
    /// Paths whose values key the count, e.g. `["agent_id", "action"]`. Empty: one count
    /// for all actions of the rule.
    #[serde(default)]
    pub per: Vec<String>,
    /// The window's length in seconds (at least 1), ending now.
    #[schemars(range(min = 1))]
    pub window_s: u64,
    /// The condition holds when the window's count with this action is above this.
    pub above: u64,
}
