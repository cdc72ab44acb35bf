//! Building the gateway from the configuration, the router, and running the server with
//! graceful shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sentinel_core::{
    Gateway, GroqScorer, MemoryStore, OfflineScorer, Pack, RiskScorer, SqlStore, Store,
};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::Credentials;
use crate::config::{Config, ScorerSetup};
use crate::errors::ApiError;
use crate::notes::{CallNotes, NoteTakingScorer};
use crate::routes;
use crate::state::AppState;
use crate::voice::Voice;

/// The server could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StartError {
    /// A setting is unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A pack failed to load.
    #[error("packs: {0}")]
    Packs(String),
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(String),
    /// The Groq scorer could not be built.
    #[error("groq scorer: {0}")]
    Scorer(String),
    /// The Telnyx voice approver could not be built.
    #[error("telnyx voice approver: {0}")]
    Voice(String),
    /// The gateway could not be built.
    #[error("gateway: {0}")]
    Gateway(String),
    /// Listening failed.
    #[error("cannot listen on `{addr}`: {message}")]
    Listen {
        /// The address.
        addr: String,
        /// The error.
        message: String,
    },
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    gateway: Gateway,
    banner: Vec<String>,
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The gateway it hosts.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// What is active: store, scorer, approver, packs, agents. Never a secret.
    pub fn banner(&self) -> &[String] {
        &self.banner
    }

    /// Stops accepting connections, ends long-polls and event streams, lets requests in
    /// flight finish, and returns when the server has stopped.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e.to_string())),
        }
    }
}

/// Binds `config.bind` and starts the server.
pub async fn bind_and_start(config: Config) -> Result<Server, StartError> {
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|e| StartError::Listen {
            addr: config.bind.to_string(),
            message: e.to_string(),
        })?;
    start(config, listener).await
}

/// Starts the server on `listener` (tests and the demo bind port 0 first).
pub async fn start(config: Config, listener: TcpListener) -> Result<Server, StartError> {
    let addr = listener.local_addr().map_err(|e| StartError::Listen {
        addr: config.bind.to_string(),
        message: e.to_string(),
    })?;
    let packs = load_packs(config.packs_dir.as_deref())?;
    let notes = Arc::new(CallNotes::default());
    let scorer: Arc<dyn RiskScorer> = match &config.scorer {
        ScorerSetup::Offline => Arc::new(OfflineScorer),
        ScorerSetup::Groq {
            api_key,
            base_url,
            model,
        } => {
            let mut builder = GroqScorer::builder().api_key(api_key.expose());
            if let Some(url) = base_url {
                builder = builder.base_url(url.clone());
            }
            if let Some(model) = model {
                builder = builder.model(model.clone());
            }
            Arc::new(
                builder
                    .build()
                    .map_err(|e| StartError::Scorer(e.to_string()))?,
            )
        }
    };
    let scorer_line = match &config.scorer {
        ScorerSetup::Groq { .. } => format!("scorer: groq ({})", scorer.name()),
        _ => "scorer: offline (each pack's base risk; set GROQ_API_KEY for the LLM scorer)"
            .to_owned(),
    };
    let store: Arc<dyn Store> =
        if config.database_url == "memory" || config.database_url == "memory:" {
            Arc::new(MemoryStore::new())
        } else {
            Arc::new(
                SqlStore::connect(&config.database_url)
                    .await
                    .map_err(|e| StartError::Store(e.to_string()))?,
            )
        };
    let public_url = config.public_url.clone();
    let voice = match &config.telnyx {
        Some(telnyx) => Some(
            Voice::new(telnyx.clone(), public_url.as_deref()).map_err(StartError::Voice)?,
        ),
        None => None,
    };
    let mut builder = Gateway::builder()
        .packs(packs)
        .scorer(NoteTakingScorer::new(scorer, Arc::clone(&notes)))
        .store_arc(store)
        .escalation_timeout(config.escalation_timeout);
    if let Some(voice) = &voice {
        builder = builder.approver_arc(voice.approver());
    }
    let gateway = builder
        .build()
        .map_err(|e| StartError::Gateway(e.to_string()))?;
    let pending = gateway
        .recover()
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;

    let credentials = Credentials::new(
        config.admin_token.as_ref().map(|t| t.expose()),
        &config.agent_keys,
    );
    let banner = banner(
        &config,
        &gateway,
        addr,
        &scorer_line,
        voice.as_ref(),
        pending,
    );
    let (stop, stopped) = watch::channel(false);
    let state = AppState::new(
        gateway.clone(),
        credentials,
        voice,
        notes,
        config.max_wait,
        config.max_body_bytes,
        stopped.clone(),
    );
    let app = router(state, config.request_timeout, config.max_body_bytes);
    let mut until = stopped;
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = until.wait_for(|stop| *stop).await;
            })
            .await
    });
    Ok(Server {
        addr,
        gateway,
        banner,
        stop,
        task,
    })
}

