//! Serving and stopping: on SIGTERM or SIGINT the server stops accepting, tells open
//! WebSockets it is going away (close code 1001), lets requests in flight (and their
//! transactions) finish within a grace period, and returns, so the process exits 0.

use std::{future::Future, time::Duration};

use tokio::net::TcpListener;

use crate::{AppState, router};

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

/// Serves `state` on `listener` until `stop` resolves, then drains for at most `grace`.
pub async fn serve_until(
    listener: TcpListener,
    state: AppState,
    stop: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let going_away = state.shutdown.clone();
    let mut stopped = going_away.subscribe();
    let app = router(state);
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        stop.await;
        // Open WebSockets close themselves when they see this (`http::serve_socket`).
        let _ = going_away.send(true);
    });
    let deadline = async move {
        let _ = stopped.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        served = server => {
            tracing::info!("stopped: every request finished");
            served
        }
        () = deadline => {
            tracing::warn!(grace_secs = grace.as_secs(), "stopped: the grace period ran out with requests in flight");
            Ok(())
        }
    }
}
