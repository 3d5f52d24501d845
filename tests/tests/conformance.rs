//! GraphQL over HTTP (the spec graphql-http's audits check; `tests/conformance` runs them against
//! a live server in CI): GET runs queries from the URL, media types and status codes.

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
    response::Response,
};
use http_body_util::BodyExt;
use serde_json::Value;
use tests::TestApp;
use tower::ServiceExt;

async fn send(app: &TestApp, req: Request<Body>) -> (Response<()>, String) {
    let res = app.router().oneshot(req).await.expect("router answers");
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (Response::from_parts(parts, ()), String::from_utf8_lossy(&bytes).into_owned())
}

fn content_type(res: &Response<()>) -> &str {
    res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn get_runs_a_query_from_the_url() {
    let app = TestApp::spawn().await;
    // query Q($n: String!) { __type(name: $n) { name } }, variables {"n": "Query"}
    let uri = "/graphql?query=query%20Q%28%24n%3A%20String%21%29%20%7B%20__type%28name%3A%20%24n%29%20%7B%20name%20%7D%20%7D\
               &variables=%7B%22n%22%3A%22Query%22%7D&operationName=Q";
    let req = Request::get(uri).header("accept", "application/json").body(Body::empty()).unwrap();
    let (res, body) = send(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK, "{body}");
    assert_eq!(content_type(&res), "application/json");
    assert_eq!(json(&body)["data"]["__type"]["name"], "Query", "{body}");
}

#[tokio::test]
async fn get_refuses_mutations_with_405() {
    let app = TestApp::spawn().await;
    let uri = "/graphql?query=mutation%20%7B%20__typename%20%7D";
    let (res, body) = send(&app, Request::get(uri).body(Body::empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(res.headers().get(header::ALLOW).unwrap(), "POST");
    assert_eq!(json(&body)["errors"][0]["extensions"]["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn get_runs_the_operation_named_of_a_document_holding_both_kinds() {
    let app = TestApp::spawn().await;
    let doc = "/graphql?query=query%20Q%20%7B%20__typename%20%7D%20mutation%20M%20%7B%20__typename%20%7D";
    let (res, body) =
        send(&app, Request::get(format!("{doc}&operationName=Q")).body(Body::empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK, "{body}");
    assert_eq!(json(&body)["data"]["__typename"], "Query");
    let (res, body) =
        send(&app, Request::get(format!("{doc}&operationName=M")).body(Body::empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{body}");
}

#[tokio::test]
async fn a_browser_gets_the_query_editor() {
    let app = TestApp::spawn().await;
    let accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let req = Request::get("/graphql").header("accept", accept).body(Body::empty()).unwrap();
    let (res, body) = send(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(content_type(&res).starts_with("text/html"));
    assert!(body.contains(r#"<script src="/ide.js" defer></script>"#), "{body}");
}

#[tokio::test]
async fn post_without_a_content_type_is_415() {
    let app = TestApp::spawn().await;
    let req = Request::post("/graphql").body(Body::from(r#"{"query":"{ __typename }"}"#)).unwrap();
    let (res, body) = send(&app, req).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
}

#[tokio::test]
async fn the_answer_has_the_media_type_asked_for() {
    let app = TestApp::spawn().await;
    for (accept, expected) in [
        (Some("application/json"), "application/json"),
        (Some("*/*"), "application/json"),
        (None, "application/json"),
        (Some("application/graphql-response+json"), "application/graphql-response+json"),
    ] {
        let mut req = Request::post("/graphql").header("content-type", "application/json");
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        let (res, body) = send(&app, req.body(Body::from(r#"{"query":"{ __typename }"}"#)).unwrap()).await;
        assert_eq!((res.status(), content_type(&res)), (StatusCode::OK, expected), "{accept:?}: {body}");
        assert_eq!(json(&body)["data"]["__typename"], "Query");
    }
}

#[tokio::test]
async fn requests_that_never_run_are_400_without_data_for_graphql_response_json() {
    let app = TestApp::spawn().await;
    for (query, code) in [
        (r#"{"query":"{ __typename "}"#, "GRAPHQL_VALIDATION_FAILED"), // does not parse
        (r#"{"query":"{ notAField }"}"#, "GRAPHQL_VALIDATION_FAILED"), // does not validate
        (r#"{"query":"query ($n: Int!) { __typename }","variables":{"n":"x"}}"#, "BAD_USER_INPUT"), // does not coerce
    ] {
        let req = Request::post("/graphql")
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .body(Body::from(query))
            .unwrap();
        let (res, body) = send(&app, req).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}: {body}");
        let body = json(&body);
        assert!(body.get("data").is_none(), "{query}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], code, "{query}");
    }
    // As plain JSON the same failure is a 200 carrying the errors.
    let req = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(Body::from(r#"{"query":"{ __typename "}"#))
        .unwrap();
    let (res, body) = send(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK, "{body}");
    assert_eq!(json(&body)["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
}
