//! The README's walk-through, request for request.

use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, spawn_app};

#[tokio::test]
async fn register_login_report_assign_resolve() {
    let app = spawn_app().await;
    let (status, _) = app.get("", "/health").await;
    assert_eq!(status, 200);

    let reply = app
        .client
        .post(app.url("/auth/register"))
        .json(&json!({"email": "ana@campus.edu", "password": "ana-password", "nombre": "Ana"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    let ana = app.login("ana@campus.edu", "ana-password").await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let (status, _) = app
        .post(
            &admin,
            "/departments",
            json!({"nombre": "Mantenimiento", "email": "mantenimiento@campus.edu"}),
        )
        .await;
    assert_eq!(status, 201);

    let (status, incident) = app
        .post(
            &ana,
            "/incidents",
            json!({"tipo": "infraestructura", "descripcion": "Fuga de agua en el baño", "ubicacion": "Pabellón A", "urgencia": "alta"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(incident["estado"], "pendiente");
    let id = incident["incident_id"].as_str().unwrap().to_owned();

    let (status, assigned) = app
        .post(
            &admin,
            &format!("/incidents/{id}/department"),
            json!({"departamento": "Mantenimiento"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(assigned["departamento"], "Mantenimiento");

    let (status, resolved) = app
        .post(
            &admin,
            &format!("/incidents/{id}/status"),
            json!({"estado": "resuelto", "version": 2}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (resolved["estado"].as_str(), resolved["version"].as_u64()),
        (Some("resuelto"), Some(3))
    );

    let (status, events) = app.get(&admin, &format!("/incidents/{id}/events")).await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .or(events.as_array())
        .unwrap()
        .iter()
        .map(|e| e["tipo_evento"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["creado", "asignacion", "cambio_estado"]);

    let (status, mine) = app.get(&ana, "/incidents/mine").await;
    assert_eq!(status, 200);
    assert_eq!(mine["items"][0]["estado"], "resuelto");
}
