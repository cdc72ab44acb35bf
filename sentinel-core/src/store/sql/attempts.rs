//! Approval attempts in SQL (`sentinel_approval_attempts`, `sentinel_attempt_ids`): a new
//! attempt is one `INSERT ... ON CONFLICT DO NOTHING` on `(action_id, seq)`, an update one
//! `UPDATE ... WHERE version = $n`, so that of several processes only one wins each step.
//! Attempts are not audit records: they take no lock on the chain head.

use sqlx::Row;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use super::SqlStore;
use super::rows::{backend, parse_time, to_json};
use crate::action::ActionId;
use crate::error::StoreError;
use crate::store::attempt::{ApprovalAttempt, AttemptStatus, id_taken};
use crate::store::{format_time, now};

const COLUMNS: &str =
    "action_id, seq, channel, status, state_json, version, created_at, updated_at";

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!(
        "stored approval attempt {what} cannot be read: {e}"
    ))
}

fn seq_of(seq: u32) -> i64 {
    i64::from(seq)
}

fn version_of(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version).map_err(backend)
}

/// An attempt from a row of [`COLUMNS`], without its external ids.
fn attempt(row: &AnyRow) -> Result<ApprovalAttempt, StoreError> {
    let text = |col: &str| row.try_get::<String, _>(col).map_err(backend);
    let status = text("status")?;
    let seq = row.try_get::<i64, _>("seq").map_err(backend)?;
    let version = row.try_get::<i64, _>("version").map_err(backend)?;
    let mut attempt = ApprovalAttempt::new(
        text("action_id")?
            .parse::<ActionId>()
            .map_err(|e| corrupt("action id", e))?,
        u32::try_from(seq).map_err(|e| corrupt("seq", e))?,
        text("channel")?,
        serde_json::from_str(&text("state_json")?).map_err(|e| corrupt("state", e))?,
    );
    attempt.status =
        AttemptStatus::parse(&status).ok_or_else(|| corrupt("status", format!("`{status}`")))?;
    attempt.version = u64::try_from(version).map_err(|e| corrupt("version", e))?;
    attempt.created_at = parse_time(&text("created_at")?)?;
    attempt.updated_at = parse_time(&text("updated_at")?)?;
    Ok(attempt)
}

