//! A structured generator: packs built from random condition trees over random paths and
//! operands (mostly well-formed, so that most packs load and their rules run), actions with
//! random payloads, a scorer and the gateway's settings.

use arbitrary::Arbitrary;
use serde_json::{Map, Value, json};

/// Action names the generated packs and actions use (`*` only in `applies_to`).
pub const ACTIONS: &[&str] = &["PAY_INVOICE", "EXPORT_CSV", "DROP_TABLE", "X", "*"];

/// Paths conditions use: every root, nested keys, array indices, and a few that are not
/// action paths (those packs fail to load, as they should).
pub const PATHS: &[&str] = &[
    "agent_id",
    "action",
    "reasoning",
    "idempotency_key",
    "payload.amount",
    "payload.vendor",
    "payload.record_count",
    "payload.contains_pii",
    "payload.tags",
    "payload.tags.0",
    "payload.items.1.name",
    "payload.nested.deep.x",
    "context.env",
    "context.tenant.id",
    "payload.0",
    "payload",
    "amount",
    "payload..x",
    "context.",
    "agent_id.x",
];

/// Object keys of payloads, contexts and custom paths.
pub const KEYS: &[&str] = &[
    "amount",
    "vendor",
    "record_count",
    "contains_pii",
    "tags",
    "items",
    "nested",
    "deep",
    "x",
    "name",
    "env",
    "tenant",
    "id",
    "0",
    "1",
    "",
    "a.b",
    "~/",
];

/// Strings that matter to comparisons, coercions, case folding, regexes and templates.
pub const STRINGS: &[&str] = &[
    "",
    "AWS",
    "Unknown Corp",
    "session_",
    "session_7",
    "production",
    "PRODUCTION",
    "5000",
    " 42 ",
    "-1",
    "1e3",
    "1e400",
    "NaN",
    "inf",
    "true",
    "FALSE",
    "İstanbul",
    "ß",
    "«x»",
    "\u{2028}\n\t",
    "a{2",
    "^inv.*$",
    "(?i)corp",
    "[",
    "\\d+",
    "\\p{Greek}",
    "x{1000}{1000}",
    "{payload.amount}",
    "{{",
    "}",
];

/// A string: one of [`STRINGS`], or any.
#[derive(Debug, Arbitrary)]
pub enum Str {
    /// One of [`STRINGS`].
    Known(u8),
    /// Anything.
    Any(String),
}

impl Str {
    /// The text.
    pub fn text(&self) -> String {
        match self {
            Str::Known(i) => pick(STRINGS, *i).to_owned(),
            Str::Any(s) => s.clone(),
        }
    }
}

/// An object key: one of [`KEYS`], or any.
#[derive(Debug, Arbitrary)]
pub enum Key {
    /// One of [`KEYS`].
    Known(u8),
    /// Anything.
    Any(String),
}

impl Key {
    /// The key.
    pub fn text(&self) -> String {
        match self {
            Key::Known(i) => pick(KEYS, *i).to_owned(),
            Key::Any(s) => s.clone(),
        }
    }
}

/// A JSON value.
#[derive(Debug, Arbitrary)]
pub enum Val {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A small whole number (thresholds, amounts).
    Small(u16),
    /// Any 64-bit integer.
    Int(i64),
    /// Any 64-bit unsigned integer.
    Uint(u64),
    /// Any float (not finite: `null`).
    Float(f64),
    /// A string.
    Str(Str),
    /// An array.
    Arr(Vec<Val>),
    /// An object (repeated keys collapse).
    Obj(Vec<(Key, Val)>),
}

impl Val {
    /// As JSON.
    pub fn json(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => json!(b),
            Val::Small(n) => json!(n),
            Val::Int(n) => json!(n),
            Val::Uint(n) => json!(n),
            Val::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Val::Str(s) => json!(s.text()),
            Val::Arr(items) => Value::Array(items.iter().map(Val::json).collect()),
            Val::Obj(entries) => Value::Object(object(entries)),
        }
    }
}

/// An object from entries.
pub fn object(entries: &[(Key, Val)]) -> Map<String, Value> {
    entries.iter().map(|(k, v)| (k.text(), v.json())).collect()
}

