//! `guard` records an action with one store write (`Store::create_decided`): the calls it
//! makes, the audit chain it leaves, its single-execution claim, metrics and events, with
//! the memory store's own implementation and with the trait's default (composed of
//! `create`, `transition` and `claim_execution`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sentinel_core::store::{ActionPage, ActionQuery, Decided, verify_audit_log};
use sentinel_core::{
    Action, ActionId, ActionRecord, AuditEvent, AuditKind, CallbackApprover, Created, Gateway,
    GuardError, MemoryStore, Resolution, State, Store, StoreError, Transition,
};
use serde_json::json;

fn paid() -> Action {
    Action::new("billing", "PAY_INVOICE").with_payload(json!({"amount": 120, "vendor": "AWS"}))
}

fn risky() -> Action {
    Action::new("billing", "PAY_INVOICE")
        .with_payload(json!({"amount": 10_000, "vendor": "Unknown Corp"}))
}

/// A memory store that logs which calls reach it; `composed` leaves `create_decided` to
/// the trait's default.
struct Counting {
    inner: MemoryStore,
    calls: Mutex<Vec<&'static str>>,
    composed: bool,
}

impl Counting {
    fn new(composed: bool) -> Arc<Self> {
        Arc::new(Self {
            inner: MemoryStore::new(),
            calls: Mutex::new(Vec::new()),
            composed,
        })
    }

    fn log(&self, call: &'static str) {
        self.calls.lock().unwrap().push(call);
    }

    fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

#[async_trait]
impl Store for Counting {
    async fn create_decided(
        &self,
        id: ActionId,
        action: Action,
        decided: Decided,
    ) -> Result<Created, StoreError> {
        self.log("create_decided");
        if self.composed {
            // The trait's default, through this store's own (logged) calls.
            let mut events = match self.create(id, &action).await? {
                Created::New(_, events) => events,
                other => return Ok(other),
            };
            let (mut record, event) = self.transition(id, decided.transition).await?;
            events.push(event);
            if decided.claim_execution
                && let Some(event) = self.claim_execution(id).await?
            {
                record.executed_at = Some(event.at);
                events.push(event);
            }
            return Ok(Created::New(record, events));
        }
        self.inner.create_decided(id, action, decided).await
    }
    async fn create(&self, id: ActionId, action: &Action) -> Result<Created, StoreError> {
        self.log("create");
        self.inner.create(id, action).await
    }
    async fn get(&self, id: ActionId) -> Result<ActionRecord, StoreError> {
        self.log("get");
        self.inner.get(id).await
    }
    async fn transition(
        &self,
        id: ActionId,
        t: Transition,
    ) -> Result<(ActionRecord, AuditEvent), StoreError> {
        self.log("transition");
        self.inner.transition(id, t).await
    }
    async fn claim_execution(&self, id: ActionId) -> Result<Option<AuditEvent>, StoreError> {
        self.log("claim_execution");
        self.inner.claim_execution(id).await
    }
    async fn append_note(
        &self,
        id: ActionId,
        actor: &str,
        channel: &str,
        text: &str,
    ) -> Result<AuditEvent, StoreError> {
        self.inner.append_note(id, actor, channel, text).await
    }
    async fn audit_trail(&self, id: ActionId) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.audit_trail(id).await
    }
    async fn latest(&self) -> Result<Option<ActionRecord>, StoreError> {
        self.inner.latest().await
    }
    async fn in_states(&self, states: &[State]) -> Result<Vec<ActionRecord>, StoreError> {
        self.inner.in_states(states).await
    }
    async fn claim_stale(&self, id: ActionId, before: DateTime<Utc>) -> Result<bool, StoreError> {
        self.inner.claim_stale(id, before).await
    }
    async fn audit_log(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.audit_log(after, limit).await
    }
    async fn audit_anchor(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.inner.audit_anchor().await
    }
    async fn audit_head(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.inner.audit_head().await
    }
    async fn records_page(
        &self,
        after: Option<ActionId>,
        limit: usize,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        self.inner.records_page(after, limit).await
    }
    async fn find_actions(&self, query: &ActionQuery) -> Result<ActionPage, StoreError> {
        self.inner.find_actions(query).await
    }
    fn is_bounded(&self) -> bool {
        true
    }
}

