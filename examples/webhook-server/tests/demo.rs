//! The README's demo runs end to end (with the Telnyx simulator) and ends as documented.
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
    let unknown_corp = &report.outcomes[4];
    assert_eq!(unknown_corp.agent_id, "session_7f3a");
    assert_eq!(unknown_corp.decided_by, "+15550100002 via voice/speech");
    assert!(unknown_corp.ran);
    assert_eq!(report.outcomes[3].decided_by, "alice (on-call) via web");
    assert!(report.idempotent_retry);
    assert_eq!(report.final_status["last_question"], "who is Unknown Corp?");
    assert_eq!(report.final_status["last_digit"], "2");

    let text = report.transcript.join("\n");
    for line in [
        "[telnyx simulator] 🗣  the admin says: \"who is Unknown Corp?\"",
        "[telnyx simulator] 🔊 Sentinel: \"PAY_INVOICE is rated 95 out of 100.",
        "[telnyx simulator] 🗣  the admin says: \"approve\"",
        "[telnyx simulator] ☎  ring... ring... nobody answers",
        "LOCAL TELNYX SIMULATOR",
        "Summary",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
    // Every lifecycle change reached the admin's SSE stream: 2 per action received, one
    // per decision, plus Q&A and human decisions.
    assert!(report.streamed_events >= 20, "{}", report.streamed_events);
    assert!(
        !text.contains("webhook `"),
        "a simulator webhook failed:\n{text}"
    );
}
