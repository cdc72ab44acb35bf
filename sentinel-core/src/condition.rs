//! Conditions, compiled from [`ConditionSpec`]: paths parsed, regexes built, operand types
//! checked once, so evaluation never parses anything.

use regex::{Regex, RegexBuilder};
use serde_json::Value;

use crate::action::{Action, json_type};
use crate::budget::Figures;
use crate::error::PackErrorKind;
use crate::pack::format::{Comparison, ConditionSpec};
use crate::path::{Found, Path};

/// A compiled condition.
#[derive(Debug, Clone)]
pub(crate) enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Exists(Path),
    Compare {
        path: Path,
        test: Test,
    },
    /// A `budget` or `rate` over a window of past actions.
    Window(Box<crate::budget::Budget>),
}

/// The comparison a path's value must pass.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    Eq(Expected),
    Ne(Expected),
    Lt(f64),
    Lte(f64),
    Gt(f64),
    Gte(f64),
    In(Vec<Expected>),
    NotIn(Vec<Expected>),
    Contains(Expected),
    StartsWith(Text),
    EndsWith(Text),
    Matches(Regex),
}

/// A value to compare with, prepared for its type.
#[derive(Debug, Clone)]
pub(crate) enum Expected {
    Text(Text),
    Number(f64),
    Bool(bool),
    Other(Value),
}

/// An expected string, lowercased up front when the comparison ignores case.
#[derive(Debug, Clone)]
pub(crate) struct Text {
    text: String,
    ignore_case: bool,
}

impl Text {
    fn new(text: &str, ignore_case: bool) -> Self {
        let text = if ignore_case {
            text.to_lowercase()
        } else {
            text.to_owned()
        };
        Self { text, ignore_case }
    }

    /// Applies `f` to the actual text, lowercased when this comparison ignores case.
    fn with_actual(&self, actual: &str, f: impl Fn(&str, &str) -> bool) -> bool {
        if self.ignore_case {
            f(&actual.to_lowercase(), &self.text)
        } else {
            f(actual, &self.text)
        }
    }
}

impl Expected {
    fn new(value: &Value, ignore_case: bool) -> Self {
        match value {
            Value::String(s) => Expected::Text(Text::new(s, ignore_case)),
            Value::Number(n) => n
                .as_f64()
                .map_or_else(|| Expected::Other(value.clone()), Expected::Number),
            Value::Bool(b) => Expected::Bool(*b),
            other => Expected::Other(other.clone()),
        }
    }

    /// Equality with type-aware coercion: quoted numbers and booleans compare by value.
    fn matches(&self, actual: Found<'_>) -> bool {
        match self {
            Expected::Text(t) => match actual {
                Found::Str(s) => t.with_actual(s, |a, e| a == e),
                Found::Json(Value::String(s)) => t.with_actual(s, |a, e| a == e),
                Found::Json(_) => false,
            },
            Expected::Number(n) => actual.as_f64() == Some(*n),
            Expected::Bool(b) => actual.as_bool() == Some(*b),
            Expected::Other(v) => matches!(actual, Found::Json(a) if a == v),
        }
    }
}

/// Where compilation stands, for error pointers.
pub(crate) type CompileError = (String, PackErrorKind);

