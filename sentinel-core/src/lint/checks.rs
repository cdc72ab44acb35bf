//! The lint's checks, over packs already loaded.

use std::collections::BTreeSet;

use serde_json::Value;

use super::logic::{self, Cube};
use super::{Finding, Lint};
use crate::pack::Pack;
use crate::pack::format::{ConditionSpec, DefaultSpec, Effect, FieldType};

/// The action names a rule applies to: every action (a `"*"` pack's general rule), or
/// these.
#[derive(Debug, Clone, PartialEq)]
enum Actions {
    All,
    Names(BTreeSet<String>),
}

impl Actions {
    fn of(pack: &Pack, rule: Option<&Vec<String>>) -> Self {
        match rule {
            Some(names) => Actions::Names(names.iter().cloned().collect()),
            None if pack.document().applies_to.iter().any(|a| a == "*") => Actions::All,
            None => Actions::Names(pack.document().applies_to.iter().cloned().collect()),
        }
    }

    fn within(&self, other: &Actions) -> bool {
        match (self, other) {
            (_, Actions::All) => true,
            (Actions::All, Actions::Names(_)) => false,
            (Actions::Names(a), Actions::Names(b)) => a.is_subset(b),
        }
    }

    /// The names both apply to (`*` when both apply to every action); `None` when none.
    fn common(&self, other: &Actions) -> Option<Vec<String>> {
        let names: Vec<String> = match (self, other) {
            (Actions::All, Actions::All) => vec!["*".to_owned()],
            (Actions::All, Actions::Names(n)) | (Actions::Names(n), Actions::All) => {
                n.iter().cloned().collect()
            }
            (Actions::Names(a), Actions::Names(b)) => a.intersection(b).cloned().collect(),
        };
        (!names.is_empty()).then_some(names)
    }

    fn names(&self) -> Vec<String> {
        match self {
            Actions::All => vec!["*".to_owned()],
            Actions::Names(n) => n.iter().cloned().collect(),
        }
    }
}

/// What the lint knows about one rule.
struct RuleInfo {
    index: usize,
    id: String,
    actions: Actions,
    effect: Effect,
    /// The condition's alternatives; `None` when too large to analyse.
    cubes: Option<Vec<Cube>>,
    /// The rule can never match.
    never: bool,
}

pub(super) fn run(packs: &[Pack]) -> Vec<Finding> {
    let infos: Vec<Vec<RuleInfo>> = packs.iter().map(rule_infos).collect();
    let mut out = Vec::new();
    for (pack, rules) in packs.iter().zip(&infos) {
        never_matching(pack, rules, &mut out);
        regexes_and_types(pack, &mut out);
        shadowed(pack, rules, &mut out);
        uncovered(pack, &mut out);
        moot_effects(packs, pack, rules, &mut out);
    }
    set_risk_conflicts(packs, &infos, &mut out);
    out
}

fn rule_infos(pack: &Pack) -> Vec<RuleInfo> {
    pack.document()
        .rules
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            let cubes = logic::dnf(spec.when.as_ref(), &format!("/rules/{index}/when"));
            let never = cubes
                .as_ref()
                .is_some_and(|cs| cs.iter().all(|c| logic::contradiction(c).is_some()));
            RuleInfo {
                index,
                id: spec.id.clone(),
                actions: Actions::of(pack, spec.actions.as_ref()),
                effect: spec.effect,
                cubes,
                never,
            }
        })
        .collect()
}

fn never_matching(pack: &Pack, rules: &[RuleInfo], out: &mut Vec<Finding>) {
    for rule in rules.iter().filter(|r| r.never) {
        let Some(cubes) = &rule.cubes else { continue };
        let whys: Vec<(String, String)> = cubes
            .iter()
            .filter_map(|c| logic::contradiction(c))
            .collect();
        let (message, pointer) = match whys.as_slice() {
            [(why, pointer)] => (format!("the rule can never match: {why}"), pointer.clone()),
            [] => (
                "the rule can never match: its condition is an empty `any`".to_owned(),
                format!("/rules/{}/when", rule.index),
            ),
            [(why, _), ..] => (
                format!(
                    "the rule can never match: none of its {} alternatives can hold (the first: {why})",
                    whys.len()
                ),
                format!("/rules/{}/when", rule.index),
            ),
        };
        out.push(Finding::new(
            Lint::NeverMatches,
            pack,
            Some(&rule.id),
            pointer,
            message,
        ));
    }
}

