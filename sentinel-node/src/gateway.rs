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
use sentinel_core::{Gateway, GuardError, OnScorerError, Pack, Unmatched};

use crate::approver::{ApprovalCall, JsApprover};
use napi::Status;
use napi::bindgen_prelude::Promise;
use napi::threadsafe_function::ThreadsafeFunction;

use crate::callback::{CallbackReply, with_cause};
use crate::codec::encode;
use crate::convert::{ResolutionInput, parse_action, parse_id};
use crate::decision::{ActionStatus, Decision};
use crate::errors::{GuardOutcome, build_error, failure, input_error, resolve_error, store_error};
use crate::scorer::{AssessCall, ExplainCall, JsScorer};

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
}

/// The safety gateway. Construct it through the `Gateway` class of `sentinel-guard`.
#[napi]
pub struct NativeGateway {
    inner: Gateway,
    sync_ok: bool,
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
        let mut builder = Gateway::builder();
        if let Some(sources) = &options.packs {
            builder = builder.packs(load_packs(sources)?);
        }
        if let Some(ms) = options.escalation_timeout_ms {
            if !ms.is_finite() || ms <= 0.0 {
                return Err(input_error(format!(
                    "option `escalationTimeoutMs` must be a positive number, found `{ms}`"
                )));
            }
            builder = builder.escalation_timeout(Duration::from_secs_f64(ms / 1000.0));
        }
        builder = match options.unmatched.as_deref() {
            None | Some("escalate") => builder.unmatched(Unmatched::Escalate),
            Some("deny") => builder.unmatched(Unmatched::Deny),
            Some("score") => builder.unmatched(Unmatched::Score),
            Some(other) => {
                return Err(input_error(format!(
                    "option `unmatched` must be `escalate`, `deny` or `score`, found `{other}`"
                )));
            }
        };
        builder = match options.on_scorer_error.as_deref() {
            None | Some("escalate") => builder.on_scorer_error(OnScorerError::Escalate),
            Some("deny") => builder.on_scorer_error(OnScorerError::Deny),
            Some(other) => {
                return Err(input_error(format!(
                    "option `onScorerError` must be `escalate` or `deny`, found `{other}`"
                )));
            }
        };
        let sync_ok = assess.is_none();
        if let Some(assess) = assess {
            let name = options
                .scorer_name
                .clone()
                .unwrap_or_else(|| "js".to_owned());
            builder = builder.scorer_arc(Arc::new(JsScorer::new(name, assess, explain)));
        }
        if let Some(request) = request {
            let name = options
                .approver_name
                .clone()
                .unwrap_or_else(|| "js".to_owned());
            builder = builder.approver_arc(Arc::new(JsApprover::new(name, request)));
        }
        let inner = builder.build().map_err(build_error)?;
        Ok(Self { inner, sync_ok })
    }

    /// Decides about a wire-form action (JSON text) without recording or running anything.
    #[napi]
    /// Resolves to the decision in the compact encoding of `codec.rs`.
    pub async fn evaluate(&self, action: String) -> napi::Result<String> {
        let action = parse_action(&action)?;
        let (decision, cause_id) = with_cause(self.inner.evaluate(&action)).await;
        Ok(encode(&decision, cause_id))
    }

    /// `evaluate` on the calling thread. Only with the built-in scorer, whose evaluation
    /// never waits: it takes a few microseconds and saves the thread hop of an async call.
    #[napi]
    /// Returns the decision in the compact encoding of `codec.rs`.
    pub fn evaluate_sync(&self, action: String) -> napi::Result<String> {
        if !self.sync_ok {
            return Err(failure(
                "`evaluateSync` needs the built-in scorer; use `evaluate` with a custom scorer",
            ));
        }
        let action = parse_action(&action)?;
        match poll_once(self.inner.evaluate(&action)) {
            Some(decision) => Ok(encode(&decision, None)),
            None => Err(failure(
                "evaluation did not complete synchronously; use `evaluate`",
            )),
        }
    }

    /// Submits a wire-form action and waits for permission to run the guarded function:
    /// auto-approved, or approved by a human within the escalation timeout. Claims the
    /// single execution; the caller then runs the function.
    #[napi]
    pub async fn authorize(&self, action: String) -> napi::Result<GuardOutcome> {
        let action = parse_action(&action)?;
        let (result, cause_id) = with_cause(self.inner.authorize(action)).await;
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
                    GuardError::Expired { action_id }
                    | GuardError::ApproverFailed { action_id, .. }
                    | GuardError::AlreadyExecuted { action_id } => Some(*action_id),
                    _ => None,
                };
                let mut outcome = GuardOutcome::refused(e, cause_id);
                if let Some(id) = id {
                    outcome.decision = self
                        .inner
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
            .inner
            .resolve(id, resolution.into())
            .await
            .map_err(resolve_error)?;
        Ok(record.into())
    }

    /// Where an action stands.
    #[napi]
    pub async fn status(&self, action_id: String) -> napi::Result<ActionStatus> {
        let id = parse_id(&action_id)?;
        let record = self.inner.status(id).await.map_err(store_error)?;
        Ok(record.into())
    }

    /// Answers a human's question about a recorded action, through the scorer.
    #[napi]
    pub async fn explain(&self, action_id: String, question: String) -> napi::Result<String> {
        let id = parse_id(&action_id)?;
        self.inner.explain(id, &question).await.map_err(store_error)
    }

    /// The names of the packs this gateway enforces.
    #[napi(getter)]
    pub fn pack_names(&self) -> Vec<String> {
        self.inner
            .packs()
            .iter()
            .map(|p| p.name().to_owned())
            .collect()
    }

    /// The scorer's name.
    #[napi(getter)]
    pub fn scorer_name(&self) -> String {
        self.inner.scorer_name().to_owned()
    }

    /// The approver's name, when one is configured.
    #[napi(getter)]
    pub fn approver_name(&self) -> Option<String> {
        self.inner.approver_name().map(str::to_owned)
    }

    /// The escalation timeout in milliseconds.
    #[napi(getter)]
    pub fn escalation_timeout_ms(&self) -> f64 {
        self.inner.escalation_timeout().as_secs_f64() * 1000.0
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
