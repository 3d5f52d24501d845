//! The database settings (issue 11): the pool size and the acquire timeout as the command line
//! reads them and as the pool keeps them, on SQLite and PostgreSQL; PostgreSQL's statement
//! timeout, down to the `TIMEOUT` a GraphQL client gets.

use std::time::Duration;

use api::{
    AppState,
    auth::Role,
    cli::Cli,
    db::{self, Settings},
    error::{ApiError, is_timeout},
};
use clap::Parser;
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use serde_json::json;
use tests::{TestApp, fixtures, post};

/// The settings a command line gives, or its error.
fn parse(args: &[&str]) -> Result<Settings, clap::Error> {
    Cli::try_parse_from([&["partnership-api"], args, &["schema"]].concat()).map(|cli| cli.database.settings())
}

/// TEST_DATABASE_URL, else a SQLite file in `dir`.
fn url(dir: &tempfile::TempDir) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => format!("sqlite://{}?mode=rwc", dir.path().join("settings.db").display()),
    }
}

async fn select_one(db: &impl ConnectionTrait) -> Result<(), sea_orm::DbErr> {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT 1 AS one")).await.map(|_| ())
}

#[test]
fn the_command_line_reads_and_checks_the_database_settings() {
    let defaults = parse(&[]).expect("no flags parse");
    assert_eq!(defaults, Settings::default());
    assert_eq!(defaults.max_connections, None);
    assert_eq!(defaults.max_connections_for("sqlite://partnership.db?mode=rwc"), 8);
    assert_eq!(defaults.max_connections_for("postgres://postgres@127.0.0.1:5432/x"), 10);
    assert_eq!(defaults.statement_timeout, Some(Duration::from_secs(20)));
    assert_eq!(defaults.acquire_timeout, Duration::from_secs(30));
    assert!(defaults.generic_plans);

    let set = parse(&[
        "--database-max-connections",
        "25",
        "--database-statement-timeout-secs",
        "5",
        "--database-acquire-timeout-secs",
        "2",
        "--database-generic-plans",
        "false",
    ])
    .expect("settings parse");
    assert_eq!(set.max_connections_for("sqlite://x.db"), 25);
    assert_eq!(set.max_connections_for("postgres://x"), 25);
    assert_eq!(set.statement_timeout, Some(Duration::from_secs(5)));
    assert_eq!(set.acquire_timeout, Duration::from_secs(2));
    assert!(!set.generic_plans);
    assert_eq!(parse(&["--database-statement-timeout-secs", "0"]).unwrap().statement_timeout, None);
    assert_eq!(parse(&["--database-max-connections", "1000"]).unwrap().max_connections, Some(1000));

    for (flag, bad) in [
        ("--database-max-connections", "0"),
        ("--database-max-connections", "1001"),
        ("--database-max-connections", "-1"),
        ("--database-max-connections", "ten"),
        ("--database-statement-timeout-secs", "-1"),
        ("--database-statement-timeout-secs", "30s"),
        ("--database-acquire-timeout-secs", "0"),
        ("--database-generic-plans", "maybe"),
    ] {
        // `--flag=value`, so that "-1" is read as the value rather than as a flag.
        let err = parse(&[&format!("{flag}={bad}")]).expect_err(bad).to_string();
        assert!(err.contains(flag), "the error names the flag: {err}");
    }
}

#[tokio::test]
async fn the_pool_keeps_its_size_and_a_caller_past_it_gets_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = url(&dir);
    let max = |db: &DatabaseConnection| match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            db.get_postgres_connection_pool().options().get_max_connections()
        }
        _ => db.get_sqlite_connection_pool().options().get_max_connections(),
    };
    let default = db::connect_with_settings(ConnectOptions::new(&url), &Settings::default()).await.unwrap();
    assert_eq!(max(&default), Settings::default().max_connections_for(&url));
    default.close().await.unwrap();

    // A bad size from code that builds its settings is refused too, not clamped.
    let zero = Settings { max_connections: Some(0), ..Settings::default() };
    let err = db::connect_with_settings(ConnectOptions::new(&url), &zero).await.unwrap_err().to_string();
    assert!(err.contains("DATABASE_MAX_CONNECTIONS"), "{err}");

    // One connection: while a transaction holds it, the next caller waits the acquire timeout
    // and fails with TIMEOUT, and goes through once it is free.
    let one =
        Settings { max_connections: Some(1), acquire_timeout: Duration::from_secs(1), ..Settings::default() };
    let db = db::connect_with_settings(ConnectOptions::new(&url), &one).await.unwrap();
    assert_eq!(max(&db), 1);
    let txn = db.begin().await.unwrap();
    let err = select_one(&db).await.expect_err("the only connection is taken");
    assert!(is_timeout(&err), "{err}");
    assert_eq!(ApiError::from(err).code(), "TIMEOUT");
    txn.rollback().await.unwrap();
    select_one(&db).await.expect("the connection is back");
}

