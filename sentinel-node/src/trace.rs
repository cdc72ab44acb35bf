//! Traces: the core exports them (`[telemetry] otlp_endpoint`, see
//! `sentinel_core::telemetry`); `evaluate`/`guard` take a `traceparent`, and this flushes
//! what is pending (before the process exits).

use napi_derive::napi;

use crate::gateway::NativeGateway;

#[napi]
impl NativeGateway {
    /// Exports the spans ended so far, waiting for the collector (a few seconds at most).
    #[napi]
    pub fn flush_telemetry() {
        sentinel_core::telemetry::flush();
    }

    /// True when spans are exported (then the TypeScript layer looks up the caller's
    /// OpenTelemetry context).
    #[napi]
    pub fn telemetry_enabled() -> bool {
        sentinel_core::telemetry::enabled()
    }
}
