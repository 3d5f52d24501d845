//! The HTTP side: the GraphQL endpoint (`graphql`: POST, GET and the query editor; `socket`: its
//! WebSocket connections), the health checks (`health`) and the reports (`reports`), behind one
//! stack of layers; the one place a caller is read (`Viewer`'s extractor) and the one mapping of
//! an `ApiError` to an HTTP answer.

mod dashboard;
mod graphql;
mod health;
mod rate;
mod reports;
mod run;
mod sign_in;
mod socket;
pub(crate) mod spec;

use std::time::Duration;

use async_graphql::ServerError;
use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRequestParts},
    http::{
        HeaderMap, HeaderValue, StatusCode,
        header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE},
        request::Parts,
    },
    response::{IntoResponse, Response},
    routing::get,
};
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

pub use rate::RateLimits;
pub use run::Runner;

use crate::{AppState, auth::Viewer, error::ApiError};

/// The largest request body accepted by default (an import's CSV travels in one); the
/// `MAX_BODY_BYTES` setting (`cost::Limits`) changes it.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let max_body = state.limits.max_body_bytes;
    let timeout = Duration::from_secs(state.limits.request_timeout_secs);
    let cors = cors(&state.cors_origins);
    let rate_limit = axum::middleware::from_fn_with_state(state.rate_limits.clone(), rate::by_address);
    Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/health", get(health::ready))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/reports/schools.csv", get(reports::schools_csv))
        .route("/reports/actions.csv", get(reports::actions_csv))
        .route("/metrics", get(crate::metrics::metrics))
        .merge(crate::certificate::http::routes())
        .merge(dashboard::routes())
        .merge(sign_in::routes())
        // Refuses a larger Content-Length at once (413), and cuts off a body without one (chunked)
        // once it passes the limit, rather than reading it whole.
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        // Per client address, before any body is read; inside CORS, so a page can read its 429.
        .layer(rate_limit)
        .layer(cors)
        .layer(axum::middleware::from_fn(crate::metrics::track))
        // Outermost first: every request gets an `x-request-id` (the caller's, or a new UUID),
        // every log line of it carries the id in its span, and the response sends it back.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span).on_response(()).on_request(()))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Cross-origin calls from the configured origins' pages: GET and POST with a bearer token and
/// a JSON body; the request id readable. No origin configured: no CORS headers at all.
fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    if allowed.is_empty() {
        return CorsLayer::new();
    }
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE, ACCEPT])
        .expose_headers([axum::http::HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(600))
}

/// The span every log line of a request is written in: its id, method and path.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", id = %id, method = %request.method(), path = %request.uri().path())
}

/// The request's `Authorization` header. One that is not visible ASCII reads as "?", so it is
/// refused as a malformed token rather than taken for no header (anonymous).
fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get(AUTHORIZATION).map(|v| v.to_str().unwrap_or("?"))
}

/// The one place a request's caller is read: POST and GET on /graphql (the WebSocket upgrade
/// too) and the report endpoints all extract `Viewer` (or `Result<Viewer, ApiError>`).
impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Viewer::from_bearer(authorization(&parts.headers), &state.jwt, &state.oidc, &state.db, &state.tokens)
            .await
    }
}

/// A refusal outside GraphQL (reports, unreadable callers): the GraphQL error shape, with the
/// HTTP status that matches its code.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Invalid { .. } | ApiError::BadRows(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NotReady(_) => StatusCode::UNPROCESSABLE_ENTITY,
            _ => {
                async_graphql::ErrorExtensions::extend(&self); // logs the cause once
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        one_error(status, self.to_string(), self.code())
    }
}

/// A GraphQL-shaped answer holding one error with `code`, for requests that never reach the
/// schema.
pub(crate) fn one_error(status: StatusCode, message: String, code: &str) -> Response {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", code);
    errors_only(status, &[error])
}

/// The answer to a request that never ran (GraphQL over HTTP, "request error"): its errors and
/// no `data` entry, each error's keys as async-graphql orders them (message first).
pub(crate) fn errors_only(status: StatusCode, errors: &[ServerError]) -> Response {
    let errors = serde_json::to_string(errors).unwrap_or_else(|_| "[]".to_owned());
    let body = format!(r#"{{"errors":{errors}}}"#);
    (status, [(CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}
