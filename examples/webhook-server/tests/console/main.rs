//! The console's server side on the real router: operator sign-in (cookie attributes,
//! wrong tokens, expiry, sign-out), CSRF (state-changing requests with the cookie only from
//! the console's own origin), decisions recorded with the operator's name and channel
//! `console`, roles, CORS for other browser clients, the page's security headers, the read
//! models (queue, timeline, history, overview) and where operators come from.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod config;
mod kit;
mod sessions;
mod views;
