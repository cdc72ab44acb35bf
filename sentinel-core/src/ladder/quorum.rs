//! Quorum: approvals by distinct people, recorded as audit notes of channel [`QUORUM`].

use super::QUORUM;
use crate::approver::{ApprovalHandle, Resolution, Vote};
use crate::error::StoreError;
use crate::store::{AuditEvent, AuditKind, Store};

/// The people who approved so far, in the order of their first approval, with the channel
/// each first approved through.
pub(crate) fn approvers(trail: &[AuditEvent]) -> Vec<(String, String)> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for e in trail
        .iter()
        .filter(|e| e.kind == AuditKind::Note && e.channel == QUORUM)
    {
        if !seen.iter().any(|(who, _)| *who == e.actor) {
            let via = e
                .reason
                .strip_prefix("approved via ")
                .and_then(|r| r.split(';').next())
                .unwrap_or_default()
                .to_owned();
            seen.push((e.actor.clone(), via));
        }
    }
    seen
}

/// Counts `resolution` towards a quorum of `quorum`: a decline decides at once; an
/// approval is recorded as a vote, and decides (with every approver in `by`) once
/// `quorum` distinct people approved.
pub(crate) async fn count(
    store: &dyn Store,
    handle: &ApprovalHandle,
    quorum: u32,
    resolution: &Resolution,
) -> Result<Vote, StoreError> {
    if !resolution.approved || quorum <= 1 {
        return Ok(Vote::Decide(resolution.clone()));
    }
    let id = handle.action_id();
    let before = approvers(&store.audit_trail(id).await?);
    let again = before.iter().any(|(who, _)| *who == resolution.by);
    let counted = before.len() + usize::from(!again);
    let why = if resolution.reason.is_empty() {
        String::new()
    } else {
        format!(": {}", resolution.reason)
    };
    let text = if again {
        format!(
            "approved via {}; `{}` approved before and counts once ({} of {quorum}){why}",
            resolution.channel,
            resolution.by,
            before.len()
        )
    } else {
        format!(
            "approved via {}; {counted} of {quorum} approvers{why}",
            resolution.channel
        )
    };
    handle.note(&resolution.by, QUORUM, &text).await?;
    // Read again after writing: of two approvals at once, the later sees both.
    let now = approvers(&store.audit_trail(id).await?);
    if now.len() < quorum as usize {
        return Ok(Vote::Counted);
    }
    let by = now
        .iter()
        .map(|(who, _)| who.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let list = now
        .iter()
        .map(|(who, via)| format!("{who} via {via}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut decided = Resolution::approve(by, resolution.channel.clone())
        .with_reason(format!("quorum of {quorum} met: approved by {list}{why}"));
    decided.approved = true;
    Ok(Vote::Decide(decided))
}
