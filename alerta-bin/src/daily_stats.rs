//! `GET /staff/stats/daily`: incidents reported on each of the last 30 days (UTC), counted by
//! the state they are in now, for the web app's chart. Staff and admins only.

use std::collections::BTreeMap;

use alerta_core::Alerta;
use alerta_core::domain::{IncidentFilter, Limit, PageRequest, Status};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

/// How many days the chart covers, today included.
const DAYS: usize = 30;

/// The route, with its state applied.
pub fn routes(app: Alerta) -> Router {
    Router::new()
        .route("/staff/stats/daily", get(daily))
        .with_state(app)
}

/// The contract's error shape. A backend failure keeps its cause in the log, not on the wire.
fn failure(error: &alerta_core::Error) -> Response {
    let status = alerta_adapters::status_code::of(error);
    let message = if status >= 500 {
        tracing::warn!(%error, "daily incident counts");
        "a backend is unavailable".to_owned()
    } else {
        error.to_string()
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({ "error": { "code": error.code(), "message": message } });
    (status, Json(body)).into_response()
}

async fn daily(State(app): State<Alerta>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    let user = match app.authenticate(token).await {
        Ok(user) => user,
        Err(error) => return failure(&error),
    };
    if !user.role.manages_incidents() {
        let body = json!({ "error": { "code": "forbidden", "message": "staff or admin only" } });
        return (StatusCode::FORBIDDEN, Json(body)).into_response();
    }
    match count_by_day(&app, &user).await {
        Ok(days) => Json(json!({ "dias": days })).into_response(),
        Err(error) => failure(&error),
    }
}

/// Walks the incident list newest first (ids sort by creation time) and stops at the first
/// incident older than the window, so the cost follows the last 30 days, not the whole store.
async fn count_by_day(
    app: &Alerta,
    user: &alerta_core::domain::User,
) -> alerta_core::Result<Vec<Value>> {
    let mut day = app.clock().now().to_datetime().date();
    let mut counts: BTreeMap<String, BTreeMap<&'static str, u64>> = BTreeMap::new();
    for _ in 0..DAYS {
        let zero = Status::ALL
            .iter()
            .map(|status| (status.as_str(), 0))
            .collect();
        counts.insert(day.to_string(), zero);
        day = day.previous_day().unwrap_or(day);
    }
    let oldest = counts.keys().next().cloned().unwrap_or_default();
    let filter = IncidentFilter::default();
    let mut page = PageRequest {
        limit: Limit::new(Limit::MAX)?,
        cursor: None,
    };
    loop {
        let listed = app.list_incidents(user, &filter, &page).await?;
        for view in &listed.items {
            let incident = view.incident();
            let created = incident.created_at().to_datetime().date().to_string();
            if created < oldest {
                return Ok(into_days(counts));
            }
            if let Some(day) = counts.get_mut(&created) {
                *day.entry(incident.status().as_str()).or_default() += 1;
            }
        }
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(into_days(counts)),
        }
    }
}

fn into_days(counts: BTreeMap<String, BTreeMap<&'static str, u64>>) -> Vec<Value> {
    counts
        .into_iter()
        .map(|(fecha, por_estado)| json!({ "fecha": fecha, "por_estado": por_estado }))
        .collect()
}
