//! Pack format errors in Sentinel's words: serde's messages name Rust types and enum
//! "variants"; policy authors write operators and effects.

/// The effects a rule may have, as a pack author writes them.
const EFFECTS: &str = "`\"deny\"`, `\"allow\"`, `\"escalate\"`, `{\"risk_floor\": n}`, `{\"risk_ceiling\": n}`, `{\"set_risk\": n}`";

/// Rewrites a message from deserializing the pack document, found at JSON `pointer`.
pub(super) fn format_message(pointer: &str, message: &str) -> String {
    let place = Place::of(pointer);
    // The last pointer token names the operator or effect the message is about.
    let name = pointer.rsplit('/').next().unwrap_or_default();
    if let Some((unknown, expected)) = unknown_variant(message) {
        match place {
            Place::Condition => {
                return format!("unknown operator `{unknown}`; operators are {expected}");
            }
            Place::Effect => return format!("unknown effect `{unknown}`; effects are {EFFECTS}"),
            Place::DefaultEffect => {
                return format!(
                    "unknown default effect `{unknown}`; use `\"allow\"`, `\"escalate\"` or `\"deny\"`"
                );
            }
            Place::Other => {}
        }
    }
    match place {
        Place::Condition if message == "invalid value: map, expected map with a single key" => {
            return format!(
                "a condition is an object with exactly one operator, e.g. `{{\"eq\": {{\"path\": \"payload.vendor\", \"value\": \"AWS\"}}}}`; operators are {OPERATORS}"
            );
        }
        Place::Condition if message.starts_with("invalid type: unit variant") => {
            return format!(
                "operator `{name}` needs an operand: write `{{\"{name}\": {}}}`",
                operand(name)
            );
        }
        Place::Effect if message.starts_with("invalid type: unit variant") => {
            return format!(
                "effect `{name}` needs a risk from 0 to 100: write `{{\"{name}\": n}}`"
            );
        }
        Place::Effect
            if message.ends_with("expected unit") || message.ends_with("expected unit variant") =>
        {
            return format!("effect `{name}` takes no value: write `\"{name}\"`");
        }
        _ => {}
    }
    let expected = match place {
        Place::Condition => "a condition such as `{\"eq\": {\"path\": ..., \"value\": ...}}`",
        Place::Effect => "an effect",
        Place::DefaultEffect | Place::Other => "a string or an object",
    };
    without_type_names(&message.replace("expected string or map", &format!("expected {expected}")))
}

/// Every operator, as serde lists them.
const OPERATORS: &str = "`all`, `any`, `not`, `eq`, `ne`, `lt`, `lte`, `gt`, `gte`, `in`, `not_in`, `contains`, `starts_with`, `ends_with`, `matches`, `exists`, `budget`, `rate`";

/// How an operator's operand is written.
fn operand(op: &str) -> &'static str {
    match op {
        "all" | "any" => "[{...}, ...]",
        "not" => "{...}",
        "exists" => "{\"path\": ...}",
        "budget" => "{\"sum\": ..., \"per\": [...], \"window_s\": ..., \"above\": ...}",
        "rate" => "{\"per\": [...], \"window_s\": ..., \"above\": ...}",
        _ => "{\"path\": ..., \"value\": ...}",
    }
}

/// Where in a pack a message points.
#[derive(Clone, Copy)]
enum Place {
    /// Inside a rule's `when`.
    Condition,
    /// A rule's `effect`.
    Effect,
    /// `default.effect`.
    DefaultEffect,
    Other,
}

impl Place {
    fn of(pointer: &str) -> Self {
        let mut tokens = pointer.split('/').skip(1);
        match (tokens.next(), tokens.next(), tokens.next()) {
            (Some("rules"), Some(_), Some("when")) => Self::Condition,
            (Some("rules"), Some(_), Some("effect")) => Self::Effect,
            (Some("default"), Some("effect"), _) => Self::DefaultEffect,
            _ => Self::Other,
        }
    }
}

/// `unknown variant `x`, expected one of `a`, `b`` → (`x`, "`a`, `b`").
fn unknown_variant(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix("unknown variant `")?;
    let (name, rest) = rest.split_once('`')?;
    let expected = rest
        .strip_prefix(", expected one of ")
        .or_else(|| rest.strip_prefix(", expected "))?;
    Some((name, expected))
}