fn gateway(store: &Arc<Counting>) -> Gateway {
    Gateway::builder()
        .store_arc(Arc::clone(store) as Arc<dyn Store>)
        .build()
        .unwrap()
}

/// (kind, from, to) of each event.
fn shape(trail: &[AuditEvent]) -> Vec<(AuditKind, Option<State>, State)> {
    trail.iter().map(|e| (e.kind, e.from, e.to)).collect()
}

fn executed_trail() -> Vec<(AuditKind, Option<State>, State)> {
    vec![
        (AuditKind::Transition, None, State::Received),
        (
            AuditKind::Transition,
            Some(State::Received),
            State::Analyzing,
        ),
        (
            AuditKind::Transition,
            Some(State::Analyzing),
            State::Executed,
        ),
        (AuditKind::Execution, Some(State::Executed), State::Executed),
    ]
}

#[tokio::test]
async fn an_auto_approved_guard_is_one_write_with_the_whole_trail() {
    for composed in [false, true] {
        let store = Counting::new(composed);
        let gw = gateway(&store);
        let mut events = gw.subscribe();
        let permit = gw.authorize(paid()).await.unwrap();
        let calls = store.take();
        if composed {
            assert_eq!(
                calls,
                ["create_decided", "create", "transition", "claim_execution"]
            );
        } else {
            assert_eq!(calls, ["create_decided"], "one write, nothing read back");
        }
        let id = permit.action_id;
        assert_eq!(permit.record.state, State::Executed);
        assert!(permit.record.executed_at.is_some(), "claimed in the write");
        let decision = permit.record.decision.as_ref().unwrap();
        assert_eq!(decision.action_id, id);
        assert!(decision.rules.iter().any(|r| r.starts_with("VaultKeeper/")));

        // The record as stored is the permit's, and every event is on the chain.
        let stored = gw.status(id).await.unwrap();
        assert_eq!(stored, permit.record);
        assert!(stored.created_at <= stored.updated_at);
        let trail = gw.audit_trail(id).await.unwrap();
        assert_eq!(shape(&trail), executed_trail());
        assert_eq!(
            trail.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(trail[0].at, stored.created_at);
        assert_eq!(trail[3].at, stored.executed_at.unwrap());
        assert_eq!(verify_audit_log(gw.store().as_ref()).await.unwrap(), Ok(4));

        // Subscribers saw the same four events, in order.
        let mut seen = Vec::new();
        while let Ok(e) = events.try_recv() {
            seen.push(e);
        }
        assert_eq!(seen, trail);

        // The single execution is taken: a second claim through the receipt path fails.
        let again = gw.authorize_submitted(id, &paid()).await.unwrap_err();
        assert!(
            matches!(again, GuardError::AlreadyExecuted { .. }),
            "{again:?}"
        );

        // Counted once, as a decision and not as a pending approval.
        let m = gw.metrics().snapshot();
        assert_eq!(
            m.value("sentinel_decisions_total", &[("status", "EXECUTED")]),
            Some(1.0)
        );
        assert_eq!(m.value("sentinel_approvals_pending", &[]), Some(0.0));
    }
}

#[tokio::test]
async fn guard_runs_the_function_once_and_the_chain_holds_over_many() {
    let store = Counting::new(false);
    let gw = gateway(&store);
    let ran = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for _ in 0..50 {
        let ran = Arc::clone(&ran);
        let out = gw
            .guard(paid(), || async move {
                ran.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                "paid"
            })
            .await
            .unwrap();
        assert_eq!(out, "paid");
    }
    assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 50);
    assert_eq!(
        verify_audit_log(gw.store().as_ref()).await.unwrap(),
        Ok(200)
    );
    let executed = gw.store().in_states(&[State::Executed]).await.unwrap();
    assert_eq!(executed.len(), 50);
    assert!(executed.iter().all(|r| r.executed_at.is_some()));
}

