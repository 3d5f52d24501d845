//! The dashboard page (issue 14, first part): served from the binary with a policy that allows
//! nothing but this server, and the query its script sends answers for a city admin.

use api::auth::Role;
use axum::{body::Body, http::Request};
use http_body_util::BodyExt as _;
use serde_json::json;
use tests::TestApp;
use tower::ServiceExt as _;

const SCRIPT: &str = include_str!("../../api/src/http/dashboard/dashboard.js");

async fn get(app: &TestApp, path: &str) -> (u16, String, String, String) {
    let response = app.router().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    let header =
        |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let (kind, policy) = (header("content-type"), header("content-security-policy"));
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, kind, policy, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn the_page_and_its_assets_come_from_this_server_alone() {
    let app = TestApp::spawn().await;
    let (status, kind, policy, html) = get(&app, "/").await;
    assert_eq!((status, kind.as_str()), (200, "text/html; charset=utf-8"));
    assert!(policy.starts_with("default-src 'none'; script-src 'self';"), "{policy}");
    assert!(html.contains(r#"<script src="/dashboard.js" defer></script>"#));
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"));
    for (path, kind) in
        [("/dashboard.js", "text/javascript; charset=utf-8"), ("/dashboard.css", "text/css; charset=utf-8")]
    {
        let (status, got, _, body) = get(&app, path).await;
        assert_eq!((status, got.as_str()), (200, kind), "{path}");
        assert!(!body.contains("http://") && !body.contains("https://"), "{path} names another host");
    }
    // The script writes answers as text, never as HTML.
    assert!(!SCRIPT.contains("innerHTML"));
}

#[tokio::test]
async fn the_query_the_page_sends_answers_what_the_api_says() {
    let app = TestApp::with_demo().await;
    let query =
        SCRIPT.split("const QUERY = `").nth(1).and_then(|rest| rest.split('`').next()).expect("the query");
    let admin = app.token(Role::CityAdmin).sign();
    let page = app.gql(Some(&admin), query, json!({})).await.ok();
    let p = &page["me"]["partnership"];
    let direct = app
        .gql(
            Some(&admin),
            "{ me { partnership { progress { certified totalSchools atRiskCount } cohorts { name } } } }",
            json!({}),
        )
        .await
        .ok();
    let d = &direct["me"]["partnership"];
    assert_eq!(p["progress"]["certified"], d["progress"]["certified"]);
    assert_eq!(p["progress"]["totalSchools"], 61);
    assert_eq!(p["cohorts"].as_array().unwrap().len(), d["cohorts"].as_array().unwrap().len());
    assert_eq!(p["slug"], "demo-city");
}
