//! Budgets and rates: conditions over a window of past actions (`budget`, `rate`), compiled
//! from [`BudgetSpec`] and [`RateSpec`], and what the ledger said about them for one
//! decision ([`Figures`]).
//!
//! A budget is identified by its rule and its place in the rule's condition
//! (``VaultKeeper/daily-spend/rules/4/when/all/1/budget``) and keyed by its `per` values,
//! so a new version of a pack keeps counting where the old one stopped as long as the rule
//! keeps its id and the condition its place.

use std::sync::Arc;

use serde_json::Value;

use crate::action::Action;
use crate::condition::{CompileError, compile_path};
use crate::error::PackErrorKind;
use crate::pack::format::{BudgetSpec, RateSpec};
use crate::path::Path;
use crate::store::{BudgetDemand, WindowFigure};

/// A compiled `budget` or `rate` condition.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    /// `pack/rule` and the condition's JSON pointer; set when the rule is compiled.
    pub(crate) id: Arc<str>,
    /// The condition's JSON pointer in the pack.
    pub(crate) pointer: String,
    kind: Kind,
    per: Vec<(String, Path)>,
    window_s: u64,
    above: f64,
}

#[derive(Debug, Clone)]
enum Kind {
    /// The sum of a path's values.
    Sum(String, Path),
    /// The number of actions.
    Count,
}

impl Budget {
    /// Compiles `{"budget": ...}` found at `pointer` (the condition, without `/budget`).
    pub(crate) fn of_budget(spec: &BudgetSpec, pointer: &str) -> Result<Self, CompileError> {
        let here = format!("{pointer}/budget");
        let sum = compile_path(&spec.sum, &format!("{here}/sum"))?;
        if !spec.above.is_finite() {
            return Err((
                format!("{here}/above"),
                PackErrorKind::Range(format!(
                    "budget limit `{}` is not a finite number",
                    spec.above
                )),
            ));
        }
        Self::new(
            here,
            Kind::Sum(spec.sum.clone(), sum),
            &spec.per,
            spec.window_s,
            spec.above,
        )
    }

    /// Compiles `{"rate": ...}` found at `pointer` (the condition, without `/rate`).
    pub(crate) fn of_rate(spec: &RateSpec, pointer: &str) -> Result<Self, CompileError> {
        // Counts are whole numbers far below 2^53: exact as f64.
        let above = spec.above as f64;
        Self::new(
            format!("{pointer}/rate"),
            Kind::Count,
            &spec.per,
            spec.window_s,
            above,
        )
    }

    fn new(
        here: String,
        kind: Kind,
        per: &[String],
        window_s: u64,
        above: f64,
    ) -> Result<Self, CompileError> {
        const MAX_WINDOW_S: u64 = 10 * 366 * 86_400;
        if !(1..=MAX_WINDOW_S).contains(&window_s) {
            return Err((
                format!("{here}/window_s"),
                PackErrorKind::Range(format!(
                    "window `{window_s}` s is outside 1..={MAX_WINDOW_S} (ten years)"
                )),
            ));
        }
        let per = per
            .iter()
            .enumerate()
            .map(|(i, p)| Ok((p.clone(), compile_path(p, &format!("{here}/per/{i}"))?)))
            .collect::<Result<_, CompileError>>()?;
        Ok(Self {
            id: Arc::from(here.as_str()),
            pointer: here,
            kind,
            per,
            window_s,
            above,
        })
    }

    /// The budget's key for an action: its id and the action's `per` values (`null` where
    /// absent).
    fn key(&self, action: &Action) -> String {
        let values: Vec<Value> = self
            .per
            .iter()
            .map(|(_, p)| {
                p.resolve(action)
                    .map_or(Value::Null, |f| Value::String(f.render().into_owned()))
            })
            .collect();
        format!("{}{}", self.id, Value::Array(values))
    }

