//! The dashboard page at `/`: HTML, CSS and JavaScript written for it and compiled into the
//! binary, so it works on a network without internet access. The page reads the API with the
//! caller's token like any client; its Content-Security-Policy allows nothing but this server.

use axum::{
    Router,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::AppState;

const HTML: &str = include_str!("dashboard/index.html");
const JS: &str = include_str!("dashboard/dashboard.js");
const CSS: &str = include_str!("dashboard/dashboard.css");
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                      img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", HTML) }))
        .route("/dashboard.js", get(|| async { asset("text/javascript; charset=utf-8", JS) }))
        .route("/dashboard.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert("content-security-policy", HeaderValue::from_static(POLICY));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