/// Every comparison of a condition, with its operator and pointer.
fn leaves<'a>(
    spec: &'a ConditionSpec,
    pointer: String,
    out: &mut Vec<(&'static str, &'a crate::pack::format::Comparison, String)>,
) {
    let list = |items: &'a [ConditionSpec], key: &str, out: &mut Vec<_>| {
        for (i, c) in items.iter().enumerate() {
            leaves(c, format!("{pointer}/{key}/{i}"), out);
        }
    };
    let (op, c) = match spec {
        ConditionSpec::All(items) => return list(items, "all", out),
        ConditionSpec::Any(items) => return list(items, "any", out),
        ConditionSpec::Not(inner) => return leaves(inner, format!("{pointer}/not"), out),
        ConditionSpec::Exists(_) | ConditionSpec::Budget(_) | ConditionSpec::Rate(_) => return,
        ConditionSpec::Eq(c) => ("eq", c),
        ConditionSpec::Ne(c) => ("ne", c),
        ConditionSpec::Lt(c) => ("lt", c),
        ConditionSpec::Lte(c) => ("lte", c),
        ConditionSpec::Gt(c) => ("gt", c),
        ConditionSpec::Gte(c) => ("gte", c),
        ConditionSpec::In(c) => ("in", c),
        ConditionSpec::NotIn(c) => ("not_in", c),
        ConditionSpec::Contains(c) => ("contains", c),
        ConditionSpec::StartsWith(c) => ("starts_with", c),
        ConditionSpec::EndsWith(c) => ("ends_with", c),
        ConditionSpec::Matches(c) => ("matches", c),
    };
    out.push((op, c, format!("{pointer}/{op}")));
}

fn regexes_and_types(pack: &Pack, out: &mut Vec<Finding>) {
    let doc = pack.document();
    for (index, spec) in doc.rules.iter().enumerate() {
        let Some(when) = &spec.when else { continue };
        let mut found = Vec::new();
        leaves(when, format!("/rules/{index}/when"), &mut found);
        let actions = Actions::of(pack, spec.actions.as_ref());
        for (op, c, pointer) in found {
            if op == "matches"
                && let Some(pattern) = c.value.as_str()
                && let Some(why) = super::regex::never_matches(pattern, c.ignore_case)
            {
                out.push(Finding::new(
                    Lint::RegexNeverMatches,
                    pack,
                    Some(&spec.id),
                    format!("{pointer}/value"),
                    format!("regular expression `{pattern}` can never match: {why}"),
                ));
            }
            let Some(key) = c.path.strip_prefix("payload.") else {
                continue;
            };
            let Some(kind) = declared_type(pack, &actions, key) else {
                continue;
            };
            if let Some(why) = type_conflict(kind, op, &c.value) {
                let outcome = if matches!(op, "ne" | "not_in") {
                    "it holds for every well-typed value"
                } else {
                    "it can never match"
                };
                out.push(Finding::new(
                    Lint::TypeConflict,
                    pack,
                    Some(&spec.id),
                    format!("{pointer}/value"),
                    format!(
                        "`{}` is declared {} in `payload_schema`, but `{op}` {why}: {outcome}",
                        c.path,
                        kind.as_str()
                    ),
                ));
            }
        }
    }
}

/// The type the schema declares for `payload.<key>` on every action the rule applies to
/// (one type, or nothing when some action leaves it undeclared or types differ).
fn declared_type(pack: &Pack, actions: &Actions, key: &str) -> Option<FieldType> {
    let schema = &pack.document().payload_schema;
    let every = schema.get("*").and_then(|f| f.get(key)).copied();
    let types: Vec<Option<FieldType>> = match actions {
        Actions::All => vec![every],
        Actions::Names(names) => names
            .iter()
            .map(|n| schema.get(n).and_then(|f| f.get(key)).copied().or(every))
            .collect(),
    };
    let first = (*types.first()?)?;
    types.iter().all(|t| *t == Some(first)).then_some(first)
}

