use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::*;
use crate::action::Action;
use crate::error::ScorerError;
use crate::pack::Pack;
use crate::scorer::{Assessment, RiskScorer, ScoreContext};
use crate::store::MemoryStore;

/// Always the same score.
struct Fixed(u8);

#[async_trait]
impl RiskScorer for Fixed {
    fn name(&self) -> &str {
        "fixed"
    }

    async fn assess(&self, _: &Action, _: &ScoreContext) -> Result<Assessment, ScorerError> {
        Assessment::new(self.0, "fixed")
    }
}

fn actions() -> Vec<Action> {
    let pay = |agent: &str, amount: Value, vendor: &str| {
        Action::new(agent, "PAY_INVOICE").with_payload(json!({"amount": amount, "vendor": vendor}))
    };
    vec![
        pay("billing", json!(120), "AWS"),
        pay("session_1", json!(10_000), "Unknown Corp"),
        pay("billing", json!(400), "Acme"),
        Action::new("ops", "DROP_TABLE").with_payload(json!({"table": "users"})),
        Action::new("ops", "EXPORT_CSV")
            .with_payload(json!({"record_count": 200, "contains_pii": false})),
        Action::new("ops", "SEND_EMAIL"),
    ]
}

/// A store holding the actions, decided by the seed packs and `scorer`.
async fn history(scorer: Option<u8>) -> Arc<dyn Store> {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut b = Gateway::builder().store_arc(Arc::clone(&store));
    if let Some(n) = scorer {
        b = b.scorer(Fixed(n));
    }
    let live = b.build().unwrap();
    for a in actions() {
        live.submit(a).await.unwrap();
    }
    store
}

fn vaultkeeper_trusting_acme() -> Pack {
    let mut doc: Value =
        serde_json::from_str(Pack::builtin_source("VaultKeeper").unwrap()).unwrap();
    let rules = doc["rules"].as_array_mut().unwrap();
    let trusted = rules
        .iter_mut()
        .find(|r| r["id"] == "trusted-vendor-small-payment")
        .unwrap();
    let list = trusted.pointer_mut("/when/all/2/in/value").unwrap();
    list.as_array_mut().unwrap().push(json!("Acme"));
    doc["version"] = json!("1.2.0");
    Pack::from_json_str(&doc.to_string()).unwrap()
}

async fn run(store: &dyn Store, gateway: &Gateway, filter: &ReplayFilter) -> ReplayReport {
    replay(store, gateway, filter, None, |_| {}).await.unwrap()
}

#[tokio::test]
async fn the_same_configuration_changes_nothing() {
    let store = history(None).await;
    let same = Gateway::builder().build().unwrap();
    let report = run(&*store, &same, &ReplayFilter::default()).await;
    assert_eq!((report.replayed, report.undecided), (6, 0));
    assert_eq!(report.changes, []);
}

#[tokio::test]
async fn a_changed_pack_lists_each_changed_decision_and_the_rules_that_differ() {
    let store = history(None).await;
    let seed = Pack::seed_packs().unwrap();
    let packs = vec![
        vaultkeeper_trusting_acme(),
        seed[1].clone(),
        seed[2].clone(),
    ];
    let candidate = Gateway::builder().packs(packs).build().unwrap();
    let report = run(&*store, &candidate, &ReplayFilter::default()).await;
    assert_eq!(report.replayed, 6);
    assert_eq!(report.changes.len(), 1, "{:#?}", report.changes);
    let c = &report.changes[0];
    assert_eq!(
        (c.action.as_str(), c.agent_id.as_str()),
        ("PAY_INVOICE", "billing")
    );
    assert_eq!(
        (
            c.before.status,
            c.before.risk_score,
            c.after.status,
            c.after.risk_score
        ),
        (State::BlockedAwaitingAuth, 60, State::Executed, 10)
    );
    assert_eq!(c.rules_added, ["VaultKeeper/trusted-vendor-small-payment"]);
    assert!(c.status_changed());
    assert_eq!(report.status_changes(), 1);

    // Filters: by action name, by time.
    let only = ReplayFilter::default().action("DROP_TABLE");
    let report = run(&*store, &candidate, &only).await;
    assert_eq!((report.replayed, report.changes.len()), (1, 0));
    let later = ReplayFilter::default().since(Utc::now() + chrono::Duration::hours(1));
    assert_eq!(run(&*store, &candidate, &later).await.replayed, 0);
}

#[tokio::test]
async fn stored_scores_replay_what_the_scorer_said_and_undecided_actions_are_counted() {
    let store = history(Some(30)).await;
    // Received, never decided (a crash between the two).
    store
        .create(ActionId::new(), &Action::new("bot", "PAY_INVOICE"))
        .await
        .unwrap();
    // Offline, the base risk (60) replaces the scorer's 30: Acme's payment escalates now.
    let offline = Gateway::builder().build().unwrap();
    let report = run(&*store, &offline, &ReplayFilter::default()).await;
    assert_eq!(report.undecided, 1);
    assert!(
        report
            .changes
            .iter()
            .any(|c| c.before.risk_score == 30 && c.after.risk_score == 60)
    );
    // With the stored scores, nothing changes.
    let scores = Arc::new(StoredScores::default());
    let reuse = Gateway::builder()
        .scorer_arc(Arc::clone(&scores) as Arc<dyn RiskScorer>)
        .build()
        .unwrap();
    let report = replay(
        &*store,
        &reuse,
        &ReplayFilter::default(),
        Some(&scores),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.replayed, 6);
    assert_eq!(report.changes, []);
}
