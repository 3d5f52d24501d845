//! Connecting, migrating, and refreshing the planner's statistics after bulk loads.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Connects to `url`. SQLite gets a busy timeout so concurrent writers wait their turn.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_with(ConnectOptions::new(url)).await
}

pub async fn connect_with(mut options: ConnectOptions) -> anyhow::Result<DatabaseConnection> {
    let url = options.get_url().to_owned();
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    if url.starts_with("sqlite:") {
        // One file, many readers, one writer: WAL and a busy timeout keep writers from failing.
        options.max_connections(8).map_sqlx_sqlite_opts(|o| {
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
/// are left alone; SQLite's ANALYZE covers its one file. The data is committed by then, so a
/// failure is only logged.
pub async fn analyze(db: &DatabaseConnection, tables: &[&str]) {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => format!("ANALYZE {}", tables.join(", ")),
        _ => "ANALYZE".to_owned(),
    };
    if let Err(e) = db.execute_unprepared(&sql).await {
        tracing::warn!(error = %e, "ANALYZE after a bulk load failed");
    }
}
