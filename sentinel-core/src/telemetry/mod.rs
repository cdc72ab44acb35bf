//! OpenTelemetry traces of guarded actions, exported over OTLP/HTTP (protobuf) when
//! `[telemetry] otlp_endpoint` (or `OTEL_EXPORTER_OTLP_ENDPOINT`) is set and the crate is
//! built with the `otel` feature. Every host gets them by building its gateway from a
//! [`GatewaySpec`](crate::GatewaySpec): the core exports, hosts only configure.
//!
//! One span per action, named after the GenAI semantic conventions for tools:
//! `execute_tool {action}` with `gen_ai.operation.name = "execute_tool"`,
//! `gen_ai.tool.name` (the action), `gen_ai.tool.call.id` (the action id) and `sentinel.*`
//! attributes (`sentinel.agent_id`, `sentinel.mode`, `sentinel.status`,
//! `sentinel.risk_score`, `sentinel.rules`, `sentinel.packs` as `name@version`,
//! `sentinel.scorer.outcome`, `sentinel.scorer.name`, `sentinel.scorer.skipped_reason`,
//! `sentinel.final_status`, `sentinel.decided_by`, `sentinel.approver.channel`). Child
//! spans: `chat {model}` for an LLM scorer's call (`gen_ai.request.model`,
//! `gen_ai.provider.name`), `approval request {approver}`, `approval qna`,
//! `approval note`, `approval decision`, and the store's writes (`store create`,
//! `store transition`, `store claim_execution`). Failures set the span status to error
//! with `error.type`. Payloads, reasoning, notes and analyses are never attributes.
//!
//! The decision log ([`DecisionLog`]) is here too: JSON lines for a SIEM, masked.
//!
//! A caller joins its own trace with [`with_traceparent`] (a W3C `traceparent` value):
//! the server reads the request header, the bindings take a `traceparent` argument.

pub mod decision_log;
#[cfg(not(feature = "otel"))]
mod noop;
#[cfg(feature = "otel")]
mod otel;

#[cfg(not(feature = "otel"))]
pub(crate) use noop::*;
#[cfg(feature = "otel")]
pub(crate) use otel::*;

use std::future::Future;

pub use decision_log::DecisionLog;

use thiserror::Error;

use crate::spec::{Env, TelemetrySpec};

/// Telemetry could not be set up.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// An OTLP endpoint is configured, but this build has no exporter.
    #[error("traces to `{endpoint}` need sentinel-core's `otel` feature, which this build lacks")]
    NotBuilt {
        /// The endpoint.
        endpoint: String,
    },
    /// The endpoint is not an `http://` or `https://` URL.
    #[error("the OTLP endpoint `{endpoint}` is not an http:// or https:// URL")]
    Endpoint {
        /// The endpoint.
        endpoint: String,
    },
    /// The exporter could not be built.
    #[error("cannot set up the OTLP exporter: {0}")]
    Exporter(String),
}

/// Turns on trace export as `spec` and the standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT`,
/// `OTEL_SERVICE_NAME`) say, once per process: `Ok(true)` when spans are exported (now or
/// by an earlier call), `Ok(false)` when no endpoint is configured. The first configured
/// endpoint wins for the process.
pub fn init(spec: &TelemetrySpec, env: &Env) -> Result<bool, TelemetryError> {
    let Some(endpoint) = spec.otlp_endpoint(env) else {
        return Ok(enabled());
    };
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(TelemetryError::Endpoint { endpoint });
    }
    start(&endpoint, &spec.service_name(env))?;
    Ok(true)
}

/// True when spans are being exported.
pub fn enabled() -> bool {
    is_on()
}

/// Exports the spans ended so far, waiting for the collector (at most a few seconds).
pub fn flush() {
    flush_spans();
}

/// Exports what is left and stops exporting (call it at exit).
pub fn shutdown() {
    shutdown_spans();
}