impl Condition {
    /// Compiles a condition found at JSON `pointer`.
    pub(crate) fn compile(spec: &ConditionSpec, pointer: &str) -> Result<Self, CompileError> {
        let list = |items: &[ConditionSpec], key: &str| -> Result<Vec<Condition>, CompileError> {
            items
                .iter()
                .enumerate()
                .map(|(i, c)| Condition::compile(c, &format!("{pointer}/{key}/{i}")))
                .collect()
        };
        Ok(match spec {
            ConditionSpec::All(items) => Condition::All(list(items, "all")?),
            ConditionSpec::Any(items) => Condition::Any(list(items, "any")?),
            ConditionSpec::Not(inner) => Condition::Not(Box::new(Condition::compile(
                inner,
                &format!("{pointer}/not"),
            )?)),
            ConditionSpec::Exists(e) => {
                Condition::Exists(compile_path(&e.path, &format!("{pointer}/exists/path"))?)
            }
            ConditionSpec::Budget(b) => {
                Condition::Window(Box::new(crate::budget::Budget::of_budget(b, pointer)?))
            }
            ConditionSpec::Rate(r) => {
                Condition::Window(Box::new(crate::budget::Budget::of_rate(r, pointer)?))
            }
            ConditionSpec::Eq(c) => compare(c, "eq", pointer, |v, ic| {
                not_null(v, "eq").map(|v| Test::Eq(Expected::new(v, ic)))
            })?,
            ConditionSpec::Ne(c) => compare(c, "ne", pointer, |v, ic| {
                not_null(v, "ne").map(|v| Test::Ne(Expected::new(v, ic)))
            })?,
            ConditionSpec::Lt(c) => {
                compare(c, "lt", pointer, |v, _| number(v, "lt").map(Test::Lt))?
            }
            ConditionSpec::Lte(c) => {
                compare(c, "lte", pointer, |v, _| number(v, "lte").map(Test::Lte))?
            }
            ConditionSpec::Gt(c) => {
                compare(c, "gt", pointer, |v, _| number(v, "gt").map(Test::Gt))?
            }
            ConditionSpec::Gte(c) => {
                compare(c, "gte", pointer, |v, _| number(v, "gte").map(Test::Gte))?
            }
            ConditionSpec::In(c) => {
                compare(c, "in", pointer, |v, ic| array(v, "in", ic).map(Test::In))?
            }
            ConditionSpec::NotIn(c) => compare(c, "not_in", pointer, |v, ic| {
                array(v, "not_in", ic).map(Test::NotIn)
            })?,
            ConditionSpec::Contains(c) => compare(c, "contains", pointer, |v, ic| {
                not_null(v, "contains").map(|v| Test::Contains(Expected::new(v, ic)))
            })?,
            ConditionSpec::StartsWith(c) => compare(c, "starts_with", pointer, |v, ic| {
                string(v, "starts_with").map(|s| Test::StartsWith(Text::new(s, ic)))
            })?,
            ConditionSpec::EndsWith(c) => compare(c, "ends_with", pointer, |v, ic| {
                string(v, "ends_with").map(|s| Test::EndsWith(Text::new(s, ic)))
            })?,
            ConditionSpec::Matches(c) => compare(c, "matches", pointer, |v, ic| {
                let pattern = string(v, "matches")?;
                RegexBuilder::new(pattern)
                    .case_insensitive(ic)
                    .size_limit(1 << 20)
                    .build()
                    .map(Test::Matches)
                    .map_err(|e| PackErrorKind::Regex {
                        pattern: pattern.to_owned(),
                        message: regex_message(&e, pattern),
                    })
            })?,
        })
    }

    /// Evaluates against an action, without budget figures (budgets hold).
    #[cfg(test)]
    pub(crate) fn eval(&self, action: &Action) -> bool {
        self.eval_with(action, &Figures::default())
    }

    /// Evaluates against an action, budgets with the ledger's `figures`. Never fails:
    /// absent or ill-typed values make a comparison false; a budget without figures holds
    /// (fail closed).
    pub(crate) fn eval_with(&self, action: &Action, figures: &Figures) -> bool {
        match self {
            Condition::All(items) => items.iter().all(|c| c.eval_with(action, figures)),
            Condition::Any(items) => items.iter().any(|c| c.eval_with(action, figures)),
            Condition::Not(inner) => !inner.eval_with(action, figures),
            Condition::Exists(path) => path.resolve(action).is_some(),
            Condition::Compare { path, test } => {
                path.resolve(action).is_some_and(|found| test.eval(found))
            }
            Condition::Window(budget) => budget.holds(figures),
        }
    }

    /// Every budget of the condition, in order.
    pub(crate) fn budgets<'a>(&'a self, out: &mut Vec<&'a crate::budget::Budget>) {
        match self {
            Condition::All(items) | Condition::Any(items) => {
                items.iter().for_each(|c| c.budgets(out));
            }
            Condition::Not(inner) => inner.budgets(out),
            Condition::Window(budget) => out.push(budget),
            Condition::Exists(_) | Condition::Compare { .. } => {}
        }
    }

    /// Applies `f` to every budget of the condition.
    pub(crate) fn budgets_mut(&mut self, f: &mut impl FnMut(&mut crate::budget::Budget)) {
        match self {
            Condition::All(items) | Condition::Any(items) => {
                items.iter_mut().for_each(|c| c.budgets_mut(f));
            }
            Condition::Not(inner) => inner.budgets_mut(f),
            Condition::Window(budget) => f(budget),
            Condition::Exists(_) | Condition::Compare { .. } => {}
        }
    }
}

