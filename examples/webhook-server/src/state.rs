//! What every request handler shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sentinel_core::{ActionId, Gateway};
use tokio::sync::watch;

use crate::auth::{Credentials, Principal};
use crate::console::ConsoleState;
use crate::notes::CallNotes;
use crate::voice::Voice;

/// The server's shared state. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The gateway deciding every action.
    pub gateway: Gateway,
    /// Agent keys and the admin token.
    pub credentials: Arc<Credentials>,
    /// The voice approver, when configured.
    pub voice: Option<Voice>,
    /// Keys pressed and questions asked on approval calls.
    pub notes: Arc<CallNotes>,
    /// Longest long-poll.
    pub max_wait: Duration,
    /// Longest an ordinary request may take; a submission still being decided then is
    /// answered 202 with its id.
    pub request_timeout: Duration,
    /// Largest request body, for error messages.
    pub max_body_bytes: usize,
    /// Flips to `true` when the server shuts down: long-polls and event streams end.
    pub shutdown: watch::Receiver<bool>,
    /// The console's sessions and settings, and the CORS origins.
    pub console: Arc<ConsoleState>,
    /// Who may read `GET /metrics` (`[telemetry]`).
    pub metrics_access: Arc<crate::routes::metrics::MetricsAccess>,
    /// The ladder's Slack channel, when a route has a `slack` step (its interactions).
    pub slack: Option<Arc<sentinel_core::slack::SlackChannel>>,
    /// The console links the ladder's `webhook` steps send (`/console/link/{token}`).
    pub links: Option<Arc<sentinel_core::ladder::ConsoleLinks>>,
    /// Each agent id's latest action, for the original `status` endpoint.
    latest: Arc<Mutex<HashMap<String, ActionId>>>,
}

impl AppState {
    /// Shared state around `gateway`; `limits`: the longest long-poll, the request
    /// timeout and the largest body.
    pub fn new(
        gateway: Gateway,
        credentials: Credentials,
        voice: Option<Voice>,
        notes: Arc<CallNotes>,
        limits: (Duration, Duration, usize),
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let (max_wait, request_timeout, max_body_bytes) = limits;
        Self {
            gateway,
            credentials: Arc::new(credentials),
            voice,
            notes,
            max_wait,
            request_timeout,
            max_body_bytes,
            shutdown,
            console: Arc::default(),
            metrics_access: Arc::default(),
            slack: None,
            links: None,
            latest: Arc::default(),
        }
    }

    /// The ladder's Slack channel, for `POST /api/slack/interactions`.
    #[must_use]
    pub fn with_slack(mut self, slack: Option<Arc<sentinel_core::slack::SlackChannel>>) -> Self {
        self.slack = slack;
        self
    }

    /// The console links the ladder's `webhook` steps send, for `/console/link/{token}`.
    #[must_use]
    pub fn with_links(mut self, links: Option<Arc<sentinel_core::ladder::ConsoleLinks>>) -> Self {
        self.links = links;
        self
    }

    /// The console's sessions and settings.
    #[must_use]
    pub fn with_console(mut self, console: ConsoleState) -> Self {
        self.console = Arc::new(console);
        self
    }

    /// Who may read `GET /metrics`.
    #[must_use]
    pub fn with_metrics_access(mut self, access: crate::routes::metrics::MetricsAccess) -> Self {
        self.metrics_access = Arc::new(access);
        self
    }

    /// Remembers `id` as the latest action of `agent_id`.
    pub fn remember(&self, agent_id: &str, id: ActionId) {
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        let slot = latest.entry(agent_id.to_owned()).or_insert(id);
        // Ids are time-ordered (UUID v7): keep the newest, also for idempotent replays.
        if id > *slot {
            *slot = id;
        }
    }

    /// The latest action an agent principal submitted through this server.
    pub fn latest_of(&self, principal: &Principal) -> Option<ActionId> {
        let latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        latest
            .iter()
            .filter(|(agent, _)| principal.covers(agent))
            .map(|(_, id)| *id)
            .max()
    }
}
