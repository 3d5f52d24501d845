//! A partnership's progress facts are read once, then shared by the queries of the next few
//! seconds, whoever sends them; any mutation makes the next query read them afresh.

use api::auth::Role;
use serde_json::json;
use tests::{TestApp, fixtures};

const TOTAL: &str = "{ partnerships { progress { totalSchools } } }";

async fn total(app: &TestApp, token: &str) -> serde_json::Value {
    app.gql(Some(token), TOTAL, json!({})).await.ok()["partnerships"][0]["progress"]["totalSchools"].clone()
}

#[tokio::test]
async fn queries_share_a_partnerships_facts_until_a_mutation_runs() {
    let app = TestApp::spawn().await;
    let north = fixtures::partnership(&app.db, "north", "North").await;
    let la = fixtures::local_authority(&app.db, "901", "North LA").await;
    for (urn, name) in [(700_001, "Hill Primary"), (700_002, "Dale Primary")] {
        let school = fixtures::school(&app.db, urn, name, la.id, None).await;
        fixtures::member(&app.db, north.id, school.id).await;
    }
    let partner = app.token(Role::Partner).partnership("north").sign();
    let admin = app.token(Role::CityAdmin).partnership("north").sign();
    app.warm(&partner).await;
    app.warm(&admin).await;

    app.reset_statements();
    assert_eq!(total(&app, &partner).await, 2);
    let first = app.statements();
    assert!(first > 1, "the first query reads the facts: {first} statements");

    // Another caller of the same partnership: only the partnerships are read.
    app.reset_statements();
    assert_eq!(total(&app, &admin).await, 2);
    assert_eq!(app.statements(), 1, "the facts were kept");

    // A mutation: the next query reads what it changed.
    let closed = "mutation { updateSchool(urn: 700002, input: { open: false }) { open } }";
    assert_eq!(app.gql(Some(&admin), closed, json!({})).await.ok()["updateSchool"]["open"], false);
    app.warm(&partner).await; // the mutation cleared what tokens resolved to, as well
    app.reset_statements();
    assert_eq!(total(&app, &partner).await, 1, "closed schools are not counted");
    assert_eq!(app.statements(), first, "read afresh");
}

#[tokio::test]
async fn facts_read_before_a_mutation_are_not_kept_after_it() {
    let cache = api::progress::FactsCache::default();
    let app = TestApp::spawn().await;
    let north = fixtures::partnership(&app.db, "north", "North").await;
    let facts = api::progress::graphql::ProgressService::new(app.db.clone()).facts(&north).await.unwrap();

    let generation = cache.generation();
    cache.clear();
    cache.put(generation, std::sync::Arc::new(facts.clone()));
    assert!(cache.get(north.id).is_none(), "read before the clear: dropped");

    cache.put(cache.generation(), std::sync::Arc::new(facts));
    assert!(cache.get(north.id).is_some());
}
