//! Shared parts of the fuzz targets: a runtime for the async gateway, and the structured
//! generator of the `evaluate` target (packs with random condition trees, and actions).
//!
//! Every target asserts with `assert!`/`panic!`: a panic is what libFuzzer reports as a
//! crash, so a broken invariant is a finding like any panic in the code under test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod scenario;

use std::cell::OnceCell;
use std::future::Future;

thread_local! {
    static RUNTIME: OnceCell<tokio::runtime::Runtime> = const { OnceCell::new() };
}

/// Runs a future to completion on this thread's runtime (built once).
pub fn block_on<F: Future>(future: F) -> F::Output {
    RUNTIME.with(|cell| {
        cell.get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("a current-thread runtime")
        })
        .block_on(future)
    })
}

/// The states a fresh decision may have.
pub fn is_decision_state(state: sentinel_core::State) -> bool {
    use sentinel_core::State;
    matches!(
        state,
        State::Executed | State::BlockedAwaitingAuth | State::Declined
    )
}
