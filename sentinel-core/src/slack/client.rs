//! A minimal client of Slack's Web API: JSON `POST {api_base}/{method}` with the bot token
//! as a bearer key; Slack answers 200 with `{"ok": false, "error": "..."}` on failure.

use std::time::Duration;

use serde_json::Value;

use super::SlackError;
use crate::spec::SecretValue;

/// Calls Slack's Web API.
#[derive(Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    api_base: String,
    token: SecretValue,
}

impl std::fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackClient")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl SlackClient {
    /// A client of the API at `api_base` (`https://slack.com/api`) with the bot token.
    pub fn new(api_base: &str, token: SecretValue) -> Result<Self, SlackError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| SlackError::Http(e.to_string()))?;
        Ok(Self {
            http,
            api_base: api_base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// Calls `method` (`chat.postMessage`) with `body`; the answer when `ok`.
    pub async fn call(&self, method: &'static str, body: &Value) -> Result<Value, SlackError> {
        let url = format!("{}/{method}", self.api_base);
        let answer = self
            .http
            .post(url)
            .bearer_auth(self.token.expose())
            .header("content-type", "application/json; charset=utf-8")
            .json(body)
            .send()
            .await
            // Without the URL: it is configuration, and reqwest's words may carry it.
            .map_err(|e| SlackError::Http(format!("`{method}` failed: {}", without_url(&e))))?;
        let status = answer.status();
        let value: Value = answer
            .json()
            .await
            .map_err(|_| SlackError::Http(format!("`{method}` answered {status} without JSON")))?;
        if value.get("ok") == Some(&Value::Bool(true)) {
            return Ok(value);
        }
        let error = value
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown_error")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        Err(SlackError::Api { method, error })
    }
}

impl SlackClient {
    /// True for a `response_url` this client may POST to: Slack's `https://hooks.slack.com/`,
    /// or the host of `api_base` (a self-hosted or test Slack API).
    pub fn trusts_response_url(&self, url: &str) -> bool {
        let origin = |u: &str| {
            let (scheme, rest) = u.split_once("://")?;
            let host = rest.split(['/', '?', '#']).next()?;
            Some(format!("{scheme}://{host}").to_ascii_lowercase())
        };
        url.starts_with("https://hooks.slack.com/")
            || (origin(url).is_some() && origin(url) == origin(&self.api_base))
    }

    /// POSTs `body` to an interaction's `response_url` (JSON, no token: the URL is the
    /// authorization). Slack answers 2xx when it took the message.
    pub async fn respond(&self, response_url: &str, body: &Value) -> Result<(), SlackError> {
        if !self.trusts_response_url(response_url) {
            return Err(SlackError::Payload(
                "the response_url is not Slack's".to_owned(),
            ));
        }
        let answer = self
            .http
            .post(response_url)
            .header("content-type", "application/json; charset=utf-8")
            .json(body)
            .send()
            .await
            .map_err(|e| {
                SlackError::Http(format!("the response_url failed: {}", without_url(&e)))
            })?;
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        Err(SlackError::Http(format!(
            "the response_url answered {}",
            status.as_u16()
        )))
    }
}

fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        e.without_url_ref().to_string()
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "the Slack API");
        }
        text
    }
}
