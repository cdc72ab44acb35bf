//! `NativeGateway`: the core [`Gateway`] as a JS class, built from the core's
//! [`GatewaySpec`] either way: `Gateway.fromConfig` reads a spec from a file or a mapping,
//! `new Gateway(options)` has its options written as one ([`crate::options`]).
//!
//! Async methods run on napi's tokio runtime, off the JS thread; `evaluateSync` is the one
//! synchronous exception, for hot paths with the built-in scorer (whose evaluation never
//! waits on anything, so it completes in one poll).

use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use napi::bindgen_prelude::{Promise, PromiseRaw, within_runtime_if_available};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::{Env, JsString, Status};
use napi_derive::napi;
use sentinel_core::telemetry::with_traceparent;
use sentinel_core::spec::{ApproverSpec, Components, Env as SpecEnv, GatewaySpec, ScorerSpec};
use sentinel_core::tool_call::ToolMapping;
use sentinel_core::{ConfigError, Decision, ErrorCode, Gateway};
use serde_json::Value;

use crate::approver::{ApprovalCall, JsApprover};
use crate::callback::CallbackReply;
use crate::codec::{encode_decision, with_encoded};
use crate::convert::{parse_action, parse_id, parse_qna, parse_resolution};
use crate::errors::{Failure, Reply, guard_error, resolve_error, store_error};
use crate::options::{self, Legacy};
use crate::record::ActionStatus;
use crate::scorer::{AssessCall, ExplainCall, JsScorer};

/// Where `fromConfig` reads the configuration: exactly one field is set.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// A TOML or JSON file (JSON when the name ends in `.json`); relative paths in it are
    /// relative to its folder.
    pub path: Option<String>,
    /// The configuration as JSON text (keys exactly as in a file); relative paths in it are
    /// relative to the working directory.
    pub mapping: Option<String>,
}

/// The names of the JS scorer and approver passed with their callbacks.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct CustomNames {
    /// The JS scorer's name (with `assess`); default `js`.
    pub scorer: Option<String>,
    /// The JS approver's name (with `request`); default `js`.
    pub approver: Option<String>,
}

// The callbacks' types; the `#[napi]` signatures spell them out so that the generated
// `.d.ts` names JS types.
type AssessFn =
    ThreadsafeFunction<AssessCall, Promise<CallbackReply>, AssessCall, Status, false, true>;
type ExplainFn =
    ThreadsafeFunction<ExplainCall, Promise<CallbackReply>, ExplainCall, Status, false, true>;
type RequestFn =
    ThreadsafeFunction<ApprovalCall, Promise<CallbackReply>, ApprovalCall, Status, false, true>;

/// The safety gateway. Construct it through the `Gateway` class of `sentinel-guard`.
///
/// With a durable store, the gateway that records actions is built by `open()`; until
/// then an in-memory twin with the same settings answers the getters and `evaluate`
/// (which records nothing), and the other methods refuse.
#[napi]
pub struct NativeGateway {
    preview: Gateway,
    /// The gateway on the durable store, once `open()` built it.
    pub(crate) durable: tokio::sync::OnceCell<Gateway>,
    /// What the gateway is made of (to build it again on the durable store).
    pub(crate) components: Components,
    /// The options as the user wrote them (`new Gateway(options)`), to name them in errors.
    legacy: Option<Legacy>,
    /// The configuration file, to name it in errors.
    file: Option<PathBuf>,
    /// `[mcp]`: how framework tool calls become actions (`crate::tool`).
    pub(crate) tools: ToolMapping,
    sync_ok: bool,
}

