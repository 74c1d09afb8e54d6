//! Generated JSON bodies, and bytes that are not JSON, on every write route: the server never
//! answers 5xx, every refusal has the error shape, and a refused request changes nothing.

use alerta_core::domain::Role;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;
use serde_json::{Value, json};

use super::helpers::{TestApp, TestUser, send, spawn_app};

/// Field names of the API's bodies, and others.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "tipo", "descripcion", "ubicacion", "urgencia", "estado", "nota", "texto",
            "comentario", "departamento", "expected_version", "version", "source", "severity",
            "message", "email", "password", "nombre", "name", "role", "rol",
        ])
        .prop_map(str::to_owned),
        1 => ".{0,10}",
    ]
}

/// A value of any JSON shape, biased towards values the API accepts.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,60}".prop_map(Value::String),
        "[a-z ]{300,1200}".prop_map(Value::String),
        prop::sample::select(vec![
            "",
            "   ",
            "limpieza",
            "infraestructura",
            "alta",
            "media",
            "baja",
            "Biblioteca",
            "en_proceso",
            "resuelto",
            "cerrado",
            "pendiente",
            "critical",
            "error",
            "info",
            "staff",
            "admin",
            "estudiante",
            "x@campus.edu",
            "Mantenimiento",
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// What a case sends.
#[derive(Clone, Debug)]
enum Body {
    Object(Value),
    Json(Value),
    Bytes(Vec<u8>),
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        6 => prop::collection::btree_map(field_name(), value(), 0..7)
            .prop_map(|m| Body::Object(Value::Object(m.into_iter().collect()))),
        1 => value().prop_map(Body::Json),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Body::Bytes),
    ]
}

/// What a refused request must leave as it was.
#[derive(Debug, PartialEq)]
struct Snapshot {
    incident: Value,
    incidents: usize,
    alerts: Value,
    departments: Value,
}

async fn snapshot(t: &TestApp, admin: &TestUser, incident: &str) -> Snapshot {
    let token = Some(admin.token.as_str());
    let one = t.get(&format!("/incidents/{incident}"), token).await;
    one.expect(200);
    let alerts = t.get("/events/stats", token).await;
    alerts.expect(200);
    let departments = t.get("/departments", token).await;
    departments.expect(200);
    Snapshot {
        incident: one.body,
        incidents: t.incident_count(&admin.token).await,
        alerts: alerts.body,
        departments: departments.body,
    }
}

#[test]
fn generated_bodies_never_get_a_server_error_and_refusals_change_nothing() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (t, admin, staff, student, incident) = runtime.block_on(async {
        let t = spawn_app().await;
        let admin = t.user(Role::Admin).await;
        let staff = t.user(Role::Staff).await;
        let student = t.user(Role::Student).await;
        t.department("Mantenimiento").await;
        let incident = t.report_directly(&student).await;
        (t, admin, staff, student, incident)
    });
    let routes: Vec<(String, Option<&TestUser>)> = vec![
        ("/incidents".into(), Some(&student)),
        ("/incidents/preview".into(), Some(&student)),
        ("/incidents/validate-location".into(), Some(&student)),
        (format!("/incidents/{incident}/status"), Some(&staff)),
        (format!("/incidents/{incident}/comments"), Some(&staff)),
        (format!("/incidents/{incident}/department"), Some(&admin)),
        ("/events".into(), Some(&staff)),
        ("/departments".into(), Some(&admin)),
        ("/admin/users".into(), Some(&admin)),
        ("/auth/register".into(), None),
        ("/auth/login".into(), None),
    ];
    let mut runner = TestRunner::new(Config {
        cases: crate::fuzz_cases(160),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (0..routes.len(), body());
    runner
        .run(&strategy, |(route, body)| {
            let (path, who) = &routes[route];
            runtime.block_on(async {
                let before = snapshot(&t, &admin, &incident).await;
                let request = t.request(Method::POST, path, who.map(|u| u.token.as_str()));
                let (request, shown) = match &body {
                    Body::Object(v) | Body::Json(v) => (request.json(v), v.to_string()),
                    Body::Bytes(b) => (
                        request
                            .header("content-type", "application/json")
                            .body(b.clone()),
                        format!("{b:?}"),
                    ),
                };
                let reply = send(request).await;
                prop_assert!(
                    reply.status < 500,
                    "POST {path} with {shown}: {} {}",
                    reply.status,
                    reply.body
                );
                if reply.status >= 400 {
                    prop_assert!(
                        reply.body["error"]["code"].is_string()
                            && reply.body["error"]["message"].is_string(),
                        "POST {path} with {shown}: not the error shape: {}",
                        reply.body
                    );
                    let after = snapshot(&t, &admin, &incident).await;
                    prop_assert_eq!(
                        after,
                        before,
                        "POST {} with {} changed something",
                        path,
                        shown
                    );
                }
                Ok(())
            })
        })
        .unwrap();
}
