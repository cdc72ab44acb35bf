//! The lint is sound: a rule it says can never match matches no action, and a rule it
//! says is shadowed never matches without the rule that shadows it. Checked by brute force
//! over every action of a small domain, against the evaluator itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use proptest::sample::select;
use sentinel_core::lint::{self, Lint};
use sentinel_core::{Action, Gateway, Pack};
use serde_json::{Value, json};

/// Values `payload.n` and `payload.v` take (`None`: absent).
fn domain() -> Vec<Option<Value>> {
    let mut values: Vec<Option<Value>> = (-1..=12).map(|n| Some(json!(n))).collect();
    values.extend(
        [
            json!(2.5),
            json!("5"),
            json!(" 7 "),
            json!(true),
            json!("a"),
            json!("A"),
            json!("b"),
            json!("true"),
        ]
        .into_iter()
        .map(Some),
    );
    values.push(None);
    values
}

fn leaf() -> impl Strategy<Value = Value> {
    let path = select(vec!["payload.n", "payload.v"]);
    let number = (-2i64..=13).prop_map(Value::from);
    let scalar = prop_oneof![
        (-2i64..=13).prop_map(Value::from),
        select(vec!["a", "A", "b", "5", "true"]).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
    ];
    prop_oneof![
        path.clone().prop_map(|p| json!({"exists": {"path": p}})),
        (select(vec!["lt", "lte", "gt", "gte"]), path.clone(), number)
            .prop_map(|(op, p, v)| json!({op: {"path": p, "value": v}})),
        (
            select(vec!["eq", "ne"]),
            path.clone(),
            scalar.clone(),
            any::<bool>()
        )
            .prop_map(|(op, p, v, ic)| json!({op: {"path": p, "value": v, "ignore_case": ic}})),
        (
            select(vec!["in", "not_in"]),
            path,
            prop::collection::vec(scalar, 0..3)
        )
            .prop_map(|(op, p, v)| json!({op: {"path": p, "value": v}})),
    ]
}

fn condition() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(|c| json!({ "all": c })),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|c| json!({ "any": c })),
            inner.prop_map(|c| json!({ "not": c })),
        ]
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn never_matching_and_shadowed_rules_are_so_for_every_action(
        broad in condition(),
        narrow in condition(),
    ) {
        let doc = json!({"name": "P", "version": "1.0.0", "applies_to": ["A"],
            "default": {"risk": 60, "reason": "x"},
            "rules": [
                {"id": "broad", "effect": {"risk_floor": 95}, "reason": "b", "when": broad},
                {"id": "narrow", "effect": {"set_risk": 65}, "reason": "n", "when": narrow}]});
        let pack = Pack::from_json_str(&doc.to_string()).unwrap();
        let findings = lint::lint(std::slice::from_ref(&pack));
        let never = |id: &str| findings.iter().any(|f| f.lint == Lint::NeverMatches && f.rule.as_deref() == Some(id));
        let shadowed = findings.iter().any(|f| f.lint == Lint::Shadowed && f.rule.as_deref() == Some("narrow"));
        let gateway = Gateway::builder().packs(vec![pack]).build().unwrap();
        let rt = runtime();
        for n in domain() {
            for v in domain() {
                let mut payload = serde_json::Map::new();
                if let Some(n) = &n { payload.insert("n".into(), n.clone()); }
                if let Some(v) = &v { payload.insert("v".into(), v.clone()); }
                let action = Action::new("bot", "A").with_payload(Value::Object(payload));
                let d = rt.block_on(gateway.evaluate(&action));
                let hit = |id: &str| d.rules.iter().any(|r| r == &format!("P/{id}"));
                for id in ["broad", "narrow"] {
                    prop_assert!(!(never(id) && hit(id)), "`{}` said never to match, but matches n={:?} v={:?}\n{:#}", id, n, v, doc);
                }
                prop_assert!(!(shadowed && hit("narrow") && !hit("broad")),
                    "`narrow` said shadowed, but matches alone for n={:?} v={:?}\n{:#}", n, v, doc);
            }
        }
    }
}
