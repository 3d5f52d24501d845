//! The HTTP side: one GraphQL endpoint (POST runs a query, GET opens GraphiQL) and a health check.

use std::time::Instant;

use async_graphql::{ServerError, http::GraphiQLSource};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse, rejection::GraphQLRejection};
use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, StatusCode, header::AUTHORIZATION},
    response::{Html, IntoResponse, Response},
    routing::get,
};

use crate::{AppState, auth::Viewer, loaders};

/// The largest request body accepted (an import's CSV travels in one).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").title("Partnership API").finish())
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

async fn graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: Result<GraphQLRequest, GraphQLRejection>,
) -> Response {
    let req = match req {
        Ok(req) => req,
        Err(rejection) => {
            tracing::info!(error = %rejection.0, "unreadable GraphQL request");
            let (status, message) = match rejection.0 {
                async_graphql::ParseRequestError::PayloadTooLarge => {
                    (StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large")
                }
                _ => (
                    StatusCode::BAD_REQUEST,
                    "the body is not a GraphQL request: send JSON with a `query` string",
                ),
            };
            return one_error(status, message.to_owned(), "BAD_REQUEST");
        }
    };
    let started = Instant::now();
    let header = headers.get(AUTHORIZATION).map(|v| v.to_str().unwrap_or("?"));
    let viewer = match Viewer::from_bearer(header, &state.jwt, &state.db).await {
        Ok(viewer) => viewer,
        // A token that does not verify: a GraphQL error with its code, no data.
        Err(err) => return one_error(StatusCode::OK, err.to_string(), err.code()),
    };
    let req = req.into_inner();
    let operation = req.operation_name.clone().unwrap_or_default();
    let batches = loaders::Batches::default();
    let req = loaders::attach(req, &state.db, &viewer, &batches).data(viewer);
    let mut res = batches.run(state.schema.execute(req)).await;
    fill_codes(&mut res.errors);
    tracing::info!(
        graphql.operation = %operation,
        graphql.errors = res.errors.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "graphql request"
    );
    GraphQLResponse::from(res).into_response()
}

/// A GraphQL-shaped answer holding one error with `code`, for requests that never reach the
/// schema.
fn one_error(status: StatusCode, message: String, code: &str) -> Response {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", code);
    (status, GraphQLResponse::from(async_graphql::Response::from_errors(vec![error]))).into_response()
}

/// The framework's own errors (parse, validation, limits) carry no code: give them one.
fn fill_codes(errors: &mut [ServerError]) {
    for e in errors {
        let has_code = e.extensions.as_ref().is_some_and(|x| x.get("code").is_some());
        if !has_code {
            let code = if e.path.is_empty() { "GRAPHQL_VALIDATION_FAILED" } else { "INTERNAL" };
            e.extensions.get_or_insert_with(Default::default).set("code", code);
        }
    }
}
