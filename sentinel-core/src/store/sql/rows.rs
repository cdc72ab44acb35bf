//! Mapping between SQL rows and store records.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::action::ActionId;
use crate::error::StoreError;
use crate::state::State;
use crate::store::checkpoint::Checkpoint;
use crate::store::{ActionRecord, AuditEvent, AuditKind, format_time};

/// Columns of `sentinel_actions`, in the order [`record`] reads them.
pub(super) const ACTION_COLUMNS: &str = "id, action_json, action_hash, state, decision_json, approval_json, \
     created_at, updated_at, deadline, executed_at";

/// Columns of `sentinel_audit`, in the order [`event`] reads them.
pub(super) const AUDIT_COLUMNS: &str = "seq, kind, action_id, agent_id, action_name, from_state, to_state, actor, channel, reason, at, prev_hash, hash, state_hash";

pub(super) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored {what} cannot be read: {e}"))
}

fn text(row: &AnyRow, col: &str) -> Result<String, StoreError> {
    row.try_get::<String, _>(col).map_err(backend)
}

fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>, StoreError> {
    row.try_get::<Option<String>, _>(col).map_err(backend)
}

pub(super) fn parse_time(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt("time", e))
}

fn opt_time(row: &AnyRow, col: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    opt_text(row, col)?.as_deref().map(parse_time).transpose()
}

pub(super) fn parse_state(s: &str) -> Result<State, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| corrupt("state", e))
}

fn json<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| corrupt(what, e))
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(backend)
}

/// Reads an action record from a row selected with [`ACTION_COLUMNS`].
pub(super) fn record(row: &AnyRow) -> Result<ActionRecord, StoreError> {
    Ok(ActionRecord {
        id: text(row, "id")?
            .parse()
            .map_err(|e| corrupt("action id", e))?,
        action: json(&text(row, "action_json")?, "action")?,
        action_hash: text(row, "action_hash")?,
        state: parse_state(&text(row, "state")?)?,
        decision: opt_text(row, "decision_json")?
            .map(|s| json(&s, "decision"))
            .transpose()?,
        approval: opt_text(row, "approval_json")?
            .map(|s| json(&s, "approval"))
            .transpose()?,
        created_at: parse_time(&text(row, "created_at")?)?,
        updated_at: parse_time(&text(row, "updated_at")?)?,
        deadline: opt_time(row, "deadline")?,
        executed_at: opt_time(row, "executed_at")?,
    })
}

/// Reads an audit event from a row selected with [`AUDIT_COLUMNS`].
pub(super) fn event(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    let name = text(row, "kind")?;
    let kind = AuditKind::parse(&name).ok_or_else(|| corrupt("audit kind", format!("`{name}`")))?;
    let seq = row.try_get::<i64, _>("seq").map_err(backend)?;
    Ok(AuditEvent {
        seq: u64::try_from(seq).map_err(|e| corrupt("audit seq", e))?,
        kind,
        action_id: text(row, "action_id")?
            .parse::<ActionId>()
            .map_err(|e| corrupt("action id", e))?,
        agent_id: text(row, "agent_id")?,
        action: text(row, "action_name")?,
        from: opt_text(row, "from_state")?
            .as_deref()
            .map(parse_state)
            .transpose()?,
        to: parse_state(&text(row, "to_state")?)?,
        actor: text(row, "actor")?,
        channel: text(row, "channel")?,
        reason: text(row, "reason")?,
        at: parse_time(&text(row, "at")?)?,
        prev_hash: text(row, "prev_hash")?,
        hash: text(row, "hash")?,
        state_hash: text(row, "state_hash")?,
    })
}

/// Reads a checkpoint from a row of `seq, hash, at, mac`.
pub(super) fn checkpoint(row: &AnyRow) -> Result<Checkpoint, StoreError> {
    let seq = row.try_get::<i64, _>("seq").map_err(backend)?;
    Ok(Checkpoint::new(
        u64::try_from(seq).map_err(|e| corrupt("checkpoint seq", e))?,
        text(row, "hash")?,
        parse_time(&text(row, "at")?)?,
        None,
    )
    .with_mac(opt_text(row, "mac")?))
}

pub(super) fn opt_time_text(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(format_time)
}
