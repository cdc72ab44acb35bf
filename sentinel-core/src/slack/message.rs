//! The Slack message of an approval: Block Kit blocks with Approve / Decline buttons.
//!
//! Agent-supplied text (payload, reasoning, agent id) goes only into `plain_text` objects,
//! which Slack renders as written (no formatting, links or mentions), redacted like
//! everything that leaves the process; the notification fallback `text` is mrkdwn, so
//! what it quotes is escaped ([`escape_mrkdwn`]).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::approver::ApprovalRequest;
use crate::redact::redact_action;

/// `action_id` of the Approve button.
pub const APPROVE: &str = "sentinel_approve";
/// `action_id` of the Decline button.
pub const DECLINE: &str = "sentinel_decline";
/// `block_id` of the buttons.
pub const BLOCK: &str = "sentinel_decision";

/// Escapes text for a mrkdwn field: `&`, `<`, `>` as Slack asks (so `<!channel>`,
/// `<@U123>` and links cannot be forged), and the bare words `@here`, `@channel`,
/// `@everyone` broken with a zero-width space so that no client turns them into mentions.
pub fn escape_mrkdwn(text: &str) -> String {
    let mut out = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    for word in ["here", "channel", "everyone"] {
        out = out.replace(&format!("@{word}"), &format!("@\u{200b}{word}"));
    }
    out
}

/// Cuts text to `max` characters (Slack's limits), marking the cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn plain(text: &str, max: usize) -> Value {
    json!({"type": "plain_text", "text": cut(text, max), "emoji": false})
}

/// The `chat.postMessage` body asking about `request` in `channel`.
pub fn approval_message(channel: &str, request: &ApprovalRequest, ends_at: DateTime<Utc>) -> Value {
    let safe = redact_action(&request.action, &request.redact_paths);
    let d = &request.decision;
    let left = (ends_at - Utc::now()).num_seconds().max(0);
    let rules = if d.rules.is_empty() {
        "none".to_owned()
    } else {
        d.rules.join(", ")
    };
    let payload = serde_json::to_string_pretty(&safe.payload).unwrap_or_default();
    let id = request.action_id.to_string();
    let fallback = format!(
        "Approval needed: {} by {} (risk {})",
        escape_mrkdwn(&safe.action),
        escape_mrkdwn(&safe.agent_id),
        d.risk_score
    );
    let mut blocks = vec![
        json!({"type": "header", "text": plain(&format!("Approval needed: {}", safe.action), 150)}),
        json!({"type": "section", "fields": [
            plain(&format!("Agent: {}", safe.agent_id), 2000),
            plain(&format!("Risk: {}/100", d.risk_score), 2000),
            plain(&format!("Rules: {rules}"), 2000),
            plain(&format!("Time left: {}", human(left)), 2000),
        ]}),
        json!({"type": "section", "text": plain(&format!("Payload: {payload}"), 3000)}),
    ];
    if !safe.reasoning.is_empty() {
        blocks.push(json!({"type": "section", "text": plain(&format!("Agent's reasoning: {}", safe.reasoning), 3000)}));
    }
    blocks.push(
        json!({"type": "section", "text": plain(&format!("Analysis: {}", d.analysis), 3000)}),
    );
    blocks.push(
        json!({"type": "context", "elements": [plain(&format!("Sentinel action {id}"), 2000)]}),
    );
    blocks.push(json!({
        "type": "actions",
        "block_id": BLOCK,
        "elements": [
            {
                "type": "button",
                "action_id": APPROVE,
                "style": "primary",
                "text": plain("Approve", 75),
                "value": id,
                "confirm": {
                    "title": plain("Approve this action?", 100),
                    "text": plain(&format!("{} by {} will run.", safe.action, safe.agent_id), 300),
                    "confirm": plain("Approve", 30),
                    "deny": plain("Cancel", 30),
                    "style": "primary"
                }
            },
            {
                "type": "button",
                "action_id": DECLINE,
                "style": "danger",
                "text": plain("Decline", 75),
                "value": id
            }
        ]
    }));
    json!({"channel": channel, "text": fallback, "blocks": blocks, "unfurl_links": false, "unfurl_media": false})
}

/// The `chat.update` body replacing the buttons of message `ts` in `channel` with `outcome`.
pub fn outcome_update(channel: &str, ts: &str, headline: &str, outcome: &str) -> Value {
    json!({
        "channel": channel,
        "ts": ts,
        "text": escape_mrkdwn(outcome),
        "blocks": [
            {"type": "header", "text": plain(headline, 150)},
            {"type": "section", "text": plain(outcome, 3000)}
        ]
    })
}

fn human(seconds: i64) -> String {
    if seconds >= 120 {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrkdwn_control_characters_and_mentions_are_neutralised() {
        assert_eq!(
            escape_mrkdwn("<!channel> pay <@U1> & <https://evil|bank> @here @everyone"),
            "&lt;!channel&gt; pay &lt;@U1&gt; &amp; &lt;https://evil|bank&gt; @\u{200b}here @\u{200b}everyone"
        );
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
