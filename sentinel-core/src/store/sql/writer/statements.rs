//! The statements of a batch: reading the records its writes touch, and writing what it
//! made and changed, its events and the new chain head, a few multi-row statements each.

use std::collections::HashSet;

use sqlx::{Any, Transaction};

use super::Op;
use super::pending::Pending;
use crate::action::ActionId;
use crate::error::StoreError;
use crate::store::sql::CHANNEL;
use crate::store::sql::rows::{
    self, ACTION_COLUMNS, AUDIT_COLUMNS, backend, opt_time_text, to_json,
};
use crate::store::{ActionRecord, format_time};

/// Rows per multi-row `INSERT` (14 parameters each for audit events: well under the
/// parameter limits of SQLite and PostgreSQL).
const ROWS_PER_INSERT: usize = 200;

/// Parameter `n` of a statement: `$n` on PostgreSQL, `?` on SQLite. SQLite keeps
/// numbered (named) parameters in a list it searches for each one bound, which made binding
/// a 200-row `INSERT` quadratic in its 2,800 parameters; `?` are bound by position, so
/// a statement's `?` must come in the order of its binds.
fn mark(postgres: bool, n: usize) -> String {
    if postgres {
        format!("${n}")
    } else {
        "?".to_owned()
    }
}

/// `$first, $first+1, ...`: `count` parameters in a row (see [`mark`]).
fn marks(postgres: bool, first: usize, count: usize) -> String {
    let marks: Vec<String> = (first..first + count).map(|n| mark(postgres, n)).collect();
    marks.join(", ")
}

/// `($1, $2, ...), (...)`: `rows` tuples of `cols` placeholders (see [`marks`]).
fn placeholders(postgres: bool, rows: usize, cols: usize) -> String {
    let tuples: Vec<String> = (0..rows)
        .map(|r| format!("({})", marks(postgres, r * cols + 1, cols)))
        .collect();
    tuples.join(", ")
}

/// Reads the records the batch's writes touch, and the holders of the idempotency keys its
/// new actions carry.
pub(super) async fn load(
    tx: &mut Transaction<'static, Any>,
    postgres: bool,
    ops: &[&Op],
    pending: &mut Pending,
) -> Result<(), StoreError> {
    let mut ids: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for op in ops {
        let id = match op {
            Op::Create { id, action } | Op::CreateDecided { id, action, .. } => {
                if let Some(key) = &action.idempotency_key {
                    keys.push((&action.agent_id, key));
                }
                *id
            }
            Op::Transition { id, .. } | Op::Claim { id } | Op::Note { id, .. } => *id,
        };
        if seen.insert(id) {
            ids.push(id.to_string());
        }
    }
    for chunk in ids.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM sentinel_actions WHERE id IN ({})",
            marks(postgres, 1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(id.as_str());
        }
        for row in query.fetch_all(&mut **tx).await.map_err(backend)? {
            pending.read(rows::record(&row)?);
        }
    }
    keys.sort_unstable();
    keys.dedup();
    for chunk in keys.chunks(ROWS_PER_INSERT) {
        let clauses: Vec<String> = (0..chunk.len())
            .map(|i| {
                let (agent, key) = (mark(postgres, 2 * i + 1), mark(postgres, 2 * i + 2));
                format!("(agent_id = {agent} AND idempotency_key = {key})")
            })
            .collect();
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM sentinel_actions WHERE {}",
            clauses.join(" OR ")
        );
        let mut query = sqlx::query(&sql);
        for (agent, key) in chunk {
            query = query.bind(*agent).bind(*key);
        }
        for row in query.fetch_all(&mut **tx).await.map_err(backend)? {
            pending.read(rows::record(&row)?);
        }
    }
    Ok(())
}