/// Runs `f` as part of the trace a W3C `traceparent` names
/// (`00-{trace id}-{parent span id}-{flags}`): the spans Sentinel starts inside become its
/// children. An absent or malformed value, or telemetry off, changes nothing.
pub async fn with_traceparent<F: Future>(traceparent: Option<&str>, f: F) -> F::Output {
    match traceparent.filter(|_| enabled()) {
        Some(tp) => in_remote_parent(tp, f).await,
        None => f.await,
    }
}

/// One attribute value of a span (built only when telemetry is on).
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "otel"), allow(dead_code))]
pub(crate) enum Attr {
    Str(String),
    Int(i64),
    List(Vec<String>),
}

impl From<&str> for Attr {
    fn from(s: &str) -> Self {
        Attr::Str(s.to_owned())
    }
}

impl From<String> for Attr {
    fn from(s: String) -> Self {
        Attr::Str(s)
    }
}

impl From<i64> for Attr {
    fn from(n: i64) -> Self {
        Attr::Int(n)
    }
}

impl From<Vec<String>> for Attr {
    fn from(l: Vec<String>) -> Self {
        Attr::List(l)
    }
}

/// Attributes of a span.
pub(crate) type Attrs = Vec<(&'static str, Attr)>;

/// The `sentinel.*` attributes of a decision.
pub(crate) fn decision_attrs(d: &crate::Decision) -> Attrs {
    use crate::decision::ScorerUse;
    let mut attrs: Attrs = vec![
        ("sentinel.status", d.status.as_str().into()),
        ("sentinel.risk_score", i64::from(d.risk_score).into()),
        (
            "sentinel.rules",
            Attr::List(d.rules.iter().map(|r| r.to_string()).collect()),
        ),
        (
            "sentinel.packs",
            d.packs
                .iter()
                .map(|p| format!("{}@{}", p.name, p.version))
                .collect::<Vec<_>>()
                .into(),
        ),
    ];
    match &d.scorer {
        ScorerUse::Skipped { reason } => {
            attrs.push(("sentinel.scorer.outcome", "skipped".into()));
            attrs.push(("sentinel.scorer.skipped_reason", reason.as_str().into()));
        }
        ScorerUse::Assessed { scorer } => {
            attrs.push(("sentinel.scorer.outcome", "assessed".into()));
            attrs.push(("sentinel.scorer.name", scorer.as_str().into()));
        }
        ScorerUse::Failed { scorer, .. } => {
            attrs.push(("sentinel.scorer.outcome", "failed".into()));
            attrs.push(("sentinel.scorer.name", scorer.as_str().into()));
        }
    }
    attrs
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(endpoint: &str) -> TelemetrySpec {
        crate::GatewaySpec::from_toml_str(&format!("[telemetry]\notlp_endpoint = \"{endpoint}\"\n"))
            .unwrap()
            .telemetry
    }

    #[test]
    fn no_endpoint_exports_nothing_and_a_bad_one_is_refused() {
        let env = Env::from_map(Default::default());
        assert!(!init(&TelemetrySpec::default(), &env).unwrap());
        let err = init(&spec("127.0.0.1:4318"), &env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the OTLP endpoint `127.0.0.1:4318` is not an http:// or https:// URL"
        );
    }

    #[cfg(not(feature = "otel"))]
    #[test]
    fn an_endpoint_without_the_feature_is_an_error_not_silence() {
        let env = Env::from_map(Default::default());
        let err = init(&spec("http://127.0.0.1:4318"), &env).unwrap_err();
        assert!(err.to_string().contains("`otel` feature"), "{err}");
        let err = crate::GatewaySpec::from_toml_str(
            "[telemetry]\notlp_endpoint = \"http://127.0.0.1:4318\"\n",
        )
        .unwrap()
        .components(&env)
        .err()
        .unwrap();
        assert!(err.to_string().contains("telemetry.otlp_endpoint"), "{err}");
    }
}