impl Test {
    fn eval(&self, actual: Found<'_>) -> bool {
        match self {
            Test::Eq(e) => e.matches(actual),
            Test::Ne(e) => !e.matches(actual),
            Test::Lt(n) => actual.as_f64().is_some_and(|a| a < *n),
            Test::Lte(n) => actual.as_f64().is_some_and(|a| a <= *n),
            Test::Gt(n) => actual.as_f64().is_some_and(|a| a > *n),
            Test::Gte(n) => actual.as_f64().is_some_and(|a| a >= *n),
            Test::In(items) => items.iter().any(|e| e.matches(actual)),
            Test::NotIn(items) => !items.iter().any(|e| e.matches(actual)),
            Test::Contains(e) => match (actual.as_array(), e) {
                (Some(items), _) => items.iter().any(|item| e.matches(Found::Json(item))),
                (None, Expected::Text(t)) => actual
                    .as_text()
                    .is_some_and(|a| t.with_actual(&a, |a, e| a.contains(e))),
                (None, _) => false,
            },
            Test::StartsWith(t) => actual
                .as_text()
                .is_some_and(|a| t.with_actual(&a, |a, e| a.starts_with(e))),
            Test::EndsWith(t) => actual
                .as_text()
                .is_some_and(|a| t.with_actual(&a, |a, e| a.ends_with(e))),
            Test::Matches(re) => actual.as_text().is_some_and(|a| re.is_match(&a)),
        }
    }
}

fn compare(
    c: &Comparison,
    op: &str,
    pointer: &str,
    build: impl FnOnce(&Value, bool) -> Result<Test, PackErrorKind>,
) -> Result<Condition, CompileError> {
    let here = format!("{pointer}/{op}");
    let path = compile_path(&c.path, &format!("{here}/path"))?;
    let test = build(&c.value, c.ignore_case).map_err(|kind| {
        // A `null` inside an `in`/`not_in` list: point at the element.
        let element = match (&kind, c.value.as_array()) {
            (PackErrorKind::NullOperand { .. }, Some(items)) => items
                .iter()
                .position(Value::is_null)
                .map(|i| format!("/{i}")),
            _ => None,
        };
        (format!("{here}/value{}", element.unwrap_or_default()), kind)
    })?;
    Ok(Condition::Compare { path, test })
}

pub(crate) fn compile_path(text: &str, pointer: &str) -> Result<Path, CompileError> {
    Path::parse(text).ok_or_else(|| (pointer.to_owned(), PackErrorKind::Path(text.to_owned())))
}

/// The regex crate's message on one line, without its own `regex parse error:` and
/// `error:` headings: what is wrong, then where (the offending part of the pattern and its
/// character position), e.g. ``unclosed counted repetition at `{2` (character 2)``.
fn regex_message(error: &regex::Error, pattern: &str) -> String {
    match error {
        regex::Error::Syntax(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let Some(what) = lines.iter().find_map(|l| l.strip_prefix("error: ")) else {
                return text.lines().map(str::trim).collect::<Vec<_>>().join(" ");
            };
            // The pattern is shown indented by four spaces with `^` marks under the part at
            // fault (only for single-line patterns is the position easy to read back).
            let span = lines
                .iter()
                .find(|l| l.contains('^') && l.chars().all(|c| c == ' ' || c == '^'))
                .filter(|_| !pattern.contains('\n'))
                .and_then(|marks| {
                    let start = marks.find('^')?.checked_sub(4)?;
                    let len = marks.matches('^').count();
                    let part: String = pattern.chars().skip(start).take(len).collect();
                    (!part.is_empty()).then(|| format!(" at `{part}` (character {})", start + 1))
                })
                .unwrap_or_default();
            format!("{what}{span}")
        }
        regex::Error::CompiledTooBig(limit) => {
            format!("the compiled expression is larger than the limit of {limit} bytes")
        }
        other => other.to_string().trim_end_matches('.').to_owned(),
    }
}

fn operand_error(op: &'static str, expected: &'static str, value: &Value) -> PackErrorKind {
    PackErrorKind::Operand {
        op,
        expected,
        found: match value {
            Value::Array(_) | Value::Object(_) | Value::Null => json_type(value).to_owned(),
            scalar => format!("{} `{scalar}`", json_type(scalar)),
        },
    }
}

/// Refuses a `null` operand: it could never match (see [`PackErrorKind::NullOperand`]).
fn not_null<'v>(value: &'v Value, op: &'static str) -> Result<&'v Value, PackErrorKind> {
    if value.is_null() {
        Err(PackErrorKind::NullOperand { op })
    } else {
        Ok(value)
    }
}

