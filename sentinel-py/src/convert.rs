//! Python objects ⇄ `serde_json::Value`, by hand (no JSON text round trip).
//!
//! Accepted: `None`, `bool`, `int` (64-bit), finite `float`, `str`, `dict` with `str` keys,
//! `list` and `tuple`. Anything else is an `ActionTypeError` (in an action) or a
//! `ConfigError` (in a configuration) naming where it was found.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use sentinel_core::{Action, ConfigError};
use serde_json::{Map, Number, Value};

use crate::errors;

mod texts;

/// Deeper nesting than this is refused (also stops self-referencing containers).
const MAX_DEPTH: usize = 128;

/// Why a Python object is not JSON, and where (innermost key last while unwinding).
struct NotJson {
    path: Vec<String>,
    problem: String,
}

impl NotJson {
    fn new(problem: String) -> Self {
        Self {
            path: Vec::new(),
            problem,
        }
    }

    fn at(mut self, segment: String) -> Self {
        self.path.push(segment);
        self
    }

    /// Where (`root` plus the path, Python-access style) and what.
    fn into_parts(mut self, root: &str) -> (String, String) {
        self.path.reverse();
        let mut at = root.to_owned();
        for segment in &self.path {
            if segment.starts_with('[') || at.is_empty() {
                at.push_str(segment);
            } else {
                at.push('.');
                at.push_str(segment);
            }
        }
        (at, self.problem)
    }

    fn message(self, root: &str) -> String {
        match self.into_parts(root) {
            (at, problem) if at.is_empty() => problem,
            (at, problem) => format!("field `{at}`: {problem}"),
        }
    }
}

/// Parses a Python action (a `dict` in the wire form) into a core [`Action`].
pub(crate) fn action(obj: &Bound<'_, PyAny>) -> PyResult<Action> {
    if let Some(action) = obj.cast::<PyDict>().ok().and_then(|d| direct_action(d)) {
        return Ok(action);
    }
    let py = obj.py();
    let value = to_json(obj, 0).map_err(|e| {
        let message = if e.path.is_empty() {
            format!(
                "an action must be a JSON object (a dict), found `{}`",
                type_name(obj)
            )
        } else {
            e.message("")
        };
        errors::not_json(py, message)
    })?;
    // The core names the offending field, with the same messages in every language.
    Action::from_json(value).map_err(|e| errors::action(py, &e))
}

/// Converts a JSON-like Python value (a tool call's arguments); the error message names
/// where in it the problem is, below `root`.
pub(crate) fn json_value(obj: &Bound<'_, PyAny>, root: &str) -> Result<Value, String> {
    to_json(obj, 0).map_err(|e| e.message(root))
}

/// The common case of [`action`] without the intermediate JSON object: a `dict` whose
/// keys are the action's fields, each of the type the core accepts (`agent_id` and
/// `action` not blank, `reasoning` a string, `payload` a dict, `idempotency_key` a
/// non-empty string or `None`, `context` a dict or `None`). `None` for anything else: the
/// general path then converts it and the core names what is wrong, as before.
fn direct_action(dict: &Bound<'_, PyDict>) -> Option<Action> {
    let py = dict.py();
    let mut texts = texts::Texts::lock();
    let (mut agent_id, mut name, mut reasoning) = (None, None, None);
    let (mut payload, mut key, mut context) = (None, None, None);
    for (k, v) in dict.iter() {
        let field = texts::field(py, &k, &mut texts)?;
        let string = |v: &Bound<'_, PyAny>, texts: &mut texts::Texts| {
            v.cast::<PyString>().ok().and_then(|s| texts.text(s))
        };
        let object = |v: &Bound<'_, PyAny>, texts: &mut texts::Texts| match to_json_in(v, 0, texts)
        {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        };
        match field {
            texts::Field::AgentId => agent_id = Some(string(&v, &mut texts)?),
            texts::Field::Action => name = Some(string(&v, &mut texts)?),
            texts::Field::Reasoning => reasoning = Some(string(&v, &mut texts)?),
            texts::Field::Payload if v.is_instance_of::<PyDict>() => {
                payload = Some(object(&v, &mut texts)?);
            }
            texts::Field::IdempotencyKey if v.is_none() => {}
            texts::Field::IdempotencyKey => key = Some(string(&v, &mut texts)?),
            texts::Field::Context if v.is_none() => {}
            texts::Field::Context if v.is_instance_of::<PyDict>() => {
                context = Some(object(&v, &mut texts)?);
            }
            _ => return None,
        }
    }
    let blank = |s: &str| s.trim().is_empty();
    let (agent_id, name) = (agent_id?, name?);
    if blank(&agent_id) || blank(&name) || key.as_deref() == Some("") {
        return None;
    }
    let mut action = Action::new(agent_id, name);
    action.payload = payload?;
    action.reasoning = reasoning?;
    action.idempotency_key = key;
    action.context = context.unwrap_or_default();
    Some(action)
}

