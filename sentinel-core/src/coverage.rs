//! Rule coverage: which rules of which packs a set of decisions (a test corpus, a replay)
//! exercised, and which it never did (`sentinel test CORPUS --coverage`).

use serde::Serialize;

use crate::decision::Decision;
use crate::pack::Pack;

/// How often each rule of a set of packs matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    packs: Vec<PackCoverage>,
}

/// One pack's rules and how often each matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PackCoverage {
    /// The pack's name.
    pub name: String,
    /// The pack's version.
    pub version: String,
    /// Its rules, in pack order.
    pub rules: Vec<RuleCoverage>,
}

/// One rule and how many decisions it matched in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RuleCoverage {
    /// The rule's id.
    pub id: String,
    /// Decisions citing it.
    pub hits: usize,
    /// `pack/rule-id`, as decisions cite it.
    #[serde(skip)]
    cite: String,
}

impl PackCoverage {
    /// Rules that matched at least once.
    pub fn covered(&self) -> usize {
        self.rules.iter().filter(|r| r.hits > 0).count()
    }

    /// Rules that never matched.
    pub fn missed(&self) -> impl Iterator<Item = &RuleCoverage> {
        self.rules.iter().filter(|r| r.hits == 0)
    }

    /// Covered rules in percent (100 for a pack without rules).
    pub fn percent(&self) -> f64 {
        percent(self.covered(), self.rules.len())
    }
}

impl Coverage {
    /// No rule exercised yet, for these packs.
    pub fn new(packs: &[Pack]) -> Self {
        let packs = packs
            .iter()
            .map(|p| PackCoverage {
                name: p.name().to_owned(),
                version: p.version().to_owned(),
                rules: p
                    .document()
                    .rules
                    .iter()
                    .map(|r| RuleCoverage {
                        id: r.id.clone(),
                        hits: 0,
                        cite: format!("{}/{}", p.name(), r.id),
                    })
                    .collect(),
            })
            .collect();
        Self { packs }
    }

    /// Counts the rules a decision cites (a `payload_schema` violation is no rule).
    pub fn record(&mut self, decision: &Decision) {
        for cited in &decision.matched {
            let cite: &str = &cited.rule;
            if let Some(rule) = self
                .packs
                .iter_mut()
                .flat_map(|p| p.rules.iter_mut())
                .find(|r| r.cite == cite)
            {
                rule.hits += 1;
            }
        }
    }

    /// Per pack, in the packs' order.
    pub fn packs(&self) -> &[PackCoverage] {
        &self.packs
    }

    /// Rules that matched at least once, over all packs.
    pub fn covered(&self) -> usize {
        self.packs.iter().map(PackCoverage::covered).sum()
    }

    /// All rules of all packs.
    pub fn total(&self) -> usize {
        self.packs.iter().map(|p| p.rules.len()).sum()
    }

    /// Covered rules in percent, over all packs (100 when there are no rules).
    pub fn percent(&self) -> f64 {
        percent(self.covered(), self.total())
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{Action, Gateway};

    #[tokio::test]
    async fn counts_the_rules_decisions_cite() {
        let gateway = Gateway::builder().build().unwrap();
        let mut coverage = Coverage::new(gateway.packs());
        let total = coverage.total();
        assert!(total > 10, "{total}");
        assert_eq!(coverage.covered(), 0);
        let drop = Action::new("ops", "DROP_TABLE").with_payload(json!({"table": "users"}));
        for _ in 0..2 {
            coverage.record(&gateway.evaluate(&drop).await);
        }
        // A mistyped payload cites `PrivacyShield/payload_schema`, which is no rule.
        let mistyped = Action::new("bot", "EXPORT_CSV").with_payload(json!({"record_count": "x"}));
        coverage.record(&gateway.evaluate(&mistyped).await);
        assert_eq!(coverage.covered(), 1);
        let ops = &coverage.packs()[2];
        assert_eq!(ops.name, "OpsGuard");
        assert_eq!(ops.rules[0].id, "drop-table-forbidden");
        assert_eq!(ops.rules[0].hits, 2);
        assert_eq!(ops.missed().count(), ops.rules.len() - 1);
        assert!((coverage.percent() - 100.0 / total as f64).abs() < 1e-9);
        assert_eq!(Coverage::new(&[]).percent(), 100.0);
    }
}