/// A path: one of [`PATHS`], or `payload.`/`context.` followed by keys.
#[derive(Debug, Arbitrary)]
pub enum PathSel {
    /// One of [`PATHS`].
    Known(u8),
    /// `payload.<keys>` (true) or `context.<keys>` (false).
    Custom(bool, Vec<Key>),
}

impl PathSel {
    /// The path text.
    pub fn text(&self) -> String {
        match self {
            PathSel::Known(i) => pick(PATHS, *i).to_owned(),
            PathSel::Custom(payload, keys) => {
                let root = if *payload { "payload" } else { "context" };
                let mut text = root.to_owned();
                for key in keys.iter().take(6) {
                    text.push('.');
                    text.push_str(&key.text());
                }
                text
            }
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, Arbitrary)]
#[allow(missing_docs)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    NotIn,
    Contains,
    StartsWith,
    EndsWith,
    Matches,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::In => "in",
            Op::NotIn => "not_in",
            Op::Contains => "contains",
            Op::StartsWith => "starts_with",
            Op::EndsWith => "ends_with",
            Op::Matches => "matches",
        }
    }
}

/// A condition tree.
#[derive(Debug, Arbitrary)]
pub enum Cond {
    /// `all`.
    All(Vec<Cond>),
    /// `any`.
    Any(Vec<Cond>),
    /// `not`.
    Not(Box<Cond>),
    /// `exists`.
    Exists(PathSel),
    /// A comparison; `fit` turns the operand into the type the operator needs.
    Cmp {
        /// The operator.
        op: Op,
        /// The path.
        path: PathSel,
        /// The operand.
        value: Val,
        /// `ignore_case`.
        ignore_case: bool,
        /// Make the operand fit the operator (a number for `lt`, a string for `matches`...).
        fit: bool,
    },
}

impl Cond {
    /// As a pack's `when`; trees deeper than `depth` are cut to `exists` leaves.
    pub fn json(&self, depth: usize) -> Value {
        let list = |items: &[Cond]| -> Value {
            Value::Array(items.iter().take(8).map(|c| c.json(depth - 1)).collect())
        };
        match self {
            _ if depth == 0 => json!({"exists": {"path": "payload.amount"}}),
            Cond::All(items) => json!({ "all": list(items) }),
            Cond::Any(items) => json!({ "any": list(items) }),
            Cond::Not(inner) => json!({ "not": inner.json(depth - 1) }),
            Cond::Exists(path) => json!({"exists": {"path": path.text()}}),
            Cond::Cmp {
                op,
                path,
                value,
                ignore_case,
                fit,
            } => {
                let mut value = value.json();
                if *fit {
                    value = fit_operand(*op, value);
                }
                let mut operand = json!({"path": path.text(), "value": value});
                if *ignore_case {
                    operand["ignore_case"] = json!(true);
                }
                json!({ op.name(): operand })
            }
        }
    }
}

fn fit_operand(op: Op, value: Value) -> Value {
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match op {
        Op::Lt | Op::Lte | Op::Gt | Op::Gte => match value {
            Value::Number(_) => value,
            Value::String(s) => s.trim().parse::<f64>().ok().map_or(json!(0), |f| json!(f)),
            _ => json!(1000),
        },
        Op::In | Op::NotIn => match value {
            Value::Array(_) => value,
            other => json!([other]),
        },
        Op::StartsWith | Op::EndsWith | Op::Matches => json!(as_text(&value)),
        Op::Eq | Op::Ne | Op::Contains => value,
    }
}

/// A rule's effect; risks run to 101 (out of range: the pack fails to load).
#[derive(Debug, Arbitrary)]
#[allow(missing_docs)]
pub enum EffectGen {
    Deny,
    Allow,
    Escalate,
    Floor(u8),
    Ceiling(u8),
    Set(u8),
}

