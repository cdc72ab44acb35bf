//! The `otel` build: an SDK tracer provider with a batch exporter over OTLP/HTTP
//! (protobuf), sent by the workspace's reqwest on a small runtime of its own (the batch
//! processor exports from a thread without one), and the spans the gateway starts.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use opentelemetry::context::{FutureExt as _, WithContext};
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{
    SpanContext, SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue, StringValue, Value};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use super::{Attr, Attrs, TelemetryError};
use crate::action::{Action, ActionId};

/// The process's exporter, once [`start`] ran with an endpoint.
static PROVIDER: OnceLock<(SdkTracerProvider, SdkTracer)> = OnceLock::new();
/// The span of each action still in flight (or awaiting a human), so that steps taken
/// from other tasks (a human's decision, a note) join its trace.
static ACTIONS: OnceLock<Mutex<HashMap<ActionId, SpanContext>>> = OnceLock::new();
/// Most actions remembered; past it the map starts over (old actions' late steps then
/// start no span).
const MAX_ACTIONS: usize = 10_000;

/// Marks a context whose span is an action's (`execute_tool ...`).
#[derive(Debug, Clone, Copy)]
struct InAction;

pub(crate) fn is_on() -> bool {
    PROVIDER.get().is_some()
}

pub(crate) fn start(endpoint: &str, service: &str) -> Result<(), TelemetryError> {
    if PROVIDER.get().is_some() {
        return Ok(());
    }
    let client = RuntimeClient::new().map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .with_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service.to_owned())
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("sentinel");
    // A concurrent first call may have won: its provider stays, this one is dropped.
    if PROVIDER.set((provider, tracer)).is_err() {
        tracing::debug!("telemetry already started");
    }
    Ok(())
}

pub(crate) fn flush_spans() {
    if let Some((provider, _)) = PROVIDER.get()
        && let Err(e) = provider.force_flush()
    {
        tracing::warn!(error = %e, "could not export spans");
    }
}

pub(crate) fn shutdown_spans() {
    if let Some((provider, _)) = PROVIDER.get()
        && let Err(e) = provider.shutdown()
    {
        tracing::warn!(error = %e, "could not export the last spans");
    }
}

pub(crate) async fn in_remote_parent<F: Future>(traceparent: &str, f: F) -> F::Output {
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let cx = TraceContextPropagator::new().extract_with_context(&Context::current(), &carrier);
    f.with_context(cx).await
}

fn tracer() -> Option<&'static SdkTracer> {
    PROVIDER.get().map(|(_, t)| t)
}

fn actions() -> &'static Mutex<HashMap<ActionId, SpanContext>> {
    ACTIONS.get_or_init(Mutex::default)
}

fn key_values(attrs: Attrs) -> Vec<KeyValue> {
    attrs
        .into_iter()
        .map(|(k, v)| {
            let value = match v {
                Attr::Str(s) => Value::from(s),
                Attr::Int(n) => Value::from(n),
                Attr::List(l) => Value::Array(
                    l.into_iter()
                        .map(StringValue::from)
                        .collect::<Vec<_>>()
                        .into(),
                ),
            };
            KeyValue::new(k, value)
        })
        .collect()
}

/// A future running inside a span's context.
pub(crate) type Scoped<F> = WithContext<F>;

/// `f` in the current context, with no span of its own.
pub(crate) fn unscoped<F: Future>(f: F) -> Scoped<F> {
    if is_on() {
        f.with_context(Context::current())
    } else {
        f.with_context(Context::new())
    }
}

/// Adds attributes to the current span (an LLM's reply adds its token usage to its
/// `chat` span), when there is one.
#[cfg_attr(not(feature = "groq"), allow(dead_code))]
pub(crate) fn annotate(attrs: impl FnOnce() -> Attrs) {
    if !is_on() {
        return;
    }
    let cx = Context::current();
    if cx.has_active_span() {
        cx.span().set_attributes(key_values(attrs()));
    }
}

/// The span of one action: `execute_tool {action}`. When the caller already runs inside
/// an action's span (`guard` → `submit`), the handle adds to that span and leaves ending
/// it to its owner.
pub(crate) struct ActionSpan {
    cx: Option<Context>,
    owned: bool,
}

