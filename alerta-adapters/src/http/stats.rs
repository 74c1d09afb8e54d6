//! `GET /stats` and `GET /staff/stats`.

use alerta_core::domain::{BasicStats, StaffStats};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/stats", get(stats))
        .route("/staff/stats", get(staff_stats))
}

async fn stats(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<BasicStats>, ApiError> {
    Ok(Json(state.app.stats(&caller.user).await?))
}

async fn staff_stats(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<StaffStats>, ApiError> {
    Ok(Json(state.app.staff_stats(&caller.user).await?))
}
