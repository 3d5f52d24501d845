//! `/metrics` in Prometheus' format, and a request id on every response.

use axum::{body::Body, http::Request};
use serde_json::json;
use tests::TestApp;

#[tokio::test]
async fn metrics_count_requests_operations_and_errors() {
    let app = TestApp::spawn().await;
    app.gql(None, "query Headlines { partnerships { name } }", json!({})).await.ok();
    app.gql(None, "query Refused { schools(first: 5) { totalCount } }", json!({}))
        .await
        .fails_with("UNAUTHENTICATED");
    let res = app.router().oneshot_text(Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(res.0, 200);
    let text = res.1;
    for wanted in [
        "http_requests_total{",
        "route=\"/graphql\"",
        "http_request_duration_seconds_bucket{",
        "graphql_operations_total{operation=\"Headlines\",outcome=\"ok\"}",
        "graphql_operations_total{operation=\"Refused\",outcome=\"error\"}",
        "graphql_errors_total{code=\"UNAUTHENTICATED\"}",
        "db_pool_connections ",
    ] {
        assert!(text.contains(wanted), "{wanted} missing from:\n{text}");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let res = app.router().oneshot_headers(Request::get("/health/live").body(Body::empty()).unwrap()).await;
    let id = res.get("x-request-id").expect("a request id").to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let given =
        Request::get("/health/live").header("x-request-id", "trace-me-42").body(Body::empty()).unwrap();
    let res = app.router().oneshot_headers(given).await;
    assert_eq!(res["x-request-id"], "trace-me-42", "the caller's id comes back");
}

trait Oneshot {
    async fn oneshot_text(self, req: Request<Body>) -> (u16, String);
    async fn oneshot_headers(self, req: Request<Body>) -> axum::http::HeaderMap;
}

impl Oneshot for axum::Router {
    async fn oneshot_text(self, req: Request<Body>) -> (u16, String) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let res = self.oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn oneshot_headers(self, req: Request<Body>) -> axum::http::HeaderMap {
        use tower::ServiceExt;
        self.oneshot(req).await.unwrap().headers().clone()
    }
}
