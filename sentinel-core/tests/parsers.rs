//! Property tests of the parsers, in the normal test run (the fuzz targets in `fuzz/` run
//! the same parsers for longer, with coverage guidance: `scripts/fuzz.sh`).
//!
//! - arbitrary and JSON-ish text never panics any parser;
//! - packs built from random condition trees over random paths and operands load, and
//!   evaluate every random action through `Gateway::evaluate` with a status in {EXECUTED,
//!   BLOCKED_AWAITING_AUTH, DECLINED}, a risk of at most 100, deterministically, with
//!   `deny`, `escalate`, floors and ceilings holding; they round-trip; with a random value
//!   put anywhere in them they load (and evaluate safely) or are refused;
//! - an action that parses re-serialises and re-parses to an equal action with the same
//!   canonical hash, whatever its key order or layout;
//! - strict JSON never accepts a duplicate key (naming the first one and where it is) and
//!   accepts everything else serde_json reads, as serde_json reads it;
//! - a configuration built from the spec's keys loads alike from TOML and JSON, and
//!   re-serialises (serde) and reloads to an equal spec; with random values in it, any
//!   spec that loads does the same;
//! - random webhook bodies parse as their fields say; the classifier is total and
//!   deterministic, ignores case and spacing, and hears `?` as a question.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::select;
use sentinel_core::json::StrictJsonError;
use sentinel_core::{Action, Effect, Gateway, GatewaySpec, Pack, State};
use serde_json::{Map, Value, json};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// Values, paths, conditions, packs and actions.

/// Object keys: short, so that paths and payloads meet.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec!["amount", "vendor", "n", "tags", "items", "x", "env", "0", "1"]).prop_map(str::to_owned),
        1 => "[a-z_]{1,6}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(vec![
            "", "AWS", "Unknown Corp", "session_7", "production", "PRODUCTION", "5000", " 42 ",
            "-1.5", "1e3", "true", "FALSE", "NaN", "İstanbul", "ß", "«x»", "line\nbreak",
        ])
        .prop_map(str::to_owned),
        1 => "\\PC{0,12}",
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-10_000i64..10_000).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        (-1e4f64..1e4).prop_map(Value::from),
        text().prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(key(), json_value(), 0..5).prop_map(|m| m.into_iter().collect())
}

/// An action path: every root, nested keys and array indices.
fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec!["agent_id", "action", "reasoning", "idempotency_key"]).prop_map(str::to_owned),
        (
            select(vec!["payload", "context"]),
            prop::collection::vec(key(), 1..4)
        )
            .prop_map(|(root, keys)| format!("{root}.{}", keys.join("."))),
    ]
}

fn finite() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-10_000i64..10_000).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e4f64..1e4).prop_map(Value::from),
    ]
}

/// A well-formed comparison or `exists`.
fn leaf() -> impl Strategy<Value = Value> {
    let operand = |op: &'static str, value: BoxedStrategy<Value>| {
        (path(), value, any::<bool>()).prop_map(move |(path, value, ignore_case)| {
            let mut c = json!({"path": path, "value": value});
            if ignore_case {
                c["ignore_case"] = json!(true);
            }
            json!({ op: c })
        })
    };
    prop_oneof![
        path().prop_map(|p| json!({"exists": {"path": p}})),
        // A comparison with `null` never matches and is refused at load.
        select(vec!["eq", "ne", "contains"]).prop_flat_map(move |op| operand(
            op,
            json_value()
                .prop_filter("not null", |v| !v.is_null())
                .boxed()
        )),
        select(vec!["lt", "lte", "gt", "gte"])
            .prop_flat_map(move |op| operand(op, finite().boxed())),
        select(vec!["in", "not_in"]).prop_flat_map(move |op| operand(
            op,
            prop::collection::vec(scalar().prop_filter("not null", |v| !v.is_null()), 0..4)
                .prop_map(Value::Array)
                .boxed()
        )),
        select(vec!["starts_with", "ends_with"])
            .prop_flat_map(move |op| operand(op, text().prop_map(Value::from).boxed())),
        operand(
            "matches",
            select(vec![
                "^session_",
                "corp$",
                "\\d{3,}",
                "(?i)unknown",
                "^$",
                "[a-z]+@[a-z]+",
                "."
            ])
            .prop_map(Value::from)
            .boxed()
        ),
    ]
}

/// A random condition tree.
fn condition() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|c| json!({ "all": c })),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|c| json!({ "any": c })),
            inner.prop_map(|c| json!({ "not": c })),
        ]
    })
}

fn effect() -> impl Strategy<Value = Value> {
    prop_oneof![
        select(vec!["deny", "allow", "escalate"]).prop_map(Value::from),
        (
            select(vec!["risk_floor", "risk_ceiling", "set_risk"]),
            0u8..=100
        )
            .prop_map(|(e, n)| json!({ e: n })),
    ]
}

