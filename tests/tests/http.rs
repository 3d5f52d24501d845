use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use serde_json::json;
use tests::TestApp;

#[tokio::test]
async fn the_query_editor_and_health_answer() {
    let app = TestApp::spawn().await;
    let page =
        app.send(Request::get("/graphql").header("accept", "text/html").body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.as_str().unwrap().contains("query editor"));
    let health = app.send(Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!((health.status, health.body.as_str()), (StatusCode::OK, Some("ok")));
}

#[tokio::test]
async fn broken_requests_get_client_errors_not_500s() {
    let app = TestApp::with_demo().await;
    let not_json = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from("{nope"))
        .unwrap();
    let answer = app.send(not_json).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.codes(), vec!["BAD_REQUEST"]);

    let syntax = app.gql(None, "{ partnerships { name ", json!({})).await;
    syntax.fails_with("GRAPHQL_VALIDATION_FAILED");
    let unknown = app.gql(None, "{ partnerships { salary } }", json!({})).await;
    unknown.fails_with("GRAPHQL_VALIDATION_FAILED");

    let deep = format!(
        "{{ partnerships {} }}",
        "{ cohorts { partnership ".repeat(8) + "{ name }" + &" } }".repeat(8)
    );
    let answer = app.gql(None, &deep, json!({})).await;
    assert!(answer.codes().iter().all(|c| c == "GRAPHQL_VALIDATION_FAILED"), "{:#}", answer.body);
    assert!(answer.body["errors"][0]["message"].as_str().unwrap().to_lowercase().contains("deep"));

    let huge = "x".repeat(api::http::MAX_BODY_BYTES + 1);
    let too_big =
        Request::post("/graphql").header("content-type", "application/json").body(Body::from(huge)).unwrap();
    assert!(app.send(too_big).await.status.is_client_error(), "an oversized body is refused");
}
