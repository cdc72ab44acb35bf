//! A set of compiled packs, and what their rules say about one action.

use std::collections::HashSet;
use std::sync::Arc;

use crate::action::Action;
use crate::budget::{Budget, Figures};
use crate::decision::PackRef;
use crate::error::{PackError, PackErrorKind};
use crate::name_map::NameMap;
use crate::pack::Pack;
use crate::pack::format::{DefaultEffect, Effect, SchemaErrorEffect};
use crate::rule::RuleMatch;

/// The packs a gateway enforces, indexed by action name.
#[derive(Debug, Clone)]
pub(crate) struct PolicySet {
    packs: Vec<Pack>,
    /// Pack indices per action name named by some pack.
    by_action: NameMap<Vec<usize>>,
    /// Packs that apply to every action (`"*"`).
    wildcard: Vec<usize>,
    /// True when some rule has a `budget` or `rate` condition.
    budgeted: bool,
}

/// What the rules of the applying packs say about an action, before any scoring.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleOutcome {
    /// Indices of the packs that apply; empty when no pack covers the action.
    pub(crate) packs: Vec<usize>,
    pub(crate) matched: Vec<RuleMatch>,
    /// Where each of `matched` comes from: (pack index, rule index), no rule index for a
    /// `payload_schema` violation.
    pub(crate) matched_at: Vec<(usize, Option<usize>)>,
    pub(crate) deny: bool,
    pub(crate) escalate: bool,
    pub(crate) allow: bool,
    /// The first matching `set_risk`, in pack order then rule order.
    pub(crate) set_risk: Option<u8>,
    /// The highest matching floor.
    pub(crate) floor: Option<u8>,
    /// The lowest matching ceiling.
    pub(crate) ceiling: Option<u8>,
    /// The strictest thresholds among the applying packs.
    pub(crate) escalate_above: u8,
    pub(crate) deny_at_or_above: Option<u8>,
}

impl PolicySet {
    /// Indexes packs; two packs with one name are refused.
    pub(crate) fn new(packs: Vec<Pack>) -> Result<Self, PackError> {
        let mut names = HashSet::new();
        let mut by_action: NameMap<Vec<usize>> = NameMap::default();
        let mut wildcard = Vec::new();
        for (i, pack) in packs.iter().enumerate() {
            if !names.insert(pack.name().to_owned()) {
                return Err(PackError {
                    pack: pack.name().to_owned(),
                    rule: None,
                    pointer: "/name".to_owned(),
                    kind: PackErrorKind::DuplicatePack,
                });
            }
            for name in &pack.document().applies_to {
                if name == "*" {
                    wildcard.push(i);
                } else {
                    by_action.entry(name.clone()).or_default().push(i);
                }
            }
        }
        // Wildcard packs also apply to named actions, in pack order.
        for list in by_action.values_mut() {
            list.extend(&wildcard);
            list.sort_unstable();
            list.dedup();
        }
        let budgeted = packs
            .iter()
            .any(|p| p.rules.iter().any(|r| !r.budgets().is_empty()));
        Ok(Self {
            packs,
            by_action,
            wildcard,
            budgeted,
        })
    }

    pub(crate) fn packs(&self) -> &[Pack] {
        &self.packs
    }

    pub(crate) fn pack(&self, index: usize) -> &Pack {
        &self.packs[index]
    }

    /// Indices of the packs that apply to an action name, in pack order.
    pub(crate) fn applying(&self, action: &str) -> &[usize] {
        self.by_action.get(action).unwrap_or(&self.wildcard)
    }

    /// The index of the pack named `name`.
    pub(crate) fn index_of(&self, name: &str) -> Option<usize> {
        self.packs.iter().position(|p| p.name() == name)
    }

    /// References to the given packs, for a decision.
    pub(crate) fn refs(&self, indices: &[usize]) -> Vec<PackRef> {
        indices
            .iter()
            .map(|&i| self.packs[i].reference().clone())
            .collect()
    }

    /// The redaction paths declared by the given packs.
    pub(crate) fn redact_paths(&self, indices: &[usize]) -> Vec<String> {
        indices
            .iter()
            .flat_map(|&i| self.packs[i].redact_paths().iter().cloned())
            .collect()
    }

    /// True when some rule has a `budget` or `rate` condition (decisions then ask the
    /// store for figures, and actions that end without running release their entries).
    pub(crate) fn has_budgets(&self) -> bool {
        self.budgeted
    }

    /// The budgets an action counts towards: those of every rule that applies to it (the
    /// packs' `applies_to` and the rules' `actions`), in pack and rule order; none of a
    /// pack whose `payload_schema` the action violates (its rules do not apply).
    pub(crate) fn budgets_for(&self, action: &Action) -> Vec<&Budget> {
        if !self.budgeted {
            return Vec::new();
        }
        let mut out = Vec::new();
        for &p in self.applying(&action.action) {
            let pack = &self.packs[p];
            if !pack.schema.is_empty() && pack.schema.violation(action).is_some() {
                continue;
            }
            for &r in pack.rules_for(&action.action) {
                out.extend(pack.rules[r].budgets());
            }
        }
        out
    }

