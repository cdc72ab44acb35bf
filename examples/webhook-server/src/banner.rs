//! What the server says at start: where the configuration came from and which variables
//! overrode it, the store, packs, scorer, approver, agents (ids only) and limits. Never a
//! secret: variables are named, their values are not.

use std::net::SocketAddr;

use sentinel_core::Gateway;
use sentinel_core::spec::{PackSource, StoreKind, StoreTarget};

use crate::config::Config;
use crate::voice::Voice;

/// What is running, for [`lines`].
pub(crate) struct Active<'a> {
    /// The configuration.
    pub(crate) config: &'a Config,
    /// The gateway built from it.
    pub(crate) gateway: &'a Gateway,
    /// Where the store is.
    pub(crate) store: &'a StoreTarget,
    /// Where the server listens.
    pub(crate) addr: SocketAddr,
    /// The Groq scorer's model and API, when it is the scorer.
    pub(crate) groq: Option<&'a str>,
    /// The voice approver, when on.
    pub(crate) voice: Option<&'a Voice>,
    /// Pending approvals recovered from the store.
    pub(crate) pending: usize,
    /// The console links of the ladder's `webhook` steps, when a route has one.
    pub(crate) links: Option<&'a sentinel_core::ladder::ConsoleLinks>,
}

/// The banner, one line per concern.
pub(crate) fn lines(a: &Active<'_>) -> Vec<String> {
    let config = a.config;
    let origin = &config.origin;
    let mut lines = vec![
        format!("sentinel-server listening on http://{}", a.addr),
        match &origin.file {
            Some(file) => format!("config: `{}`", file.display()),
            None => format!("config: {}", origin.name),
        },
    ];
    if !origin.overrides.is_empty() {
        let applied: Vec<String> = origin
            .overrides
            .iter()
            .map(|o| format!("{} ({})", o.var, o.key))
            .collect();
        lines.push(format!(
            "overridden by the environment: {}",
            applied.join(", ")
        ));
    }
    if !origin.activated.is_empty() {
        let on: Vec<String> = origin
            .activated
            .iter()
            .map(|o| format!("{} ({} is set)", o.key, o.var))
            .collect();
        lines.push(format!("turned on by the environment: {}", on.join(", ")));
    }
    if let Some(links) = a.links {
        lines.push(if links.is_ephemeral() {
            format!(
                "console links: {}/console/link/..., signed with a random key of this process (set SENTINEL_LINK_KEY: these links stop working on a restart, and other instances cannot check them)",
                links.base_url()
            )
        } else {
            format!(
                "console links: {}/console/link/..., signed with the configured link key",
                links.base_url()
            )
        });
    }
    let packs: Vec<String> = a
        .gateway
        .packs()
        .iter()
        .map(|p| format!("{} {}", p.name(), p.version()))
        .collect();
    let agents: Vec<&str> = config.agent_keys.iter().map(|k| k.agent.as_str()).collect();
    let store = match a.store.kind {
        StoreKind::Memory => "memory (not durable)".to_owned(),
        _ => a.store.display(),
    };
    lines.extend([
        format!("store: {store} ({} pending approvals recovered)", a.pending),
        format!("packs: {} ({})", packs.join(", "), pack_sources(config.spec.packs.as_deref())),
        match a.groq {
            Some(groq) => format!("scorer: groq ({groq})"),
            None => "scorer: offline (each pack's base risk; set GROQ_API_KEY or [scorer] for the LLM scorer)".to_owned(),
        },
        match a.voice {
            Some(v) => format!("approver: {}", v.describe()),
            None => "approver: off (no [approver] or TELNYX_* settings): escalations wait for POST /api/sentinel/actions/{id}/resolve".to_owned(),
        },
        format!(
            "escalation timeout: {} s",
            config.escalation_timeout().as_secs_f64()
        ),
        if agents.is_empty() {
            "agents: none configured (SENTINEL_AGENT_KEYS): every agent request is refused".to_owned()
        } else {
            format!("agents: {}", agents.join(", "))
        },
        format!(
            "admin token: {}",
            if config.admin_token.is_some() {
                "set"
            } else {
                "not set (SENTINEL_ADMIN_TOKEN): admin endpoints refuse every request"
            }
        ),
        if config.operators.is_empty() {
            "console: /console (no operator can sign in: set SENTINEL_OPERATORS or [[operators]])".to_owned()
        } else {
            let names: Vec<String> = config
                .operators
                .iter()
                .map(|o| format!("{} ({})", o.name, o.role.as_str()))
                .collect();
            format!("console: /console, operators {}", names.join(", "))
        },
        if config.cors_origins.is_empty() {
            "browser origins allowed (CORS): none".to_owned()
        } else {
            format!("browser origins allowed (CORS): {}", config.cors_origins.join(", "))
        },
        format!(
            "limits: body {} bytes, request timeout {} s, long-poll up to {} s, headers within {} s, body within {} s, {} connections",
            config.max_body_bytes,
            config.request_timeout.as_secs_f64(),
            config.max_wait.as_secs_f64(),
            config.header_timeout.as_secs_f64(),
            config.body_timeout.as_secs_f64(),
            config.max_connections
        ),
    ]);
    lines
}

/// Where the packs come from: `built-in seed packs`, or each source.
fn pack_sources(sources: Option<&[PackSource]>) -> String {
    let Some(sources) = sources else {
        return "built-in seed packs".to_owned();
    };
    let named: Vec<String> = sources
        .iter()
        .map(|s| match s {
            PackSource::Builtin(name) => format!("built-in {name}"),
            PackSource::Path(path) => format!("file {}", path.display()),
            PackSource::Dir(dir) => format!("folder {}", dir.display()),
            PackSource::Inline(_) => "inline".to_owned(),
        })
        .collect();
    named.join(", ")
}
