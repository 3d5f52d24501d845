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
