//! What the console page reads: the approval queue, one action's incident timeline and the
//! overview. Admin token or a signed-in operator; payloads and reasoning are redacted as
//! they would be for anything leaving the process (the packs' `redact` paths included).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use sentinel_core::redact::redact_action;
use sentinel_core::store::ActionQuery;
use sentinel_core::{ActionRecord, ScorerUse};
use serde::Serialize;

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::state::AppState;
use crate::wire::{self, ActionView};

/// Most pages of the last hour read for the overview's scorer counts.
const OVERVIEW_PAGES: usize = 20;

/// An action as the console shows it: redacted.
pub(crate) async fn console_view(
    app: &AppState,
    record: &ActionRecord,
    who: &Principal,
) -> Result<ActionView, ApiError> {
    let mut view = crate::routes::view(app, record, who).await?;
    let paths: Vec<String> = app
        .gateway
        .packs()
        .iter()
        .filter(|p| p.applies_to(&record.action.action))
        .flat_map(|p| p.redact_paths().iter().cloned())
        .collect();
    let safe = redact_action(&record.action, &paths);
    view.payload = safe.payload;
    view.reasoning = safe.reasoning;
    Ok(view)
}

/// `GET /console/api/pending`: actions waiting for a human, oldest first.
pub async fn pending(
    State(app): State<AppState>,
    who: Principal,
) -> Result<Json<Vec<ActionView>>, ApiError> {
    who.require_admin("the approval queue")?;
    let records = app.gateway.store().pending().await?;
    let mut views = Vec::with_capacity(records.len());
    for record in &records {
        views.push(console_view(&app, record, &who).await?);
    }
    Ok(Json(views))
}

/// One approval attempt (a phone call...), as the timeline shows it.
#[derive(Debug, Serialize)]
pub struct AttemptView {
    /// 1 for the first attempt.
    pub seq: u32,
    /// The approver's channel (`telnyx`).
    pub channel: String,
    /// `starting`, `live` or `ended`.
    pub status: String,
    /// The provider's ids (a call's `call_control_id`).
    pub external_ids: Vec<String>,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When the call was answered, as the approver recorded it.
    pub answered_at: Option<String>,
    /// Where the conversation stands (`ringing`, `menu`, `ended`...), as recorded.
    pub phase: Option<String>,
    /// How it ended (`approved`, `no_answer`...), as recorded.
    pub outcome: Option<String>,
}

/// A text field of an approver's own state blob, if it has one (the format is the
/// approver's; anything else is left out).
fn recorded(state: &serde_json::Value, path: &[&str]) -> Option<String> {
    let value = path.iter().try_fold(state, |v, key| v.get(*key))?;
    value.as_str().map(str::to_owned)
}

/// The approval receipt: what exactly was approved, under which packs.
#[derive(Debug, Serialize)]
pub struct ReceiptView {
    /// The canonical hash of the approved action.
    pub action_hash: String,
    /// The packs, with the hash of each one's content.
    pub packs: Vec<PackHash>,
}

/// A pack in a receipt.
#[derive(Debug, Serialize)]
pub struct PackHash {
    /// The pack's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// SHA-256 of its canonical JSON.
    pub hash: String,
}

/// The quorum of a laddered action: how many distinct approvers it needs, and who
/// approved so far.
#[derive(Debug, Serialize)]
pub struct QuorumView {
    /// Distinct approvers needed.
    pub needed: u32,
    /// Who approved so far (once each), with the channel and time of their first approval.
    pub approvers: Vec<sentinel_core::ladder::QuorumVote>,
}

/// An action's incident timeline.
#[derive(Debug, Serialize)]
pub struct Timeline {
    /// The action, redacted, with its audit trail (the call's questions and answers are
    /// notes in it).
    pub action: ActionView,
    /// The approval attempts (calls, ladder steps, console link uses) the store keeps.
    pub attempts: Vec<AttemptView>,
    /// The approval ladder's steps, in the order they started (empty without a route):
    /// route, step n of m, channel, to, started, ends, outcome and reason.
    pub steps: Vec<sentinel_core::ladder::LadderStep>,
    /// The route's quorum and the approvers so far, when the action took a route.
    pub quorum: Option<QuorumView>,
    /// The receipt, once decided by a human.
    pub receipt: Option<ReceiptView>,
}

