//! The statements of a batch: beginning it, locking the chain head and reading the records
//! its writes touch (one [`Script`]), then writing what it made and changed, its events and
//! the new chain head (another), a few multi-row statements each.

use std::collections::HashSet;
use std::fmt::{self, Write as _};

use sqlx::AnyConnection;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Arguments, Encode, Executor, Type};

use super::Op;
use super::pending::Pending;
use crate::action::ActionId;
use crate::error::StoreError;
use crate::store::sql::CHANNEL;
use crate::store::sql::rows::{ACTION_COLUMNS, AUDIT_COLUMNS, backend, opt_time_text, to_json};
use crate::store::{ActionRecord, format_time};

/// Rows per multi-row `INSERT` (14 parameters each for audit events: well under the
/// parameter limits of SQLite and PostgreSQL).
const ROWS_PER_INSERT: usize = 200;

/// Parameter `n` of a statement: `$n` on PostgreSQL, `?` on SQLite. SQLite keeps
/// numbered (named) parameters in a list it searches for each one bound, which made binding
/// a 200-row `INSERT` quadratic in its 2,800 parameters; `?` are bound by position, so
/// a statement's `?` must come in the order of its binds.
///
/// Written where it is used (it is a [`Display`](fmt::Display)): a batch has thousands of
/// parameters, and a string for each was a fifth of the writer's allocations.
fn mark(postgres: bool, n: usize) -> Mark {
    Mark { postgres, n }
}

/// A parameter as [`mark`] writes it.
#[derive(Debug, Clone, Copy)]
struct Mark {
    postgres: bool,
    n: usize,
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.postgres {
            write!(f, "${}", self.n)
        } else {
            f.write_str("?")
        }
    }
}

/// Appends `$first, $first+1, ...`: `count` parameters in a row (see [`mark`]).
fn push_marks(out: &mut String, postgres: bool, first: usize, count: usize) {
    for n in first..first + count {
        if n > first {
            out.push_str(", ");
        }
        // Writing into a `String` cannot fail.
        let _ = write!(out, "{}", mark(postgres, n));
    }
}

/// `$first, $first+1, ...` (see [`push_marks`]).
fn marks(postgres: bool, first: usize, count: usize) -> String {
    let mut out = String::with_capacity(count * 6);
    push_marks(&mut out, postgres, first, count);
    out
}

/// `($1, $2, ...), (...)`: `rows` tuples of `cols` placeholders (see [`mark`]).
fn placeholders(postgres: bool, rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * (cols * 6 + 4));
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        push_marks(&mut out, postgres, r * cols + 1, cols);
        out.push(')');
    }
    out
}

/// Statements and their arguments, sent to the database in as few round trips as it
/// allows: on SQLite, one string of `;`-separated statements whose `?` are bound in order
/// across them (each round trip to sqlx's SQLite worker thread cost 130-250 µs on a 2-core
/// VM, more than most statements themselves); on PostgreSQL, whose extended protocol takes
/// one statement per query, one after the other.
pub(super) struct Script<'q> {
    postgres: bool,
    /// Each statement with its arguments (one entry holding them all on SQLite).
    statements: Vec<(String, AnyArguments<'q>)>,
}

impl<'q> Script<'q> {
    pub(super) fn new(postgres: bool) -> Self {
        Self {
            postgres,
            statements: Vec::new(),
        }
    }

    /// Starts the next statement with `sql`; its parameters are bound with [`bind`](Self::bind).
    pub(super) fn push(&mut self, sql: &str) {
        match self.statements.last_mut() {
            Some((text, _)) if !self.postgres => {
                text.push_str(";\n");
                text.push_str(sql);
            }
            _ => self
                .statements
                .push((sql.to_owned(), AnyArguments::default())),
        }
    }