/// Writes what the batch made and changed, its events, and the new head.
pub(super) async fn store(
    tx: &mut Transaction<'static, Any>,
    postgres: bool,
    pending: &Pending,
) -> Result<(), StoreError> {
    let records = |ids: &[ActionId]| -> Vec<&ActionRecord> {
        ids.iter()
            .filter_map(|id| pending.records.get(id))
            .collect()
    };
    for chunk in records(&pending.created).chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO sentinel_actions (id, agent_id, action_name, idempotency_key, action_json, action_hash, \
             state, decision_json, approval_json, created_at, updated_at, deadline, executed_at) VALUES {}",
            placeholders(postgres, chunk.len(), 13)
        );
        let mut query = sqlx::query(&sql);
        for r in chunk {
            query = query
                .bind(r.id.to_string())
                .bind(r.action.agent_id.clone())
                .bind(r.action.action.clone())
                .bind(r.action.idempotency_key.clone())
                .bind(to_json(&r.action)?)
                .bind(r.action_hash.clone())
                .bind(r.state.as_str())
                .bind(r.decision.as_ref().map(to_json).transpose()?)
                .bind(r.approval.as_ref().map(to_json).transpose()?)
                .bind(format_time(r.created_at))
                .bind(format_time(r.updated_at))
                .bind(opt_time_text(r.deadline))
                .bind(opt_time_text(r.executed_at));
        }
        query.execute(&mut **tx).await.map_err(backend)?;
    }
    // The changed records in one statement per chunk (`VALUES` columns are `column1`...
    // on both databases).
    for chunk in records(&pending.changed).chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "UPDATE sentinel_actions SET state = v.column2, decision_json = v.column3, \
             approval_json = v.column4, updated_at = v.column5, deadline = v.column6, \
             executed_at = v.column7 FROM (VALUES {}) AS v WHERE sentinel_actions.id = v.column1",
            placeholders(postgres, chunk.len(), 7)
        );
        let mut query = sqlx::query(&sql);
        for r in chunk {
            query = query
                .bind(r.id.to_string())
                .bind(r.state.as_str())
                .bind(r.decision.as_ref().map(to_json).transpose()?)
                .bind(r.approval.as_ref().map(to_json).transpose()?)
                .bind(format_time(r.updated_at))
                .bind(opt_time_text(r.deadline))
                .bind(opt_time_text(r.executed_at));
        }
        let done = query.execute(&mut **tx).await.map_err(backend)?;
        if done.rows_affected() != chunk.len() as u64 {
            return Err(backend(format!(
                "{} of {} changed records were written",
                done.rows_affected(),
                chunk.len()
            )));
        }
    }
    for chunk in pending.events.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO sentinel_audit ({AUDIT_COLUMNS}) VALUES {}",
            placeholders(postgres, chunk.len(), 14)
        );
        let mut query = sqlx::query(&sql);
        for e in chunk {
            query = query
                .bind(i64::try_from(e.seq).map_err(backend)?)
                .bind(e.kind.as_str())
                .bind(e.action_id.to_string())
                .bind(e.agent_id.clone())
                .bind(e.action.clone())
                .bind(e.from.map(|s| s.as_str().to_owned()))
                .bind(e.to.as_str())
                .bind(e.actor.clone())
                .bind(e.channel.clone())
                .bind(e.reason.clone())
                .bind(format_time(e.at))
                .bind(e.prev_hash.clone())
                .bind(e.hash.clone())
                .bind(e.state_hash.clone());
        }
        query.execute(&mut **tx).await.map_err(backend)?;
    }
    if !pending.events.is_empty() {
        sqlx::query("UPDATE sentinel_chain SET last_seq = $1, last_hash = $2 WHERE id = 1")
            .bind(i64::try_from(pending.seq).map_err(backend)?)
            .bind(pending.prev.clone())
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
    }
    if postgres {
        // One announcement per action the batch wrote about, in one statement.
        let mut ids: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for e in &pending.events {
            if seen.insert(e.action_id) {
                ids.push(e.action_id.to_string());
            }
        }
        for chunk in ids.chunks(ROWS_PER_INSERT) {
            let calls: Vec<String> = (0..chunk.len())
                .map(|i| format!("pg_notify($1, ${})", i + 2))
                .collect();
            let sql = format!("SELECT {}", calls.join(", "));
            let mut query = sqlx::query(&sql).bind(CHANNEL);
            for id in chunk {
                query = query.bind(id.as_str());
            }
            query.execute(&mut **tx).await.map_err(backend)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{marks, placeholders};

    #[test]
    fn postgres_numbers_its_parameters_and_sqlite_binds_them_by_position() {
        assert_eq!(placeholders(true, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholders(false, 2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(marks(true, 3, 2), "$3, $4");
        assert_eq!(marks(false, 3, 2), "?, ?");
    }
}
