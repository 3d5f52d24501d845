use api::auth::Role;
use serde_json::json;
use tests::TestApp;

/// Three levels of lists over every school, with relations at each level.
const DEEP: &str = "{ partnerships { cohorts { schools(first: 100) { totalCount edges { node { urn trust { name schools(first: 3) { totalCount edges { node { urn } } } } localAuthority { code } cohort { name } partnerships { slug } mentors { mentor { name cohort { ordinal } } } mentees { mentee { name } } } } } } schools(first: 100) { edges { node { urn trust { groupUid } } } } } }";

async fn statements_for(app: &TestApp, token: &str) -> usize {
    app.warm(token).await;
    app.reset_statements();
    app.gql(Some(token), DEEP, json!({})).await.ok();
    app.statements()
}

#[tokio::test]
async fn nested_lists_cost_a_bounded_number_of_statements() {
    let demo = TestApp::with_demo().await;
    let token = demo.token(Role::CityAdmin).sign();
    let small = statements_for(&demo, &token).await;
    // One statement per relation of the query, not per row: 16 here (the caller's token was
    // resolved by an earlier request and kept).
    assert!(small <= 16, "{small} statements for the demo city");

    // A partnership five times the size costs exactly the same.
    let big = TestApp::spawn().await;
    api::seed::synthetic(&big.db, 300, 9).await.unwrap();
    let token = big.token(Role::CityAdmin).partnership("synthetic-001").sign();
    let data = big.gql(Some(&token), "{ schools { totalCount } }", json!({})).await.ok();
    assert_eq!(data["schools"]["totalCount"], 150);
    assert_eq!(statements_for(&big, &token).await, small, "more schools must not mean more statements");
}

/// A page of schools reads the trusts that run them in its own statement when the query asks
/// for them, whether the page hangs off a cohort, a pairing's mentor or a URN; the trusts are
/// the right ones, and a maintained school has none.
#[tokio::test]
async fn trusts_come_with_their_schools() {
    use tests::fixtures as f;
    let app = TestApp::spawn().await;
    let db = &app.db;
    let p = f::partnership(db, "joined", "Joined").await;
    let la = f::local_authority(db, "901", "Joined LA").await;
    let (north, south) =
        (f::trust(db, "7001", "North Trust").await, f::trust(db, "7002", "South Trust").await);
    let a = f::school(db, 700001, "Alder", la.id, Some(north.id)).await;
    let b = f::school(db, 700002, "Birch", la.id, Some(south.id)).await;
    let c = f::school(db, 700003, "Cedar", la.id, None).await;
    let mentor = f::school(db, 700004, "Damson", la.id, Some(south.id)).await;
    let cohort = f::cohort(db, p.id, "First", 1, "2025-09-01", "2026-07-31").await;
    for s in [&a, &b, &c, &mentor] {
        f::member(db, p.id, s.id).await;
    }
    for s in [&a, &b, &c] {
        f::cohort_member(db, &cohort, s.id).await;
    }
    f::pairing(db, &cohort, mentor.id, a.id, "2025-10-01").await;
    let token = app.token(Role::Partner).partnership("joined").sign();
    app.warm(&token).await;

    let trusts = |data: &serde_json::Value| -> Vec<serde_json::Value> {
        let edges = data["edges"].as_array().expect("edges");
        edges.iter().map(|e| json!([e["node"]["urn"], e["node"]["trust"]["name"]])).collect()
    };
    app.reset_statements();
    let tree =
        "{ partnerships { cohorts { schools(first: 10) { edges { node { urn trust { name } } } } } } }";
    let data = app.gql(Some(&token), tree, json!({})).await.ok();
    // partnerships, cohorts, their schools with the trusts
    assert_eq!(app.statements(), 3);
    assert_eq!(
        trusts(&data["partnerships"][0]["cohorts"][0]["schools"]),
        [json!([700001, "North Trust"]), json!([700002, "South Trust"]), json!([700003, null])]
    );

    app.reset_statements();
    let mentors = "query($c: ID!) { cohort(id: $c) { schools { edges { node { urn mentors { mentor { urn trust { name } } } } } } } }";
    let cohort_id = api::ids::global_id("Cohort", cohort.id).0;
    let data = app.gql(Some(&token), mentors, json!({ "c": cohort_id })).await.ok();
    // the cohort, its schools, their pairings, the mentors with their trusts
    assert_eq!(app.statements(), 4);
    let first = &data["cohort"]["schools"]["edges"][0]["node"];
    assert_eq!(first["mentors"][0]["mentor"], json!({ "urn": 700004, "trust": { "name": "South Trust" } }));

    app.reset_statements();
    let by_urn = "query($u: Int!) { school(urn: $u) { name trust { groupUid name } } }";
    let data = app.gql(Some(&token), by_urn, json!({ "u": 700002 })).await.ok();
    assert_eq!(app.statements(), 1);
    assert_eq!(data["school"]["trust"], json!({ "groupUid": "7002", "name": "South Trust" }));
    let data = app.gql(Some(&token), by_urn, json!({ "u": 700003 })).await.ok();
    assert_eq!(data["school"], json!({ "name": "Cedar", "trust": null }));
}