    /// Binds the next parameter of the current statement.
    pub(super) fn bind<T>(&mut self, value: T) -> Result<(), StoreError>
    where
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        let (_, args) = self
            .statements
            .last_mut()
            .ok_or_else(|| backend("a parameter bound before any statement"))?;
        args.add(value).map_err(backend)
    }

    /// Runs the statements in order; the rows they return, in order.
    pub(super) async fn fetch_all(
        self,
        conn: &mut AnyConnection,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        let mut rows = Vec::new();
        for (sql, args) in self.statements {
            rows.extend(conn.fetch_all(sqlx::query_with(&sql, args)).await?);
        }
        Ok(rows)
    }

    /// Runs the statements in order; the rows they changed, in all.
    pub(super) async fn execute(self, conn: &mut AnyConnection) -> Result<u64, sqlx::Error> {
        let mut changed = 0;
        for (sql, args) in self.statements {
            changed += conn
                .execute(sqlx::query_with(&sql, args))
                .await?
                .rows_affected();
        }
        Ok(changed)
    }
}

/// The first script of a batch: begins the transaction, locks the chain head (its row comes
/// first) and reads the records the batch's writes touch, and the holders of the
/// idempotency keys its new actions carry.
pub(super) fn open<'q>(postgres: bool, ops: &[&'q Op]) -> Result<Script<'q>, StoreError> {
    let mut script = Script::new(postgres);
    // On SQLite, IMMEDIATE takes the database's write lock at once, before anything is read.
    script.push(if postgres { "BEGIN" } else { "BEGIN IMMEDIATE" });
    // The head, locked for the whole batch (on PostgreSQL, its row).
    script.push(
        "UPDATE sentinel_chain SET last_seq = last_seq WHERE id = 1 RETURNING last_seq, last_hash",
    );
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
        script.push(&format!(
            "SELECT {ACTION_COLUMNS} FROM sentinel_actions WHERE id IN ({})",
            marks(postgres, 1, chunk.len())
        ));
        for id in chunk {
            script.bind(id.clone())?;
        }
    }
    keys.sort_unstable();
    keys.dedup();
    for chunk in keys.chunks(ROWS_PER_INSERT) {
        let mut sql = format!("SELECT {ACTION_COLUMNS} FROM sentinel_actions WHERE ");
        for i in 0..chunk.len() {
            let (agent, key) = (mark(postgres, 2 * i + 1), mark(postgres, 2 * i + 2));
            let or = if i > 0 { " OR " } else { "" };
            // Writing into a `String` cannot fail.
            let _ = write!(sql, "{or}(agent_id = {agent} AND idempotency_key = {key})");
        }
        script.push(&sql);
        for (agent, key) in chunk {
            script.bind(*agent)?;
            script.bind(*key)?;
        }
    }
    Ok(script)
}

