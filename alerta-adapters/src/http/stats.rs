//! `GET /stats` and `GET /staff/stats`.

use alerta_core::domain::{BasicStats, StaffStats};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::openapi::ErrorReply;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/stats", get(stats))
        .route("/staff/stats", get(staff_stats))
}

#[derive(OpenApi)]
#[openapi(paths(stats, staff_stats))]
pub(super) struct Api;

/// Incidents by `estado`, for every role.
#[utoipa::path(get, path = "/stats", tag = "stats",
    summary = "Incident counts",
    security(("session" = [])),
    responses(
        (status = 200, description = "The counts.", body = BasicStats),
        (status = 401, description = "No token or a bad one.", body = ErrorReply),
    ))]
async fn stats(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<BasicStats>, ApiError> {
    Ok(Json(state.app.stats(&caller.user).await?))
}

/// Incidents by status, type, urgency and department, and the mean resolution time.
#[utoipa::path(get, path = "/staff/stats", tag = "stats",
    summary = "Staff statistics",
    security(("session" = [])),
    responses(
        (status = 200, description = "The counts.", body = StaffStats),
        (status = 401, description = "No token or a bad one.", body = ErrorReply),
        (status = 403, description = "Not staff or admin.", body = ErrorReply),
    ))]
async fn staff_stats(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<StaffStats>, ApiError> {
    Ok(Json(state.app.staff_stats(&caller.user).await?))
}
