//! GraphQL over HTTP: POST runs any operation, GET a query from the URL (or the query editor for a
//! browser, or a WebSocket upgrade, `socket`), each answered in the media type the client accepts.

use std::{str::FromStr, time::Instant};

use async_graphql::{
    ServerError, Value,
    http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols},
    parser::types::OperationType,
};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, rejection::GraphQLRejection};
use axum::{
    extract::{
        State,
        ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::{
        HeaderMap, HeaderValue, StatusCode, Uri,
        header::{ACCEPT, ALLOW, CONTENT_TYPE, RETRY_AFTER, SEC_WEBSOCKET_PROTOCOL, WWW_AUTHENTICATE},
    },
    response::{IntoResponse, Response},
};

use super::{errors_only, one_error, socket};
use crate::{AppState, auth::Viewer, error::ApiError};

/// GET on the endpoint: a WebSocket upgrade opens a graphql-ws connection (subscriptions, and
/// any other operation; 503 with `Retry-After` while `MAX_WEBSOCKETS` are open); a browser
/// (`Accept` preferring text/html) gets the query editor (`dashboard`); anything else runs the query in the URL's
/// `query`, `variables` (JSON) and `operationName` parameters, except a mutation (405).
pub(super) async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    viewer: Result<Viewer, ApiError>,
    protocol: Result<GraphQLProtocol, StatusCode>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        if accepted(&headers) == Accepted::Html {
            return super::dashboard::ide();
        }
        return graphql_from_url(state, &headers, uri.query().unwrap_or_default(), viewer).await;
    };
    let Ok(protocol) = protocol else {
        let message = "ask for the graphql-transport-ws (or the older graphql-ws) subprotocol";
        return (StatusCode::BAD_REQUEST, message).into_response();
    };
    // Refused before upgrading, so a full server spends nothing on the connection. The slot
    // travels with the upgrade and is given back when the socket closes or never opens.
    let Some(slot) = state.sockets.open(state.limits.max_websockets) else {
        tracing::warn!(max = state.limits.max_websockets, "refused a WebSocket: too many open");
        let message = "too many open WebSockets (MAX_WEBSOCKETS): try again shortly";
        let retry = [(RETRY_AFTER, SOCKET_RETRY_AFTER)];
        return (StatusCode::SERVICE_UNAVAILABLE, retry, message).into_response();
    };
    // The protocol GraphQLProtocol picked, which it does not tell.
    let transport_ws = headers
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|list| list.split(',').find_map(|p| WebSocketProtocols::from_str(p.trim()).ok()))
        == Some(WebSocketProtocols::GraphQLWS);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| socket::serve(socket, state, slot, protocol, transport_ws, viewer))
}

/// Seconds a client refused for too many open WebSockets is asked to wait: sockets come and go
/// with page loads, so a slot is likely free by then.
const SOCKET_RETRY_AFTER: &str = "5";

pub(super) async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    viewer: Result<Viewer, ApiError>,
    req: Result<GraphQLRequest, GraphQLRejection>,
) -> Response {
    // GraphQL over HTTP: a body without a media type is not read as JSON.
    if !headers.contains_key(CONTENT_TYPE) {
        let message = "send the request with `Content-Type: application/json`";
        let answer = one_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, message.to_owned(), "BAD_REQUEST");
        return in_media(answer, accepted(&headers));
    }
    let req = match req {
        Ok(req) => req,
        Err(rejection) => {
            tracing::info!(error = %rejection.0, "unreadable GraphQL request");
            let (status, message) = match rejection.0 {
                // Past MAX_BODY_BYTES without a Content-Length: async-graphql-axum keeps only the
                // message of RequestBodyLimitLayer's error (http-body-util's LengthLimitError).
                e if matches!(e, async_graphql::ParseRequestError::PayloadTooLarge)
                    || e.to_string().contains("length limit exceeded") =>
                {
                    (StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large")
                }
                _ => (
                    StatusCode::BAD_REQUEST,
                    "the body is not a GraphQL request: send JSON with a `query` string",
                ),
            };
            return in_media(one_error(status, message.to_owned(), "BAD_REQUEST"), accepted(&headers));
        }
    };
    execute(state, &headers, req.into_inner(), viewer, false).await
}

/// GET with the request in the URL: `query`, `variables` and `extensions` as async-graphql
/// reads them, plus the spec's `operationName` (async-graphql only knows `operation_name`).
async fn graphql_from_url(
    state: AppState,
    headers: &HeaderMap,
    query: &str,
    viewer: Result<Viewer, ApiError>,
) -> Response {
    let mut req = match async_graphql::http::parse_query_string(query) {
        Ok(req) => req,
        Err(e) => {
            tracing::info!(error = %e, "unreadable GraphQL request in a URL");
            let message = "the URL's parameters are not a GraphQL request: `variables` must be JSON";
            let answer = one_error(StatusCode::BAD_REQUEST, message.to_owned(), "BAD_REQUEST");
            return in_media(answer, accepted(headers));
        }
    };
    if req.operation_name.is_none() {
        req.operation_name = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "operationName")
            .map(|(_, v)| v.into_owned());
    }
    execute(state, headers, req, viewer, true).await
}