    /// Evaluates every applying pack's rules against the action, budgets with the
    /// ledger's `figures`.
    pub(crate) fn evaluate(&self, action: &Action, figures: &Figures) -> RuleOutcome {
        let packs = self.applying(&action.action);
        let mut out = RuleOutcome {
            packs: packs.to_vec(),
            escalate_above: 100,
            ..RuleOutcome::default()
        };
        for &p in packs {
            let pack = &self.packs[p];
            out.escalate_above = out.escalate_above.min(pack.escalate_above);
            out.deny_at_or_above = match (out.deny_at_or_above, pack.deny_at_or_above) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let before = out.matched.len();
            if !pack.schema.is_empty()
                && let Some(reason) = pack.schema.violation(action)
            {
                let effect = match pack.schema.effect {
                    Some(SchemaErrorEffect::Escalate) => {
                        out.escalate = true;
                        Effect::Escalate
                    }
                    _ => {
                        out.deny = true;
                        Effect::Deny
                    }
                };
                out.matched.push(RuleMatch {
                    rule: Arc::clone(&pack.schema_cite),
                    pack_version: Arc::clone(pack.version_arc()),
                    effect,
                    reason,
                });
                out.matched_at.push((p, None));
                // The pack's rules would read mistyped data: none of them applies.
                continue;
            }
            for &r in pack.rules_for(&action.action) {
                let rule = &pack.rules[r];
                if !rule.matches(action, figures) {
                    continue;
                }
                match rule.effect {
                    Effect::Deny => out.deny = true,
                    Effect::Allow => out.allow = true,
                    Effect::Escalate => out.escalate = true,
                    Effect::SetRisk(n) => {
                        out.set_risk.get_or_insert(n);
                    }
                    Effect::RiskFloor(n) => out.floor = out.floor.max(Some(n)),
                    Effect::RiskCeiling(n) => {
                        out.ceiling = Some(out.ceiling.map_or(n, |c| c.min(n)));
                    }
                }
                out.matched
                    .push(rule.matched(pack.version_arc(), action, figures));
                out.matched_at.push((p, Some(r)));
            }
            if out.matched.len() == before {
                match pack.default_effect {
                    Some(DefaultEffect::Deny) => out.deny = true,
                    Some(DefaultEffect::Escalate) => out.escalate = true,
                    Some(DefaultEffect::Allow) => out.allow = true,
                    None => {}
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pack(name: &str, applies: Value, rules: Value) -> Pack {
        Pack::from_json_str(
            &json!({"name": name, "version": "1.0.0", "applies_to": applies, "rules": rules})
                .to_string(),
        )
        .unwrap()
    }
    use serde_json::Value;

    #[test]
    fn duplicate_pack_names_are_refused() {
        let a = pack("A", json!(["X"]), json!([]));
        let err = PolicySet::new(vec![a.clone(), a]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "in pack `A`, at `/name`: duplicate pack name"
        );
    }

    #[test]
    fn wildcard_packs_apply_everywhere_and_named_packs_only_to_theirs() {
        let set = PolicySet::new(vec![
            pack(
                "Named",
                json!(["X"]),
                json!([{"id": "n", "effect": {"risk_floor": 10}, "reason": "n"}]),
            ),
            pack(
                "All",
                json!(["*"]),
                json!([{"id": "w", "effect": {"risk_floor": 20}, "reason": "w"}]),
            ),
        ])
        .unwrap();
        let x = set.evaluate(&Action::new("a", "X"), &Figures::default());
        assert_eq!(x.packs, [0, 1]);
        assert_eq!(x.floor, Some(20));
        let y = set.evaluate(&Action::new("a", "Y"), &Figures::default());
        assert_eq!(y.packs, [1]);
        assert_eq!(y.matched.len(), 1);
    }

    #[test]
    fn first_set_risk_wins_and_extremes_of_floors_and_ceilings() {
        let set = PolicySet::new(vec![pack(
            "P",
            json!(["X"]),
            json!([
                {"id": "s1", "effect": {"set_risk": 30}, "reason": "a"},
                {"id": "s2", "effect": {"set_risk": 90}, "reason": "b"},
                {"id": "f1", "effect": {"risk_floor": 40}, "reason": "c"},
                {"id": "f2", "effect": {"risk_floor": 45}, "reason": "d"},
                {"id": "c1", "effect": {"risk_ceiling": 80}, "reason": "e"},
                {"id": "c2", "effect": {"risk_ceiling": 70}, "reason": "f"}
            ]),
        )])
        .unwrap();
        let out = set.evaluate(&Action::new("a", "X"), &Figures::default());
        assert_eq!(
            (out.set_risk, out.floor, out.ceiling),
            (Some(30), Some(45), Some(70))
        );
        assert_eq!(out.matched.len(), 6);
    }
}
