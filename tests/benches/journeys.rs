//! Speed targets for certification journeys, measured on the demo city: `cargo bench -p tests
//! --bench journeys` (add TEST_DATABASE_URL for PostgreSQL).
//!
//! - a city admin's query of every journey field for all 61 schools: p50 under 100 ms;
//! - a school lead's bulk rating of all 15 criteria of its level: p50 under 50 ms.
//!
//! Exits non-zero when a target is missed.

use std::time::{Duration, Instant};

use api::auth::Role;
use serde_json::{Value, json};
use tests::TestApp;

const READ_TARGET: Duration = Duration::from_millis(100);
const WRITE_TARGET: Duration = Duration::from_millis(50);
const ALL_JOURNEYS: &str = "{ schools(first: 100) { edges { node { urn certifications { stage version framework { name } targetLevel { key } certificate { number } history { to by at } selfAssessment { percentComplete missing byArea { rated total } ratings { rating } } evidence { title criteria { code } } review { outcome feedback } } aiPolicy(asOf: \"2026-11-22\") { status } } } } }";
const RATE: &str =
    "mutation($id: ID!, $r: [RatingInput!]!) { rateCriteria(certification: $id, ratings: $r) { version } }";

fn p50_max(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() - 1])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let app = TestApp::with_demo().await;
    let backend = if app.is_postgres() { "PostgreSQL" } else { "SQLite" };
    let admin = app.token(Role::CityAdmin).sign();

    let mut reads = Vec::new();
    let mut statements = 0;
    for _ in 0..30 {
        app.reset_statements();
        let started = Instant::now();
        app.gql(Some(&admin), ALL_JOURNEYS, json!({})).await.ok();
        reads.push(started.elapsed());
        statements = app.statements();
    }
    let (read, read_max) = p50_max(reads);
    println!(
        "{backend}: every journey field of 61 schools: p50 {:.1} ms, max {:.1} ms, {statements} statements (target p50 < {} ms)",
        ms(read),
        ms(read_max),
        READ_TARGET.as_millis()
    );

    // A school still self-assessing rates all its criteria, again and again.
    let q = "{ schools(first: 100) { edges { node { urn certifications { id stage targetLevel { key } framework { criteria { code level { key } } } } } } } }";
    let data = app.gql(Some(&admin), q, json!({})).await.ok();
    let school = data["schools"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .find(|n| n["certifications"][0]["stage"] == "SELF_ASSESSING")
        .expect("a school self-assessing");
    let journey = &school["certifications"][0];
    let level = journey["targetLevel"]["key"].clone();
    let ratings: Vec<Value> = journey["framework"]["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["level"]["key"] == level)
        .map(|c| json!({ "criterion": c["code"], "rating": "SECURE", "note": "benchmark" }))
        .collect();
    let lead = app.token(Role::SchoolLead).school(school["urn"].as_i64().unwrap() as i32).sign();
    let mut writes = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        app.gql(Some(&lead), RATE, json!({ "id": journey["id"], "r": ratings })).await.ok();
        writes.push(started.elapsed());
    }
    let (write, write_max) = p50_max(writes);
    println!(
        "{backend}: rating {} criteria in one call: p50 {:.1} ms, max {:.1} ms (target p50 < {} ms)",
        ratings.len(),
        ms(write),
        ms(write_max),
        WRITE_TARGET.as_millis()
    );
    if read > READ_TARGET || write > WRITE_TARGET {
        eprintln!("missed target");
        std::process::exit(1);
    }
}
