//! The README's demo runs end to end (with the Telnyx and Slack simulators) and ends as
//! documented: the production DELETE_USER walks the ladder (an unanswered call, then
//! Slack), the large payment needs two approvers (bob by phone with his PIN, alice in Slack).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use sentinel_server::demo::{self, DemoOptions};

#[tokio::test]
async fn the_demo_runs_every_scenario_to_its_documented_end() {
    let report = demo::run(DemoOptions::simulated()).await.unwrap();
    let ends: Vec<(&str, &str, &str)> = report
        .outcomes
        .iter()
        .map(|o| {
            (
                o.action.as_str(),
                o.first_status.as_str(),
                o.final_status.as_str(),
            )
        })
        .collect();
    assert_eq!(
        ends,
        [
            ("PAY_INVOICE", "EXECUTED", "EXECUTED"),
            ("DROP_TABLE", "DECLINED", "DECLINED"),
            ("EXPORT_CSV", "BLOCKED_AWAITING_AUTH", "DECLINED"),
            ("DELETE_USER", "BLOCKED_AWAITING_AUTH", "APPROVED"),
            ("PAY_INVOICE", "BLOCKED_AWAITING_AUTH", "APPROVED"),
        ]
    );
    // The quorum-2 payment: bob by phone (his number is bound to him, his PIN asked),
    // then alice in Slack; the receipt lists both.
    let unknown_corp = &report.outcomes[4];
    assert_eq!(unknown_corp.agent_id, "session_7f3a");
    assert_eq!(unknown_corp.decided_by, "bob, alice via slack");
    assert!(unknown_corp.ran);
    // The production DELETE_USER walked the ladder: alice's phone unanswered, then Slack.
    assert_eq!(report.outcomes[3].decided_by, "alice via slack");
    assert_eq!(
        report.outcomes[2].decided_by,
        "+15550100002 via voice/speech"
    );
    assert!(report.idempotent_retry);
    assert_eq!(report.final_status["last_question"], "who is Unknown Corp?");
    assert_eq!(report.final_status["last_digit"], "2");

    let text = report.transcript.join("\n");
    for line in [
        "LOCAL TELNYX SIMULATOR",
        "LOCAL SLACK SIMULATOR",
        // [4] production DELETE_USER
        "[telnyx simulator] ☎  placing call 2 to +15550100003 (simulated phone, no real call)",
        "[telnyx simulator] ☎  ring... ring... nobody answers",
        "[ladder] route `production-deletes` step 1 of 3 started: voice to +15550100003, up to 30 s",
        "[ladder] route `production-deletes` step 1 of 3 (voice) ended: failed: the call to +15550100003 was not answered",
        "[ladder] route `production-deletes` step 2 of 3 started: slack to #ops-oncall",
        "[slack simulator] 💬 Sentinel posts to #ops-oncall (simulated workspace, no real Slack): \"Approval needed: DELETE_USER\" [Approve] [Decline]",
        "[slack simulator] 👆 alice (U0ALICE) presses Approve",
        "[slack simulator] ✏️  the message is updated: \"APPROVED by alice via Slack.\"",
        // [5] $10,000 to Unknown Corp, quorum 2
        "[telnyx simulator] ☎  placing call 3 to +15550100004 (simulated phone, no real call)",
        "[telnyx simulator] 🗣  +15550100004 says: \"who is Unknown Corp?\"",
        "[telnyx simulator] 🔊 Sentinel: \"PAY_INVOICE is rated 95 out of 100.",
        "[telnyx simulator] 🗣  +15550100004 says: \"approve\"",
        "[telnyx simulator] 🔊 Sentinel: \"To approve, enter your PIN, then press pound.\"",
        "[telnyx simulator] ☎  +15550100004 keys in the PIN (6 digits, not shown) and #",
        "[telnyx simulator] 🔊 Sentinel: \"Your approval is counted. More approvers are needed before the action can run. Goodbye.\"",
        "[quorum] bob: approved via voice/speech; 1 of 2 approvers: said \"approve\", PIN verified",
        "[ladder] route `payments-high` step 1 of 3 (voice) ended: answered: approved by bob; the quorum needs more approvers",
        "[ladder] route `payments-high` step 2 of 3 started: slack to #payments-oncall",
        "[quorum] alice: approved via slack; 2 of 2 approvers",
        "by bob, alice via slack: quorum of 2 met: approved by bob via voice/speech, alice via slack",
        "[slack simulator] ✏️  the message is updated: \"APPROVED by bob, alice via Slack.\"",
        "Summary",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
    // The quorum met ends the ladder: its last step does not read as a vote wanting more.
    assert!(
        !text.contains("step 2 of 3 (slack) ended: answered"),
        "{text}"
    );
    assert!(
        !text.contains("slack simulator] the press"),
        "a press failed:\n{text}"
    );
    assert!(!text.contains("refused: not the app's bot token"), "{text}");
    // Every lifecycle change reached the admin's SSE stream: 2 per action received, one
    // per decision, plus Q&A and human decisions.
    assert!(report.streamed_events >= 20, "{}", report.streamed_events);
    assert!(
        !text.contains("webhook `"),
        "a simulator webhook failed:\n{text}"
    );
}
