//! Speed targets, measured: `cargo bench -p tests` (add TEST_DATABASE_URL for PostgreSQL).
//!
//! - loading a national-scale synthetic set (22,000 schools) takes under a minute;
//! - a nested query over a partnership's schools answers in a bounded number of statements,
//!   and how long it takes is printed.
//!
//! Exits non-zero when a target is missed.

use std::time::{Duration, Instant};

use api::auth::Role;
use serde_json::json;
use tests::TestApp;

const SCHOOLS: usize = 22_000;
const LOAD_TARGET: Duration = Duration::from_secs(60);
const NESTED: &str = "{ partnerships { cohorts { schools(first: 100) { totalCount edges { node { urn trust { name } localAuthority { code } mentors { mentor { name } } mentees { mentee { name } } } } } } } }";

#[tokio::main]
async fn main() {
    let app = TestApp::spawn().await;
    let backend = if app.is_postgres() { "PostgreSQL" } else { "SQLite" };

    let started = Instant::now();
    api::seed::synthetic(&app.db, SCHOOLS, 1).await.expect("load");
    let load = started.elapsed();
    println!(
        "{backend}: loaded {SCHOOLS} synthetic schools in {:.2}s (target < {}s)",
        load.as_secs_f64(),
        LOAD_TARGET.as_secs()
    );

    let token = app.token(Role::Partner).partnership("synthetic-001").sign();
    let mut times = Vec::new();
    for _ in 0..30 {
        app.reset_statements();
        let started = Instant::now();
        app.gql(Some(&token), NESTED, json!({})).await.ok();
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "{backend}: nested query over one partnership of ~150 schools: p50 {:.1} ms, max {:.1} ms, {} statements",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        app.statements()
    );
    if load > LOAD_TARGET {
        eprintln!("missed target: loading took {load:?}");
        std::process::exit(1);
    }
}
