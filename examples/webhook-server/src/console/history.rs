//! `GET /console/api/actions`: the history, from the store, filtered and paginated
//! server-side (newest first).
//!
//! Query parameters, all optional: `status` (comma-separated, e.g.
//! `APPROVED,DECLINED`), `agent` and `action` (exact), `since` and `until` (RFC 3339),
//! `before` (the `next` cursor of the previous page) and `limit` (1 to 500, default 50).

use axum::Json;
use axum::extract::{RawQuery, State};
use chrono::{DateTime, Utc};
use sentinel_core::store::ActionQuery;
use sentinel_core::{ActionId, State as Lifecycle};
use serde::Serialize;

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::state::AppState;
use crate::wire;

const DEFAULT_LIMIT: usize = 50;

/// One line of the history.
#[derive(Debug, Serialize)]
pub struct HistoryRow {
    /// The action id.
    pub action_id: ActionId,
    /// The agent.
    pub agent_id: String,
    /// The action name.
    pub action: String,
    /// Its status.
    pub status: &'static str,
    /// The risk score, once decided.
    pub risk_score: Option<u8>,
    /// When it was received.
    pub created_at: DateTime<Utc>,
    /// Who decided, when a human did.
    pub decided_by: Option<String>,
    /// Through which channel.
    pub channel: Option<String>,
}

/// A page of the history.
#[derive(Debug, Serialize)]
pub struct HistoryPage {
    /// The actions, newest first.
    pub actions: Vec<HistoryRow>,
    /// The `before` cursor of the next (older) page, if any.
    pub next: Option<ActionId>,
}

/// `GET /console/api/actions?...`.
pub async fn history(
    State(app): State<AppState>,
    who: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Json<HistoryPage>, ApiError> {
    who.require_admin("the history")?;
    let query = parse(raw.as_deref().unwrap_or_default())?;
    let page = app.gateway.store().find_actions(&query).await?;
    Ok(Json(HistoryPage {
        actions: page
            .records
            .iter()
            .map(|r| HistoryRow {
                action_id: r.id,
                agent_id: r.action.agent_id.clone(),
                action: r.action.action.clone(),
                status: wire::status(r.state),
                risk_score: r.decision.as_ref().map(|d| d.risk_score),
                created_at: r.created_at,
                decided_by: r.approval.as_ref().map(|a| a.by.clone()),
                channel: r.approval.as_ref().map(|a| a.channel.clone()),
            })
            .collect(),
        next: page.next,
    }))
}

/// Reads the query string; an unknown parameter or a bad value is 422 naming it.
fn parse(raw: &str) -> Result<ActionQuery, ApiError> {
    let mut query = ActionQuery::new(DEFAULT_LIMIT);
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(value).ok_or_else(|| {
            ApiError::invalid_field(key, format!("`{key}` is not valid percent-encoded text"))
        })?;
        if value.is_empty() {
            continue;
        }
        let time = |v: &str| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::invalid_field(
                        key,
                        format!("`{key}` must be a time like `2026-01-31T12:00:00Z`, found `{v}`"),
                    )
                })
        };
        match key {
            "status" => {
                for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let state = Lifecycle::ALL
                        .into_iter()
                        .find(|s| {
                            wire::status(*s).eq_ignore_ascii_case(name)
                                || s.as_str().eq_ignore_ascii_case(name)
                        })
                        .ok_or_else(|| {
                            ApiError::invalid_field("status", format!("unknown status `{name}`"))
                        })?;
                    query.states.push(state);
                }
            }
            "agent" => query.agent_id = Some(value),
            "action" => query.action = Some(value),
            "since" => query.since = Some(time(&value)?),
            "until" => query.until = Some(time(&value)?),
            "before" => {
                query.before = Some(value.parse().map_err(|_| {
                    ApiError::invalid_field(
                        "before",
                        format!("`before` must be an action id, found `{value}`"),
                    )
                })?);
            }
            "limit" => {
                query.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=sentinel_core::store::query::MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid_field(
                            "limit",
                            format!("`limit` must be from 1 to 500, found `{value}`"),
                        )
                    })?;
            }
            _ => {
                return Err(ApiError::invalid_field(
                    key,
                    format!(
                        "unknown query parameter `{key}`; expected `status`, `agent`, `action`, `since`, `until`, `before` or `limit`"
                    ),
                ));
            }
        }
    }
    Ok(query)
}

/// Percent-decoding (`+` is a space), or `None` for an invalid escape or non-UTF-8.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_filters() {
        let q = parse("status=APPROVED,declined&agent=session_7&action=PAY_INVOICE&since=2026-01-01T00%3A00%3A00Z&limit=10").unwrap();
        assert_eq!(q.states, [Lifecycle::Approved, Lifecycle::Declined]);
        assert_eq!(q.agent_id.as_deref(), Some("session_7"));
        assert_eq!(q.limit, 10);
        assert!(q.since.is_some());
        for bad in [
            "status=NOPE",
            "limit=0",
            "limit=501",
            "since=yesterday",
            "before=x",
            "color=red",
            "agent=%zz",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.status.as_u16(), 422, "{bad}");
        }
    }
}
