//! A risk scorer written in JavaScript: an object with async `assess` (and optionally
//! `explain`) methods, called from the gateway's tokio tasks through thread-safe
//! functions.

use async_trait::async_trait;
use napi_derive::napi;
use sentinel_core::{Action, Assessment, RiskScorer, ScoreContext, ScorerError};

use crate::callback::{JsCallback, call};
use crate::convert::{ActionView, ScoreContextView};

/// The argument of the wrapped `assess` callback.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct AssessCall {
    /// The action to score.
    pub action: ActionView,
    /// What the policy already knows.
    pub context: ScoreContextView,
}

/// The argument of the wrapped `explain` callback.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ExplainCall {
    /// The action asked about.
    pub action: ActionView,
    /// Its recorded risk score.
    pub risk_score: u32,
    /// Its recorded analysis.
    pub analysis: String,
    /// The human's question.
    pub question: String,
}

/// A [`RiskScorer`] whose methods are JS functions. A rejection fails the action closed
/// (the core then escalates by default); what the function threw becomes the source of the
/// core's [`ScorerError`] (a [`JsCause`](crate::callback::JsCause)).
pub struct JsScorer {
    name: String,
    assess: JsCallback<AssessCall>,
    explain: Option<JsCallback<ExplainCall>>,
}

impl JsScorer {
    /// Wraps the JS callbacks of a scorer named `name`.
    pub fn new(
        name: String,
        assess: JsCallback<AssessCall>,
        explain: Option<JsCallback<ExplainCall>>,
    ) -> Self {
        Self {
            name,
            assess,
            explain,
        }
    }
}

#[async_trait]
impl RiskScorer for JsScorer {
    fn name(&self) -> &str {
        &self.name
    }

    async fn assess(
        &self,
        action: &Action,
        context: &ScoreContext,
    ) -> Result<Assessment, ScorerError> {
        let arg = AssessCall {
            action: action.into(),
            context: context.into(),
        };
        let reply = call(&self.assess, arg)
            .await
            .map_err(|e| e.into_scorer_error())?;
        let score = reply
            .risk_score
            .ok_or_else(|| ScorerError::new("scorer returned no `riskScore`"))?;
        if score.fract() != 0.0 || !(0.0..=100.0).contains(&score) {
            return Err(ScorerError::new(format!(
                "scorer returned risk score `{score}`, expected an integer from 0 to 100"
            )));
        }
        // In range and integral: the cast is exact.
        Assessment::new(score as u8, reply.analysis.unwrap_or_default())
    }

    async fn explain(
        &self,
        action: &Action,
        assessment: &Assessment,
        question: &str,
        _context: &ScoreContext,
    ) -> Result<String, ScorerError> {
        let Some(explain) = &self.explain else {
            // The core's default answer: restate the assessment.
            return Ok(format!(
                "{} is rated {} out of 100. {}",
                action.action, assessment.risk_score, assessment.analysis
            ));
        };
        let arg = ExplainCall {
            action: action.into(),
            risk_score: u32::from(assessment.risk_score),
            analysis: assessment.analysis.clone(),
            question: question.to_owned(),
        };
        let reply = call(explain, arg)
            .await
            .map_err(|e| e.into_scorer_error())?;
        reply
            .text
            .ok_or_else(|| ScorerError::new("scorer's `explain` returned no text"))
    }
}
