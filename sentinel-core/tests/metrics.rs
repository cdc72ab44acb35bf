//! Gateway metrics: what each kind of decision and approval counts, and the Prometheus
//! text they render to.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use sentinel_core::{Action, Gateway, GuardError, Resolution, State};
use serde_json::json;

fn pay(amount: u64, vendor: &str) -> Action {
    Action::new("session_x", "PAY_INVOICE")
        .with_payload(json!({"amount": amount, "vendor": vendor}))
}

fn drop_table() -> Action {
    Action::new("ops-bot", "DROP_TABLE").with_payload(json!({"table": "users"}))
}

fn value(g: &Gateway, name: &str, labels: &[(&str, &str)]) -> f64 {
    g.metrics()
        .snapshot()
        .value(name, labels)
        .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
}

#[tokio::test]
async fn decisions_are_counted_by_status_and_pack() {
    let g = Gateway::builder().build().unwrap();
    let snapshot = g.metrics().snapshot();
    assert_eq!(
        snapshot.value("sentinel_decisions_total", &[("status", "EXECUTED")]),
        Some(0.0)
    );

    assert_eq!(g.evaluate(&pay(120, "AWS")).await.status, State::Executed);
    assert_eq!(g.evaluate(&pay(130, "AWS")).await.status, State::Executed);
    assert_eq!(g.evaluate(&drop_table()).await.status, State::Declined);

    assert_eq!(
        value(&g, "sentinel_decisions_total", &[("status", "EXECUTED")]),
        2.0
    );
    assert_eq!(
        value(&g, "sentinel_decisions_total", &[("status", "DECLINED")]),
        1.0
    );
    assert_eq!(
        value(
            &g,
            "sentinel_decisions_total",
            &[("status", "BLOCKED_AWAITING_AUTH")]
        ),
        0.0
    );
    let vault = g
        .packs()
        .iter()
        .find(|p| p.name() == "VaultKeeper")
        .unwrap();
    let ops = g.packs().iter().find(|p| p.name() == "OpsGuard").unwrap();
    assert_eq!(
        value(
            &g,
            "sentinel_pack_decisions_total",
            &[
                ("pack", "VaultKeeper"),
                ("version", vault.version()),
                ("status", "EXECUTED")
            ]
        ),
        2.0
    );
    assert_eq!(
        value(
            &g,
            "sentinel_pack_decisions_total",
            &[
                ("pack", "OpsGuard"),
                ("version", ops.version()),
                ("status", "DECLINED")
            ]
        ),
        1.0
    );
    // The deny rule decided: the scorer was not asked.
    assert_eq!(
        value(
            &g,
            "sentinel_scorer_calls_avoided_total",
            &[("reason", "deny")]
        ),
        1.0
    );
    let decided = g.metrics().snapshot();
    let h = decided
        .histogram("sentinel_decision_duration_seconds", &[])
        .unwrap();
    assert_eq!(h.count, 3);
    assert_eq!(h.buckets.last().map(|b| b.1), Some(3));
    let calls = value(
        &g,
        "sentinel_scorer_calls_total",
        &[("scorer", g.scorer_name()), ("result", "assessed")],
    ) + value(
        &g,
        "sentinel_scorer_calls_avoided_total",
        &[("reason", "allow")],
    ) + value(
        &g,
        "sentinel_scorer_calls_avoided_total",
        &[("reason", "set_risk")],
    );
    // Each auto-approved payment either asked the scorer or was decided by a rule.
    assert_eq!(calls, 2.0);
}

#[tokio::test]
async fn escalations_are_pending_until_a_human_decides_and_that_time_is_observed() {
    let g = Gateway::builder().build().unwrap();
    let ticket = g.submit(pay(10_000, "Unknown Corp")).await.unwrap();
    assert_eq!(ticket.status, State::BlockedAwaitingAuth);
    assert_eq!(value(&g, "sentinel_approvals_pending", &[]), 1.0);
    g.set_qna_mode(ticket.action_id, true, "alice", "voice")
        .await
        .unwrap();
    assert_eq!(value(&g, "sentinel_approvals_pending", &[]), 1.0);

    g.resolve(ticket.action_id, Resolution::approve("alice", "web"))
        .await
        .unwrap();
    assert_eq!(value(&g, "sentinel_approvals_pending", &[]), 0.0);
    let snapshot = g.metrics().snapshot();
    let human = snapshot
        .histogram(
            "sentinel_human_decision_seconds",
            &[("channel", "web"), ("decision", "approved")],
        )
        .unwrap();
    assert_eq!(human.count, 1);
    assert!(human.sum >= 0.0 && human.sum < 60.0, "{}", human.sum);

    // A refused resolve (already decided) counts nothing.
    assert!(
        g.resolve(ticket.action_id, Resolution::decline("bob", "web"))
            .await
            .is_err()
    );
    let again = g.metrics().snapshot();
    assert!(
        again
            .histogram(
                "sentinel_human_decision_seconds",
                &[("channel", "web"), ("decision", "declined")]
            )
            .is_none()
    );
}

