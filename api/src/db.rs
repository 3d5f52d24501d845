//! Connecting, migrating, refreshing the planner's statistics after bulk loads, and the one
//! shape of SQL that keeps a partnership's reads to its own schools' rows.

use std::time::Duration;

use entity::partnership_school;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
    sea_query::{Expr, ExprTrait, Query, SelectStatement, SubQueryStatement},
};
use uuid::Uuid;

/// Pool size on SQLite when none is set: one file takes one writer at a time, so more
/// connections only queue on its lock.
pub const SQLITE_MAX_CONNECTIONS: u32 = 8;
/// Pool size on PostgreSQL when none is set (sqlx's own default, what the service has used).
pub const POSTGRES_MAX_CONNECTIONS: u32 = 10;
/// The most connections a pool may be given.
pub const MAX_CONNECTIONS_LIMIT: u32 = 1000;
/// PostgreSQL's `statement_timeout` for the serving pool when none is set: below the default
/// REQUEST_TIMEOUT_SECS (30), so a runaway statement is cut and answered `TIMEOUT` before the
/// request as a whole runs out (408), and it stops using the server either way.
pub const DEFAULT_STATEMENT_TIMEOUT_SECS: u64 = 20;
/// How long a caller waits for a free connection of the pool when none is set.
pub const DEFAULT_ACQUIRE_TIMEOUT_SECS: u64 = 30;
/// A pooled connection idle this long is pinged before it is handed out; fresher ones are not.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(30);

/// How a pool is made. `Default` is what the settings default to (README "Configuration").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Connections in the pool; `None`: 8 on SQLite, 10 on PostgreSQL.
    pub max_connections: Option<u32>,
    /// PostgreSQL cancels a statement that runs longer (SQLSTATE 57014); `None`: no limit.
    /// SQLite has no such setting: its statements run to the end.
    pub statement_timeout: Option<Duration>,
    /// How long to wait for a connection when all are in use, before failing with `TIMEOUT`.
    pub acquire_timeout: Duration,
    /// PostgreSQL plans each prepared statement once for every value (`plan_cache_mode =
    /// force_generic_plan`) instead of again at every run; false: PostgreSQL's own choice.
    pub generic_plans: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_connections: None,
            statement_timeout: Some(Duration::from_secs(DEFAULT_STATEMENT_TIMEOUT_SECS)),
            acquire_timeout: Duration::from_secs(DEFAULT_ACQUIRE_TIMEOUT_SECS),
            generic_plans: true,
        }
    }
}

impl Settings {
    /// These settings without the statement timeout: for migrations and the operator's one-off
    /// commands (a national seed, an import), which may rightly run longer than a request.
    pub fn unbounded(&self) -> Self {
        Self { statement_timeout: None, ..self.clone() }
    }

    /// Refuses a pool size outside 1 to 1000 (the command line checks it too; this covers
    /// callers that build settings themselves).
    pub fn check(&self) -> anyhow::Result<()> {
        if let Some(n) = self.max_connections
            && !(1..=MAX_CONNECTIONS_LIMIT).contains(&n)
        {
            anyhow::bail!("DATABASE_MAX_CONNECTIONS must be 1 to {MAX_CONNECTIONS_LIMIT}, not {n}");
        }
        Ok(())
    }

    /// The pool size for a database at `url`: the one set, else the backend's default.
    pub fn max_connections_for(&self, url: &str) -> u32 {
        self.max_connections.unwrap_or(if is_sqlite(url) {
            SQLITE_MAX_CONNECTIONS
        } else {
            POSTGRES_MAX_CONNECTIONS
        })
    }
}

fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Connects to `url` as the tests and benches do: default pool, no statement timeout.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_with(ConnectOptions::new(url)).await
}

/// Connects with options the caller made (a search path, its own pool size), adding the
/// defaults of `Settings` but no statement timeout, as `connect` does.
pub async fn connect_with(options: ConnectOptions) -> anyhow::Result<DatabaseConnection> {
    connect_with_settings(options, &Settings::default().unbounded()).await
}

