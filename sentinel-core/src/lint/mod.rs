//! Static analysis of policy packs (`sentinel lint`): rules that can never match, rules
//! another rule makes moot, `set_risk` conflicts between packs, regexes that cannot match,
//! operands that contradict a pack's `payload_schema`, actions nothing covers, and effects
//! that the thresholds make moot.
//!
//! The packs are analysed as loaded (so every pack here already compiled); a pack that
//! does not load is reported as an [`Lint::InvalidPack`] finding by [`Finding::from`].
//! Findings are certain, not guesses: each analysis claims only what holds for every
//! action (see `logic`).
//!
//! ```
//! use sentinel_core::{Pack, lint};
//!
//! let pack = Pack::from_json_str(r#"{"name": "P", "version": "1.0.0", "applies_to": ["PAY"],
//!   "rules": [{"id": "odd", "effect": "deny", "reason": "x", "when": {"all": [
//!     {"gt": {"path": "payload.amount", "value": 10}},
//!     {"lt": {"path": "payload.amount", "value": 5}}]}}]}"#).unwrap();
//! let findings = lint::lint(&[pack]);
//! assert_eq!(findings[0].lint, lint::Lint::NeverMatches);
//! assert_eq!(findings[0].pointer, "/rules/0/when/all/1/lt");
//! ```

mod atom;
mod checks;
mod logic;
mod regex;

use std::fmt;

use serde::Serialize;

use crate::error::PackError;
use crate::pack::Pack;

/// How serious a finding is: errors fail `sentinel lint`, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Certainly a mistake: the pack does not do what it says.
    Error,
    /// Probably a mistake: part of the pack has no effect.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// What a finding is about. Each kind has one severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Lint {
    /// The pack does not load (error).
    InvalidPack,
    /// A rule whose condition can never hold (error).
    NeverMatches,
    /// A regular expression that matches no text (error).
    RegexNeverMatches,
    /// A comparison whose operand cannot have the type the pack's `payload_schema`
    /// declares for the field (error).
    TypeConflict,
    /// A rule that another rule makes moot: whenever it matches, the other matches too
    /// with the same or a stronger effect (warning).
    Shadowed,
    /// Two packs set different risks for the same action when both match (warning).
    SetRiskConflict,
    /// An action in `applies_to` that no rule, action default or pack default addresses
    /// (warning).
    UncoveredAction,
    /// A floor or ceiling that, given the thresholds, never changes a decision (warning).
    MootEffect,
}

impl Lint {
    /// The lint's id, e.g. `never-matches`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lint::InvalidPack => "invalid-pack",
            Lint::NeverMatches => "never-matches",
            Lint::RegexNeverMatches => "regex-never-matches",
            Lint::TypeConflict => "type-conflict",
            Lint::Shadowed => "shadowed",
            Lint::SetRiskConflict => "set-risk-conflict",
            Lint::UncoveredAction => "uncovered-action",
            Lint::MootEffect => "moot-effect",
        }
    }

    /// The severity of every finding of this kind.
    pub fn severity(self) -> Severity {
        match self {
            Lint::InvalidPack
            | Lint::NeverMatches
            | Lint::RegexNeverMatches
            | Lint::TypeConflict => Severity::Error,
            Lint::Shadowed | Lint::SetRiskConflict | Lint::UncoveredAction | Lint::MootEffect => {
                Severity::Warning
            }
        }
    }
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The other part of a pack a finding involves (the rule that shadows, the conflicting
/// rule of another pack).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Related {
    /// The pack's name.
    pub pack: String,
    /// The rule's id.
    pub rule: String,
    /// JSON pointer into that pack.
    pub pointer: String,
}

/// One problem found in a pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// What kind of problem.
    pub lint: Lint,
    /// Error or warning (the lint's severity).
    pub severity: Severity,
    /// The pack's name (its file when the name could not be read).
    pub pack: String,
    /// The rule's id, when the problem is in a rule.
    pub rule: Option<String>,
    /// JSON pointer (RFC 6901) to the part at fault, e.g. `/rules/2/when/all/1/lt`.
    pub pointer: String,
    /// What is wrong, for people.
    pub message: String,
    /// The other rule involved, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related: Option<Related>,
}

impl Finding {
    fn new(lint: Lint, pack: &Pack, rule: Option<&str>, pointer: String, message: String) -> Self {
        Self {
            lint,
            severity: lint.severity(),
            pack: pack.name().to_owned(),
            rule: rule.map(str::to_owned),
            pointer,
            message,
            related: None,
        }
    }

    fn with_related(mut self, pack: &Pack, rule: &str, pointer: String) -> Self {
        self.related = Some(Related {
            pack: pack.name().to_owned(),
            rule: rule.to_owned(),
            pointer,
        });
        self
    }
}

/// A pack that does not load, as a finding.
impl From<&PackError> for Finding {
    fn from(e: &PackError) -> Self {
        Self {
            lint: Lint::InvalidPack,
            severity: Lint::InvalidPack.severity(),
            pack: e.pack.clone(),
            rule: e.rule.clone(),
            pointer: e.pointer.clone(),
            message: e.kind.to_string(),
            related: None,
        }
    }
}

/// ``in pack `P`, rule `r`, at `/rules/0/when`: message``, as load errors read.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "in pack `{}`", self.pack)?;
        if let Some(rule) = &self.rule {
            write!(f, ", rule `{rule}`")?;
        }
        if !self.pointer.is_empty() {
            write!(f, ", at `{}`", self.pointer)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Analyses packs meant to be loaded together (as one gateway would, in this order):
/// each pack alone, then across packs (`set_risk` conflicts, thresholds). Findings come
/// pack by pack, in rule order.
pub fn lint(packs: &[Pack]) -> Vec<Finding> {
    checks::run(packs)
}

#[cfg(test)]
mod tests;
