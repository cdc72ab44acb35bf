//! `sentinel-server`: Sentinel's HTTP API for agents that are not in-process, the Telnyx
//! webhook receiver, and the end-to-end demo.
//!
//! - [`config`]: the configuration: the file `SENTINEL_CONFIG` names (the core's
//!   `GatewaySpec`), the `SENTINEL_*` variables that override it, and `.env`.
//! - [`auth`]: per-agent bearer keys, the admin token, operators.
//! - [`console`]: the operators' web console at `/console` (sign-in sessions, the page).
//! - [`cors`]: browser clients from the origins `server.cors_origins` lists.
//! - [`errors`]: JSON errors `{"error": {"code", "message"}}` with the core's error codes.
//! - [`routes`]: one module per endpoint group.
//! - [`server`]: the gateway, the router, graceful shutdown; connections are served with
//!   header and body timeouts and a connection cap.
//! - [`submission`]: submitting from a task of its own; 202 with the id when deciding is slow.
//! - [`disclose`]: what agents are told about scorer and approver failures.
//! - [`wire`], [`openapi`]: the JSON shapes and the OpenAPI document built from them.
//! - [`demo`]: the scripted scenarios and the local Telnyx simulator.
//!
//! See the crate's README for the endpoints and the configuration table.

pub mod auth;
mod banner;
pub mod config;
pub mod console;
pub mod cors;
pub mod demo;
pub mod disclose;
pub mod errors;
mod limits;
pub mod notes;
pub mod openapi;
pub mod routes;
mod serve;
pub mod server;
pub mod state;
pub mod submission;
pub mod voice;
pub mod wire;

pub use config::Config;
pub use server::{Server, StartError, bind_and_start, start};
