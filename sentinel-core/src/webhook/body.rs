//! The JSON body a webhook step POSTs: the action as the Slack message shows it (redacted
//! with the packs' `redact` paths and the core's masks), where the ladder stands, and the
//! console link.
//!
//! Fields listed in `untrusted` carry agent-supplied text (or an LLM's reading of it):
//! receivers show them as plain text only (an Adaptive Card `TextBlock` without markdown,
//! an escaped e-mail body), never as markup, links or mentions.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::ladder::StepRequest;
use crate::redact::redact_action;

/// The body's `event`.
pub const EVENT: &str = "sentinel.approval_requested";

/// The body of the POST for `step`, with the console `link` (working until
/// `link_expires_at`), at `now`.
pub fn approval_body(
    step: &StepRequest,
    link: &str,
    link_expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Value {
    let request = &step.request;
    let safe = redact_action(&request.action, &request.redact_paths);
    let d = &request.decision;
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let left = (request.deadline - now).num_seconds().max(0);
    let summary = format!(
        "Approval needed: {} by {} (risk {}/100), step {} of {} of route {}. Open the console: {link}",
        safe.action,
        safe.agent_id,
        d.risk_score,
        step.index + 1,
        step.of,
        step.route
    );
    json!({
        "event": EVENT,
        "version": 1,
        "action_id": request.action_id.to_string(),
        "agent_id": safe.agent_id,
        "action": safe.action,
        "payload": safe.payload,
        "reasoning": safe.reasoning,
        "risk_score": d.risk_score,
        "rules": d.rules,
        "analysis": d.analysis,
        "untrusted": ["agent_id", "action", "payload", "reasoning", "analysis", "summary"],
        "summary": summary,
        "route": step.route,
        "step": step.index + 1,
        "steps": step.of,
        "to": step.to,
        "step_ends_at": time(step.ends_at),
        "expires_at": time(request.deadline),
        "time_left_s": left,
        "link": link,
        "link_expires_at": time(link_expires_at),
        "sent_at": time(now),
    })
}
