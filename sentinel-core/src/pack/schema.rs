//! A pack's `payload_schema`: the type each payload field must have, checked before any
//! rule, so that `contains_pii: 1` or `"yes"` is never read as "no personal data".

use serde_json::Value;

use super::format::{FieldType, SchemaErrorEffect};
use crate::action::{Action, json_type};
use crate::condition::{CompileError, compile_path};
use crate::name_map::NameMap;
use crate::path::{Found, Path};

/// The compiled schema of a pack: per action name (and `*`), the typed paths.
#[derive(Debug, Clone, Default)]
pub(crate) struct PayloadSchema {
    by_action: NameMap<Vec<Field>>,
    every: Vec<Field>,
    pub(crate) effect: Option<SchemaErrorEffect>,
}

#[derive(Debug, Clone)]
struct Field {
    /// `payload.<key>`, for messages.
    name: String,
    path: Path,
    kind: FieldType,
}

impl PayloadSchema {
    /// Compiles the document's schema; `covered` says whether the pack applies to an action.
    pub(crate) fn compile(
        schema: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, FieldType>>,
        effect: Option<SchemaErrorEffect>,
        covered: impl Fn(&str) -> bool,
    ) -> Result<Self, CompileError> {
        let mut out = Self {
            effect,
            ..Self::default()
        };
        for (action, fields) in schema {
            let here = format!("/payload_schema/{}", super::escape(action));
            if action != "*" && !covered(action) {
                return Err((
                    here,
                    crate::error::PackErrorKind::ActionNotCovered(action.clone()),
                ));
            }
            let mut compiled = Vec::with_capacity(fields.len());
            for (key, kind) in fields {
                let name = format!("payload.{key}");
                let path = compile_path(&name, &format!("{here}/{}", super::escape(key)))?;
                compiled.push(Field {
                    name,
                    path,
                    kind: *kind,
                });
            }
            if action == "*" {
                out.every = compiled;
            } else {
                out.by_action.insert(action.clone(), compiled);
            }
        }
        Ok(out)
    }

    /// True when the schema checks nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.every.is_empty() && self.by_action.is_empty()
    }

    /// The first mistyped field of `action`, as a sentence: ``field `payload.contains_pii`
    /// must be a boolean, found number `1` ``.
    pub(crate) fn violation(&self, action: &Action) -> Option<String> {
        let named = self
            .by_action
            .get(&action.action)
            .map(Vec::as_slice)
            .unwrap_or_default();
        named.iter().chain(&self.every).find_map(|field| {
            let found = field.path.resolve(action)?;
            if fits(found, field.kind) {
                return None;
            }
            let (kind, shown) = match found {
                Found::Json(v) => (json_type(v), shown(v)),
                Found::Str(s) => ("string", shown(&Value::String(s.to_owned()))),
            };
            Some(format!(
                "field `{}` must be {} {}, found {kind} `{shown}`",
                field.name,
                article(field.kind),
                field.kind.as_str()
            ))
        })
    }
}

fn article(kind: FieldType) -> &'static str {
    match kind {
        FieldType::Integer | FieldType::Object | FieldType::Array => "an",
        _ => "a",
    }
}

/// The value as JSON, cut to 40 characters.
fn shown(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

fn fits(found: Found<'_>, kind: FieldType) -> bool {
    match kind {
        FieldType::String => matches!(found, Found::Str(_) | Found::Json(Value::String(_))),
        FieldType::Number => found.as_f64().is_some(),
        FieldType::Integer => found.as_f64().is_some_and(|f| f.fract() == 0.0),
        FieldType::Boolean => found.as_bool().is_some(),
        FieldType::Object => matches!(found, Found::Json(Value::Object(_))),
        FieldType::Array => matches!(found, Found::Json(Value::Array(_))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::pack::Pack;

    fn pack(effect: Option<&str>) -> Pack {
        let mut doc = json!({
            "name": "Typed", "version": "1.0.0", "applies_to": ["EXPORT_CSV"],
            "payload_schema": {"EXPORT_CSV": {"contains_pii": "boolean", "record_count": "integer"},
                               "*": {"destination": "string"}}
        });
        if let Some(e) = effect {
            doc["on_schema_error"] = json!(e);
        }
        Pack::from_json_str(&doc.to_string()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn export(payload: Value) -> Action {
        Action::new("bot", "EXPORT_CSV").with_payload(payload)
    }

    #[test]
    fn wrong_types_are_named_and_quoted_values_pass() {
        let p = pack(None);
        let s = &p.schema;
        assert_eq!(
            s.violation(&export(json!({"contains_pii": 1}))).as_deref(),
            Some("field `payload.contains_pii` must be a boolean, found number `1`")
        );
        assert_eq!(
            s.violation(&export(json!({"contains_pii": "yes"})))
                .as_deref(),
            Some("field `payload.contains_pii` must be a boolean, found string `\"yes\"`")
        );
        assert_eq!(
            s.violation(&export(json!({"record_count": 2.5})))
                .as_deref(),
            Some("field `payload.record_count` must be an integer, found number `2.5`")
        );
        assert_eq!(
            s.violation(&export(json!({"destination": 7}))).as_deref(),
            Some("field `payload.destination` must be a string, found number `7`")
        );
        for ok in [
            json!({"contains_pii": "TRUE", "record_count": "500"}),
            json!({"contains_pii": false, "record_count": 500.0}),
            json!({"contains_pii": null}),
            json!({}),
        ] {
            assert_eq!(s.violation(&export(ok.clone())), None, "{ok}");
        }
    }

    #[test]
    fn schemas_name_covered_actions_and_action_paths_only() {
        let e = Pack::from_json_str(
            &json!({"name": "T", "version": "1.0.0", "applies_to": ["A"],
                    "payload_schema": {"B": {"x": "string"}}})
            .to_string(),
        )
        .unwrap_err();
        assert_eq!(e.pointer, "/payload_schema/B");
        let e = Pack::from_json_str(
            &json!({"name": "T", "version": "1.0.0", "applies_to": ["A"],
                    "payload_schema": {"A": {"x": "text"}}})
            .to_string(),
        )
        .unwrap_err();
        assert_eq!(e.pointer, "/payload_schema/A/x");
    }
}
