//! The HTTP side: one GraphQL endpoint, GraphQL over HTTP (POST runs any operation, GET a query
//! from the URL or GraphiQL for a browser, a WebSocket upgrade opens a graphql-ws connection for
//! subscriptions) and a health check.

use std::{
    any::TypeId,
    collections::HashSet,
    pin::Pin,
    str::FromStr,
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use async_graphql::{
    Data, Executor, ServerError, Value,
    http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource, WebSocketProtocols},
};
use async_graphql_axum::{
    GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket, rejection::GraphQLRejection,
};
use axum::{
    Router,
    extract::{
        DefaultBodyLimit, FromRequestParts, State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::{
        HeaderMap, HeaderValue, StatusCode, Uri,
        header::{ACCEPT, ALLOW, AUTHORIZATION, CONTENT_TYPE, SEC_WEBSOCKET_PROTOCOL},
        request::Parts,
    },
    response::{Html, IntoResponse, Response},
    routing::get,
};
use futures::{FutureExt, SinkExt, StreamExt, stream::BoxStream};
use sea_orm::DatabaseConnection;
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use entity::access_grant;
use sea_orm::EntityTrait;

use crate::{ApiSchema, AppState, auth::Viewer, error::ApiError, loaders};

/// The largest request body accepted by default (an import's CSV travels in one); the
/// `MAX_BODY_BYTES` setting (`cost::Limits`) changes it.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let max_body = state.limits.max_body_bytes;
    let timeout = Duration::from_secs(state.limits.request_timeout_secs);
    let cors = cors(&state.cors_origins);
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql))
        .route("/health", get(health))
        .route("/health/live", get(live))
        .route("/health/ready", get(health))
        .route("/reports/schools.csv", get(crate::progress::export::schools_csv))
        .route("/metrics", get(crate::metrics::metrics))
        // Refuses a larger Content-Length at once (413), and cuts off a body without one (chunked)
        // once it passes the limit, rather than reading it whole.
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
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

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql")
            .title("Partnership API")
            .finish(),
    )
}

/// GET on the endpoint: a WebSocket upgrade opens a graphql-ws connection (subscriptions, and
/// any other operation); a browser (`Accept` preferring text/html) gets GraphiQL; anything else
/// runs the query in the URL's `query`, `variables` (JSON) and `operationName` parameters, except
/// a mutation (405).
async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    viewer: Result<Viewer, ApiError>,
    protocol: Result<GraphQLProtocol, StatusCode>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        if accepted(&headers) == Accepted::Html {
            return graphiql().await.into_response();
        }
        return graphql_from_url(state, &headers, uri.query().unwrap_or_default(), viewer).await;
    };
    let Ok(protocol) = protocol else {
        let message = "ask for the graphql-transport-ws (or the older graphql-ws) subprotocol";
        return (StatusCode::BAD_REQUEST, message).into_response();
    };
    // The protocol GraphQLProtocol picked, which it does not tell.
    let transport_ws = headers
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|list| list.split(',').find_map(|p| WebSocketProtocols::from_str(p.trim()).ok()))
        == Some(WebSocketProtocols::GraphQLWS);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve_socket(socket, state, protocol, transport_ws, viewer))
}

async fn serve_socket(
    socket: WebSocket,
    state: AppState,
    protocol: GraphQLProtocol,
    transport_ws: bool,
    viewer: Result<Viewer, ApiError>,
) {
    let (mut ws_sink, stream) = socket.split();
    // The connection's viewer, once connection_init has settled it: the grant watchdog reads it.
    let _open = crate::metrics::OpenSocket::open();
    let settled = Arc::new(OnceLock::new());
    let state_shutdown = state.shutdown.clone();
    let closed_with = {
        let (tx, mut rx) = futures::channel::mpsc::channel::<Message>(16);
        let mut messages = ErrorMessages::default();
        let sink = tx.with_flat_map(move |m| futures::stream::iter(messages.rewrite(m).map(Ok)));
        let operations = Operations {
            schema: state.schema.clone(),
            db: state.db.clone(),
            mark_failures: transport_ws,
            limits: state.limits,
        };
        let (db, every, cell) = (state.db.clone(), state.grant_recheck, settled.clone());
        let serve = GraphQLWebSocket::new_with_pair(sink, stream, operations, protocol)
            .on_connection_init(move |payload| connection_init(state, viewer, payload, cell))
            .serve();
        let forward = async {
            while let Some(message) = rx.next().await {
                if ws_sink.send(message).await.is_err() {
                    break;
                }
            }
        };
        let mut stopping = state_shutdown.subscribe();
        tokio::select! {
            _ = async { tokio::join!(serve, forward) } => None,
            frame = watchdog(db, settled, every) => Some(frame),
            _ = stopping.wait_for(|stopping| *stopping) => {
                Some(CloseFrame { code: 1001, reason: "the server is shutting down".into() })
            }
        }
    };
    if let Some(frame) = closed_with {
        let _ = ws_sink.send(Message::Close(Some(frame))).await;
    }
}