impl EffectGen {
    fn json(&self) -> Value {
        match self {
            EffectGen::Deny => json!("deny"),
            EffectGen::Allow => json!("allow"),
            EffectGen::Escalate => json!("escalate"),
            EffectGen::Floor(n) => json!({"risk_floor": risk(*n)}),
            EffectGen::Ceiling(n) => json!({"risk_ceiling": risk(*n)}),
            EffectGen::Set(n) => json!({"set_risk": risk(*n)}),
        }
    }
}

/// A reason template.
#[derive(Debug, Arbitrary)]
pub enum Reason {
    /// Plain text (braces in it may make it invalid).
    Plain(Str),
    /// Text around a field.
    Field(Str, PathSel, Str),
    /// A literal brace pair.
    Braces,
}

impl Reason {
    fn text(&self) -> String {
        let plain = |s: &Str| s.text().replace('{', "{{").replace('}', "}}");
        match self {
            Reason::Plain(s) => s.text(),
            Reason::Field(a, path, b) => format!("{}{{{}}}{}", plain(a), path.text(), plain(b)),
            Reason::Braces => "{{literal}} braces".to_owned(),
        }
    }
}

/// One rule.
#[derive(Debug, Arbitrary)]
pub struct RuleGen {
    /// `r{id}` (repeats make the pack fail to load).
    pub id: u8,
    /// Limited to these actions (indices into [`ACTIONS`]).
    pub actions: Option<Vec<u8>>,
    /// The condition.
    pub when: Option<Cond>,
    /// The effect.
    pub effect: EffectGen,
    /// The reason.
    pub reason: Reason,
}

/// A field type of `payload_schema`.
#[derive(Debug, Clone, Copy, Arbitrary)]
#[allow(missing_docs)]
pub enum FieldTypeGen {
    String,
    Number,
    Integer,
    Boolean,
    Object,
    Array,
}

impl FieldTypeGen {
    fn name(self) -> &'static str {
        match self {
            FieldTypeGen::String => "string",
            FieldTypeGen::Number => "number",
            FieldTypeGen::Integer => "integer",
            FieldTypeGen::Boolean => "boolean",
            FieldTypeGen::Object => "object",
            FieldTypeGen::Array => "array",
        }
    }
}

/// One pack.
#[derive(Debug, Arbitrary)]
pub struct PackGen {
    /// `P{name % 4}` (two packs of one name: the gateway refuses them).
    pub name: u8,
    /// Indices into [`ACTIONS`] (none: the pack fails to load).
    pub applies_to: Vec<u8>,
    /// `escalate_above`, `deny_at_or_above`.
    pub thresholds: Option<(u8, Option<u8>)>,
    /// `default.risk`, `default.effect` (0 allow, 1 escalate, 2 deny), `default.reason`.
    pub default: Option<(u8, Option<u8>, Reason)>,
    /// `action_defaults`: action index, risk, reason.
    pub action_defaults: Vec<(u8, u8, Reason)>,
    /// The rules.
    pub rules: Vec<RuleGen>,
    /// `redact` paths.
    pub redact: Vec<PathSel>,
    /// `payload_schema`: action index (or `*`), fields.
    pub payload_schema: Vec<(u8, Vec<(Key, FieldTypeGen)>)>,
    /// `on_schema_error`: deny (false) or escalate (true).
    pub on_schema_error: Option<bool>,
}