fn template() -> impl Strategy<Value = String> {
    prop_oneof![
        text().prop_map(|t| t.replace('{', "{{").replace('}', "}}")),
        (path(), "[a-z ]{0,8}").prop_map(|(p, t)| format!("{t} {{{p}}} {{{{literal}}}}")),
    ]
}

const NAMES: [&str; 4] = ["PAY_INVOICE", "EXPORT_CSV", "DROP_TABLE", "X"];

/// A well-formed pack named `P{index}`.
fn pack(index: usize) -> impl Strategy<Value = Value> {
    let applies = prop_oneof![
        prop::sample::subsequence(NAMES.to_vec(), 1..=4)
            .prop_map(|n| n.into_iter().map(str::to_owned).collect::<Vec<_>>()),
        Just(vec!["*".to_owned()]),
    ];
    let thresholds = (0u8..100)
        .prop_flat_map(|escalate| (Just(escalate), prop::option::of((escalate + 1)..=100)));
    let rule = (
        prop::option::of(condition()),
        effect(),
        template(),
        any::<bool>(),
    );
    (
        applies,
        prop::option::of(thresholds),
        (0u8..=100, prop::option::of(select(vec!["allow", "escalate", "deny"])), template()),
        prop::collection::vec(rule, 0..6),
        prop::collection::vec(path(), 0..2),
        prop::option::of(prop::collection::btree_map(
            key(),
            select(vec!["string", "number", "integer", "boolean", "object", "array"]),
            1..3,
        )),
        prop::option::of(select(vec!["deny", "escalate"])),
    )
        .prop_map(move |(applies, thresholds, default, rules, redact, schema, on_error)| {
            let covered: Vec<String> = if applies.contains(&"*".to_owned()) {
                NAMES.iter().map(|n| (*n).to_owned()).collect()
            } else {
                applies.clone()
            };
            let mut doc = json!({
                "name": format!("P{index}"),
                "version": "1.0.0",
                "applies_to": applies,
                "default": {"risk": default.0, "reason": default.2},
                "action_defaults": {covered[0].clone(): {"risk": default.0 / 2, "reason": "per action"}},
            });
            if let Some(e) = default.1 {
                doc["default"]["effect"] = json!(e);
            }
            if let Some((escalate, deny)) = thresholds {
                doc["thresholds"] = json!({"escalate_above": escalate});
                if let Some(d) = deny {
                    doc["thresholds"]["deny_at_or_above"] = json!(d);
                }
            }
            let rules: Vec<Value> = rules
                .into_iter()
                .enumerate()
                .map(|(i, (when, effect, reason, limited))| {
                    let mut r = json!({"id": format!("r{i}"), "effect": effect, "reason": reason});
                    if let Some(w) = when {
                        r["when"] = w;
                    }
                    if limited {
                        r["actions"] = json!([covered[i % covered.len()]]);
                    }
                    r
                })
                .collect();
            doc["rules"] = Value::Array(rules);
            let redact: Vec<String> = redact
                .into_iter()
                .filter(|p| p.starts_with("payload.") || p.starts_with("context."))
                .collect();
            doc["redact"] = json!(redact);
            if let Some(fields) = schema {
                doc["payload_schema"] = json!({ covered[0].clone(): fields });
            }
            if let Some(e) = on_error {
                doc["on_schema_error"] = json!(e);
            }
            doc
        })
}

fn packs() -> impl Strategy<Value = Vec<Value>> {
    (1usize..=3).prop_flat_map(|n| (0..n).map(pack).collect::<Vec<_>>())
}

