//! `GET /staff/stats/daily`: the numbers behind the web app's charts. Staff and admins only.
//!
//! - `dias`: incidents reported on each of the last 30 days (UTC), counted by the state they
//!   are in now;
//! - `resolucion`: for each department, how long the incidents assigned to it and reported in
//!   those 30 days took to be resolved: how many, the mean and the 90th percentile (nearest
//!   rank), in seconds;
//! - `alertas_por_hora`: alerts made in each of the last 24 hours (UTC, the current hour
//!   last), by severity.

use std::collections::BTreeMap;

use alerta_core::Alerta;
use alerta_core::domain::{
    AlertFilter, DurationSummary, Incident, IncidentFilter, Limit, PageRequest, Severity, Status,
    Timestamp, User,
};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

/// How many days the chart covers, today included.
const DAYS: usize = 30;

/// How many hours the alert chart covers, the current one included.
const HOURS: i64 = 24;

const HOUR_MS: i64 = 3_600_000;

/// The route, with its state applied.
pub fn routes(app: Alerta) -> Router {
    Router::new()
        .route("/staff/stats/daily", get(daily))
        .with_state(app)
}

/// The document of [`routes`].
#[derive(OpenApi)]
#[openapi(paths(daily), components(schemas(Day, Hour)))]
pub struct Api;

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

/// The numbers behind the web app's charts: the last 30 days, per department, the last 24 hours.
#[utoipa::path(get, path = "/staff/stats/daily", tag = "stats",
    summary = "Daily statistics",
    security(("session" = [])),
    responses(
        (status = 200, description = "30 days, the departments' resolution times, 24 hours of alerts.", body = Summary),
        (status = 401, description = "No token or a bad one.", body = alerta_adapters::http::ErrorReply),
        (status = 403, description = "Not staff or admin.", body = alerta_adapters::http::ErrorReply),
        (status = 503, description = "The store is unavailable.", body = alerta_adapters::http::ErrorReply),
    ))]
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
    match summary(&app, &user).await {
        Ok(summary) => Json(summary).into_response(),
        Err(error) => failure(&error),
    }
}

/// The whole reply.
#[derive(Debug, Serialize, ToSchema)]
struct Summary {
    /// Exactly 30 days, oldest first, the last one today.
    #[schema(value_type = Vec<Day>, min_items = 30, max_items = 30)]
    dias: Vec<Value>,
    /// One per department with resolved incidents, by name.
    resolucion: Vec<Resolution>,
    /// Exactly 24 hours, oldest first, the last one the current hour.
    #[schema(value_type = Vec<Hour>, min_items = 24, max_items = 24)]
    alertas_por_hora: Vec<Value>,
}

/// One day of `dias`: the incidents reported that day by the state they are in now.
#[derive(ToSchema)]
#[allow(dead_code)] // Describes the JSON `count_by_day` writes.
struct Day {
    /// A UTC date.
    #[schema(format = Date)]
    fecha: String,
    /// `pendiente`, `en_proceso` and `resuelto`, always all three.
    por_estado: BTreeMap<String, u64>,
}

/// One hour of `alertas_por_hora`: the alerts made in it by severity.
#[derive(ToSchema)]
#[allow(dead_code)] // Describes the JSON `alerts_by_hour` writes.
struct Hour {
    /// The hour's start.
    hora: Timestamp,
    /// `info`, `warning`, `error` and `critical`, always all four.
    por_severidad: BTreeMap<String, u64>,
}

/// How long one department's incidents took to be resolved.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
struct Resolution {
    departamento: String,
    resueltos: usize,
    media_s: f64,
    p90_s: f64,
}

async fn summary(app: &Alerta, user: &User) -> alerta_core::Result<Summary> {
    let incidents = last_days(app, user).await?;
    Ok(Summary {
        dias: count_by_day(app.clock().now(), &incidents),
        resolucion: resolution_by_department(&incidents),
        alertas_por_hora: alerts_by_hour(app, user).await?,
    })
}

fn window_days(now: Timestamp) -> Vec<String> {
    let mut day = now.to_datetime().date();
    let mut days = Vec::with_capacity(DAYS);
    for _ in 0..DAYS {
        days.push(day.to_string());
        day = day.previous_day().unwrap_or(day);
    }
    days.reverse();
    days
}

/// The incidents reported in the window. Walks the incident list newest first (ids sort by
/// creation time) and stops at the first incident older than the window, so the cost follows
/// the last 30 days, not the whole store.
async fn last_days(app: &Alerta, user: &User) -> alerta_core::Result<Vec<Incident>> {
    let oldest = window_days(app.clock().now()).remove(0);
    let filter = IncidentFilter::default();
    let mut page = PageRequest {
        limit: Limit::new(Limit::MAX)?,
        cursor: None,
    };
    let mut found = Vec::new();
    loop {
        let listed = app.list_incidents(user, &filter, &page).await?;
        for view in listed.items {
            let incident = view.incident();
            if incident.created_at().to_datetime().date().to_string() < oldest {
                return Ok(found);
            }
            found.push(incident.clone());
        }
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(found),
        }
    }
}