#[tokio::test]
async fn a_declined_guard_is_one_write_and_runs_nothing() {
    let store = Counting::new(false);
    let gw = gateway(&store);
    let drop = Action::new("ops", "DROP_TABLE").with_payload(json!({"table": "users"}));
    let err = gw
        .guard(drop, || async { panic!("must not run") })
        .await
        .unwrap_err();
    let GuardError::Denied(d) = err else {
        panic!("{err:?}")
    };
    assert_eq!(store.take(), ["create_decided"]);
    let trail = gw.audit_trail(d.action_id).await.unwrap();
    assert_eq!(
        shape(&trail)[2],
        (
            AuditKind::Transition,
            Some(State::Analyzing),
            State::Declined
        )
    );
    assert_eq!(trail.len(), 3, "no execution");
    assert_eq!(verify_audit_log(gw.store().as_ref()).await.unwrap(), Ok(3));
}

#[tokio::test]
async fn an_escalated_guard_waits_for_the_human_then_claims() {
    for composed in [false, true] {
        let store = Counting::new(composed);
        let approver = CallbackApprover::new("web", |req| async move {
            req.handle
                .resolve(Resolution::approve("alice", "web"))
                .await
                .map_err(|e| sentinel_core::ApproverError::new(e.to_string()))?;
            Ok(())
        });
        let gw = Gateway::builder()
            .store_arc(Arc::clone(&store) as Arc<dyn Store>)
            .approver(approver)
            .build()
            .unwrap();
        let permit = gw.authorize(risky()).await.unwrap();
        assert_eq!(permit.record.state, State::Approved);
        let calls = store.take();
        assert_eq!(calls[0], "create_decided");
        assert_eq!(calls.iter().filter(|c| **c == "claim_execution").count(), 1);
        let trail = gw.audit_trail(permit.action_id).await.unwrap();
        let states: Vec<State> = trail.iter().map(|e| e.to).collect();
        assert_eq!(
            states,
            [
                State::Received,
                State::Analyzing,
                State::BlockedAwaitingAuth,
                State::Approved,
                State::Approved,
            ]
        );
        assert_eq!(trail[4].kind, AuditKind::Execution);
        assert!(trail[2].reason.contains("Unknown Corp") || !trail[2].reason.is_empty());
        assert_eq!(verify_audit_log(gw.store().as_ref()).await.unwrap(), Ok(5));
        let m = gw.metrics().snapshot();
        assert_eq!(
            m.value(
                "sentinel_decisions_total",
                &[("status", "BLOCKED_AWAITING_AUTH")]
            ),
            Some(1.0)
        );
        assert_eq!(m.value("sentinel_approvals_pending", &[]), Some(0.0));
    }
}

#[tokio::test]
async fn keyed_guards_keep_the_idempotent_path() {
    let store = Counting::new(false);
    let gw = gateway(&store);
    let keyed = paid().with_idempotency_key("inv-1");
    gw.authorize(keyed.clone()).await.unwrap();
    assert_eq!(
        store.take(),
        ["create", "transition", "get", "claim_execution"]
    );
    let again = gw.authorize(keyed).await.unwrap_err();
    assert!(
        matches!(again, GuardError::AlreadyExecuted { .. }),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_refused_transition_writes_nothing() {
    let store = MemoryStore::new();
    let id = ActionId::new();
    // `ANALYZING` cannot become `APPROVED` without a human's pending state first.
    let step = Transition::new(State::Approved, "sentinel", "policy", "");
    let refused = store
        .create_decided(id, paid(), Decided::new(Utc::now(), step, true))
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Transition(_)), "{refused:?}");
    assert!(matches!(store.get(id).await, Err(StoreError::NotFound(_))));
    assert!(store.audit_log(0, 10).await.unwrap().is_empty());
    assert_eq!(store.len(), 0);
}

