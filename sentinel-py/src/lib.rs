//! Python binding of the Sentinel safety gateway: the native module
//! `sentinel_guard._native`, wrapped by the pure-Python package `sentinel_guard`.
//!
//! A thin adapter: actions and configurations are converted to the core's types
//! (`Action`, `GatewaySpec`) and every decision, setting check and error code comes from
//! `sentinel-core`. Python scorers and approvers are adapted to the core's traits.

mod aio;
mod approver;
mod callback;
mod config;
mod convert;
mod coroutine;
mod decision;
mod errors;
mod gateway;
mod groq;
mod runtime;
mod scorer;
mod telnyx;
mod tools;
mod trace;

use pyo3::prelude::*;

pub use approver::ApprovalHandle;
pub use decision::Decision;
pub use gateway::Gateway;
pub use groq::GroqScorer;
pub use telnyx::TelnyxApprover;
pub use tools::ToolVerdict;

/// The native module (private: import `sentinel_guard` instead).
#[pymodule]
#[pyo3(name = "_native")]
fn native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Gateway>()?;
    module.add_class::<Decision>()?;
    module.add_class::<ApprovalHandle>()?;
    module.add_class::<GroqScorer>()?;
    module.add_class::<TelnyxApprover>()?;
    module.add_class::<ToolVerdict>()?;
    module.add_function(wrap_pyfunction!(trace::flush_telemetry, module)?)?;
    errors::register(module)?;
    runtime::install_hooks(module)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
