//! The end-to-end demo: `sentinel-server demo`.
//!
//! Starts the server on embedded defaults ([`DEMO_CONFIG`], read through the core's
//! `GatewaySpec` like any configuration file: SQLite in a temporary directory, a free
//! port), then an example agent runs the original scenarios through the HTTP API. Without
//! Telnyx credentials the approval calls go to the local [`simulator`] and the ladder's
//! Slack messages to the local [`slack_simulator`]: the production `DELETE_USER` walks the
//! ladder (an unanswered call, then Slack), and the large payment needs two approvers (bob
//! by phone with his PIN, alice in Slack). With `TELNYX_*` set (or a `SENTINEL_CONFIG`
//! whose `[approver]` is Telnyx), the same command places real calls and waits for the
//! human, with that configuration's routes.

mod agent;
mod scenario;
pub mod simulator;
pub mod slack_simulator;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sentinel_core::spec::{ApproverKind, Env, GatewaySpec, SecretValue, TelnyxSecrets, TelnyxSpec};
use sentinel_core::telnyx::Secret;
use serde_json::Value;
use thiserror::Error;
use tokio::net::TcpListener;

use crate::config::{Config, ConfigError, OPERATORS_VAR};
use crate::server::{StartError, start};
use agent::{Client, scenarios};
use scenario::{count_events, run_scenario, summary};
use simulator::Simulator;
use slack_simulator::SlackSimulator;

/// Where the demo's output goes: stdout (when `echo`) and a copy kept for tests.
#[derive(Clone, Default)]
pub struct Out {
    echo: bool,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Out {
    /// Output that prints (`echo`) and keeps every line.
    pub fn new(echo: bool) -> Self {
        Self {
            echo,
            lines: Arc::default(),
        }
    }

    /// Prints one line.
    pub fn line(&self, text: impl Into<String>) {
        let text = text.into();
        if self.echo {
            println!("{text}");
        }
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(text);
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The demo's configuration, embedded: the server's defaults with the store in the demo's
/// temporary directory (relative paths are relative to it) and longer long-polls. The demo
/// adds a random key per agent, a random admin token, the escalation timeout and the
/// approver (the local simulator, or the real Telnyx settings of the environment).
pub const DEMO_CONFIG: &str = include_str!("demo.toml");

/// How long a human may take in `demo --keep-running` (with the simulator).
const KEEP_RUNNING_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// How to run the demo.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DemoOptions {
    /// The configuration of the environment, when its approver is Telnyx: the demo then
    /// places real calls with its `[approver]` settings (and admin token); `None`: the
    /// local simulator.
    pub telnyx: Option<Box<Config>>,
    /// Where to listen; `None`: a free port on 127.0.0.1.
    pub bind: Option<SocketAddr>,
    /// How long a human may take.
    pub escalation_timeout: Duration,
    /// Print as it goes.
    pub echo: bool,
    /// `demo --keep-running`: after the scenarios, the server stays up (with the console's
    /// demo triggers) until Ctrl-C or SIGTERM.
    pub keep_running: bool,
    /// `SENTINEL_OPERATORS` of the environment (`name=token,...`): who may sign in to the
    /// console; `None`: one operator `demo` with a random token, printed.
    pub operators: Option<Secret>,
    /// `SENTINEL_CORS_ORIGINS` of the environment.
    pub cors_origins: Vec<String>,
    /// Keys of `SENTINEL_AGENT_KEYS` for the demo's agent ids (`billing-bot`, `ops-bot`,
    /// `data-bot`, `session_*`), so another browser client can read the API as one of
    /// them; the others get random keys.
    pub agent_keys: Vec<crate::config::AgentKey>,
}

impl DemoOptions {
    /// The simulator, a free port, nothing printed (tests).
    pub fn simulated() -> Self {
        Self {
            telnyx: None,
            bind: None,
            escalation_timeout: Duration::from_secs(60),
            echo: false,
            keep_running: false,
            operators: None,
            cors_origins: Vec::new(),
            agent_keys: Vec::new(),
        }
    }

    /// `demo --keep-running`: the server stays up after the scenarios, and a human has
    /// time to decide (15 minutes unless the Telnyx configuration says otherwise).
    #[must_use]
    pub fn keep_running(mut self) -> Self {
        self.keep_running = true;
        if self.telnyx.is_none() {
            self.escalation_timeout = KEEP_RUNNING_TIMEOUT;
        }
        self
    }

    /// From the environment (and `SENTINEL_CONFIG`, read as the server reads it): with a
    /// Telnyx approver (`TELNYX_*` credentials), real calls, listening on `SENTINEL_BIND`
    /// (Telnyx must reach it through `SENTINEL_PUBLIC_URL`); otherwise the simulator on a
    /// free port. Incomplete Telnyx settings are refused here, before anything starts.
    pub fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let mut options = Self {
            echo: true,
            operators: config.env.var(OPERATORS_VAR).map(Secret::new),
            cors_origins: config.spec.server.cors_origins.clone().unwrap_or_default(),
            agent_keys: config.agent_keys.clone(),
            ..Self::simulated()
        };
        if config.spec.approver.kind == ApproverKind::Telnyx {
            config.components()?;
            options.bind = Some(config.bind);
            options.escalation_timeout = config.escalation_timeout();
            options.telnyx = Some(Box::new(config));
        }
        Ok(options)
    }
}

/// How one scenario ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcome {
    /// What the scenario shows.
    pub title: String,
    /// The agent.
    pub agent_id: String,
    /// The action name.
    pub action: String,
    /// The action's id.
    pub action_id: String,
    /// The status `execute` answered.
    pub first_status: String,
    /// The status once decided.
    pub final_status: String,
    /// Who decided and through which channel (`policy` when nobody was asked).
    pub decided_by: String,
    /// True when the agent went ahead.
    pub ran: bool,
}

