//! `NativeGateway`: the core [`Gateway`] as a JS class.
//!
//! Async methods run on napi's tokio runtime, off the JS thread; `evaluateSync` is the one
//! synchronous exception, for hot paths with the built-in scorer (whose evaluation never
//! waits on anything, so it completes in one poll).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use napi_derive::napi;
use sentinel_core::groq::GroqScorer;
use sentinel_core::{
    Approver, Gateway, GatewayBuilder, GuardError, OnScorerError, Pack, RiskScorer,
    TelnyxVoiceApprover, Unmatched,
};

use crate::approver::{ApprovalCall, JsApprover};
use napi::Status;
use napi::bindgen_prelude::Promise;
use napi::threadsafe_function::ThreadsafeFunction;

use crate::callback::{CallbackReply, with_cause};
use crate::codec::encode;
use crate::convert::{ResolutionInput, parse_action, parse_id};
use crate::decision::{ActionStatus, Decision};
use crate::errors::{
    GuardOutcome, build_error, config_error, failure, input_error, resolve_error, store_error,
};
use crate::groq::GroqOptions;
use crate::scorer::{AssessCall, ExplainCall, JsScorer};
use crate::store::StoreSpec;
use crate::telnyx::TelnyxOptions;

/// Where a pack comes from: exactly one field is set.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct PackSource {
    /// A built-in pack: `VaultKeeper`, `PrivacyShield` or `OpsGuard`.
    pub builtin: Option<String>,
    /// A pack file (JSON).
    pub path: Option<String>,
    /// A pack document as JSON text.
    pub json: Option<String>,
}

/// Plain settings of a gateway (callbacks are passed separately).
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct NativeOptions {
    /// The packs to enforce; default: the three seed packs.
    pub packs: Option<Vec<PackSource>>,
    /// How long an escalated action waits for a human, in milliseconds; default 180000.
    pub escalation_timeout_ms: Option<f64>,
    /// Actions no pack covers: `escalate` (default), `deny` or `score`.
    pub unmatched: Option<String>,
    /// When the scorer fails: `escalate` (default) or `deny`.
    pub on_scorer_error: Option<String>,
    /// The JS scorer's name (with `assess`).
    pub scorer_name: Option<String>,
    /// The JS approver's name (with `request`).
    pub approver_name: Option<String>,
    /// The Groq (OpenAI-compatible) LLM scorer instead of the built-in one; `{}` reads
    /// everything from the environment.
    pub groq: Option<GroqOptions>,
    /// The Telnyx voice approver; `{}` reads everything from the environment.
    pub telnyx: Option<TelnyxOptions>,
    /// A durable store: `sqlite://file`, a SQLite file path, or `postgres://...`; default
    /// in memory. Opened by `open()`.
    pub store: Option<String>,
    /// With a PostgreSQL `store`: keep the tables in this schema (created if missing).
    pub store_schema: Option<String>,
}

/// What a core gateway is built from, kept to build it again on the durable store.
pub struct Parts {
    packs: Vec<Pack>,
    scorer: Option<Arc<dyn RiskScorer>>,
    approver: Option<Arc<dyn Approver>>,
    escalation_timeout: Option<Duration>,
    unmatched: Unmatched,
    on_scorer_error: OnScorerError,
}

impl Parts {
    /// A core builder with these settings and the in-memory store.
    pub fn builder(&self) -> GatewayBuilder {
        let mut b = Gateway::builder()
            .packs(self.packs.iter().cloned())
            .unmatched(self.unmatched)
            .on_scorer_error(self.on_scorer_error);
        if let Some(timeout) = self.escalation_timeout {
            b = b.escalation_timeout(timeout);
        }
        if let Some(scorer) = &self.scorer {
            b = b.scorer_arc(Arc::clone(scorer));
        }
        if let Some(approver) = &self.approver {
            b = b.approver_arc(Arc::clone(approver));
        }
        b
    }
}

/// The safety gateway. Construct it through the `Gateway` class of `sentinel-guard`.
///
/// With a durable `store`, the gateway that records actions is built by `open()`; until
/// then an in-memory twin with the same settings answers the getters and `evaluate`
/// (which records nothing), and the other methods refuse.
#[napi]
pub struct NativeGateway {
    preview: Gateway,
    /// The gateway on the durable store, once `open()` built it.
    pub(crate) durable: tokio::sync::OnceCell<Gateway>,
    /// The settings, for `open()`.
    pub(crate) parts: Parts,
    /// The durable store, when one is configured.
    pub(crate) store: Option<StoreSpec>,
    sync_ok: bool,
    /// The Groq scorer, when configured (for its counters).
    pub(crate) groq: Option<Arc<GroqScorer>>,
    /// The Telnyx approver, when configured (for its webhooks).
    pub(crate) telnyx: Option<TelnyxVoiceApprover>,
}

