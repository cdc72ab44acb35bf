//! Node.js binding of the Sentinel safety gateway, published to npm as `sentinel-guard`.
//!
//! A thin adapter: every policy decision, configuration check and error code comes from
//! [`sentinel_core`]. This crate only converts values between JavaScript and Rust, runs the
//! gateway's futures on napi's tokio runtime (never on the JS thread), and lets JavaScript
//! objects act as risk scorers and approvers through thread-safe functions that do not keep
//! the process alive.
//!
//! The JavaScript API users import is the hand-written TypeScript layer in `ts/`, which
//! wraps the `NativeGateway` class exported here with idiomatic classes and errors.
//!
//! Modules: [`gateway`] (the exported class, built from the core's `GatewaySpec`),
//! [`options`] (the options of `new Gateway(options)` written as a spec: the one place that
//! knows them), [`codec`] (the one way a decision crosses: serde-driven, with shapes the
//! TypeScript layer compiles once), [`errors`] (core errors as JS errors with the core's
//! codes), [`callback`] (calling JS from Rust; what a JS callback threw, as the source of
//! the core's errors), [`scorer`] and [`approver`] (JS callbacks behind the core traits),
//! [`convert`] (actions, ids, resolutions), [`record`] and [`audit`] (action records and
//! their audit trail), [`store`] (opening the durable store), [`groq`] (the LLM scorer's
//! counters), [`metrics`] (the core's metrics snapshot), [`trace`] (flushing spans), [`telnyx`] (the voice approver's webhook) and [`tool`]
//! (framework tool calls, mapped to actions as the MCP proxy maps them).

pub mod approver;
pub mod audit;
pub mod callback;
pub mod codec;
pub mod convert;
pub mod errors;
pub mod gateway;
pub mod groq;
pub mod metrics;
pub mod options;
pub mod record;
pub mod scorer;
pub mod store;
pub mod telnyx;
pub mod tool;
pub mod trace;