#[napi]
impl NativeGateway {
    /// Builds a gateway from the options of `new Gateway(options)` as JSON text (without
    /// a custom scorer or approver, passed as callbacks instead). `assess`/`explain` make
    /// a JS risk scorer, `request` a JS approver; each is a wrapped callback that resolves
    /// to a `CallbackReply`.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        options: String,
        names: Option<CustomNames>,
        assess: Option<
            ThreadsafeFunction<AssessCall, Promise<CallbackReply>, AssessCall, Status, false, true>,
        >,
        explain: Option<
            ThreadsafeFunction<
                ExplainCall,
                Promise<CallbackReply>,
                ExplainCall,
                Status,
                false,
                true,
            >,
        >,
        request: Option<
            ThreadsafeFunction<
                ApprovalCall,
                Promise<CallbackReply>,
                ApprovalCall,
                Status,
                false,
                true,
            >,
        >,
    ) -> napi::Result<Self> {
        let built = options::translate(&options).and_then(|t| {
            let custom = Custom::new(names, assess, explain, request);
            Self::build(t.spec, Some(t.legacy), custom)
        });
        built.map_err(|f| f.throw(&env))
    }

    /// Builds a gateway from a configuration file or mapping (the core's `GatewaySpec`); a
    /// JS scorer or approver given as callbacks replaces the configuration's.
    #[napi(factory)]
    pub fn from_config(
        env: Env,
        source: ConfigSource,
        names: Option<CustomNames>,
        assess: Option<
            ThreadsafeFunction<AssessCall, Promise<CallbackReply>, AssessCall, Status, false, true>,
        >,
        explain: Option<
            ThreadsafeFunction<
                ExplainCall,
                Promise<CallbackReply>,
                ExplainCall,
                Status,
                false,
                true,
            >,
        >,
        request: Option<
            ThreadsafeFunction<
                ApprovalCall,
                Promise<CallbackReply>,
                ApprovalCall,
                Status,
                false,
                true,
            >,
        >,
    ) -> napi::Result<Self> {
        let spec = match (source.path, source.mapping) {
            (Some(path), None) => GatewaySpec::from_file(path),
            (None, Some(text)) => serde_json::from_str::<Value>(&text)
                .map_err(|e| ConfigError::at("", format!("not JSON data: {e}")))
                .and_then(GatewaySpec::from_value),
            _ => Err(ConfigError::at(
                "",
                "give a file path or a configuration object",
            )),
        };
        let built = spec
            .map_err(|e| Failure::config(&e))
            .and_then(|spec| Self::build(spec, None, Custom::new(names, assess, explain, request)));
        built.map_err(|f| f.throw(&env))
    }

    /// The spec's components, with the JS scorer and approver in place of the spec's.
    fn build(
        mut spec: GatewaySpec,
        legacy: Option<Legacy>,
        custom: Custom,
    ) -> Result<Self, Failure> {
        // A JS scorer or approver replaces the spec's: the spec's is not even built.
        if custom.scorer.is_some() {
            spec.scorer = ScorerSpec::default();
        }
        if custom.approver.is_some() {
            spec.approver = ApproverSpec::default();
        }
        let config_error = |e: &ConfigError| match &legacy {
            Some(legacy) => legacy.error(e),
            None => Failure::config(e),
        };
        let mut components = spec
            .components(&SpecEnv::process())
            .map_err(|e| config_error(&e))?;
        if let Some(scorer) = custom.scorer {
            components.scorer = Some(scorer);
        }
        if let Some(approver) = custom.approver {
            components.approver = Some(approver);
        }
        let sync_ok = components.scorer.is_none();
        let preview = components
            .builder()
            .build()
            .map_err(|e| Failure::coded(&e))?;
        Ok(Self {
            preview,
            durable: tokio::sync::OnceCell::new(),
            components,
            legacy,
            file: spec.file().map(PathBuf::from),
            tools: spec.mcp.mapping(),
            sync_ok,
        })
    }

    /// A configuration error met after construction (opening the store).
    pub(crate) fn config_error(&self, e: ConfigError) -> Failure {
        let e = e.in_file(self.file.as_deref());
        match &self.legacy {
            Some(legacy) => legacy.error(&e),
            None => Failure::config(&e),
        }
    }

    /// The gateway that records actions: the durable one once opened.
    pub(crate) fn gateway(&self) -> Result<&Gateway, Failure> {
        match (self.components.store.kind.is_durable(), self.durable.get()) {
            (false, _) => Ok(&self.preview),
            (true, Some(durable)) => Ok(durable),
            (true, None) => Err(Failure::new(
                ErrorCode::StoreUnavailable,
                "the gateway's store is not open yet: `await gateway.ready()` first",
            )),
        }
    }

    /// The gateway that decides without recording: either one.
    pub(crate) fn deciding(&self) -> &Gateway {
        self.durable.get().unwrap_or(&self.preview)
    }

    /// Decides about a wire-form action (JSON text) without recording or running anything.
    /// `aliases`: the camelCase keys to read as snake_case (see `convert::parse_action`).
    /// Resolves to the decision encoded by `codec.rs`. `traceparent`: a W3C trace context
    /// the decision's span joins.
    #[napi(ts_return_type = "Promise<string>")]
    pub async fn evaluate(
        &self,
        action: String,
        aliases: Option<u32>,
        traceparent: Option<String>,
    ) -> Reply<String> {
        Reply(match parse_action(&action, aliases.unwrap_or(0)) {
            Ok(action) => {
                let deciding = self.deciding().evaluate(&action);
                let decision = with_traceparent(traceparent.as_deref(), deciding).await;
                Ok(encode_decision(&decision))
            }
            Err(f) => Err(f),
        })
    }

    /// `evaluate` on the calling thread. Only with the built-in scorer, whose evaluation
    /// never waits: it takes a few microseconds and saves the thread hop of an async call.
    /// Returns the decision encoded by `codec.rs`.
    #[napi(catch_unwind, ts_return_type = "string")]
    pub fn evaluate_sync<'env>(
        &self,
        env: &'env Env,
        action: String,
        aliases: Option<u32>,
        traceparent: Option<String>,
    ) -> napi::Result<JsString<'env>> {
        match self.decide_now(&action, aliases.unwrap_or(0), traceparent.as_deref()) {
            // Straight from the encoder's buffer; ASCII as a one-byte string V8 need not
            // decode.
            Ok(decision) => with_encoded(&decision, |text| {
                if text.is_ascii() {
                    env.create_string_latin1(text.as_bytes())
                } else {
                    env.create_string(text)
                }
            }),
            Err(f) => Err(f.throw(env)),
        }
    }

    fn decide_now(
        &self,
        action: &str,
        aliases: u32,
        traceparent: Option<&str>,
    ) -> Result<Decision, Failure> {
        if !self.sync_ok {
            return Err(Failure::new(
                ErrorCode::Unsupported,
                "`evaluateSync` needs the built-in scorer; use `evaluate` with any other scorer",
            ));
        }
        self.decide_at_once(action, aliases, traceparent)?
            .ok_or_else(|| {
                Failure::new(
                    ErrorCode::Unsupported,
                    "evaluation did not complete synchronously; use `evaluate`",
                )
            })
    }

    /// The decision when one poll makes it; `None` when it would wait.
    fn decide_at_once(
        &self,
        action: &str,
        aliases: u32,
        traceparent: Option<&str>,
    ) -> Result<Option<Decision>, Failure> {
        let action = parse_action(action, aliases)?;
        // The built-in scorer answers at once: the core then arms no timer, and one poll
        // decides, outside any runtime.
        Ok(poll_once(with_traceparent(
            traceparent,
            self.deciding().evaluate(&action),
        )))
    }

    /// True when deciding involves no I/O and no JS callback: the built-in scorer and
    /// the in-memory store (a durable store answers budget conditions and records
    /// actions over I/O). The async methods then run on the calling thread, without
    /// the thread hop of an async call.
    fn decides_without_io(&self) -> bool {
        self.sync_ok && !self.components.store.kind.is_durable()
    }

    /// The first half of `evaluate`: the decision (encoded as by `evaluate`) when it can
    /// be made on the calling thread at once (see `decides_without_io`); `null` when
    /// `evaluate` must be awaited instead. Throws what `evaluate` rejects with.
    #[napi(catch_unwind, ts_return_type = "string | null")]
    pub fn evaluate_now<'env>(
        &self,
        env: &'env Env,
        action: String,
        aliases: Option<u32>,
        traceparent: Option<String>,
    ) -> napi::Result<Option<JsString<'env>>> {
        if !self.decides_without_io() {
            return Ok(None);
        }
        match self.decide_at_once(&action, aliases.unwrap_or(0), traceparent.as_deref()) {
            Ok(Some(decision)) => with_encoded(&decision, |text| {
                if text.is_ascii() {
                    env.create_string_latin1(text.as_bytes())
                } else {
                    env.create_string(text)
                }
            })
            .map(Some),
            Ok(None) => Ok(None),
            Err(f) => Err(f.throw(env)),
        }
    }

    /// `authorize`, started on the calling thread: when the decision involves no I/O
    /// (see `decides_without_io`) and permission is settled at once (auto-approved, or
    /// refused), returns `null` or throws the refusal, with no thread hop; otherwise
    /// returns the promise of `authorize`, which the same submission continues into
    /// (waiting for a human on the runtime).
    #[napi(catch_unwind, ts_return_type = "Promise<void> | null")]
    pub fn authorize_now<'env>(
        &self,
        env: &'env Env,
        action: String,
        aliases: Option<u32>,
        traceparent: Option<String>,
    ) -> napi::Result<Option<PromiseRaw<'env, Reply<()>>>> {
        let prepared = parse_action(&action, aliases.unwrap_or(0))
            .and_then(|action| Ok((action, self.gateway()?.clone())));
        let (action, gateway) = prepared.map_err(|f| f.throw(env))?;
        let mut authorizing = Box::pin(async move {
            let authorized = with_traceparent(traceparent.as_deref(), gateway.authorize(action));
            match authorized.await {
                Ok(_) => Ok(()),
                Err(e) => Err(guard_error(&e)),
            }
        });
        if self.decides_without_io() {
            // Inside the runtime's context: whatever the submission starts that outlives
            // this poll (the recovery sweep, an expiry timer) runs there.
            let polled = within_runtime_if_available(|| {
                authorizing
                    .as_mut()
                    .poll(&mut Context::from_waker(Waker::noop()))
            });
            if let Poll::Ready(done) = polled {
                return done.map(|()| None).map_err(|f| f.throw(env));
            }
        }
        // Waiting (for a human, the store, a callback): the same future continues on the
        // runtime, polled again at once with a real waker.
        env.spawn_future(async move { Ok(Reply(authorizing.await)) })
            .map(Some)
    }

    /// Submits a wire-form action and waits for permission to run the guarded function:
    /// auto-approved, or approved by a human within the escalation timeout. Claims the
    /// single execution; the caller then runs the function. A refusal rejects with the
    /// error of its code (`SENTINEL_DENIED`, `SENTINEL_EXPIRED`...), carrying the action's
    /// id, its decision and the cause id of what a JS scorer or approver threw.
    /// `aliases`: as in `evaluate`.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn authorize(
        &self,
        action: String,
        aliases: Option<u32>,
        traceparent: Option<String>,
    ) -> Reply<()> {
        let authorizing = self.authorize_inner(&action, aliases.unwrap_or(0));
        Reply(with_traceparent(traceparent.as_deref(), authorizing).await)
    }

    async fn authorize_inner(&self, action: &str, aliases: u32) -> Result<(), Failure> {
        let action = parse_action(action, aliases)?;
        let gateway = self.gateway()?;
        match gateway.authorize(action).await {
            Ok(_) => Ok(()),
            Err(e) => Err(guard_error(&e)),
        }
    }

    /// Records a human decision for a pending action: `{ approved, by, channel?, reason? }`.
    #[napi(ts_return_type = "Promise<ActionStatus>")]
    pub async fn resolve(&self, action_id: String, resolution: Value) -> Reply<ActionStatus> {
        Reply(
            async {
                let id = parse_id(&action_id)?;
                let resolution = parse_resolution(&resolution)?;
                let record = self
                    .gateway()?
                    .resolve(id, resolution)
                    .await
                    .map_err(|e| resolve_error(&e))?;
                Ok(record.into())
            }
            .await,
        )
    }

    /// Marks a pending action as being discussed (voice Q&A, `QNA_MODE`) or back to waiting
    /// (`BLOCKED_AWAITING_AUTH`): `{ on, by, channel? }`.
    #[napi(ts_return_type = "Promise<ActionStatus>")]
    pub async fn set_qna_mode(&self, action_id: String, request: Value) -> Reply<ActionStatus> {
        Reply(
            async {
                let id = parse_id(&action_id)?;
                let (on, by, channel) = parse_qna(&request)?;
                let record = self
                    .gateway()?
                    .set_qna_mode(id, on, &by, &channel)
                    .await
                    .map_err(|e| resolve_error(&e))?;
                Ok(record.into())
            }
            .await,
        )
    }

    /// Where an action stands.
    #[napi(ts_return_type = "Promise<ActionStatus>")]
    pub async fn status(&self, action_id: String) -> Reply<ActionStatus> {
        Reply(
            async {
                let id = parse_id(&action_id)?;
                let record = self
                    .gateway()?
                    .status(id)
                    .await
                    .map_err(|e| store_error(&e))?;
                Ok(record.into())
            }
            .await,
        )
    }

    /// Answers a human's question about a recorded action, through the scorer.
    #[napi(ts_return_type = "Promise<string>")]
    pub async fn explain(&self, action_id: String, question: String) -> Reply<String> {
        Reply(
            async {
                let id = parse_id(&action_id)?;
                self.gateway()?
                    .explain(id, &question)
                    .await
                    .map_err(|e| store_error(&e))
            }
            .await,
        )
    }

    /// The names of the packs this gateway enforces.
    #[napi(getter)]
    pub fn pack_names(&self) -> Vec<String> {
        self.preview
            .packs()
            .iter()
            .map(|p| p.name().to_owned())
            .collect()
    }

    /// The scorer's name.
    #[napi(getter)]
    pub fn scorer_name(&self) -> String {
        self.preview.scorer_name().to_owned()
    }

    /// The approver's name, when one is configured.
    #[napi(getter)]
    pub fn approver_name(&self) -> Option<String> {
        self.preview.approver_name().map(str::to_owned)
    }

    /// The escalation timeout in milliseconds.
    #[napi(getter)]
    pub fn escalation_timeout_ms(&self) -> f64 {
        self.preview.escalation_timeout().as_secs_f64() * 1000.0
    }
}

/// The JS scorer and approver of a gateway, when given.
struct Custom {
    scorer: Option<Arc<dyn sentinel_core::RiskScorer>>,
    approver: Option<Arc<dyn sentinel_core::Approver>>,
}

impl Custom {
    fn new(
        names: Option<CustomNames>,
        assess: Option<AssessFn>,
        explain: Option<ExplainFn>,
        request: Option<RequestFn>,
    ) -> Self {
        let names = names.unwrap_or_default();
        let name = |n: Option<String>| n.unwrap_or_else(|| "js".to_owned());
        Self {
            scorer: assess.map(|assess| {
                Arc::new(JsScorer::new(name(names.scorer), assess, explain))
                    as Arc<dyn sentinel_core::RiskScorer>
            }),
            approver: request.map(|request| {
                Arc::new(JsApprover::new(name(names.approver), request))
                    as Arc<dyn sentinel_core::Approver>
            }),
        }
    }
}

/// Polls a future once; `None` when it is not ready.
fn poll_once<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}