/// A scorer that may do I/O (the trait's default `scores_at_once`), scoring as the offline
/// scorer does.
struct Remote(sentinel_core::OfflineScorer);

#[async_trait]
impl sentinel_core::RiskScorer for Remote {
    fn name(&self) -> &str {
        "remote"
    }

    async fn assess(
        &self,
        action: &Action,
        context: &sentinel_core::ScoreContext,
    ) -> Result<sentinel_core::Assessment, sentinel_core::ScorerError> {
        self.0.assess(action, context).await
    }
}

#[tokio::test]
async fn submit_with_a_scorer_that_answers_at_once_is_one_write_and_leaves_the_claim() {
    let store = Counting::new(false);
    let gw = gateway(&store);
    let mut reported = None;
    let ticket = gw
        .submit_reporting(paid(), |id| reported = Some(id))
        .await
        .unwrap();
    assert_eq!(
        store.take(),
        ["create_decided"],
        "recorded with its decision"
    );
    assert_eq!(reported, Some(ticket.action_id), "the id is reported");
    assert_eq!(ticket.status, State::Executed);
    let stored = gw.status(ticket.action_id).await.unwrap();
    assert!(stored.executed_at.is_none(), "submit claims no execution");
    let trail = gw.audit_trail(ticket.action_id).await.unwrap();
    assert_eq!(shape(&trail), executed_trail()[..3].to_vec());
    // The caller claims the single execution, once.
    gw.authorize_submitted(ticket.action_id, &paid())
        .await
        .unwrap();
    let again = gw
        .authorize_submitted(ticket.action_id, &paid())
        .await
        .unwrap_err();
    assert!(
        matches!(again, GuardError::AlreadyExecuted { .. }),
        "{again:?}"
    );
    assert_eq!(verify_audit_log(gw.store().as_ref()).await.unwrap(), Ok(4));
}

#[tokio::test]
async fn a_submission_decided_at_once_reports_its_id_before_the_approver_answers() {
    // The approver's request never returns (a dial that hangs): the id is reported once
    // the one write is durable, so a server that stops waiting can still name the action.
    let store = Counting::new(false);
    let approver = CallbackApprover::new("hangs", |_req| std::future::pending());
    let gw = Gateway::builder()
        .store_arc(Arc::clone(&store) as Arc<dyn Store>)
        .approver(approver)
        .build()
        .unwrap();
    let (sender, reported) = tokio::sync::oneshot::channel();
    let submitting = tokio::spawn({
        let gw = gw.clone();
        async move {
            gw.submit_reporting(risky(), move |id| {
                let _ = sender.send(id);
            })
            .await
        }
    });
    let id = tokio::time::timeout(std::time::Duration::from_secs(5), reported)
        .await
        .expect("the id is reported while the approver hangs")
        .unwrap();
    assert!(!submitting.is_finished(), "the approver is still asking");
    assert_eq!(store.take(), ["create_decided"]);
    let stored = gw.status(id).await.unwrap();
    assert_eq!(stored.state, State::BlockedAwaitingAuth);
    submitting.abort();
}

#[tokio::test]
async fn submit_with_a_scorer_that_may_do_io_records_the_action_before_deciding() {
    let store = Counting::new(false);
    let gw = Gateway::builder()
        .store_arc(Arc::clone(&store) as Arc<dyn Store>)
        .scorer(Remote(sentinel_core::OfflineScorer))
        .build()
        .unwrap();
    let ticket = gw.submit(paid()).await.unwrap();
    assert_eq!(ticket.status, State::Executed);
    assert_eq!(
        store.take(),
        ["create", "transition"],
        "ANALYZING is recorded first"
    );
}
