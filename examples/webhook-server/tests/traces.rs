//! The server's traces: `[telemetry] otlp_endpoint` turns on OTLP export, and a request's
//! W3C `traceparent` makes the action's span a child of the agent's. Received by a fake
//! collector on 127.0.0.1 decoding with the official protobuf types.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use support::*;

async fn traces(State(got): State<Arc<Mutex<Vec<Span>>>>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP trace export");
    let mut spans = got.lock().unwrap();
    for rs in request.resource_spans {
        for ss in rs.scope_spans {
            spans.extend(ss.spans);
        }
    }
    ExportTraceServiceResponse::default().encode_to_vec()
}

fn attr(span: &Span, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            Any::StringValue(s) => Some(s.clone()),
            Any::IntValue(n) => Some(n.to_string()),
            _ => None,
        }
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_joins_the_trace_its_request_names() {
    let got = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route("/v1/traces", post(traces))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let s = TestServer::start_with(move |mut c| {
        c.spec.telemetry.otlp_endpoint = Some(collector);
        c
    })
    .await;
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let parent = "b7ad6b7169203331";
    let response = s
        .http
        .post(format!("{}/api/sentinel/execute", s.base))
        .bearer_auth(BILLING)
        .header("traceparent", format!("00-{trace_id}-{parent}-01"))
        .json(&pay("billing-bot", 120, "AWS"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let id = body["action_id"].as_str().unwrap().to_owned();

    let mut root = None;
    for _ in 0..100 {
        sentinel_core::telemetry::flush();
        root = got
            .lock()
            .unwrap()
            .iter()
            .find(|s| attr(s, "gen_ai.tool.call.id").as_deref() == Some(id.as_str()))
            .cloned();
        if root.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let root = root.expect("the action's span reached the collector");
    assert_eq!(root.name, "execute_tool PAY_INVOICE");
    assert_eq!(hex(&root.trace_id), trace_id);
    assert_eq!(hex(&root.parent_span_id), parent);
    assert_eq!(attr(&root, "sentinel.mode").as_deref(), Some("submit"));
    assert_eq!(attr(&root, "sentinel.status").as_deref(), Some("EXECUTED"));
    assert_eq!(attr(&root, "sentinel.agent_id").as_deref(), Some("billing-bot"));
    let spans = got.lock().unwrap().clone();
    // The offline scorer answers at once: the action is recorded with its decision in one
    // write, a child of the action's span.
    assert!(
        spans
            .iter()
            .any(|s| s.parent_span_id == root.span_id && s.name == "store create_decided"),
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
}
