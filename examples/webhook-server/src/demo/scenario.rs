//! One scenario of the demo as the example agent runs it (submit, retry, long-poll, the
//! ladder's narration) and the summary table at the end.

use std::time::{Duration, Instant};

use serde_json::json;

use super::agent::{Client, Scenario};
use super::simulator::Simulator;
use super::slack_simulator::SlackSimulator;
use super::{DemoError, Out, Outcome};

pub(super) async fn run_scenario(
    client: &Client,
    out: &Out,
    simulator: Option<&Simulator>,
    slack: Option<&SlackSimulator>,
    n: usize,
    scenario: Scenario,
    timeout: Duration,
) -> Result<(Outcome, bool), DemoError> {
    let a = &scenario.action;
    let agent_id = a["agent_id"].as_str().unwrap_or_default().to_owned();
    let name = a["action"].as_str().unwrap_or_default().to_owned();
    out.line(format!(
        "[{n}] {}: agent `{agent_id}` → POST /api/sentinel/execute {name} {}",
        scenario.title, a["payload"]
    ));
    if let (Some(sim), Some(script)) = (simulator, &scenario.script) {
        sim.expect(script.clone());
    }
    if let Some(sim) = slack {
        for user in scenario.slack {
            sim.expect_approval(user.clone());
        }
    }
    let mut retried = false;
    let mut action = a.clone();
    if n == 1 {
        action["idempotency_key"] = json!("invoice-2024-117");
    }
    let ticket = client.execute(&action).await?;
    let id = ticket["action_id"].as_str().unwrap_or_default().to_owned();
    let first = ticket["status"].as_str().unwrap_or_default().to_owned();
    out.line(format!(
        "    ← {first} (risk {}): {}",
        ticket["risk_score"],
        ticket["analysis"].as_str().unwrap_or_default()
    ));
    if n == 1 {
        let again = client.execute(&action).await?;
        retried = again["action_id"] == ticket["action_id"] && again["replayed"] == json!(true);
        out.line(format!(
            "    retry with the same idempotency key → same action: {retried}"
        ));
    }

    let mut record = ticket.clone();
    if first == "BLOCKED_AWAITING_AUTH" {
        out.line(format!("    agent long-polls GET /api/sentinel/actions/{{id}}/wait while a human is asked (up to {} s)", timeout.as_secs()));
        let until = Instant::now() + timeout + Duration::from_secs(5);
        record = loop {
            let r = client.wait(&agent_id, &id, 30).await?;
            if r["terminal"] == json!(true) || Instant::now() > until {
                break r;
            }
        };
    }
    if let Some(sim) = simulator {
        // Let the call finish (goodbye, hang-up) before the next scenario.
        sim.wait_idle(Duration::from_secs(10)).await;
    }
    if let Some(sim) = slack {
        sim.wait_idle(Duration::from_secs(10)).await;
        sim.clear_expected();
    }
    if first == "BLOCKED_AWAITING_AUTH" {
        narrate_ladder(client, out, &id).await?;
    }
    let status = record["status"].as_str().unwrap_or_default().to_owned();
    let approval = &record["approval"];
    let decided_by = if approval.is_object() {
        format!(
            "{} via {}",
            approval["by"].as_str().unwrap_or("?"),
            approval["channel"].as_str().unwrap_or("?")
        )
    } else if status == "EXPIRED" {
        "nobody (timeout)".to_owned()
    } else {
        "policy".to_owned()
    };
    let ran = matches!(status.as_str(), "EXECUTED" | "APPROVED");
    if first == "BLOCKED_AWAITING_AUTH" {
        out.line(format!("    ← {status}, decided by {decided_by}"));
    }
    out.line(if ran {
        format!("    agent: approved, going ahead with {name}")
    } else {
        format!("    agent: {status}, not doing {name}")
    });
    let outcome = Outcome {
        title: scenario.title.to_owned(),
        agent_id,
        action: name,
        action_id: id,
        first_status: first,
        final_status: status,
        decided_by,
        ran,
    };
    Ok((outcome, retried))
}

/// How the action walked its route, from its audit trail: each step (what was asked,
/// through which channel, how it ended) and each approver's vote.
async fn narrate_ladder(client: &Client, out: &Out, id: &str) -> Result<(), DemoError> {
    let view = client.show(id).await?;
    for e in view["audit_trail"].as_array().into_iter().flatten() {
        let reason = e["reason"].as_str().unwrap_or_default();
        match e["channel"].as_str() {
            Some("ladder") => out.line(format!("    [ladder] {reason}")),
            Some("quorum") => out.line(format!(
                "    [quorum] {}: {reason}",
                e["actor"].as_str().unwrap_or("?")
            )),
            _ => {}
        }
    }
    Ok(())
}

/// Counts the `lifecycle` events of the admin's SSE stream until it ends.
pub(super) async fn count_events(mut stream: reqwest::Response) -> usize {
    let mut buffer = String::new();
    let mut count = 0;
    while let Ok(Some(chunk)) = stream.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            if frame.lines().any(|l| l == "event: lifecycle") {
                count += 1;
            }
        }
    }
    count
}

pub(super) fn summary(out: &Out, outcomes: &[Outcome], streamed: usize, retried: bool) {
    out.line("");
    out.line("Summary");
    out.line(format!(
        "  {:<26} {:<14} {:<14} {:<22} {:<15} {}",
        "scenario", "agent", "action", "first answer", "final", "decided by"
    ));
    for o in outcomes {
        out.line(format!(
            "  {:<26} {:<14} {:<14} {:<22} {:<15} {}",
            o.title, o.agent_id, o.action, o.first_status, o.final_status, o.decided_by
        ));
    }
    let ran = outcomes.iter().filter(|o| o.ran).count();
    out.line(format!(
        "  {ran} of {} actions ran; idempotent retry {}; {streamed} lifecycle events streamed over SSE to the admin",
        outcomes.len(),
        if retried { "returned the same action" } else { "FAILED" }
    ));
}