#[napi]
impl NativeGateway {
    /// Builds a gateway. `assess`/`explain` make a JS risk scorer, `request` a JS approver;
    /// each is a wrapped callback that resolves to a `CallbackReply`.
    #[napi(constructor)]
    pub fn new(
        options: Option<NativeOptions>,
        // Spelled out (not `JsCallback<_>`) so that the generated `.d.ts` names JS types.
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
        let options = options.unwrap_or_default();
        let store = StoreSpec::parse(options.store.as_deref(), options.store_schema.clone())?;
        let packs = match &options.packs {
            Some(sources) => load_packs(sources)?,
            None => Pack::seed_packs().map_err(|e| failure(e.to_string()))?,
        };
        let escalation_timeout = match options.escalation_timeout_ms {
            Some(ms) if !ms.is_finite() || ms <= 0.0 => {
                return Err(input_error(format!(
                    "option `escalationTimeoutMs` must be a positive number, found `{ms}`"
                )));
            }
            Some(ms) => Some(Duration::from_secs_f64(ms / 1000.0)),
            None => None,
        };
        let unmatched = match options.unmatched.as_deref() {
            None | Some("escalate") => Unmatched::Escalate,
            Some("deny") => Unmatched::Deny,
            Some("score") => Unmatched::Score,
            Some(other) => {
                return Err(input_error(format!(
                    "option `unmatched` must be `escalate`, `deny` or `score`, found `{other}`"
                )));
            }
        };
        let on_scorer_error = match options.on_scorer_error.as_deref() {
            None | Some("escalate") => OnScorerError::Escalate,
            Some("deny") => OnScorerError::Deny,
            Some(other) => {
                return Err(input_error(format!(
                    "option `onScorerError` must be `escalate` or `deny`, found `{other}`"
                )));
            }
        };
        let groq = options.groq.as_ref().map(crate::groq::build).transpose()?;
        let scorer: Option<Arc<dyn RiskScorer>> = match (assess, &groq) {
            (Some(_), Some(_)) => {
                return Err(config_error(
                    "scorer",
                    "give either a scorer object or `groq`, not both",
                ));
            }
            (Some(assess), None) => {
                let name = options
                    .scorer_name
                    .clone()
                    .unwrap_or_else(|| "js".to_owned());
                Some(Arc::new(JsScorer::new(name, assess, explain)))
            }
            (None, Some(groq)) => Some(Arc::clone(groq) as Arc<dyn RiskScorer>),
            (None, None) => None,
        };
        let sync_ok = scorer.is_none();
        let telnyx = options
            .telnyx
            .as_ref()
            .map(|t| crate::telnyx::build(t, &packs))
            .transpose()?;
        let approver: Option<Arc<dyn Approver>> = match (request, &telnyx) {
            (Some(_), Some(_)) => {
                return Err(config_error(
                    "approver",
                    "give either an approver object or `telnyx`, not both",
                ));
            }
            (Some(request), None) => {
                let name = options
                    .approver_name
                    .clone()
                    .unwrap_or_else(|| "js".to_owned());
                Some(Arc::new(JsApprover::new(name, request)))
            }
            (None, Some(telnyx)) => Some(Arc::new(telnyx.clone())),
            (None, None) => None,
        };
        let parts = Parts {
            packs,
            scorer,
            approver,
            escalation_timeout,
            unmatched,
            on_scorer_error,
        };
        let preview = parts.builder().build().map_err(build_error)?;
        Ok(Self {
            preview,
            durable: tokio::sync::OnceCell::new(),
            parts,
            store,
            sync_ok,
            groq,
            telnyx,
        })
    }

    /// The gateway that records actions: the durable one once opened.
    pub(crate) fn gateway(&self) -> napi::Result<&Gateway> {
        match (&self.store, self.durable.get()) {
            (None, _) => Ok(&self.preview),
            (Some(_), Some(durable)) => Ok(durable),
            (Some(_), None) => Err(failure(
                "the gateway's store is not open yet: `await gateway.ready()` first",
            )),
        }
    }

    /// The gateway that decides without recording: either one.
    fn deciding(&self) -> &Gateway {
        self.durable.get().unwrap_or(&self.preview)
    }

