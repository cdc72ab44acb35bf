//! A compiled rule, and the record of a rule that matched.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::budget::{Budget, Figures};
use crate::condition::{CompileError, Condition};
use crate::error::PackErrorKind;
use crate::pack::format::{Effect, RuleSpec};
use crate::template::Template;

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// `pack/rule-id`, as decisions cite it.
    pub(crate) cite: Arc<str>,
    /// Explicit action names this rule is limited to.
    pub(crate) actions: Option<Vec<String>>,
    when: Option<Condition>,
    pub(crate) effect: Effect,
    reason: Template,
}

impl Rule {
    /// Compiles the rule at `/rules/{index}` of pack `pack`.
    pub(crate) fn compile(pack: &str, index: usize, spec: &RuleSpec) -> Result<Self, CompileError> {
        let here = format!("/rules/{index}");
        if spec.id.trim().is_empty() {
            return Err((
                format!("{here}/id"),
                PackErrorKind::Range("rule id must not be empty".to_owned()),
            ));
        }
        let mut when = spec
            .when
            .as_ref()
            .map(|c| Condition::compile(c, &format!("{here}/when")))
            .transpose()?;
        if let Some(when) = &mut when {
            when.budgets_mut(&mut |b| b.id = Arc::from(format!("{pack}/{}{}", spec.id, b.pointer)));
        }
        let effect = spec.effect;
        if let Effect::RiskFloor(n) | Effect::RiskCeiling(n) | Effect::SetRisk(n) = effect
            && n > 100
        {
            return Err((
                format!("{here}/effect"),
                PackErrorKind::Range(format!("risk `{n}` is outside 0..=100")),
            ));
        }
        Ok(Self {
            cite: Arc::from(format!("{pack}/{}", spec.id)),
            actions: spec.actions.clone(),
            when,
            effect,
            reason: Template::compile(&spec.reason, &format!("{here}/reason"))?,
        })
    }

    /// True when the rule's condition holds for the action (budgets with `figures`).
    pub(crate) fn matches(&self, action: &Action, figures: &Figures) -> bool {
        self.when
            .as_ref()
            .is_none_or(|c| c.eval_with(action, figures))
    }

    /// The rule's budgets, in order.
    pub(crate) fn budgets(&self) -> Vec<&Budget> {
        let mut out = Vec::new();
        if let Some(when) = &self.when {
            when.budgets(&mut out);
        }
        out
    }

    /// The rule's reason for a prompt, agent values fenced (see `Template::render_fenced`).
    pub(crate) fn fenced_reason(&self, action: &Action) -> String {
        self.reason.render_fenced(action)
    }

    /// The record of this rule matching `action`: its reason, followed by the figures of
    /// its budgets' windows, if any.
    pub(crate) fn matched(
        &self,
        version: &Arc<str>,
        action: &Action,
        figures: &Figures,
    ) -> RuleMatch {
        let mut reason = self.reason.render(action);
        let budgets = self.budgets();
        if !budgets.is_empty() {
            let described: Vec<String> = budgets
                .iter()
                .map(|b| b.describe(action, figures))
                .collect();
            reason = format!("{reason} ({})", described.join("; "));
        }
        RuleMatch {
            rule: Arc::clone(&self.cite),
            pack_version: Arc::clone(version),
            effect: self.effect,
            reason,
        }
    }
}

/// A rule that matched an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RuleMatch {
    /// `pack/rule-id`, e.g. `VaultKeeper/unknown-vendor-large-payment`.
    pub rule: Arc<str>,
    /// The version of the pack that held the rule.
    pub pack_version: Arc<str>,
    /// What the rule did.
    pub effect: Effect,
    /// The rule's reason, rendered for this action.
    pub reason: String,
}
