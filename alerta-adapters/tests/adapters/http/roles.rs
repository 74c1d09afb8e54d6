//! Every route against every kind of caller, as one table.

use alerta_core::StatusChange;
use alerta_core::domain::{MailState, PageRequest, Role};
use reqwest::Method;
use serde_json::Value;

use super::helpers::{PASSWORD, PNG, TestApp, TestUser, send, spawn_app, unique};

/// The callers of the table, in column order.
const CALLERS: [&str; 5] = ["anonymous", "reporter", "other student", "staff", "admin"];

enum Body {
    None,
    Json(&'static str),
    Png,
}

/// One row: a route, what to send, and the status each caller gets.
struct Row {
    method: Method,
    path: &'static str,
    body: Body,
    expected: [u16; 5],
}

fn row(method: Method, path: &'static str, body: Body, expected: [u16; 5]) -> Row {
    Row {
        method,
        path,
        body,
        expected,
    }
}

/// The table. Placeholders are filled for each request, so that no request depends on what
/// another did: `{incident}` is a new incident reported by the reporter, `{attachment}` a
/// file on it, `{alert}` a new firing alert, `{mail}` a new pending outbox row, `{silence}` a
/// new active silence, `{user}` a new student's id, `{n}` a new number, `{email}` the caller's
/// address (or the reporter's for anonymous calls).
fn table() -> Vec<Row> {
    use Body::*;
    const ALL_OK: [u16; 5] = [200, 200, 200, 200, 200];
    const USERS: [u16; 5] = [401, 200, 200, 200, 200];
    const USERS_CREATE: [u16; 5] = [401, 201, 201, 201, 201];
    const STAFF: [u16; 5] = [401, 403, 403, 200, 200];
    const REPORTER_AND_STAFF: [u16; 5] = [401, 200, 403, 200, 200];
    const STAFF_CREATE: [u16; 5] = [401, 403, 403, 201, 201];
    const ADMIN: [u16; 5] = [401, 403, 403, 403, 200];
    const ADMIN_CREATE: [u16; 5] = [401, 403, 403, 403, 201];
    let draft = r#"{"tipo": "seguridad", "descripcion": "Puerta forzada en el laboratorio",
                    "ubicacion": "Laboratorio de Cómputo", "urgencia": "alta"}"#;
    vec![
        row(Method::GET, "/health", None, ALL_OK),
        row(
            Method::POST,
            "/auth/register",
            Json(r#"{"email": "new{n}@campus.edu", "password": "password123", "nombre": "Nuevo"}"#),
            [201, 201, 201, 201, 201],
        ),
        row(
            Method::POST,
            "/auth/login",
            Json(r#"{"email": "{email}", "password": "{password}"}"#),
            ALL_OK,
        ),
        row(Method::GET, "/auth/me", None, USERS),
        row(Method::GET, "/setup", None, ALL_OK),
        row(
            Method::POST,
            "/auth/password",
            Json(r#"{"current_password": "{password}", "new_password": "{password}"}"#),
            [401, 204, 204, 204, 204],
        ),
        row(Method::GET, "/admin/users", None, ADMIN),
        row(
            Method::POST,
            "/admin/users/{user}/role",
            Json(r#"{"rol": "staff"}"#),
            ADMIN,
        ),
        row(Method::POST, "/admin/users/{user}/disable", None, ADMIN),
        row(Method::POST, "/admin/users/{user}/enable", None, ADMIN),
        row(
            Method::POST,
            "/auth/logout",
            None,
            [401, 204, 204, 204, 204],
        ),
        row(
            Method::POST,
            "/admin/users",
            Json(
                r#"{"email": "made{n}@campus.edu", "password": "password123", "nombre": "Hecho", "rol": "staff"}"#,
            ),
            ADMIN_CREATE,
        ),
        row(Method::POST, "/incidents", Json(draft), USERS_CREATE),
        row(Method::GET, "/incidents", None, USERS),
        row(Method::POST, "/incidents/preview", Json(draft), USERS),
        row(
            Method::POST,
            "/incidents/validate-location",
            Json(r#"{"ubicacion": "biblioteca"}"#),
            USERS,
        ),
        row(Method::GET, "/incidents/mine", None, USERS),
        row(Method::GET, "/incidents/{incident}", None, USERS),
        row(
            Method::POST,
            "/incidents/{incident}/attachments?filename=foto.png",
            Png,
            [401, 201, 403, 201, 201],
        ),
        // Another student's attachments are not theirs to see (docs/API.md, "Who sees what").
        row(
            Method::GET,
            "/incidents/{incident}/attachments",
            None,
            REPORTER_AND_STAFF,
        ),
        row(
            Method::GET,
            "/incidents/{incident}/attachments/{attachment}",
            None,
            REPORTER_AND_STAFF,
        ),
        row(
            Method::POST,
            "/incidents/{incident}/status",
            Json(r#"{"estado": "en_proceso"}"#),
            STAFF,
        ),
        row(
            Method::POST,
            "/incidents/{incident}/comments",
            Json(r#"{"texto": "Vamos en camino"}"#),
            STAFF_CREATE,
        ),
        row(
            Method::POST,
            "/incidents/{incident}/department",
            Json(r#"{"departamento": "Mantenimiento"}"#),
            ADMIN,
        ),
        row(
            Method::GET,
            "/incidents/{incident}/events",
            None,
            REPORTER_AND_STAFF,
        ),
        row(Method::GET, "/incidents/{incident}/deliveries", None, STAFF),
        row(Method::GET, "/departments", None, USERS),
        row(
            Method::POST,
            "/departments",
            Json(r#"{"nombre": "Depto {n}", "email": "depto{n}@campus.edu"}"#),
            ADMIN_CREATE,
        ),
        row(
            Method::PUT,
            "/departments/Mantenimiento",
            Json(r#"{"email": "mant{n}@campus.edu"}"#),
            ADMIN,
        ),
        row(
            Method::GET,
            "/departments/Mantenimiento/incidents",
            None,
            STAFF,
        ),
        row(Method::GET, "/stats", None, USERS),
        row(Method::GET, "/staff/stats", None, STAFF),
        row(
            Method::POST,
            "/events",
            Json(
                r#"{"source": "sensor_01", "severity": "warning", "message": "Temperatura alta"}"#,
            ),
            USERS_CREATE,
        ),
        row(Method::GET, "/events", None, USERS),
        row(Method::GET, "/events/stats", None, USERS),
        row(Method::GET, "/events/{alert}", None, USERS),
        row(Method::GET, "/events/{alert}/history", None, USERS),
        row(Method::GET, "/events/{alert}/occurrences", None, USERS),
        row(Method::POST, "/events/{alert}/ack", Json("{}"), STAFF),
        row(
            Method::POST,
            "/events/{alert}/resolve",
            Json(r#"{"nota": "Listo"}"#),
            STAFF,
        ),
        row(Method::GET, "/admin/outbox", None, ADMIN),
        row(Method::POST, "/admin/outbox/{mail}/retry", None, ADMIN),
        row(
            Method::POST,
            "/silences",
            Json(
                r#"{"matchers": [{"name": "source", "value": "sensor_{n}"}],
                    "ends_at": "2099-01-01T00:00:00Z", "comment": "Mantenimiento"}"#,
            ),
            ADMIN_CREATE,
        ),
        // Staff see why an alert was not mailed; only admins make and expire silences.
        row(Method::GET, "/silences", None, STAFF),
        row(Method::DELETE, "/silences/{silence}", None, ADMIN),
    ]
}

struct Cast {
    reporter: TestUser,
    other: TestUser,
    staff: TestUser,
    admin: TestUser,
}

impl Cast {
    fn caller(&self, column: usize) -> Option<&TestUser> {
        match column {
            0 => None,
            1 => Some(&self.reporter),
            2 => Some(&self.other),
            3 => Some(&self.staff),
            _ => Some(&self.admin),
        }
    }
}

/// A new pending outbox row: resolving an incident mails its reporter.
async fn fresh_mail(t: &TestApp, cast: &Cast) -> String {
    let incident = t.report_directly(&cast.reporter).await;
    let change = StatusChange {
        to: alerta_core::domain::Status::Resolved,
        note: None,
        expected_version: None,
    };
    t.app
        .change_status(
            &cast.staff.user,
            &alerta_core::domain::IncidentId::parse(&incident).unwrap(),
            change,
            None,
        )
        .await
        .unwrap();
    let page = t
        .app
        .storage()
        .outbox
        .mails(Some(MailState::Pending), &PageRequest::default())
        .await
        .unwrap();
    page.items[0].id.to_string()
}

/// A new active silence, made by the admin.
async fn fresh_silence(t: &TestApp, cast: &Cast) -> String {
    let request = alerta_core::SilenceRequest {
        matchers: alerta_core::domain::Matchers::parse([("source", "sensor_99", false)]).unwrap(),
        starts_at: None,
        ends_at: alerta_core::domain::Timestamp::parse_rfc3339("2099-01-01T00:00:00Z").unwrap(),
        comment: alerta_core::domain::SilenceComment::parse("Mantenimiento").unwrap(),
    };
    let made = t
        .app
        .create_silence(&cast.admin.user, request, None)
        .await
        .unwrap();
    made.silence.id().to_string()
}

async fn fill(template: &str, t: &TestApp, cast: &Cast, caller: Option<&TestUser>) -> String {
    let mut text = template.to_owned();
    if text.contains("{incident}") {
        let incident = t.report_directly(&cast.reporter).await;
        if text.contains("{attachment}") {
            let attachment = t.attach_directly(&cast.reporter, &incident).await;
            text = text.replace("{attachment}", &attachment);
        }
        text = text.replace("{incident}", &incident);
    }
    if text.contains("{alert}") {
        // A message of its own: the same one would fold into the alert an earlier row used.
        let draft = alerta_core::domain::AlertDraft::parse(
            "sensor_01",
            "warning",
            &format!("Temperatura alta {}", unique()),
            alerta_core::domain::Channel::Http,
        )
        .unwrap();
        let alert = t.app.ingest_alerts(vec![draft]).await.unwrap().remove(0);
        text = text.replace("{alert}", alert.id.as_str());
    }
    if text.contains("{user}") {
        let user = t.user(Role::Student).await;
        text = text.replace("{user}", user.id());
    }
    if text.contains("{mail}") {
        text = text.replace("{mail}", &fresh_mail(t, cast).await);
    }
    if text.contains("{silence}") {
        text = text.replace("{silence}", &fresh_silence(t, cast).await);
    }
    let email = caller.unwrap_or(&cast.reporter).user.email.to_string();
    text.replace("{n}", &unique().to_string())
        .replace("{email}", &email)
        .replace("{password}", PASSWORD)
}

#[tokio::test]
async fn every_route_answers_every_role_as_documented() {
    let t = spawn_app().await;
    t.department("Mantenimiento").await;
    let cast = Cast {
        reporter: t.user(Role::Student).await,
        other: t.user(Role::Student).await,
        staff: t.user(Role::Staff).await,
        admin: t.user(Role::Admin).await,
    };
    let mut failures = Vec::new();
    for row in table() {
        for (column, expected) in row.expected.iter().enumerate() {
            let caller = cast.caller(column);
            // A fresh token per request, so that logging out does not end the other rows.
            let token = match caller {
                Some(user) => Some(t.session(&user.user).await),
                None => None,
            };
            let path = fill(row.path, &t, &cast, caller).await;
            let request = t.request(row.method.clone(), &path, token.as_deref());
            let request = match &row.body {
                Body::None => request,
                Body::Json(template) => {
                    let body: Value =
                        serde_json::from_str(&fill(template, &t, &cast, caller).await).unwrap();
                    request.json(&body)
                }
                Body::Png => request
                    .header("content-type", "image/png")
                    .body(PNG.to_vec()),
            };
            let reply = send(request).await;
            if reply.status != *expected {
                failures.push(format!(
                    "{} {} as {}: expected {expected}, got {} {}",
                    row.method, row.path, CALLERS[column], reply.status, reply.body
                ));
            }
            if reply.status >= 400 {
                assert!(
                    reply.body["error"]["code"].is_string(),
                    "{} {}: not the error shape: {}",
                    row.method,
                    row.path,
                    reply.body
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn ingest_keys_may_post_alerts_and_nothing_else() {
    let settings = alerta_core::Settings {
        ingest_keys: vec!["sensor-key-1".into()],
        ..alerta_core::Settings::default()
    };
    let t =
        super::helpers::spawn_with(settings, alerta_adapters::http::HttpConfig::default()).await;
    let alert = serde_json::json!({"source": "sensor_01", "severity": "info", "message": "ok"});
    t.post("/events", Some("sensor-key-1"), alert.clone())
        .await
        .expect(201);
    t.post("/events", Some("sensor-key-2"), alert)
        .await
        .expect_error(401, "unauthenticated");
    t.get("/events", Some("sensor-key-1"))
        .await
        .expect_error(401, "unauthenticated");
    t.get("/incidents", Some("sensor-key-1"))
        .await
        .expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn a_student_sees_others_incidents_without_who_reported_them() {
    let t = spawn_app().await;
    let reporter = t.user(Role::Student).await;
    let other = t.user(Role::Student).await;
    let staff = t.user(Role::Staff).await;
    let incident = t.report_directly(&reporter).await;
    let path = format!("/incidents/{incident}");

    let theirs = t.get(&path, Some(&other.token)).await;
    theirs.expect(200);
    assert_eq!(theirs.body["reportado_por"], Value::Null);
    assert_eq!(theirs.body["incident_id"], incident.as_str());
    let listed = t.get("/incidents", Some(&other.token)).await;
    listed.expect(200);
    assert_eq!(listed.items().len(), 1);
    assert_eq!(listed.items()[0]["reportado_por"], Value::Null);
    let searched = t.get("/incidents?q=derrame", Some(&other.token)).await;
    assert_eq!(searched.items()[0]["reportado_por"], Value::Null);

    for (viewer, who) in [(&reporter, "the reporter"), (&staff, "staff")] {
        let full = t.get(&path, Some(&viewer.token)).await;
        assert_eq!(full.body["reportado_por"], reporter.id(), "{who}");
        let listed = t.get("/incidents", Some(&viewer.token)).await;
        assert_eq!(listed.items()[0]["reportado_por"], reporter.id(), "{who}");
    }
    assert!(
        !listed
            .bytes
            .windows(reporter.id().len())
            .any(|w| w == reporter.id().as_bytes()),
        "the other student's list names no reporter"
    );
}

#[tokio::test]
async fn with_incidents_not_public_a_student_sees_only_their_own() {
    let settings = alerta_core::Settings {
        public_incidents: false,
        ..alerta_core::Settings::default()
    };
    let t =
        super::helpers::spawn_with(settings, alerta_adapters::http::HttpConfig::default()).await;
    let reporter = t.user(Role::Student).await;
    let other = t.user(Role::Student).await;
    let staff = t.user(Role::Staff).await;
    let incident = t.report_directly(&reporter).await;
    let own = t.report_directly(&other).await;
    let path = format!("/incidents/{incident}");

    t.get(&path, Some(&other.token))
        .await
        .expect_error(404, "incident_not_found");
    t.get(&format!("{path}/attachments"), Some(&other.token))
        .await
        .expect_error(404, "incident_not_found");
    t.get(&format!("{path}/events"), Some(&other.token))
        .await
        .expect_error(404, "incident_not_found");
    let listed = t.get("/incidents", Some(&other.token)).await;
    listed.expect(200);
    let ids: Vec<&str> = listed
        .items()
        .iter()
        .map(|i| i["incident_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [own.as_str()], "only their own");
    assert_eq!(listed.items()[0]["reportado_por"], other.id());

    t.get(&path, Some(&reporter.token)).await.expect(200);
    let all = t.get("/incidents", Some(&staff.token)).await;
    assert_eq!(all.items().len(), 2, "staff see every incident");
}
