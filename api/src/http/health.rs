//! Probes: live when the process answers, ready when the database answers with every migration
//! applied.

use axum::{extract::State, http::StatusCode, response::IntoResponse};

use crate::AppState;

/// The process is up and answering (no database call): for a liveness probe.
pub(super) async fn live() -> &'static str {
    "ok"
}

/// Ready for traffic: the database answers and every migration is applied (`/health` and
/// `/health/ready`).
pub(super) async fn ready(State(state): State<AppState>) -> impl IntoResponse {
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
