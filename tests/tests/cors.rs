//! Browsers' cross-origin calls: only the configured origins, only GET and POST.

use api::AppState;
use axum::{body::Body, http::Request};
use tests::TestApp;
use tower::ServiceExt;

fn preflight(origin: &str) -> Request<Body> {
    Request::options("/graphql")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn only_configured_origins_may_call_from_a_browser() {
    let app = TestApp::spawn().await;
    let state = AppState::new(app.db.clone(), app.jwt.clone())
        .with_cors_origins(vec!["https://dashboard.example.org".into()]);
    let router = api::router(state);

    let res = router.clone().oneshot(preflight("https://dashboard.example.org")).await.unwrap();
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "https://dashboard.example.org");
    let methods = h["access-control-allow-methods"].to_str().unwrap().to_owned();
    assert!(methods.contains("POST") && methods.contains("GET") && !methods.contains("DELETE"), "{methods}");
    assert!(h["access-control-allow-headers"].to_str().unwrap().contains("authorization"));

    let res = router.oneshot(preflight("https://evil.example")).await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none(), "another origin gets no grant");

    // No origins configured (the default): no CORS headers for anyone.
    let res = app.router().oneshot(preflight("https://dashboard.example.org")).await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[test]
fn an_allowed_origin_must_be_an_origin() {
    use api::config::ServeConfig;
    use clap::Parser;
    #[derive(Parser)]
    struct Only {
        #[command(flatten)]
        serve: ServeConfig,
    }
    let parse = |v: &str| Only::parse_from(["serve", "--cors-allowed-origins", v]).serve.cors_origins();
    assert_eq!(
        parse("https://a.example.org,http://localhost:5173").unwrap(),
        vec!["https://a.example.org".to_owned(), "http://localhost:5173".to_owned()]
    );
    for bad in
        ["https://a.example.org/path", "a.example.org", "ftp://a.example.org", "https://a.example.org/"]
    {
        assert!(parse(bad).is_err(), "{bad} accepted");
    }
}
