//! Traces over OTLP/HTTP, received by a fake collector on 127.0.0.1 that decodes each
//! request with the official protobuf types (`opentelemetry-proto`): span names, parents
//! and attributes for an auto-approved, a declined and an escalated-then-approved action,
//! an LLM scorer's `chat` span, and a caller's `traceparent`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use sentinel_core::spec::Env;
use sentinel_core::{
    Action, Assessment, CallbackApprover, Gateway, GatewaySpec, GuardError, Resolution, RiskScorer,
    ScoreContext, ScorerError, State as ActionState, Unmatched, telemetry,
};
use serde_json::json;

#[cfg(feature = "groq")]
mod fake_llm;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

#[derive(Default, Clone)]
struct Received {
    spans: Arc<Mutex<Vec<Span>>>,
    services: Arc<Mutex<Vec<String>>>,
}

async fn traces(State(got): State<Received>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP trace export");
    for rs in request.resource_spans {
        let service = rs
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| text(kv.value.as_ref()?.value.as_ref()?));
        if let Some(service) = service {
            got.services.lock().unwrap().push(service);
        }
        for ss in rs.scope_spans {
            got.spans.lock().unwrap().extend(ss.spans);
        }
    }
    ExportTraceServiceResponse::default().encode_to_vec()
}

async fn collector() -> (String, Received) {
    let got = Received::default();
    let app = axum::Router::new()
        .route("/v1/traces", post(traces))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

fn text(v: &Any) -> Option<String> {
    match v {
        Any::StringValue(s) => Some(s.clone()),
        Any::IntValue(n) => Some(n.to_string()),
        Any::ArrayValue(a) => Some(
            a.values
                .iter()
                .filter_map(|v| text(v.value.as_ref()?))
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    }
}

fn attrs(span: &Span) -> HashMap<String, String> {
    span.attributes
        .iter()
        .filter_map(|kv| Some((kv.key.clone(), text(kv.value.as_ref()?.value.as_ref()?)?)))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The root span of the action with this id, and its children.
fn action<'a>(spans: &'a [Span], id: &str) -> (&'a Span, Vec<&'a Span>) {
    let root = spans
        .iter()
        .find(|s| attrs(s).get("gen_ai.tool.call.id").map(String::as_str) == Some(id))
        .unwrap_or_else(|| panic!("no span for action {id}"));
    let children = spans
        .iter()
        .filter(|s| s.parent_span_id == root.span_id && s.trace_id == root.trace_id)
        .collect();
    (root, children)
}

fn names(children: &[&Span]) -> Vec<String> {
    let mut names: Vec<_> = children.iter().map(|s| s.name.clone()).collect();
    names.sort();
    names
}

/// An LLM-like scorer: it names a model, so its call gets a `chat {model}` span.
struct Llm;

#[async_trait]
impl RiskScorer for Llm {
    fn name(&self) -> &str {
        "fake-llm"
    }

    fn model(&self) -> Option<&str> {
        Some("llama-test")
    }

    async fn assess(&self, _: &Action, _: &ScoreContext) -> Result<Assessment, ScorerError> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Assessment::new(20, "looks fine")
    }
}

async fn spans_until(got: &Received, enough: impl Fn(&[Span]) -> bool) -> Vec<Span> {
    for _ in 0..100 {
        telemetry::flush();
        let spans = got.spans.lock().unwrap().clone();
        if enough(&spans) {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the collector did not receive the spans");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_are_traced_to_an_otlp_collector() {
    let (url, got) = collector().await;
    assert!(!telemetry::enabled());
    // Configured the way every host is: a spec's [telemetry] section.
    let spec = GatewaySpec::from_toml_str(&format!(
        "[telemetry]\notlp_endpoint = \"{url}\"\nservice_name = \"sentinel-test\"\n"
    ))
    .unwrap();
    spec.components(&Env::from_map(HashMap::new())).unwrap();
    assert!(telemetry::enabled());

    let approver = CallbackApprover::new("scripted", |req| async move {
        // A human decides a little later, from another task (no trace context there).
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            req.handle
                .set_qna_mode(true, "alice", "voice")
                .await
                .unwrap();
            req.handle.explain("who is Unknown Corp?").await.unwrap();
            req.handle
                .set_qna_mode(false, "alice", "voice")
                .await
                .unwrap();
            let ok = Resolution::approve("alice", "web").with_reason("vendor verified");
            req.handle.resolve(ok).await.unwrap();
        });
        Ok(())
    });
    let gateway = Gateway::builder().approver(approver).build().unwrap();

    // Auto-approved, inside the caller's trace.
    let small = Action::new("billing-bot", "PAY_INVOICE")
        .with_payload(json!({"amount": 120, "vendor": "AWS"}))
        .with_reasoning("monthly hosting bill from the secret ledger");
    let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-01");
    let permit = telemetry::with_traceparent(Some(&traceparent), gateway.authorize(small))
        .await
        .unwrap();
    let paid = permit.action_id.to_string();

    // Declined by a rule.
    let drop = Action::new("ops-bot", "DROP_TABLE").with_payload(json!({"table": "users"}));
    let Err(GuardError::Denied(declined)) = gateway.authorize(drop).await else {
        panic!("DROP_TABLE must be declined");
    };
    let dropped = declined.action_id.to_string();

    // Escalated, then approved by a human.
    let big = Action::new("session_1", "PAY_INVOICE")
        .with_payload(json!({"amount": 10000, "vendor": "Unknown Corp"}));
    let permit = gateway.authorize(big).await.unwrap();
    assert_eq!(permit.record.state, ActionState::Approved);
    let approved = permit.action_id.to_string();

    // An LLM scorer's call (evaluate: decided, nothing recorded).
    let scored = Gateway::builder()
        .scorer(Llm)
        .unmatched(Unmatched::Score)
        .build()
        .unwrap();
    let tool = Action::new("crm-bot", "SEND_EMAIL").with_payload(json!({"to": "x@example.com"}));
    let evaluated = scored.evaluate(&tool).await.action_id.to_string();

    // The Groq scorer's call, with the token usage its reply reports.
    #[cfg(feature = "groq")]
    let groq_evaluated = {
        let llm = fake_llm::FakeLlm::start(vec![fake_llm::Reply::score(json!(30), "fine")]).await;
        let groq = sentinel_core::GroqScorer::builder()
            .api_key(fake_llm::KEY)
            .base_url(&llm.base_url)
            .model("llama-fake-70b")
            .build()
            .unwrap();
        let g = Gateway::builder()
            .scorer(groq)
            .unmatched(Unmatched::Score)
            .build()
            .unwrap();
        let tool = Action::new("crm-bot", "SEND_SMS").with_payload(json!({"to": "+15550100"}));
        g.evaluate(&tool).await.action_id.to_string()
    };

    let spans = spans_until(&got, |spans| {
        [&paid, &dropped, &approved, &evaluated].iter().all(|id| {
            spans
                .iter()
                .any(|s| attrs(s).get("gen_ai.tool.call.id") == Some(id))
        }) && spans.iter().any(|s| s.name == "approval decision")
            && spans.iter().any(|s| s.name.starts_with("chat "))
    })
    .await;

    // The auto-approved action: a child of the caller's span, with the store's writes.
    let (root, children) = action(&spans, &paid);
    assert_eq!(root.name, "execute_tool PAY_INVOICE");
    assert_eq!(hex(&root.trace_id), TRACE_ID);
    assert_eq!(hex(&root.parent_span_id), PARENT_ID);
    let a = attrs(root);
    assert_eq!(a["gen_ai.operation.name"], "execute_tool");
    assert_eq!(a["gen_ai.tool.name"], "PAY_INVOICE");
    assert_eq!(a["sentinel.agent_id"], "billing-bot");
    assert_eq!(a["sentinel.mode"], "guard");
    assert_eq!(a["sentinel.status"], "EXECUTED");
    assert_eq!(a["sentinel.final_status"], "EXECUTED");
    assert_eq!(a["sentinel.risk_score"], "10");
    assert_eq!(a["sentinel.scorer.outcome"], "skipped");
    assert!(a["sentinel.packs"].starts_with("VaultKeeper@"), "{a:?}");
    assert!(a["sentinel.rules"].contains("VaultKeeper/"), "{a:?}");
    let store: Vec<_> = names(&children)
        .into_iter()
        .filter(|n| n.starts_with("store "))
        .collect();
    // One write: the action, its decision and the claim of its execution.
    assert_eq!(store, ["store create_decided"], "{store:?}");
    let write = children
        .iter()
        .find(|s| s.name == "store create_decided")
        .unwrap();
    assert_eq!(attrs(write)["db.operation.name"], "create_decided");
    assert_eq!(attrs(write)["sentinel.state.to"], "EXECUTED");

    // The declined one: its own trace, the rule that declined, not an error.
    let (root, _) = action(&spans, &dropped);
    assert_eq!(root.name, "execute_tool DROP_TABLE");
    assert!(root.parent_span_id.is_empty());
    let a = attrs(root);
    assert_eq!(a["sentinel.status"], "DECLINED");
    assert_eq!(a["sentinel.final_status"], "DECLINED");
    assert_eq!(a["sentinel.rules"], "OpsGuard/drop-table-forbidden");
    assert_eq!(a["sentinel.scorer.skipped_reason"], "deny");
    assert_ne!(
        root.status.as_ref().map_or(0, |s| s.code),
        2,
        "declined is not an error"
    );

    // Escalated then approved: the request to the approver and the human's decision,
    // taken in another task, are children of the action's span.
    let (root, children) = action(&spans, &approved);
    let a = attrs(root);
    assert_eq!(a["sentinel.status"], "BLOCKED_AWAITING_AUTH");
    assert_eq!(a["sentinel.final_status"], "APPROVED");
    assert_eq!(a["sentinel.decided_by"], "alice");
    assert_eq!(a["sentinel.approver.channel"], "web");
    let child_names = names(&children);
    for step in [
        "approval request scripted",
        "approval qna",
        "approval qna_end",
        "approval question",
    ] {
        assert!(
            child_names.contains(&step.to_owned()),
            "{step}: {child_names:?}"
        );
    }
    let decision = children
        .iter()
        .find(|s| s.name == "approval decision")
        .unwrap_or_else(|| panic!("no approval decision under the action: {child_names:?}"));
    let d = attrs(decision);
    assert_eq!(d["sentinel.status"], "APPROVED");
    assert_eq!(d["sentinel.decided_by"], "alice");
    // The decision's store write is the decision step's child.
    assert!(spans.iter().any(|s| s.parent_span_id == decision.span_id
        && s.name == "store transition"
        && attrs(s)["sentinel.state.to"] == "APPROVED"));

    // The LLM call: `chat {model}` under the evaluation's span.
    let (root, children) = action(&spans, &evaluated);
    assert_eq!(root.name, "execute_tool SEND_EMAIL");
    assert_eq!(attrs(root)["sentinel.mode"], "evaluate");
    assert_eq!(attrs(root)["sentinel.scorer.outcome"], "assessed");
    let chat = children
        .iter()
        .find(|s| s.name == "chat llama-test")
        .unwrap_or_else(|| panic!("no chat span: {:?}", names(&children)));
    let c = attrs(chat);
    assert_eq!(c["gen_ai.operation.name"], "chat");
    assert_eq!(c["gen_ai.request.model"], "llama-test");
    assert_eq!(c["gen_ai.provider.name"], "fake-llm");
    assert!(chat.end_time_unix_nano - chat.start_time_unix_nano >= 5_000_000);

    #[cfg(feature = "groq")]
    {
        let spans = spans_until(&got, |spans| {
            spans.iter().any(|s| s.name == "chat llama-fake-70b")
                && spans
                    .iter()
                    .any(|s| attrs(s).get("gen_ai.tool.call.id") == Some(&groq_evaluated))
        })
        .await;
        let (_, children) = action(&spans, &groq_evaluated);
        let chat = children
            .iter()
            .find(|s| s.name == "chat llama-fake-70b")
            .unwrap_or_else(|| panic!("no chat span: {:?}", names(&children)));
        let c = attrs(chat);
        assert_eq!(c["gen_ai.provider.name"], "groq");
        assert_eq!(c["gen_ai.request.model"], "llama-fake-70b");
        assert_eq!(c["gen_ai.usage.input_tokens"], "321");
        assert_eq!(c["gen_ai.usage.output_tokens"], "17");
    }

    // Never a payload value or the reasoning in any attribute.
    for span in &spans {
        for (k, v) in attrs(span) {
            for secret in [
                "Unknown Corp",
                "secret ledger",
                "x@example.com",
                "users",
                "who is",
            ] {
                assert!(
                    !v.contains(secret),
                    "`{k}` of `{}` holds `{secret}`",
                    span.name
                );
            }
        }
    }
    assert!(
        got.services
            .lock()
            .unwrap()
            .iter()
            .all(|s| s == "sentinel-test")
    );
}
