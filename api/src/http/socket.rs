//! One graphql-ws (or graphql-transport-ws) connection: its caller settled at
//! `connection_init`, its operations run with loaders of their own, and closed when its token
//! expires, its grant is revoked, `connection_init` does not come in time or the server shuts
//! down. At most `WS_MAX_OPERATIONS` operations run on it at once.

use std::{
    any::TypeId,
    collections::HashSet,
    pin::Pin,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_graphql::{Data, Executor, Value};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use entity::access_grant;
use futures::{FutureExt, SinkExt, StreamExt, stream::BoxStream};
use sea_orm::{DatabaseConnection, EntityTrait};
use tokio::sync::Notify;

use crate::{AppState, auth::Viewer, error::ApiError, metrics::OpenSocket};

/// The `extensions.code` of an operation refused because `WS_MAX_OPERATIONS` are in flight on
/// its connection. Not QUERY_TOO_COSTLY: the same operation succeeds once another completes.
const TOO_MANY_OPERATIONS: &str = "TOO_MANY_OPERATIONS";

/// Serves one upgraded connection; `_slot` is its place under `MAX_WEBSOCKETS`, given back when
/// this returns.
pub(super) async fn serve(
    socket: WebSocket,
    state: AppState,
    _slot: OpenSocket,
    protocol: GraphQLProtocol,
    transport_ws: bool,
    viewer: Result<Viewer, ApiError>,
) {
    let (mut ws_sink, stream) = socket.split();
    // The connection's viewer, once connection_init has settled it: the grant watchdog reads it.
    let settled = Arc::new(OnceLock::new());
    // Told when connection_init arrives, whether or not its token then verifies.
    let init_seen = Arc::new(Notify::new());
    let init_timeout = state.limits.ws_init_timeout;
    let state_shutdown = state.shutdown.clone();
    let closed_with = {
        let (tx, mut rx) = futures::channel::mpsc::channel::<Message>(16);
        let mut messages = ErrorMessages::default();
        let sink = tx.with_flat_map(move |m| futures::stream::iter(messages.rewrite(m).map(Ok)));
        let operations = Operations {
            runner: state.schema.clone(),
            mark_failures: transport_ws,
            limits: state.limits,
            rate_limits: state.rate_limits.clone(),
            in_flight: Arc::default(),
        };
        let (db, every, cell) = (state.db.clone(), state.grant_recheck, settled.clone());
        let seen = init_seen.clone();
        let serve = GraphQLWebSocket::new_with_pair(sink, stream, operations, protocol)
            .on_connection_init(move |payload| {
                // Called as the message is read, before the token is checked (which may wait on
                // an identity provider's keys): the deadline is for the client, not for us.
                seen.notify_one();
                connection_init(state, viewer, payload, cell)
            })
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
            frame = init_deadline(&init_seen, init_timeout) => Some(frame),
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

/// Resolves, with graphql-transport-ws's 4408 (used for the older graphql-ws too), if
/// connection_init has not arrived `within` of opening; never resolves once it has. Without it a
/// socket that never speaks holds its `MAX_WEBSOCKETS` slot for good.
async fn init_deadline(seen: &Notify, within: Duration) -> CloseFrame {
    if tokio::time::timeout(within, seen.notified()).await.is_ok() {
        return std::future::pending().await;
    }
    tracing::info!("closing a WebSocket that sent no connection_init in time");
    CloseFrame { code: 4408, reason: "Connection initialisation timeout".into() }
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
            Viewer::from_bearer(Some(token), &state.jwt, &state.oidc, &state.db, &state.tokens).await
        }
        Some(_) => Err(ApiError::Unauthenticated("send `Authorization: Bearer <token>`")),
    }
    .map_err(ApiError::into_gql)?;
    let _ = settled.set(viewer.clone());
    let mut data = Data::default();
    data.insert(viewer);
    Ok(data)
}

/// Runs the operations of one WebSocket connection, each through `Runner::stream`, after the
/// connection's own limits.
#[derive(Clone)]
struct Operations {
    runner: super::Runner,
    /// Mark an operation's only, failed answer for `ErrorMessages`.
    mark_failures: bool,
    limits: crate::cost::Limits,
    /// Each operation is one request from its caller's allowance, as on POST.
    rate_limits: super::RateLimits,
    /// The connection's operations in flight, held against `limits.ws_max_operations`.
    in_flight: Arc<AtomicUsize>,
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
        // A slot first: a refused operation then costs nothing more. It is held by the stream,
        // which async-graphql drops when the operation completes, is stopped or the socket ends.
        let Some(slot) = OperationSlot::take(&self.in_flight, self.limits.ws_max_operations) else {
            tracing::info!(max = self.limits.ws_max_operations, "refused a websocket operation: too many");
            return self.answers(futures::stream::iter([too_many(self.limits.ws_max_operations)]).boxed());
        };
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
        } else if let Some(throttled) = self.rate_limits.refuse_operation(&viewer) {
            futures::stream::iter([throttled]).boxed()
        } else {
            self.runner
                .stream(request, &viewer, session.unwrap_or_default())
                .map(move |answer| {
                    let _held = &slot;
                    answer
                })
                .boxed()
        };
        self.answers(answers)
    }
}

impl Operations {
    /// An operation's answers, its only, failed one marked for `ErrorMessages` where the
    /// protocol has an `error` message.
    fn answers(
        &self,
        answers: BoxStream<'static, async_graphql::Response>,
    ) -> BoxStream<'static, async_graphql::Response> {
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

/// One operation's place under `WS_MAX_OPERATIONS`, given back when dropped.
struct OperationSlot(Arc<AtomicUsize>);

impl OperationSlot {
    fn take(in_flight: &Arc<AtomicUsize>, max: usize) -> Option<Self> {
        in_flight.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)).ok()?;
        Some(Self(in_flight.clone()))
    }
}

impl Drop for OperationSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The refusal of an operation past `max` in flight: one error with its code, no data.
fn too_many(max: usize) -> async_graphql::Response {
    let message = format!(
        "{max} operations are already in flight on this connection (WS_MAX_OPERATIONS): complete one first"
    );
    let mut error = async_graphql::ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", TOO_MANY_OPERATIONS);
    async_graphql::Response::from_errors(vec![error])
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