/// `GET /console/api/actions/{id}`: one action's incident timeline.
pub async fn timeline(
    State(app): State<AppState>,
    who: Principal,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Timeline>, ApiError> {
    who.require_admin("an incident timeline")?;
    let id = crate::routes::action_id(id)?;
    let record = crate::routes::visible(&app, &who, id).await?;
    let action = console_view(&app, &record, &who).await?;
    let store = app.gateway.store();
    let stored = if store.keeps_attempts() {
        store.attempts(id).await?
    } else {
        Vec::new()
    };
    let steps = sentinel_core::ladder::ladder_steps(&stored);
    let quorum = match steps.iter().rev().find_map(|s| s.quorum) {
        Some(needed) => Some(QuorumView {
            needed,
            approvers: sentinel_core::ladder::quorum_votes(&store.audit_trail(id).await?),
        }),
        None => None,
    };
    let attempts = if store.keeps_attempts() {
        stored
            .into_iter()
            .map(|a| AttemptView {
                seq: a.seq,
                channel: a.channel,
                status: a.status.as_str().to_owned(),
                external_ids: a.external_ids,
                created_at: a.created_at,
                updated_at: a.updated_at,
                answered_at: recorded(&a.state, &["dialed_at"]),
                phase: recorded(&a.state, &["conversation", "phase"]),
                outcome: recorded(&a.state, &["conversation", "outcome"]),
            })
            .collect()
    } else {
        Vec::new()
    };
    let receipt = record.approval.as_ref().map(|a| ReceiptView {
        action_hash: a.action_hash.clone(),
        packs: a
            .packs
            .iter()
            .map(|p| PackHash {
                name: p.name.to_string(),
                version: p.version.to_string(),
                hash: p.hash.to_string(),
            })
            .collect(),
    });
    Ok(Json(Timeline {
        action,
        attempts,
        steps,
        quorum,
        receipt,
    }))
}

/// A count per state.
#[derive(Debug, Serialize)]
pub struct Count {
    /// The status, e.g. `EXECUTED`.
    pub status: &'static str,
    /// How many.
    pub count: u64,
}

/// A pack in force.
#[derive(Debug, Serialize)]
pub struct ModuleView {
    /// The pack's name (the module: VaultKeeper...).
    pub name: String,
    /// Its version.
    pub version: String,
    /// SHA-256 of its canonical JSON.
    pub hash: String,
    /// The action names it covers (`*`: every action).
    pub applies_to: Vec<String>,
}

/// The overview.
#[derive(Debug, Serialize)]
pub struct Overview {
    /// The packs in force, in order.
    pub packs: Vec<ModuleView>,
    /// The scorer's name.
    pub scorer: String,
    /// The approver's name, if any.
    pub approver: Option<String>,
    /// Actions waiting for a human now.
    pub pending: usize,
    /// Actions received in the last hour, per status.
    pub last_hour: Vec<Count>,
    /// Of the last hour's actions: how many the scorer (an LLM, when configured) assessed
    /// or tried to.
    pub scorer_calls: u64,
    /// ... and how many the rules decided without it.
    pub scorer_calls_avoided: u64,
    /// True when the counts cover only the most recent part of a very busy hour.
    pub partial: bool,
    /// When this was computed.
    pub at: DateTime<Utc>,
}

/// `GET /console/api/overview`.
pub async fn overview(
    State(app): State<AppState>,
    who: Principal,
) -> Result<Json<Overview>, ApiError> {
    who.require_admin("the overview")?;
    let store = app.gateway.store();
    let at = Utc::now();
    let since = at - chrono::Duration::hours(1);
    let last_hour = store
        .count_since(since)
        .await?
        .into_iter()
        .map(|c| Count {
            status: wire::status(c.state),
            count: c.count,
        })
        .collect();
    let (mut made, mut avoided, mut partial) = (0, 0, true);
    let mut query = ActionQuery::new(sentinel_core::store::query::MAX_PAGE);
    query.since = Some(since);
    for _ in 0..OVERVIEW_PAGES {
        let page = store.find_actions(&query).await?;
        for d in page.records.iter().filter_map(|r| r.decision.as_ref()) {
            match d.scorer {
                ScorerUse::Skipped { .. } => avoided += 1,
                _ => made += 1,
            }
        }
        match page.next {
            Some(next) => query.before = Some(next),
            None => {
                partial = false;
                break;
            }
        }
    }
    Ok(Json(Overview {
        packs: app
            .gateway
            .packs()
            .iter()
            .map(|p| ModuleView {
                name: p.name().to_owned(),
                version: p.version().to_owned(),
                hash: p.content_hash().to_owned(),
                applies_to: p.document().applies_to.clone(),
            })
            .collect(),
        scorer: app.gateway.scorer_name().to_owned(),
        approver: app.gateway.approver_name().map(str::to_owned),
        pending: store.pending().await?.len(),
        last_hour,
        scorer_calls: made,
        scorer_calls_avoided: avoided,
        partial,
        at,
    }))
}
