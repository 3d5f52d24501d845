//! Serving and stopping: HTTP/1.1 connections (with WebSocket upgrades), each closed when its
//! request headers do not arrive within `header_read_timeout`; on SIGTERM or SIGINT the server
//! stops accepting, tells open WebSockets it is going away (close code 1001), lets requests in
//! flight (and their transactions) finish within a grace period, and returns, so the process
//! exits 0.
//!
//! Built on hyper directly rather than `axum::serve`, which offers no header-read timeout: without
//! one a client that sends its headers a byte at a time (slowloris) holds a connection for as long
//! as it likes. hyper's HTTP/1 builder is used rather than hyper-util's `auto` one because `auto`
//! first waits, with no timeout, for enough bytes to tell HTTP/1 from HTTP/2, so a client that
//! connects and sends nothing would still hold its connection forever.

use std::{future::Future, net::SocketAddr, pin::pin, time::Duration};

use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};
use tower::ServiceExt as _;

use crate::{AppState, router};

/// How long a client may take to send a request's headers by default: a real client sends them
/// in one go, in milliseconds even on a poor mobile link, so 10 s leaves plenty of room while a
/// slowloris client must reconnect every 10 s rather than squatting on a connection.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How a server runs; see `ServeConfig` for the settings behind each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// After the stop signal, how long requests in flight may take to finish (`SHUTDOWN_GRACE_SECS`).
    pub grace: Duration,
    /// How long a connection may take to send a request's headers, and how long an idle
    /// keep-alive connection is kept waiting for its next request, before it is closed
    /// (`HEADER_READ_TIMEOUT_SECS`).
    pub header_read_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self { grace: Duration::from_secs(20), header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT }
    }
}

/// Resolves on SIGTERM (what systemd, Docker and Kubernetes send) or SIGINT (Ctrl-C).
pub async fn signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}

/// Serves `state` on `listener` until `stop` resolves, then drains for at most `options.grace`.
/// Every request carries its connection's peer address as axum's `ConnectInfo<SocketAddr>`.
pub async fn serve_until(
    listener: TcpListener,
    state: AppState,
    stop: impl Future<Output = ()> + Send + 'static,
    options: Options,
) -> std::io::Result<()> {
    let going_away = state.shutdown.clone();
    let app = router(state);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(options.header_read_timeout);
    // Each connection's task holds a receiver; the sender sees `closed` once all have ended.
    let (open_tx, open_rx) = watch::channel(());
    let mut stop = pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((tcp, peer)) => {
                // No Nagle: an answer written in parts (a CSV export's header, then its pages)
                // otherwise waits for the client's delayed ACK, 40 ms a file.
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                }
                connection(&http, &app, tcp, peer, &going_away, open_rx.clone())
            }
            // The client gave up before we took the connection: nothing to do.
            Err(e) if is_connection_error(&e) => {}
            // Out of file descriptors or memory: pause rather than spin, still heeding `stop`.
            Err(e) => {
                tracing::warn!(error = %e, "cannot accept a connection; retrying in 1 s");
                tokio::select! {
                    () = &mut stop => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    drop(listener);
    // Open WebSockets close themselves when they see this (`http::socket`), and each connection
    // finishes the request it is serving and then closes.
    going_away.send_replace(true);
    drop(open_rx);
    match tokio::time::timeout(options.grace, open_tx.closed()).await {
        Ok(()) => tracing::info!("stopped: every request finished"),
        Err(_) => tracing::warn!(
            grace_secs = options.grace.as_secs(),
            "stopped: the grace period ran out with requests in flight"
        ),
    }
    Ok(())
}

/// Serves one connection on a task of its own, which holds `open` until the connection closes.
fn connection(
    http: &http1::Builder,
    app: &Router,
    tcp: TcpStream,
    peer: SocketAddr,
    going_away: &watch::Sender<bool>,
    open: watch::Receiver<()>,
) {
    let service = app.clone().map_request(move |mut request: axum::http::Request<Incoming>| {
        // What `into_make_service_with_connect_info` would add: the rate limiter keys on it.
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let conn = http.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service)).with_upgrades();
    let mut stopping = going_away.subscribe();
    tokio::spawn(async move {
        let mut conn = pin!(conn);
        // Drops `wait_for`'s guard at once: it must not be held across the drain below. (The
        // sender lives in the state the router holds, so it cannot go before the connection.)
        let stop = async {
            if stopping.wait_for(|stopping| *stopping).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let served = tokio::select! {
            served = conn.as_mut() => served,
            _ = stop => {
                // Finish the request in flight (an idle connection closes at once), then close.
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        // Header-read timeouts, resets and clients that hang up mid-request land here: routine.
        if let Err(e) = served {
            tracing::debug!(error = %e, peer = %peer, "connection ended with an error");
        }
        drop(open);
    });
}

/// Errors of one connection that did not survive being accepted, not of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}
