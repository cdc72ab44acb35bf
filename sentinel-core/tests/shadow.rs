//! Shadow packs: decided beside the enforced packs on submitted actions, never enforced;
//! a disagreement is an audit note (actor and channel `shadow`) and a metric; the scorer is
//! asked once, the shadow reusing its score.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use sentinel_core::spec::{Env, GatewaySpec};
use sentinel_core::{
    Action, Assessment, Gateway, Pack, RiskScorer, ScoreContext, ScorerError, State,
};
use serde_json::{Value, json};

fn pay(amount: u32, vendor: &str) -> Action {
    Action::new("billing", "PAY_INVOICE").with_payload(json!({"amount": amount, "vendor": vendor}))
}

/// VaultKeeper 1.2.0: Acme is trusted too.
fn vaultkeeper_next() -> Pack {
    let mut doc: Value =
        serde_json::from_str(Pack::builtin_source("VaultKeeper").unwrap()).unwrap();
    let rules = doc["rules"].as_array_mut().unwrap();
    let trusted = rules
        .iter_mut()
        .find(|r| r["id"] == "trusted-vendor-small-payment")
        .unwrap();
    trusted
        .pointer_mut("/when/all/2/in/value")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .push(json!("Acme"));
    doc["version"] = json!("1.2.0");
    Pack::from_json_str(&doc.to_string()).unwrap()
}

async fn shadow_notes(gateway: &Gateway, id: sentinel_core::ActionId) -> Vec<String> {
    gateway
        .audit_trail(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor == "shadow" && e.channel == "shadow")
        .map(|e| e.reason)
        .collect()
}

fn disagreements(gateway: &Gateway, status: &str) -> f64 {
    gateway
        .metrics()
        .snapshot()
        .value("sentinel_shadow_disagreements_total", &[("status", status)])
        .unwrap()
}

#[tokio::test]
async fn disagreements_are_noted_and_counted_never_enforced() {
    let gateway = Gateway::builder()
        .shadow_packs([vaultkeeper_next()])
        .build()
        .unwrap();
    let acme = gateway.submit(pay(400, "Acme")).await.unwrap();
    // Enforced: the active VaultKeeper 1.1.0 escalates.
    assert_eq!(acme.status, State::BlockedAwaitingAuth);
    assert_eq!(
        shadow_notes(&gateway, acme.action_id).await,
        [
            "shadow packs `VaultKeeper@1.2.0` would decide EXECUTED (risk 10; VaultKeeper/trusted-vendor-small-payment) where the active packs decided BLOCKED_AWAITING_AUTH (risk 60; no rule)"
        ]
    );
    assert_eq!(disagreements(&gateway, "EXECUTED"), 1.0);
    // The live metrics count the live decision only.
    let live = gateway.metrics().snapshot();
    assert_eq!(
        live.value(
            "sentinel_decisions_total",
            &[("status", "BLOCKED_AWAITING_AUTH")]
        ),
        Some(1.0)
    );
    assert_eq!(
        live.value("sentinel_decisions_total", &[("status", "EXECUTED")]),
        Some(0.0)
    );

    // Agreement: nothing recorded.
    let aws = gateway.submit(pay(120, "AWS")).await.unwrap();
    assert_eq!(aws.status, State::Executed);
    assert_eq!(
        shadow_notes(&gateway, aws.action_id).await,
        Vec::<String>::new()
    );
    assert_eq!(disagreements(&gateway, "EXECUTED"), 1.0);
    // `evaluate` records nothing, shadows included.
    gateway.evaluate(&pay(400, "Acme")).await;
    assert_eq!(disagreements(&gateway, "EXECUTED"), 1.0);
}

#[tokio::test]
async fn a_new_shadow_pack_is_added_to_the_active_ones() {
    let strict = Pack::from_json_str(
        &json!({"name": "NoPayments", "version": "0.1.0", "applies_to": ["PAY_INVOICE"],
                "rules": [{"id": "freeze", "effect": "deny", "reason": "payments are frozen"}]})
        .to_string(),
    )
    .unwrap();
    let gateway = Gateway::builder().shadow_packs([strict]).build().unwrap();
    let t = gateway.submit(pay(120, "AWS")).await.unwrap();
    assert_eq!(t.status, State::Executed);
    let notes = shadow_notes(&gateway, t.action_id).await;
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].starts_with("shadow packs `NoPayments@0.1.0` would decide DECLINED (risk 10; VaultKeeper/trusted-vendor-small-payment, NoPayments/freeze)"),
        "{notes:?}"
    );
    assert_eq!(disagreements(&gateway, "DECLINED"), 1.0);
}

/// Counts its calls; always 30.
struct Counting(Arc<AtomicUsize>);

#[async_trait]
impl RiskScorer for Counting {
    fn name(&self) -> &str {
        "counting"
    }

    async fn assess(&self, _: &Action, _: &ScoreContext) -> Result<Assessment, ScorerError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Assessment::new(30, "fine")
    }
}

#[tokio::test]
async fn the_shadow_reuses_the_live_score_and_never_calls_the_scorer() {
    let calls = Arc::new(AtomicUsize::new(0));
    // The same rules under another version: only a score taken elsewhere (the offline 60
    // instead of the scorer's 30) could make it disagree.
    let mut same: Value =
        serde_json::from_str(Pack::builtin_source("VaultKeeper").unwrap()).unwrap();
    same["version"] = json!("1.1.1");
    let same = Pack::from_json_str(&same.to_string()).unwrap();
    let gateway = Gateway::builder()
        .scorer(Counting(Arc::clone(&calls)))
        .shadow_packs([same])
        .build()
        .unwrap();
    let t = gateway.submit(pay(400, "Acme")).await.unwrap();
    assert_eq!((t.status, t.decision.risk_score), (State::Executed, 30));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        shadow_notes(&gateway, t.action_id).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn the_config_file_names_shadow_packs() {
    let dir = std::env::temp_dir().join(format!("sentinel-shadow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("next.json"),
        serde_json::to_string(vaultkeeper_next().document()).unwrap(),
    )
    .unwrap();
    let file = dir.join("sentinel.toml");
    std::fs::write(&file, "[[shadow_packs]]\npath = \"next.json\"\n").unwrap();
    let spec = GatewaySpec::from_file(&file).unwrap();
    let c = spec.components(&Env::process()).unwrap();
    assert_eq!(c.shadow_packs.len(), 1);
    assert_eq!(c.shadow_packs[0].version(), "1.2.0");
    let gateway = c.build().await.unwrap();
    let t = gateway.submit(pay(400, "Acme")).await.unwrap();
    assert_eq!(shadow_notes(&gateway, t.action_id).await.len(), 1);

    std::fs::write(&file, "[[shadow_packs]]\npath = \"missing.json\"\n").unwrap();
    let e = GatewaySpec::from_file(&file)
        .unwrap()
        .components(&Env::process())
        .unwrap_err();
    assert!(e.to_string().contains("shadow_packs[0]"), "{e}");
}