/// Converts a JSON-like Python object found at `key` of a configuration (`""` for the
/// whole document); a value that is not JSON is a [`ConfigError`] at its key path.
pub(crate) fn config_value(obj: &Bound<'_, PyAny>, key: &str) -> Result<Value, ConfigError> {
    to_json(obj, 0).map_err(|e| {
        let (at, problem) = e.into_parts(key);
        ConfigError::at(at, problem)
    })
}

fn to_json(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, NotJson> {
    to_json_in(obj, depth, &mut texts::Texts::lock())
}

fn to_json_in(
    obj: &Bound<'_, PyAny>,
    depth: usize,
    texts: &mut texts::Texts,
) -> Result<Value, NotJson> {
    if depth > MAX_DEPTH {
        return Err(NotJson::new(format!(
            "nested deeper than {MAX_DEPTH} levels"
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        if let Some(text) = texts.text(s) {
            return Ok(Value::String(text));
        }
        return s
            .to_cow()
            .map(|c| Value::String(c.into_owned()))
            .map_err(|e| NotJson::new(e.to_string()));
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(NotJson::new("integer does not fit in 64 bits".to_owned()));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| {
                let shown = obj.repr().map(|r| r.to_string()).unwrap_or_default();
                NotJson::new(format!("`{shown}` is not a JSON number"))
            });
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = Map::with_capacity(dict.len());
        for (key, item) in dict.iter() {
            let Ok(key) = key.cast::<PyString>() else {
                return Err(NotJson::new(format!(
                    "keys must be strings, found `{}`",
                    type_name(&key)
                )));
            };
            let key = match texts.text(key) {
                Some(text) => text,
                None => key
                    .to_cow()
                    .map_err(|e| NotJson::new(e.to_string()))?
                    .into_owned(),
            };
            match to_json_in(&item, depth + 1, texts) {
                Ok(v) => {
                    map.insert(key, v);
                }
                Err(e) => return Err(e.at(key)),
            }
        }
        return Ok(Value::Object(map));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        return seq(list.iter(), depth, texts);
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return seq(tuple.iter(), depth, texts);
    }
    Err(NotJson::new(format!(
        "`{}` is not JSON (use dict, list, str, int, float, bool or None)",
        type_name(obj)
    )))
}

fn seq<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    depth: usize,
    texts: &mut texts::Texts,
) -> Result<Value, NotJson> {
    let mut out = Vec::new();
    for (i, item) in items.enumerate() {
        out.push(to_json_in(&item, depth + 1, texts).map_err(|e| e.at(format!("[{i}]")))?);
    }
    Ok(Value::Array(out))
}

/// The Python type name of `obj`, for messages.
pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_owned())
}

/// Converts JSON into Python (`dict`, `list`, `str`, `int`, `float`, `bool`, `None`).
pub(crate) fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Serializes any core value (decision, record) into Python via its JSON form.
pub(crate) fn serialize<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value)
        .map_err(|e| errors::internal(py, format!("cannot serialize: {e}")))?;
    to_py(py, &json)
}

#[cfg(test)]
mod tests {
    use super::NotJson;

    #[test]
    fn error_paths_read_like_python_access() {
        let e = NotJson::new("bad".into())
            .at("[2]".into())
            .at("items".into())
            .at("payload".into());
        assert_eq!(e.message(""), "field `payload.items[2]`: bad");
        assert_eq!(NotJson::new("bad".into()).message(""), "bad");
        assert_eq!(
            NotJson::new("bad".into()).at("x".into()).message("result"),
            "field `result.x`: bad"
        );
        let (at, problem) = NotJson::new("bad".into())
            .at("[0]".into())
            .at("inline".into())
            .into_parts("packs");
        assert_eq!((at.as_str(), problem.as_str()), ("packs.inline[0]", "bad"));
    }
}