    /// Decides about a wire-form action (JSON text) without recording or running anything.
    /// `aliases`: the camelCase keys to read as snake_case (see `convert::parse_action`).
    #[napi]
    /// Resolves to the decision in the compact encoding of `codec.rs`.
    pub async fn evaluate(&self, action: String, aliases: Option<u32>) -> napi::Result<String> {
        let action = parse_action(&action, aliases.unwrap_or(0))?;
        let (decision, cause_id) = with_cause(self.deciding().evaluate(&action)).await;
        Ok(encode(&decision, cause_id))
    }

    /// `evaluate` on the calling thread. Only with the built-in scorer, whose evaluation
    /// never waits: it takes a few microseconds and saves the thread hop of an async call.
    #[napi]
    /// Returns the decision in the compact encoding of `codec.rs`.
    pub fn evaluate_sync(&self, action: String, aliases: Option<u32>) -> napi::Result<String> {
        if !self.sync_ok {
            return Err(failure(
                "`evaluateSync` needs the built-in scorer; use `evaluate` with a custom scorer",
            ));
        }
        let action = parse_action(&action, aliases.unwrap_or(0))?;
        match poll_once(self.deciding().evaluate(&action)) {
            Some(decision) => Ok(encode(&decision, None)),
            None => Err(failure(
                "evaluation did not complete synchronously; use `evaluate`",
            )),
        }
    }

    /// Submits a wire-form action and waits for permission to run the guarded function:
    /// auto-approved, or approved by a human within the escalation timeout. Claims the
    /// single execution; the caller then runs the function. `aliases`: as in `evaluate`.
    #[napi]
    pub async fn authorize(
        &self,
        action: String,
        aliases: Option<u32>,
    ) -> napi::Result<GuardOutcome> {
        let action = parse_action(&action, aliases.unwrap_or(0))?;
        let gateway = self.gateway()?;
        let (result, cause_id) = with_cause(gateway.authorize(action)).await;
        Ok(match result {
            Ok(permit) => GuardOutcome {
                action_id: permit.action_id.to_string(),
                error: None,
                message: None,
                decision: permit.record.decision.map(Decision::from),
                state: Some(permit.record.state.as_str().to_owned()),
                cause_id,
            },
            Err(e) => {
                let id = match &e {
                    GuardError::Expired { action_id, .. }
                    | GuardError::ApproverFailed { action_id, .. }
                    | GuardError::AlreadyExecuted { action_id, .. } => Some(*action_id),
                    _ => None,
                };
                let mut outcome = GuardOutcome::refused(e, cause_id);
                if let Some(id) = id {
                    outcome.decision = gateway
                        .status(id)
                        .await
                        .ok()
                        .and_then(|r| r.decision)
                        .map(Decision::from);
                }
                outcome
            }
        })
    }

    /// Records a human decision for a pending action.
    #[napi]
    pub async fn resolve(
        &self,
        action_id: String,
        resolution: ResolutionInput,
    ) -> napi::Result<ActionStatus> {
        let id = parse_id(&action_id)?;
        let record = self
            .gateway()?
            .resolve(id, resolution.into())
            .await
            .map_err(resolve_error)?;
        Ok(record.into())
    }

    /// Where an action stands.
    #[napi]
    pub async fn status(&self, action_id: String) -> napi::Result<ActionStatus> {
        let id = parse_id(&action_id)?;
        let record = self.gateway()?.status(id).await.map_err(store_error)?;
        Ok(record.into())
    }

    /// Answers a human's question about a recorded action, through the scorer.
    #[napi]
    pub async fn explain(&self, action_id: String, question: String) -> napi::Result<String> {
        let id = parse_id(&action_id)?;
        self.gateway()?
            .explain(id, &question)
            .await
            .map_err(store_error)
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

fn load_packs(sources: &[PackSource]) -> napi::Result<Vec<Pack>> {
    sources
        .iter()
        .map(|s| {
            let loaded = match (&s.builtin, &s.path, &s.json) {
                (Some(name), None, None) => Pack::builtin(name),
                (None, Some(path), None) => Pack::from_file(path),
                (None, None, Some(json)) => Pack::from_json_str(json),
                _ => {
                    return Err(input_error(
                        "a pack source needs exactly one of `builtin`, `path` or `json`",
                    ));
                }
            };
            loaded.map_err(|e| failure(e.to_string()))
        })
        .collect()
}

/// Polls a future once; `None` when it is not ready.
fn poll_once<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}
