//! The JSON shapes of the API, as types: the handlers answer with them and the OpenAPI
//! document (`GET /openapi.json`) is generated from them, so the two cannot drift. Status
//! names are the original API's (`ERROR_APPROVER` is `ERROR_TELNYX`). What an agent is
//! told about a failing scorer or approver is in [`crate::disclose`].

use chrono::{DateTime, Utc};
use sentinel_core::{ActionId, ActionRecord, AuditEvent, RuleId, State, Ticket};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::disclose::{self, Audience};
use crate::notes::Note;

/// The wire name of a state. Core's `ERROR_APPROVER` is the original API's `ERROR_TELNYX`.
pub fn status(state: State) -> &'static str {
    match state {
        State::ErrorApprover => "ERROR_TELNYX",
        other => other.as_str(),
    }
}

/// An action as an agent submits it (`POST /api/sentinel/execute`). Parsed strictly
/// (a repeated key or an integer beyond 64 bits is refused); unknown fields are refused.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"agent_id": "billing-bot", "action": "PAY_INVOICE",
    "payload": {"amount": 120, "vendor": "AWS"}, "reasoning": "monthly hosting bill",
    "idempotency_key": "inv-2024-117"}))]
pub struct ActionBody {
    /// The acting agent; the key must cover it.
    #[schema(min_length = 1)]
    pub agent_id: String,
    /// The action name, e.g. `PAY_INVOICE`.
    #[schema(min_length = 1)]
    pub action: String,
    /// The action's arguments.
    #[schema(value_type = Object)]
    pub payload: Map<String, Value>,
    /// Why the agent wants to do it.
    #[serde(default)]
    pub reasoning: Option<String>,
    /// The same key with the same action returns the first action; with another, 409.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub idempotency_key: Option<String>,
    /// Facts about the request (environment, session...).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub context: Option<Map<String, Value>>,
}

/// The answer to a submission: 200 with the decision, or 202 with the id while it is
/// still being decided (then `status` is `ANALYZING` and the decision fields are null).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Submission {
    /// The action's id.
    #[schema(value_type = String, format = Uuid)]
    pub action_id: ActionId,
    /// `EXECUTED`, `BLOCKED_AWAITING_AUTH`, `DECLINED`, `ERROR_TELNYX`; `ANALYZING` (202);
    /// a later state for a replay.
    pub status: String,
    /// Risk 0..100; null while analyzing.
    pub risk_score: Option<u8>,
    /// Why; null while analyzing.
    pub analysis: Option<String>,
    /// Matched rules as `pack/rule`.
    #[schema(value_type = Vec<String>)]
    pub rules: Vec<RuleId>,
    /// True when an earlier submission with the same idempotency key was returned.
    pub replayed: bool,
    /// When a pending action expires.
    pub deadline: Option<DateTime<Utc>>,
}

impl Submission {
    /// A decided (or replayed) submission, as an agent is told it.
    pub fn decided(ticket: &Ticket) -> Self {
        Self {
            action_id: ticket.action_id,
            status: status(ticket.status).to_owned(),
            risk_score: Some(ticket.decision.risk_score),
            analysis: Some(disclose::analysis(&ticket.decision, Audience::Agent)),
            rules: ticket.decision.rules.clone(),
            replayed: ticket.replayed,
            deadline: ticket.deadline,
        }
    }

    /// A submission recorded and still being decided.
    pub fn analyzing(id: ActionId) -> Self {
        Self {
            action_id: id,
            status: status(State::Analyzing).to_owned(),
            risk_score: None,
            analysis: None,
            rules: Vec::new(),
            replayed: false,
            deadline: None,
        }
    }
}

/// One audit record, states in their wire names.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Position in the audit log, from 1.
    pub seq: u64,
    /// `transition`, `execution` or `note`.
    pub kind: String,
    /// The action.
    #[schema(value_type = String, format = Uuid)]
    pub action_id: ActionId,
    /// The acting agent.
    pub agent_id: String,
    /// The action name.
    pub action: String,
    /// The state before; null when the action was received.
    pub from: Option<String>,
    /// The state after.
    pub to: String,
    /// Who: `sentinel` or the person.
    pub actor: String,
    /// Through which channel: `policy`, `web`, `voice/dtmf`...
    pub channel: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
    /// This record's hash in the chain.
    pub hash: String,
}

/// An audit event as `audience` may see it.
pub fn event(e: &AuditEvent, record: Option<&ActionRecord>, audience: Audience) -> Event {
    Event {
        seq: e.seq,
        kind: e.kind.as_str().to_owned(),
        action_id: e.action_id,
        agent_id: e.agent_id.clone(),
        action: e.action.clone(),
        from: e.from.map(|s| status(s).to_owned()),
        to: status(e.to).to_owned(),
        actor: e.actor.clone(),
        channel: e.channel.clone(),
        reason: disclose::reason(e, record, audience),
        at: e.at,
        hash: e.hash.clone(),
    }
}

/// A pack that took part in the decision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PackView {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// Who decided, through which channel, when, why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApprovalView {
    /// True for an approval, false for a decline.
    pub approved: bool,
    /// Who.
    pub by: String,
    /// `web`, `voice/dtmf`, `voice/speech`...
    pub channel: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Why (may be empty).
    pub reason: String,
}

/// Where the approval call stands.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CallView {
    /// Telnyx's id of the call, once dialed.
    pub call_control_id: Option<String>,
    /// `dialing`, `ringing`, `menu`, `pin`, `qna`, `closing` or `ended`.
    pub phase: String,
    /// How it ended (`approved`, `declined`, `no_answer`, `dial_failed`...), once it has.
    pub outcome: Option<String>,
}

