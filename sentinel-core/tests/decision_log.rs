//! The decision log: one JSON line per decision on a recorded action and per outcome of an
//! escalation, masked (packs' redact paths, the configured mask, PII everywhere), never the
//! reasoning.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use sentinel_core::spec::Env;
use sentinel_core::{Action, GatewaySpec, GuardError, Resolution, State};
use serde_json::{Value, json};

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test]
async fn decisions_and_resolutions_are_logged_masked() {
    let dir = tempfile_dir();
    let config = dir.join("sentinel.toml");
    std::fs::write(
        &config,
        "[telemetry]\ndecision_log = \"decisions.jsonl\"\ndecision_log_mask = [\"payload.vendor\"]\n",
    )
    .unwrap();
    let spec = GatewaySpec::from_file(&config).unwrap();
    let gateway = spec
        .components(&Env::from_map(HashMap::new()))
        .unwrap()
        .builder()
        .build()
        .unwrap();
    let log = dir.join("decisions.jsonl");

    let small = Action::new("billing-bot", "PAY_INVOICE")
        .with_payload(json!({"amount": 120, "vendor": "AWS", "card": "4111 1111 1111 1111"}))
        .with_reasoning("the reasoning stays out of the log");
    gateway.authorize(small).await.unwrap();
    let drop = Action::new("ops-bot", "DROP_TABLE").with_payload(json!({"table": "users"}));
    let Err(GuardError::Denied(_)) = gateway.authorize(drop).await else {
        panic!("declined");
    };
    let big = Action::new("session_1", "PAY_INVOICE")
        .with_payload(json!({"amount": 10000, "vendor": "Unknown Corp"}));
    let ticket = gateway.submit(big).await.unwrap();
    assert_eq!(ticket.status, State::BlockedAwaitingAuth);
    gateway
        .resolve(
            ticket.action_id,
            Resolution::decline("alice", "web").with_reason("never heard of them"),
        )
        .await
        .unwrap();
    // Evaluations record nothing, and log nothing.
    gateway
        .evaluate(&Action::new("ops-bot", "DROP_TABLE").with_payload(json!({"table": "t"})))
        .await;

    let got = lines(&log);
    assert_eq!(got.len(), 4, "{got:#?}");
    let (paid, dropped, escalated, resolved) = (&got[0], &got[1], &got[2], &got[3]);
    assert_eq!(paid["event"], "decision");
    assert_eq!(paid["agent_id"], "billing-bot");
    assert_eq!(paid["action"], "PAY_INVOICE");
    assert_eq!(paid["status"], "EXECUTED");
    assert_eq!(paid["risk_score"], 10);
    assert_eq!(paid["packs"][0]["name"], "VaultKeeper");
    assert!(paid["packs"][0]["version"].is_string());
    assert_eq!(paid["scorer"]["outcome"], "skipped");
    assert!(paid["timings"]["total_ns"].as_u64().unwrap() > 0);
    assert_eq!(paid["payload"]["amount"], 120);
    assert_eq!(paid["payload"]["vendor"], "[REDACTED]");
    assert_eq!(paid["payload"]["card"], "[CARD]");
    assert!(paid["approver"].is_null() && paid["deadline"].is_null());
    chrono::DateTime::parse_from_rfc3339(paid["ts"].as_str().unwrap()).unwrap();

    assert_eq!(dropped["status"], "DECLINED");
    assert_eq!(dropped["rules"], json!(["OpsGuard/drop-table-forbidden"]));

    assert_eq!(escalated["status"], "BLOCKED_AWAITING_AUTH");
    assert_eq!(escalated["action_id"], ticket.action_id.to_string());
    assert!(escalated["deadline"].is_string());

    assert_eq!(resolved["event"], "resolution");
    assert_eq!(resolved["action_id"], ticket.action_id.to_string());
    assert_eq!(resolved["status"], "DECLINED");
    assert_eq!(resolved["decided_by"], "alice");
    assert_eq!(resolved["channel"], "web");
    assert!(resolved["waited_ms"].as_i64().unwrap() >= 0);

    let text = std::fs::read_to_string(&log).unwrap();
    for secret in [
        "reasoning stays out",
        "Unknown Corp",
        "4111",
        "never heard of them",
        "AWS",
    ] {
        assert!(!text.contains(secret), "the log holds `{secret}`:\n{text}");
    }
}

#[test]
fn a_mask_outside_the_payload_is_refused() {
    let err = GatewaySpec::from_toml_str(
        "[telemetry]\ndecision_log = \"stdout\"\ndecision_log_mask = [\"vendor\"]\n",
    )
    .unwrap()
    .components(&Env::from_map(HashMap::new()))
    .err()
    .unwrap();
    let message = err.to_string();
    assert!(
        message.contains("telemetry.decision_log_mask") && message.contains("`vendor`"),
        "{message}"
    );
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sentinel-decision-log-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