/// The second script of a batch: writes what it made and changed, its events, and the new
/// head (the transaction is committed apart, so that a failed commit is told from a failed
/// statement). Also returns how many rows it must change.
pub(super) fn store<'q>(
    postgres: bool,
    pending: &'q Pending,
) -> Result<(Script<'q>, u64), StoreError> {
    let mut script = Script::new(postgres);
    let mut rows = 0;
    let records = |ids: &[ActionId]| -> Vec<&ActionRecord> {
        ids.iter()
            .filter_map(|id| pending.records.get(id))
            .collect()
    };
    for chunk in records(&pending.created).chunks(ROWS_PER_INSERT) {
        script.push(&format!(
            "INSERT INTO sentinel_actions (id, agent_id, action_name, idempotency_key, action_json, action_hash, \
             state, decision_json, approval_json, created_at, updated_at, deadline, executed_at) VALUES {}",
            placeholders(postgres, chunk.len(), 13)
        ));
        for r in chunk {
            script.bind(r.id.to_string())?;
            script.bind(r.action.agent_id.as_str())?;
            script.bind(r.action.action.as_str())?;
            script.bind(r.action.idempotency_key.as_deref())?;
            script.bind(to_json(&r.action)?)?;
            script.bind(r.action_hash.as_str())?;
            script.bind(r.state.as_str())?;
            script.bind(r.decision.as_ref().map(to_json).transpose()?)?;
            script.bind(r.approval.as_ref().map(to_json).transpose()?)?;
            script.bind(format_time(r.created_at))?;
            script.bind(format_time(r.updated_at))?;
            script.bind(opt_time_text(r.deadline))?;
            script.bind(opt_time_text(r.executed_at))?;
        }
        rows += chunk.len() as u64;
    }
    // The changed records in one statement per chunk (`VALUES` columns are `column1`...
    // on both databases).
    for chunk in records(&pending.changed).chunks(ROWS_PER_INSERT) {
        script.push(&format!(
            "UPDATE sentinel_actions SET state = v.column2, decision_json = v.column3, \
             approval_json = v.column4, updated_at = v.column5, deadline = v.column6, \
             executed_at = v.column7 FROM (VALUES {}) AS v WHERE sentinel_actions.id = v.column1",
            placeholders(postgres, chunk.len(), 7)
        ));
        for r in chunk {
            script.bind(r.id.to_string())?;
            script.bind(r.state.as_str())?;
            script.bind(r.decision.as_ref().map(to_json).transpose()?)?;
            script.bind(r.approval.as_ref().map(to_json).transpose()?)?;
            script.bind(format_time(r.updated_at))?;
            script.bind(opt_time_text(r.deadline))?;
            script.bind(opt_time_text(r.executed_at))?;
        }
        rows += chunk.len() as u64;
    }
    for chunk in pending.events.chunks(ROWS_PER_INSERT) {
        script.push(&format!(
            "INSERT INTO sentinel_audit ({AUDIT_COLUMNS}) VALUES {}",
            placeholders(postgres, chunk.len(), 14)
        ));
        for e in chunk {
            script.bind(i64::try_from(e.seq).map_err(backend)?)?;
            script.bind(e.kind.as_str())?;
            script.bind(e.action_id.to_string())?;
            script.bind(e.agent_id.as_str())?;
            script.bind(e.action.as_str())?;
            script.bind(e.from.map(|s| s.as_str()))?;
            script.bind(e.to.as_str())?;
            script.bind(e.actor.as_str())?;
            script.bind(e.channel.as_str())?;
            script.bind(e.reason.as_str())?;
            script.bind(format_time(e.at))?;
            script.bind(e.prev_hash.as_str())?;
            script.bind(e.hash.as_str())?;
            script.bind(e.state_hash.as_str())?;
        }
        rows += chunk.len() as u64;
    }
    if !pending.events.is_empty() {
        script.push(&format!(
            "UPDATE sentinel_chain SET last_seq = {}, last_hash = {} WHERE id = 1",
            mark(postgres, 1),
            mark(postgres, 2)
        ));
        script.bind(i64::try_from(pending.seq).map_err(backend)?)?;
        script.bind(pending.prev.as_str())?;
        rows += 1;
    }
    Ok((script, rows))
}

/// On PostgreSQL, the announcement of the actions the batch wrote about (one `NOTIFY` each,
/// in one statement per chunk), sent before the commit delivers them.
pub(super) fn announce(pending: &Pending) -> Result<Script<'_>, StoreError> {
    let mut script = Script::new(true);
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
        script.push(&format!("SELECT {}", calls.join(", ")));
        script.bind(CHANNEL)?;
        for id in chunk {
            script.bind(id.clone())?;
        }
    }
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::{mark, marks, placeholders};

    #[test]
    fn postgres_numbers_its_parameters_and_sqlite_binds_them_by_position() {
        assert_eq!(placeholders(true, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholders(false, 2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(marks(true, 3, 2), "$3, $4");
        assert_eq!(marks(false, 3, 2), "?, ?");
        assert_eq!(format!("x = {}", mark(true, 12)), "x = $12");
        assert_eq!(format!("x = {}", mark(false, 12)), "x = ?");
    }
}