impl ActionSpan {
    /// Starts the span (a child of the current context, e.g. a caller's `traceparent`).
    pub(crate) fn start(action: &Action, mode: &'static str) -> Self {
        let Some(tracer) = tracer() else {
            return Self {
                cx: None,
                owned: false,
            };
        };
        let parent = Context::current();
        if parent.get::<InAction>().is_some() {
            return Self {
                cx: Some(parent),
                owned: false,
            };
        }
        let span = tracer
            .span_builder(format!("execute_tool {}", action.action))
            .with_kind(SpanKind::Internal)
            .with_attributes(key_values(vec![
                ("gen_ai.operation.name", "execute_tool".into()),
                ("gen_ai.tool.name", action.action.as_str().into()),
                ("sentinel.agent_id", action.agent_id.as_str().into()),
                ("sentinel.mode", mode.into()),
            ]))
            .start_with_context(tracer, &parent);
        Self {
            cx: Some(parent.with_span(span).with_value(InAction)),
            owned: true,
        }
    }

    /// Runs `f` inside the span.
    pub(crate) fn scope<F: Future>(&self, f: F) -> Scoped<F> {
        f.with_context(self.cx.clone().unwrap_or_else(Context::current))
    }

    /// The action's id (`gen_ai.tool.call.id`); later steps about it join this span.
    pub(crate) fn set_id(&self, id: ActionId) {
        let Some(cx) = &self.cx else { return };
        cx.span()
            .set_attribute(KeyValue::new("gen_ai.tool.call.id", id.to_string()));
        let mut map = actions().lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ACTIONS {
            map.clear();
        }
        map.insert(id, cx.span().span_context().clone());
    }

    /// Adds attributes.
    pub(crate) fn set(&self, attrs: impl FnOnce() -> Attrs) {
        if let Some(cx) = &self.cx {
            cx.span().set_attributes(key_values(attrs()));
        }
    }

    /// Marks the span failed (`error.type`, and the status message).
    pub(crate) fn fail(&self, error_type: &str, message: &str) {
        if let Some(cx) = &self.cx {
            let span = cx.span();
            span.set_attribute(KeyValue::new("error.type", error_type.to_owned()));
            span.set_status(Status::error(message.to_owned()));
        }
    }

    /// Ends the span (when this handle started it).
    pub(crate) fn end(&self) {
        if let (Some(cx), true) = (&self.cx, self.owned) {
            cx.span().end();
        }
    }
}

/// A step of an action: a child of the current span, or of the action's (found by id)
/// when the step runs elsewhere (a human's decision from another request). No span when
/// there is neither.
pub(crate) struct StepSpan {
    cx: Option<Context>,
}

impl StepSpan {
    pub(crate) fn start(
        id: Option<ActionId>,
        name: impl FnOnce() -> String,
        attrs: impl FnOnce() -> Attrs,
    ) -> Self {
        let Some(tracer) = tracer() else {
            return Self { cx: None };
        };
        let current = Context::current();
        let parent = if current.has_active_span() {
            current
        } else {
            let found = id.and_then(|id| {
                actions()
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&id)
                    .cloned()
            });
            match found {
                Some(sc) => Context::new().with_remote_span_context(sc),
                None => return Self { cx: None },
            }
        };
        let span = tracer
            .span_builder(name())
            .with_kind(SpanKind::Internal)
            .with_attributes(key_values(attrs()))
            .start_with_context(tracer, &parent);
        Self {
            cx: Some(parent.with_span(span)),
        }
    }

    /// Runs `f` inside the step.
    pub(crate) fn scope<F: Future>(&self, f: F) -> Scoped<F> {
        f.with_context(self.cx.clone().unwrap_or_else(Context::current))
    }

    /// Marks the step failed.
    pub(crate) fn fail(&self, error_type: &str, message: &str) {
        if let Some(cx) = &self.cx {
            let span = cx.span();
            span.set_attribute(KeyValue::new("error.type", error_type.to_owned()));
            span.set_status(Status::error(message.to_owned()));
        }
    }
}

impl Drop for StepSpan {
    fn drop(&mut self) {
        if let Some(cx) = &self.cx {
            cx.span().end();
        }
    }
}

/// The action is decided for good: later steps start no span.
pub(crate) fn forget(id: ActionId) {
    if ACTIONS.get().is_some() {
        actions()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
}

/// Sends the exporter's requests with the workspace's reqwest, on a current-thread
/// runtime of its own.
#[derive(Debug)]
struct RuntimeClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl RuntimeClient {
    fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("sentinel-otlp".to_owned())
            .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Self {
            client,
            runtime: handle,
        })
    }
}

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let request = reqwest::Request::try_from(request)?;
        let sent = self.runtime.spawn(async move {
            let response = client.execute(request).await?;
            let mut builder = Response::builder().status(response.status().as_u16());
            for (name, value) in response.headers() {
                builder = builder.header(name.as_str(), value.as_bytes());
            }
            let body = response.bytes().await?;
            Ok::<_, HttpError>(builder.body(body)?)
        });
        sent.await?
    }
}
