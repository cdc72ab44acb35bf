//! Durable stores on SQLite (embedded, one file) and PostgreSQL (several processes or
//! hosts), through sqlx. Migrations run when the store connects.

mod attempts;
mod budget;
#[cfg(feature = "postgres")]
mod listen;
mod query;
mod rows;
mod schema;

use std::borrow::Cow;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Executor, Transaction};
use tokio::sync::broadcast;

use super::attempt::ApprovalAttempt;
use super::chain::{record_digest, seal};
use super::checkpoint::{AuditKey, Checkpoint};
use super::{
    ActionRecord, AuditEvent, Created, Store, Transition, apply, execution_event, format_time,
    new_record, note_event, now, received_events,
};
use crate::action::{Action, ActionId};
use crate::error::StoreError;
use crate::state::State;
use rows::{ACTION_COLUMNS, AUDIT_COLUMNS, backend, opt_time_text, to_json};
use schema::check_schema_name;
pub(crate) use schema::redact_url;

/// A store on SQLite or PostgreSQL, chosen by the URL:
/// `sqlite://sentinel.db` (created if missing), `postgres://user@host/db`.
///
/// Every write locks the chain head row first, so writes are serialised, idempotency checks
/// are race-free and the audit hash chain has no forks, also across processes. On
/// PostgreSQL, state changes are announced with `NOTIFY`, so a `guard` waiting in one
/// process wakes as soon as another process resolves the action.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    postgres: bool,
    changes: Option<broadcast::Sender<ActionId>>,
}

/// The `NOTIFY` channel of state changes.
const CHANNEL: &str = "sentinel_actions";

fn migrator() -> Migrator {
    let migration = |version, name, sql| {
        Migration::new(
            version,
            Cow::Borrowed(name),
            MigrationType::Simple,
            Cow::Borrowed(sql),
            false,
        )
    };
    Migrator {
        migrations: Cow::Owned(vec![
            migration(1, "init", include_str!("../../../migrations/0001_init.sql")),
            migration(
                2,
                "audit binding",
                include_str!("../../../migrations/0002_audit_binding.sql"),
            ),
            migration(
                3,
                "approval attempts",
                include_str!("../../../migrations/0003_approval_attempts.sql"),
            ),
            migration(
                4,
                "budget ledger",
                include_str!("../../../migrations/0004_budget_ledger.sql"),
            ),
        ]),
        ..Migrator::DEFAULT
    }
}

