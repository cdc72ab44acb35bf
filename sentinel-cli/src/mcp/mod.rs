//! `sentinel mcp-proxy`: an MCP server that stands in front of another. The client (an
//! MCP host: a desktop assistant, an agent) starts the proxy instead of the server; the
//! proxy starts the server and relays every message between them over stdio, except that
//! each `tools/call` is first decided by the gateway the configuration describes (`[mcp]`
//! maps tools to actions): allowed calls are forwarded, declined ones are answered with an
//! error result the model can read, escalated ones wait for a human (the configured
//! approver, the approval ladder, or `resolve` through a shared store), with progress
//! notifications meanwhile.

mod call;
mod http;
mod relay;
mod stdio;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use sentinel_core::spec::GatewaySpec;

use call::Guard;
use relay::{End, Relay};

/// `sentinel mcp-proxy`'s arguments.
#[derive(Args)]
pub(crate) struct McpProxyArgs {
    /// The configuration file (TOML or JSON): packs, scorer, store, approver, `[gateway]`
    /// and `[mcp]`. Default: the seed packs, an in-memory store, no approver.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The upstream MCP server's command and arguments, after `--`, e.g.
    /// `-- python server.py`.
    #[arg(
        last = true,
        required_unless_present = "upstream_url",
        value_name = "UPSTREAM"
    )]
    command: Vec<String>,
    /// An upstream MCP server already running, reached over Streamable HTTP (e.g.
    /// `http://127.0.0.1:8000/mcp`), instead of a command.
    #[arg(long, value_name = "URL", conflicts_with = "command")]
    upstream_url: Option<String>,
}

/// Where the upstream server is.
#[derive(Clone)]
pub(crate) enum Upstream {
    /// A child process, over stdio.
    Stdio(stdio::Outbox),
    /// An endpoint, over Streamable HTTP.
    Http(http::HttpUpstream),
}

impl Upstream {
    /// Sends one message to the upstream server.
    pub(crate) fn send(&self, message: Vec<u8>) {
        match self {
            Self::Stdio(outbox) => outbox.send(message),
            Self::Http(endpoint) => endpoint.send(message),
        }
    }
}

/// How long the upstream server may take to exit once its input is closed.
const UPSTREAM_GRACE: Duration = Duration::from_secs(5);

/// Runs the proxy until the client or the upstream server goes away.
pub(crate) async fn run(args: McpProxyArgs) -> Result<ExitCode, String> {
    let spec = match &args.config {
        Some(path) => GatewaySpec::from_file(path).map_err(|e| e.to_string())?,
        None => GatewaySpec::default(),
    };
    let gateway = spec.build().await.map_err(|e| e.to_string())?;
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    if let Some(url) = &args.upstream_url {
        let endpoint = http::HttpUpstream::new(url, events_tx.clone())?;
        let client = stdio::client(events_tx);
        let guard = Guard {
            gateway,
            mapping: spec.mcp.mapping(),
            progress_interval: spec.mcp.progress_interval(),
            client: client.clone(),
            upstream: Upstream::Http(endpoint.clone()),
        };
        Relay::new(guard).run(&mut events).await;
        endpoint.close().await;
        drop(client);
        tokio::time::sleep(Duration::from_millis(20)).await;
        return Ok(ExitCode::SUCCESS);
    }
    let (mut child, upstream) = stdio::upstream(&args.command, events_tx.clone())?;
    let upstream = Upstream::Stdio(upstream);
    let client = stdio::client(events_tx);
    let guard = Guard {
        gateway,
        mapping: spec.mcp.mapping(),
        progress_interval: spec.mcp.progress_interval(),
        client: client.clone(),
        upstream,
    };
    let end = Relay::new(guard).run(&mut events).await;
    if end == End::Client {
        // The relay and its calls are gone, and with them the upstream's input: it should
        // exit now. Its last words still reach the client.
        let until = tokio::time::Instant::now() + UPSTREAM_GRACE;
        while let Ok(Some(event)) = tokio::time::timeout_at(until, events.recv()).await {
            match event {
                stdio::Event::Upstream(line) => client.send(line),
                stdio::Event::UpstreamClosed => break,
                _ => {}
            }
        }
    }
    let status = match child.try_wait() {
        Ok(Some(status)) => Some(status),
        _ => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            match child.try_wait() {
                Ok(Some(status)) => Some(status),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    None
                }
            }
        }
    };
    // Give the writer a moment to flush the last messages to the client.
    drop(client);
    tokio::time::sleep(Duration::from_millis(20)).await;
    match (end, status) {
        (End::Upstream, Some(s)) if !s.success() => {
            Err(format!("the upstream server exited with {s}"))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
