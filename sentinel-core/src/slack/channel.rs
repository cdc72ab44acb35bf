//! [`SlackChannel`]: the `slack` steps of the ladder.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::message::{APPROVE, DECLINE, approval_message, outcome_update};
use super::{SlackClient, SlackError, verify};
use crate::action::ActionId;
use crate::approver::{ApproverLink, Resolution};
use crate::ladder::{Channel, ChannelError, ChannelKind, StepRequest};
use crate::spec::SecretValue;

/// The channel name recorded with decisions made in Slack.
const SLACK: &str = "slack";

/// Posts approval messages to Slack and turns button presses into decisions.
pub struct SlackChannel {
    client: SlackClient,
    signing_secret: SecretValue,
    /// Slack user id → operator name.
    users: HashMap<String, String>,
    link: Mutex<Option<ApproverLink>>,
}

impl std::fmt::Debug for SlackChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackChannel")
            .field("client", &self.client)
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

/// A verified press of one of Sentinel's buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Interaction {
    /// The action the message is about.
    pub action_id: ActionId,
    /// Approve (`true`) or Decline.
    pub approve: bool,
    /// The Slack user who pressed it.
    pub user: String,
    /// The conversation of the message.
    pub channel: String,
    /// The message's `ts`.
    pub ts: String,
    /// The interaction's `response_url` (Slack's or the Web API's host only), through which
    /// the message is replaced when `chat.update` fails or the payload names no message.
    pub response_url: Option<String>,
}

/// What [`SlackChannel::decide`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decided {
    /// The decision was recorded (`pending`: a vote of a quorum that wants more).
    Recorded {
        /// The operator the Slack user is bound to.
        operator: String,
        /// True while the action still waits for more approvers.
        pending: bool,
    },
    /// The Slack user is bound to no operator: nothing changed, the user was told.
    Unmapped,
    /// The action was decided already (or is unknown): nothing changed.
    Refused(String),
}

impl SlackChannel {
    /// A channel calling the Web API at `api_base` with the bot token, verifying callbacks
    /// with the signing secret; `users` binds Slack user ids (`U0123ABCD`) to operator
    /// names. Users not bound cannot decide.
    pub fn new(
        api_base: &str,
        bot_token: SecretValue,
        signing_secret: SecretValue,
        users: HashMap<String, String>,
    ) -> Result<Self, SlackError> {
        Ok(Self {
            client: SlackClient::new(api_base, bot_token)?,
            signing_secret,
            users,
            link: Mutex::new(None),
        })
    }

    /// Verifies an interaction request (the raw body and the `X-Slack-Request-Timestamp`
    /// and `X-Slack-Signature` headers, at `now` in Unix seconds) and reads which button
    /// was pressed. Fast and without I/O: answer Slack, then [`decide`](Self::decide).
    pub fn interaction(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<Interaction, SlackError> {
        verify(
            self.signing_secret.expose().as_bytes(),
            timestamp,
            signature,
            body,
            now,
        )?;
        let payload = form_urlencoded::parse(body)
            .find(|(k, _)| k == "payload")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| SlackError::Payload("no `payload` field".to_owned()))?;
        let p: Value = serde_json::from_str(&payload)
            .map_err(|_| SlackError::Payload("`payload` is not JSON".to_owned()))?;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        if p["type"] != "block_actions" {
            return Err(SlackError::Payload(format!("type `{}`", text(&p["type"]))));
        }
        let action = &p["actions"][0];
        let approve = match action["action_id"].as_str() {
            Some(APPROVE) => true,
            Some(DECLINE) => false,
            _ => return Err(SlackError::Payload("not a Sentinel button".to_owned())),
        };
        let action_id = text(&action["value"])
            .parse()
            .map_err(|_| SlackError::Payload("the button names no action".to_owned()))?;
        let user = text(&p["user"]["id"]);
        if user.is_empty() {
            return Err(SlackError::Payload("no user".to_owned()));
        }
        let channel = match p["container"]["channel_id"].as_str() {
            Some(c) => c.to_owned(),
            None => text(&p["channel"]["id"]),
        };
        let ts = match p["container"]["message_ts"].as_str() {
            Some(t) => t.to_owned(),
            None => text(&p["message"]["ts"]),
        };
        let response_url = p["response_url"]
            .as_str()
            .filter(|u| self.client.trusts_response_url(u))
            .map(str::to_owned);
        Ok(Interaction {
            action_id,
            approve,
            user,
            channel,
            ts,
            response_url,
        })
    }