impl SqlStore {
    pub(super) async fn insert_attempt_row(
        &self,
        attempt: &ApprovalAttempt,
    ) -> Result<Option<ApprovalAttempt>, StoreError> {
        // The write first: SQLite then takes its write lock at once (a read first could
        // not be upgraded under a concurrent writer).
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let at = now();
        let mut stored = ApprovalAttempt {
            version: 1,
            created_at: at,
            updated_at: at,
            ..attempt.clone()
        };
        stored.external_ids.sort();
        stored.external_ids.dedup();
        let done = sqlx::query(&format!(
            "INSERT INTO sentinel_approval_attempts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (action_id, seq) DO NOTHING"
        ))
        .bind(stored.action_id.to_string())
        .bind(seq_of(stored.seq))
        .bind(&stored.channel)
        .bind(stored.status.as_str())
        .bind(to_json(&stored.state)?)
        .bind(version_of(stored.version)?)
        .bind(format_time(stored.created_at))
        .bind(format_time(stored.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() != 1 {
            tx.rollback().await.map_err(backend)?;
            return Ok(None);
        }
        let known = sqlx::query("SELECT id FROM sentinel_actions WHERE id = $1")
            .bind(attempt.action_id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        if known.is_none() {
            tx.rollback().await.map_err(backend)?;
            return Err(StoreError::NotFound(attempt.action_id));
        }
        add_ids(&mut tx, &stored).await?;
        tx.commit().await.map_err(backend)?;
        Ok(Some(stored))
    }

    pub(super) async fn update_attempt_row(
        &self,
        attempt: &ApprovalAttempt,
    ) -> Result<Option<ApprovalAttempt>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let updated_at = now();
        let row = sqlx::query(&format!(
            "UPDATE sentinel_approval_attempts SET status = $1, state_json = $2, version = version + 1, \
             updated_at = $3 WHERE action_id = $4 AND seq = $5 AND version = $6 RETURNING {COLUMNS}"
        ))
        .bind(attempt.status.as_str())
        .bind(to_json(&attempt.state)?)
        .bind(format_time(updated_at))
        .bind(attempt.action_id.to_string())
        .bind(seq_of(attempt.seq))
        .bind(version_of(attempt.version)?)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            tx.rollback().await.map_err(backend)?;
            let exists = self
                .attempt_rows(attempt.action_id)
                .await?
                .iter()
                .any(|a| a.seq == attempt.seq);
            if exists {
                return Ok(None);
            }
            return Err(StoreError::Backend(format!(
                "no approval attempt {} for action `{}`",
                attempt.seq, attempt.action_id
            )));
        };
        let mut stored = self::attempt(&row)?;
        stored.external_ids = attempt.external_ids.clone();
        add_ids(&mut tx, &stored).await?;
        stored.external_ids = ids_of(&mut tx, stored.action_id, stored.seq).await?;
        tx.commit().await.map_err(backend)?;
        Ok(Some(stored))
    }

    pub(super) async fn attempt_rows(
        &self,
        action_id: ActionId,
    ) -> Result<Vec<ApprovalAttempt>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM sentinel_approval_attempts WHERE action_id = $1 ORDER BY seq"
        ))
        .bind(action_id.to_string())
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut a = attempt(row)?;
            a.external_ids = ids_of(&mut tx, a.action_id, a.seq).await?;
            out.push(a);
        }
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    pub(super) async fn find_attempt_row(
        &self,
        channel: &str,
        external_id: &str,
    ) -> Result<Option<ApprovalAttempt>, StoreError> {
        let row = sqlx::query(
            "SELECT action_id, seq FROM sentinel_attempt_ids WHERE channel = $1 AND external_id = $2",
        )
        .bind(channel)
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let action_id = row
            .try_get::<String, _>("action_id")
            .map_err(backend)?
            .parse::<ActionId>()
            .map_err(|e| corrupt("action id", e))?;
        let seq = row.try_get::<i64, _>("seq").map_err(backend)?;
        Ok(self
            .attempt_rows(action_id)
            .await?
            .into_iter()
            .find(|a| i64::from(a.seq) == seq))
    }
}

/// Records the attempt's external ids; refuses one that names another attempt.
async fn add_ids(
    tx: &mut Transaction<'static, Any>,
    attempt: &ApprovalAttempt,
) -> Result<(), StoreError> {
    for id in &attempt.external_ids {
        let done = sqlx::query(
            "INSERT INTO sentinel_attempt_ids (channel, external_id, action_id, seq) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (channel, external_id) DO NOTHING",
        )
        .bind(&attempt.channel)
        .bind(id)
        .bind(attempt.action_id.to_string())
        .bind(seq_of(attempt.seq))
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 1 {
            continue;
        }
        let owner = sqlx::query(
            "SELECT action_id, seq FROM sentinel_attempt_ids WHERE channel = $1 AND external_id = $2",
        )
        .bind(&attempt.channel)
        .bind(id)
        .fetch_one(&mut **tx)
        .await
        .map_err(backend)?;
        let same = owner.try_get::<String, _>("action_id").map_err(backend)?
            == attempt.action_id.to_string()
            && owner.try_get::<i64, _>("seq").map_err(backend)? == seq_of(attempt.seq);
        if !same {
            return Err(id_taken(&attempt.channel, id));
        }
    }
    Ok(())
}

async fn ids_of(
    tx: &mut Transaction<'static, Any>,
    action_id: ActionId,
    seq: u32,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT external_id FROM sentinel_attempt_ids WHERE action_id = $1 AND seq = $2 ORDER BY external_id",
    )
    .bind(action_id.to_string())
    .bind(seq_of(seq))
    .fetch_all(&mut **tx)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|r| r.try_get::<String, _>("external_id").map_err(backend))
        .collect()
}
