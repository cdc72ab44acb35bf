//! Property tests: the evaluator's invariants and the lifecycle's safety.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use proptest::prelude::*;
use sentinel_core::{
    Action, Assessment, Effect, Gateway, MemoryStore, Resolution, RiskScorer, ScoreContext,
    ScorerError, State, Store, Transition,
};
use serde_json::{Value, json};

/// A scorer that answers whatever the property test chose.
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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn any_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(|n| json!(n)),
        (0u32..20_000).prop_map(|n| json!(n)),
        (0u32..20_000).prop_map(|n| json!(n.to_string())),
        any::<bool>().prop_map(|b| json!(b)),
        prop::sample::select(vec![
            "Unknown Corp",
            "AWS",
            "Stripe",
            "production",
            "staging",
            "Dev",
            "",
            "true"
        ])
        .prop_map(|s| json!(s)),
        Just(Value::Null),
    ]
}

fn any_action() -> impl Strategy<Value = Action> {
    let names = prop::sample::select(vec![
        "PAY_INVOICE",
        "EXPORT_CSV",
        "SHARE_RECORD",
        "QUERY_SSN",
        "DELETE_USER",
        "DROP_TABLE",
        "RESTART_SERVER",
        "OTHER",
    ]);
    let keys = prop::sample::select(vec![
        "amount",
        "vendor",
        "record_count",
        "contains_pii",
        "environment",
        "table",
        "user_id",
    ]);
    let agents = prop::sample::select(vec!["session_1", "bot", "session_", "SESSION_2"]);
    (
        agents,
        names,
        prop::collection::btree_map(keys, any_scalar(), 0..6),
        ".{0,20}",
    )
        .prop_map(|(agent, name, payload, reasoning)| {
            Action::new(agent, name)
                .with_payload(Value::Object(
                    payload
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                ))
                .with_reasoning(reasoning)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the scorer says, deny wins, floors hold, and a decision is deterministic.
    #[test]
    fn evaluator_invariants(action in any_action(), score in 0u8..=100) {
        let rt = runtime();
        let gw = Gateway::builder().scorer(Fixed(score)).build().unwrap();
        let d = rt.block_on(gw.evaluate(&action));
        let again = rt.block_on(gw.evaluate(&action));
        prop_assert_eq!((&d.status, d.risk_score, &d.rules, &d.analysis),
                        (&again.status, again.risk_score, &again.rules, &again.analysis));
        prop_assert!(d.risk_score <= 100);
        if action.action == "DROP_TABLE" {
            prop_assert_eq!(d.status, State::Declined);
        }
        for m in &d.matched {
            match m.effect {
                Effect::Deny => prop_assert_eq!(d.status, State::Declined),
                Effect::RiskFloor(n) => prop_assert!(d.risk_score >= n, "floor {} > {}", n, d.risk_score),
                _ => {}
            }
        }
        if d.status == State::Executed {
            prop_assert!(d.risk_score <= 50, "auto-approved at {}", d.risk_score);
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Approve,
    Decline,
    Qna(bool),
    Expire,
    Wait,
}

fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Approve),
        Just(Op::Decline),
        any::<bool>().prop_map(Op::Qna),
        Just(Op::Expire),
        Just(Op::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Random event sequences against a store: a terminal state never changes, and every
    /// accepted transition is an edge of the lifecycle.
    #[test]
    fn terminal_states_never_change(targets in prop::collection::vec(prop::sample::select(State::ALL.to_vec()), 1..12)) {
        let rt = runtime();
        rt.block_on(async {
            let store = MemoryStore::new();
            let id = sentinel_core::ActionId::new();
            store.create(id, &Action::new("a", "X")).await.unwrap();
            let mut state = store.get(id).await.unwrap().state;
            assert_eq!(state, State::Analyzing);
            for to in targets {
                let result = store.transition(id, Transition::new(to, "t", "t", "")).await;
                match result {
                    Ok((record, _)) => {
                        assert!(state.can_become(to), "{state} -> {to} accepted");
                        state = record.state;
                    }
                    Err(_) => assert!(!state.can_become(to), "{state} -> {to} refused"),
                }
                assert_eq!(store.get(id).await.unwrap().state, state);
            }
        });
    }

    /// Random human and timer events around a waiting guard: the function runs exactly when
    /// the action ends APPROVED, and at most once.
    #[test]
    fn guard_runs_only_after_approval(ops in prop::collection::vec(any_op(), 0..8)) {
        // Paused clock: the guard's periodic re-check advances instantly when all is idle.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
        rt.block_on(async {
            let gw = Gateway::builder().escalation_timeout(Duration::from_secs(30)).build().unwrap();
            let ran = Arc::new(AtomicUsize::new(0));
            let action = Action::new("session_p", "PAY_INVOICE")
                .with_payload(json!({"amount": 9000, "vendor": "Unknown Corp"}));
            let mut events = gw.subscribe();
            let guard = {
                let (gw, ran) = (gw.clone(), ran.clone());
                tokio::spawn(async move {
                    gw.guard(action, || async move { ran.fetch_add(1, Ordering::SeqCst) }).await
                })
            };
            let id = loop {
                let e = events.recv().await.unwrap();
                if e.to == State::BlockedAwaitingAuth { break e.action_id; }
            };
            let mut expired = false;
            for op in ops {
                let _ = match op {
                    Op::Approve => gw.resolve(id, Resolution::approve("p", "test")).await.map(|_| ()),
                    Op::Decline => gw.resolve(id, Resolution::decline("p", "test")).await.map(|_| ()),
                    Op::Qna(on) => gw.set_qna_mode(id, on, "p", "test").await.map(|_| ()),
                    Op::Expire => {
                        let r = gw.store().transition(id, Transition::new(State::Expired, "t", "timeout", "")).await;
                        expired |= r.is_ok();
                        Ok(())
                    }
                    Op::Wait => { tokio::task::yield_now().await; Ok(()) }
                };
            }
            // Close the action if still open, so the guard returns.
            let final_state = gw.status(id).await.unwrap().state;
            if !final_state.is_terminal() {
                gw.resolve(id, Resolution::decline("p", "cleanup")).await.unwrap();
            }
            if expired {
                // Expiry written behind the gateway's back: the guard notices on its next look.
                tokio::time::sleep(Duration::from_millis(1100)).await;
            }
            let result = guard.await.unwrap();
            let state = gw.status(id).await.unwrap().state;
            assert_eq!(ran.load(Ordering::SeqCst), usize::from(state == State::Approved), "{state}");
            assert_eq!(result.is_ok(), state == State::Approved);
        });
    }
}