/// Runs one request, POST's or GET's: the limits first, then the caller, then the schema.
async fn execute(
    state: AppState,
    headers: &HeaderMap,
    mut req: async_graphql::Request,
    viewer: Result<Viewer, ApiError>,
    over_get: bool,
) -> Response {
    let accepted = accepted(headers);
    // Length, fields, aliases, depth and cost, before async-graphql validates or runs anything.
    let cost = match state.limits.check(&mut req) {
        Ok(cost) => cost.unwrap_or_default(),
        Err(refused) => {
            tracing::info!(error = %refused, "refused a costly GraphQL request");
            if refused.status() == StatusCode::OK {
                return reply(refused.response(), accepted); // too deep: a validation error
            }
            return in_media(one_error(refused.status(), refused.to_string(), refused.code()), accepted);
        }
    };
    // No `query` at all (async-graphql reads it as ""): not a GraphQL request, in any media type.
    if req.query.is_empty() {
        let message = "send the document in the `query` parameter";
        return in_media(one_error(StatusCode::BAD_REQUEST, message.to_owned(), "BAD_REQUEST"), accepted);
    }
    // GET must not change anything (caches, prefetching browsers): mutations go over POST.
    if over_get && crate::cost::operation_type(&mut req) == Some(OperationType::Mutation) {
        let message = "send mutations with POST";
        let answer = one_error(StatusCode::METHOD_NOT_ALLOWED, message.to_owned(), "BAD_REQUEST");
        let mut answer = in_media(answer, accepted);
        answer.headers_mut().insert(ALLOW, HeaderValue::from_static("POST"));
        return answer;
    }
    let started = Instant::now();
    let viewer = match viewer {
        Ok(viewer) => viewer,
        // A token that does not verify: under GraphQL over HTTP's own media type a 401 with the
        // bearer challenge (RFC 6750); plain JSON clients keep the 200 they have always had.
        Err(err) if accepted == Accepted::GraphQLResponse => {
            let mut answer =
                in_media(one_error(StatusCode::UNAUTHORIZED, err.to_string(), err.code()), accepted);
            let challenge = HeaderValue::from_static("Bearer error=\"invalid_token\"");
            answer.headers_mut().insert(WWW_AUTHENTICATE, challenge);
            return answer;
        }
        Err(err) => return in_media(one_error(StatusCode::OK, err.to_string(), err.code()), accepted),
    };
    // Counted once the token verifies, so only the real caller's own allowance is spent.
    if let Some(throttled) = state.rate_limits.refuse_caller(&viewer) {
        return in_media(throttled, accepted);
    }
    let operation = req.operation_name.clone().unwrap_or_default();
    let res = state.schema.run(req, viewer).await;
    tracing::info!(
        graphql.operation = %operation,
        graphql.errors = res.errors.len(),
        graphql.cost = cost.cost,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "graphql request"
    );
    reply(res, accepted)
}

/// What the client's `Accept` asks for, by the first media type of the list that we serve
/// (q-values aside): GraphQL over HTTP's `application/graphql-response+json`, plain JSON (also
/// for `*/*`, no header at all, or nothing we know), or the query editor's HTML.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Accepted {
    GraphQLResponse,
    Json,
    Html,
}

fn accepted(headers: &HeaderMap) -> Accepted {
    let accept = headers.get_all(ACCEPT).iter().filter_map(|v| v.to_str().ok());
    accept
        .flat_map(|list| list.split(','))
        .map(|item| item.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .find_map(|media| match media.as_str() {
            "application/graphql-response+json" => Some(Accepted::GraphQLResponse),
            "application/json" | "application/*" | "*/*" => Some(Accepted::Json),
            "text/html" => Some(Accepted::Html),
            _ => None,
        })
        .unwrap_or(Accepted::Json)
}

/// The answer in the media type the client accepts. A request that never ran (it does not
/// parse or validate, or its variables do not coerce: no data, errors without a path) has no
/// `data` entry, as the spec says, and is a 400 with `application/graphql-response+json`; as
/// `application/json` every GraphQL answer is a 200.
fn reply(res: async_graphql::Response, accepted: Accepted) -> Response {
    let never_ran = res.is_err() && res.data == Value::Null && res.errors.iter().all(|e| e.path.is_empty());
    if never_ran {
        let status =
            if accepted == Accepted::GraphQLResponse { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        return in_media(errors_only(status, &res.errors), accepted);
    }
    in_media(GraphQLResponse::from(res).into_response(), accepted)
}

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// Labels a GraphQL-shaped answer (async-graphql-axum's, or `one_error`'s) with the media type
/// the client accepts.
fn in_media(mut answer: Response, accepted: Accepted) -> Response {
    let media = match accepted {
        Accepted::GraphQLResponse => GRAPHQL_RESPONSE_JSON,
        Accepted::Json | Accepted::Html => "application/json",
    };
    answer.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(media));
    answer
}

/// The framework's own errors (parse, validation, limits) carry no code: give them one.
pub(super) fn fill_codes(errors: &mut [ServerError]) {
    for e in errors {
        let has_code = e.extensions.as_ref().is_some_and(|x| x.get("code").is_some());
        if !has_code {
            let code = if e.path.is_empty() { "GRAPHQL_VALIDATION_FAILED" } else { "INTERNAL" };
            e.extensions.get_or_insert_with(Default::default).set("code", code);
        }
    }
}
