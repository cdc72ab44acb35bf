//! [`ActionQuery`] in SQL: the filters as `WHERE` clauses with bound values (never
//! spliced into the text), newest first by id (ids are time-ordered), one page at a time.
//! Times compare as stored text: RFC 3339, UTC, fixed precision, so text order is time
//! order.

use sqlx::AnyPool;
use sqlx::Row;

use super::rows::{self, ACTION_COLUMNS, backend, parse_state};
use crate::error::StoreError;
use crate::store::format_time;
use crate::store::query::{ActionPage, ActionQuery, StateCount};

/// One page of the actions `query` finds.
pub(super) async fn find(pool: &AnyPool, query: &ActionQuery) -> Result<ActionPage, StoreError> {
    let mut clauses: Vec<String> = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    let bind = |value: String, binds: &mut Vec<String>| {
        binds.push(value);
        format!("${}", binds.len())
    };
    if !query.states.is_empty() {
        let marks: Vec<String> = query
            .states
            .iter()
            .map(|s| bind(s.as_str().to_owned(), &mut binds))
            .collect();
        clauses.push(format!("state IN ({})", marks.join(", ")));
    }
    if let Some(agent) = &query.agent_id {
        clauses.push(format!("agent_id = {}", bind(agent.clone(), &mut binds)));
    }
    if let Some(action) = &query.action {
        clauses.push(format!(
            "action_name = {}",
            bind(action.clone(), &mut binds)
        ));
    }
    if let Some(since) = query.since {
        clauses.push(format!(
            "created_at >= {}",
            bind(format_time(since), &mut binds)
        ));
    }
    if let Some(until) = query.until {
        clauses.push(format!(
            "created_at < {}",
            bind(format_time(until), &mut binds)
        ));
    }
    if let Some(before) = query.before {
        clauses.push(format!("id < {}", bind(before.to_string(), &mut binds)));
    }
    let size = query.page_size();
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "SELECT {ACTION_COLUMNS} FROM sentinel_actions {filter} ORDER BY id DESC LIMIT {}",
        size + 1
    );
    let mut q = sqlx::query(&sql);
    for value in binds {
        q = q.bind(value);
    }
    let found = q.fetch_all(pool).await.map_err(backend)?;
    let records = found
        .iter()
        .map(rows::record)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ActionPage::from_found(records, size))
}

/// Actions received since `since`, counted per state.
pub(super) async fn count(
    pool: &AnyPool,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<StateCount>, StoreError> {
    let found = sqlx::query(
        "SELECT state, COUNT(*) AS n FROM sentinel_actions WHERE created_at >= $1 \
         GROUP BY state ORDER BY state",
    )
    .bind(format_time(since))
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    found
        .iter()
        .map(|row| {
            let state: String = row.try_get("state").map_err(backend)?;
            let n: i64 = row.try_get("n").map_err(backend)?;
            Ok(StateCount {
                state: parse_state(&state)?,
                count: u64::try_from(n).unwrap_or(0),
            })
        })
        .collect()
}
