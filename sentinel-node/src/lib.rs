//! Node.js binding of the Sentinel safety gateway, published to npm as `sentinel-guard`.
//!
//! A thin adapter: every policy decision is made by [`sentinel_core`]. This crate only
//! converts values between JavaScript and Rust, runs the gateway's futures on napi's tokio
//! runtime (never on the JS thread), and lets JavaScript objects act as risk scorers and
//! approvers through thread-safe functions that do not keep the process alive.
//!
//! The JavaScript API users import is the hand-written TypeScript layer in `ts/`, which
//! wraps the `NativeGateway` class exported here with idiomatic classes and errors.
//!
//! Modules mirror the core: [`gateway`] (the exported class), [`decision`] (the JS shape
//! of decisions and records), [`errors`] (core errors as JS errors), [`scorer`] and
//! [`approver`] (JS callbacks behind the core traits), [`convert`] (actions, ids,
//! resolutions), [`codec`] (the compact decision encoding of the hot path), [`callback`]
//! (the shared machinery for calling JS from Rust), and configuration of the core's own
//! implementations: [`groq`] (the LLM scorer), [`telnyx`] (the voice approver and its
//! webhook), [`store`] (SQLite and PostgreSQL) and [`audit`] (the audit trail).

pub mod approver;
pub mod audit;
pub mod callback;
pub mod codec;
pub mod convert;
pub mod decision;
pub mod errors;
pub mod gateway;
pub mod groq;
pub mod scorer;
pub mod store;
pub mod telnyx;
