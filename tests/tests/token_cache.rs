//! What a token resolves to is looked up once, then kept until it expires or a mutation runs.

use api::auth::Role;
use serde_json::json;
use tests::{TestApp, fixtures};

#[tokio::test]
async fn a_callers_next_request_reads_no_row_for_its_token() {
    let app = TestApp::spawn().await;
    fixtures::partnership(&app.db, "north", "North").await;
    let token = app.token(Role::Partner).partnership("north").sign();
    let me = "{ me { role } }";

    app.reset_statements();
    app.gql(Some(&token), me, json!({})).await.ok();
    assert_eq!(app.statements(), 1, "the first request looks up the token's partnership");

    // Another token naming the same partnership shares what the first resolved.
    let other = app.token(Role::Partner).partnership("north").sign();
    app.reset_statements();
    assert_eq!(app.gql(Some(&other), me, json!({})).await.ok()["me"]["role"], "PARTNER");
    assert_eq!(app.statements(), 0);
}

#[tokio::test]
async fn a_token_naming_nothing_is_refused_until_it_does() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Partner).partnership("later").sign();
    app.gql(Some(&token), "{ me { role } }", json!({})).await.fails_with("UNAUTHENTICATED");
    fixtures::partnership(&app.db, "later", "Later").await;
    assert_eq!(app.gql(Some(&token), "{ me { role } }", json!({})).await.ok()["me"]["role"], "PARTNER");
}

#[tokio::test]
async fn a_mutation_makes_every_token_resolve_afresh() {
    let app = TestApp::spawn().await;
    let north = fixtures::partnership(&app.db, "north", "North").await;
    let la = fixtures::local_authority(&app.db, "901", "North LA").await;
    let first = fixtures::trust(&app.db, "4001", "First Trust").await;
    let second = fixtures::trust(&app.db, "4002", "Second Trust").await;
    let school = fixtures::school(&app.db, 700_001, "Hill Primary", la.id, Some(first.id)).await;
    fixtures::member(&app.db, north.id, school.id).await;

    let lead = app.token(Role::TrustLead).trust("4002").sign();
    let seen = || async {
        app.gql(Some(&lead), "{ partnerships { slug } }", json!({})).await.ok()["partnerships"].clone()
    };
    assert_eq!(seen().await, json!([]), "the second trust runs no school of a partnership yet");

    let admin = app.token(Role::CityAdmin).partnership("north").sign();
    let moved = app
        .gql(
            Some(&admin),
            "mutation($t: ID!) { updateSchool(urn: 700001, input: { trust: $t }) { trust { groupUid } } }",
            json!({ "t": api::ids::global_id("Trust", second.id) }),
        )
        .await
        .ok();
    assert_eq!(moved["updateSchool"]["trust"]["groupUid"], "4002");
    assert!(app.tokens.is_empty(), "the mutation cleared what tokens resolved to");
    assert_eq!(
        seen().await,
        json!([{ "slug": "north" }]),
        "the lead's next request sees the school's partnership"
    );
}