impl SqlStore {
    /// Connects to `url` and runs the migrations. SQLite files are created if missing.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, None).await
    }

    /// Connects to PostgreSQL and keeps every table in `schema` (created if missing), for
    /// several independent deployments or test runs in one database.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        check_schema_name(schema)?;
        Self::connect_with(url, Some(schema.to_owned())).await
    }

    async fn connect_with(url: &str, schema: Option<String>) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        let sqlite = url.starts_with("sqlite:");
        if !postgres && !sqlite {
            return Err(StoreError::Backend(format!(
                "unsupported database url `{}`: use `sqlite://<file>` or `postgres://...`",
                redact_url(url)
            )));
        }
        let missing = if postgres && !cfg!(feature = "postgres") {
            Some("postgres")
        } else if sqlite && !cfg!(feature = "sqlite") {
            Some("sqlite")
        } else {
            None
        };
        if let Some(feature) = missing {
            return Err(StoreError::Backend(format!(
                "this build of sentinel has no `{feature}` store (cargo feature `{feature}` of sentinel-core)"
            )));
        }
        if schema.is_some() && !postgres {
            return Err(StoreError::Backend(
                "schemas are a PostgreSQL feature".to_owned(),
            ));
        }
        let url = if sqlite && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_owned()
        };
        let setup = schema.clone();
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                let setup = setup.clone();
                Box::pin(async move {
                    if sqlite {
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;")
                            .await?;
                    } else if let Some(schema) = setup {
                        conn.execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema};").as_str())
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot connect to `{}`: {e}", redact_url(&url))))?;
        migrator()
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migrations failed: {e}")))?;
        #[cfg(feature = "postgres")]
        let changes = postgres.then(|| listen::spawn(url.clone(), CHANNEL));
        #[cfg(not(feature = "postgres"))]
        let changes = None;
        Ok(Self {
            pool,
            postgres,
            changes,
        })
    }

    /// Opens (or creates) the SQLite database file at `path`.
    pub async fn open_sqlite(path: impl AsRef<std::path::Path>) -> Result<Self, StoreError> {
        Self::connect(&format!("sqlite://{}", path.as_ref().display())).await
    }

    /// True on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres
    }

    /// Starts a write of `events` audit events: locks the chain head and returns the first
    /// `seq` to use and the last hash.
    async fn begin_write(
        &self,
        events: u64,
    ) -> Result<(Transaction<'static, Any>, u64, String), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let row: AnyRow = sqlx::query(
            "UPDATE sentinel_chain SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq, last_hash",
        )
        .bind(i64::try_from(events).map_err(backend)?)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let seq: i64 = sqlx::Row::try_get(&row, "last_seq").map_err(backend)?;
        let last: String = sqlx::Row::try_get(&row, "last_hash").map_err(backend)?;
        Ok((tx, u64::try_from(seq).map_err(backend)? + 1 - events, last))
    }

    /// Appends one event, binding `record` (as the event leaves it) to it; see
    /// [`append_all`](Self::append_all).
    async fn append(
        &self,
        tx: &mut Transaction<'static, Any>,
        mut event: AuditEvent,
        record: &ActionRecord,
        prev: &str,
    ) -> Result<AuditEvent, StoreError> {
        event.state_hash = record_digest(record);
        let mut sealed = self.append_all(tx, vec![event], prev).await?;
        sealed.pop().ok_or_else(|| backend("no event appended"))
    }

    /// Seals and inserts events in order, moves the chain head and announces the change.
    async fn append_all(
        &self,
        tx: &mut Transaction<'static, Any>,
        events: Vec<AuditEvent>,
        prev: &str,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut prev = prev.to_owned();
        let mut sealed = Vec::with_capacity(events.len());
        for event in events {
            let event = seal(event, &prev);
            self.insert_event(tx, &event).await?;
            prev.clone_from(&event.hash);
            sealed.push(event);
        }
        sqlx::query("UPDATE sentinel_chain SET last_hash = $1 WHERE id = 1")
            .bind(&prev)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
        if let (true, Some(last)) = (self.postgres, sealed.last()) {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(last.action_id.to_string())
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
        }
        Ok(sealed)
    }

    async fn insert_event(
        &self,
        tx: &mut Transaction<'static, Any>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO sentinel_audit ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(i64::try_from(event.seq).map_err(backend)?)
        .bind(event.kind.as_str())
        .bind(event.action_id.to_string())
        .bind(&event.agent_id)
        .bind(&event.action)
        .bind(event.from.map(|s| s.as_str().to_owned()))
        .bind(event.to.as_str())
        .bind(&event.actor)
        .bind(&event.channel)
        .bind(&event.reason)
        .bind(format_time(event.at))
        .bind(&event.prev_hash)
        .bind(&event.hash)
        .bind(&event.state_hash)
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn fetch_record(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: ActionId,
    ) -> Result<ActionRecord, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ACTION_COLUMNS} FROM sentinel_actions WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound(id))?;
        rows::record(&row)
    }

    async fn commit(tx: Transaction<'static, Any>) -> Result<(), StoreError> {
        tx.commit().await.map_err(backend)
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn create(&self, id: ActionId, action: &Action) -> Result<Created, StoreError> {
        let hash = action.canonical_hash();
        let (mut tx, seq, prev) = self.begin_write(2).await?;
        if let Some(key) = &action.idempotency_key {
            let existing = sqlx::query(&format!(
                "SELECT {ACTION_COLUMNS} FROM sentinel_actions WHERE agent_id = $1 AND idempotency_key = $2"
            ))
            .bind(&action.agent_id)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
            if let Some(row) = existing {
                let record = rows::record(&row)?;
                tx.rollback().await.map_err(backend)?;
                if record.action_hash != hash {
                    return Err(StoreError::IdempotencyConflict {
                        key: key.clone(),
                        existing: record.id,
                    });
                }
                return Ok(Created::Existing(record));
            }
        }
        let at = now();
        let record = new_record(id, action, hash, at);
        sqlx::query(
            "INSERT INTO sentinel_actions (id, agent_id, action_name, idempotency_key, action_json, action_hash, \
             state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.to_string())
        .bind(&action.agent_id)
        .bind(&action.action)
        .bind(action.idempotency_key.clone())
        .bind(to_json(action)?)
        .bind(&record.action_hash)
        .bind(record.state.as_str())
        .bind(format_time(at))
        .bind(format_time(at))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let digest = record_digest(&record);
        let events = received_events(seq, id, action, at)
            .into_iter()
            .map(|mut e| {
                e.state_hash.clone_from(&digest);
                e
            })
            .collect();
        let events = self.append_all(&mut tx, events, &prev).await?;
        Self::commit(tx).await?;
        Ok(Created::New(record, events))
    }

    async fn get(&self, id: ActionId) -> Result<ActionRecord, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ACTION_COLUMNS} FROM sentinel_actions WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound(id))?;
        rows::record(&row)
    }

    async fn transition(
        &self,
        id: ActionId,
        transition: Transition,
    ) -> Result<(ActionRecord, AuditEvent), StoreError> {
        let (mut tx, seq, prev) = self.begin_write(1).await?;
        let mut record = self.fetch_record(&mut tx, id).await?;
        let event = apply(&mut record, &transition, seq, now())?;
        sqlx::query(
            "UPDATE sentinel_actions SET state = $1, decision_json = $2, approval_json = $3, updated_at = $4, \
             deadline = $5 WHERE id = $6",
        )
        .bind(record.state.as_str())
        .bind(record.decision.as_ref().map(to_json).transpose()?)
        .bind(record.approval.as_ref().map(to_json).transpose()?)
        .bind(format_time(record.updated_at))
        .bind(opt_time_text(record.deadline))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let event = self.append(&mut tx, event, &record, &prev).await?;
        Self::commit(tx).await?;
        Ok((record, event))
    }

    async fn claim_execution(&self, id: ActionId) -> Result<Option<AuditEvent>, StoreError> {
        let (mut tx, seq, prev) = self.begin_write(1).await?;
        let mut record = self.fetch_record(&mut tx, id).await?;
        if record.executed_at.is_some() || !record.state.permits_execution() {
            tx.rollback().await.map_err(backend)?;
            return Ok(None);
        }
        let at = now();
        record.executed_at = Some(at);
        sqlx::query("UPDATE sentinel_actions SET executed_at = $1 WHERE id = $2")
            .bind(format_time(at))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let event = self
            .append(&mut tx, execution_event(seq, &record, at), &record, &prev)
            .await?;
        Self::commit(tx).await?;
        Ok(Some(event))
    }

    async fn append_note(
        &self,
        id: ActionId,
        actor: &str,
        channel: &str,
        text: &str,
    ) -> Result<AuditEvent, StoreError> {
        let (mut tx, seq, prev) = self.begin_write(1).await?;
        let record = self.fetch_record(&mut tx, id).await?;
        let event = note_event(seq, &record, actor, channel, text, now());
        let event = self.append(&mut tx, event, &record, &prev).await?;
        Self::commit(tx).await?;
        Ok(event)
    }

    async fn audit_trail(&self, id: ActionId) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM sentinel_audit WHERE action_id = $1 ORDER BY seq"
        ))
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        if rows.is_empty() {
            // Distinguish "no such action" from an action without events (never happens).
            self.get(id).await?;
        }
        rows.iter().map(rows::event).collect()
    }

    async fn latest(&self) -> Result<Option<ActionRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {ACTION_COLUMNS} FROM sentinel_actions ORDER BY id DESC LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .as_ref()
        .map(rows::record)
        .transpose()
    }

    async fn in_states(&self, states: &[State]) -> Result<Vec<ActionRecord>, StoreError> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=states.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM sentinel_actions WHERE state IN ({}) ORDER BY id",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for state in states {
            query = query.bind(state.as_str());
        }
        let rows = query.fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(rows::record).collect()
    }

    async fn claim_stale(
        &self,
        id: ActionId,
        stale_before: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        // One conditional update: of two processes sweeping at once, only one matches.
        let done = sqlx::query(
            "UPDATE sentinel_actions SET updated_at = $1 \
             WHERE id = $2 AND state IN ('RECEIVED', 'ANALYZING') AND updated_at < $3",
        )
        .bind(format_time(now()))
        .bind(id.to_string())
        .bind(format_time(stale_before))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn audit_log(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM sentinel_audit WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(i64::try_from(after).map_err(backend)?)
        .bind(i64::try_from(limit).map_err(backend)?)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(rows::event).collect()
    }

    async fn audit_head(&self) -> Result<Option<(u64, String)>, StoreError> {
        let row = sqlx::query("SELECT last_seq, last_hash FROM sentinel_chain WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|row| {
            let seq: i64 = sqlx::Row::try_get(&row, "last_seq").map_err(backend)?;
            let hash: String = sqlx::Row::try_get(&row, "last_hash").map_err(backend)?;
            Ok((u64::try_from(seq).map_err(backend)?, hash))
        })
        .transpose()
    }

    async fn find_actions(
        &self,
        query: &crate::store::ActionQuery,
    ) -> Result<crate::store::ActionPage, StoreError> {
        query::find(&self.pool, query).await
    }

    async fn count_since(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<crate::store::StateCount>, StoreError> {
        query::count(&self.pool, since).await
    }

    async fn records_page(
        &self,
        after: Option<ActionId>,
        limit: usize,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ACTION_COLUMNS} FROM sentinel_actions WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(i64::try_from(limit).map_err(backend)?)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(rows::record).collect()
    }

    async fn write_checkpoint(
        &self,
        key: Option<&AuditKey>,
    ) -> Result<Option<Checkpoint>, StoreError> {
        let Some((seq, hash)) = self.audit_head().await? else {
            return Ok(None);
        };
        if seq == 0 {
            return Ok(None);
        }
        let checkpoint = Checkpoint::new(seq, hash, now(), key);
        // Once per head: a second writer (or a quiet log) changes nothing.
        let done = sqlx::query(
            "INSERT INTO sentinel_checkpoints (seq, hash, at, mac) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (seq) DO NOTHING",
        )
        .bind(i64::try_from(seq).map_err(backend)?)
        .bind(&checkpoint.hash)
        .bind(format_time(checkpoint.at))
        .bind(checkpoint.mac.clone())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok((done.rows_affected() == 1).then_some(checkpoint))
    }

    async fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        let rows = sqlx::query("SELECT seq, hash, at, mac FROM sentinel_checkpoints ORDER BY seq")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(rows::checkpoint).collect()
    }

    fn changes(&self) -> Option<broadcast::Receiver<ActionId>> {
        self.changes.as_ref().map(broadcast::Sender::subscribe)
    }

    fn keeps_attempts(&self) -> bool {
        true
    }

    async fn insert_attempt(
        &self,
        attempt: &ApprovalAttempt,
    ) -> Result<Option<ApprovalAttempt>, StoreError> {
        self.insert_attempt_row(attempt).await
    }

    async fn update_attempt(
        &self,
        attempt: &ApprovalAttempt,
    ) -> Result<Option<ApprovalAttempt>, StoreError> {
        self.update_attempt_row(attempt).await
    }

    async fn attempts(&self, action_id: ActionId) -> Result<Vec<ApprovalAttempt>, StoreError> {
        self.attempt_rows(action_id).await
    }

    async fn find_attempt(
        &self,
        channel: &str,
        external_id: &str,
    ) -> Result<Option<ApprovalAttempt>, StoreError> {
        self.find_attempt_row(channel, external_id).await
    }

    async fn reserve_budgets(
        &self,
        id: ActionId,
        demands: &[crate::store::BudgetDemand],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<crate::store::WindowFigure>, StoreError> {
        self.budget_window(id, demands, at, true).await
    }

    async fn budget_figures(
        &self,
        id: ActionId,
        demands: &[crate::store::BudgetDemand],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<crate::store::WindowFigure>, StoreError> {
        self.budget_window(id, demands, at, false).await
    }

    async fn release_budgets(&self, id: ActionId) -> Result<(), StoreError> {
        self.release_budget_rows(id).await
    }
}