/// What the demo did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DemoReport {
    /// One entry per scenario, in order.
    pub outcomes: Vec<Outcome>,
    /// `GET /api/sentinel/status` at the end (the original shape).
    pub final_status: Value,
    /// Lifecycle events the admin's SSE stream received.
    pub streamed_events: usize,
    /// True when a retry with the same idempotency key returned the same action.
    pub idempotent_retry: bool,
    /// Everything printed.
    pub transcript: Vec<String>,
}

/// The demo failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The server did not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// A setting is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The simulator did not start.
    #[error("telnyx simulator: {0}")]
    Simulator(String),
    /// The Slack simulator did not start.
    #[error("slack simulator: {0}")]
    SlackSimulator(String),
    /// An HTTP exchange with the server failed.
    #[error("http: {0}")]
    Http(String),
}

impl From<reqwest::Error> for DemoError {
    fn from(e: reqwest::Error) -> Self {
        Self::Http(e.to_string())
    }
}

/// A random secret, 32 hex digits.
fn secret() -> Result<String, DemoError> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| DemoError::Http(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Runs the demo and shuts the server down.
pub async fn run(options: DemoOptions) -> Result<DemoReport, DemoError> {
    let out = Out::new(options.echo);
    let dir = tempfile::tempdir()
        .map_err(|e| DemoError::Http(format!("cannot make a temporary directory: {e}")))?;
    let listener = TcpListener::bind(
        options
            .bind
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
    )
    .await
    .map_err(|e| StartError::Listen {
        addr: format!("{:?}", options.bind),
        message: e.to_string(),
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| DemoError::Http(e.to_string()))?;
    let base = format!("http://{addr}");

    let real = options.telnyx.as_deref();
    let mut spec = GatewaySpec::from_toml_str(DEMO_CONFIG)?.with_base_dir(dir.path());
    if let Some(real) = real {
        spec.approver = real.spec.approver.clone();
        // Secret files of the real approver stay relative to its own configuration.
        if let (Some(telnyx), Some(base)) = (spec.approver.telnyx.as_mut(), real.spec.base_dir()) {
            for file in [&mut telnyx.api_key_file, &mut telnyx.pin_file] {
                *file = file.take().map(|f| base.join(f));
            }
        }
        // Real calls: that configuration's ladder and operators, not the simulated ones.
        spec.routes = real.spec.routes.clone();
        spec.channels = real.spec.channels.clone();
        spec.operators = real.spec.operators.clone();
        if let Some(base) = real.spec.base_dir() {
            for o in &mut spec.operators {
                for file in [&mut o.token_file, &mut o.pin_file] {
                    *file = file.take().map(|f| base.join(f));
                }
            }
        }
    }
    // The simulated Slack workspace, its app's secrets and the operators' made up for this
    // run only.
    let mut made = std::collections::HashMap::new();
    let mut bob_pin = String::new();
    let slack = match real {
        Some(_) => None,
        None => {
            let token = format!("xoxb-demo-{}", secret()?);
            let signing = secret()?;
            let sim = SlackSimulator::start(out.clone(), token.clone(), signing.clone(), &base)
                .await
                .map_err(DemoError::SlackSimulator)?;
            if let Some(s) = spec.channels.slack.as_mut() {
                s.api_base = sim.api_base().to_owned();
            }
            bob_pin = pin()?;
            if options.keep_running {
                // One approver each: the person at the console decides alone (the demo's
                // own operators' tokens are never printed).
                for route in &mut spec.routes {
                    route.quorum = None;
                }
            }
            made.insert("DEMO_SLACK_BOT_TOKEN".to_owned(), token);
            made.insert("DEMO_SLACK_SIGNING_SECRET".to_owned(), signing);
            made.insert("DEMO_TOKEN_ALICE".to_owned(), secret()?);
            made.insert("DEMO_TOKEN_BOB".to_owned(), secret()?);
            made.insert("DEMO_PIN_BOB".to_owned(), bob_pin.clone());
            Some(sim)
        }
    };
    if !options.cors_origins.is_empty() {
        spec.server.cors_origins = Some(options.cors_origins.clone());
    }
    // The demo's own `[server]` reads no variable but the console's operators: its keys and
    // token are made below.
    let console_env = options
        .operators
        .as_ref()
        .map(|o| (OPERATORS_VAR.to_owned(), o.expose().to_owned()));
    let env = Env::from_map(console_env.into_iter().chain(made).collect());
    let mut config = Config::from_spec(spec, env, "the demo's embedded configuration")?
        .with_escalation_timeout(options.escalation_timeout);
    config.demo = true;
    let demo_operator = match &options.operators {
        Some(_) => None,
        None => {
            let token = secret()?;
            config = config.with_operator("demo", token.clone());
            Some(token)
        }
    };
    if let Some(real) = real {
        // The real approver's settings fall back on the environment's `TELNYX_*`.
        config.env = real.env.clone();
        config.public_url.clone_from(&real.public_url);
    }
    let agents = ["billing-bot", "ops-bot", "data-bot", "session_*"];
    let mut keys = Vec::new();
    for agent in agents {
        let given = options.agent_keys.iter().find(|k| k.agent == agent);
        let key = match given {
            Some(k) => k.key.expose().to_owned(),
            None => secret()?,
        };
        config = config.with_agent_key(agent, key.clone());
        keys.push((agent, key));
    }
    let admin = match real.and_then(|r| r.admin_token.as_ref()) {
        Some(token) => token.expose().to_owned(),
        None => secret()?,
    };
    config = config.with_admin_token(admin.clone());
    let simulator = match real {
        Some(_) => None,
        None => {
            let sim = Simulator::start(out.clone())
                .await
                .map_err(DemoError::Simulator)?;
            config = config.with_telnyx(TelnyxSpec {
                connection_id: Some("simulator-connection".to_owned()),
                from_number: Some("+15550100001".to_owned()),
                admin_number: Some("+15550100002".to_owned()),
                public_key: Some(sim.public_key().to_base64()),
                api_base: Some(sim.api_base().to_owned()),
                public_url: Some(base.clone()),
                secrets: TelnyxSecrets {
                    api_key: Some(SecretValue::new("simulator-key-not-a-secret")),
                    pin: None,
                },
                ..TelnyxSpec::default()
            });
            sim.set_pin(&bob_pin);
            Some(sim)
        }
    };

    let server = start(config, listener).await?;
    out.line("Sentinel demo: the webhook server and an example agent, over HTTP");
    for line in server.banner() {
        out.line(format!("  {line}"));
    }
    match &simulator {
        Some(sim) => out.line(format!(
            "  approval calls go to the LOCAL TELNYX SIMULATOR at {} (no account, no real phone); set TELNYX_* for real calls",
            sim.api_base()
        )),
        None => out.line("  approval calls are REAL Telnyx calls: answer the phone to decide"),
    }
    if let Some(sim) = &slack {
        out.line(format!(
            "  Slack steps post to the LOCAL SLACK SIMULATOR at {} (no workspace, no account): simulated users press the buttons, signed like Slack",
            sim.api_base()
        ));
        out.line("  ladder: production DELETE_USER → alice's phone, then #ops-oncall in Slack; payments of risk 90+ → bob's phone (PIN), then #payments-oncall, 2 approvers; the rest → the admin's phone");
    }
    match &demo_operator {
        Some(token) => out.line(format!(
            "  console: {base}/console (sign in with the demo operator's token {token})"
        )),
        None => out.line(format!(
            "  console: {base}/console (sign in with a token of {OPERATORS_VAR})"
        )),
    }
    out.line("");

    let client = Client {
        http: reqwest::Client::new(),
        base: base.clone(),
        keys,
        admin,
    };
    let stream = client
        .http
        .get(format!("{base}/api/sentinel/events"))
        .bearer_auth(&client.admin)
        .send()
        .await?;
    let events = tokio::spawn(count_events(stream));

    let mut outcomes = Vec::new();
    let mut idempotent_retry = false;
    for (i, scenario) in scenarios().into_iter().enumerate() {
        let (outcome, retried) = run_scenario(
            &client,
            &out,
            simulator.as_ref(),
            slack.as_ref(),
            i + 1,
            scenario,
            options.escalation_timeout,
        )
        .await?;
        idempotent_retry |= retried;
        outcomes.push(outcome);
        out.line("");
    }

    let status = client
        .call(
            client.http.get(format!("{base}/api/sentinel/status")),
            &client.admin,
        )
        .await?;
    out.line("GET /api/sentinel/status (the original API's shape):");
    out.line(format!("  {status}"));
    if let Some(last) = outcomes.last() {
        let view = client.show(&last.action_id).await?;
        out.line(format!(
            "Audit trail of the {} (GET /api/sentinel/actions/{{id}}):",
            last.title
        ));
        for e in view["audit_trail"].as_array().into_iter().flatten() {
            out.line(format!(
                "  #{:<3} {:<22} → {:<22} by {} via {}{}",
                e["seq"],
                e["from"].as_str().unwrap_or("-"),
                e["to"].as_str().unwrap_or("-"),
                e["actor"].as_str().unwrap_or("-"),
                e["channel"].as_str().unwrap_or("-"),
                match e["reason"].as_str() {
                    Some(r) if !r.is_empty() => format!(": {r}"),
                    _ => String::new(),
                }
            ));
        }
    }

    if options.keep_running {
        out.line("");
        out.line(format!(
            "The server keeps running: open {base}/console (demo triggers included); Ctrl-C stops it."
        ));
        crate::server::shutdown_signal().await;
    }
    server
        .shutdown()
        .await
        .map_err(|e| DemoError::Http(format!("shutdown: {e}")))?;
    let streamed_events = events.await.unwrap_or(0);
    summary(&out, &outcomes, streamed_events, idempotent_retry);
    Ok(DemoReport {
        outcomes,
        final_status: status,
        streamed_events,
        idempotent_retry,
        transcript: out.lines(),
    })
}

/// A random PIN of 6 digits (the demo's operator PIN, never printed).
fn pin() -> Result<String, DemoError> {
    let mut bytes = [0u8; 6];
    getrandom::getrandom(&mut bytes).map_err(|e| DemoError::Http(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| char::from(b'0' + b % 10)).collect())
}
