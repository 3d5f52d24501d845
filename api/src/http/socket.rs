//! One graphql-ws (or graphql-transport-ws) connection: its caller settled at
//! `connection_init`, its operations run with loaders of their own, and closed when its token
//! expires, its grant is revoked or the server shuts down.

use std::{
    any::TypeId,
    collections::HashSet,
    pin::Pin,
    sync::{Arc, OnceLock},
    time::Duration,
};

use async_graphql::{Data, Executor, Value};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use entity::access_grant;
use futures::{FutureExt, SinkExt, StreamExt, stream::BoxStream};
use sea_orm::{DatabaseConnection, EntityTrait};

use super::graphql::fill_codes;
use crate::{ApiSchema, AppState, auth::Viewer, error::ApiError, loaders};

pub(super) async fn serve(
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
