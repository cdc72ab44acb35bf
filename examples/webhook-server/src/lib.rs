//! `sentinel-server`: Sentinel's HTTP API for agents that are not in-process, the Telnyx
//! webhook receiver, and the end-to-end demo.
//!
//! - [`config`]: the configuration: the file `SENTINEL_CONFIG` names (the core's
//!   `GatewaySpec`), the `SENTINEL_*` variables that override it, and `.env`.
//! - [`auth`]: per-agent bearer keys and the admin token.
//! - [`errors`]: JSON errors `{"error": {"code", "message"}}` with the core's error codes.
//! - [`routes`]: one module per endpoint group.
//! - [`server`]: the gateway, the router, graceful shutdown.
//! - [`demo`]: the scripted scenarios and the local Telnyx simulator.
//!
//! See the crate's README for the endpoints and the configuration table.

pub mod auth;
mod banner;
pub mod config;
pub mod demo;
pub mod errors;
pub mod notes;
pub mod routes;
pub mod server;
pub mod state;
pub mod voice;
pub mod wire;

pub use config::Config;
pub use server::{Server, StartError, bind_and_start, start};
