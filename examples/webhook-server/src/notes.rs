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

/// Wraps the configured scorer and notes each question it answers. Everything else is the
/// inner scorer's: what it is, and how the gateway should treat it (an offline scorer
/// still decides before recording, in one store write).
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

    fn wants_policy_notes(&self) -> bool {
        self.inner.wants_policy_notes()
    }

    fn scores_at_once(&self) -> bool {
        self.inner.scores_at_once()
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

#[cfg(test)]
mod tests {
    use sentinel_core::{Gateway, OfflineScorer, SqlStore};
    use serde_json::json;

    use super::*;

    /// A scorer that calls out (the trait's defaults).
    struct Remote;

    #[async_trait]
    impl RiskScorer for Remote {
        fn name(&self) -> &str {
            "remote"
        }

        async fn assess(&self, _: &Action, _: &ScoreContext) -> Result<Assessment, ScorerError> {
            Assessment::new(10, "fine")
        }
    }

    #[test]
    fn the_wrapper_says_what_the_inner_scorer_is() {
        let notes = Arc::new(CallNotes::default());
        let offline = NoteTakingScorer::new(Arc::new(OfflineScorer), Arc::clone(&notes));
        assert!(offline.scores_at_once());
        assert!(!offline.wants_policy_notes());
        let remote = NoteTakingScorer::new(Arc::new(Remote), notes);
        assert!(!remote.scores_at_once());
        assert!(remote.wants_policy_notes());
    }

    /// Behind the wrapper, the offline scorer still lets the gateway record a low-risk
    /// action with its decision in one store write (it took two, create then transition,
    /// while the wrapper hid that the scorer answers at once).
    #[tokio::test]
    async fn an_offline_decision_is_one_store_write_behind_the_wrapper() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("notes.db").display());
        let store = SqlStore::connect(&url).await.unwrap();
        let scorer = NoteTakingScorer::new(Arc::new(OfflineScorer), Arc::default());
        let gateway = Gateway::builder()
            .scorer(scorer)
            .store(store.clone())
            .build()
            .unwrap();
        let before = store.batch_stats();
        let action = Action::new("billing", "PAY_INVOICE")
            .with_payload(json!({"amount": 120, "vendor": "AWS"}));
        let ticket = gateway.submit(action).await.unwrap();
        assert_eq!(ticket.status, sentinel_core::State::Executed);
        assert_eq!(store.batch_stats().writes - before.writes, 1);
    }
}
