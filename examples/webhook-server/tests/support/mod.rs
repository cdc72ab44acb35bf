//! Shared test kit: a server on port 0 with a fresh SQLite file, known keys, and a small
//! HTTP client that returns `(status, json)`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod fakes;

use reqwest::Method;
use sentinel_server::{Config, Server};
use serde_json::Value;
use tempfile::TempDir;
use tokio::net::TcpListener;

pub const ADMIN: &str = "admin-token-0123456789";
/// `billing-bot`.
pub const BILLING: &str = "key-billing-0123456789";
/// `session_*`.
pub const SESSION: &str = "key-session-0123456789";
/// `ops-bot`.
pub const OPS: &str = "key-ops-bot-0123456789";

pub struct TestServer {
    pub server: Server,
    pub base: String,
    pub http: reqwest::Client,
    _dir: TempDir,
}

pub fn config(dir: &TempDir) -> Config {
    let mut c = Config::new()
        .with_agent_key("billing-bot", BILLING)
        .with_agent_key("session_*", SESSION)
        .with_agent_key("ops-bot", OPS)
        .with_admin_token(ADMIN)
        .with_store(format!("sqlite://{}", dir.path().join("test.db").display()));
    c.max_body_bytes = 4096;
    c.max_wait = std::time::Duration::from_secs(10);
    c
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|c| c).await
    }

    pub async fn start_with(tweak: impl FnOnce(Config) -> Config) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = sentinel_server::start(tweak(config(&dir)), listener)
            .await
            .unwrap();
        let base = server.url();
        Self {
            server,
            base,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<String>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("not JSON (HTTP {status}): {text}"));
        (status, json)
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> (u16, Value) {
        self.raw(Method::GET, path, key, None).await
    }

    pub async fn post(&self, path: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
        self.raw(Method::POST, path, key, Some(body.to_string()))
            .await
    }

    pub async fn execute(&self, key: &str, body: &Value) -> (u16, Value) {
        self.post("/api/sentinel/execute", Some(key), body).await
    }

    /// Starts a long-poll of `GET /actions/{id}/wait` (10 s) as `key`, in the background.
    pub fn long_poll(&self, key: &'static str, id: &str) -> tokio::task::JoinHandle<Value> {
        let http = self.http.clone();
        let url = format!("{}/api/sentinel/actions/{id}/wait?timeout_s=10", self.base);
        tokio::spawn(async move {
            http.get(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    }

    /// Nothing at all was stored.
    pub async fn store_is_empty(&self) -> bool {
        self.server
            .gateway()
            .store()
            .latest()
            .await
            .unwrap()
            .is_none()
    }
}

pub fn pay(agent: &str, amount: u64, vendor: &str) -> Value {
    serde_json::json!({"agent_id": agent, "action": "PAY_INVOICE", "payload": {"amount": amount, "vendor": vendor}, "reasoning": "test"})
}

/// The `error.code` of an error answer.
pub fn code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error: {body}"))
}