/// Resolves, with the close frame to send, once the connection's token expires or the access
/// grant it acts with is revoked; checks every `every`. Anonymous connections never resolve.
async fn watchdog(db: DatabaseConnection, settled: Arc<OnceLock<Viewer>>, every: Duration) -> CloseFrame {
    loop {
        tokio::time::sleep(every).await;
        let Some(Viewer::Signed(actor)) = settled.get() else { continue };
        if actor.expires_at.is_some_and(|exp| exp <= chrono::Utc::now().timestamp()) {
            tracing::info!("closing a WebSocket whose token expired");
            return CloseFrame { code: 4401, reason: "Unauthorized: the token has expired".into() };
        }
        let Some(id) = actor.grant else { continue };
        match access_grant::Entity::find_by_id(id).one(&db).await {
            Ok(Some(grant)) if grant.revoked_at.is_none() => {}
            Ok(_) => {
                tracing::info!("closing a WebSocket whose access grant was revoked");
                return CloseFrame { code: 4403, reason: "Forbidden: access grant revoked".into() };
            }
            Err(e) => tracing::warn!(error = %e, "cannot check a WebSocket's access grant"),
        }
    }
}

/// Works out the connection's viewer from the token in connection_init's payload
/// (`{"Authorization": "Bearer <jwt>"}`), or else the upgrade request's (`upgrade`). A token
/// that does not verify refuses the connection; no token at all makes it anonymous.
async fn connection_init(
    state: AppState,
    upgrade: Result<Viewer, ApiError>,
    payload: serde_json::Value,
    settled: Arc<OnceLock<Viewer>>,
) -> async_graphql::Result<Data> {
    let sent = ["Authorization", "authorization"].into_iter().find_map(|k| payload.get(k));
    let viewer = match sent {
        None | Some(serde_json::Value::Null) => upgrade,
        Some(serde_json::Value::String(token)) => {
            Viewer::from_bearer(Some(token), &state.jwt, &state.oidc, &state.db).await
        }
        Some(_) => Err(ApiError::Unauthenticated("send `Authorization: Bearer <token>`")),
    }
    .map_err(ApiError::into_gql)?;
    let _ = settled.set(viewer.clone());
    let mut data = Data::default();
    data.insert(viewer);
    Ok(data)
}

/// Runs the operations of one WebSocket connection: each gets loaders of its own, whose batches
/// start by themselves (nothing drives `Batches::run` here), and errors get codes as on POST.
#[derive(Clone)]
struct Operations {
    schema: ApiSchema,
    db: DatabaseConnection,
    /// Mark an operation's only, failed answer for `ErrorMessages`.
    mark_failures: bool,
    limits: crate::cost::Limits,
}

/// The extension that marks an operation's only answer when it failed; never sent.
const FAILED: &str = "x-operation-failed";

impl Executor for Operations {
    async fn execute(&self, request: async_graphql::Request) -> async_graphql::Response {
        self.execute_stream(request, None).next().await.unwrap_or_default()
    }

    fn execute_stream(
        &self,
        mut request: async_graphql::Request,
        session: Option<Arc<Data>>,
    ) -> BoxStream<'static, async_graphql::Response> {
        // Measured before anything else reads the document, as on POST.
        let refused = self.limits.check(&mut request).err();
        let viewer = session
            .as_deref()
            .and_then(|data| data.get(&TypeId::of::<Viewer>()))
            .and_then(|v| v.downcast_ref::<Viewer>())
            .cloned()
            .unwrap_or(Viewer::Anonymous);
        tracing::info!(
            graphql.operation = request.operation_name.as_deref().unwrap_or_default(),
            "websocket operation"
        );
        let answers = if let Some(refused) = refused {
            tracing::info!(error = %refused, "refused a costly websocket operation");
            futures::stream::iter([refused.response()]).boxed()
        } else {
            let request = loaders::attach_spawned(request, &self.db, &viewer);
            let session = session.unwrap_or_default();
            let answers = self.schema.execute_stream_with_session_data(request, session);
            answers
                .map(|mut answer| {
                    fill_codes(&mut answer.errors);
                    answer
                })
                .boxed()
        };
        if !self.mark_failures {
            return answers;
        }
        futures::stream::unfold(answers.peekable(), |mut rest| async move {
            let mut answer = rest.next().await?;
            // Refused before it yielded anything (invalid, or refused at subscribe time): errors
            // only, and the operation is over at once, not waiting for its next event.
            if answer.is_err()
                && answer.data == Value::Null
                && matches!(Pin::new(&mut rest).peek().now_or_never(), Some(None))
            {
                answer.extensions.insert(FAILED.to_owned(), Value::Boolean(true));
            }
            Some((answer, rest))
        })
        .boxed()
    }
}