#[tokio::test]
#[cfg_attr(not(postgres), ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
async fn postgres_cancels_a_statement_past_the_timeout() {
    let url = tests::postgres_url();
    let settings = Settings { statement_timeout: Some(Duration::from_secs(1)), ..Settings::default() };
    let db = db::connect_with_settings(ConnectOptions::new(&url), &settings).await.unwrap();
    let sleep = Statement::from_string(db.get_database_backend(), "SELECT pg_sleep(3)");
    let err = db.execute_raw(sleep).await.expect_err("cancelled after a second");
    assert!(is_timeout(&err), "{err}");
    let gql = ApiError::from(err).into_gql();
    let code = gql.extensions.as_ref().and_then(|e| e.get("code")).cloned();
    assert_eq!(code, Some(async_graphql::Value::from("TIMEOUT")));
    for leak in ["pg_sleep", "select", "statement_timeout", "canceling", "57014"] {
        assert!(!gql.message.to_lowercase().contains(leak), "the message leaks {leak}: {}", gql.message);
    }
    // The cancel ends the statement, not the connection.
    select_one(&db).await.expect("the pool still answers");

    // 0 (None) sets no timeout at all: the server's own, which is none.
    let unbounded =
        db::connect_with_settings(ConnectOptions::new(&url), &settings.unbounded()).await.unwrap();
    let row = unbounded
        .query_one_raw(Statement::from_string(
            unbounded.get_database_backend(),
            "SELECT current_setting('statement_timeout') AS t",
        ))
        .await
        .unwrap()
        .expect("a row");
    assert_eq!(row.try_get::<String>("", "t").unwrap(), "0");
}

#[tokio::test]
#[cfg_attr(not(postgres), ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
async fn postgres_plans_prepared_statements_once_unless_told_otherwise() {
    let url = tests::postgres_url();
    let mode = async |settings: &Settings| {
        let db = db::connect_with_settings(ConnectOptions::new(&url), settings).await.unwrap();
        let sql = "SELECT current_setting('plan_cache_mode') AS m";
        let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
        row.expect("a row").try_get::<String>("", "m").unwrap()
    };
    assert_eq!(mode(&Settings::default()).await, "force_generic_plan");
    assert_eq!(mode(&Settings { generic_plans: false, ..Settings::default() }).await, "auto");
}

#[tokio::test]
#[cfg_attr(not(postgres), ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
async fn a_graphql_read_past_the_statement_timeout_answers_timeout() {
    let app = TestApp::spawn().await;
    let url = tests::postgres_url();
    let p = fixtures::partnership(&app.db, "harbour", "Harbour Partnership").await;
    let la = fixtures::local_authority(&app.db, "851", "Harbour Council").await;
    let s = fixtures::school(&app.db, 951001, "Quay Primary", la.id, None).await;
    fixtures::member(&app.db, p.id, s.id).await;

    // A second pool on this test's schema, as `serve` makes it: statements cut after a second.
    let schema = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), "SELECT current_schema() AS s"))
        .await
        .unwrap()
        .expect("a row")
        .try_get::<String>("", "s")
        .unwrap();
    let mut options = ConnectOptions::new(&url);
    options.set_schema_search_path(schema);
    let settings = Settings { statement_timeout: Some(Duration::from_secs(1)), ..Settings::default() };
    let db = db::connect_with_settings(options, &settings).await.unwrap();
    let router = api::router(AppState::new(db, app.jwt.clone()));
    let token = app.token(Role::Partner).partnership("harbour").sign();
    let q = "{ schools { totalCount edges { node { urn name } } } }";
    assert_eq!(post(router.clone(), Some(&token), q, json!({})).await.ok()["schools"]["totalCount"], 1);

    // Another session locks the table, so the read waits until the timeout cancels it: the
    // client gets TIMEOUT, not INTERNAL, and no SQL.
    let lock = app.db.begin().await.unwrap();
    lock.execute_unprepared("LOCK TABLE school IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let answer = post(router.clone(), Some(&token), q, json!({})).await;
    let error = answer.fails_with("TIMEOUT");
    let message = error["message"].as_str().unwrap_or_default().to_lowercase();
    assert!(!message.contains("statement timeout") && !message.contains("school"), "{message}");
    lock.rollback().await.unwrap();
    post(router, Some(&token), q, json!({})).await.ok();
}
