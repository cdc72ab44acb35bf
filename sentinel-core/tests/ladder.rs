//! The approval ladder with scripted channels: steps one after the other (timeouts, a
//! channel failing at once or later), the end of the ladder (expired, or `ERROR_APPROVER`
//! when the last step failed), the console deciding at any step, quorum (distinct people,
//! the same person twice counting once, one decline declining, every approver in the
//! receipt), and the ladder carried on from the store after a restart and across two
//! instances without a step started twice.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sentinel_core::ladder::{
    Channel, ChannelError, ChannelKind, LadderApprover, Route, RouteMatch, Step, StepRequest,
};
use sentinel_core::store::{AuditKind, MemoryStore, Store};
use sentinel_core::{Action, ActionId, Coded, Gateway, GatewaySpec, Resolution, State};
use serde_json::json;

/// What a scripted channel does at each step it is asked (in turn; then nothing).
#[derive(Debug, Clone, Copy)]
enum Act {
    /// Reaches nobody who answers.
    Silent,
    /// Fails to start (a dial error).
    FailStart,
    /// Starts, then fails (the call is not answered).
    FailLater,
    /// A person approves through it.
    Approve(&'static str),
    /// A person declines through it.
    Decline(&'static str),
}

struct Scripted {
    kind: ChannelKind,
    acts: Mutex<VecDeque<Act>>,
    started: Mutex<Vec<(usize, String)>>,
    resumed: Mutex<Vec<usize>>,
}

impl Scripted {
    fn new(kind: ChannelKind, acts: &[Act]) -> Arc<Self> {
        Arc::new(Self {
            kind,
            acts: Mutex::new(acts.iter().copied().collect()),
            started: Mutex::new(Vec::new()),
            resumed: Mutex::new(Vec::new()),
        })
    }

    fn started(&self) -> Vec<(usize, String)> {
        self.started.lock().unwrap().clone()
    }
}

#[async_trait]
impl Channel for Scripted {
    fn kind(&self) -> ChannelKind {
        self.kind
    }

    async fn start(&self, step: StepRequest) -> Result<(), ChannelError> {
        self.started
            .lock()
            .unwrap()
            .push((step.index, step.to.clone()));
        let act = self.acts.lock().unwrap().pop_front().unwrap_or(Act::Silent);
        let channel = self.kind.as_str();
        match act {
            Act::Silent => Ok(()),
            Act::FailStart => Err(ChannelError::new(channel, "dial error: 503")),
            Act::FailLater => {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    step.reporter.failed("call not answered");
                });
                Ok(())
            }
            Act::Approve(by) | Act::Decline(by) => {
                let approve = matches!(act, Act::Approve(_));
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    let r = if approve {
                        Resolution::approve(by, channel)
                    } else {
                        Resolution::decline(by, channel)
                    };
                    step.request.handle.resolve(r).await.ok();
                });
                Ok(())
            }
        }
    }

    async fn resume(&self, step: StepRequest) -> Result<(), ChannelError> {
        self.resumed.lock().unwrap().push(step.index);
        Ok(())
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn steps(list: &[(ChannelKind, &str, u64)]) -> Vec<Step> {
    list.iter()
        .map(|(k, to, t)| Step::new(*k, *to, ms(*t)))
        .collect()
}

fn gateway(store: Arc<dyn Store>, routes: Vec<Route>, channels: &[Arc<Scripted>]) -> Gateway {
    let channels = channels
        .iter()
        .map(|c| Arc::clone(c) as Arc<dyn Channel>)
        .collect();
    let ladder = LadderApprover::with_poll(routes, channels, ms(20)).unwrap();
    Gateway::builder()
        .store_arc(store)
        .approver(ladder)
        .escalation_timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Escalates (VaultKeeper, risk 95).
fn payment() -> Action {
    Action::new("session_9", "PAY_INVOICE")
        .with_payload(json!({"amount": 10000, "vendor": "Unknown Corp"}))
}

async fn settled(gw: &Gateway, id: ActionId) -> sentinel_core::ActionRecord {
    for _ in 0..300 {
        let r = gw.status(id).await.unwrap();
        if r.state.is_terminal() {
            return r;
        }
        tokio::time::sleep(ms(10)).await;
    }
    panic!("action `{id}` was not decided");
}

async fn ladder_notes(gw: &Gateway, id: ActionId) -> Vec<String> {
    gw.audit_trail(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == AuditKind::Note && e.channel == "ladder")
        .map(|e| e.reason)
        .collect()
}

#[tokio::test]
async fn a_step_that_times_out_hands_over_to_the_next() {
    let voice = Scripted::new(ChannelKind::Voice, &[Act::Silent]);
    let slack = Scripted::new(ChannelKind::Slack, &[Act::Approve("alice")]);
    let route = Route::new(
        "payments",
        steps(&[
            (ChannelKind::Voice, "+15550100002", 150),
            (ChannelKind::Slack, "#oncall", 5000),
        ]),
    );
    let gw = gateway(
        Arc::new(MemoryStore::new()),
        vec![route],
        &[voice.clone(), slack.clone()],
    );
    let ticket = gw.submit(payment()).await.unwrap();
    assert_eq!(ticket.status, State::BlockedAwaitingAuth);
    let started = std::time::Instant::now();
    let record = settled(&gw, ticket.action_id).await;
    assert_eq!(record.state, State::Approved);
    let approval = record.approval.unwrap();
    assert_eq!(
        (approval.by.as_str(), approval.channel.as_str()),
        ("alice", "slack")
    );
    assert!(
        started.elapsed() >= ms(150),
        "slack was asked before the call's timeout"
    );
    assert_eq!(voice.started(), [(0, "+15550100002".to_owned())]);
    assert_eq!(slack.started(), [(1, "#oncall".to_owned())]);
    let notes = ladder_notes(&gw, ticket.action_id).await;
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(
        notes[0].starts_with(
            "route `payments` step 1 of 2 started: voice to +15550100002, up to 0.15 s"
        ),
        "{notes:?}"
    );
    assert!(
        notes[1].starts_with(
            "route `payments` step 1 of 2 (voice) ended: timeout: no decision within 0.15 s"
        ),
        "{notes:?}"
    );
    assert!(
        notes[2].starts_with("route `payments` step 2 of 2 started: slack to #oncall"),
        "{notes:?}"
    );
}

#[tokio::test]
async fn a_failing_channel_is_skipped_and_only_the_last_failure_is_terminal() {
    // Fails at once, then fails after starting: the console step still decides.
    let voice = Scripted::new(ChannelKind::Voice, &[Act::FailStart, Act::FailLater]);
    let route = Route::new(
        "r",
        steps(&[
            (ChannelKind::Voice, "+1555", 5000),
            (ChannelKind::Voice, "+1556", 5000),
            (ChannelKind::Console, "", 5000),
        ]),
    );
    let gw = gateway(
        Arc::new(MemoryStore::new()),
        vec![route],
        std::slice::from_ref(&voice),
    );
    let id = gw.submit(payment()).await.unwrap().action_id;
    // Wait for the console step.
    for _ in 0..200 {
        if ladder_notes(&gw, id)
            .await
            .iter()
            .any(|n| n.contains("step 3 of 3 started"))
        {
            break;
        }
        tokio::time::sleep(ms(10)).await;
    }
    assert_eq!(
        gw.status(id).await.unwrap().state,
        State::BlockedAwaitingAuth
    );
    let notes = ladder_notes(&gw, id).await;
    assert!(
        notes
            .iter()
            .any(|n| n.ends_with("(voice) ended: failed: dial error: 503")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.ends_with("(voice) ended: failed: call not answered")),
        "{notes:?}"
    );
    let record = gw
        .resolve(id, Resolution::approve("bob", "console"))
        .await
        .unwrap();
    assert_eq!(record.state, State::Approved);

    // Every step failing: ERROR_APPROVER, naming the last failure.
    let voice = Scripted::new(ChannelKind::Voice, &[Act::FailLater, Act::FailStart]);
    let route = Route::new(
        "r",
        steps(&[
            (ChannelKind::Voice, "+1", 5000),
            (ChannelKind::Voice, "+2", 5000),
        ]),
    );
    let gw = gateway(Arc::new(MemoryStore::new()), vec![route], &[voice]);
    let id = gw.submit(payment()).await.unwrap().action_id;
    let record = settled(&gw, id).await;
    assert_eq!(record.state, State::ErrorApprover);
    let last = gw.audit_trail(id).await.unwrap().pop().unwrap();
    assert_eq!(
        last.reason,
        "no channel could be reached: the last step of route `r` failed: dial error: 503"
    );
    let err = gw.authorize_submitted(id, &payment()).await.unwrap_err();
    assert_eq!(err.code(), sentinel_core::ErrorCode::ApproverFailed);
}

#[tokio::test]
async fn after_the_last_step_the_action_expires_before_its_deadline() {
    let voice = Scripted::new(ChannelKind::Voice, &[Act::FailStart]);
    let route = Route::new(
        "r",
        steps(&[
            (ChannelKind::Voice, "+1", 5000),
            (ChannelKind::Console, "", 100),
        ]),
    );
    let gw = gateway(Arc::new(MemoryStore::new()), vec![route], &[voice]);
    let started = std::time::Instant::now();
    let id = gw.submit(payment()).await.unwrap().action_id;
    let record = settled(&gw, id).await;
    assert_eq!(
        record.state,
        State::Expired,
        "an earlier failure is not terminal"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let last = gw.audit_trail(id).await.unwrap().pop().unwrap();
    assert_eq!(
        last.reason,
        "every step of route `r` ended without a decision"
    );
    assert_eq!(last.channel, "ladder");
}

#[tokio::test]
async fn routes_are_chosen_by_module_action_and_risk() {
    let voice = Scripted::new(ChannelKind::Voice, &[]);
    let slack = Scripted::new(ChannelKind::Slack, &[]);
    let routes = vec![
        Route::new("payments-high", steps(&[(ChannelKind::Voice, "+1", 5000)])).when(
            RouteMatch::default()
                .modules(["VaultKeeper"])
                .risk(Some(90), None),
        ),
        Route::new("ops", steps(&[(ChannelKind::Slack, "#ops", 5000)])).when(
            RouteMatch::default()
                .actions(["DELETE_USER"])
                .risk(None, Some(80)),
        ),
    ];
    let gw = gateway(
        Arc::new(MemoryStore::new()),
        routes,
        &[voice.clone(), slack.clone()],
    );
    gw.submit(payment()).await.unwrap();
    let delete = Action::new("ops-bot", "DELETE_USER")
        .with_payload(json!({"user_id": "u1", "environment": "production"}));
    gw.submit(delete).await.unwrap();
    // A payment of risk 60 matches neither route: nobody is contacted.
    let other = Action::new("billing-bot", "PAY_INVOICE")
        .with_payload(json!({"amount": 2000, "vendor": "Acme"}));
    let quiet = gw.submit(other).await.unwrap();
    assert_eq!(quiet.status, State::BlockedAwaitingAuth);
    tokio::time::sleep(ms(100)).await;
    assert_eq!(voice.started(), [(0, "+1".to_owned())]);
    assert_eq!(slack.started(), [(0, "#ops".to_owned())]);
    assert!(ladder_notes(&gw, quiet.action_id).await.is_empty());
}

#[tokio::test]
async fn quorum_counts_people_not_channels_and_lists_every_approver() {
    let slack = Scripted::new(ChannelKind::Slack, &[Act::Approve("alice")]);
    let route = Route::new(
        "two-people",
        steps(&[
            (ChannelKind::Slack, "#a", 5000),
            (ChannelKind::Console, "", 5000),
        ]),
    )
    .with_quorum(2);
    let gw = gateway(
        Arc::new(MemoryStore::new()),
        vec![route],
        std::slice::from_ref(&slack),
    );
    let id = gw.submit(payment()).await.unwrap().action_id;
    // Alice approves in Slack: one of two; the ladder moves on to the console step.
    for _ in 0..200 {
        if ladder_notes(&gw, id)
            .await
            .iter()
            .any(|n| n.contains("step 2 of 2 started"))
        {
            break;
        }
        tokio::time::sleep(ms(10)).await;
    }
    let notes = ladder_notes(&gw, id).await;
    assert!(
        notes.iter().any(|n| n.ends_with(
            "(slack) ended: answered: approved by alice; the quorum needs more approvers"
        )),
        "{notes:?}"
    );
    // Alice again, through the console: counts once.
    let r = gw
        .resolve(id, Resolution::approve("alice", "console"))
        .await
        .unwrap();
    assert_eq!(r.state, State::BlockedAwaitingAuth);
    assert!(r.approval.is_none());
    // Bob: the quorum is met.
    let r = gw
        .resolve(
            id,
            Resolution::approve("bob", "console").with_reason("checked the invoice"),
        )
        .await
        .unwrap();
    assert_eq!(r.state, State::Approved);
    let a = r.approval.unwrap();
    assert_eq!(a.by, "alice, bob");
    assert_eq!(
        a.reason,
        "quorum of 2 met: approved by alice via slack, bob via console: checked the invoice"
    );
    let votes: Vec<_> = gw
        .audit_trail(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.channel == "quorum")
        .map(|e| (e.actor, e.reason))
        .collect();
    assert_eq!(votes.len(), 3, "{votes:?}");
    assert_eq!(
        votes[0],
        (
            "alice".to_owned(),
            "approved via slack; 1 of 2 approvers".to_owned()
        )
    );
    assert!(
        votes[1]
            .1
            .contains("`alice` approved before and counts once (1 of 2)"),
        "{votes:?}"
    );
    // The guarded function may run once.
    gw.authorize_submitted(id, &payment()).await.unwrap();
}

#[tokio::test]
async fn one_decline_declines_a_quorum() {
    let slack = Scripted::new(ChannelKind::Slack, &[Act::Decline("bob")]);
    let route = Route::new("q", steps(&[(ChannelKind::Slack, "#a", 5000)])).with_quorum(3);
    let gw = gateway(Arc::new(MemoryStore::new()), vec![route], &[slack]);
    let id = gw.submit(payment()).await.unwrap().action_id;
    let r = gw
        .resolve(id, Resolution::approve("alice", "console"))
        .await
        .unwrap();
    assert_eq!(r.state, State::BlockedAwaitingAuth);
    let r = settled(&gw, id).await;
    assert_eq!(r.state, State::Declined);
    let a = r.approval.unwrap();
    assert_eq!((a.by.as_str(), a.channel.as_str()), ("bob", "slack"));
    // Decided: a late approval is refused, as without a quorum.
    assert!(
        gw.resolve(id, Resolution::approve("carol", "console"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_restart_resumes_the_ladder_at_its_step() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let route = || {
        Route::new(
            "r",
            steps(&[
                (ChannelKind::Voice, "+1", 5000),
                (ChannelKind::Slack, "#s", 400),
                (ChannelKind::Voice, "+2", 5000),
            ]),
        )
    };
    let voice = Scripted::new(ChannelKind::Voice, &[Act::FailStart]);
    let slack = Scripted::new(ChannelKind::Slack, &[Act::Silent]);
    let first = gateway(
        store.clone(),
        vec![route()],
        &[voice.clone(), slack.clone()],
    );
    let id = first.submit(payment()).await.unwrap().action_id;
    for _ in 0..200 {
        if slack.started().len() == 1 {
            break;
        }
        tokio::time::sleep(ms(5)).await;
    }
    assert_eq!(slack.started().len(), 1);
    drop(first); // the process dies during the Slack step

    // Two instances pick the store up: the Slack step is resumed, not started again, and
    // the next step is started by one of them only.
    let voice_a = Scripted::new(ChannelKind::Voice, &[Act::Approve("carol")]);
    let voice_b = Scripted::new(ChannelKind::Voice, &[Act::Approve("carol")]);
    let slack_a = Scripted::new(ChannelKind::Slack, &[]);
    let slack_b = Scripted::new(ChannelKind::Slack, &[]);
    let a = gateway(
        store.clone(),
        vec![route()],
        &[voice_a.clone(), slack_a.clone()],
    );
    let b = gateway(
        store.clone(),
        vec![route()],
        &[voice_b.clone(), slack_b.clone()],
    );
    a.recover().await.unwrap();
    b.recover().await.unwrap();
    let record = settled(&a, id).await;
    assert_eq!(record.state, State::Approved);
    assert_eq!(record.approval.unwrap().by, "carol");
    assert!(slack_a.started().is_empty() && slack_b.started().is_empty());
    assert_eq!(*slack_a.resumed.lock().unwrap(), [1]);
    let third: Vec<_> = voice_a
        .started()
        .into_iter()
        .chain(voice_b.started())
        .collect();
    assert_eq!(third, [(2, "+2".to_owned())], "the third step ran once");
    let notes = ladder_notes(&a, id).await;
    let started = notes.iter().filter(|n| n.contains(" started: ")).count();
    let ended = notes.iter().filter(|n| n.contains(" ended: ")).count();
    assert_eq!((started, ended), (3, 2), "{notes:?}");
    let attempts = store.attempts(id).await.unwrap();
    assert_eq!(attempts.len(), 3);
}

#[tokio::test]
async fn the_configuration_builds_a_ladder() {
    let spec = GatewaySpec::from_toml_str(
        r#"
        [[routes]]
        name = "all"
        quorum = 2
        steps = [{ channel = "console", timeout_s = 0.2 }]
        "#,
    )
    .unwrap();
    let gw = spec.build().await.unwrap();
    assert_eq!(gw.approver_name(), Some("ladder"));
    let id = gw.submit(payment()).await.unwrap().action_id;
    let r = gw
        .resolve(id, Resolution::approve("alice", "console"))
        .await
        .unwrap();
    assert_eq!(
        r.state,
        State::BlockedAwaitingAuth,
        "quorum 2 from the file"
    );
    assert_eq!(settled(&gw, id).await.state, State::Expired);

    // A voice step needs the phone approver; a Slack step its feature and its secrets.
    for (text, key) in [
        (
            "[[routes]]\nname = \"v\"\nsteps = [{ channel = \"voice\", to = \"+15550100001\", timeout_s = 5 }]\n",
            "routes[0].steps[0].channel",
        ),
        (
            "[channels.slack]\nbot_token_env = \"SENTINEL_TEST_UNSET_SLACK_TOKEN\"\n[[routes]]\nname = \"s\"\nsteps = [{ channel = \"slack\", to = \"#x\", timeout_s = 5 }]\n",
            // Without the feature, the channel is refused; with it, the token is missing.
            if cfg!(feature = "slack") {
                "channels.slack.bot_token_env"
            } else {
                "routes[0].steps[0].channel"
            },
        ),
    ] {
        let e = GatewaySpec::from_toml_str(text)
            .unwrap()
            .build()
            .await
            .unwrap_err();
        assert_eq!(e.key, key, "{e}");
    }
}
