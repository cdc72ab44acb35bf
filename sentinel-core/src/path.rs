//! Paths into an action (`agent_id`, `payload.amount`, `context.tenant.id`...), resolved once
//! when a pack is compiled.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::action::Action;

/// A compiled path into an [`Action`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Path {
    AgentId,
    ActionName,
    Reasoning,
    IdempotencyKey,
    Payload(Box<[Segment]>),
    Context(Box<[Segment]>),
}

/// One step below `payload` or `context`: an object key, or an array index when the key
/// is a number and the value there is an array.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Segment {
    key: String,
    index: Option<usize>,
}

/// A value found at a path: the top-level text fields are plain strings.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Found<'a> {
    Str(&'a str),
    Json(&'a Value),
}

impl Path {
    /// Parses `root.key.key...`; `None` when the text is not an action path.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let root = parts.next()?;
        let segments = || -> Option<Box<[Segment]>> {
            let segs: Vec<Segment> = text
                .split('.')
                .skip(1)
                .map(|key| {
                    (!key.is_empty()).then(|| Segment {
                        key: key.to_owned(),
                        index: key.parse().ok(),
                    })
                })
                .collect::<Option<_>>()?;
            (!segs.is_empty()).then(|| segs.into_boxed_slice())
        };
        let scalar =
            |p: Path, mut rest: std::str::Split<'_, char>| rest.next().is_none().then_some(p);
        match root {
            "agent_id" => scalar(Path::AgentId, parts),
            "action" => scalar(Path::ActionName, parts),
            "reasoning" => scalar(Path::Reasoning, parts),
            "idempotency_key" => scalar(Path::IdempotencyKey, parts),
            "payload" => segments().map(Path::Payload),
            "context" => segments().map(Path::Context),
            _ => None,
        }
    }

    /// The value at this path, or `None` when absent (JSON `null` counts as absent).
    pub(crate) fn resolve<'a>(&self, action: &'a Action) -> Option<Found<'a>> {
        match self {
            Path::AgentId => Some(Found::Str(&action.agent_id)),
            Path::ActionName => Some(Found::Str(&action.action)),
            Path::Reasoning => Some(Found::Str(&action.reasoning)),
            Path::IdempotencyKey => action.idempotency_key.as_deref().map(Found::Str),
            Path::Payload(segs) => walk(&action.payload, segs).map(Found::Json),
            Path::Context(segs) => walk(&action.context, segs).map(Found::Json),
        }
    }
}

fn walk<'a>(root: &'a Map<String, Value>, segs: &[Segment]) -> Option<&'a Value> {
    let (first, rest) = segs.split_first()?;
    let mut value = root.get(&first.key)?;
    for seg in rest {
        value = match value {
            Value::Object(map) => map.get(&seg.key)?,
            Value::Array(items) => items.get(seg.index?)?,
            _ => return None,
        };
    }
    (!value.is_null()).then_some(value)
}

impl<'a> Found<'a> {
    /// As a number: JSON numbers, and strings that parse as one (`"5000"`), so that quoting
    /// a number cannot slip past a rule.
    pub(crate) fn as_f64(self) -> Option<f64> {
        match self {
            Found::Json(Value::Number(n)) => n.as_f64(),
            Found::Json(Value::String(s)) => s.trim().parse().ok(),
            Found::Str(s) => s.trim().parse().ok(),
            Found::Json(_) => None,
        }
        .filter(|f: &f64| f.is_finite())
    }

    /// As a boolean: JSON booleans, and the strings `true`/`false` in any case.
    pub(crate) fn as_bool(self) -> Option<bool> {
        match self {
            Found::Json(Value::Bool(b)) => Some(*b),
            Found::Json(Value::String(_)) | Found::Str(_) => {
                let s = self.as_text().unwrap_or_default();
                let s = s.trim();
                if s.eq_ignore_ascii_case("true") {
                    Some(true)
                } else if s.eq_ignore_ascii_case("false") {
                    Some(false)
                } else {
                    None
                }
            }
            Found::Json(_) => None,
        }
    }

    /// As text: strings as they are, numbers and booleans in their JSON form.
    pub(crate) fn as_text(self) -> Option<Cow<'a, str>> {
        match self {
            Found::Str(s) => Some(Cow::Borrowed(s)),
            Found::Json(Value::String(s)) => Some(Cow::Borrowed(s.as_str())),
            Found::Json(v @ (Value::Number(_) | Value::Bool(_))) => Some(Cow::Owned(v.to_string())),
            Found::Json(_) => None,
        }
    }

    /// As a JSON array, when it is one.
    pub(crate) fn as_array(self) -> Option<&'a [Value]> {
        match self {
            Found::Json(Value::Array(items)) => Some(items),
            _ => None,
        }
    }

    /// Appends what [`Found::render`] returns to `out`, without a string of its own.
    pub(crate) fn render_into(self, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            Found::Str(s) => out.push_str(s),
            Found::Json(Value::String(s)) => out.push_str(s),
            Found::Json(Value::Null) => {}
            // `Value`'s `Display` is its compact JSON, written straight into `out`.
            Found::Json(v) => {
                let _ = write!(out, "{v}");
            }
        }
    }

    /// For reason templates: text as is, anything else as compact JSON.
    pub(crate) fn render(self) -> Cow<'a, str> {
        match self {
            Found::Json(v @ (Value::Array(_) | Value::Object(_))) => Cow::Owned(v.to_string()),
            other => other.as_text().unwrap_or(Cow::Borrowed("")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn action() -> Action {
        Action::new("session_1", "EXPORT_CSV")
            .with_payload(json!({"n": 12, "nested": {"list": [{"x": "deep"}]}, "nil": null}))
            .with_context(json!({"env": "prod"}))
    }

    #[test]
    fn parses_roots_and_refuses_the_rest() {
        assert_eq!(Path::parse("agent_id"), Some(Path::AgentId));
        assert!(Path::parse("payload.a.b").is_some());
        for bad in [
            "payload",
            "payload.",
            "payload..a",
            "agent_id.x",
            "amount",
            "",
            "context",
        ] {
            assert_eq!(Path::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn resolves_nested_objects_and_arrays() {
        let a = action();
        let deep = Path::parse("payload.nested.list.0.x").unwrap();
        assert_eq!(deep.resolve(&a).and_then(Found::as_text).unwrap(), "deep");
        let n = Path::parse("payload.n").unwrap();
        assert_eq!(n.resolve(&a).and_then(Found::as_f64), Some(12.0));
        assert!(Path::parse("payload.nil").unwrap().resolve(&a).is_none());
        assert!(
            Path::parse("payload.nested.list.7")
                .unwrap()
                .resolve(&a)
                .is_none()
        );
        assert!(
            Path::parse("payload.n.deeper")
                .unwrap()
                .resolve(&a)
                .is_none()
        );
        let env = Path::parse("context.env").unwrap();
        assert_eq!(env.resolve(&a).and_then(Found::as_text).unwrap(), "prod");
    }

    #[test]
    fn coerces_quoted_numbers_and_booleans() {
        let v = json!("5000");
        assert_eq!(Found::Json(&v).as_f64(), Some(5000.0));
        let t = json!("TRUE");
        assert_eq!(Found::Json(&t).as_bool(), Some(true));
        let x = json!("lots");
        assert_eq!(Found::Json(&x).as_f64(), None);
        assert_eq!(Found::Json(&x).as_bool(), None);
    }
}