    /// What the action adds to the window: its summed value (a non-negative number), or 1
    /// for a rate. `Err` says why it cannot be measured.
    fn share(&self, action: &Action) -> Result<f64, String> {
        match &self.kind {
            Kind::Count => Ok(1.0),
            Kind::Sum(text, path) => match path.resolve(action).and_then(|f| f.as_f64()) {
                Some(n) if n.is_finite() && n >= 0.0 => Ok(n),
                Some(n) => Err(format!("`{text}` is `{n}`, not a non-negative number")),
                None => Err(format!("`{text}` is absent or not a number")),
            },
        }
    }

    /// What the ledger is asked for this action: `Err` when its share cannot be measured.
    pub(crate) fn demand(&self, action: &Action) -> Result<BudgetDemand, String> {
        let window_ms = i64::try_from(self.window_s.saturating_mul(1000)).unwrap_or(i64::MAX);
        Ok(BudgetDemand::new(
            self.key(action),
            self.share(action)?,
            window_ms,
        ))
    }

    /// True when the window, with this action, is above the limit; unknown figures hold
    /// (fail closed).
    pub(crate) fn holds(&self, figures: &Figures) -> bool {
        match figures.get(&self.id) {
            Some(Outcome::Known { before, share }) => self.with(before, *share) > self.above,
            Some(Outcome::Unknown(_)) | None => true,
        }
    }

    /// The window's figure with this action's share.
    fn with(&self, before: &WindowFigure, share: f64) -> f64 {
        match self.kind {
            Kind::Sum(..) => before.total + share,
            Kind::Count => before.count as f64 + 1.0,
        }
    }

    /// The window's figures for a decision's explanation, e.g. ``budget `payload.amount`
    /// per agent_id `bot`: 18000 in the last 86400 s + 9000 = 27000, above 20000``.
    pub(crate) fn describe(&self, action: &Action, figures: &Figures) -> String {
        let what = match &self.kind {
            Kind::Sum(text, _) => format!("budget `{text}`"),
            Kind::Count => "rate".to_owned(),
        };
        let per: Vec<String> = self
            .per
            .iter()
            .map(|(name, p)| match p.resolve(action) {
                Some(f) => format!("{name} `{}`", f.render()),
                None => format!("{name} (absent)"),
            })
            .collect();
        let per = if per.is_empty() {
            String::new()
        } else {
            format!(" per {}", per.join(", "))
        };
        let limit = number(self.above);
        match figures.get(&self.id) {
            Some(Outcome::Known { before, share }) => {
                let (was, added) = match self.kind {
                    Kind::Sum(..) => (before.total, *share),
                    Kind::Count => (before.count as f64, 1.0),
                };
                let now = self.with(before, *share);
                let verdict = if now > self.above { "above" } else { "within" };
                format!(
                    "{what}{per}: {} in the last {} s + {} = {}, {verdict} {limit}",
                    number(was),
                    self.window_s,
                    number(added),
                    number(now)
                )
            }
            Some(Outcome::Unknown(why)) => {
                format!("{what}{per}: unknown ({why}), so taken as above {limit}")
            }
            None => format!("{what}{per}: not measured, so taken as above {limit}"),
        }
    }
}

/// A number as people write it: no `.0` on whole numbers.
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        format!("{n}")
    }
}

/// What the ledger said about one budget of a decision.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// The window held `before` (other actions) and this action adds `share`.
    Known { before: WindowFigure, share: f64 },
    /// The figure is unknown: the action's share cannot be measured, or the store did not
    /// answer.
    Unknown(String),
}

/// The ledger's answers for one decision, by budget id. Empty for packs without budgets.
#[derive(Debug, Clone, Default)]
pub(crate) struct Figures {
    outcomes: Vec<(Arc<str>, Outcome)>,
    /// Why the store could not answer, when it could not: the action is then not
    /// auto-approved.
    pub(crate) failure: Option<String>,
}

impl Figures {
    fn get(&self, id: &str) -> Option<&Outcome> {
        self.outcomes
            .iter()
            .find(|(i, _)| &**i == id)
            .map(|(_, o)| o)
    }

    /// Records the outcome of budget `id`.
    pub(crate) fn insert(&mut self, id: Arc<str>, outcome: Outcome) {
        self.outcomes.push((id, outcome));
    }
}