/// The routes. Ordinary requests get `request_timeout`; the long-poll and the event
/// stream are bounded by their own limits and by shutdown.
pub fn router(state: AppState, request_timeout: Duration, max_body_bytes: usize) -> Router {
    let timed = Router::new()
        .route("/api/sentinel/execute", post(routes::execute::execute))
        .route("/api/sentinel/status", get(routes::actions::status))
        .route("/api/sentinel/actions/{id}", get(routes::actions::show))
        .route(
            "/api/sentinel/actions/{id}/resolve",
            post(routes::resolve::resolve),
        )
        .route("/api/telnyx/webhook", post(routes::telnyx::webhook))
        .route("/healthz", get(routes::health::healthz))
        .layer(middleware::from_fn_with_state(request_timeout, timeout));
    let untimed = Router::new()
        .route(
            "/api/sentinel/actions/{id}/wait",
            get(routes::actions::wait),
        )
        .route("/api/sentinel/events", get(routes::events::events));
    timed
        .merge(untimed)
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than {} s", limit.as_secs_f64()),
        )
        .into_response(),
    }
}

/// The seed packs, or every `*.json` file of `dir` in name order.
fn load_packs(dir: Option<&Path>) -> Result<Vec<Pack>, StartError> {
    let Some(dir) = dir else {
        return Pack::seed_packs().map_err(|e| StartError::Packs(e.to_string()));
    };
    let entries = std::fs::read_dir(dir)
        .map_err(|e| StartError::Packs(format!("cannot read `{}`: {e}", dir.display())))?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(StartError::Packs(format!(
            "no `*.json` pack in `{}`",
            dir.display()
        )));
    }
    files
        .iter()
        .map(|f| Pack::from_file(f).map_err(|e| StartError::Packs(e.to_string())))
        .collect()
}

fn banner(
    config: &Config,
    gateway: &Gateway,
    addr: SocketAddr,
    scorer: &str,
    voice: Option<&Voice>,
    pending: usize,
) -> Vec<String> {
    let packs: Vec<String> = gateway
        .packs()
        .iter()
        .map(|p| format!("{} {}", p.name(), p.version()))
        .collect();
    let source = config
        .packs_dir
        .as_ref()
        .map_or("built-in seed packs".to_owned(), |d| {
            d.display().to_string()
        });
    let agents: Vec<&str> = config.agent_keys.iter().map(|k| k.agent.as_str()).collect();
    let mut lines = vec![
        format!("sentinel-server listening on http://{addr}"),
        format!("store: {} ({pending} pending approvals recovered)", config.database_display()),
        format!("packs: {} ({source})", packs.join(", ")),
        scorer.to_owned(),
        match voice {
            Some(v) => format!("approver: {}", v.describe()),
            None => "approver: off (no TELNYX_* settings): escalations wait for POST /api/sentinel/actions/{id}/resolve".to_owned(),
        },
        format!("escalation timeout: {} s", config.escalation_timeout.as_secs()),
        if agents.is_empty() {
            "agents: none configured (SENTINEL_AGENT_KEYS): every agent request is refused".to_owned()
        } else {
            format!("agents: {}", agents.join(", "))
        },
        format!("admin token: {}", if config.admin_token.is_some() { "set" } else { "not set (SENTINEL_ADMIN_TOKEN): admin endpoints refuse every request" }),
    ];
    lines.push(format!(
        "limits: body {} bytes, request timeout {} s, long-poll up to {} s",
        config.max_body_bytes,
        config.request_timeout.as_secs(),
        config.max_wait.as_secs()
    ));
    lines
}
