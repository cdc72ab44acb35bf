//! Per-call overhead of the Groq scorer's client against a loopback fake OpenAI-compatible
//! server, next to a raw reqwest POST of the same body to the same server (the ratio is
//! what the scorer adds: redaction, prompt, JSON, retries bookkeeping, parsing). Also counts
//! the LLM calls the rules avoid on the shared corpus `fixtures/decisions.jsonl`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use sentinel_core::corpus::Case;
use sentinel_core::groq::{GroqScorer, ScorerTally};
use sentinel_core::{Action, Gateway, RiskScorer, ScoreContext};
use serde_json::json;

const KEY: &str = "gsk_bench_key_0123456789abcdefghij";

fn reply() -> String {
    let content =
        json!({"risk_score": 42, "analysis": "Pays an unknown vendor; confirm the invoice."})
            .to_string();
    json!({"id": "c", "object": "chat.completion",
           "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]})
    .to_string()
}

/// The last request body the fake server received.
type LastBody = Arc<Mutex<Bytes>>;

/// Starts the fake server on its own one-thread runtime; returns the base URL.
fn start_server() -> (tokio::runtime::Runtime, String, LastBody) {
    let last = LastBody::default();
    let seen = last.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let body = reply();
    let url = rt.block_on(async move {
        let app = Router::new().route(
            "/v1/chat/completions",
            post(move |request: Bytes| {
                let body = body.clone();
                *seen.lock().unwrap() = request;
                async move { ([("content-type", "application/json")], body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/v1")
    });
    (rt, url, last)
}

fn action() -> Action {
    Action::new("session_x", "PAY_INVOICE")
        .with_payload(
            json!({"amount": 4999, "vendor": "Unknown Corp", "contact": "ap@unknown.example",
                             "note": "wire today, ref 123-45-6789"}),
        )
        .with_reasoning("Vendor says the invoice is overdue; please pay before 5pm.")
}

fn context() -> ScoreContext {
    let mut ctx = ScoreContext::default();
    ctx.default_risk = Some(60);
    ctx.default_reason =
        Some("Payment of 4999 to Unknown Corp matches no known-safe pattern.".into());
    ctx
}

/// How many of the corpus's valid actions the rules decide without the scorer.
fn corpus_calls_avoided(rt: &tokio::runtime::Runtime) -> ScorerTally {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/decisions.jsonl"
    ))
    .unwrap();
    let gateway = Gateway::builder().build().unwrap();
    let mut tally = ScorerTally::default();
    for case in Case::parse_all(&text).unwrap() {
        if let Ok(action) = Action::from_json(case.action) {
            tally.record(&rt.block_on(gateway.evaluate(&action)));
        }
    }
    tally
}

fn groq_client(c: &mut Criterion) {
    let (_server, url, last) = start_server();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let scorer = GroqScorer::builder()
        .api_key(KEY)
        .base_url(&url)
        .build()
        .unwrap();
    let raw = reqwest::Client::new();
    let endpoint = format!("{url}/chat/completions");
    let (action, ctx) = (action(), context());
    // The raw baseline posts the very bytes the scorer sends (captured from one call).
    rt.block_on(scorer.assess(&action, &ctx)).unwrap();
    let body = last.lock().unwrap().clone();
    println!("request body: {} bytes", body.len());
    let raw_post = || async {
        let r = raw
            .post(&endpoint)
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        r.bytes().await.unwrap()
    };

    let tally = corpus_calls_avoided(&rt);
    println!(
        "corpus fixtures/decisions.jsonl: {} valid actions, rules decided {} without the scorer (LLM calls avoided), {} need the scorer",
        tally.decisions(),
        tally.skipped,
        tally.assessed + tally.failed
    );
    // A quick ratio outside criterion, so the report states it directly.
    for _ in 0..200 {
        rt.block_on(scorer.assess(&action, &ctx)).unwrap();
        rt.block_on(raw_post());
    }
    let n = 2000;
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        start.elapsed() / n
    };
    let groq = time(&|| {
        black_box(rt.block_on(scorer.assess(&action, &ctx)).unwrap());
    });
    let base = time(&|| {
        black_box(rt.block_on(raw_post()));
    });
    println!(
        "per call over loopback: GroqScorer::assess {groq:?}, raw reqwest POST {base:?}, ratio {:.2}, overhead {:?}",
        groq.as_secs_f64() / base.as_secs_f64(),
        groq.saturating_sub(base)
    );

    let mut group = c.benchmark_group("groq_client");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("assess_loopback", |b| {
        b.iter(|| {
            rt.block_on(scorer.assess(black_box(&action), &ctx))
                .unwrap()
        })
    });
    group.bench_function("baseline_raw_reqwest_post", |b| {
        b.iter(|| rt.block_on(raw_post()))
    });
    group.finish();
}

criterion_group!(benches, groq_client);
criterion_main!(benches);