fn number(value: &Value, op: &'static str) -> Result<f64, PackErrorKind> {
    value
        .as_f64()
        .ok_or_else(|| operand_error(op, "a number", value))
}

fn string<'v>(value: &'v Value, op: &'static str) -> Result<&'v str, PackErrorKind> {
    value
        .as_str()
        .ok_or_else(|| operand_error(op, "a string", value))
}

fn array(
    value: &Value,
    op: &'static str,
    ignore_case: bool,
) -> Result<Vec<Expected>, PackErrorKind> {
    let items = value
        .as_array()
        .ok_or_else(|| operand_error(op, "an array", value))?;
    items
        .iter()
        .map(|v| not_null(v, op).map(|v| Expected::new(v, ignore_case)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(spec: Value) -> Condition {
        let spec: ConditionSpec = serde_json::from_value(spec).unwrap();
        Condition::compile(&spec, "/when").unwrap()
    }

    fn compile_err(spec: Value) -> CompileError {
        let spec: ConditionSpec = serde_json::from_value(spec).unwrap();
        Condition::compile(&spec, "/when").unwrap_err()
    }

    fn action(payload: Value) -> Action {
        Action::new("session_7", "PAY_INVOICE").with_payload(payload)
    }

    #[test]
    fn each_operator_on_present_values() {
        let a = action(
            json!({"amount": 5000, "vendor": "Unknown Corp", "env": "PRODUCTION",
                              "tags": ["urgent", "new"], "memo": "invoice 42"}),
        );
        let cases = [
            (
                json!({"eq": {"path": "payload.amount", "value": 5000}}),
                true,
            ),
            (
                json!({"eq": {"path": "payload.amount", "value": 5000.0}}),
                true,
            ),
            (
                json!({"ne": {"path": "payload.vendor", "value": "AWS"}}),
                true,
            ),
            (
                json!({"lt": {"path": "payload.amount", "value": 5000}}),
                false,
            ),
            (
                json!({"lte": {"path": "payload.amount", "value": 5000}}),
                true,
            ),
            (
                json!({"gt": {"path": "payload.amount", "value": 4999.5}}),
                true,
            ),
            (
                json!({"gte": {"path": "payload.amount", "value": 5001}}),
                false,
            ),
            (
                json!({"in": {"path": "payload.vendor", "value": ["AWS", "Unknown Corp"]}}),
                true,
            ),
            (
                json!({"not_in": {"path": "payload.vendor", "value": ["AWS"]}}),
                true,
            ),
            (
                json!({"contains": {"path": "payload.tags", "value": "urgent"}}),
                true,
            ),
            (
                json!({"contains": {"path": "payload.memo", "value": "ice 4"}}),
                true,
            ),
            (
                json!({"starts_with": {"path": "agent_id", "value": "session_"}}),
                true,
            ),
            (
                json!({"ends_with": {"path": "payload.vendor", "value": "corp"}}),
                false,
            ),
            (
                json!({"ends_with": {"path": "payload.vendor", "value": "corp", "ignore_case": true}}),
                true,
            ),
            (
                json!({"eq": {"path": "payload.env", "value": "production", "ignore_case": true}}),
                true,
            ),
            (
                json!({"eq": {"path": "payload.env", "value": "production"}}),
                false,
            ),
            (
                json!({"matches": {"path": "payload.memo", "value": "^invoice \\d+$"}}),
                true,
            ),
            (
                json!({"matches": {"path": "payload.memo", "value": "^INVOICE", "ignore_case": true}}),
                true,
            ),
            (json!({"exists": {"path": "payload.memo"}}), true),
            (
                json!({"eq": {"path": "action", "value": "PAY_INVOICE"}}),
                true,
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(cond(spec.clone()).eval(&a), expected, "{spec}");
        }
    }

    #[test]
    fn absent_values_fail_every_comparison() {
        let a = action(json!({"other": 1, "nil": null}));
        for op in [
            "eq",
            "ne",
            "lt",
            "lte",
            "gt",
            "gte",
            "contains",
            "starts_with",
            "ends_with",
            "matches",
        ] {
            for path in ["payload.amount", "payload.nil"] {
                let value = if ["lt", "lte", "gt", "gte"].contains(&op) {
                    json!(1)
                } else {
                    json!("x")
                };
                let c = cond(json!({op: {"path": path, "value": value}}));
                assert!(!c.eval(&a), "{op} on {path}");
            }
        }
        assert!(!cond(json!({"in": {"path": "payload.amount", "value": [1]}})).eval(&a));
        assert!(!cond(json!({"not_in": {"path": "payload.amount", "value": [1]}})).eval(&a));
        assert!(!cond(json!({"exists": {"path": "payload.nil"}})).eval(&a));
        assert!(cond(json!({"not": {"exists": {"path": "payload.amount"}}})).eval(&a));
    }

    #[test]
    fn quoted_numbers_and_booleans_cannot_slip_past() {
        let a = action(json!({"amount": "10000", "contains_pii": "true"}));
        assert!(cond(json!({"gte": {"path": "payload.amount", "value": 5000}})).eval(&a));
        assert!(cond(json!({"eq": {"path": "payload.contains_pii", "value": true}})).eval(&a));
        let garbage = action(json!({"amount": "lots", "n": "NaN"}));
        assert!(!cond(json!({"gte": {"path": "payload.amount", "value": 0}})).eval(&garbage));
        assert!(!cond(json!({"lt": {"path": "payload.n", "value": 1}})).eval(&garbage));
    }

    #[test]
    fn combinators() {
        let a = action(json!({"x": 1}));
        assert!(cond(json!({"all": []})).eval(&a));
        assert!(!cond(json!({"any": []})).eval(&a));
        let both = json!({"all": [{"eq": {"path": "payload.x", "value": 1}},
                                   {"any": [{"eq": {"path": "payload.x", "value": 2}},
                                            {"not": {"eq": {"path": "payload.x", "value": 3}}}]}]});
        assert!(cond(both).eval(&a));
    }

    #[test]
    fn compile_errors_point_at_the_operand() {
        let (ptr, kind) =
            compile_err(json!({"all": [{"gte": {"path": "payload.amount", "value": "5000"}}]}));
        assert_eq!(ptr, "/when/all/0/gte/value");
        assert_eq!(
            kind.to_string(),
            "operator `gte` needs a number, found string `\"5000\"`"
        );
        let (ptr, kind) =
            compile_err(json!({"not": {"matches": {"path": "reasoning", "value": "(unclosed"}}}));
        assert_eq!(ptr, "/when/not/matches/value");
        assert_eq!(
            kind.to_string(),
            "bad regular expression `(unclosed`: unclosed group at `(` (character 1)"
        );
        let (_, kind) = compile_err(json!({"matches": {"path": "reasoning", "value": "a{2"}}));
        assert_eq!(
            kind.to_string(),
            "bad regular expression `a{2`: unclosed counted repetition at `{2` (character 2)"
        );
        let (_, kind) =
            compile_err(json!({"matches": {"path": "reasoning", "value": "x\\p{Nope}"}}));
        let text = kind.to_string();
        assert!(!text.contains("error:") && !text.contains('\n'), "{text}");
        let (_, kind) =
            compile_err(json!({"matches": {"path": "reasoning", "value": "\\w{1000}{1000}"}}));
        assert!(kind.to_string().contains("larger than the limit"), "{kind}");
        let (ptr, kind) = compile_err(json!({"any": [{"exists": {"path": "amount"}}]}));
        assert_eq!(ptr, "/when/any/0/exists/path");
        assert!(
            kind.to_string()
                .starts_with("`amount` is not an action path")
        );
        let (ptr, _) = compile_err(json!({"in": {"path": "payload.v", "value": "AWS"}}));
        assert_eq!(ptr, "/when/in/value");
    }

    #[test]
    fn comparisons_with_null_are_refused_with_a_pointer() {
        for op in ["eq", "ne", "contains"] {
            let (ptr, kind) = compile_err(
                json!({"all": [{"exists": {"path": "payload.v"}}, {op: {"path": "payload.v", "value": null}}]}),
            );
            assert_eq!(ptr, format!("/when/all/1/{op}/value"));
            assert_eq!(kind, PackErrorKind::NullOperand { op });
        }
        let (ptr, kind) =
            compile_err(json!({"not_in": {"path": "payload.v", "value": ["a", null]}}));
        assert_eq!(ptr, "/when/not_in/value/1");
        assert!(
            kind.to_string()
                .starts_with("operator `not_in` compares with `null`, which never matches"),
            "{kind}"
        );
        // `null` deeper inside a value is an ordinary JSON value.
        cond(json!({"eq": {"path": "payload.v", "value": [null]}}));
    }
}
