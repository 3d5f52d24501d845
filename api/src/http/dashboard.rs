//! The dashboard page at `/` and the query editor a browser gets at `/graphql`: HTML, CSS and
//! JavaScript written for them and compiled into the binary, so they work on a network without
//! internet access. They read the API with the caller's token like any client; their
//! Content-Security-Policy allows nothing but this server.

use std::sync::LazyLock;

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
const IDE_HTML: &str = include_str!("dashboard/ide.html");
const IDE_JS: &str = include_str!("dashboard/ide.js");
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                      img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", HTML) }))
        .route("/dashboard.js", get(|| async { asset("text/javascript; charset=utf-8", JS) }))
        .route("/dashboard.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/ide.js", get(|| async { asset("text/javascript; charset=utf-8", IDE_JS) }))
        .route("/schema.graphql", get(sdl))
}

/// The query editor, for a browser's GET of `/graphql`.
pub(super) fn ide() -> Response {
    asset("text/html; charset=utf-8", IDE_HTML)
}

/// The schema in SDL, as `schema.graphql` holds it, for the editor's readers and for tools.
async fn sdl() -> Response {
    static SDL: LazyLock<String> = LazyLock::new(crate::graphql::sdl);
    let mut response = SDL.as_str().into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert("content-security-policy", HeaderValue::from_static(POLICY));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
