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

mod actions;
mod config;
#[cfg(feature = "telnyx")]
mod telnyx;
mod text;

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
                !d.rules.iter().any(|r| never.iter().any(|n| n == r)),
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
