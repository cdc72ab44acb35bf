//! The cost of telemetry on `evaluate` and `guard`: with traces off (the default: no
//! endpoint), then on (spans built and handed to the batch exporter; the collector at
//! 127.0.0.1:9 refuses, so nothing waits on it), and what a scrape of the metrics costs.
//! Metrics are always counted; their cost is inside every figure.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sentinel_core::spec::{Env, TelemetrySpec};
use sentinel_core::{Action, Gateway, GatewaySpec, telemetry};
use serde_json::json;

fn actions() -> [(&'static str, Action); 2] {
    [
        (
            "pay_trusted_small",
            Action::new("billing", "PAY_INVOICE")
                .with_payload(json!({"amount": 120, "vendor": "AWS"})),
        ),
        (
            "drop_table",
            Action::new("ops", "DROP_TABLE").with_payload(json!({"table": "users"})),
        ),
    ]
}

fn run(c: &mut Criterion, label: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let gateway = Gateway::builder().build().unwrap();
    let mut group = c.benchmark_group(format!("telemetry_{label}"));
    for (name, action) in actions() {
        group.bench_function(format!("evaluate/{name}"), |b| {
            b.iter(|| rt.block_on(gateway.evaluate(black_box(&action))))
        });
    }
    let (_, small) = &actions()[0];
    group.bench_function("guard/pay_trusted_small", |b| {
        b.iter_custom(|iters| {
            let gateway = Gateway::builder().build().unwrap();
            let start = std::time::Instant::now();
            for _ in 0..iters {
                rt.block_on(gateway.guard(small.clone(), || async { black_box(42) }))
                    .unwrap();
            }
            start.elapsed()
        })
    });
    group.finish();
}

fn off(c: &mut Criterion) {
    assert!(!telemetry::enabled());
    run(c, "off");
}

fn on(c: &mut Criterion) {
    let spec: TelemetrySpec = GatewaySpec::from_toml_str(
        "[telemetry]\notlp_endpoint = \"http://127.0.0.1:9\"\n",
    )
    .unwrap()
    .telemetry;
    telemetry::init(&spec, &Env::from_map(Default::default())).unwrap();
    run(c, "on");
}

fn scrape(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let gateway = Gateway::builder().build().unwrap();
    for (_, action) in actions() {
        rt.block_on(gateway.evaluate(&action));
    }
    c.bench_function("metrics/to_prometheus", |b| {
        b.iter(|| black_box(gateway.metrics().to_prometheus()))
    });
}

criterion_group!(benches, off, on, scrape);
criterion_main!(benches);