/// Why an operand cannot meet a field of type `kind`, or `None` when it may.
fn type_conflict(kind: FieldType, op: &str, value: &Value) -> Option<String> {
    use FieldType as T;
    let structured = matches!(kind, T::Object | T::Array);
    match op {
        "lt" | "lte" | "gt" | "gte" => {
            matches!(kind, T::Boolean | T::Object | T::Array).then(|| "compares numbers".to_owned())
        }
        "starts_with" | "ends_with" | "matches" => structured.then(|| "compares text".to_owned()),
        "contains" => (kind == T::Object).then(|| "needs an array or text".to_owned()),
        "in" | "not_in" => {
            let items = value.as_array()?;
            (!items.is_empty() && items.iter().all(|v| !fits(kind, v)))
                .then(|| format!("compares with {value}, none of which can be one"))
        }
        _ => (!fits(kind, value)).then(|| format!("compares with `{value}`, which cannot be one")),
    }
}

/// True when a field of type `kind` may equal `value` (quoted numbers and booleans compare
/// by value).
fn fits(kind: FieldType, value: &Value) -> bool {
    use FieldType as T;
    let number = || match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match kind {
        T::Number => number().is_some(),
        T::Integer => number().is_some_and(|f| f.fract() == 0.0),
        T::Boolean => match value {
            Value::Bool(_) => true,
            Value::String(s) => {
                let s = s.trim();
                s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
            }
            _ => false,
        },
        T::String => !matches!(value, Value::Array(_) | Value::Object(_)),
        T::Object => value.is_object(),
        T::Array => value.is_array(),
    }
}

/// How `strong` makes `weak` moot when it matches whenever `weak` does; `strong_first`
/// says whether `strong` comes first in the pack.
fn dominates(strong: Effect, weak: Effect, strong_first: bool) -> Option<String> {
    use Effect::*;
    let tie = |same: bool| same && strong_first;
    Some(match (strong, weak) {
        (Deny, Deny) | (Escalate, Escalate) | (Allow, Allow) if strong_first => {
            "with the same effect".to_owned()
        }
        (Deny, Escalate | Allow | RiskFloor(_) | RiskCeiling(_)) => {
            "and declines the action".to_owned()
        }
        (Escalate, Allow) => "and escalates, which beats `allow`".to_owned(),
        (RiskFloor(n), RiskFloor(m)) if m < n || tie(m == n) => {
            format!("and its `risk_floor` {n} is at least this one's ({m})")
        }
        (RiskFloor(n), SetRisk(m)) if m < n => {
            format!("and lifts the score to at least {n}, so this `set_risk` {m} never shows")
        }
        (RiskCeiling(n), RiskCeiling(m)) if m > n || tie(m == n) => {
            format!("and its `risk_ceiling` {n} is at most this one's ({m})")
        }
        (RiskCeiling(n), SetRisk(m)) if m > n => {
            format!("and caps the score at {n}, so this `set_risk` {m} never shows")
        }
        (SetRisk(n), SetRisk(m)) if strong_first => {
            format!("and comes first, so its `set_risk` {n} wins over this one's ({m})")
        }
        _ => return None,
    })
}

fn shadowed(pack: &Pack, rules: &[RuleInfo], out: &mut Vec<Finding>) {
    for weak in rules.iter().filter(|r| !r.never) {
        let Some(weak_cubes) = &weak.cubes else {
            continue;
        };
        let by = rules
            .iter()
            .filter(|s| s.index != weak.index && !s.never)
            .find_map(|strong| {
                let cubes = strong.cubes.as_ref()?;
                if !weak.actions.within(&strong.actions) || !logic::subsumed(weak_cubes, cubes) {
                    return None;
                }
                dominates(strong.effect, weak.effect, strong.index < weak.index)
                    .map(|how| (strong, how))
            });
        if let Some((strong, how)) = by {
            out.push(
                Finding::new(
                    Lint::Shadowed,
                    pack,
                    Some(&weak.id),
                    format!("/rules/{}", weak.index),
                    format!(
                        "the rule is shadowed by rule `{}`: whenever it matches, `{}` matches too {how}",
                        strong.id, strong.id
                    ),
                )
                .with_related(pack, &strong.id, format!("/rules/{}", strong.index)),
            );
        }
    }
}

