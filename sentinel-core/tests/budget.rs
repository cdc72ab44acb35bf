#![cfg(feature = "sqlite")]
//! Budgets and rates (`budget`, `rate` conditions) through the gateway, on every store
//! (in-memory, SQLite, PostgreSQL from `DATABASE_URL`, two instances each): counted at
//! decision time only for actions that run, reserved while escalated and released when
//! declined or expired, the window's figures in the explanation, and failing closed when
//! the store keeps no ledger.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{Action, Gateway, MemoryStore, Resolution, State, Store};
use serde_json::json;

mod budget_support;
use budget_support::{NoLedger, pack, pay, stores};

fn gateway(store: Arc<dyn Store>) -> Gateway {
    Gateway::builder()
        .packs([pack()])
        .store_arc(store)
        .escalation_timeout(Duration::from_millis(600))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_third_9000_payment_today_escalates_and_declined_ones_do_not_count() {
    let (_schema, stores) = stores("sentinel_budget").await;
    for (name, a, b) in stores {
        // Two instances on one database.
        let (one, two) = (gateway(a), gateway(b));
        let agent = format!("bot-{}", sentinel_core::ActionId::new());
        let first = one.submit(pay(&agent, 9000.0)).await.unwrap();
        assert_eq!(first.status, State::Executed, "{name}");
        // Declined by another rule: reserved while deciding, then released.
        let evil = Action::new(&agent, "PAY_INVOICE")
            .with_payload(json!({"amount": 9000, "vendor": "Evil"}));
        assert_eq!(
            two.submit(evil).await.unwrap().status,
            State::Declined,
            "{name}"
        );
        let second = two.submit(pay(&agent, 9000.0)).await.unwrap();
        assert_eq!(
            second.status,
            State::Executed,
            "{name}: {}",
            second.decision.analysis
        );

        // `evaluate` reads the window without reserving.
        let peek = one.evaluate(&pay(&agent, 9000.0)).await;
        assert_eq!(peek.status, State::BlockedAwaitingAuth, "{name}");

        let third = one.submit(pay(&agent, 9000.0)).await.unwrap();
        assert_eq!(third.status, State::BlockedAwaitingAuth, "{name}");
        assert_eq!(third.decision.rules, ["Budgets/daily-spend"], "{name}");
        let figures = "budget `payload.amount` per agent_id `".to_owned()
            + &agent
            + "`: 18000 in the last 86400 s + 9000 = 27000, above 20000";
        assert!(
            third.decision.analysis.contains(&figures),
            "{name}: {}",
            third.decision.analysis
        );
        assert!(
            third.decision.matched[0].reason.contains(&figures),
            "{name}"
        );
        // Another agent has a budget of its own.
        let other = two
            .submit(pay(&format!("{agent}-other"), 9000.0))
            .await
            .unwrap();
        assert_eq!(other.status, State::Executed, "{name}");

        // While the third waits, its $9,000 is reserved: $2,000 more does not fit.
        assert_eq!(
            two.submit(pay(&agent, 2000.0)).await.unwrap().status,
            State::BlockedAwaitingAuth,
            "{name}"
        );
        // Declined by a human: released (and so is the $2,000, declined too).
        one.resolve(third.action_id, Resolution::decline("alice", "web"))
            .await
            .unwrap();
        let pending = two.status(third.action_id).await.unwrap();
        assert_eq!(pending.state, State::Declined);
        let waiting = one
            .store()
            .in_states(&[State::BlockedAwaitingAuth])
            .await
            .unwrap();
        for record in waiting.iter().filter(|r| r.action.agent_id == agent) {
            one.resolve(record.id, Resolution::decline("alice", "web"))
                .await
                .unwrap();
        }
        let fits = two.submit(pay(&agent, 2000.0)).await.unwrap();
        assert_eq!(
            fits.status,
            State::Executed,
            "{name}: {}",
            fits.decision.analysis
        );
        // 20000 spent: one dollar more is above the limit; approved, it counts.
        let over = one.submit(pay(&agent, 1.0)).await.unwrap();
        assert_eq!(over.status, State::BlockedAwaitingAuth, "{name}");
        two.resolve(over.action_id, Resolution::approve("alice", "web"))
            .await
            .unwrap();
        let after = two.evaluate(&pay(&agent, 0.0)).await;
        assert!(
            after
                .analysis
                .contains("20001 in the last 86400 s + 0 = 20001"),
            "{name}: {}",
            after.analysis
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_escalation_releases_its_reservation() {
    let (_schema, stores) = stores("sentinel_budget_expiry").await;
    for (name, a, _) in stores {
        let gw = gateway(a);
        let agent = format!("bot-{}", sentinel_core::ActionId::new());
        assert_eq!(
            gw.submit(pay(&agent, 15000.0)).await.unwrap().status,
            State::Executed
        );
        let big = gw.submit(pay(&agent, 9000.0)).await.unwrap();
        assert_eq!(big.status, State::BlockedAwaitingAuth, "{name}");
        let mut state = State::BlockedAwaitingAuth;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            state = gw.status(big.action_id).await.unwrap().state;
            if state == State::Expired {
                break;
            }
        }
        assert_eq!(state, State::Expired, "{name}");
        let fits = gw.submit(pay(&agent, 5000.0)).await.unwrap();
        assert_eq!(
            fits.status,
            State::Executed,
            "{name}: {}",
            fits.decision.analysis
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_30_exports_a_minute_from_one_agent_are_declined() {
    let (_schema, stores) = stores("sentinel_rate").await;
    for (name, a, b) in stores {
        let gws = [gateway(a), gateway(b)];
        let agent = format!("crm-{}", sentinel_core::ActionId::new());
        let export = || Action::new(&agent, "EXPORT_CSV").with_payload(json!({"record_count": 5}));
        for i in 0..30 {
            let t = gws[i % 2].submit(export()).await.unwrap();
            assert_eq!(t.status, State::Executed, "{name}: export {i}");
        }
        for _ in 0..2 {
            // Declined ones are not counted: the 32nd sees 30 too.
            let t = gws[0].submit(export()).await.unwrap();
            assert_eq!(t.status, State::Declined, "{name}");
            assert_eq!(t.decision.rules, ["Budgets/export-rate"]);
            let want = format!(
                "rate per agent_id `{agent}`, action `EXPORT_CSV`: 30 in the last 60 s + 1 = 31, above 30"
            );
            assert!(
                t.decision.analysis.contains(&want),
                "{name}: {}",
                t.decision.analysis
            );
        }
        let other = Action::new(format!("{agent}-2"), "EXPORT_CSV");
        assert_eq!(gws[1].submit(other).await.unwrap().status, State::Executed);
    }
}

#[tokio::test]
async fn windows_end() {
    let rate = sentinel_core::Pack::from_json_str(
        r#"{"name": "Short", "version": "1.0.0", "applies_to": ["PING"],
            "default": {"risk": 10, "reason": "ok"},
            "rules": [{"id": "r", "when": {"rate": {"window_s": 1, "above": 1}},
                       "effect": "deny", "reason": "too many"}]}"#,
    )
    .unwrap();
    let gw = Gateway::builder().packs([rate]).build().unwrap();
    let ping = || Action::new("a", "PING");
    assert_eq!(gw.submit(ping()).await.unwrap().status, State::Executed);
    assert_eq!(gw.submit(ping()).await.unwrap().status, State::Declined);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(gw.submit(ping()).await.unwrap().status, State::Executed);
}

#[tokio::test]
async fn budgets_fail_closed() {
    // A store without a ledger: nothing the budget covers is auto-approved.
    let gw = gateway(Arc::new(NoLedger(MemoryStore::new())));
    let t = gw.submit(pay("bot", 10.0)).await.unwrap();
    assert_eq!(t.status, State::BlockedAwaitingAuth);
    assert!(
        t.decision
            .analysis
            .starts_with("budget ledger unavailable ("),
        "{}",
        t.decision.analysis
    );
    let export = gw.submit(Action::new("bot", "EXPORT_CSV")).await.unwrap();
    assert_eq!(
        export.status,
        State::Declined,
        "{}",
        export.decision.analysis
    );
    // An amount that cannot be counted makes the budget hold (and reserves nothing).
    let gw = gateway(Arc::new(MemoryStore::new()));
    for payload in [
        json!({"vendor": "ACME"}),
        json!({"amount": "lots"}),
        json!({"amount": -5}),
    ] {
        let t = gw
            .submit(Action::new("bot", "PAY_INVOICE").with_payload(payload.clone()))
            .await
            .unwrap();
        assert_eq!(t.status, State::BlockedAwaitingAuth, "{payload}");
        assert!(
            t.decision.analysis.contains("so taken as above 20000"),
            "{}",
            t.decision.analysis
        );
    }
    // Quoted numbers count by value.
    let t = gw
        .submit(Action::new("bot", "PAY_INVOICE").with_payload(json!({"amount": "20001"})))
        .await
        .unwrap();
    assert_eq!(t.status, State::BlockedAwaitingAuth);
    assert_eq!(
        gw.submit(pay("bot2", 20000.0)).await.unwrap().status,
        State::Executed
    );
}

#[test]
fn bad_budgets_are_refused_with_a_pointer() {
    let with = |when: serde_json::Value| {
        let doc = json!({"name": "B", "version": "1.0.0", "applies_to": ["X"],
            "rules": [{"id": "r", "when": {"all": [when]}, "effect": "deny", "reason": "r"}]});
        sentinel_core::Pack::from_json_str(&doc.to_string())
            .unwrap_err()
            .to_string()
    };
    let e = with(json!({"budget": {"sum": "amount", "window_s": 60, "above": 1}}));
    assert!(
        e.contains("at `/rules/0/when/all/0/budget/sum`: `amount` is not an action path"),
        "{e}"
    );
    let e = with(json!({"rate": {"per": ["agent_id", "payload."], "window_s": 60, "above": 1}}));
    assert!(e.contains("at `/rules/0/when/all/0/rate/per/1`"), "{e}");
    let e = with(json!({"rate": {"window_s": 0, "above": 1}}));
    assert!(
        e.contains("at `/rules/0/when/all/0/rate/window_s`: window `0` s is outside"),
        "{e}"
    );
    let e = with(json!({"rate": {"window_s": 5, "above": 1, "every": 2}}));
    assert!(e.contains("every"), "{e}");
    let e = with(json!({"budget": {"per": [], "window_s": 5, "above": 1}}));
    assert!(e.contains("sum"), "{e}");
}

#[test]
fn lint_reasons_soundly_about_budgets() {
    let b = json!({"budget": {"sum": "payload.amount", "per": ["agent_id"], "window_s": 60, "above": 10}});
    let doc = json!({"name": "L", "version": "1.0.0", "applies_to": ["PAY_INVOICE"],
    "rules": [
        {"id": "one", "when": b, "effect": "deny", "reason": "r"},
        // Written alike, but a budget of its own: not shadowed by `one`.
        {"id": "two", "when": b, "effect": "deny", "reason": "r"},
        // Two budgets: one may hold while the other does not.
        {"id": "both", "when": {"all": [b, {"not": b}]}, "effect": "escalate", "reason": "r"},
        // A contradiction beside a budget is still found.
        {"id": "never", "when": {"all": [b,
            {"gt": {"path": "payload.amount", "value": 10}},
            {"lt": {"path": "payload.amount", "value": 5}}]}, "effect": "escalate", "reason": "r"},
        {"id": "rate", "when": {"not": {"rate": {"window_s": 5, "above": 1}}}, "effect": {"set_risk": 5}, "reason": "r"}
    ]});
    let pack = sentinel_core::Pack::from_json_str(&doc.to_string()).unwrap();
    let findings = sentinel_core::lint::lint(&[pack]);
    let rules: Vec<_> = findings
        .iter()
        .map(|f| f.rule.clone().unwrap_or_default())
        .collect();
    assert_eq!(rules, ["never"], "{findings:#?}");
    assert_eq!(findings[0].lint.as_str(), "never-matches");
}
