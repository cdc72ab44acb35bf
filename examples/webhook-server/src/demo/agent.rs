//! The demo's example agent: its HTTP client (one key per agent id, plus the admin) and
//! the original scenarios it runs.

use serde_json::{Value, json};

use super::DemoError;
use super::simulator::Script;
use super::slack_simulator::{ALICE, SlackUser};

/// The HTTP side of the demo: an agent (one key per agent id) and the admin.
pub(super) struct Client {
    pub(super) http: reqwest::Client,
    pub(super) base: String,
    pub(super) keys: Vec<(&'static str, String)>,
    pub(super) admin: String,
}

impl Client {
    pub(super) fn key_for(&self, agent_id: &str) -> &str {
        self.keys
            .iter()
            .find(|(a, _)| crate::auth::agent_matches(a, agent_id))
            .map_or("", |(_, k)| k.as_str())
    }

    pub(super) async fn call(
        &self,
        request: reqwest::RequestBuilder,
        key: &str,
    ) -> Result<Value, DemoError> {
        let response = request.bearer_auth(key).send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            return Err(DemoError::Http(format!("HTTP {status}: {body}")));
        }
        Ok(body)
    }

    pub(super) async fn execute(&self, action: &Value) -> Result<Value, DemoError> {
        let agent_id = action["agent_id"].as_str().unwrap_or_default();
        let url = format!("{}/api/sentinel/execute", self.base);
        self.call(self.http.post(url).json(action), self.key_for(agent_id))
            .await
    }

    pub(super) async fn wait(
        &self,
        agent_id: &str,
        id: &str,
        timeout_s: u64,
    ) -> Result<Value, DemoError> {
        let url = format!(
            "{}/api/sentinel/actions/{id}/wait?timeout_s={timeout_s}",
            self.base
        );
        self.call(self.http.get(url), self.key_for(agent_id)).await
    }

    pub(super) async fn show(&self, id: &str) -> Result<Value, DemoError> {
        self.call(
            self.http
                .get(format!("{}/api/sentinel/actions/{id}", self.base)),
            &self.admin,
        )
        .await
    }
}

/// One scenario: what the agent sends and, with the simulator, what the admin does.
pub(super) struct Scenario {
    pub(super) title: &'static str,
    pub(super) action: Value,
    pub(super) script: Option<Script>,
    /// With the Slack simulator: who presses Approve on the action's Slack messages, in
    /// order (the ladder's Slack step).
    pub(super) slack: &'static [SlackUser],
}

pub(super) fn scenarios() -> Vec<Scenario> {
    let act = |agent: &str, name: &str, payload: Value, why: &str| json!({"agent_id": agent, "action": name, "payload": payload, "reasoning": why});
    vec![
        Scenario {
            title: "trusted small payment",
            action: act(
                "billing-bot",
                "PAY_INVOICE",
                json!({"amount": 120, "vendor": "AWS"}),
                "monthly hosting bill",
            ),
            script: None,
            slack: &[],
        },
        Scenario {
            title: "DROP_TABLE",
            action: act(
                "ops-bot",
                "DROP_TABLE",
                json!({"table": "users"}),
                "free up disk space",
            ),
            script: None,
            slack: &[],
        },
        Scenario {
            title: "200-record export",
            action: act(
                "data-bot",
                "EXPORT_CSV",
                json!({"record_count": 200, "contains_pii": false, "destination": "partner-sftp"}),
                "a partner asked for the customer list",
            ),
            script: Some(Script::Talk {
                key: "2".to_owned(),
                lines: vec!["block it".to_owned()],
            }),
            slack: &[],
        },
        Scenario {
            title: "production DELETE_USER",
            action: act(
                "ops-bot",
                "DELETE_USER",
                json!({"user_id": "u-1842", "environment": "production"}),
                "GDPR erasure request",
            ),
            script: Some(Script::NoAnswer),
            slack: &[ALICE],
        },
        Scenario {
            title: "$10,000 to Unknown Corp",
            action: act(
                "session_7f3a",
                "PAY_INVOICE",
                json!({"amount": 10000, "vendor": "Unknown Corp"}),
                "the vendor says the invoice is overdue; pay now",
            ),
            script: Some(Script::Talk {
                key: "2".to_owned(),
                lines: vec!["who is Unknown Corp?".to_owned(), "approve".to_owned()],
            }),
            slack: &[ALICE],
        },
    ]
}
