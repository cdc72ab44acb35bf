//! A Python object as the gateway's [`RiskScorer`].
//!
//! The object has `assess(action: dict) -> {"risk_score": int, "analysis": str}` and may have
//! `explain(action: dict, assessment: dict, question: str) -> str`; either may be `async def`.
//! The adapter only converts: the pipeline (floors, denies, thresholds) stays in Rust.

use std::sync::Arc;

use async_trait::async_trait;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use sentinel_core::{Action, Assessment, RiskScorer, ScoreContext, ScorerError};

use crate::callback::{Failure, call_python};
use crate::convert;

/// Adapter for a scorer without `explain` (the core's default answer is used).
pub(crate) struct PyScorer {
    name: String,
    object: Arc<Py<PyAny>>,
}

/// Adapter for a scorer with `explain`.
pub(crate) struct PyExplainingScorer(PyScorer);

/// Wraps a Python scorer object, checking that it has a callable `assess`.
pub(crate) fn from_object(object: &Bound<'_, PyAny>) -> PyResult<Arc<dyn RiskScorer>> {
    if !has_method(object, "assess")? {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "scorer must be None, \"offline\" or an object with an `assess(action)` method, found `{}`",
            convert::type_name(object)
        )));
    }
    let scorer = PyScorer {
        name: object_name(object),
        object: Arc::new(object.clone().unbind()),
    };
    Ok(if has_method(object, "explain")? {
        Arc::new(PyExplainingScorer(scorer))
    } else {
        Arc::new(scorer)
    })
}

/// True when `object.<method>` exists and is callable.
pub(crate) fn has_method(object: &Bound<'_, PyAny>, method: &str) -> PyResult<bool> {
    Ok(object.hasattr(method)? && object.getattr(method)?.is_callable())
}

/// The object's `name` attribute when it is a string, else its class name.
pub(crate) fn object_name(object: &Bound<'_, PyAny>) -> String {
    match object.getattr("name") {
        Ok(name) if name.is_instance_of::<PyString>() => name.to_string(),
        _ => convert::type_name(object),
    }
}

#[async_trait]
impl RiskScorer for PyScorer {
    fn name(&self) -> &str {
        &self.name
    }

    async fn assess(
        &self,
        action: &Action,
        _context: &ScoreContext,
    ) -> Result<Assessment, ScorerError> {
        let label = format!("`{}.assess`", self.name);
        let object = Arc::clone(&self.object);
        let action = action.to_json();
        let result = call_python(
            label.clone(),
            move |py| {
                object
                    .bind(py)
                    .call_method1("assess", (convert::to_py(py, &action)?,))
            },
            move |_py, value| parse_assessment(&label, value),
        )
        .await;
        result.map_err(Failure::into_scorer_error)
    }
}

#[async_trait]
impl RiskScorer for PyExplainingScorer {
    fn name(&self) -> &str {
        self.0.name()
    }

    async fn assess(
        &self,
        action: &Action,
        context: &ScoreContext,
    ) -> Result<Assessment, ScorerError> {
        self.0.assess(action, context).await
    }

    async fn explain(
        &self,
        action: &Action,
        assessment: &Assessment,
        question: &str,
        _context: &ScoreContext,
    ) -> Result<String, ScorerError> {
        let label = format!("`{}.explain`", self.0.name);
        let object = Arc::clone(&self.0.object);
        let action = action.to_json();
        let assessment = serde_json::json!({"risk_score": assessment.risk_score, "analysis": assessment.analysis});
        let question = question.to_owned();
        let result = call_python(
            label.clone(),
            move |py| {
                let args = (
                    convert::to_py(py, &action)?,
                    convert::to_py(py, &assessment)?,
                    question,
                );
                object.bind(py).call_method1("explain", args)
            },
            move |_py, value| {
                value.extract::<String>().map_err(|_| {
                    Failure::message(format!(
                        "{label} must return a str, found `{}`",
                        convert::type_name(value)
                    ))
                })
            },
        )
        .await;
        result.map_err(Failure::into_scorer_error)
    }
}

/// Reads `{"risk_score": int 0..=100, "analysis": str}`.
fn parse_assessment(label: &str, value: &Bound<'_, PyAny>) -> Result<Assessment, Failure> {
    let bad =
        |why: String| Failure::message(format!("{label} returned an invalid assessment: {why}"));
    let Ok(dict) = value.cast::<PyDict>() else {
        return Err(bad(format!(
            "expected a dict with `risk_score` and `analysis`, found `{}`",
            convert::type_name(value)
        )));
    };
    let score = match dict.get_item("risk_score") {
        Ok(Some(score)) if !score.is_instance_of::<pyo3::types::PyBool>() => {
            score.extract::<i64>().map_err(|_| {
                bad(format!(
                    "`risk_score` must be an int, found `{}`",
                    convert::type_name(&score)
                ))
            })?
        }
        Ok(Some(score)) => {
            return Err(bad(format!(
                "`risk_score` must be an int, found `{}`",
                convert::type_name(&score)
            )));
        }
        _ => return Err(bad("missing `risk_score`".to_owned())),
    };
    let analysis = match dict.get_item("analysis") {
        Ok(Some(text)) => text.extract::<String>().map_err(|_| {
            bad(format!(
                "`analysis` must be a str, found `{}`",
                convert::type_name(&text)
            ))
        })?,
        _ => return Err(bad("missing `analysis`".to_owned())),
    };
    let score =
        u8::try_from(score).map_err(|_| bad(format!("risk score `{score}` is outside 0..=100")))?;
    Assessment::new(score, analysis).map_err(|e| bad(e.to_string()))
}
