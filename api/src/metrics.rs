//! Prometheus metrics on `GET /metrics`: HTTP requests by route and status with latency
//! histograms, GraphQL operations by name and outcome, errors by code, open WebSockets and the
//! database pool. One recorder per process, installed the first time it is asked for.

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use async_graphql::{Response, Value};
use axum::{
    extract::{MatchedPath, Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response as HttpResponse},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::DatabaseConnection;

use crate::AppState;

/// Latency buckets, in seconds: 1 ms to 10 s.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The process's recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), &BUCKETS)
            .and_then(PrometheusBuilder::install_recorder)
            .unwrap_or_else(|e| {
                // Another recorder is installed (a test harness, say): keep one of our own that
                // nothing records into, rather than failing the server.
                tracing::warn!(error = %e, "metrics recorder not installed");
                PrometheusBuilder::new().build_recorder().handle()
            })
    })
}

/// `GET /metrics`, in Prometheus' text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    pool_gauges(&state.db);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle().render())
}

fn pool_gauges(db: &DatabaseConnection) {
    let (size, idle) = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    };
    metrics::gauge!("db_pool_connections").set(f64::from(size));
    metrics::gauge!("db_pool_idle_connections").set(idle as f64);
}

/// Middleware: counts every HTTP request by method, route and status, and times it.
pub async fn track(request: Request, next: Next) -> HttpResponse {
    handle();
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The WebSockets one server has open, held against `MAX_WEBSOCKETS`. Clones share the count.
/// Kept per server rather than in a static so that servers in one process (the tests) do not
/// take each other's slots; the `websocket_connections_open` gauge is the process's total.
#[derive(Clone, Debug, Default)]
pub struct Sockets(Arc<AtomicUsize>);

impl Sockets {
    /// Takes a slot for a WebSocket about to open, unless `max` are open (or reserved) already.
    pub fn open(&self, max: usize) -> Option<OpenSocket> {
        self.0.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)).ok()?;
        handle();
        metrics::gauge!("websocket_connections_open").increment(1.0);
        Some(OpenSocket(self.0.clone()))
    }

    /// How many are open (or reserved) now.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

/// One WebSocket's slot, from before its upgrade until it closes (or its upgrade fails).
#[derive(Debug)]
pub struct OpenSocket(Arc<AtomicUsize>);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!("websocket_connections_open").decrement(1.0);
    }
}

/// Counts one GraphQL query or mutation (HTTP or WebSocket) by name and outcome, its duration,
/// and its errors by `extensions.code`.
pub fn operation_done(operation_name: Option<&str>, response: &Response, started: Instant) {
    // Operation names are the client's text: keep the label set bounded.
    let operation: String = operation_name
        .unwrap_or("anonymous")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    let outcome = if response.errors.is_empty() { "ok" } else { "error" };
    metrics::counter!("graphql_operations_total", "operation" => operation.clone(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("graphql_operation_duration_seconds", "operation" => operation)
        .record(started.elapsed().as_secs_f64());
    for e in &response.errors {
        let code = e
            .extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .and_then(|v| if let Value::String(s) = v { Some(s.clone()) } else { None })
            .unwrap_or_else(|| "NONE".to_owned());
        metrics::counter!("graphql_errors_total", "code" => code).increment(1);
    }
}
