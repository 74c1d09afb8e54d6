//! Opening an incident from an alert over HTTP: derived or given fields, the link both ways,
//! the role matrix, and one incident per alert however many ask at once.

use alerta_core::domain::Role;
use futures::future::join_all;
use reqwest::Method;
use serde_json::json;

use super::helpers::{TestApp, send, spawn_app, unique};

/// Posts a new alert as `token` (a message of its own, so it opens its own group); returns
/// its id.
async fn fire(t: &TestApp, token: &str, severity: &str) -> String {
    let message = format!("Batería baja {}", unique());
    let reply = t
        .post(
            "/events",
            Some(token),
            json!({"source": "ups_3", "severity": severity, "message": message}),
        )
        .await;
    reply.expect(201);
    reply.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn staff_open_an_incident_from_an_alert_and_each_names_the_other() {
    let t = spawn_app().await;
    let staff = t.user(Role::Staff).await;
    let student = t.user(Role::Student).await;
    let id = fire(&t, &staff.token, "critical").await;

    let before = t.get(&format!("/events/{id}"), Some(&student.token)).await;
    before.expect(200);
    assert_eq!(before.body["incident_id"], json!(null));

    // No body: every field comes from the alert.
    let opened = send(t.request(
        Method::POST,
        &format!("/events/{id}/incident"),
        Some(&staff.token),
    ))
    .await;
    opened.expect(201);
    let incident = &opened.body;
    assert_eq!(incident["alert_id"], id.as_str());
    assert_eq!(incident["tipo"], "otro");
    assert_eq!(
        incident["urgencia"], "critica",
        "critical alerts open critical incidents"
    );
    assert_eq!(incident["ubicacion"], "ups_3");
    assert!(
        incident["descripcion"]
            .as_str()
            .unwrap()
            .starts_with("ups_3: Batería baja "),
        "{incident}"
    );
    assert_eq!(incident["estado"], "pendiente");
    assert_eq!(incident["reportado_por"], staff.id());
    let incident_id = incident["incident_id"].as_str().unwrap();

    let alert = t.get(&format!("/events/{id}"), Some(&student.token)).await;
    alert.expect(200);
    assert_eq!(alert.body["incident_id"], incident_id);
    assert_eq!(
        alert.body["status"], "firing",
        "opening an incident is not an acknowledgement"
    );

    let stored = t
        .get(&format!("/incidents/{incident_id}"), Some(&staff.token))
        .await;
    stored.expect(200);
    assert_eq!(stored.body["alert_id"], id.as_str());
    let history = t
        .get(
            &format!("/incidents/{incident_id}/events"),
            Some(&staff.token),
        )
        .await;
    history.expect(200);
    assert_eq!(history.items().len(), 1);
    assert_eq!(history.items()[0]["tipo_evento"], "creado");

    let again = t
        .post(
            &format!("/events/{id}/incident"),
            Some(&staff.token),
            json!({}),
        )
        .await;
    again.expect_error(409, "already_linked");
}

#[tokio::test]
async fn the_alert_list_names_each_alerts_incident() {
    let t = spawn_app().await;
    let staff = t.user(Role::Staff).await;
    let student = t.user(Role::Student).await;
    let mut alerts = Vec::new();
    for _ in 0..5 {
        alerts.push(fire(&t, &staff.token, "error").await);
    }
    let mut incidents = Vec::new();
    for id in [&alerts[1], &alerts[3]] {
        let opened = send(t.request(
            Method::POST,
            &format!("/events/{id}/incident"),
            Some(&staff.token),
        ))
        .await;
        opened.expect(201);
        incidents.push(opened.body["incident_id"].clone());
    }

    let mut seen = Vec::new();
    let mut path = "/events?limit=2".to_owned();
    loop {
        let page = t.get(&path, Some(&student.token)).await;
        page.expect(200);
        for item in page.items() {
            assert!(
                item.as_object().unwrap().contains_key("incident_id"),
                "every item says whether it has an incident: {item}"
            );
            seen.push((item["id"].clone(), item["incident_id"].clone()));
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/events?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let expected: Vec<_> = alerts
        .iter()
        .rev()
        .map(|id| {
            let incident = match id {
                id if id == &alerts[1] => incidents[0].clone(),
                id if id == &alerts[3] => incidents[1].clone(),
                _ => json!(null),
            };
            (json!(id), incident)
        })
        .collect();
    assert_eq!(seen, expected, "newest first, each with its own incident");
}

#[tokio::test]
async fn given_fields_win_and_bad_ones_are_refused_without_a_trace() {
    let t = spawn_app().await;
    let admin = t.user(Role::Admin).await;
    let id = fire(&t, &admin.token, "warning").await;
    let path = format!("/events/{id}/incident");

    for (body, code) in [
        (json!({"urgencia": "ya"}), "invalid_urgencia"),
        (json!({"tipo": "volcán"}), "invalid_tipo"),
        (json!({"ubicacion": 7}), "invalid_ubicacion"),
        (
            json!({"descripcion": "x".repeat(5000)}),
            "invalid_descripcion",
        ),
    ] {
        t.post(&path, Some(&admin.token), body)
            .await
            .expect_error(400, code);
    }
    assert_eq!(t.incident_count(&admin.token).await, 0);

    let opened = t
        .post(
            &path,
            Some(&admin.token),
            json!({"tipo": "infraestructura", "descripcion": "El SAI de la sala 3 pierde carga",
                   "ubicacion": "Sala de servidores", "urgencia": "alta"}),
        )
        .await;
    opened.expect(201);
    assert_eq!(opened.body["tipo"], "infraestructura");
    assert_eq!(
        opened.body["descripcion"],
        "El SAI de la sala 3 pierde carga"
    );
    assert_eq!(opened.body["ubicacion"], "Sala de servidores");
    assert_eq!(opened.body["urgencia"], "alta");

    let warning = fire(&t, &admin.token, "warning").await;
    let derived = t
        .post(
            &format!("/events/{warning}/incident"),
            Some(&admin.token),
            json!({"urgencia": ""}),
        )
        .await;
    derived.expect(201);
    assert_eq!(
        derived.body["urgencia"], "media",
        "a blank field is derived"
    );
}

#[tokio::test]
async fn only_staff_and_admins_open_incidents_from_alerts() {
    let t = spawn_app().await;
    let staff = t.user(Role::Staff).await;
    let student = t.user(Role::Student).await;
    let id = fire(&t, &staff.token, "error").await;
    let path = format!("/events/{id}/incident");

    t.post(&path, None, json!({})).await.expect(401);
    t.post(&path, Some(&student.token), json!({}))
        .await
        .expect_error(403, "forbidden");
    t.post(
        "/events/01ARZ3NDEKTSV4RRFFQ69G5FAV/incident",
        Some(&staff.token),
        json!({}),
    )
    .await
    .expect_error(404, "alert_not_found");
    t.post(
        "/events/no-es-un-id!/incident",
        Some(&staff.token),
        json!({}),
    )
    .await
    .expect_error(404, "alert_not_found");
    assert_eq!(t.incident_count(&staff.token).await, 0);
    let opened = t.post(&path, Some(&staff.token), json!({})).await;
    opened.expect(201);
    assert_eq!(
        opened.body["urgencia"], "alta",
        "error alerts open urgent incidents"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_staff_at_once_open_one_incident_per_alert() {
    let t = spawn_app().await;
    let mut staff = Vec::new();
    for _ in 0..10 {
        staff.push(t.user(Role::Staff).await);
    }
    for round in 0..5 {
        let id = fire(&t, &staff[0].token, "critical").await;
        let path = format!("/events/{id}/incident");
        let replies = join_all(
            staff
                .iter()
                .map(|s| t.post(&path, Some(&s.token), json!({}))),
        )
        .await;
        let created: Vec<_> = replies.iter().filter(|r| r.status == 201).collect();
        assert_eq!(created.len(), 1, "round {round}: one incident per alert");
        for reply in replies.iter().filter(|r| r.status != 201) {
            reply.expect_error(409, "already_linked");
        }
        let alert = t.get(&format!("/events/{id}"), Some(&staff[0].token)).await;
        assert_eq!(alert.body["incident_id"], created[0].body["incident_id"]);
    }
    assert_eq!(t.incident_count(&staff[0].token).await, 5);
}