/// Replaces the Rust type names serde quotes with what a pack author writes.
fn without_type_names(message: &str) -> String {
    const NAMES: [(&str, &str); 13] = [
        (
            "struct BudgetSpec",
            "an object with `sum`, `per`, `window_s` and `above`",
        ),
        (
            "struct RateSpec",
            "an object with `per`, `window_s` and `above`",
        ),
        (
            "struct Comparison",
            "an object `{\"path\": ..., \"value\": ...}`",
        ),
        ("struct ExistsSpec", "an object `{\"path\": ...}`"),
        (
            "enum ConditionSpec",
            "a condition such as `{\"eq\": {\"path\": ..., \"value\": ...}}`",
        ),
        ("struct RuleSpec", "a rule object"),
        ("struct PackDocument", "a pack object"),
        (
            "struct ThresholdsSpec",
            "an object with `escalate_above` and `deny_at_or_above`",
        ),
        (
            "struct DefaultSpec",
            "an object with `risk`, `reason` and `effect`",
        ),
        (
            "struct ActionDefaultSpec",
            "an object with `risk` and `reason`",
        ),
        (
            "enum DefaultEffect",
            "`\"allow\"`, `\"escalate\"` or `\"deny\"`",
        ),
        ("enum Effect", "an effect"),
        ("expected u8", "expected a risk from 0 to 100"),
    ];
    NAMES.iter().fold(message.to_owned(), |text, (from, to)| {
        text.replace(from, to)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Pack;
    use serde_json::{Value, json};

    fn message(rule: Value) -> String {
        let text = json!({"name": "T", "version": "1.0.0", "applies_to": ["X"], "rules": [rule]})
            .to_string();
        Pack::from_json_str(&text).unwrap_err().to_string()
    }

    #[test]
    fn unknown_operators_and_effects_are_named_with_the_ones_that_exist() {
        let m = message(json!({"id": "r", "effect": "deny", "reason": "x",
            "when": {"all": [{"greater": {"path": "payload.amount", "value": 1}}]}}));
        assert_eq!(
            m,
            "in pack `T`, rule `r`, at `/rules/0/when/all/0`: unknown operator `greater`; operators are `all`, `any`, `not`, `eq`, `ne`, `lt`, `lte`, `gt`, `gte`, `in`, `not_in`, `contains`, `starts_with`, `ends_with`, `matches`, `exists`, `budget`, `rate`"
        );
        let m = message(json!({"id": "r", "effect": "block", "reason": "x"}));
        assert_eq!(
            m,
            format!(
                "in pack `T`, rule `r`, at `/rules/0/effect`: unknown effect `block`; effects are {EFFECTS}"
            )
        );
        let m = message(json!({"id": "r", "effect": {"floor": 5}, "reason": "x"}));
        assert!(
            m.ends_with(&format!("unknown effect `floor`; effects are {EFFECTS}")),
            "{m}"
        );
    }

    #[test]
    fn the_effect_list_is_the_format_s() {
        // serde's own list, in the same order as ours.
        let e = serde_json::from_value::<crate::Effect>(json!("nope"))
            .unwrap_err()
            .to_string();
        let (_, serde_list) = unknown_variant(&e).unwrap();
        let ours: Vec<&str> = EFFECTS
            .split(", ")
            .map(|e| e.trim_matches(|c| "`{\"".contains(c)))
            .map(|e| e.split('"').next().unwrap_or(e))
            .collect();
        let theirs: Vec<&str> = serde_list
            .split(", ")
            .map(|e| e.trim_matches('`'))
            .collect();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn misshapen_conditions_and_effects_say_what_to_write() {
        let cases = [
            (
                json!({"when": {"gte": 5}}),
                "at `/rules/0/when/gte`: invalid type: integer `5`, expected an object `{\"path\": ..., \"value\": ...}`",
            ),
            (
                json!({"when": {"eq": {"path": "action", "value": "X"}, "ne": {"path": "action", "value": "Y"}}}),
                "at `/rules/0/when`: a condition is an object with exactly one operator, e.g. `{\"eq\": {\"path\": \"payload.vendor\", \"value\": \"AWS\"}}`; operators are `all`, ",
            ),
            (
                json!({"when": "all"}),
                "at `/rules/0/when/all`: operator `all` needs an operand: write `{\"all\": [{...}, ...]}`",
            ),
            (
                json!({"when": {"not": "exists"}}),
                "at `/rules/0/when/not/exists`: operator `exists` needs an operand: write `{\"exists\": {\"path\": ...}}`",
            ),
            (
                json!({"when": 5}),
                "at `/rules/0/when`: invalid type: integer `5`, expected a condition such as `{\"eq\": {\"path\": ..., \"value\": ...}}`",
            ),
            (
                json!({"when": {"exists": "payload.x"}}),
                "invalid type: string \"payload.x\", expected an object `{\"path\": ...}`",
            ),
            (
                json!({"effect": "risk_floor"}),
                "at `/rules/0/effect/risk_floor`: effect `risk_floor` needs a risk from 0 to 100: write `{\"risk_floor\": n}`",
            ),
            (
                json!({"effect": {"deny": 1}}),
                "at `/rules/0/effect/deny`: effect `deny` takes no value: write `\"deny\"`",
            ),
            (
                json!({"effect": {"set_risk": 300}}),
                "at `/rules/0/effect/set_risk`: invalid value: integer `300`, expected a risk from 0 to 100",
            ),
            (
                json!({"effect": 5}),
                "at `/rules/0/effect`: invalid type: integer `5`, expected an effect",
            ),
        ];
        for (part, expected) in cases {
            let mut rule = json!({"id": "r", "effect": "deny", "reason": "x"});
            for (k, v) in part.as_object().unwrap() {
                rule[k] = v.clone();
            }
            let m = message(rule);
            assert!(m.contains(expected), "{m}\nshould contain\n{expected}");
            assert!(!m.contains("variant") && !m.contains(" map"), "{m}");
        }
        let pack = |extra: Value| {
            let mut doc = json!({"name": "T", "version": "1.0.0", "applies_to": ["X"]});
            for (k, v) in extra.as_object().unwrap() {
                doc[k] = v.clone();
            }
            Pack::from_json_str(&doc.to_string())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            pack(json!({"default": {"effect": "block"}})),
            "in pack `T`, at `/default/effect`: unknown default effect `block`; use `\"allow\"`, `\"escalate\"` or `\"deny\"`"
        );
        assert!(pack(json!({"rules": [5]})).ends_with("expected a rule object"));
        assert!(
            pack(json!({"default": 5}))
                .ends_with("expected an object with `risk`, `reason` and `effect`")
        );
        assert!(pack(json!({"default": {"risk": 300}})).ends_with("expected a risk from 0 to 100"));
    }

    #[test]
    fn the_operator_list_is_the_format_s() {
        let e = serde_json::from_value::<crate::pack::format::ConditionSpec>(json!({"nope": 1}))
            .unwrap_err()
            .to_string();
        assert_eq!(unknown_variant(&e).map(|(_, list)| list), Some(OPERATORS));
    }
}
