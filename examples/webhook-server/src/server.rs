//! Building the gateway from the configuration (through the core's spec), the router, and
//! running the server ([`crate::serve`]) with graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sentinel_core::spec::Components;
use sentinel_core::{ConfigError, ErrorCode, Gateway, OfflineScorer, RiskScorer};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::Credentials;
use crate::banner::{self, Active};
use crate::config::Config;
use crate::console::ConsoleState;
use crate::errors::ApiError;
use crate::limits::{self, BodyLimits};
use crate::notes::{CallNotes, NoteTakingScorer};
use crate::serve::{self, ConnectionLimits};
use crate::state::AppState;
use crate::voice::Voice;
use crate::{cors, openapi, routes};

/// The server could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is unusable: the message names the file, line and key, or the
    /// environment variable (never a secret).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not recover what an earlier process left pending.
    #[error("store: {0}")]
    Store(String),
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
    /// flight finish, writes a checkpoint of the audit chain, and returns when the server
    /// has stopped.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        let served = match self.task.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        // The spans of the last actions reach the collector before the process ends.
        sentinel_core::telemetry::flush();
        // Pin the audit chain where this process leaves it (signed with the audit key).
        match self.gateway.checkpoint().await {
            Ok(Some(c)) => tracing::info!(
                seq = c.seq,
                signed = c.mac.is_some(),
                "audit checkpoint written"
            ),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not write the audit checkpoint"),
        }
        served
    }
}

/// Checks the configuration, binds `config.bind` and starts the server.
pub async fn bind_and_start(config: Config) -> Result<Server, StartError> {
    // A bad configuration is refused before anything listens.
    let parts = config.components()?;
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|e| StartError::Listen {
            addr: config.bind.to_string(),
            message: e.to_string(),
        })?;
    launch(config, parts, listener).await
}

/// Starts the server on `listener` (tests and the demo bind port 0 first).
pub async fn start(config: Config, listener: TcpListener) -> Result<Server, StartError> {
    let parts = config.components()?;
    launch(config, parts, listener).await
}

/// Builds the gateway from the core's parts (the scorer wrapped to note call answers),
/// opens the store, recovers pending approvals and serves.
async fn launch(
    config: Config,
    mut parts: Components,
    listener: TcpListener,
) -> Result<Server, StartError> {
    let addr = listener.local_addr().map_err(|e| StartError::Listen {
        addr: config.bind.to_string(),
        message: e.to_string(),
    })?;
    let notes = Arc::new(CallNotes::default());
    let scorer: Arc<dyn RiskScorer> = parts
        .scorer
        .take()
        .unwrap_or_else(|| Arc::new(OfflineScorer));
    let groq = parts
        .groq
        .as_ref()
        .map(|g| format!("model {} at {}", g.model(), g.base_url()));
    parts.scorer = Some(Arc::new(NoteTakingScorer::new(scorer, Arc::clone(&notes))));
    let voice = parts.telnyx.clone().map(Voice::new);
    let store = parts
        .open_store()
        .await
        .map_err(|e| config.origin.explain(e))?;
    let gateway = parts
        .builder()
        .store_arc(store)
        .build()
        .map_err(|e| ConfigError::at("gateway", e.to_string()))?;
    let pending = gateway
        .recover()
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;

    let credentials = Credentials::new(
        config.admin_token.as_ref().map(|t| t.expose()),
        &config.agent_keys,
    )
    .with_operators(&config.operators);
    let console = ConsoleState::new(
        config.session_ttl,
        config.public_url.as_deref(),
        config.demo,
        config.cors_origins.clone(),
    );
    let banner = banner::lines(&Active {
        config: &config,
        gateway: &gateway,
        store: &parts.store,
        addr,
        groq: groq.as_deref(),
        voice: voice.as_ref(),
        pending,
        links: parts.links.as_deref(),
    });
    let (stop, stopped) = watch::channel(false);
    let state = AppState::new(
        gateway.clone(),
        credentials,
        voice,
        notes,
        (
            config.max_wait,
            config.request_timeout,
            config.max_body_bytes,
        ),
        stopped.clone(),
    )
    .with_console(console)
    .with_slack(parts.slack.clone())
    .with_links(parts.links.clone());
    let state = state.with_metrics_access(
        routes::metrics::MetricsAccess::from_spec(&config.spec, &config.env)
            .map_err(|e| config.origin.explain(e))?,
    );
    let bodies = BodyLimits {
        max_bytes: config.max_body_bytes,
        timeout: config.body_timeout,
    };
    let app = router(state, config.request_timeout, bodies);
    let connections = ConnectionLimits {
        header_timeout: config.header_timeout,
        max_connections: config.max_connections,
    };
    let task = tokio::spawn(serve::serve(listener, app, connections, stopped));
    Ok(Server {
        addr,
        gateway,
        banner,
        stop,
        task,
    })
}

/// The routes. Bodies are read (within their timeout and size) before any handler runs.
/// Ordinary requests get `request_timeout`; a submission answers 202 at that point
/// instead; the long-poll and the event stream are bounded by their own limits and by
/// shutdown.
pub(crate) fn router(state: AppState, request_timeout: Duration, bodies: BodyLimits) -> Router {
    let timed = Router::new()
        .route("/api/sentinel/status", get(routes::actions::status))
        .route("/api/sentinel/actions/{id}", get(routes::actions::show))
        .route(
            "/api/sentinel/actions/{id}/resolve",
            post(routes::resolve::resolve),
        )
        .route("/api/telnyx/webhook", post(routes::telnyx::webhook))
        .route("/api/slack/interactions", post(routes::slack::interactions))
        .route("/healthz", get(routes::health::healthz))
        .route("/metrics", get(routes::metrics::metrics))
        .route("/openapi.json", get(openapi::openapi_json))
        .layer(middleware::from_fn_with_state(request_timeout, timeout));
    let untimed = Router::new()
        // Its own deadline: past it, 202 with the id (see `routes::execute`).
        .route("/api/sentinel/execute", post(routes::execute::execute))
        .route(
            "/api/sentinel/actions/{id}/wait",
            get(routes::actions::wait),
        )
        .route("/api/sentinel/events", get(routes::events::events));
    let console =
        crate::console::router().layer(middleware::from_fn_with_state(request_timeout, timeout));
    timed
        .merge(untimed)
        .merge(console)
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::invalid_request("this endpoint does not take that method")
                .with_status(StatusCode::METHOD_NOT_ALLOWED)
        })
        .layer(DefaultBodyLimit::max(bodies.max_bytes))
        .layer(middleware::from_fn_with_state(bodies, limits::read_body))
        .layer(middleware::from_fn_with_state(state.clone(), cors::cors))
        // Outermost: counts every answer, refusals by the layers above included.
        .layer(middleware::from_fn_with_state(
            state.gateway.clone(),
            routes::metrics::count,
        ))
        .with_state(state)
}

async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        // No core code says "too slow"; 503 tells the client to try again, as it always did.
        Err(_) => ApiError::new(
            ErrorCode::Internal,
            format!("the request took longer than {} s", limit.as_secs_f64()),
        )
        .with_status(StatusCode::SERVICE_UNAVAILABLE)
        .into_response(),
    }
}

/// Ctrl-C, or SIGTERM on Unix.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
