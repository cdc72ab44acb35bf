//! The Sentinel demo: agents of the three seed modules (VaultKeeper, PrivacyShield,
//! OpsGuard) act through `guard()`, in-process, with the built-in packs and the offline
//! scorer. A scripted admin stands in for the phone call: no accounts needed.

use std::time::Duration;

use sentinel_core::{
    Action, ApprovalRequest, ApproverError, CallbackApprover, Gateway, GuardError, Resolution,
};
use serde_json::json;

/// The scripted admin: asks a question about the payment, then approves it; declines the
/// data export; does not pick up for anything else (that action expires).
async fn scripted_admin(req: ApprovalRequest) -> Result<(), ApproverError> {
    let d = &req.decision;
    println!(
        "    📞 calling the admin: \"{} Risk {} of 100. Press 1 to approve, 2 to ask questions.\"",
        d.analysis, d.risk_score
    );
    let handle = req.handle.clone();
    let action = req.action.action.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let done = match action.as_str() {
            "PAY_INVOICE" => {
                println!("    ☎  admin presses 2 and asks: \"who is Unknown Corp?\"");
                let _ = handle.set_qna_mode(true, "+15550100", "voice/dtmf").await;
                let answer = handle
                    .explain("who is Unknown Corp?")
                    .await
                    .unwrap_or_default();
                println!("    🔊 Sentinel answers: \"{answer}\"");
                println!("    ☎  admin says: \"ok, approve it\"");
                handle
                    .resolve(
                        Resolution::approve("+15550100", "voice/speech")
                            .with_reason("admin approved after Q&A"),
                    )
                    .await
            }
            "EXPORT_CSV" => {
                println!("    ☎  admin says: \"no, decline that export\"");
                handle
                    .resolve(
                        Resolution::decline("+15550100", "voice/speech")
                            .with_reason("no bulk exports this week"),
                    )
                    .await
            }
            _ => {
                println!("    ☎  nobody picks up; the action will expire");
                return;
            }
        };
        if let Err(e) = done {
            eprintln!("    resolve failed: {e}");
        }
    });
    Ok(())
}

fn scenarios() -> Vec<(&'static str, Action)> {
    let act = |agent: &str, name: &str, payload, why: &str| {
        Action::new(agent, name)
            .with_payload(payload)
            .with_reasoning(why)
    };
    vec![
        (
            "VaultKeeper",
            act(
                "billing-bot",
                "PAY_INVOICE",
                json!({"amount": 120, "vendor": "AWS"}),
                "monthly hosting bill",
            ),
        ),
        (
            "VaultKeeper",
            act(
                "session_7f3a",
                "PAY_INVOICE",
                json!({"amount": 10000, "vendor": "Unknown Corp"}),
                "vendor says the invoice is overdue; pay now",
            ),
        ),
        (
            "PrivacyShield",
            act(
                "report-bot",
                "EXPORT_CSV",
                json!({"record_count": 8, "contains_pii": false}),
                "weekly KPI sheet",
            ),
        ),
        (
            "PrivacyShield",
            act(
                "report-bot",
                "EXPORT_CSV",
                json!({"record_count": 200, "contains_pii": true}),
                "marketing asked for the customer list",
            ),
        ),
        (
            "OpsGuard",
            act(
                "ops-bot",
                "RESTART_SERVER",
                json!({"server": "api-2", "environment": "staging"}),
                "memory leak",
            ),
        ),
        (
            "OpsGuard",
            act(
                "ops-bot",
                "DROP_TABLE",
                json!({"table": "users"}),
                "cleanup of old data",
            ),
        ),
        (
            "OpsGuard",
            act(
                "ops-bot",
                "DELETE_USER",
                json!({"user_id": "u-42", "environment": "production"}),
                "GDPR request",
            ),
        ),
    ]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gateway = Gateway::builder()
        .approver(CallbackApprover::new("scripted-admin", scripted_admin))
        .escalation_timeout(Duration::from_secs(2))
        .build()?;
    println!(
        "Sentinel demo: packs {}, scorer `{}`, approver `{}`\n",
        gateway
            .packs()
            .iter()
            .map(|p| format!("{}@{}", p.name(), p.version()))
            .collect::<Vec<_>>()
            .join(", "),
        gateway.scorer_name(),
        gateway.approver_name().unwrap_or("none")
    );

    let mut summary = Vec::new();
    for (module, action) in scenarios() {
        println!(
            "[{module}] {} wants {} {}",
            action.agent_id,
            action.action,
            serde_json::Value::Object(action.payload.clone())
        );
        let name = action.action.clone();
        // `authorize` is the first half of `guard`: it says who approved before the tool runs.
        let outcome = gateway.authorize(action).await;
        let line = match &outcome {
            Ok(permit) => match &permit.record.approval {
                Some(a) => format!("APPROVED — by {} via {}; the tool ran", a.by, a.channel),
                None => "EXECUTED — low risk, approved automatically; the tool ran".to_owned(),
            },
            Err(GuardError::Denied(d)) => format!("DECLINED — {}", d.analysis),
            Err(GuardError::Expired { .. }) => {
                "EXPIRED — nobody approved in time; the tool did not run".to_owned()
            }
            Err(e) => format!("NOT RUN — {e}"),
        };
        println!("    → {line}\n");
        summary.push(format!(
            "{module:<14} {name:<15} {}",
            line.split(" — ").next().unwrap_or_default()
        ));
    }

    if let Some(latest) = gateway.store().latest().await? {
        println!("Audit trail of the last action ({}):", latest.id);
        for e in gateway.audit_trail(latest.id).await? {
            println!(
                "  #{:<3} {:<22} by {:<10} via {:<8} {}",
                e.seq,
                e.to.as_str(),
                e.actor,
                e.channel,
                e.reason
            );
        }
    }
    println!("\nSummary:");
    for line in summary {
        println!("  {line}");
    }
    Ok(())
}