/// Connects with `settings`. A pool size already in `options` wins over the backend's default
/// (not over one set in `settings`). SQLite gets a busy timeout so concurrent writers wait their
/// turn.
pub async fn connect_with_settings(
    mut options: ConnectOptions,
    settings: &Settings,
) -> anyhow::Result<DatabaseConnection> {
    settings.check()?;
    let url = options.get_url().to_owned();
    let size = match (settings.max_connections, options.get_max_connections()) {
        (Some(n), _) | (None, Some(n)) => n,
        (None, None) => settings.max_connections_for(&url),
    };
    options
        .sqlx_logging(false)
        .max_connections(size)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(settings.acquire_timeout)
        // sqlx pings every connection it hands out: a round trip before each statement. A
        // connection in use moments ago is alive; one idle long enough to have been dropped
        // (a database restart, a firewall's idle cut) is still checked first.
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR);
    if let Some(timeout) = settings.statement_timeout {
        // Sent as a startup parameter of every connection (PostgreSQL only; sea-orm leaves
        // SQLite alone), so no connection of the pool escapes it.
        options.statement_timeout(timeout);
    }
    if settings.generic_plans {
        // PostgreSQL's default plans a prepared statement again at every run until a generic plan
        // looks no costlier, which for a list of ids (`IN ($1, ..., $100)`) it never does: the
        // planning then cost PostgreSQL more than running the statement. Every statement of the
        // service plans well for any value (README "Database"), so each is planned once per
        // connection. A startup parameter, as the timeout is: no statement of its own.
        options.map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_generic_plan")]));
    }
    if is_sqlite(&url) {
        // One file, many readers, one writer: WAL and a busy timeout keep writers from failing.
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    }
    let db = Database::connect(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
    Ok(db)
}

/// Connects to `url` and applies pending migrations, for the command line. Migrations always
/// run without the statement timeout (an index built on a large table may take longer than any
/// request should, and one cut off would stop every start), and so do all commands but
/// `serve`: the timeout guards the service against runaway requests, not the operator's work.
pub async fn connect_and_migrate(
    url: &str,
    settings: &Settings,
    serving: bool,
) -> anyhow::Result<DatabaseConnection> {
    let unbounded = settings.unbounded();
    if !serving || settings.statement_timeout.is_none() || is_sqlite(url) {
        let db = connect_with_settings(ConnectOptions::new(url), &unbounded).await?;
        migrate(&db).await?;
        return Ok(db);
    }
    let once = Settings { max_connections: Some(1), ..unbounded };
    let migrating = connect_with_settings(ConnectOptions::new(url), &once).await?;
    migrate(&migrating).await?;
    migrating.close().await?;
    connect_with_settings(ConnectOptions::new(url), settings).await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await?;
    Ok(())
}

/// Starts a transaction that will write. On SQLite it takes the write lock at BEGIN
/// (IMMEDIATE): concurrent writers then wait their turn on the busy timeout, instead of the
/// second failing when it tries to upgrade a read snapshot that another writer made stale.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Refreshes the planner's statistics on `tables` after a bulk load (PostgreSQL and SQLite
/// both plan better with them). PostgreSQL gets the list, so other schemas in the database
/// are left alone, and a VACUUM too: it marks the new pages all-visible, so index-only scans
/// need not visit the table, as they would until autovacuum came by. SQLite's ANALYZE covers
/// its one file. The data is committed by then, so a failure is only logged.
pub async fn analyze(db: &DatabaseConnection, tables: &[&str]) {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => format!("VACUUM (ANALYZE) {}", tables.join(", ")),
        _ => "ANALYZE".to_owned(),
    };
    if let Err(e) = db.execute_unprepared(&sql).await {
        tracing::warn!(error = %e, "ANALYZE after a bulk load failed");
    }
}

/// The ids of the partnership's member schools, as a subquery.
fn member_ids(partnership: Uuid) -> SelectStatement {
    Query::select()
        .column(partnership_school::Column::SchoolId)
        .from(partnership_school::Entity)
        .and_where(Expr::col(partnership_school::Column::PartnershipId).eq(partnership))
        .to_owned()
}

/// `column` is one of the ids `ids` selects. On PostgreSQL the ids are gathered into an array
/// first, so the plan probes indexes for the hundred-odd schools of a partnership: a join or
/// `IN (subquery)` instead gets a hash join over the whole national table, which the default
/// planner costs prefer for tables this small though it takes ten times as long, and which a
/// prepared statement's generic plan keeps choosing too. So does an `IN` list of a page's ids.
pub fn any_of(backend: DbBackend, column: Expr, ids: SelectStatement) -> Expr {
    match backend {
        DbBackend::Postgres => Expr::cust_with_exprs(
            "$1 = ANY(ARRAY($2))",
            [column, Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(ids)))],
        ),
        _ => column.in_subquery(ids),
    }
}

/// `column` holds the id of one of the partnership's member schools.
pub fn members(backend: DbBackend, column: Expr, partnership: Uuid) -> Expr {
    any_of(backend, column, member_ids(partnership))
}