#[tokio::test]
async fn expiries_are_counted() {
    let g = Gateway::builder()
        .escalation_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let Err(GuardError::Expired { .. }) = g.guard(pay(10_000, "Unknown Corp"), || async {}).await
    else {
        panic!("the escalation must expire");
    };
    assert_eq!(value(&g, "sentinel_approvals_expired_total", &[]), 1.0);
    assert_eq!(value(&g, "sentinel_approvals_pending", &[]), 0.0);
}

#[tokio::test]
async fn hosts_count_requests_and_refused_webhooks_with_bounded_labels() {
    let g = Gateway::builder().build().unwrap();
    let m = g.metrics();
    m.record_http_request("/healthz", "GET", 200, Duration::from_millis(2));
    m.record_http_request("/healthz", "GET", 200, Duration::from_millis(3));
    m.record_http_request(
        "/api/sentinel/execute",
        "BREW",
        405,
        Duration::from_millis(1),
    );
    m.record_webhook_refused("telnyx", "bad_signature");
    for i in 0..200 {
        m.record_http_request(&format!("/r{i}"), "GET", 404, Duration::ZERO);
    }
    let s = m.snapshot();
    assert_eq!(
        s.value(
            "sentinel_http_requests_total",
            &[("route", "/healthz"), ("method", "GET"), ("code", "200")]
        ),
        Some(2.0)
    );
    assert_eq!(
        s.value(
            "sentinel_http_requests_total",
            &[
                ("route", "/api/sentinel/execute"),
                ("method", "other"),
                ("code", "405")
            ]
        ),
        Some(1.0)
    );
    let requests = s.family("sentinel_http_requests_total").unwrap();
    assert!(requests.samples.len() <= sentinel_core::metrics::MAX_LABEL_VALUES + 1);
    assert!(
        s.value(
            "sentinel_http_requests_total",
            &[("route", "other"), ("method", "GET"), ("code", "404")]
        )
        .is_some_and(|n| n > 100.0)
    );
    assert_eq!(
        s.value(
            "sentinel_webhook_verifications_refused_total",
            &[("provider", "telnyx"), ("reason", "bad_signature")]
        ),
        Some(1.0)
    );
    let h = s
        .histogram(
            "sentinel_http_request_duration_seconds",
            &[("route", "/healthz"), ("method", "GET")],
        )
        .unwrap();
    assert_eq!(h.count, 2);
    assert!((h.sum - 0.005).abs() < 1e-9);
}

#[tokio::test]
async fn the_text_format_has_help_type_and_samples() {
    let g = Gateway::builder().build().unwrap();
    g.evaluate(&drop_table()).await;
    let text = g.metrics().to_prometheus();
    assert!(
        text.contains("# TYPE sentinel_decisions_total counter\n"),
        "{text}"
    );
    assert!(
        text.contains("sentinel_decisions_total{status=\"DECLINED\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE sentinel_approvals_pending gauge\n"),
        "{text}"
    );
    assert!(
        text.contains("sentinel_decision_duration_seconds_bucket{le=\"+Inf\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("sentinel_decision_duration_seconds_count 1\n"),
        "{text}"
    );
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok() || value == "+Inf", "{line}");
    }
    // The JSON form the bindings hand out.
    let json = serde_json::to_value(g.metrics().snapshot()).unwrap();
    assert_eq!(json["sentinel_decisions_total"]["type"], "counter");
    let declined = json["sentinel_decisions_total"]["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["labels"]["status"] == "DECLINED")
        .unwrap();
    assert_eq!(declined["value"], 1);
    let h = &json["sentinel_decision_duration_seconds"]["samples"][0];
    assert_eq!(h["count"], 1);
    assert_eq!(h["buckets"]["+Inf"], 1);
}