fn count_by_day(now: Timestamp, incidents: &[Incident]) -> Vec<Value> {
    let mut counts: BTreeMap<String, BTreeMap<&'static str, u64>> = window_days(now)
        .into_iter()
        .map(|day| {
            let zero = Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
            (day, zero)
        })
        .collect();
    for incident in incidents {
        let created = incident.created_at().to_datetime().date().to_string();
        if let Some(day) = counts.get_mut(&created) {
            *day.entry(incident.status().as_str()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|(fecha, por_estado)| json!({ "fecha": fecha, "por_estado": por_estado }))
        .collect()
}

/// Mean and 90th percentile of the time from report to resolution, per department, over the
/// resolved incidents that are assigned to one. The percentile is the nearest rank: the
/// smallest time that at least 90 % of the times do not exceed.
fn resolution_by_department(incidents: &[Incident]) -> Vec<Resolution> {
    let mut times: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for incident in incidents {
        let (Some(department), Some(resolved)) = (incident.department(), incident.resolved_at())
        else {
            continue;
        };
        if incident.status() != Status::Resolved {
            continue;
        }
        let millis = resolved.unix_millis() - incident.created_at().unix_millis();
        times
            .entry(department.as_str().to_owned())
            .or_default()
            .push(millis.max(0));
    }
    times
        .into_iter()
        .filter_map(|(departamento, millis)| {
            let summary = DurationSummary::of(millis)?;
            Some(Resolution {
                departamento,
                resueltos: summary.count,
                media_s: summary.mean_s,
                p90_s: summary.p90_s,
            })
        })
        .collect()
}

/// Alerts of each of the last 24 hours by severity, oldest hour first. Walks the alert list
/// newest first and stops at the first alert older than the window.
async fn alerts_by_hour(app: &Alerta, user: &User) -> alerta_core::Result<Vec<Value>> {
    let now = app.clock().now().unix_millis();
    let current = now.div_euclid(HOUR_MS) * HOUR_MS;
    let start = current - (HOURS - 1) * HOUR_MS;
    let mut counts: Vec<BTreeMap<&'static str, u64>> = (0..HOURS)
        .map(|_| Severity::ALL.iter().map(|s| (s.as_str(), 0)).collect())
        .collect();
    let filter = AlertFilter::default();
    let mut page = PageRequest {
        limit: Limit::new(Limit::MAX)?,
        cursor: None,
    };
    'pages: loop {
        let listed = app.search_alerts(user, &filter, &page).await?;
        for alert in &listed.items {
            let at = alert.created_at.unix_millis();
            if at < start {
                break 'pages;
            }
            let hour = ((at - start) / HOUR_MS).min(HOURS - 1) as usize;
            *counts[hour].entry(alert.severity.as_str()).or_default() += 1;
        }
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    Ok(counts
        .into_iter()
        .enumerate()
        .map(|(n, por_severidad)| {
            let hora = Timestamp::from_unix_millis(start + n as i64 * HOUR_MS);
            json!({ "hora": hora, "por_severidad": por_severidad })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use alerta_adapters::memory::{MemoryBlobStore, MemoryStore, RecordingBroadcaster};
    use alerta_core::domain::{
        AlertDraft, Channel, Department, DepartmentName, Email, NewUser, Role, Status, Timestamp,
    };
    use alerta_core::ports::{ManualClock, Storage};
    use alerta_core::{Alerta, StatusChange};
    use serde_json::json;

    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    /// 2026-11-30T10:00:00Z.
    fn start() -> Timestamp {
        Timestamp::from_unix_millis(1_796_032_800_000)
    }

    async fn app(clock: Arc<ManualClock>) -> (Alerta, User, User) {
        let storage = Storage::from_backend(Arc::new(MemoryStore::new()));
        let app = Alerta::builder(
            storage,
            Arc::new(MemoryBlobStore::new()),
            Arc::new(RecordingBroadcaster::new()),
        )
        .clock(clock)
        .build();
        let admin = app
            .add_user(
                NewUser::parse("admin@campus.edu", "admin-password", "Admin", Role::Admin).unwrap(),
            )
            .await
            .unwrap();
        let student = app
            .add_user(
                NewUser::parse("ana@campus.edu", "ana-password", "Ana", Role::Student).unwrap(),
            )
            .await
            .unwrap();
        for name in ["TI", "Mantenimiento"] {
            app.add_department(Department {
                name: DepartmentName::parse(name).unwrap(),
                email: Email::parse("dept@campus.edu").unwrap(),
            })
            .await
            .unwrap();
        }
        (app, admin, student)
    }

    async fn report(
        app: &Alerta,
        admin: &User,
        student: &User,
        department: Option<&str>,
    ) -> Incident {
        let draft = app
            .parse_draft(
                "infraestructura",
                "Fuga de agua en el baño",
                "Pabellón A",
                "alta",
            )
            .unwrap();
        let incident = app.report_incident(student, draft, None).await.unwrap();
        match department {
            Some(name) => app
                .assign_department(
                    admin,
                    incident.id(),
                    DepartmentName::parse(name).unwrap(),
                    None,
                )
                .await
                .unwrap(),
            None => incident,
        }
    }

    async fn resolve(app: &Alerta, admin: &User, incident: &Incident) {
        let change = StatusChange {
            to: Status::Resolved,
            note: None,
            expected_version: None,
        };
        app.change_status(admin, incident.id(), change, None)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn resolution_times_match_hand_computed_values() {
        let clock = Arc::new(ManualClock::new(start()));
        let (app, admin, student) = app(clock.clone()).await;
        let mut ti = Vec::new();
        for _ in 0..4 {
            ti.push(report(&app, &admin, &student, Some("TI")).await);
        }
        let _still_open = report(&app, &admin, &student, Some("TI")).await;
        let maintenance = report(&app, &admin, &student, Some("Mantenimiento")).await;
        let unassigned = report(&app, &admin, &student, None).await;
        // TI's four take 1 h, 2 h, 3 h and 10 h; Mantenimiento's one 1 h; the unassigned one
        // and the open one count nowhere.
        clock.advance(HOUR);
        resolve(&app, &admin, &ti[0]).await;
        resolve(&app, &admin, &maintenance).await;
        resolve(&app, &admin, &unassigned).await;
        clock.advance(HOUR);
        resolve(&app, &admin, &ti[1]).await;
        clock.advance(HOUR);
        resolve(&app, &admin, &ti[2]).await;
        clock.advance(7 * HOUR);
        resolve(&app, &admin, &ti[3]).await;

        let summary = summary(&app, &admin).await.unwrap();
        assert_eq!(
            summary.resolucion,
            [
                Resolution {
                    departamento: "Mantenimiento".into(),
                    resueltos: 1,
                    media_s: 3600.0,
                    p90_s: 3600.0,
                },
                Resolution {
                    departamento: "TI".into(),
                    resueltos: 4,
                    // (1 + 2 + 3 + 10) / 4 hours; the 90th percentile of four is the 4th.
                    media_s: 14_400.0,
                    p90_s: 36_000.0,
                },
            ]
        );
        let today = summary.dias.last().unwrap();
        assert_eq!(today["fecha"], "2026-11-30");
        assert_eq!(
            today["por_estado"],
            json!({"pendiente": 1, "en_proceso": 0, "resuelto": 6})
        );
    }

    #[tokio::test]
    async fn alerts_are_counted_in_the_hour_they_came() {
        let clock = Arc::new(ManualClock::new(start()));
        let (app, admin, _) = app(clock.clone()).await;
        let now = start().plus(10 * HOUR + Duration::from_secs(30 * 60)); // 20:30
        // Each alert says something of its own, so that none joins another's group.
        let fire = |at: Timestamp, severity: &'static str| {
            clock.set(at);
            let message = format!("temperatura alta a las {}", at.unix_millis());
            let draft = AlertDraft::parse("sensor-7", severity, &message, Channel::Http).unwrap();
            let app = app.clone();
            async move { app.ingest_alerts(vec![draft]).await.unwrap() }
        };
        let at = |hours: i64, minutes: i64| {
            Timestamp::from_unix_millis(start().unix_millis() + hours * HOUR_MS + minutes * 60_000)
        };
        fire(at(-13, -1), "error").await; // 2026-11-29T20:59, an hour too old
        fire(at(-13, 0), "warning").await; // 21:00 the day before: the first hour
        fire(at(9, 59), "info").await; // 19:59
        fire(at(10, 10), "critical").await; // 20:10, the current hour
        fire(at(10, 20), "critical").await;
        clock.set(now);

        let hours = alerts_by_hour(&app, &admin).await.unwrap();
        assert_eq!(hours.len(), 24);
        assert_eq!(hours[0]["hora"], "2026-11-29T21:00:00.000Z");
        assert_eq!(hours[23]["hora"], "2026-11-30T20:00:00.000Z");
        let count =
            |n: usize, severity: &str| hours[n]["por_severidad"][severity].as_u64().unwrap();
        assert_eq!(count(0, "warning"), 1);
        assert_eq!(count(22, "info"), 1);
        assert_eq!(count(23, "critical"), 2);
        let total: u64 = hours
            .iter()
            .flat_map(|h| h["por_severidad"].as_object().unwrap().values())
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(
            total, 4,
            "the alert of 20:59 the day before is outside the window"
        );
    }
}