fn uncovered(pack: &Pack, out: &mut Vec<Finding>) {
    let doc = pack.document();
    if doc.default != DefaultSpec::default() {
        return;
    }
    for (i, name) in doc.applies_to.iter().enumerate() {
        let addressed = name == "*"
            || doc.action_defaults.contains_key(name)
            || doc
                .rules
                .iter()
                .any(|r| r.actions.as_ref().is_none_or(|a| a.contains(name)));
        if !addressed {
            out.push(Finding::new(
                Lint::UncoveredAction,
                pack,
                None,
                format!("/applies_to/{i}"),
                format!(
                    "no rule applies to `{name}`, it has no `action_defaults` entry and the pack has no `default`: every `{name}` gets the generic default risk {}",
                    doc.default.risk
                ),
            ));
        }
    }
}

/// The strictest thresholds over the packs applying to an action name (`*`: the packs
/// applying to every action).
fn thresholds(packs: &[Pack], action: &str) -> (u8, Option<u8>) {
    packs
        .iter()
        .filter(|p| {
            let to = &p.document().applies_to;
            to.iter().any(|a| a == "*") || (action != "*" && to.iter().any(|a| a == action))
        })
        .fold((100, None), |(esc, deny), p| {
            let d = match (deny, p.deny_at_or_above) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            (esc.min(p.escalate_above), d)
        })
}

fn moot_effects(packs: &[Pack], pack: &Pack, rules: &[RuleInfo], out: &mut Vec<Finding>) {
    for rule in rules.iter().filter(|r| !r.never) {
        let limits: Vec<(u8, Option<u8>)> = rule
            .actions
            .names()
            .iter()
            .map(|a| thresholds(packs, a))
            .collect();
        let Some(&(esc, deny)) = limits.first() else {
            continue;
        };
        let message = match rule.effect {
            Effect::RiskFloor(n) if limits.iter().all(|(e, _)| n <= *e) => format!(
                "`risk_floor` {n} never changes a decision: it is not above `escalate_above` ({esc}), so every score it lifts is still auto-approved"
            ),
            Effect::RiskCeiling(n)
                if limits
                    .iter()
                    .all(|(e, d)| n > *e && d.is_none_or(|d| n >= d)) =>
            {
                match deny {
                    Some(d) if n >= d => format!(
                        "`risk_ceiling` {n} never changes a decision: a score it caps is still at or above `deny_at_or_above` ({d})"
                    ),
                    _ => format!(
                        "`risk_ceiling` {n} never changes a decision: a score it caps is still above `escalate_above` ({esc}) and escalates"
                    ),
                }
            }
            _ => continue,
        };
        out.push(Finding::new(
            Lint::MootEffect,
            pack,
            Some(&rule.id),
            format!("/rules/{}/effect", rule.index),
            message,
        ));
    }
}

fn set_risk_conflicts(packs: &[Pack], infos: &[Vec<RuleInfo>], out: &mut Vec<Finding>) {
    for (q, later) in packs.iter().enumerate() {
        for b in infos[q].iter().filter(|r| !r.never) {
            let Effect::SetRisk(y) = b.effect else {
                continue;
            };
            let Some(b_cubes) = &b.cubes else { continue };
            let first = packs[..q].iter().zip(infos).find_map(|(earlier, rules)| {
                rules.iter().filter(|r| !r.never).find_map(|a| {
                    let Effect::SetRisk(x) = a.effect else {
                        return None;
                    };
                    let common = a.actions.common(&b.actions)?;
                    (x != y && logic::may_overlap(a.cubes.as_ref()?, b_cubes))
                        .then_some((earlier, a, x, common))
                })
            });
            if let Some((earlier, a, x, common)) = first {
                out.push(
                    Finding::new(
                        Lint::SetRiskConflict,
                        later,
                        Some(&b.id),
                        format!("/rules/{}/effect", b.index),
                        format!(
                            "`set_risk` {y} conflicts with pack `{}`, rule `{}` (`set_risk` {x}) on `{}`: when both match, the first pack's wins and this rule's score never shows",
                            earlier.name(),
                            a.id,
                            common.join("`, `")
                        ),
                    )
                    .with_related(earlier, &a.id, format!("/rules/{}/effect", a.index)),
                );
            }
        }
    }
}
