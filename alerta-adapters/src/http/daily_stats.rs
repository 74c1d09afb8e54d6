//! `GET /staff/stats/daily`: the numbers behind the web app's charts.

use alerta_core::domain::DailyStats;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use super::AppState;
use super::auth::Caller;
use super::error::Reply;
use super::openapi::ErrorReply;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/staff/stats/daily", get(daily_stats))
}

#[derive(OpenApi)]
#[openapi(paths(daily_stats))]
pub(super) struct Api;

/// Daily statistics
///
/// The numbers behind the web app's charts: the last 30 days, per department, the last 24 hours.
#[utoipa::path(get, path = "/staff/stats/daily", tag = "stats",
    security(("session" = ["staff"])),
    responses(
        (status = 200, description = "30 days, the departments' resolution times, 24 hours of alerts.", body = DailyStats),
        (status = 503, description = "The store is unavailable.", body = ErrorReply),
    ))]
async fn daily_stats(caller: Caller) -> Reply<Json<DailyStats>> {
    Ok(Json(caller.app.daily_stats(&caller.user).await?))
}
