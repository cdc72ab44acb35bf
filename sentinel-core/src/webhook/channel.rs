//! [`WebhookChannel`]: the `webhook` steps of the ladder.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{SecondsFormat, Utc};

use super::{DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, approval_body, sign};
use crate::ladder::{Channel, ChannelError, ChannelKind, ConsoleLinks, StepRequest};
use crate::spec::SecretValue;

/// The channel name of the webhook's failures and notes.
const WEBHOOK: &str = "webhook";

/// One declared webhook (`[channels.webhooks.NAME]`).
#[derive(Clone)]
pub struct WebhookTarget {
    name: String,
    url: SecretValue,
    secret: SecretValue,
    timeout: Duration,
}

impl WebhookTarget {
    /// The webhook `name` POSTing to `url` (kept like a secret: Teams and Discord URLs
    /// carry their own keys), signed with `secret`, waiting up to `timeout` for an answer.
    pub fn new(
        name: impl Into<String>,
        url: SecretValue,
        secret: SecretValue,
        timeout: Duration,
    ) -> Self {
        Self {
            name: name.into(),
            url,
            secret,
            timeout,
        }
    }

    /// The webhook's name (a step's `to`).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// POSTs signed approval requests with a console link to the webhooks steps name.
pub struct WebhookChannel {
    http: reqwest::Client,
    targets: HashMap<String, WebhookTarget>,
    links: Arc<ConsoleLinks>,
}

impl std::fmt::Debug for WebhookChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookChannel")
            .field("targets", &self.targets.keys().collect::<Vec<_>>())
            .field("links", &self.links)
            .finish_non_exhaustive()
    }
}

impl WebhookChannel {
    /// A channel over `targets` (by name), minting console links with `links`.
    pub fn new(
        targets: Vec<WebhookTarget>,
        links: Arc<ConsoleLinks>,
    ) -> Result<Self, ChannelError> {
        let http = reqwest::Client::builder()
            // A signed POST is answered, not redirected: a 3xx is a failure.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sentinel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ChannelError::new(WEBHOOK, e.to_string()))?;
        Ok(Self {
            http,
            targets: targets.into_iter().map(|t| (t.name.clone(), t)).collect(),
            links,
        })
    }

    /// The links it sends (the host checks them with the same key).
    pub fn links(&self) -> &Arc<ConsoleLinks> {
        &self.links
    }

    /// POSTs the step's body to the webhook the step names; the HTTP status on 2xx.
    pub async fn post(&self, step: &StepRequest) -> Result<u16, ChannelError> {
        let fail = |m: String| ChannelError::new(WEBHOOK, m);
        let Some(target) = self.targets.get(&step.to) else {
            return Err(fail(format!("no webhook `{}` is declared", step.to)));
        };
        let name = &target.name;
        let now = Utc::now();
        let expires_at = step.request.deadline;
        let link = self
            .links
            .link(step.request.action_id, expires_at)
            .map_err(|e| fail(e.to_string()))?;
        let body = serde_json::to_vec(&approval_body(step, &link, expires_at, now))
            .map_err(|e| fail(e.to_string()))?;
        let ts = now.timestamp();
        let signature = sign(target.secret.expose().as_bytes(), ts, &body);
        let answer = self
            .http
            .post(target.url.expose())
            .timeout(target.timeout)
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header(SIGNATURE_HEADER, signature)
            .header(DELIVERY_HEADER, uuid::Uuid::now_v7().to_string())
            .body(body)
            .send()
            .await
            // Never the URL: it may carry the receiver's own key.
            .map_err(|e| {
                fail(if e.is_timeout() {
                    format!(
                        "webhook `{name}` did not answer within {} s",
                        target.timeout.as_secs_f64()
                    )
                } else if e.is_connect() {
                    format!("webhook `{name}` cannot be reached")
                } else {
                    format!("webhook `{name}` failed: {}", e.without_url())
                })
            })?;
        let status = answer.status();
        if !status.is_success() {
            return Err(fail(format!(
                "webhook `{name}` answered HTTP {}",
                status.as_u16()
            )));
        }
        Ok(status.as_u16())
    }
}

#[async_trait]
impl Channel for WebhookChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Webhook
    }

    async fn start(&self, step: StepRequest) -> Result<(), ChannelError> {
        let status = self.post(&step).await?;
        let text = format!(
            "posted to webhook `{}` (HTTP {status}); its console link works until {}",
            step.to,
            step.request
                .deadline
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        );
        if let Err(e) = step.request.handle.note("sentinel", WEBHOOK, &text).await {
            tracing::warn!(error = %e, "cannot record the webhook delivery");
        }
        Ok(())
    }
}
