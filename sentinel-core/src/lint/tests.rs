use serde_json::{Value, json};

use super::*;

fn pack(doc: Value) -> Pack {
    Pack::from_json_str(&doc.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

fn rules(rules: Value) -> Pack {
    pack(
        json!({"name": "P", "version": "1.0.0", "applies_to": ["EXPORT_CSV"],
                "default": {"risk": 60, "reason": "unclassified"}, "rules": rules}),
    )
}

fn ids(findings: &[Finding]) -> Vec<(Lint, Option<&str>, &str)> {
    findings
        .iter()
        .map(|f| (f.lint, f.rule.as_deref(), f.pointer.as_str()))
        .collect()
}

#[test]
fn the_seed_packs_have_no_errors() {
    let findings = lint(&Pack::seed_packs().unwrap());
    assert!(
        findings.iter().all(|f| f.severity == Severity::Warning),
        "{findings:#?}"
    );
}

#[test]
fn contradictory_conditions_never_match() {
    let p = rules(
        json!([{"id": "odd", "effect": "deny", "reason": "x", "when": {"all": [
        {"gt": {"path": "payload.amount", "value": 10}},
        {"lt": {"path": "payload.amount", "value": 5}}]}}]),
    );
    let f = lint(&[p]);
    assert_eq!(
        ids(&f),
        [(Lint::NeverMatches, Some("odd"), "/rules/0/when/all/1/lt")]
    );
    assert_eq!(
        f[0].to_string(),
        "in pack `P`, rule `odd`, at `/rules/0/when/all/1/lt`: the rule can never match: `payload.amount` > 10 contradicts `payload.amount` < 5"
    );
    assert_eq!(f[0].severity, Severity::Error);
}

#[test]
fn a_band_below_a_broader_floor_is_shadowed_and_says_by_which_rule() {
    let p = rules(json!([
        {"id": "bulk", "effect": {"risk_floor": 95}, "reason": "x",
         "when": {"gt": {"path": "payload.record_count", "value": 10}}},
        {"id": "medium", "effect": {"set_risk": 65}, "reason": "x",
         "when": {"all": [{"gte": {"path": "payload.record_count", "value": 50}},
                          {"lte": {"path": "payload.record_count", "value": 500}}]}}]));
    let f = lint(&[p]);
    assert_eq!(ids(&f), [(Lint::Shadowed, Some("medium"), "/rules/1")]);
    assert_eq!(f[0].related.as_ref().map(|r| r.rule.as_str()), Some("bulk"));
    assert!(
        f[0].message.contains("rule `bulk`") && f[0].message.contains("`set_risk` 65 never shows"),
        "{}",
        f[0].message
    );
    // The seed pack's way: the broader rule leaves the band out.
    let fixed = rules(json!([
        {"id": "bulk", "effect": {"risk_floor": 95}, "reason": "x",
         "when": {"all": [{"gt": {"path": "payload.record_count", "value": 10}},
                          {"not": {"all": [{"gte": {"path": "payload.record_count", "value": 50}},
                                           {"lte": {"path": "payload.record_count", "value": 500}}]}}]}},
        {"id": "medium", "effect": {"set_risk": 65}, "reason": "x",
         "when": {"all": [{"gte": {"path": "payload.record_count", "value": 50}},
                          {"lte": {"path": "payload.record_count", "value": 500}}]}}]));
    assert_eq!(lint(&[fixed]), []);
}

#[test]
fn weaker_or_later_effects_are_not_shadowed() {
    let p = rules(json!([
        {"id": "low", "effect": {"risk_floor": 60}, "reason": "x",
         "when": {"gt": {"path": "payload.record_count", "value": 10}}},
        {"id": "high", "effect": {"risk_floor": 90}, "reason": "x",
         "when": {"gt": {"path": "payload.record_count", "value": 100}}},
        {"id": "always-escalate", "effect": "escalate", "reason": "x",
         "when": {"gt": {"path": "payload.record_count", "value": 1000}}}]));
    assert_eq!(lint(&[p]), []);
    let p = rules(json!([
        {"id": "first", "effect": {"set_risk": 20}, "reason": "x"},
        {"id": "second", "effect": {"set_risk": 40}, "reason": "x",
         "when": {"eq": {"path": "payload.kind", "value": "x"}}}]));
    assert_eq!(
        ids(&lint(&[p])),
        [(Lint::Shadowed, Some("second"), "/rules/1")]
    );
}

#[test]
fn set_risk_conflicts_between_packs_name_both() {
    let a = pack(
        json!({"name": "A", "version": "1.0.0", "applies_to": ["PAY"],
        "rules": [{"id": "low", "effect": {"set_risk": 10}, "reason": "x",
                   "when": {"lt": {"path": "payload.amount", "value": 100}}}]}),
    );
    let b = pack(
        json!({"name": "B", "version": "1.0.0", "applies_to": ["PAY", "X"],
        "rules": [{"id": "mid", "effect": {"set_risk": 70}, "reason": "x",
                   "when": {"gt": {"path": "payload.amount", "value": 50}}},
                  {"id": "big", "effect": {"set_risk": 90}, "reason": "x",
                   "when": {"gt": {"path": "payload.amount", "value": 100}}}]}),
    );
    let f: Vec<Finding> = lint(&[a, b])
        .into_iter()
        .filter(|f| f.lint == Lint::SetRiskConflict)
        .collect();
    assert_eq!(
        ids(&f),
        [(Lint::SetRiskConflict, Some("mid"), "/rules/0/effect")]
    );
    assert_eq!(f[0].pack, "B");
    assert_eq!(
        f[0].related,
        Some(Related {
            pack: "A".into(),
            rule: "low".into(),
            pointer: "/rules/0/effect".into()
        })
    );
    assert!(f[0].message.contains("on `PAY`"), "{}", f[0].message);
}

#[test]
fn dead_regexes_and_mistyped_operands_are_errors() {
    let p = pack(
        json!({"name": "T", "version": "1.0.0", "applies_to": ["EXPORT_CSV"],
        "default": {"risk": 60, "reason": "x"},
        "payload_schema": {"EXPORT_CSV": {"record_count": "integer", "contains_pii": "boolean", "tags": "array"}},
        "rules": [
            {"id": "re", "effect": "deny", "reason": "x",
             "when": {"matches": {"path": "reasoning", "value": "done$ now"}}},
            {"id": "pii", "effect": "deny", "reason": "x",
             "when": {"eq": {"path": "payload.contains_pii", "value": "yes"}}},
            {"id": "count", "effect": "deny", "reason": "x",
             "when": {"any": [{"eq": {"path": "payload.record_count", "value": 2.5}},
                              {"gt": {"path": "payload.tags", "value": 3}}]}},
            {"id": "fine", "effect": "deny", "reason": "x",
             "when": {"all": [{"eq": {"path": "payload.contains_pii", "value": "TRUE"}},
                              {"in": {"path": "payload.record_count", "value": ["5", 7]}},
                              {"contains": {"path": "payload.tags", "value": "x"}}]}}]}),
    );
    let f = lint(&[p]);
    assert_eq!(
        ids(&f),
        [
            (
                Lint::RegexNeverMatches,
                Some("re"),
                "/rules/0/when/matches/value"
            ),
            (Lint::TypeConflict, Some("pii"), "/rules/1/when/eq/value"),
            (
                Lint::TypeConflict,
                Some("count"),
                "/rules/2/when/any/0/eq/value"
            ),
            (
                Lint::TypeConflict,
                Some("count"),
                "/rules/2/when/any/1/gt/value"
            ),
        ]
    );
    assert_eq!(
        f[1].message,
        "`payload.contains_pii` is declared boolean in `payload_schema`, but `eq` compares with `\"yes\"`, which cannot be one: it can never match"
    );
}

#[test]
fn uncovered_actions_and_moot_effects_are_warnings() {
    let p = pack(
        json!({"name": "U", "version": "1.0.0", "applies_to": ["A", "B", "C"],
        "thresholds": {"escalate_above": 50, "deny_at_or_above": 90},
        "action_defaults": {"C": {"risk": 10, "reason": "c"}},
        "rules": [
            {"id": "low-floor", "actions": ["A"], "effect": {"risk_floor": 40}, "reason": "x"},
            {"id": "high-cap", "actions": ["A"], "effect": {"risk_ceiling": 95}, "reason": "x"},
            {"id": "useful-cap", "actions": ["A"], "effect": {"risk_ceiling": 80}, "reason": "x",
             "when": {"gt": {"path": "payload.amount", "value": 1}}}]}),
    );
    let f = lint(std::slice::from_ref(&p));
    assert_eq!(
        ids(&f),
        [
            (Lint::UncoveredAction, None, "/applies_to/1"),
            (Lint::MootEffect, Some("low-floor"), "/rules/0/effect"),
            (Lint::MootEffect, Some("high-cap"), "/rules/1/effect"),
        ]
    );
    assert!(f.iter().all(|f| f.severity == Severity::Warning));
    // A stricter pack on the same action makes the floor matter.
    let strict = pack(json!({"name": "S", "version": "1.0.0", "applies_to": ["A"],
        "default": {"risk": 10, "reason": "s"}, "thresholds": {"escalate_above": 30}}));
    let f = lint(&[p, strict]);
    assert!(
        !f.iter().any(|f| f.rule.as_deref() == Some("low-floor")),
        "{f:#?}"
    );
}

#[test]
fn load_errors_become_findings() {
    let e = Pack::from_json_str(
        &json!({"name": "N", "version": "1.0.0", "applies_to": ["A"], "rules": [
            {"id": "nil", "effect": "deny", "reason": "x", "when": {"eq": {"path": "payload.v", "value": null}}}]})
        .to_string(),
    )
    .unwrap_err();
    let f = Finding::from(&e);
    assert_eq!(
        (f.lint, f.severity, f.rule.as_deref(), f.pointer.as_str()),
        (
            Lint::InvalidPack,
            Severity::Error,
            Some("nil"),
            "/rules/0/when/eq/value"
        )
    );
    let text = serde_json::to_value(&f).unwrap();
    assert_eq!(text["lint"], "invalid-pack");
    assert_eq!(text["severity"], "error");
}
