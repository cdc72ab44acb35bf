//! What an agent is told about failures behind the gateway: a plain sentence, never the
//! error itself. A scorer's or approver's error text can name internal hosts and URLs
//! (the Groq endpoint, Telnyx's API, a proxy); it goes to the log, where the gateway
//! already wrote it, and stays in the stored record for the admin, who sees the full
//! action (`GET /api/sentinel/actions/{id}` with the admin token) and runs the server.
//! Agents get the error code (for a request that failed) or these sentences (in an
//! action's analysis and audit trail).

use sentinel_core::{ActionRecord, AuditEvent, Decision, ScorerUse, State};

use crate::auth::Principal;

/// Said to agents instead of the scorer's error.
pub const SCORER_UNAVAILABLE: &str =
    "risk scorer unavailable; the action failed closed (details are in the server log).";
/// Said to agents instead of the approver's error.
pub const APPROVER_UNAVAILABLE: &str = "no human could be asked: the approval request could not be delivered, so nothing runs (details are in the server log).";

/// Who is reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The admin: everything, as stored.
    Admin,
    /// An agent: failures as plain sentences.
    Agent,
}

impl From<&Principal> for Audience {
    fn from(who: &Principal) -> Self {
        match who {
            Principal::Admin | Principal::Operator(_) => Self::Admin,
            Principal::Agent(_) => Self::Agent,
        }
    }
}

/// The decision's analysis for `audience`: for an agent, the scorer's error (which the
/// core puts first, `risk scorer unavailable: <error>`) becomes [`SCORER_UNAVAILABLE`];
/// the reasons of the packs that follow it stay.
pub fn analysis(decision: &Decision, audience: Audience) -> String {
    hide_scorer_error(&decision.analysis, decision, audience)
}

/// An audit record's reason for `audience`: for an agent, the approver's error on
/// `ERROR_APPROVER` becomes [`APPROVER_UNAVAILABLE`], and the scorer's error, [`SCORER_UNAVAILABLE`].
pub fn reason(event: &AuditEvent, record: Option<&ActionRecord>, audience: Audience) -> String {
    if audience == Audience::Admin {
        return event.reason.clone();
    }
    if event.to == State::ErrorApprover && event.from != Some(State::ErrorApprover) {
        return APPROVER_UNAVAILABLE.to_owned();
    }
    match record.and_then(|r| r.decision.as_ref()) {
        Some(decision) => hide_scorer_error(&event.reason, decision, audience),
        None => event.reason.clone(),
    }
}

fn hide_scorer_error(text: &str, decision: &Decision, audience: Audience) -> String {
    if audience == Audience::Admin {
        return text.to_owned();
    }
    let ScorerUse::Failed { error, .. } = &decision.scorer else {
        return text.to_owned();
    };
    let said = format!("risk scorer unavailable: {error}");
    if text.contains(&said) {
        return text.replace(&said, SCORER_UNAVAILABLE.trim_end_matches('.'));
    }
    if !error.is_empty() && text.contains(error.as_str()) {
        // Worded otherwise by another core version: never pass the error on.
        return SCORER_UNAVAILABLE.to_owned();
    }
    text.to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn agents_never_read_the_error() {
        let mut decision: Decision = serde_json::from_value(serde_json::json!({
            "action_id": "0190f1e2-0000-7000-8000-000000000000",
            "status": "BLOCKED_AWAITING_AUTH", "risk_score": 60,
            "analysis": "risk scorer unavailable: error sending request for url (http://10.0.0.7/openai/v1/chat/completions) Payment of 2000 to Acme.",
            "rules": [], "matched": [], "packs": [],
            "scorer": {"outcome": "failed", "scorer": "groq", "error": "error sending request for url (http://10.0.0.7/openai/v1/chat/completions)"},
            "timings": {"rules_ns": 0, "scorer_ns": 0, "total_ns": 0}
        }))
        .unwrap();
        let agent = analysis(&decision, Audience::Agent);
        assert!(!agent.contains("10.0.0.7"), "{agent}");
        assert!(agent.starts_with("risk scorer unavailable; the action failed closed"));
        assert!(agent.ends_with("Payment of 2000 to Acme."), "{agent}");
        assert!(analysis(&decision, Audience::Admin).contains("10.0.0.7"));
        decision.analysis = "the scorer said error sending request for url (http://10.0.0.7/openai/v1/chat/completions)".into();
        assert_eq!(analysis(&decision, Audience::Agent), SCORER_UNAVAILABLE);
    }
}
