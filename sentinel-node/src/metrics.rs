//! `gateway.metrics()`: the core's metrics snapshot ([`sentinel_core::MetricsSnapshot`]),
//! as a plain object keyed by metric name; the same families `sentinel-server` serves at
//! `GET /metrics`.

use napi_derive::napi;

use crate::gateway::NativeGateway;

#[napi]
impl NativeGateway {
    /// What the gateway in use has counted (the durable one once `open()` built it): an
    /// object keyed by metric name, each `{type, help, samples}`.
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn metrics(&self) -> napi::Result<serde_json::Value> {
        serde_json::to_value(self.deciding().metrics().snapshot())
            .map_err(|e| napi::Error::from_reason(format!("cannot read the metrics: {e}")))
    }
}
