//! The JSON shapes of the API: status names as the original API spelled them, and the
//! views of an action.

use sentinel_core::{ActionRecord, AuditEvent, State};
use serde_json::{Value, json};

use crate::notes::Note;

/// The wire name of a state. Core's `ERROR_APPROVER` is the original API's `ERROR_TELNYX`.
pub fn status(state: State) -> &'static str {
    match state {
        State::ErrorApprover => "ERROR_TELNYX",
        other => other.as_str(),
    }
}

/// An audit event, with states in their wire names.
pub fn event(e: &AuditEvent) -> Value {
    json!({
        "seq": e.seq,
        "kind": e.kind,
        "action_id": e.action_id,
        "agent_id": e.agent_id,
        "action": e.action,
        "from": e.from.map(status),
        "to": status(e.to),
        "actor": e.actor,
        "channel": e.channel,
        "reason": e.reason,
        "at": e.at,
        "hash": e.hash,
    })
}

/// One action: what was asked, the decision, the approval, the audit trail and, for
/// voice approvals, the call.
pub fn action(
    record: &ActionRecord,
    trail: &[AuditEvent],
    note: &Note,
    call: Option<Value>,
) -> Value {
    let d = record.decision.as_ref();
    json!({
        "action_id": record.id,
        "agent_id": record.action.agent_id,
        "action": record.action.action,
        "payload": record.action.payload,
        "reasoning": record.action.reasoning,
        "idempotency_key": record.action.idempotency_key,
        "status": status(record.state),
        "terminal": record.state.is_terminal(),
        "risk_score": d.map(|d| d.risk_score),
        "analysis": d.map(|d| d.analysis.as_str()),
        "rules": d.map(|d| d.rules.clone()).unwrap_or_default(),
        "packs": d.map(|d| d.packs.iter().map(|p| json!({"name": p.name, "version": p.version})).collect::<Vec<_>>()).unwrap_or_default(),
        "approval": record.approval.as_ref().map(|a| json!({
            "approved": a.approved, "by": a.by, "channel": a.channel, "at": a.at, "reason": a.reason,
        })),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "deadline": record.deadline,
        "executed_at": record.executed_at,
        "voice": {
            "last_digit": note.last_digit, "last_question": note.last_question, "last_answer": note.last_answer,
            "call": call,
        },
        "audit_trail": trail.iter().map(event).collect::<Vec<_>>(),
    })
}

/// The original `GET /api/sentinel/status` shape.
pub fn legacy_status(record: Option<&ActionRecord>, note: &Note) -> Value {
    match record {
        Some(r) => {
            let d = r.decision.as_ref();
            json!({
                "action_id": r.id,
                "status": status(r.state),
                "risk_score": d.map_or(0, |d| d.risk_score),
                "analysis": d.map_or("", |d| d.analysis.as_str()),
                "last_digit": note.last_digit,
                "last_question": note.last_question,
                "last_answer": note.last_answer,
            })
        }
        None => json!({
            "action_id": null, "status": "IDLE", "risk_score": 0, "analysis": "",
            "last_digit": null, "last_question": null, "last_answer": null,
        }),
    }
}