/// An action as the wire takes it (`agent_id` and `action` not blank).
fn action() -> impl Strategy<Value = Action> {
    (
        prop_oneof![
            select(vec!["session_1", "bot", "SESSION_2"]).prop_map(str::to_owned),
            "\\PC{1,8}".prop_filter("not blank", |s| !s.trim().is_empty())
        ],
        select(vec![
            "PAY_INVOICE",
            "EXPORT_CSV",
            "DROP_TABLE",
            "X",
            "OTHER",
        ]),
        object(),
        object(),
        text(),
        prop::option::of("[a-z0-9-]{1,8}"),
    )
        .prop_map(|(agent, name, payload, context, reasoning, key)| {
            let mut a = Action::new(agent, name)
                .with_payload(Value::Object(payload))
                .with_context(Value::Object(context))
                .with_reasoning(reasoning);
            if let Some(k) = key {
                a = a.with_idempotency_key(k);
            }
            a
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Packs from random condition trees load, and evaluate random actions safely.
    #[test]
    fn random_packs_load_and_evaluate_every_action_safely(
        docs in packs(),
        actions in prop::collection::vec(action(), 1..5),
        deny_unmatched in any::<bool>(),
    ) {
        let mut loaded = Vec::new();
        for doc in &docs {
            match Pack::from_json_str(&doc.to_string()) {
                Ok(p) => loaded.push(p),
                Err(e) => prop_assert!(false, "a well-formed pack did not load: {e}\n{doc:#}"),
            }
        }
        // The lint runs on any pack that loads, and a rule it says can never match is
        // cited by no decision.
        let never: Vec<String> = sentinel_core::lint::lint(&loaded)
            .into_iter()
            .filter(|f| f.lint == sentinel_core::lint::Lint::NeverMatches)
            .map(|f| format!("{}/{}", f.pack, f.rule.unwrap_or_default()))
            .collect();
        let mut builder = Gateway::builder().packs(loaded);
        if deny_unmatched {
            builder = builder.unmatched(sentinel_core::Unmatched::Deny);
        }
        let gateway = builder.build().unwrap();
        let rt = runtime();
        for a in &actions {
            let d = rt.block_on(gateway.evaluate(a));
            prop_assert!(
                matches!(d.status, State::Executed | State::BlockedAwaitingAuth | State::Declined),
                "status {}", d.status
            );
            prop_assert!(d.risk_score <= 100);
            let again = rt.block_on(gateway.evaluate(a));
            prop_assert_eq!((d.status, d.risk_score, &d.rules, &d.analysis),
                            (again.status, again.risk_score, &again.rules, &again.analysis));
            prop_assert!(
                !d.rules.iter().any(|r| never.contains(r)),
                "a rule the lint says never matches matched: {:?}", d.rules
            );
            let effects: Vec<Effect> = d.matched.iter().map(|m| m.effect).collect();
            if effects.contains(&Effect::Deny) {
                prop_assert_eq!(d.status, State::Declined);
            }
            if effects.contains(&Effect::Escalate) {
                prop_assert_ne!(d.status, State::Executed);
            }
            let floor = effects.iter().filter_map(|e| match e { Effect::RiskFloor(n) => Some(*n), _ => None }).max();
            let ceiling = effects.iter().filter_map(|e| match e { Effect::RiskCeiling(n) => Some(*n), _ => None }).min();
            match (floor, ceiling) {
                (Some(f), _) => prop_assert!(d.risk_score >= f, "floor {} > {}", f, d.risk_score),
                (None, Some(c)) => prop_assert!(d.risk_score <= c, "ceiling {} < {}", c, d.risk_score),
                _ => {}
            }
            if d.packs.is_empty() && deny_unmatched {
                prop_assert_eq!(d.status, State::Declined);
            }
        }
    }

    /// A pack that loads re-serialises and reloads to an equal document.
    #[test]
    fn pack_documents_round_trip(doc in pack(0)) {
        let p = Pack::from_json_str(&doc.to_string()).unwrap();
        let written = serde_json::to_string_pretty(p.document()).unwrap();
        let again = Pack::from_json_str(&written).unwrap();
        prop_assert_eq!(again.document(), p.document());
        let third = Pack::from_json_str(&serde_json::to_string(again.document()).unwrap()).unwrap();
        prop_assert_eq!(third.content_hash(), again.content_hash());
    }

    /// A well-formed pack with a random value put anywhere in it loads or is refused with
    /// an error naming the pack; one that loads evaluates safely.
    #[test]
    fn mutated_packs_load_or_are_refused_and_evaluate_safely(
        doc in pack(0),
        at in any::<prop::sample::Index>(),
        value in json_value(),
        actions in prop::collection::vec(action(), 1..3),
    ) {
        let mut pointers = Vec::new();
        pointers_of(&doc, String::new(), &mut pointers);
        let mut doc = doc;
        if let Some(slot) = doc.pointer_mut(at.get::<String>(&pointers).as_str()) {
            *slot = value;
        }
        match Pack::from_json_str(&doc.to_string()) {
            Err(e) => prop_assert!(e.to_string().starts_with("in pack `"), "{}", e),
            Ok(p) => {
                let gateway = Gateway::builder().packs([p]).build().unwrap();
                let rt = runtime();
                for a in &actions {
                    let d = rt.block_on(gateway.evaluate(a));
                    prop_assert!(matches!(d.status, State::Executed | State::BlockedAwaitingAuth | State::Declined));
                    prop_assert!(d.risk_score <= 100);
                }
            }
        }
    }
}

/// Every JSON pointer into `value` (the document itself: `""`).
fn pointers_of(value: &Value, here: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers_of(
                    v,
                    format!("{here}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers_of(v, format!("{here}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(here);
}

// ---------------------------------------------------------------------------------------
// Arbitrary text.

/// Text made of JSON (and TOML) tokens, most of it almost well-formed.
fn json_ish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        select(vec![
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            "\"",
            "null",
            "true",
            "false",
            "-",
            "0",
            "1e400",
            "18446744073709551616",
            "-9223372036854775809",
            "0.5",
            "\"name\"",
            "\"version\"",
            "\"1.0.0\"",
            "\"applies_to\"",
            "\"rules\"",
            "\"when\"",
            "\"not\"",
            "\"all\"",
            "\"path\"",
            "\"value\"",
            "\"payload.amount\"",
            "\"agent_id\"",
            "\"action\"",
            "\"payload\"",
            "\"reasoning\"",
            "\"data\"",
            "\"id\"",
            "\"event_type\"",
            "\"call.answered\"",
            "[[packs]]",
            "[gateway]",
            "=",
            "\n",
            "\"\\u0000\"",
            "\"\\ud800\"",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,4}",
    ];
    prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![json_ish(), "\\PC{0,64}", any::<String>()]
}

/// Every parser, on one text: none may panic.
fn parse_everything(text: &str) {
    let _ = Pack::from_json_str(text).map_err(|e| e.to_string());
    let _ = Action::from_json_str(text).map_err(|e| e.to_string());
    let _ = sentinel_core::json::from_str(text).map_err(|e| e.to_string());
    let _ = GatewaySpec::from_toml_str(text).map_err(|e| e.to_string());
    let _ = GatewaySpec::from_json_str(text).map_err(|e| e.to_string());
    #[cfg(feature = "telnyx")]
    {
        let _ = sentinel_core::telnyx::CallEvent::parse(text.as_bytes());
        let _ = sentinel_core::telnyx::classify(text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_parser_panics_on_arbitrary_text(text in any_text()) {
        parse_everything(&text);
    }

    /// Strict JSON reads a subset of what serde_json reads, and reads it alike.
    #[test]
    fn strict_json_is_a_subset_of_serde_json(text in any_text()) {
        if let Ok(strict) = sentinel_core::json::from_str(&text) {
            prop_assert_eq!(Ok(strict), serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Actions and strict JSON.

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

// ---------------------------------------------------------------------------------------
// Configuration files.

fn seconds() -> impl Strategy<Value = Value> {
    prop_oneof![
        (1u32..=3600).prop_map(Value::from),
        (0.001f64..31_536_000.0).prop_map(Value::from),
    ]
}

/// Some of `entries`, as a table.
fn table(entries: Vec<(&'static str, BoxedStrategy<Value>)>) -> impl Strategy<Value = Value> {
    let n = entries.len();
    let (names, values): (Vec<_>, Vec<_>) = entries.into_iter().unzip();
    (prop::collection::vec(any::<bool>(), n), values).prop_map(move |(keep, values)| {
        let map: Map<String, Value> = names
            .iter()
            .zip(values)
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|((name, v), _)| ((*name).to_owned(), v))
            .collect();
        Value::Object(map)
    })
}

fn word() -> BoxedStrategy<Value> {
    "[A-Za-z0-9_./:-]{1,12}".prop_map(Value::from).boxed()
}

fn pick(items: &[&'static str]) -> BoxedStrategy<Value> {
    select(items.to_vec()).prop_map(Value::from).boxed()
}

fn pack_source() -> impl Strategy<Value = Value> {
    prop_oneof![
        pick(&[
            "VaultKeeper",
            "PrivacyShield",
            "OpsGuard",
            "packs/mine.json"
        ]),
        pick(&["VaultKeeper", "OpsGuard"]).prop_map(|n| json!({ "builtin": n })),
        word().prop_map(|p| json!({ "path": p })),
        word().prop_map(|d| json!({ "dir": d })),
        pack(0).prop_map(|doc| json!({ "inline": doc })),
    ]
}

/// A configuration from the spec's keys, with values of the right type.
fn config() -> impl Strategy<Value = Value> {
    let gateway = table(vec![
        ("unmatched", pick(&["escalate", "deny", "score"])),
        ("on_scorer_error", pick(&["escalate", "deny"])),
        ("escalation_timeout_s", seconds().boxed()),
        ("analysis_timeout_s", seconds().boxed()),
    ]);
    let store = table(vec![
        (
            "url",
            pick(&[
                "memory",
                "sqlite://data/s.db",
                "s.db",
                "postgres://db/x",
                "sqlite::memory:",
            ]),
        ),
        ("url_env", pick(&["DATABASE_URL"])),
        ("schema", pick(&["sentinel"])),
        (
            "memory_capacity",
            (1u64..1_000_000).prop_map(Value::from).boxed(),
        ),
        ("audit_key_env", pick(&["SENTINEL_AUDIT_KEY"])),
        ("audit_key_file", word()),
        ("checkpoint_interval_s", seconds().boxed()),
    ]);
    let groq = table(vec![
        ("model", word()),
        (
            "base_url",
            pick(&["https://api.groq.com/openai/v1", "http://127.0.0.1:9/v1"]),
        ),
        ("api_key_env", pick(&["GROQ_API_KEY"])),
        ("api_key_file", word()),
        ("timeout_s", seconds().boxed()),
        ("connect_timeout_s", seconds().boxed()),
        ("deadline_s", seconds().boxed()),
        ("max_retries", (0u32..10).prop_map(Value::from).boxed()),
        ("retry_backoff_s", seconds().boxed()),
        ("concurrency", (1u32..64).prop_map(Value::from).boxed()),
        ("cache_ttl_s", seconds().boxed()),
        (
            "redact_paths",
            prop::collection::vec(pick(&["payload.iban", "context.t"]), 0..3)
                .prop_map(Value::from)
                .boxed(),
        ),
    ]);
    let scorer = (pick(&["offline", "groq"]), prop::option::of(groq)).prop_map(|(kind, groq)| {
        let mut s = json!({ "kind": kind });
        if let Some(g) = groq {
            s["groq"] = g;
        }
        s
    });
    let telnyx = table(vec![
        ("api_key_env", pick(&["TELNYX_API_KEY"])),
        ("connection_id", word()),
        ("from_number", pick(&["+15551234567", "+4930123456"])),
        ("admin_number", pick(&["+15557654321"])),
        (
            "public_key",
            pick(&["WGZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY="]),
        ),
        ("public_url", pick(&["https://sentinel.example.com"])),
        ("api_base", pick(&["https://api.telnyx.com/v2"])),
        ("pin_env", pick(&["TELNYX_APPROVAL_PIN"])),
        (
            "gather_timeout_s",
            (1u64..=120).prop_map(Value::from).boxed(),
        ),
        ("max_replays", (0u64..=10).prop_map(Value::from).boxed()),
        ("ring_timeout_s", (5u64..=120).prop_map(Value::from).boxed()),
        (
            "call_time_limit_s",
            (30u64..=14_400).prop_map(Value::from).boxed(),
        ),
        ("voice", pick(&["female", "male"])),
        ("language", pick(&["en-US", "de-DE"])),
        (
            "redact_paths",
            prop::collection::vec(pick(&["payload.iban"]), 0..2)
                .prop_map(Value::from)
                .boxed(),
        ),
    ]);
    let approver = (pick(&["none", "telnyx"]), prop::option::of(telnyx)).prop_map(|(kind, t)| {
        let mut a = json!({ "kind": kind });
        if let Some(t) = t {
            a["telnyx"] = t;
        }
        a
    });
    let server = table(vec![
        ("bind", pick(&["127.0.0.1:8000", "0.0.0.0:80"])),
        ("public_url", pick(&["https://sentinel.example.com"])),
        ("request_timeout_s", seconds().boxed()),
        ("max_wait_s", seconds().boxed()),
        (
            "max_body_bytes",
            (1u64..10_000_000).prop_map(Value::from).boxed(),
        ),
        ("log_format", pick(&["text", "json"])),
        ("admin_token_env", word()),
        ("admin_token_file", word()),
        ("agent_keys_env", word()),
        ("agent_keys_file", word()),
    ]);
    table(vec![
        ("gateway", gateway.boxed()),
        (
            "packs",
            prop::collection::vec(pack_source(), 0..3)
                .prop_map(Value::from)
                .boxed(),
        ),
        ("store", store.boxed()),
        ("scorer", scorer.boxed()),
        ("approver", approver.boxed()),
        ("server", server.boxed()),
    ])
}

/// Sets `value` at a random key of a random section (or at the top).
fn mutated() -> impl Strategy<Value = Value> {
    let keys = vec![
        "gateway.unmatched",
        "gateway.escalation_timeout_s",
        "packs",
        "store.url",
        "store.memory_capacity",
        "store.checkpoint_interval_s",
        "scorer.kind",
        "scorer.groq.timeout_s",
        "scorer.groq.concurrency",
        "scorer.groq.max_retries",
        "approver.kind",
        "approver.telnyx.max_replays",
        "approver.telnyx.public_key",
        "server.max_body_bytes",
        "server.log_format",
        "gateway.nope",
        "nope",
        "$schema",
    ];
    (config(), select(keys), json_value()).prop_map(|(mut doc, at, value)| {
        let mut node = &mut doc;
        let parts: Vec<&str> = at.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            if !node.get(*part).is_some_and(Value::is_object) {
                node[*part] = json!({});
            }
            node = &mut node[*part];
        }
        node[parts[parts.len() - 1]] = value;
        doc
    })
}

/// A JSON document as TOML: one `key = value` line per top-level key, tables inline;
/// `None` when TOML cannot hold it (a `null`, an integer above `i64::MAX`) or it is not
/// an object.
fn to_toml(doc: &Value) -> Option<String> {
    fn value(v: &Value, out: &mut String) -> Option<()> {
        match v {
            Value::Null => return None,
            // JSON string escapes are TOML's, but TOML also wants DEL escaped.
            Value::String(s) => out.push_str(
                &Value::from(s.as_str())
                    .to_string()
                    .replace('\u{7f}', "\\u007f"),
            ),
            // TOML integers are 64-bit signed.
            Value::Number(n) if n.is_u64() && n.as_i64().is_none() => return None,
            Value::Bool(_) | Value::Number(_) => out.push_str(&v.to_string()),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    value(item, out)?;
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (i, (k, item)) in map.iter().enumerate() {
                    out.push_str(if i > 0 { ", " } else { " " });
                    value(&Value::from(k.as_str()), out)?;
                    out.push_str(" = ");
                    value(item, out)?;
                }
                out.push_str(if map.is_empty() { "}" } else { " }" });
            }
        }
        Some(())
    }
    let mut out = String::new();
    for (k, v) in doc.as_object()? {
        value(&Value::from(k.as_str()), &mut out)?;
        out.push_str(" = ");
        value(v, &mut out)?;
        out.push('\n');
    }
    Some(out)
}

/// A spec that loaded re-serialises (serde) and reloads to an equal spec, through JSON
/// and through TOML.
fn assert_round_trips(spec: &GatewaySpec) -> Result<(), TestCaseError> {
    let json = serde_json::to_string(spec).unwrap();
    let again = GatewaySpec::from_json_str(&json);
    prop_assert_eq!(again.as_ref(), Ok(spec), "{}", json);
    if let Some(toml) = to_toml(&serde_json::to_value(spec).unwrap()) {
        let again = GatewaySpec::from_toml_str(&toml);
        prop_assert_eq!(again.as_ref(), Ok(spec), "{}", toml);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A configuration of well-typed values loads alike from TOML and from JSON, and
    /// round-trips.
    #[test]
    fn configs_load_from_toml_and_json_alike_and_round_trip(doc in config()) {
        let json = doc.to_string();
        let from_json = GatewaySpec::from_json_str(&json);
        prop_assert!(from_json.is_ok(), "{:?}\n{}", from_json, json);
        // TOML holds no `null` (an inline pack may have one).
        if let Some(toml) = to_toml(&doc) {
            let from_toml = GatewaySpec::from_toml_str(&toml);
            prop_assert_eq!(&from_toml, &from_json, "{}", toml);
        }
        assert_round_trips(&from_json.unwrap())?;
    }

    /// With a random value at a random key, a configuration loads or is refused with a
    /// message; one that loads round-trips.
    #[test]
    fn mutated_configs_never_panic_and_round_trip_when_they_load(doc in mutated()) {
        let json = doc.to_string();
        match GatewaySpec::from_json_str(&json) {
            Ok(spec) => assert_round_trips(&spec)?,
            Err(e) => prop_assert!(!e.message.is_empty()),
        }
        if let Some(toml) = to_toml(&doc) {
            match GatewaySpec::from_toml_str(&toml) {
                Ok(spec) => assert_round_trips(&spec)?,
                Err(e) => prop_assert!(!e.message.is_empty()),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Telnyx webhooks and utterances.

#[cfg(feature = "telnyx")]
mod telnyx {
    use super::*;
    use sentinel_core::telnyx::{CallEvent, EventKind, Intent, classify};

    const EVENTS: [&str; 11] = [
        "call.initiated",
        "call.answered",
        "call.dtmf.received",
        "call.gather.ended",
        "call.transcription",
        "call.speak.started",
        "call.speak.ended",
        "call.hangup",
        "call.machine.detection.ended",
        "call.machine.premium.detection.ended",
        "call.bridged",
    ];
    const FIELDS: [&str; 13] = [
        "call_control_id",
        "call_leg_id",
        "call_session_id",
        "client_state",
        "from",
        "to",
        "digit",
        "digits",
        "status",
        "hangup_cause",
        "hangup_source",
        "result",
        "state",
    ];

    fn field_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            3 => text().prop_map(Value::from),
            1 => Just(json!("")),
            1 => Just(Value::Null),
            1 => any::<i32>().prop_map(Value::from),
            1 => any::<bool>().prop_map(Value::from),
        ]
    }

    fn body() -> impl Strategy<Value = Value> {
        let transcription = (
            prop::option::of(field_value()),
            prop::option::of(prop_oneof![
                any::<bool>().prop_map(Value::from),
                text().prop_map(Value::from)
            ]),
            prop::option::of(prop_oneof![
                (0.0f64..=1.0).prop_map(Value::from),
                text().prop_map(Value::from)
            ]),
        )
            .prop_map(|(t, f, c)| {
                let mut d = Map::new();
                t.map(|v| d.insert("transcript".into(), v));
                f.map(|v| d.insert("is_final".into(), v));
                c.map(|v| d.insert("confidence".into(), v));
                Value::Object(d)
            });
        (
            prop_oneof![4 => text().prop_map(Value::from), 1 => any::<u32>().prop_map(Value::from)],
            prop_oneof![6 => select(EVENTS.to_vec()).prop_map(Value::from), 1 => text().prop_map(Value::from), 1 => Just(Value::Null)],
            prop::option::of(prop_oneof![text().prop_map(Value::from), Just(Value::Null)]),
            prop::collection::btree_map(select(FIELDS.to_vec()), field_value(), 0..8),
            prop::option::of(transcription),
            any::<bool>(),
        )
            .prop_map(|(id, event_type, occurred_at, fields, transcription, meta)| {
                let mut payload: Map<String, Value> =
                    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                if let Some(t) = transcription {
                    payload.insert("transcription_data".into(), t);
                }
                let mut data = json!({"id": id, "event_type": event_type, "payload": payload, "record_type": "event"});
                if let Some(at) = occurred_at {
                    data["occurred_at"] = at;
                }
                let mut body = json!({ "data": data });
                if meta {
                    body["meta"] = json!({"attempt": 1, "delivered_to": "https://example.com"});
                }
                body
            })
    }

    fn words() -> impl Strategy<Value = Vec<String>> {
        let word = select(vec![
            "approve", "approved", "go", "ahead", "do", "it", "don't", "not", "never", "no", "yes",
            "decline", "deny", "block", "stop", "why", "what", "who", "is", "can", "you", "please",
            "ok", "so", "wait", "actually", "maybe", "bye", "goodbye", "hang", "up", "the",
            "payment", "vendor", "sentinel", "I", "we", "more", "details",
        ]);
        prop::collection::vec(word.prop_map(str::to_owned), 0..8)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A body parses exactly when `data.id` and `data.event_type` are strings, and then
        /// reads as its fields say.
        #[test]
        fn webhook_bodies_parse_as_their_fields_say(body in body()) {
            let text = body.to_string();
            let data = &body["data"];
            let payload = &data["payload"];
            let parsed = CallEvent::parse(text.as_bytes());
            let readable = data["id"].is_string() && data["event_type"].is_string();
            prop_assert_eq!(parsed.is_ok(), readable, "{:?}\n{}", parsed, text);
            let Ok(e) = parsed else { return Ok(()) };
            let field = |k: &str| payload.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
            prop_assert_eq!(Some(e.id.as_str()), data["id"].as_str());
            prop_assert_eq!(Some(e.event_type.as_str()), data["event_type"].as_str());
            prop_assert_eq!(e.occurred_at.as_deref(), data["occurred_at"].as_str());
            prop_assert_eq!(e.call.call_control_id, field("call_control_id"));
            prop_assert_eq!(e.call.client_state, field("client_state"));
            prop_assert_eq!(e.call.from, field("from"));
            prop_assert_eq!(e.call.to, field("to"));
            let or_empty = |k: &str| field(k).unwrap_or_default();
            match &e.kind {
                EventKind::DtmfReceived { digit } => prop_assert_eq!(digit, &or_empty("digit")),
                EventKind::GatherEnded { digits, status } => {
                    prop_assert_eq!(digits, &or_empty("digits"));
                    prop_assert_eq!(status, &or_empty("status"));
                }
                EventKind::Hangup { cause, source } => {
                    prop_assert_eq!(cause, &or_empty("hangup_cause"));
                    prop_assert_eq!(source, &or_empty("hangup_source"));
                }
                EventKind::Transcription { transcript, is_final, confidence } => {
                    let t = &payload["transcription_data"];
                    prop_assert_eq!(transcript.as_str(), t["transcript"].as_str().unwrap_or(""));
                    prop_assert_eq!(*is_final, t["is_final"].as_bool().unwrap_or(true));
                    prop_assert_eq!(*confidence, t["confidence"].as_f64());
                }
                EventKind::Other => prop_assert!(!EVENTS[..10].contains(&e.event_type.as_str())),
                _ => {}
            }
        }

        /// Total and deterministic; a `?` with words in it is a question; no words is unclear;
        /// case and spacing change nothing.
        #[test]
        fn the_classifier_is_total_and_ignores_case_and_spacing(words in words(), punct in select(vec!["", ".", ",", "!", "?", "..."]), spaces in 1usize..4) {
            let utterance = format!("{}{punct}", words.join(" "));
            let intent = classify(&utterance);
            prop_assert_eq!(classify(&utterance), intent);
            if words.is_empty() {
                prop_assert_eq!(intent, Intent::Unclear);
            } else if punct == "?" {
                prop_assert_eq!(intent, Intent::Question);
            }
            prop_assert_eq!(classify(&utterance.to_uppercase()), intent, "{}", utterance);
            let spaced = format!("  {}{punct} ", words.join(&" ".repeat(spaces)));
            prop_assert_eq!(classify(&spaced), intent, "{}", spaced);
        }

        #[test]
        fn the_classifier_never_panics(text in any::<String>()) {
            let intent = classify(&text);
            if !text.chars().any(char::is_alphanumeric) {
                prop_assert_eq!(intent, Intent::Unclear);
            } else if text.contains('?') {
                prop_assert_eq!(intent, Intent::Question);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Regressions and limits.

/// Nesting as deep as serde_json allows (128) is read or refused, never a stack overflow,
/// also on a thread with a tokio worker's stack (2 MiB).
#[test]
fn deep_nesting_is_refused_or_read_on_a_small_stack() {
    let run = || {
        for depth in [100usize, 127, 128, 129, 5000] {
            let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let payload = format!(
                r#"{{"agent_id":"a","action":"X","reasoning":"","payload":{{"x":{arrays}}}}}"#
            );
            let _ = Action::from_json_str(&payload);
            let _ = sentinel_core::json::from_str(&arrays);
            let nots = format!(
                r#"{{"name":"D","version":"1.0.0","applies_to":["X"],"rules":[{{"id":"r","effect":"deny","reason":"x","when":{}{}}}]}}"#,
                r#"{"not":"#.repeat(depth) + r#"{"exists":{"path":"payload.x"}}"#,
                "}".repeat(depth)
            );
            if let Ok(p) = Pack::from_json_str(&nots) {
                let gw = Gateway::builder().packs([p]).build().unwrap();
                let a = Action::new("a", "X").with_payload(json!({"x": 1}));
                let d = runtime().block_on(gw.evaluate(&a));
                assert!(
                    matches!(d.status, State::Executed | State::Declined),
                    "{}",
                    d.status
                );
            }
            let _ = GatewaySpec::from_json_str(&format!(r#"{{"packs":[{{"inline":{arrays}}}]}}"#));
            let toml = format!("[[packs]]\ninline = {{ a = {arrays} }}\n");
            if let Ok(spec) = GatewaySpec::from_toml_str(&toml) {
                let _ = spec.load_packs();
            }
            #[cfg(feature = "telnyx")]
            let _ = sentinel_core::telnyx::CallEvent::parse(
                format!(r#"{{"data":{{"id":"e","event_type":"x","payload":{{"a":{arrays}}}}}}}"#)
                    .as_bytes(),
            );
        }
    };
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}

/// Regression (found by `actions_round_trip_with_the_same_canonical_hash`): serde_json's
/// default float parser may read a float 1 ULP off, so an action re-read from its own JSON
/// (the store, a receipt) held another number and hashed differently. sentinel-core turns
/// on serde_json's `float_roundtrip`: floats are read as written.
#[test]
fn float_literals_are_read_exactly_so_actions_keep_their_hash() {
    // The last one is the `action` fuzz target's find
    // (fuzz/corpus/action/regression-float-1ulp.json).
    for text in [
        "-1.179916694386685e-29",
        "2060638.5307281546",
        "5000.000000000001",
        "10.16744079735051614",
    ] {
        let exact: f64 = text.parse().unwrap();
        let sent = format!(
            r#"{{"agent_id":"a","action":"X","reasoning":"","payload":{{"amount":{text}}}}}"#
        );
        let action = Action::from_json_str(&sent).unwrap();
        assert_eq!(action.payload["amount"].as_f64(), Some(exact), "{text}");
        let again = Action::from_json_str(&serde_json::to_string(&action).unwrap()).unwrap();
        assert_eq!(again.canonical_hash(), action.canonical_hash(), "{text}");
        assert_eq!(
            sentinel_core::json::from_str(text).unwrap().as_f64(),
            Some(exact)
        );
    }
}

/// Regression (found by `configs_load_from_toml_and_json_alike_and_round_trip`): the same
/// number of seconds read differently from JSON than from TOML (whose parser is exact).
#[test]
fn a_config_reads_the_same_seconds_from_json_and_toml() {
    let text = "2060638.5307281546";
    let json = GatewaySpec::from_json_str(&format!(
        r#"{{"scorer":{{"groq":{{"connect_timeout_s":{text}}}}}}}"#
    ))
    .unwrap();
    let toml = GatewaySpec::from_toml_str(&format!("[scorer.groq]\nconnect_timeout_s = {text}\n"))
        .unwrap();
    assert_eq!(json, toml);
    let seconds = json
        .scorer
        .groq
        .and_then(|g| g.connect_timeout_s)
        .map(|s| s.get());
    assert_eq!(seconds, Some(text.parse::<f64>().unwrap()));
}

/// Regression: `--5` (and any run of minus signs before digits) was reported as an
/// integer "too large to keep exactly"; it is a syntax error like any malformed number.
#[test]
fn malformed_numbers_are_syntax_errors_not_large_integers() {
    for text in [
        "--5",
        "[1, ---12]",
        "{\"amount\": --123456789012345678901234}",
    ] {
        let got = sentinel_core::json::from_str(text);
        assert!(
            matches!(got, Err(StrictJsonError::Syntax { .. })),
            "{text}: {got:?}"
        );
    }
    assert!(matches!(
        sentinel_core::json::from_str("-123456789012345678901234"),
        Err(StrictJsonError::InexactInteger { .. })
    ));
}

#[test]
fn the_seed_packs_round_trip() {
    let mut docs = BTreeMap::new();
    for p in Pack::seed_packs().unwrap() {
        let again = Pack::from_json_str(&serde_json::to_string(p.document()).unwrap()).unwrap();
        assert_eq!(again.document(), p.document());
        docs.insert(p.name().to_owned(), again.content_hash().to_owned());
    }
    assert_eq!(docs.len(), 3);
}