impl PackGen {
    /// The pack document.
    pub fn json(&self) -> Value {
        let mut doc = json!({
            "name": format!("P{}", self.name % 4),
            "version": "1.0.0",
            "applies_to": self.applies_to.iter().take(4).map(|i| pick(ACTIONS, *i)).collect::<Vec<_>>(),
        });
        if let Some((escalate, deny)) = self.thresholds {
            doc["thresholds"] = json!({"escalate_above": risk(escalate)});
            if let Some(deny) = deny {
                doc["thresholds"]["deny_at_or_above"] = json!(risk(deny));
            }
        }
        if let Some((r, effect, reason)) = &self.default {
            doc["default"] = json!({"risk": risk(*r), "reason": reason.text()});
            if let Some(e) = effect {
                doc["default"]["effect"] = json!(["allow", "escalate", "deny"][usize::from(e % 3)]);
            }
        }
        if !self.action_defaults.is_empty() {
            let defaults: Map<String, Value> = self
                .action_defaults
                .iter()
                .take(3)
                .map(|(a, r, reason)| {
                    (
                        pick(ACTIONS, *a).to_owned(),
                        json!({"risk": risk(*r), "reason": reason.text()}),
                    )
                })
                .collect();
            doc["action_defaults"] = Value::Object(defaults);
        }
        let rules: Vec<Value> = self
            .rules
            .iter()
            .take(8)
            .map(|r| {
                let mut rule = json!({
                    "id": format!("r{}", r.id % 16),
                    "effect": r.effect.json(),
                    "reason": r.reason.text(),
                });
                if let Some(actions) = &r.actions {
                    rule["actions"] = json!(
                        actions
                            .iter()
                            .take(3)
                            .map(|i| pick(ACTIONS, *i))
                            .collect::<Vec<_>>()
                    );
                }
                if let Some(when) = &r.when {
                    rule["when"] = when.json(12);
                }
                rule
            })
            .collect();
        doc["rules"] = Value::Array(rules);
        if !self.redact.is_empty() {
            doc["redact"] = json!(
                self.redact
                    .iter()
                    .take(3)
                    .map(PathSel::text)
                    .collect::<Vec<_>>()
            );
        }
        if !self.payload_schema.is_empty() {
            let schema: Map<String, Value> = self
                .payload_schema
                .iter()
                .take(3)
                .map(|(a, fields)| {
                    let fields: Map<String, Value> = fields
                        .iter()
                        .take(4)
                        .map(|(k, t)| (k.text(), json!(t.name())))
                        .collect();
                    (pick(ACTIONS, *a).to_owned(), Value::Object(fields))
                })
                .collect();
            doc["payload_schema"] = Value::Object(schema);
        }
        if let Some(escalate) = self.on_schema_error {
            doc["on_schema_error"] = json!(if escalate { "escalate" } else { "deny" });
        }
        doc
    }
}

/// One action.
#[derive(Debug, Arbitrary)]
pub struct ActionGen {
    /// The agent.
    pub agent: Str,
    /// Index into [`ACTIONS`] (`*` reads as `OTHER`).
    pub action: u8,
    /// The payload.
    pub payload: Vec<(Key, Val)>,
    /// The context.
    pub context: Vec<(Key, Val)>,
    /// The reasoning.
    pub reasoning: Str,
    /// The idempotency key.
    pub idempotency_key: Option<Str>,
}

impl ActionGen {
    /// The action.
    pub fn action(&self) -> sentinel_core::Action {
        let name = match pick(ACTIONS, self.action) {
            "*" => "OTHER",
            name => name,
        };
        let mut action = sentinel_core::Action::new(self.agent.text(), name)
            .with_payload(Value::Object(object(&self.payload)))
            .with_context(Value::Object(object(&self.context)))
            .with_reasoning(self.reasoning.text());
        if let Some(key) = &self.idempotency_key {
            action = action.with_idempotency_key(key.text());
        }
        action
    }
}

/// The scorer the gateway asks.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum ScorerGen {
    /// The offline scorer (the packs' base risk).
    Offline,
    /// Always this score (taken modulo 101).
    Fixed(u8),
    /// Always fails.
    Failing,
}

/// Everything one `evaluate` run uses.
#[derive(Debug, Arbitrary)]
pub struct Scenario {
    /// Packs (those that fail to load are left out).
    pub packs: Vec<PackGen>,
    /// Actions to evaluate.
    pub actions: Vec<ActionGen>,
    /// The scorer.
    pub scorer: ScorerGen,
    /// `unmatched`: 0 escalate, 1 deny, 2 score.
    pub unmatched: u8,
    /// `on_scorer_error`: deny (true) or escalate (false).
    pub deny_on_scorer_error: bool,
}

/// A risk from 0 to 101 (101: out of range).
fn risk(n: u8) -> u8 {
    n % 102
}

/// `items[i % len]`.
pub fn pick<'a>(items: &[&'a str], i: u8) -> &'a str {
    items[usize::from(i) % items.len()]
}
