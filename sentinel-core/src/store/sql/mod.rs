//! Durable stores on SQLite (embedded, one file) and PostgreSQL (several processes or
//! hosts), through sqlx. Migrations run when the store connects.

mod attempts;
mod budget;
#[cfg(feature = "postgres")]
mod listen;
mod query;
mod rows;
mod schema;
mod writer;

use std::borrow::Cow;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor};
use tokio::sync::broadcast;

use super::attempt::ApprovalAttempt;
use super::checkpoint::{AuditKey, Checkpoint};
use super::{ActionRecord, AuditEvent, Created, Decided, Store, Transition, format_time, now};
use crate::action::{Action, ActionId};
use crate::error::StoreError;
use crate::state::State;
use rows::{ACTION_COLUMNS, AUDIT_COLUMNS, backend};
use schema::check_schema_name;
pub(crate) use schema::redact_url;
pub use writer::BatchStats;
use writer::{Done, Op, Writer};

/// A store on SQLite or PostgreSQL, chosen by the URL:
/// `sqlite://sentinel.db` (created if missing), `postgres://user@host/db`.
///
/// Writes are grouped: one writer task per store takes the writes waiting (up to
/// [`batch_max`](Self::with_batch_max)) and makes them in one transaction, which locks the
/// chain head first, so writes are serialised, idempotency checks are race-free and the
/// audit hash chain has no forks, also across processes; each caller is answered once its
/// batch has committed. On
/// PostgreSQL, state changes are announced with `NOTIFY`, so a `guard` waiting in one
/// process wakes as soon as another process resolves the action.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    postgres: bool,
    changes: Option<broadcast::Sender<ActionId>>,
    writer: Writer,
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
                        // FULL: every commit is fsynced before any caller is answered (a
                        // machine crash loses nothing acknowledged); group commit shares
                        // the fsync among the writes of a batch.
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL;")
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
        let writer = Writer::spawn(pool.clone(), postgres);
        Ok(Self {
            pool,
            postgres,
            changes,
            writer,
        })
    }

    /// Opens (or creates) the SQLite database file at `path`.
    pub async fn open_sqlite(path: impl AsRef<std::path::Path>) -> Result<Self, StoreError> {
        Self::connect(&format!("sqlite://{}", path.as_ref().display())).await
    }

    /// Caps the writes grouped into one transaction (at least 1; default
    /// [`DEFAULT_BATCH_MAX`](crate::store::DEFAULT_BATCH_MAX)). `1` turns group commit off: one transaction per write, as a
    /// baseline to measure against. Applies to every clone of this store.
    #[must_use]
    pub fn with_batch_max(self, max: usize) -> Self {
        self.writer.set_batch_max(max);
        self
    }

    /// The cap on writes grouped into one transaction.
    pub fn batch_max(&self) -> usize {
        self.writer.batch_max()
    }

    /// How many transactions the writer committed, and how many writes they held.
    pub fn batch_stats(&self) -> BatchStats {
        self.writer.stats()
    }

    /// True on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn create(&self, id: ActionId, action: &Action) -> Result<Created, StoreError> {
        let op = Op::Create {
            id,
            action: Box::new(action.clone()),
        };
        match self.writer.write(op).await? {
            Done::Created(created) => Ok(*created),
            other => Err(unexpected(&other)),
        }
    }

    /// One entry of the writer's batch: the action, its decision and (when asked) the claim
    /// of its execution in the same transaction, one wait for the caller.
    async fn create_decided(
        &self,
        id: ActionId,
        action: Action,
        decided: Decided,
    ) -> Result<Created, StoreError> {
        let op = Op::CreateDecided {
            id,
            action: Box::new(action),
            decided: Box::new(decided),
        };
        match self.writer.write(op).await? {
            Done::Created(created) => Ok(*created),
            other => Err(unexpected(&other)),
        }
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
        let op = Op::Transition {
            id,
            transition: Box::new(transition),
        };
        match self.writer.write(op).await? {
            Done::Transitioned(done) => Ok(*done),
            other => Err(unexpected(&other)),
        }
    }

    async fn claim_execution(&self, id: ActionId) -> Result<Option<AuditEvent>, StoreError> {
        match self.writer.write(Op::Claim { id }).await? {
            Done::Claimed(event) => Ok(event),
            other => Err(unexpected(&other)),
        }
    }

    async fn append_note(
        &self,
        id: ActionId,
        actor: &str,
        channel: &str,
        text: &str,
    ) -> Result<AuditEvent, StoreError> {
        let op = Op::Note {
            id,
            actor: actor.to_owned(),
            channel: channel.to_owned(),
            text: text.to_owned(),
        };
        match self.writer.write(op).await? {
            Done::Noted(event) => Ok(event),
            other => Err(unexpected(&other)),
        }
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

/// The writer answered a write with another kind of outcome (a bug, never expected).
fn unexpected(done: &Done) -> StoreError {
    StoreError::Backend(format!("the store's writer answered {done:?}"))
}
