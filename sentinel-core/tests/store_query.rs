#![cfg(feature = "sqlite")]
//! The history queries (`Store::find_actions`, `Store::count_since`) on every store:
//! in-memory, SQLite, and PostgreSQL (from `DATABASE_URL`, in a schema of its own that
//! `TestSchema` drops at the end; reported as skipped when it is not set). The default implementation
//! (a store that only has `records_page`) must agree with them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::Utc;
use sentinel_core::store::{ActionQuery, StateCount};
use sentinel_core::{Action, ActionId, Gateway, MemoryStore, Resolution, SqlStore, State, Store};
use serde_json::json;

mod postgres_support;

/// A store that answers only the required methods: the trait's default queries apply.
struct Plain(MemoryStore);

#[async_trait::async_trait]
impl Store for Plain {
    async fn create(
        &self,
        id: ActionId,
        action: &Action,
    ) -> Result<sentinel_core::Created, sentinel_core::StoreError> {
        self.0.create(id, action).await
    }
    async fn get(
        &self,
        id: ActionId,
    ) -> Result<sentinel_core::ActionRecord, sentinel_core::StoreError> {
        self.0.get(id).await
    }
    async fn transition(
        &self,
        id: ActionId,
        t: sentinel_core::Transition,
    ) -> Result<(sentinel_core::ActionRecord, sentinel_core::AuditEvent), sentinel_core::StoreError>
    {
        self.0.transition(id, t).await
    }
    async fn claim_execution(
        &self,
        id: ActionId,
    ) -> Result<Option<sentinel_core::AuditEvent>, sentinel_core::StoreError> {
        self.0.claim_execution(id).await
    }
    async fn append_note(
        &self,
        id: ActionId,
        actor: &str,
        channel: &str,
        text: &str,
    ) -> Result<sentinel_core::AuditEvent, sentinel_core::StoreError> {
        self.0.append_note(id, actor, channel, text).await
    }
    async fn audit_trail(
        &self,
        id: ActionId,
    ) -> Result<Vec<sentinel_core::AuditEvent>, sentinel_core::StoreError> {
        self.0.audit_trail(id).await
    }
    async fn latest(
        &self,
    ) -> Result<Option<sentinel_core::ActionRecord>, sentinel_core::StoreError> {
        self.0.latest().await
    }
    async fn in_states(
        &self,
        states: &[State],
    ) -> Result<Vec<sentinel_core::ActionRecord>, sentinel_core::StoreError> {
        self.0.in_states(states).await
    }
    async fn claim_stale(
        &self,
        id: ActionId,
        before: chrono::DateTime<Utc>,
    ) -> Result<bool, sentinel_core::StoreError> {
        self.0.claim_stale(id, before).await
    }
    async fn audit_log(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<sentinel_core::AuditEvent>, sentinel_core::StoreError> {
        self.0.audit_log(after, limit).await
    }
    async fn records_page(
        &self,
        after: Option<ActionId>,
        limit: usize,
    ) -> Result<Vec<sentinel_core::ActionRecord>, sentinel_core::StoreError> {
        self.0.records_page(after, limit).await
    }
}

async fn stores(
    guards: &mut Vec<postgres_support::TestSchema>,
) -> Vec<(&'static str, Arc<dyn Store>)> {
    let dir = std::env::temp_dir().join(format!("sentinel-query-{}", ActionId::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut out: Vec<(&'static str, Arc<dyn Store>)> = vec![
        ("memory", Arc::new(MemoryStore::new())),
        ("default", Arc::new(Plain(MemoryStore::new()))),
        (
            "sqlite",
            Arc::new(SqlStore::open_sqlite(dir.join("q.db")).await.unwrap()),
        ),
    ];
    if let Some(url) = postgres_support::database_url(Some("the PostgreSQL store")) {
        let schema = postgres_support::TestSchema::new(&url, "sentinel_query");
        out.push((
            "postgres",
            Arc::new(
                SqlStore::connect_in_schema(&url, schema.name())
                    .await
                    .unwrap(),
            ),
        ));
        guards.push(schema);
    }
    out
}

fn pay(agent: &str, amount: u64, vendor: &str) -> Action {
    Action::new(agent, "PAY_INVOICE").with_payload(json!({"amount": amount, "vendor": vendor}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_filters_and_pages_alike_on_every_store() {
    let mut guards = Vec::new();
    let all = stores(&mut guards).await;
    for (name, store) in &all {
        let gw = Gateway::builder().store_arc(store.clone()).build().unwrap();
        let start = Utc::now();
        // 5 auto-approved, 3 escalated (one approved, one declined, one left pending), 1 denied.
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(
                gw.submit(pay("billing-bot", 100 + i, "AWS"))
                    .await
                    .unwrap()
                    .action_id,
            );
        }
        let mut escalated = Vec::new();
        for i in 0..3 {
            let t = gw
                .submit(pay(&format!("session_{i}"), 10_000, "Unknown Corp"))
                .await
                .unwrap();
            assert_eq!(t.status, State::BlockedAwaitingAuth, "{name}");
            escalated.push(t.action_id);
        }
        gw.resolve(escalated[0], Resolution::approve("alice", "console"))
            .await
            .unwrap();
        gw.resolve(escalated[1], Resolution::decline("bob", "console"))
            .await
            .unwrap();
        let drop = Action::new("ops-bot", "DROP_TABLE").with_payload(json!({"table": "users"}));
        let dropped = gw.submit(drop).await.unwrap().action_id;

        // Everything, newest first, in pages of 4: 4 + 4 + 1.
        let mut query = ActionQuery::new(4);
        let mut seen = Vec::new();
        loop {
            let page = store.find_actions(&query).await.unwrap();
            assert!(page.records.len() <= 4, "{name}");
            seen.extend(page.records.iter().map(|r| r.id));
            match page.next {
                Some(next) => query.before = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), 9, "{name}");
        assert!(seen.windows(2).all(|w| w[0] > w[1]), "{name}: newest first");

        // By state, agent, action.
        let mut q = ActionQuery::new(50);
        q.states = vec![State::Approved, State::Declined];
        let page = store.find_actions(&q).await.unwrap();
        let got: Vec<_> = page.records.iter().map(|r| r.id).collect();
        assert_eq!(got, [dropped, escalated[1], escalated[0]], "{name}");
        assert!(page.next.is_none());

        let mut q = ActionQuery::new(50);
        q.agent_id = Some("session_2".into());
        let page = store.find_actions(&q).await.unwrap();
        assert_eq!(page.records.len(), 1, "{name}");
        assert_eq!(page.records[0].state, State::BlockedAwaitingAuth);

        let mut q = ActionQuery::new(50);
        q.action = Some("DROP_TABLE".into());
        assert_eq!(
            store.find_actions(&q).await.unwrap().records.len(),
            1,
            "{name}"
        );

        // By time: nothing before the start, everything since.
        let mut q = ActionQuery::new(50);
        q.until = Some(start);
        assert!(
            store.find_actions(&q).await.unwrap().records.is_empty(),
            "{name}"
        );
        q.until = None;
        q.since = Some(start);
        assert_eq!(
            store.find_actions(&q).await.unwrap().records.len(),
            9,
            "{name}"
        );
        q.since = Some(Utc::now() + chrono::Duration::seconds(5));
        assert!(
            store.find_actions(&q).await.unwrap().records.is_empty(),
            "{name}"
        );

        // A filter value is bound, never spliced into the SQL.
        let mut q = ActionQuery::new(50);
        q.agent_id = Some("x' OR '1'='1".into());
        assert!(
            store.find_actions(&q).await.unwrap().records.is_empty(),
            "{name}"
        );

        // Counts per state since the start.
        let counts = store.count_since(start).await.unwrap();
        let of = |s: State| {
            counts
                .iter()
                .find(|c| c.state == s)
                .map_or(0, |c: &StateCount| c.count)
        };
        assert_eq!(
            (
                of(State::Executed),
                of(State::BlockedAwaitingAuth),
                of(State::Approved),
                of(State::Declined)
            ),
            (5, 1, 1, 2),
            "{name}: {counts:?}"
        );
        assert!(
            store
                .count_since(Utc::now() + chrono::Duration::seconds(5))
                .await
                .unwrap()
                .is_empty()
        );
    }
    drop(all);
}
