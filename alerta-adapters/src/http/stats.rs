//! `GET /stats`, `GET /staff/stats` and `GET /staff/stats/alerts` (`GET /staff/stats/daily`
//! is in [`daily_stats`](super::daily_stats)).

use alerta_core::Error;
use alerta_core::domain::{AlertResponseTimes, BasicStats, StaffStats};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use super::AppState;
use super::auth::Caller;
use super::error::Reply;

use super::query::QueryParams;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/stats", get(stats))
        .route("/staff/stats", get(staff_stats))
        .route("/staff/stats/alerts", get(alert_response_times))
}

#[derive(OpenApi)]
#[openapi(paths(stats, staff_stats, alert_response_times))]
pub(super) struct Api;

/// Incident counts
///
/// Incidents by `estado`, for every role.
#[utoipa::path(get, path = "/stats", tag = "stats",
    security(("session" = [])),
    responses((status = 200, description = "The counts.", body = BasicStats)))]
async fn stats(caller: Caller) -> Reply<Json<BasicStats>> {
    Ok(Json(caller.app.stats(&caller.user).await?))
}

/// Staff statistics
///
/// Incidents by status, type, urgency and department, and the mean resolution time.
#[utoipa::path(get, path = "/staff/stats", tag = "stats",
    security(("session" = ["staff"])),
    responses((status = 200, description = "The counts.", body = StaffStats)))]
async fn staff_stats(caller: Caller) -> Reply<Json<StaffStats>> {
    Ok(Json(caller.app.staff_stats(&caller.user).await?))
}

/// The window of `GET /staff/stats/alerts`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Window {
    /// Days back from now, 1 to 90 (30 when left out).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 90)]
    dias: Option<String>,
}

/// Alert response times
///
/// MTTA and MTTR of the alert groups opened in the window, by severity and by source.
#[utoipa::path(get, path = "/staff/stats/alerts", tag = "stats",
    security(("session" = ["staff"])),
    params(Window),
    responses((status = 200, description = "The response times.", body = AlertResponseTimes)))]
async fn alert_response_times(
    caller: Caller,
    QueryParams(window): QueryParams<Window>,
) -> Reply<Json<AlertResponseTimes>> {
    let days = match window.dias.as_deref() {
        None => 30,
        Some(text) => text
            .parse()
            .map_err(|_| Error::invalid("dias", "dias must be a whole number of days"))?,
    };
    Ok(Json(
        caller.app.alert_response_times(&caller.user, days).await?,
    ))
}
