//! Unit tests of the memory store.

use serde_json::json;

use super::*;

fn action(i: usize) -> Action {
    Action::new("bot", "PAY_INVOICE")
        .with_payload(json!({"amount": i}))
        .with_idempotency_key(format!("k{i}"))
}

async fn decline(store: &MemoryStore, id: ActionId) {
    let t = Transition::new(State::Declined, "t", "policy", "");
    store
        .transition(id, t)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn full_stores_evict_decided_actions_oldest_first_and_never_pending_ones() {
    let store = MemoryStore::with_capacity(3);
    let ids: Vec<ActionId> = (0..3).map(|_| ActionId::new()).collect();
    for (i, id) in ids.iter().enumerate() {
        store
            .create(*id, &action(i))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    decline(&store, ids[2]).await;
    decline(&store, ids[1]).await;
    // Full: the oldest decided one (ids[1]) goes, with its idempotency key.
    let fourth = ActionId::new();
    store
        .create(fourth, &action(3))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.len(), 3);
    assert!(matches!(
        store.get(ids[1]).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.get(ids[0]).await.is_ok(), "the pending one stays");
    assert!(store.get(ids[2]).await.is_ok());
    let again = store.create(ActionId::new(), &action(1)).await;
    assert!(
        matches!(again, Ok(Created::New(..))),
        "the evicted key is free again"
    );
    // Now all three kept are undecided or newest: fill with pending ones and refuse.
    let store = MemoryStore::with_capacity(2);
    store
        .create(ActionId::new(), &action(0))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .create(ActionId::new(), &action(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let refused = store.create(ActionId::new(), &action(2)).await.unwrap_err();
    assert!(
        refused.to_string().contains("memory store is full"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_decided_write_without_events_keeps_the_same_trail() {
    let store = MemoryStore::new();
    let mut trails = Vec::new();
    for events in [true, false] {
        let id = ActionId::new();
        let step = Transition::new(State::Executed, "sentinel", "policy", "fine");
        let decided = Decided::new(now(), step, true).with_events(events);
        let Ok(Created::New(record, returned)) = store
            .create_decided(id, action(usize::from(events)), decided)
            .await
        else {
            panic!("not created");
        };
        assert!(record.executed_at.is_some());
        let trail = store.audit_trail(id).await.unwrap_or_default();
        if events {
            assert_eq!(returned, trail);
        } else {
            assert!(returned.is_empty());
        }
        trails.push(trail);
    }
    let shape = |t: &[AuditEvent]| -> Vec<_> {
        t.iter()
            .map(|e| {
                let words = (e.actor.clone(), e.channel.clone(), e.reason.clone());
                (
                    e.kind,
                    e.from,
                    e.to,
                    e.agent_id.clone(),
                    e.action.clone(),
                    words,
                )
            })
            .collect()
    };
    assert_eq!(trails[0].len(), 4);
    assert_eq!(shape(&trails[0]), shape(&trails[1]));
    let checked = crate::store::verify_audit_log(&store)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(checked, Ok(8));
}

#[tokio::test]
async fn the_kept_log_verifies_from_its_anchor() {
    let store = MemoryStore::with_capacity(1);
    for i in 0..5 {
        let id = ActionId::new();
        store
            .create(id, &action(i))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        decline(&store, id).await;
    }
    // 15 events written, 8 kept.
    let kept = store.audit_log(0, 100).await.unwrap_or_default();
    assert_eq!(kept.len(), EVENTS_PER_ACTION);
    let anchor = store.audit_anchor().await.unwrap_or_default();
    assert_eq!(anchor.as_ref().map(|a| a.0), Some(7));
    let checked = crate::store::verify_audit_log(&store)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(checked, Ok(8));
}