/// What was said on the approval call.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VoiceView {
    /// The last key pressed.
    pub last_digit: Option<String>,
    /// The admin's last question.
    pub last_question: Option<String>,
    /// The answer given to it.
    pub last_answer: Option<String>,
    /// The call, when one was placed.
    pub call: Option<CallView>,
}

/// One action: what was asked, the decision, the approval, the audit trail, the call.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActionView {
    /// The action's id.
    #[schema(value_type = String, format = Uuid)]
    pub action_id: ActionId,
    /// The acting agent.
    pub agent_id: String,
    /// The action name.
    pub action: String,
    /// The action's arguments.
    #[schema(value_type = Object)]
    pub payload: Map<String, Value>,
    /// Why the agent wanted it.
    pub reasoning: String,
    /// The idempotency key, when one was given.
    pub idempotency_key: Option<String>,
    /// The state, in the original API's names.
    pub status: String,
    /// True once the state can no longer change.
    pub terminal: bool,
    /// Risk 0..100; null before the decision.
    pub risk_score: Option<u8>,
    /// Why; null before the decision.
    pub analysis: Option<String>,
    /// Matched rules as `pack/rule`.
    #[schema(value_type = Vec<String>)]
    pub rules: Vec<RuleId>,
    /// The packs that applied.
    pub packs: Vec<PackView>,
    /// The human decision, once made.
    pub approval: Option<ApprovalView>,
    /// When it was received.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When a pending action expires.
    pub deadline: Option<DateTime<Utc>>,
    /// When its single execution was claimed.
    pub executed_at: Option<DateTime<Utc>>,
    /// The approval call.
    pub voice: VoiceView,
    /// Every audit record, oldest first.
    pub audit_trail: Vec<Event>,
}

/// The full view of an action, as `audience` may see it.
pub fn action(
    record: &ActionRecord,
    trail: &[AuditEvent],
    note: &Note,
    call: Option<CallView>,
    audience: Audience,
) -> ActionView {
    let d = record.decision.as_ref();
    ActionView {
        action_id: record.id,
        agent_id: record.action.agent_id.clone(),
        action: record.action.action.clone(),
        payload: record.action.payload.clone(),
        reasoning: record.action.reasoning.clone(),
        idempotency_key: record.action.idempotency_key.clone(),
        status: status(record.state).to_owned(),
        terminal: record.state.is_terminal(),
        risk_score: d.map(|d| d.risk_score),
        analysis: d.map(|d| disclose::analysis(d, audience)),
        rules: d.map(|d| d.rules.clone()).unwrap_or_default(),
        packs: d
            .map(|d| {
                d.packs
                    .iter()
                    .map(|p| PackView {
                        name: p.name.to_string(),
                        version: p.version.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        approval: record.approval.as_ref().map(|a| ApprovalView {
            approved: a.approved,
            by: a.by.clone(),
            channel: a.channel.clone(),
            at: a.at,
            reason: a.reason.clone(),
        }),
        created_at: record.created_at,
        updated_at: record.updated_at,
        deadline: record.deadline,
        executed_at: record.executed_at,
        voice: VoiceView {
            last_digit: note.last_digit.clone(),
            last_question: note.last_question.clone(),
            last_answer: note.last_answer.clone(),
            call,
        },
        audit_trail: trail
            .iter()
            .map(|e| event(e, Some(record), audience))
            .collect(),
    }
}

/// The original `GET /api/sentinel/status` shape.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LegacyStatus {
    /// The most recent action; null when there is none.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub action_id: Option<ActionId>,
    /// Its state, or `IDLE`.
    pub status: String,
    /// Its risk (0 when idle).
    pub risk_score: u8,
    /// Its analysis (empty when idle).
    pub analysis: String,
    /// The last key pressed on its call.
    pub last_digit: Option<String>,
    /// The admin's last question.
    pub last_question: Option<String>,
    /// The answer given to it.
    pub last_answer: Option<String>,
}

/// The original status shape of the most recent action.
pub fn legacy_status(
    record: Option<&ActionRecord>,
    note: &Note,
    audience: Audience,
) -> LegacyStatus {
    let d = record.and_then(|r| r.decision.as_ref());
    LegacyStatus {
        action_id: record.map(|r| r.id),
        status: record.map_or("IDLE", |r| status(r.state)).to_owned(),
        risk_score: d.map_or(0, |d| d.risk_score),
        analysis: d
            .map(|d| disclose::analysis(d, audience))
            .unwrap_or_default(),
        last_digit: note.last_digit.clone(),
        last_question: note.last_question.clone(),
        last_answer: note.last_answer.clone(),
    }
}

/// An admin's decision (`POST /api/sentinel/actions/{id}/resolve`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// `approve` or `decline`.
    #[schema(pattern = "^(approve|decline)$")]
    pub decision: String,
    /// Why (recorded in the audit trail).
    pub reason: Option<String>,
    /// Who decided (default `admin`).
    pub by: Option<String>,
}

/// `GET /healthz`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The scorer's name.
    pub scorer: String,
    /// The approver's name, when one is configured.
    pub approver: Option<String>,
}

/// What a webhook did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct WebhookAnswer {
    /// `handled`, `ignored` or `duplicate`.
    pub result: String,
    /// Telnyx's event id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The event type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// The action the call is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub action_id: Option<ActionId>,
    /// Where the call stands now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Why an event was ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Every error: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// An error's code, message and field.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// One of Sentinel's error codes (`docs/errors.md`).
    pub code: String,
    /// A lowercase sentence for people.
    pub message: String,
    /// The input field at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
