//! What the budget tests share: the pack, the stores, and a store without a ledger.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::Utc;
use sentinel_core::{
    Action, ActionId, ActionRecord, AuditEvent, Created, MemoryStore, Pack, SqlStore, State, Store,
    StoreError, Transition,
};

#[path = "../postgres_support/mod.rs"]
pub mod postgres_support;

/// The docs' example: "the 3rd $9,000 payment today by this agent escalates", "more than
/// 30 exports a minute from one agent are declined"; payments to `Evil` are declined.
pub const PACK: &str = r#"{
  "name": "Budgets", "version": "1.0.0",
  "applies_to": ["PAY_INVOICE", "EXPORT_CSV"],
  "default": {"risk": 10, "reason": "Routine."},
  "rules": [
    {"id": "blocked-vendor", "actions": ["PAY_INVOICE"],
     "when": {"eq": {"path": "payload.vendor", "value": "Evil"}},
     "effect": "deny", "reason": "Payments to {payload.vendor} are forbidden."},
    {"id": "daily-spend", "actions": ["PAY_INVOICE"],
     "when": {"budget": {"sum": "payload.amount", "per": ["agent_id"], "window_s": 86400, "above": 20000}},
     "effect": "escalate", "reason": "{agent_id} has spent over $20,000 today."},
    {"id": "export-rate", "actions": ["EXPORT_CSV"],
     "when": {"rate": {"per": ["agent_id", "action"], "window_s": 60, "above": 30}},
     "effect": "deny", "reason": "More than 30 exports a minute from {agent_id}."}
  ]
}"#;

/// A pack that declines a payment when the agent's spend would go above `limit`.
pub fn deny_pack(limit: u64) -> Pack {
    Pack::from_json_str(&format!(
        r#"{{"name": "Cap", "version": "1.0.0", "applies_to": ["PAY_INVOICE"],
            "default": {{"risk": 10, "reason": "Routine."}},
            "rules": [{{"id": "cap", "when": {{"budget": {{"sum": "payload.amount",
              "per": ["agent_id"], "window_s": 3600, "above": {limit}}}}},
              "effect": "deny", "reason": "Over the cap."}}]}}"#
    ))
    .unwrap()
}

pub fn pack() -> Pack {
    Pack::from_json_str(PACK).unwrap()
}

pub fn pay(agent: &str, amount: f64) -> Action {
    Action::new(agent, "PAY_INVOICE")
        .with_payload(serde_json::json!({"amount": amount, "vendor": "ACME"}))
}

/// Each store twice: two handles on one database, as two instances would hold. Keep the
/// schema guard (first) alive until the stores are dropped.
#[allow(clippy::type_complexity)]
pub async fn stores(
    prefix: &str,
) -> (
    Option<postgres_support::TestSchema>,
    Vec<(&'static str, Arc<dyn Store>, Arc<dyn Store>)>,
) {
    let memory: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let path = std::env::temp_dir().join(format!("sentinel-{prefix}-{}.db", ActionId::new()));
    let mut out = vec![
        ("memory", memory.clone(), memory),
        (
            "sqlite",
            Arc::new(SqlStore::open_sqlite(&path).await.unwrap()) as Arc<dyn Store>,
            Arc::new(SqlStore::open_sqlite(&path).await.unwrap()) as Arc<dyn Store>,
        ),
    ];
    let mut schema = None;
    if let Some(url) = postgres_support::database_url(Some("the PostgreSQL store")) {
        let name = schema
            .insert(postgres_support::TestSchema::new(&url, prefix))
            .name();
        out.push((
            "postgres",
            Arc::new(SqlStore::connect_in_schema(&url, name).await.unwrap()),
            Arc::new(SqlStore::connect_in_schema(&url, name).await.unwrap()),
        ));
    }
    (schema, out)
}

/// A store that keeps no budget ledger (the trait's defaults): budgets fail closed.
pub struct NoLedger(pub MemoryStore);

#[async_trait::async_trait]
impl Store for NoLedger {
    async fn create(&self, id: ActionId, action: &Action) -> Result<Created, StoreError> {
        self.0.create(id, action).await
    }
    async fn get(&self, id: ActionId) -> Result<ActionRecord, StoreError> {
        self.0.get(id).await
    }
    async fn transition(
        &self,
        id: ActionId,
        t: Transition,
    ) -> Result<(ActionRecord, AuditEvent), StoreError> {
        self.0.transition(id, t).await
    }
    async fn claim_execution(&self, id: ActionId) -> Result<Option<AuditEvent>, StoreError> {
        self.0.claim_execution(id).await
    }
    async fn append_note(
        &self,
        id: ActionId,
        actor: &str,
        channel: &str,
        text: &str,
    ) -> Result<AuditEvent, StoreError> {
        self.0.append_note(id, actor, channel, text).await
    }
    async fn audit_trail(&self, id: ActionId) -> Result<Vec<AuditEvent>, StoreError> {
        self.0.audit_trail(id).await
    }
    async fn latest(&self) -> Result<Option<ActionRecord>, StoreError> {
        self.0.latest().await
    }
    async fn in_states(&self, states: &[State]) -> Result<Vec<ActionRecord>, StoreError> {
        self.0.in_states(states).await
    }
    async fn claim_stale(
        &self,
        id: ActionId,
        before: chrono::DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.0.claim_stale(id, before).await
    }
    async fn audit_log(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        self.0.audit_log(after, limit).await
    }
    async fn records_page(
        &self,
        after: Option<ActionId>,
        limit: usize,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        self.0.records_page(after, limit).await
    }
}