/// graphql-transport-ws ends an operation that failed before it yielded with one `error`
/// message, where async-graphql sends `next` and `complete`: this turns a marked `next` into
/// `error` and drops the `complete` after it.
#[derive(Default)]
struct ErrorMessages {
    ended: HashSet<String>,
}

impl ErrorMessages {
    fn rewrite(&mut self, message: Message) -> Option<Message> {
        let Message::Text(text) = &message else { return Some(message) };
        if self.ended.is_empty() && !text.as_str().contains(FAILED) {
            return Some(message);
        }
        let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text.as_str()) else {
            return Some(message);
        };
        let id = value["id"].as_str().unwrap_or_default().to_owned();
        match value["type"].as_str() {
            Some("next") if value["payload"]["extensions"].get(FAILED).is_some() => {
                let errors = value["payload"]["errors"].take();
                let error = serde_json::json!({ "type": "error", "id": id, "payload": errors });
                self.ended.insert(id);
                Some(Message::Text(error.to_string().into()))
            }
            Some("complete") if self.ended.remove(&id) => None,
            _ => Some(message),
        }
    }
}

/// The process is up and answering (no database call): for a liveness probe.
async fn live() -> &'static str {
    "ok"
}

/// Ready for traffic: the database answers and every migration is applied (`/health` and
/// `/health/ready`).
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    use migration::MigratorTrait as _;
    match migration::Migrator::get_pending_migrations(&state.db).await {
        Ok(pending) if pending.is_empty() => {}
        Ok(pending) => {
            tracing::warn!(pending = pending.len(), "not ready: migrations pending");
            return (StatusCode::SERVICE_UNAVAILABLE, "migrations pending");
        }
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
        }
    }
    (StatusCode::OK, "ok")
}

async fn graphql(
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
            return in_media(one_error(refused.status(), refused.to_string(), refused.code()), accepted);
        }
    };
    // No `query` at all (async-graphql reads it as ""): not a GraphQL request, in any media type.
    if req.query.is_empty() {
        let message = "send the document in the `query` parameter";
        return in_media(one_error(StatusCode::BAD_REQUEST, message.to_owned(), "BAD_REQUEST"), accepted);
    }
    // GET must not change anything (caches, prefetching browsers): mutations go over POST.
    if over_get && is_mutation(&mut req) {
        let message = "send mutations with POST";
        let answer = one_error(StatusCode::METHOD_NOT_ALLOWED, message.to_owned(), "BAD_REQUEST");
        let mut answer = in_media(answer, accepted);
        answer.headers_mut().insert(ALLOW, HeaderValue::from_static("POST"));
        return answer;
    }
    let started = Instant::now();
    let viewer = match viewer {
        Ok(viewer) => viewer,
        // A token that does not verify: a GraphQL error with its code, no data.
        Err(err) => return in_media(one_error(StatusCode::OK, err.to_string(), err.code()), accepted),
    };
    let operation = req.operation_name.clone().unwrap_or_default();
    let batches = loaders::Batches::default();
    let req = loaders::attach(req, &state.db, &viewer, &batches).data(viewer);
    let mut res = batches.run(state.schema.execute(req)).await;
    fill_codes(&mut res.errors);
    tracing::info!(
        graphql.operation = %operation,
        graphql.errors = res.errors.len(),
        graphql.cost = cost.cost,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "graphql request"
    );
    reply(res, accepted)
}

/// Whether the request's operation is a mutation; a document that does not parse, or names no
/// operation it holds, is left for the schema to refuse.
fn is_mutation(req: &mut async_graphql::Request) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let name = req.operation_name.clone();
    let Ok(doc) = req.parsed_query() else { return false };
    let op = match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name.as_str()),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    };
    op.is_some_and(|op| op.node.ty == OperationType::Mutation)
}

/// What the client's `Accept` asks for, by the first media type of the list that we serve
/// (q-values aside): GraphQL over HTTP's `application/graphql-response+json`, plain JSON (also
/// for `*/*`, no header at all, or nothing we know), or GraphiQL's HTML.
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

/// The answer in the media type the client accepts. With `application/graphql-response+json`,
/// a request that never ran (it does not parse or validate, or its variables do not coerce: no
/// data, errors without a path) is a 400 without a `data` entry; as `application/json` every
/// GraphQL answer is a 200.
fn reply(res: async_graphql::Response, accepted: Accepted) -> Response {
    let never_ran = accepted == Accepted::GraphQLResponse
        && res.is_err()
        && res.data == Value::Null
        && res.errors.iter().all(|e| e.path.is_empty());
    if never_ran {
        let body = serde_json::json!({ "errors": res.errors }).to_string();
        let mut answer = (StatusCode::BAD_REQUEST, body).into_response();
        answer.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(GRAPHQL_RESPONSE_JSON));
        return answer;
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
        Viewer::from_bearer(authorization(&parts.headers), &state.jwt, &state.oidc, &state.db).await
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
