//! `GET /stats`, `GET /staff/stats` and `GET /staff/stats/alerts`.

use alerta_core::Error;
use alerta_core::domain::{AlertResponseTimes, BasicStats, StaffStats};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::query::QueryParams;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/stats", get(stats))
        .route("/staff/stats", get(staff_stats))
        .route("/staff/stats/alerts", get(alert_response_times))
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

/// The window of `GET /staff/stats/alerts`, in days (30 unless given).
#[derive(serde::Deserialize)]
struct Window {
    dias: Option<String>,
}

async fn alert_response_times(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(window): QueryParams<Window>,
) -> Result<Json<AlertResponseTimes>, ApiError> {
    let days = match window.dias.as_deref() {
        None => 30,
        Some(text) => text
            .parse()
            .map_err(|_| Error::invalid("dias", "dias must be a whole number of days"))?,
    };
    Ok(Json(
        state.app.alert_response_times(&caller.user, days).await?,
    ))
}
