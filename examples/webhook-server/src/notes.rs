//! What was said on approval calls, for the `last_digit` / `last_question` /
//! `last_answer` fields of the original `status` shape: keys pressed (from verified
//! webhooks) and the questions the scorer answered (through [`NoteTakingScorer`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sentinel_core::{Action, ActionId, Assessment, RiskScorer, ScoreContext, ScorerError};
use serde::Serialize;

/// Most actions remembered; the notes are a convenience, not a record (the audit trail is).
const MAX_NOTES: usize = 10_000;

/// The last key and the last question and answer of an action's approval call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The last key the admin pressed.
    pub last_digit: Option<String>,
    /// The admin's last question.
    pub last_question: Option<String>,
    /// The answer given to it.
    pub last_answer: Option<String>,
}

/// Notes of recent approval calls.
#[derive(Debug, Default)]
pub struct CallNotes {
    digits: Mutex<HashMap<ActionId, String>>,
    /// Questions are seen by the scorer, which knows the action but not its id: keyed by
    /// the action's canonical hash.
    answers: Mutex<HashMap<String, (String, String)>>,
}

impl CallNotes {
    /// Records a key press on the call about `id`.
    pub fn digit(&self, id: ActionId, digit: &str) {
        let mut digits = self.digits.lock().unwrap_or_else(|p| p.into_inner());
        if digits.len() >= MAX_NOTES {
            digits.clear();
        }
        digits.insert(id, digit.to_owned());
    }

    /// Records a question and its answer about the action with canonical hash `hash`.
    pub fn answer(&self, hash: String, question: &str, answer: &str) {
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        if answers.len() >= MAX_NOTES {
            answers.clear();
        }
        answers.insert(hash, (question.to_owned(), answer.to_owned()));
    }

    /// The notes about an action.
    pub fn get(&self, id: ActionId, hash: &str) -> Note {
        let last_digit = self
            .digits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned();
        let qa = self
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(hash)
            .cloned();
        let (last_question, last_answer) = qa.map_or((None, None), |(q, a)| (Some(q), Some(a)));
        Note {
            last_digit,
            last_question,
            last_answer,
        }
    }
}

/// Wraps the configured scorer and notes each question it answers.
pub struct NoteTakingScorer {
    inner: Arc<dyn RiskScorer>,
    notes: Arc<CallNotes>,
}

impl NoteTakingScorer {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn RiskScorer>, notes: Arc<CallNotes>) -> Self {
        Self { inner, notes }
    }
}

#[async_trait]
impl RiskScorer for NoteTakingScorer {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model(&self) -> Option<&str> {
        self.inner.model()
    }

    async fn assess(
        &self,
        action: &Action,
        context: &ScoreContext,
    ) -> Result<Assessment, ScorerError> {
        self.inner.assess(action, context).await
    }

    async fn explain(
        &self,
        action: &Action,
        assessment: &Assessment,
        question: &str,
        context: &ScoreContext,
    ) -> Result<String, ScorerError> {
        let answer = self
            .inner
            .explain(action, assessment, question, context)
            .await?;
        self.notes
            .answer(action.canonical_hash(), question, &answer);
        Ok(answer)
    }
}