    /// Makes the decision of a verified interaction through the gateway (as the operator
    /// the Slack user is bound to, channel `slack`), then updates the message with the
    /// outcome, or tells an unbound user that they cannot decide.
    pub async fn decide(&self, interaction: &Interaction) -> Result<Decided, SlackError> {
        let Some(operator) = self.users.get(&interaction.user).cloned() else {
            let body = json!({
                "channel": interaction.channel,
                "user": interaction.user,
                "text": "Your Slack account is not bound to a Sentinel operator: you cannot approve or decline. Ask an admin to add `slack_user` to your operator.",
            });
            self.client.call("chat.postEphemeral", &body).await?;
            return Ok(Decided::Unmapped);
        };
        let link = self.link.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(link) = link else {
            return Ok(Decided::Refused("no gateway".to_owned()));
        };
        let resolution = if interaction.approve {
            Resolution::approve(&operator, SLACK)
        } else {
            Resolution::decline(&operator, SLACK)
        };
        let decided = link.handle(interaction.action_id).resolve(resolution).await;
        let (headline, outcome, result) = match decided {
            Ok(record) if record.state.is_pending() => {
                let body = json!({
                    "channel": interaction.channel,
                    "user": interaction.user,
                    "text": "Your approval is counted; more approvers are needed.",
                });
                self.client.call("chat.postEphemeral", &body).await?;
                return Ok(Decided::Recorded {
                    operator,
                    pending: true,
                });
            }
            Ok(record) => {
                let who = record
                    .approval
                    .as_ref()
                    .map(|a| a.by.clone())
                    .unwrap_or_default();
                (
                    record.state.to_string(),
                    format!("{} by {who} via Slack.", record.state),
                    Decided::Recorded {
                        operator,
                        pending: false,
                    },
                )
            }
            Err(e) => (
                "No change".to_owned(),
                "This action was already decided, or is unknown: nothing changed.".to_owned(),
                Decided::Refused(e.to_string()),
            ),
        };
        let update = outcome_update(&interaction.channel, &interaction.ts, &headline, &outcome);
        let updated = if interaction.channel.is_empty() || interaction.ts.is_empty() {
            Err(SlackError::Payload(
                "the interaction names no message".to_owned(),
            ))
        } else {
            self.client.call("chat.update", &update).await.map(drop)
        };
        if let Err(e) = updated {
            // Slack's documented fallback: the interaction's response_url replaces the
            // message it came from (`replace_original`), without the bot token.
            let Some(url) = &interaction.response_url else {
                return Err(e);
            };
            tracing::info!(error = %e, "chat.update failed; replacing the message through response_url");
            let body = json!({
                "replace_original": true,
                "text": update["text"],
                "blocks": update["blocks"],
            });
            self.client.respond(url, &body).await?;
        }
        Ok(result)
    }
}

#[async_trait]
impl Channel for SlackChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Slack
    }

    async fn start(&self, step: StepRequest) -> Result<(), ChannelError> {
        let body = approval_message(&step.to, &step.request, step.ends_at);
        let posted = self
            .client
            .call("chat.postMessage", &body)
            .await
            .map_err(|e| ChannelError::new(SLACK, e.to_string()))?;
        let text = format!(
            "posted to Slack `{}` (message {})",
            posted["channel"].as_str().unwrap_or(&step.to),
            posted["ts"].as_str().unwrap_or("?")
        );
        if let Err(e) = step.request.handle.note("sentinel", SLACK, &text).await {
            tracing::warn!(error = %e, "cannot record the slack message");
        }
        Ok(())
    }

    fn attach(&self, link: ApproverLink) {
        *self.link.lock().unwrap_or_else(|e| e.into_inner()) = Some(link);
    }
}
